package feeds_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/feeds"
)

const (
	testAccount = "123456"
	testKey     = "Sup3rSecret_licence_KEY"
)

var builtAt = time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC)

// mmdb builds a database of type typ placing 81.0.0.0/8 in country code
// (or, for an ASN type, in AS 64500).
func mmdb(t testing.TB, typ, code string) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typ, BuildEpoch: builtAt.Unix(), IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("81.0.0.0/8")
	var rec mmdbtype.DataType = mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
	if strings.HasSuffix(typ, "ASN") {
		rec = mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)}
	}
	if err := tree.Insert(n, rec); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tgz is a tar.gz laid out as MaxMind's: a directory named for the edition
// and date holding a README, a LICENSE and the .mmdb (when name is not "").
func tgz(t testing.TB, name string, db []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(n string, b []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
		_, _ = tw.Write(b)
	}
	add("GeoLite2-Country_20260106/README.txt", []byte("readme"))
	add("GeoLite2-Country_20260106/LICENSE.txt", []byte("licence"))
	if name != "" {
		add("GeoLite2-Country_20260106/"+name, db)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return gz(t, buf.Bytes())
}

// countryOf opens path with core/geo and returns the country of 81.2.3.4.
func countryOf(t *testing.T, path string) string {
	t.Helper()
	db, err := geo.Open(path)
	if err != nil {
		t.Fatalf("core/geo refuses %s: %v", path, err)
	}
	defer db.Close()
	c, _ := db.Country(netip.MustParseAddr("81.2.3.4"))
	return c
}

// maxMind imitates download.maxmind.com/geoip/databases: basic
// authentication with testAccount and testKey, ?suffix=tar.gz and
// ?suffix=tar.gz.sha256, Last-Modified and If-Modified-Since.
type maxMind struct {
	srv *httptest.Server

	mu       sync.Mutex
	archive  []byte
	modified time.Time
	badSum   bool   // publish a SHA-256 that is not the archive's
	redirect string // redirect the tar.gz here instead of serving it
	seen     []http.Header
}

func newMaxMind(t *testing.T, archive []byte) *maxMind {
	m := &maxMind{archive: archive, modified: time.Date(2026, 1, 6, 15, 4, 5, 0, time.UTC)}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *maxMind) base() string { return m.srv.URL + "/geoip/databases" }

func (m *maxMind) set(archive []byte, modified time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.archive, m.modified = archive, modified
}

func (m *maxMind) requests() []http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]http.Header(nil), m.seen...)
}

func (m *maxMind) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen = append(m.seen, r.Header.Clone())
	edition, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/geoip/databases/"), "/download")
	if !ok || edition != "GeoLite2-Country" {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testAccount || pass != testKey {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code":"INVALID_LICENSE_KEY","error":"Invalid account ID or license key"}`)
		return
	}
	name := "GeoLite2-Country_20260106.tar.gz"
	switch r.URL.Query().Get("suffix") {
	case "tar.gz":
		if m.redirect != "" {
			http.Redirect(w, r, m.redirect, http.StatusFound)
			return
		}
		http.ServeContent(w, r, name, m.modified, bytes.NewReader(m.archive))
	case "tar.gz.sha256":
		sum := sha256.Sum256(m.archive)
		if m.badSum {
			sum[0]++
		}
		fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	default:
		http.Error(w, "bad suffix", http.StatusBadRequest)
	}
}

func maxMindSource() feeds.GeoIPSource {
	return feeds.GeoIPSource{AccountID: testAccount, LicenseKey: testKey}
}

func download(t *testing.T, src feeds.GeoIPSource, out string, opts ...feeds.GeoIPOption) (feeds.GeoIPResult, error) {
	t.Helper()
	return feeds.DownloadGeoIP(testCtx(t), src, out, opts...)
}

