package metrics_test

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/core/geo"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// buildGeo builds a small MaxMind-layout country database built at built.
func buildGeo(tb testing.TB, built time.Time) *geo.DB {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "GeoLite2-Country", BuildEpoch: built.Unix(), IncludeReservedNetworks: true,
		Description: map[string]string{"en": "warden metrics test"}, Languages: []string{"en"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, code := range map[string]string{"1.0.0.0/8": "CN", "2.0.0.0/8": "RU", "3.0.0.0/8": "US", "81.0.0.0/8": "FR", "2001:db8::/32": "DE"} {
		_, n, _ := net.ParseCIDR(cidr)
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code), "names": mmdbtype.Map{"en": mmdbtype.String(code)}}}
		if err := tree.Insert(n, rec); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	db, err := geo.OpenBytes(buf.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	return db
}
