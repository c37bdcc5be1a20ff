package geo_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/core/geo"
)

func Example() {
	dir, err := os.MkdirTemp("", "geo-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// A tiny database in MaxMind's layout; in production the file comes
	// from geoipupdate or the vendor.
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, network, _ := net.ParseCIDR("81.0.0.0/8")
	if err := tree.Insert(network, mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String("FR")},
	}); err != nil {
		fmt.Println(err)
		return
	}
	path := filepath.Join(dir, "GeoLite2-Country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := tree.WriteTo(f); err != nil {
		fmt.Println(err)
		return
	}
	f.Close()

	db, err := geo.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	fmt.Println(db.Country(netip.MustParseAddr("81.2.69.142")))
	fmt.Println(db.Country(netip.MustParseAddr("::ffff:81.2.69.142")))
	fmt.Println(db.Country(netip.MustParseAddr("10.0.0.1")))
	fmt.Println(db.Stats().DatabaseType)
	// Output:
	// FR true
	// FR true
	//  false
	// GeoLite2-Country
}