func TestDownloadGeoIPMaxMind(t *testing.T) {
	m := newMaxMind(t, tgz(t, "GeoLite2-Country.mmdb", mmdb(t, "GeoLite2-Country", "FR")))
	out := filepath.Join(t.TempDir(), "country.mmdb")
	var calls [][2]int64
	progress := feeds.WithGeoIPProgress(func(read, total int64) { calls = append(calls, [2]int64{read, total}) })
	res, err := download(t, maxMindSource(), out, feeds.WithMaxMindURL(m.base()), progress)
	if err != nil {
		t.Fatal(err)
	}
	if got := countryOf(t, out); got != "FR" {
		t.Errorf("81.2.3.4 in %q, want FR", got)
	}
	db := res.Database
	if res.Unchanged || res.Downloaded != int64(len(m.archive)) || db.Type != "GeoLite2-Country" ||
		!db.BuildTime.Equal(builtAt) || db.Path != out || !db.ModTime.Equal(m.modified) {
		t.Errorf("result %+v; want a GeoLite2-Country built %v downloaded in %d bytes, modified %v", res, builtAt, len(m.archive), m.modified)
	}
	if fi, _ := os.Stat(out); !fi.ModTime().Equal(m.modified) || fi.Size() != db.Bytes {
		t.Errorf("file modified %v, %d bytes; want Last-Modified %v, %d bytes", fi.ModTime(), fi.Size(), m.modified, db.Bytes)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int64{int64(len(m.archive)), int64(len(m.archive))} {
		t.Errorf("progress calls %v; want the last to be (%d, %d)", calls, len(m.archive), len(m.archive))
	}
	reqs := m.requests()
	if len(reqs) != 2 || reqs[0].Get("If-Modified-Since") != "" {
		t.Errorf("requests %v; want the archive unconditionally, then its SHA-256", reqs)
	}
	if strings.Contains(fmt.Sprint(res), testKey) {
		t.Error("the result holds the licence key")
	}

	// Again: one conditional request, answered 304; the file is not touched.
	before, _ := os.Stat(out)
	res, err = download(t, maxMindSource(), out, feeds.WithMaxMindURL(m.base()))
	if err != nil || !res.Unchanged || res.Downloaded != 0 || res.Database.Type != "GeoLite2-Country" {
		t.Fatalf("second download = %+v, %v; want unchanged", res, err)
	}
	reqs = m.requests()
	if len(reqs) != 3 || reqs[2].Get("If-Modified-Since") != m.modified.Format(http.TimeFormat) {
		t.Errorf("second download made %d requests in all, the last with If-Modified-Since %q", len(reqs), reqs[len(reqs)-1].Get("If-Modified-Since"))
	}
	if after, _ := os.Stat(out); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("an unchanged download replaced the file")
	}

	// A new database: downloaded again.
	m.set(tgz(t, "GeoLite2-Country.mmdb", mmdb(t, "GeoLite2-Country", "DE")), m.modified.Add(24*time.Hour))
	if res, err = download(t, maxMindSource(), out, feeds.WithMaxMindURL(m.base())); err != nil || res.Unchanged {
		t.Fatalf("third download = %+v, %v", res, err)
	}
	if got := countryOf(t, out); got != "DE" {
		t.Errorf("after an update 81.2.3.4 is in %q, want DE", got)
	}
}

// MaxMind answers with a redirect to a presigned URL on another host, which
// must not receive the account's credentials.
func TestDownloadGeoIPRedirectDropsCredentials(t *testing.T) {
	archive := tgz(t, "GeoLite2-Country.mmdb", mmdb(t, "GeoLite2-Country", "IT"))
	var mu sync.Mutex
	var cdnAuth []string
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cdnAuth = append(cdnAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = w.Write(archive)
	}))
	t.Cleanup(cdn.Close)
	m := newMaxMind(t, archive)
	_, port, _ := net.SplitHostPort(cdn.Listener.Addr().String())
	m.redirect = "http://cdn.example:" + port + "/GeoLite2-Country.tar.gz?X-Signature=abc"
	// cdn.example is the CDN server: a host name other than MaxMind's.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "cdn.example:") {
			addr = cdn.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	out := filepath.Join(t.TempDir(), "country.mmdb")
	if _, err := download(t, maxMindSource(), out, feeds.WithMaxMindURL(m.base()), feeds.WithGeoIPClient(client)); err != nil {
		t.Fatal(err)
	}
	if got := countryOf(t, out); got != "IT" {
		t.Errorf("81.2.3.4 in %q, want IT", got)
	}
	reqs := m.requests()
	if len(reqs) == 0 || !strings.HasPrefix(reqs[0].Get("Authorization"), "Basic ") {
		t.Fatalf("MaxMind got no credentials: %v", reqs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cdnAuth) != 1 || cdnAuth[0] != "" {
		t.Errorf("the other host got Authorization %q; want none", cdnAuth)
	}
}

