package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/core/geo"
)

const (
	testAccount = "123456"
	testKey     = "Sup3rSecret_licence_KEY"
	noDB        = "sqlite:file:unused.db" // geoip download opens no database
)

var builtAt = time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC)

// countryDB is a small GeoLite2-Country style database: 81.0.0.0/8 is code.
func countryDB(t *testing.T, code string) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", BuildEpoch: builtAt.Unix(), IncludeReservedNetworks: true})
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
	_ = tw.WriteHeader(&tar.Header{Name: "GeoLite2-Country_20260106/README.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("hi"))
	_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(b)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return gzipped(t, buf.Bytes())
}

// noMaxMindEnv clears the variables the tests set, whatever the
// environment running them holds.
func noMaxMindEnv(t *testing.T) {
	t.Setenv("MAXMIND_ACCOUNT_ID", "")
	t.Setenv("MAXMIND_LICENSE_KEY", "")
	t.Setenv("WARDEN_GEOIP", "")
}

func TestGeoIPDownloadURL(t *testing.T) {
	noMaxMindEnv(t)
	files := map[string][]byte{
		"/plain.mmdb": countryDB(t, "FR"),
		"/db.mmdb.gz": gzipped(t, countryDB(t, "DE")),
		"/db.tar.gz":  tarGz(t, "GeoLite2-Country_20260106/GeoLite2-Country.mmdb", countryDB(t, "IT")),
		"/html":       []byte("<!doctype html><title>Log in</title>"),
		"/empty.tgz":  tarGz(t, "GeoLite2-Country_20260106/LICENSE.txt", []byte("licence")),
		"/corrupt.gz": append([]byte{0x1f, 0x8b}, "not gzip"...),
		"/truncated":  countryDB(t, "ES")[:200],
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("license_key") != "" {
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
	dir := t.TempDir()
	out := filepath.Join(dir, "country.mmdb")
	for _, c := range []struct{ path, want string }{{"/plain.mmdb", "FR"}, {"/db.mmdb.gz", "DE"}, {"/db.tar.gz", "IT"}} {
		r := warden(t, noDB, "geoip", "download", "--url", srv.URL+c.path, "--output", out)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", c.path, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "downloaded "+srv.URL+c.path+": ") ||
			!strings.Contains(r.stdout, "wrote "+out+": GeoLite2-Country built 2026-01-06") {
			t.Errorf("%s: stdout %q; want the download line and what was written", c.path, r.stdout)
		}
		assertCountry(t, out, c.want)
	}
	old, _ := os.ReadFile(out)
	for name, tc := range map[string]struct{ path, msg string }{
		"wrong_licence_key": {"/db.tar.gz?license_key=" + testKey, "HTTP status 401; the server refused the URL"},
		"not_found":         {"/missing", "HTTP status 404; check the URL"},
		"html_page":         {"/html", "an HTML or XML page, not a database; check the URL"},
		"no_mmdb_in_tar":    {"/empty.tgz", "no .mmdb"},
		"corrupt_gzip":      {"/corrupt.gz", "not valid gzip"},
		"truncated":         {"/truncated", "must give a country database"},
	} {
		t.Run(name, func(t *testing.T) {
			r := warden(t, noDB, "geoip", "download", "--url", srv.URL+tc.path, "--output", out)
			if r.code != 1 || !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, out+" left unchanged") {
				t.Errorf("exit %d, %q; want exit 1 and %q", r.code, r.stderr, tc.msg)
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("not one line: %q", r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, testKey) {
				t.Errorf("the licence key was printed: %s", r.stderr)
			}
			if b, _ := os.ReadFile(out); !bytes.Equal(b, old) {
				t.Error("the old file changed")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
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

// maxMind imitates MaxMind's download endpoint: basic authentication,
// ?suffix=tar.gz (with Last-Modified and If-Modified-Since) and
// ?suffix=tar.gz.sha256.
type maxMind struct {
	srv      *httptest.Server
	mu       sync.Mutex
	archive  []byte
	modified time.Time
	badSum   bool
}

func newMaxMind(t *testing.T, code string) *maxMind {
	m := &maxMind{archive: tarGz(t, "GeoLite2-Country_20260106/GeoLite2-Country.mmdb", countryDB(t, code)),
		modified: time.Date(2026, 1, 6, 15, 0, 0, 0, time.UTC)}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if r.URL.Path != "/geoip/databases/GeoLite2-Country/download" {
			http.NotFound(w, r)
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != testAccount || p != testKey {
			http.Error(w, `{"code":"INVALID_LICENSE_KEY","error":"Invalid account ID or license key"}`, http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256(m.archive)
		if m.badSum {
			sum[3]++
		}
		switch r.URL.Query().Get("suffix") {
		case "tar.gz":
			http.ServeContent(w, r, "GeoLite2-Country_20260106.tar.gz", m.modified, bytes.NewReader(m.archive))
		case "tar.gz.sha256":
			fmt.Fprintf(w, "%s  GeoLite2-Country_20260106.tar.gz\n", hex.EncodeToString(sum[:]))
		default:
			http.Error(w, "bad suffix", http.StatusBadRequest)
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *maxMind) base() string { return m.srv.URL + "/geoip/databases" }

func TestGeoIPDownloadMaxMind(t *testing.T) {
	noMaxMindEnv(t)
	m := newMaxMind(t, "NL")
	dir := t.TempDir()
	out := filepath.Join(dir, "country.mmdb")
	dl := func(args ...string) result {
		return warden(t, noDB, append([]string{"geoip", "download", "--maxmind-url", m.base(), "--output", out}, args...)...)
	}

	// The account from the environment.
	t.Setenv("MAXMIND_ACCOUNT_ID", testAccount)
	t.Setenv("MAXMIND_LICENSE_KEY", testKey+"\n") // as read from a file: trimmed
	r := dl()
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+out+": GeoLite2-Country built 2026-01-06") ||
		!strings.Contains(r.stdout, "MaxMind GeoLite2-Country (account "+testAccount+")") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	assertCountry(t, out, "NL")
	if fi, _ := os.Stat(out); !fi.ModTime().Equal(m.modified) {
		t.Errorf("file modified %v; want the server's Last-Modified %v", fi.ModTime(), m.modified)
	}

	// Again, as JSON: not modified, nothing written.
	r = dl("--json")
	var res struct {
		Unchanged  bool  `json:"unchanged"`
		Downloaded int64 `json:"downloaded_bytes"`
		Database   struct {
			Path      string    `json:"path"`
			Type      string    `json:"type"`
			BuildTime time.Time `json:"build_time"`
		} `json:"database"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v: %s %s", r.code, err, r.stdout, r.stderr)
	}
	if !res.Unchanged || res.Downloaded != 0 || res.Database.Type != "GeoLite2-Country" || !res.Database.BuildTime.Equal(builtAt) || res.Database.Path != out {
		t.Errorf("second download: %+v", res)
	}
	if r := dl(); r.code != 0 || !strings.Contains(r.stdout, out+" is up to date: GeoLite2-Country built 2026-01-06") {
		t.Errorf("third download: exit %d, %q", r.code, r.stdout)
	}

	// Flags override the environment.
	t.Setenv("MAXMIND_LICENSE_KEY", "wrong")
	if r := dl("--license-key", testKey, "--edition", "GeoLite2-Country"); r.code != 0 {
		t.Errorf("--license-key did not override the environment: exit %d, %s", r.code, r.stderr)
	}
}

func TestGeoIPDownloadMaxMindFailures(t *testing.T) {
	noMaxMindEnv(t)
	m := newMaxMind(t, "NL")
	bad := newMaxMind(t, "NL")
	bad.badSum = true
	dir := t.TempDir()
	out := filepath.Join(dir, "country.mmdb")
	old := countryDB(t, "GB")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(out, long, long); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		output string
		msg    string
	}{
		{"wrong_key", []string{"--maxmind-url", m.base(), "--account-id", testAccount, "--license-key", "Wrong_" + testKey}, out,
			"HTTP status 401; check MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY"},
		{"bad_checksum", []string{"--maxmind-url", bad.base(), "--account-id", testAccount, "--license-key", testKey}, out,
			"MaxMind publishes"},
		{"directory_missing", []string{"--maxmind-url", m.base(), "--account-id", testAccount, "--license-key", testKey},
			filepath.Join(dir, "missing", "country.mmdb"), "check that " + filepath.Join(dir, "missing") + " is writable and the disk has space"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := warden(t, noDB, append([]string{"geoip", "download", "--output", c.output}, c.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, c.msg) || !strings.Contains(r.stderr, "left unchanged") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, %q; want exit 1 and one line with %q", r.code, r.stderr, c.msg)
			}
			if strings.Contains(r.stdout+r.stderr, testKey) {
				t.Errorf("the licence key was printed: %s", r.stderr)
			}
			if b, _ := os.ReadFile(out); !bytes.Equal(b, old) {
				t.Error("the old file changed")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestGeoIPDownloadUsage(t *testing.T) {
	noMaxMindEnv(t)
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		msg  string
	}{
		"nothing":             {nil, nil, "set MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY"},
		"key_without_account": {[]string{"--license-key", testKey}, nil, "set MAXMIND_ACCOUNT_ID"},
		"url_and_key":         {[]string{"--url", "https://example.org/a.mmdb", "--license-key", testKey}, nil, "--url excludes --license-key"},
		"url_and_edition":     {[]string{"--url", "https://example.org/a.mmdb", "--edition", "GeoIP2-Country"}, nil, "--url excludes --edition"},
		"ftp_url":             {[]string{"--url", "ftp://example.org/a.mmdb"}, nil, "--url must be an http or https URL"},
		"unknown_edition":     {[]string{"--edition", "GeoLite2-ASN"}, map[string]string{"MAXMIND_ACCOUNT_ID": testAccount, "MAXMIND_LICENSE_KEY": testKey}, `--edition "GeoLite2-ASN" is not one of`},
		"account_not_number":  {nil, map[string]string{"MAXMIND_ACCOUNT_ID": "alice", "MAXMIND_LICENSE_KEY": testKey}, `the account ID "alice" is not a number`},
		"argument":            {[]string{"country.mmdb"}, nil, "takes 0 arguments"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			r := warden(t, noDB, append([]string{"geoip", "download", "--output", filepath.Join(t.TempDir(), "c.mmdb")}, c.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, c.msg) {
				t.Errorf("exit %d, %q; want exit 2 and %q", r.code, r.stderr, c.msg)
			}
			if strings.Contains(r.stderr, testKey) {
				t.Errorf("the licence key was printed: %s", r.stderr)
			}
		})
	}
}

// --output defaults to --geoip, then WARDEN_GEOIP.
func TestGeoIPDownloadOutputDefault(t *testing.T) {
	noMaxMindEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(countryDB(t, "PT")) }))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	viaFlag, viaEnv := filepath.Join(dir, "flag.mmdb"), filepath.Join(dir, "env.mmdb")
	must(t, noDB, "--geoip", viaFlag, "geoip", "download", "--url", srv.URL)
	assertCountry(t, viaFlag, "PT")
	t.Setenv("WARDEN_GEOIP", viaEnv)
	must(t, noDB, "geoip", "download", "--url", srv.URL)
	assertCountry(t, viaEnv, "PT")
}

func TestStatusGeoIP(t *testing.T) {
	noMaxMindEnv(t)
	t.Chdir(t.TempDir())
	dsn := backends()[0].newDSN(t)
	must(t, dsn, "migrate")
	if out := must(t, dsn, "status"); !strings.Contains(out, "geoip:         not configured") {
		t.Errorf("no file:\n%s", out)
	}

	// country.mmdb in the working directory is used when present.
	if err := os.WriteFile("country.mmdb", countryDB(t, "FR"), 0o644); err != nil {
		t.Fatal(err)
	}
	threeDays := time.Now().Add(-75 * time.Hour)
	if err := os.Chtimes("country.mmdb", threeDays, threeDays); err != nil {
		t.Fatal(err)
	}
	if out := must(t, dsn, "status"); !strings.Contains(out, "geoip:         country.mmdb, GeoLite2-Country built 2026-01-06, file 3d 3h old") {
		t.Errorf("country.mmdb:\n%s", out)
	}

	// --geoip names another file; WARDEN_GEOIP too; JSON has the fields.
	other := filepath.Join(t.TempDir(), "other.mmdb")
	if err := os.WriteFile(other, countryDB(t, "DE"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st struct {
		GeoIP geoipStatus `json:"geoip"`
	}
	if err := json.Unmarshal([]byte(must(t, dsn, "--geoip", other, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	g := st.GeoIP
	if !g.Configured || g.Path != other || g.Type != "GeoLite2-Country" || !g.BuildTime.Equal(builtAt) || g.AgeSeconds > 60 || g.Modified.IsZero() {
		t.Errorf("--geoip %s: %+v", other, g)
	}
	t.Setenv("WARDEN_GEOIP", filepath.Join(t.TempDir(), "missing.mmdb"))
	if out := must(t, dsn, "status"); !strings.Contains(out, "missing.mmdb does not exist (warden geoip download --output") {
		t.Errorf("WARDEN_GEOIP missing file:\n%s", out)
	}
}
