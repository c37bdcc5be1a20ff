package feeds_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/feeds"
)

// Download a country database from a URL, then again: the server answers
// the conditional request with 304 and the file is left alone.
func ExampleDownloadGeoIP() {
	built := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := exampleCountryDB(built)
	// A stand-in for a DB-IP Lite or IPinfo Lite download URL.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "country.mmdb", built, bytes.NewReader(db))
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "geoip")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	src := feeds.GeoIPSource{URL: srv.URL + "/dbip-country-lite.mmdb"}
	// or feeds.GeoIPSource{AccountID: "123456", LicenseKey: os.Getenv("MAXMIND_LICENSE_KEY")}
	for range 2 {
		res, err := feeds.DownloadGeoIP(context.Background(), src, filepath.Join(dir, "country.mmdb"),
			feeds.WithGeoIPTimeout(time.Minute))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.Database.Type, res.Database.BuildTime.Format(time.DateOnly), "unchanged:", res.Unchanged)
	}
	// Output:
	// DBIP-Country-Lite 2026-01-01 unchanged: false
	// DBIP-Country-Lite 2026-01-01 unchanged: true
}

func exampleCountryDB(built time.Time) []byte {
	tree, _ := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "DBIP-Country-Lite", BuildEpoch: built.Unix()})
	_, n, _ := net.ParseCIDR("81.0.0.0/8")
	_ = tree.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB")}})
	var buf bytes.Buffer
	_, _ = tree.WriteTo(&buf)
	return buf.Bytes()
}