func TestDownloadGeoIPFormats(t *testing.T) {
	files := map[string][]byte{
		"/dbip-country-lite.mmdb":    mmdb(t, "DBIP-Country-Lite", "FR"),
		"/dbip-country-lite.mmdb.gz": gz(t, mmdb(t, "DBIP-Country-Lite", "DE")),
		"/country.tar.gz":            tgz(t, "GeoLite2-Country.mmdb", mmdb(t, "GeoLite2-Country", "IT")),
		"/ipinfo_lite.mmdb":          ipinfoLite(t, "ES"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(files[r.URL.Path]) }))
	t.Cleanup(srv.Close)
	out := filepath.Join(t.TempDir(), "country.mmdb")
	for _, c := range []struct{ path, typ, country string }{
		{"/dbip-country-lite.mmdb", "DBIP-Country-Lite", "FR"},
		{"/dbip-country-lite.mmdb.gz", "DBIP-Country-Lite", "DE"},
		{"/country.tar.gz", "GeoLite2-Country", "IT"},
		{"/ipinfo_lite.mmdb", "ipinfo lite", "ES"},
	} {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			res, err := download(t, feeds.GeoIPSource{URL: srv.URL + c.path + "?token=secret"}, out)
			if err != nil {
				t.Fatal(err)
			}
			if res.Database.Type != c.typ || res.Source != srv.URL+c.path || res.Unchanged {
				t.Errorf("result %+v; want type %q from %s", res, c.typ, srv.URL+c.path)
			}
			if got := countryOf(t, out); got != c.country {
				t.Errorf("81.2.3.4 in %q, want %s", got, c.country)
			}
		})
	}
}

// ipinfoLite is a database in IPinfo Lite's flat layout.
func ipinfoLite(t *testing.T, code string) []byte {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "ipinfo lite", IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("81.0.0.0/8")
	if err := tree.Insert(n, mmdbtype.Map{"country_code": mmdbtype.String(code)}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every failure leaves the old file as it was, byte for byte, and no
// temporary file behind.
func TestDownloadGeoIPFailureKeepsOldFile(t *testing.T) {
	good := tgz(t, "GeoLite2-Country.mmdb", mmdb(t, "GeoLite2-Country", "NL"))
	files := map[string][]byte{
		"/html":        []byte("\n<!DOCTYPE html><html><title>Sign in</title></html>"),
		"/asn.mmdb":    mmdb(t, "GeoLite2-ASN", ""),
		"/no-mmdb.tgz": tgz(t, "", nil),
		"/corrupt.gz":  append([]byte{0x1f, 0x8b}, "not gzip at all"...),
		"/truncated":   mmdb(t, "GeoLite2-Country", "ES")[:300],
		"/bomb.gz":     gz(t, make([]byte, 2<<20)),
		"/good.tgz":    good,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("license_key") != "":
			http.Error(w, "Invalid license key", http.StatusUnauthorized)
		case r.URL.Path == "/slow":
			<-r.Context().Done()
		case files[r.URL.Path] != nil:
			_, _ = w.Write(files[r.URL.Path])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	m := newMaxMind(t, good)
	badSum := newMaxMind(t, good)
	badSum.badSum = true
	url := func(p string) feeds.GeoIPSource { return feeds.GeoIPSource{URL: srv.URL + p} }
	wrongKey := maxMindSource()
	wrongKey.LicenseKey = "Wr0ng_key_" + testKey
	cases := []struct {
		name string
		src  feeds.GeoIPSource
		opts []feeds.GeoIPOption
		want error
	}{
		{"maxmind_wrong_key", wrongKey, []feeds.GeoIPOption{feeds.WithMaxMindURL(m.base())}, feeds.ErrUnauthorized},
		{"maxmind_bad_checksum", maxMindSource(), []feeds.GeoIPOption{feeds.WithMaxMindURL(badSum.base())}, feeds.ErrChecksum},
		{"legacy_url_wrong_key", url("/app/geoip_download?edition_id=GeoLite2-Country&license_key=" + testKey), nil, feeds.ErrUnauthorized},
		{"not_found", url("/missing.mmdb"), nil, feeds.ErrHTTPStatus},
		{"html_page", url("/html"), nil, feeds.ErrNotDatabase},
		{"asn_database", url("/asn.mmdb"), nil, feeds.ErrNotDatabase},
		{"tar_without_mmdb", url("/no-mmdb.tgz"), nil, feeds.ErrNotDatabase},
		{"corrupt_gzip", url("/corrupt.gz"), nil, feeds.ErrNotDatabase},
		{"truncated", url("/truncated"), nil, feeds.ErrNotDatabase},
		{"download_too_large", url("/good.tgz"), []feeds.GeoIPOption{feeds.WithGeoIPMaxBytes(100)}, feeds.ErrTooLarge},
		{"gzip_bomb", url("/bomb.gz"), []feeds.GeoIPOption{feeds.WithGeoIPMaxBytes(64 << 10)}, feeds.ErrTooLarge},
		{"timeout", url("/slow"), []feeds.GeoIPOption{feeds.WithGeoIPTimeout(100 * time.Millisecond)}, context.DeadlineExceeded},
		{"disk_full", url("/good.tgz"), []feeds.GeoIPOption{feeds.WithFailingDisk(512, syscall.ENOSPC)}, feeds.ErrWriteFile},
		{"unreachable", feeds.GeoIPSource{URL: "http://127.0.0.1:1/db.mmdb"}, nil, syscall.ECONNREFUSED},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "country.mmdb")
			old := mmdb(t, "GeoLite2-Country", "GB")
			if err := os.WriteFile(out, old, 0o640); err != nil {
				t.Fatal(err)
			}
			long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // older than every download: no 304
			if err := os.Chtimes(out, long, long); err != nil {
				t.Fatal(err)
			}
			res, err := download(t, c.src, out, c.opts...)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v; want %v", err, c.want)
			}
			if msg := err.Error(); strings.Contains(msg, testKey) || strings.Contains(fmt.Sprint(res), testKey) {
				t.Errorf("the licence key is in the error or result: %s", msg)
			}
			assertOnly(t, dir, out, old)
		})
	}
}

