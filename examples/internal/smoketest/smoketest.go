// Package smoketest drives the example applications over real loopback HTTP
// in their smoke tests.
package smoketest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Run is an example's run function.
type Run func(ctx context.Context, args []string, stdout io.Writer) error

// output collects what run prints and reports the listening address. It is
// written from several goroutines (logs, the listener).
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

var listening = regexp.MustCompile(`listening on http://([^\s"]+)`)

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if m := listening.FindSubmatch(p); m != nil {
		select {
		case o.addr <- string(m[1]):
		default:
		}
	}
	return len(p), nil
}

func (o *output) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.buf.String() }

// Start runs the app with args on a free loopback port and returns its base
// URL. When the test ends the app's context is cancelled and it must return
// nil within 15 s (graceful shutdown).
func Start(t *testing.T, run Run, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &output{addr: make(chan string, 1)}
	done := make(chan error, 1)
	if !slices.Contains(args, "-dsn") { // never the working directory's warden.db
		args = append([]string{"-dsn", "sqlite:file:" + filepath.Join(t.TempDir(), "warden.db")}, args...)
	}
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-redis", ""}, args...), out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v\n%s", err, out)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("no graceful shutdown within 15s\n%s", out)
		}
	})
	select {
	case addr := <-out.addr:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("run returned early: %v\n%s", err, out)
	case <-time.After(15 * time.Second):
		t.Fatalf("not listening after 15s\n%s", out)
	}
	return ""
}

// Get sends a GET from the loopback address from (127.0.0.x) with headers
// given as name, value pairs and returns the status and the trimmed body.
func Get(t *testing.T, from, url string, hdr ...string) (int, string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, strings.TrimSpace(string(b))
}

// Expect sends Get and checks its answer.
func Expect(t *testing.T, name string, wantCode int, wantBody, from, url string, hdr ...string) {
	t.Helper()
	if code, body := Get(t, from, url, hdr...); code != wantCode || body != wantBody {
		t.Errorf("%s: %d %q, want %d %q", name, code, body, wantCode, wantBody)
	}
}

// WriteMMDB writes a GeoLite2-Country-layout database mapping CIDRs to
// country codes into a temporary file and returns its path.
func WriteMMDB(t *testing.T, nets map[string]string) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, code := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// CheckBadFlags asserts that run refuses each argument list.
func CheckBadFlags(t *testing.T, run Run) {
	t.Helper()
	for name, args := range map[string][]string{
		"bad_ip":                {"-block-ip", "300.1.1.1"},
		"host_bits":             {"-block-ip", "10.0.0.1/8"},
		"bad_proxy":             {"-trust-proxy", "proxy"},
		"country_without_geoip": {"-block-country", "RU"},
		"missing_geoip_file":    {"-geoip", filepath.Join(t.TempDir(), "none.mmdb")},
		"bad_country":           {"-geoip", WriteMMDB(t, map[string]string{"3.0.0.0/8": "US"}), "-block-country", "XYZ"},
		"unknown_flag":          {"-nope"},
		"stray_argument":        {"extra"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard)
		cancel()
		if err == nil {
			t.Errorf("%s: run(%q) succeeded", name, args)
		}
	}
}

// CheckBadFlagsWriteNothing asserts that a run refused for one bad rule
// flag stored none of the good ones: started again on the same database
// without flags, nothing is blocked.
func CheckBadFlagsWriteNothing(t *testing.T, run Run) {
	t.Helper()
	dsn := "sqlite:file:" + filepath.Join(t.TempDir(), "warden.db")
	geo := WriteMMDB(t, map[string]string{"81.0.0.0/8": "FR"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := run(ctx, []string{"-addr", "127.0.0.1:0", "-redis", "", "-dsn", dsn, "-geoip", geo,
		"-block-ip", "127.0.0.2", "-block-country", "fr", "-block-country", "ZZZ", "-block-ua", "evilbot"}, io.Discard)
	cancel()
	if err == nil || !strings.Contains(err.Error(), `-block-country "ZZZ"`) {
		t.Fatalf("run with -block-country ZZZ: %v", err)
	}
	base := Start(t, run, "-dsn", dsn, "-trust-proxy", "127.0.0.1/32", "-geoip", geo)
	Expect(t, "-block-ip of the refused run", 200, "hello 127.0.0.2", "127.0.0.2", base+"/")
	Expect(t, "-block-country of the refused run", 200, "hello 81.2.69.142", "127.0.0.1", base+"/", "X-Forwarded-For", "81.2.69.142")
	Expect(t, "-block-ua of the refused run", 200, "hello 127.0.0.1", "127.0.0.1", base+"/", "User-Agent", "evilbot")
}

// Post sends a form from 127.0.0.1 and returns the status and the body.
func Post(t *testing.T, url string, form map[string]string) (int, string) {
	t.Helper()
	vals := neturl.Values{}
	for k, v := range form {
		vals.Set(k, v)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).PostForm(url, vals)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// CheckPages drives the login and sign-up pages: the demo account signs in;
// five wrong passwords lock it (429), even for the right password after; a
// malformed address is refused at sign-up and a good one welcomed.
func CheckPages(t *testing.T, run Run) {
	t.Helper()
	base := Start(t, run, "-demo-password", "correct-horse")
	for _, p := range []string{"/login", "/signup"} {
		if code, body := Get(t, "127.0.0.1", base+p); code != 200 || !strings.Contains(body, "<form method=\"post\"") {
			t.Errorf("GET %s: %d %.200q", p, code, body)
		}
	}
	post := func(name string, wantCode int, wantText, path string, form map[string]string) {
		t.Helper()
		if code, body := Post(t, base+path, form); code != wantCode || !strings.Contains(body, wantText) {
			t.Errorf("%s: %d %.300q; want %d containing %q", name, code, body, wantCode, wantText)
		}
	}
	post("right password", 200, "Signed in as demo.", "/login", map[string]string{"username": "demo", "password": "correct-horse"})
	post("script in the username is escaped", 401, "value=\"&lt;script&gt;", "/login", map[string]string{"username": "<script>", "password": "x"})
	for i := range 5 {
		post(fmt.Sprintf("wrong password %d", i+1), 401, "Wrong username or password.", "/login", map[string]string{"username": "demo", "password": "nope"})
	}
	post("locked after five", 429, "Too many login attempts", "/login", map[string]string{"username": "demo", "password": "correct-horse"})
	post("malformed address", 400, "Invalid e-mail address", "/signup", map[string]string{"email": "not-an-address"})
	post("good address", 200, "Signed up as someone@example.com.", "/signup", map[string]string{"email": "someone@example.com"})
}

// CheckAdminAndMetrics: the admin asks for its password and serves its
// dashboard with it; /metrics serves warden's series.
func CheckAdminAndMetrics(t *testing.T, run Run) {
	t.Helper()
	base := Start(t, run, "-admin-password", "s3cret-admin")
	if code, _ := Get(t, "127.0.0.1", base+"/admin/"); code != http.StatusUnauthorized {
		t.Errorf("admin without a password: %d, want 401", code)
	}
	req, err := http.NewRequest(http.MethodGet, base+"/admin/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "s3cret-admin")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "<svg") {
		t.Errorf("admin dashboard: %d %.300q", res.StatusCode, b)
	}
	Get(t, "127.0.0.2", base+"/") // one decision to count
	if code, body := Get(t, "127.0.0.1", base+"/metrics"); code != 200 || !strings.Contains(body, "warden_decisions_total") {
		t.Errorf("/metrics: %d %.300q", code, body)
	}
}
