package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/core/geo"
)

// countryDB is a small GeoLite2-Country style database: 81.0.0.0/8 is code.
func countryDB(t *testing.T, code string) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("81.0.0.0/8")
	rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
	if err := tree.Insert(n, rec); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGz(t *testing.T, name string, b []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "GeoLite2-Country_20260101/README.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("hi"))
	_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(b)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return gzipped(t, buf.Bytes())
}

func TestGeoIPDownload(t *testing.T) {
	files := map[string][]byte{
		"/plain.mmdb": countryDB(t, "FR"),
		"/db.mmdb.gz": gzipped(t, countryDB(t, "DE")),
		"/db.tar.gz":  tarGz(t, "GeoLite2-Country_20260101/GeoLite2-Country.mmdb", countryDB(t, "IT")),
		"/html":       []byte("<!doctype html><title>Log in</title>"),
		"/empty.tgz":  tarGz(t, "GeoLite2-Country_20260101/LICENSE.txt", []byte("licence")),
		"/corrupt.gz": append([]byte{0x1f, 0x8b}, "not gzip"...),
		"/truncated":  countryDB(t, "ES")[:200],
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("license_key") == "wrong" {
			http.Error(w, "Invalid license key", http.StatusUnauthorized)
			return
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	out := filepath.Join(t.TempDir(), "country.mmdb")
	ok := func(path, want string) {
		t.Helper()
		r := warden(t, "sqlite:file:unused.db", "geoip", "download", "--url", srv.URL+path, "--output", out)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", path, r.code, r.stderr)
		}
		assertCountry(t, out, want)
	}
	ok("/plain.mmdb", "FR")
	ok("/db.mmdb.gz", "DE")
	ok("/db.tar.gz", "IT")
	for name, tc := range map[string]struct{ path, msg string }{
		"wrong_licence_key": {"/db.tar.gz?license_key=wrong", "HTTP 401"},
		"not_found":         {"/missing", "HTTP 404"},
		"html_page":         {"/html", "not a country database"},
		"no_mmdb_in_tar":    {"/empty.tgz", "no .mmdb"},
		"corrupt_gzip":      {"/corrupt.gz", "not valid gzip"},
		"truncated":         {"/truncated", "not a country database"},
	} {
		t.Run(name, func(t *testing.T) {
			r := warden(t, "sqlite:file:unused.db", "geoip", "download", "--url", srv.URL+tc.path, "--output", out)
			if r.code != 1 || !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "left unchanged") {
				t.Errorf("exit %d, %q; want exit 1 and %q", r.code, r.stderr, tc.msg)
			}
			if strings.Contains(r.stderr, "wrong") {
				t.Errorf("the licence key was printed: %s", r.stderr)
			}
			assertCountry(t, out, "IT")
		})
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if r := warden(t, "sqlite:file:unused.db", "geoip", "download"); r.code != 2 {
		t.Errorf("no --url: exit %d", r.code)
	}
}

func assertCountry(t *testing.T, path, want string) {
	t.Helper()
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, _ := db.Country(mustAddr("81.2.3.4")); got != want {
		t.Errorf("%s places 81.2.3.4 in %q; want %q", path, got, want)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