// assertOnly checks that dir holds out alone, with the bytes want.
func assertOnly(t *testing.T, dir, out string, want []byte) {
	t.Helper()
	if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, want) {
		t.Errorf("the old file changed (%d bytes, %v)", len(b), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// A directory the process may not write to: the download is refused and
// the old file stays.
func TestDownloadGeoIPReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(mmdb(t, "GeoLite2-Country", "NL"))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	out := filepath.Join(dir, "country.mmdb")
	old := mmdb(t, "GeoLite2-Country", "GB")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	if _, err := download(t, feeds.GeoIPSource{URL: srv.URL}, out); !errors.Is(err, feeds.ErrWriteFile) || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("err = %v; want ErrWriteFile and a permission error", err)
	}
	assertOnly(t, dir, out, old)
}

// A real full file system: WARDEN_TEST_SMALL_FS names an empty directory on
// a small file system (mount -t tmpfs -o size=256k tmpfs DIR). The test
// fills it and checks that the download fails, leaving the old file.
func TestDownloadGeoIPFullFileSystem(t *testing.T) {
	dir := os.Getenv("WARDEN_TEST_SMALL_FS")
	if dir == "" {
		t.Skip("WARDEN_TEST_SMALL_FS not set")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(mmdb(t, "GeoLite2-Country", "NL"))
	}))
	t.Cleanup(srv.Close)
	out := filepath.Join(dir, "country.mmdb")
	old := mmdb(t, "GeoLite2-Country", "GB")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	t.Cleanup(func() { _ = os.Remove(filler); _ = os.Remove(out) })
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	_ = f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v; want ENOSPC", dir, err)
	}
	_, err = download(t, feeds.GeoIPSource{URL: srv.URL}, out)
	if !errors.Is(err, feeds.ErrWriteFile) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v; want ErrWriteFile and ENOSPC", err)
	}
	_ = os.Remove(filler)
	assertOnly(t, dir, out, old)
}

// A file that is there but not a database is not used for a conditional
// request: the download replaces it.
func TestDownloadGeoIPReplacesBrokenFile(t *testing.T) {
	m := newMaxMind(t, tgz(t, "GeoLite2-Country.mmdb", mmdb(t, "GeoLite2-Country", "FR")))
	out := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(out, []byte("<html>half a download"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(out, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := download(t, maxMindSource(), out, feeds.WithMaxMindURL(m.base())); err != nil {
		t.Fatal(err)
	}
	if got := countryOf(t, out); got != "FR" {
		t.Errorf("81.2.3.4 in %q, want FR", got)
	}
	if ims := m.requests()[0].Get("If-Modified-Since"); ims != "" {
		t.Errorf("conditional request from a broken file: If-Modified-Since %q", ims)
	}
}

func TestGeoIPSourceValidate(t *testing.T) {
	cases := []struct {
		name string
		src  feeds.GeoIPSource
		want string // in the error; "" for valid
	}{
		{"maxmind_default_edition", feeds.GeoIPSource{AccountID: "42", LicenseKey: testKey}, ""},
		{"maxmind_geoip2_country", feeds.GeoIPSource{Edition: "GeoIP2-Country", AccountID: "42", LicenseKey: testKey}, ""},
		{"url", feeds.GeoIPSource{URL: "https://download.db-ip.com/free/dbip-country-lite-2026-01.mmdb.gz"}, ""},
		{"nothing", feeds.GeoIPSource{}, "neither URL nor AccountID"},
		{"unknown_edition", feeds.GeoIPSource{Edition: "GeoLite2-ASN", AccountID: "42", LicenseKey: testKey}, `Edition "GeoLite2-ASN"`},
		{"edition_case", feeds.GeoIPSource{Edition: "geolite2-country", AccountID: "42", LicenseKey: testKey}, `Edition "geolite2-country"`},
		{"no_account", feeds.GeoIPSource{LicenseKey: testKey}, "AccountID is empty"},
		{"account_not_number", feeds.GeoIPSource{AccountID: "alice", LicenseKey: testKey}, `AccountID "alice"`},
		{"no_key", feeds.GeoIPSource{AccountID: "42"}, "LicenseKey is empty"},
		{"key_with_newline", feeds.GeoIPSource{AccountID: "42", LicenseKey: testKey + "\n"}, "LicenseKey holds"},
		{"url_and_key", feeds.GeoIPSource{URL: "https://example.org/a.mmdb", LicenseKey: testKey}, "URL excludes"},
		{"ftp_url", feeds.GeoIPSource{URL: "ftp://example.org/a.mmdb?key=" + testKey}, `URL "ftp://example.org/a.mmdb"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.src.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, feeds.ErrInvalidSource) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v; want ErrInvalidSource naming %s", err, c.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the error shows the licence key: %v", err)
			}
			if _, derr := feeds.DownloadGeoIP(testCtx(t), c.src, filepath.Join(t.TempDir(), "x.mmdb")); !errors.Is(derr, feeds.ErrInvalidSource) {
				t.Errorf("DownloadGeoIP accepted it: %v", derr)
			}
		})
	}
}

// However a source is printed or logged, the licence key is not in it.
func TestGeoIPSourceHidesLicenceKey(t *testing.T) {
	src := maxMindSource()
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("downloading", "source", src)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("downloading", "source", src)
	s := fmt.Sprintf("%v %+v %#v %s", src, src, src, src) + logged.String()
	if strings.Contains(s, testKey) || !strings.Contains(s, "GeoLite2-Country") || !strings.Contains(s, testAccount) {
		t.Errorf("printed: %s", s)
	}
	u := feeds.GeoIPSource{URL: "https://user:pw@example.org/db.mmdb?license_key=" + testKey}
	if s := fmt.Sprintf("%v %#v", u, u); strings.Contains(s, testKey) || strings.Contains(s, "pw") {
		t.Errorf("printed: %s", s)
	}
}

func TestGeoIPOptionsValidate(t *testing.T) {
	for name, o := range map[string]feeds.GeoIPOption{
		"nil":                 nil,
		"nil_client":          feeds.WithGeoIPClient(nil),
		"zero_timeout":        feeds.WithGeoIPTimeout(0),
		"negative_max_bytes":  feeds.WithGeoIPMaxBytes(-1),
		"nil_progress":        feeds.WithGeoIPProgress(nil),
		"maxmind_url_ftp":     feeds.WithMaxMindURL("ftp://mirror.example/geoip/databases"),
		"maxmind_url_query":   feeds.WithMaxMindURL("https://mirror.example/geoip/databases?key=1"),
		"maxmind_url_no_host": feeds.WithMaxMindURL("/geoip/databases"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := feeds.DownloadGeoIP(testCtx(t), maxMindSource(), filepath.Join(t.TempDir(), "x.mmdb"), o)
			if !errors.Is(err, feeds.ErrInvalidOption) {
				t.Fatalf("err = %v; want ErrInvalidOption", err)
			}
		})
	}
}

func TestStatGeoIP(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.mmdb"), filepath.Join(dir, "bad.mmdb")
	_ = os.WriteFile(good, mmdb(t, "GeoIP2-Country", "FR"), 0o644)
	_ = os.WriteFile(bad, []byte("<!doctype html>"), 0o644)
	d, err := feeds.StatGeoIP(good)
	if err != nil || d.Type != "GeoIP2-Country" || !d.BuildTime.Equal(builtAt) || d.Path != good || d.ModTime.IsZero() {
		t.Errorf("StatGeoIP(good) = %+v, %v", d, err)
	}
	if _, err := feeds.StatGeoIP(bad); !errors.Is(err, feeds.ErrNotDatabase) {
		t.Errorf("StatGeoIP(html) = %v; want ErrNotDatabase", err)
	}
	if _, err := feeds.StatGeoIP(filepath.Join(dir, "none.mmdb")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("StatGeoIP(missing) = %v; want ErrNotExist", err)
	}
}
