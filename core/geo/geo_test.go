package geo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardenkit/warden/core/geo"
)

// countryLookup is core.CountryLookup, restated so this test does not import core.
type countryLookup interface {
	Country(netip.Addr) (string, bool)
}

var _ countryLookup = (*geo.DB)(nil)

func TestCountry(t *testing.T) {
	type tc struct {
		name string
		ip   netip.Addr
		want string
		ok   bool
	}
	layouts := []struct {
		name   string
		b      []byte
		layout string
		dbType string
		cases  []tc
	}{
		{
			name: "maxmind", b: maxmindDB(t), layout: "country.iso_code", dbType: typeMaxMind,
			cases: []tc{
				{"ipv4", netip.MustParseAddr("81.2.69.142"), "FR", true},
				{"ipv4_first_of_network", netip.MustParseAddr("81.0.0.0"), "FR", true},
				{"ipv6", netip.MustParseAddr("2001:db8::1"), "DE", true},
				{"ipv4_mapped_ipv6", netip.MustParseAddr("::ffff:81.2.69.142"), "FR", true},
				{"ipv6_with_zone", netip.MustParseAddr("2001:db8::1%eth0"), "DE", true},
				{"lower_case_code_upper_cased", netip.MustParseAddr("192.0.2.7"), "GB", true},
				{"registered_country_only", netip.MustParseAddr("198.51.100.1"), "", false},
				{"zz_means_unknown", netip.MustParseAddr("203.0.113.9"), "", false},
				{"unknown_public", netip.MustParseAddr("8.8.8.8"), "", false},
				{"unknown_ipv6", netip.MustParseAddr("2a00:1450::1"), "", false},
				{"private", netip.MustParseAddr("10.1.2.3"), "", false},
				{"loopback", netip.MustParseAddr("127.0.0.1"), "", false},
				{"invalid_zero_addr", netip.Addr{}, "", false},
			},
		},
		{
			name: "flat", b: flatDB(t), layout: "country_code", dbType: typeFlat,
			cases: []tc{
				{"ipv4", netip.MustParseAddr("81.2.69.142"), "US", true},
				{"ipv6", netip.MustParseAddr("2001:db8:ffff::1"), "JP", true},
				{"ipv4_mapped_ipv6", netip.MustParseAddr("::ffff:81.9.9.9"), "US", true},
				{"lower_case_code_upper_cased", netip.MustParseAddr("192.0.2.7"), "BR", true},
				{"record_without_country_code", netip.MustParseAddr("198.51.100.1"), "", false},
				{"empty_code", netip.MustParseAddr("203.0.113.9"), "", false},
				{"unknown_public", netip.MustParseAddr("8.8.8.8"), "", false},
				{"private", netip.MustParseAddr("192.168.1.1"), "", false},
				{"invalid_zero_addr", netip.Addr{}, "", false},
			},
		},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			db, err := geo.OpenBytes(l.b)
			if err != nil {
				t.Fatal(err)
			}
			st := db.Stats()
			if st.Layout != l.layout || st.DatabaseType != l.dbType {
				t.Errorf("Stats layout %q type %q, want %q %q", st.Layout, st.DatabaseType, l.layout, l.dbType)
			}
			if !st.BuildTime.Equal(time.Unix(1_700_000_000, 0)) {
				t.Errorf("BuildTime %v", st.BuildTime)
			}
			for _, c := range l.cases {
				t.Run(c.name, func(t *testing.T) {
					got, ok := db.Country(c.ip)
					if got != c.want || ok != c.ok {
						t.Errorf("Country(%v) = %q, %v; want %q, %v", c.ip, got, ok, c.want, c.ok)
					}
				})
			}
		})
	}
}

// TestCountryIPv4OnlyDatabase covers an IPv4 tree asked about IPv6.
func TestCountryIPv4OnlyDatabase(t *testing.T) {
	db, err := geo.OpenBytes(buildDBv4(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := db.Country(netip.MustParseAddr("81.1.1.1")); got != "FR" || !ok {
		t.Errorf("ipv4: %q %v", got, ok)
	}
	if got, ok := db.Country(netip.MustParseAddr("::ffff:81.1.1.1")); got != "FR" || !ok {
		t.Errorf("mapped: %q %v", got, ok)
	}
	if got, ok := db.Country(netip.MustParseAddr("2001:db8::1")); got != "" || ok {
		t.Errorf("ipv6 in ipv4 db: %q %v", got, ok)
	}
}

func TestCountryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for name, b := range map[string][]byte{"maxmind": maxmindDB(t), "flat": flatDB(t)} {
		t.Run(name, func(t *testing.T) {
			db, err := geo.OpenBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			ips := []netip.Addr{
				netip.MustParseAddr("81.2.69.142"),
				netip.MustParseAddr("2001:db8::1"),
				netip.MustParseAddr("::ffff:81.2.69.142"),
				netip.MustParseAddr("192.0.2.7"),
				netip.MustParseAddr("198.51.100.1"),
				netip.MustParseAddr("8.8.8.8"),
				{},
			}
			for _, ip := range ips {
				if n := testing.AllocsPerRun(1000, func() { db.Country(ip) }); n > 0 {
					t.Errorf("Country(%v): %v allocs per lookup, want 0", ip, n)
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "GeoLite2-Country.mmdb", maxmindDB(t))
	db, err := geo.Open(p, geo.WithPollInterval(time.Second), geo.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, _ := db.Country(netip.MustParseAddr("81.1.1.1")); got != "FR" {
		t.Errorf("got %q", got)
	}
	st := db.Stats()
	if st.Path != p || st.Reloads != 0 || st.ReloadErrors != 0 || st.LoadedAt.IsZero() {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	truncated := maxmindDB(t)
	truncated = truncated[:len(truncated)/2]
	corruptTree := maxmindDB(t)
	for i := range 64 { // scribble over the search tree
		corruptTree[i] = 0xff
	}
	cases := []struct {
		name    string
		path    string
		wantErr error  // checked with errors.Is when set
		wantMsg string // substring of the error
	}{
		{"missing_file", filepath.Join(dir, "missing.mmdb"), os.ErrNotExist, "no such file"},
		{"empty_file", writeFile(t, dir, "empty.mmdb", nil), nil, "file is empty"},
		{"garbage", writeFile(t, dir, "garbage.mmdb", []byte(strings.Repeat("not a database\n", 100))), nil, "invalid MaxMind DB"},
		{"truncated_download", writeFile(t, dir, "truncated.mmdb", truncated), nil, ""},
		{"corrupt_search_tree", writeFile(t, dir, "corrupt.mmdb", corruptTree), nil, ""},
		{"directory", dir, nil, ""},
		{"asn_database", writeFile(t, dir, "asn.mmdb", buildDB(t, typeASN, map[string]mmdbtype.DataType{
			"81.0.0.0/8": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)},
		})), geo.ErrNoCountryData, `"GeoLite2-ASN"`},
		{"unknown_type_without_country", writeFile(t, dir, "other.mmdb", buildDB(t, "my-asn-db", map[string]mmdbtype.DataType{
			"81.0.0.0/8": mmdbtype.Map{"asn": mmdbtype.String("AS64500"), "country": mmdbtype.String("France")},
		})), geo.ErrNoCountryData, `"my-asn-db"`},
		{"known_type_flat_records", writeFile(t, dir, "liar.mmdb", buildDB(t, typeMaxMind, map[string]mmdbtype.DataType{
			"81.0.0.0/8": flat("FR", "France"),
		})), geo.ErrNoCountryData, ""},
		{"no_records", writeFile(t, dir, "none.mmdb", buildDB(t, typeMaxMind, nil)), geo.ErrNoCountryData, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := geo.Open(c.path)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "geo: Open "+c.path+": ") {
				t.Errorf("error %q does not name the operation and path", msg)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %q is not %v", msg, c.wantErr)
			}
			if !strings.Contains(msg, c.wantMsg) {
				t.Errorf("error %q lacks %q", msg, c.wantMsg)
			}
		})
	}
}

func TestOpenBytesErrors(t *testing.T) {
	for name, b := range map[string][]byte{"nil": nil, "garbage": []byte("garbage")} {
		if _, err := geo.OpenBytes(b); err == nil || !strings.HasPrefix(err.Error(), "geo: OpenBytes: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	p := writeFile(t, t.TempDir(), "db.mmdb", maxmindDB(t))
	for name, tt := range map[string]struct {
		opt  geo.Option
		want string
	}{
		"zero_interval":     {geo.WithPollInterval(0), "geo: WithPollInterval: 0s is not positive"},
		"negative_interval": {geo.WithPollInterval(-time.Second), "geo: WithPollInterval: -1s is not positive"},
		"nil_logger":        {geo.WithLogger(nil), "geo: WithLogger: nil logger"},
	} {
		_, err := geo.Open(p, tt.opt)
		if err == nil || err.Error() != tt.want || !errors.Is(err, geo.ErrInvalidOption) {
			t.Errorf("%s: Open error %v; want %q wrapping ErrInvalidOption", name, err, tt.want)
		}
	}
}

func TestOpenBytesHasNothingToWatch(t *testing.T) {
	db, err := geo.OpenBytes(maxmindDB(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Start(t.Context()); err != nil {
		t.Errorf("Start: %v", err)
	}
	if err := db.Reload(); !errors.Is(err, geo.ErrNoFile) {
		t.Errorf("Reload: %v, want ErrNoFile", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestReload(t *testing.T) {
	fr := netip.MustParseAddr("81.1.1.1")
	for _, write := range []struct {
		name string
		fn   func(testing.TB, string, []byte)
	}{{"rename", replace}, {"in_place", rewrite}} {
		t.Run(write.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "db.mmdb", single(t, "FR"))
			db, err := geo.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			loaded := db.Stats().LoadedAt

			write.fn(t, p, single(t, "IT"))
			if got, _ := db.Country(fr); got != "FR" {
				t.Fatalf("before Reload: %q, want the old answer FR", got)
			}
			if err := db.Reload(); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.Country(fr); got != "IT" {
				t.Errorf("after Reload: %q, want IT", got)
			}
			st := db.Stats()
			if st.Reloads != 1 || st.ReloadErrors != 0 || st.LoadedAt.Before(loaded) {
				t.Errorf("Stats = %+v", st)
			}
			// Switching layout on reload works too.
			write.fn(t, p, flatDB(t))
			if err := db.Reload(); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.Country(fr); got != "US" {
				t.Errorf("after flat Reload: %q, want US", got)
			}
			if st := db.Stats(); st.Layout != "country_code" || st.DatabaseType != typeFlat {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestReloadRejectsBrokenFile(t *testing.T) {
	fr := netip.MustParseAddr("81.1.1.1")
	good := single(t, "FR")
	broken := []struct {
		name string
		b    []byte
	}{
		{"truncated", good[:len(good)-40]},
		{"empty", nil},
		{"garbage", []byte("<html>503 Service Unavailable</html>")},
		{"asn_database", buildDB(t, typeASN, map[string]mmdbtype.DataType{
			"81.0.0.0/8": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)},
		})},
	}
	p := writeFile(t, t.TempDir(), "db.mmdb", good)
	var logs bytes.Buffer
	db, err := geo.Open(p, geo.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, b := range broken {
		replace(t, p, b.b)
		err := db.Reload()
		if err == nil || !strings.HasPrefix(err.Error(), "geo: Reload "+p+": ") {
			t.Errorf("%s: Reload error %v", b.name, err)
		}
		if got, ok := db.Country(fr); got != "FR" || !ok {
			t.Errorf("%s: Country = %q, %v; want the old answer FR", b.name, got, ok)
		}
		st := db.Stats()
		if st.ReloadErrors != uint64(i+1) || st.Reloads != 0 || st.LastError != err.Error() {
			t.Errorf("%s: Stats = %+v", b.name, st)
		}
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), p) {
		t.Errorf("rejections not logged: %s", logs.String())
	}
	// A good file afterwards is taken.
	replace(t, p, single(t, "IT"))
	if err := db.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Country(fr); got != "IT" {
		t.Errorf("got %q, want IT", got)
	}
	// A deleted file is an error too, and the database in use stays.
	os.Remove(p)
	if err := db.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Reload of deleted file: %v", err)
	}
	if got, _ := db.Country(fr); got != "IT" {
		t.Errorf("got %q, want IT", got)
	}
}

// TestPoll runs the poller on synctest's fake clock.
func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fr := netip.MustParseAddr("81.1.1.1")
		p := writeFile(t, t.TempDir(), "db.mmdb", single(t, "FR"))
		db, err := geo.Open(p, geo.WithPollInterval(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Start(t.Context()); !errors.Is(err, geo.ErrStarted) {
			t.Errorf("second Start: %v, want ErrStarted", err)
		}
		tick := func() {
			time.Sleep(time.Minute)
			synctest.Wait() // the poller has finished this tick's check
		}
		expect := func(step, want string, reloads, errs uint64) {
			t.Helper()
			if got, _ := db.Country(fr); got != want {
				t.Errorf("%s: Country = %q, want %q", step, got, want)
			}
			if st := db.Stats(); st.Reloads != reloads || st.ReloadErrors != errs {
				t.Errorf("%s: Reloads %d ReloadErrors %d, want %d %d (%s)", step, st.Reloads, st.ReloadErrors, reloads, errs, st.LastError)
			}
		}

		tick()
		expect("unchanged file", "FR", 0, 0)

		replace(t, p, single(t, "IT"))
		time.Sleep(time.Minute - time.Second)
		synctest.Wait()
		expect("before the tick", "FR", 0, 0)
		time.Sleep(time.Second)
		synctest.Wait()
		expect("renamed file", "IT", 1, 0)

		// In place, with a different size (mtime alone may not move within
		// the filesystem's timestamp granularity).
		rewrite(t, p, buildDB(t, typeMaxMind, map[string]mmdbtype.DataType{
			"81.0.0.0/8": nested("ES", "Spain, Kingdom of"),
		}))
		tick()
		expect("rewritten file", "ES", 2, 0)

		replace(t, p, []byte("partial download"))
		tick()
		expect("broken file", "ES", 2, 1)
		tick()
		expect("broken file is not retried until it changes", "ES", 2, 1)

		os.Remove(p)
		tick()
		tick()
		expect("deleted file reported once", "ES", 2, 2)

		replace(t, p, single(t, "PT"))
		tick()
		expect("file back", "PT", 3, 2)

		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		replace(t, p, single(t, "FR"))
		tick()
		expect("after Close", "PT", 3, 2)
		if err := db.Start(t.Context()); !errors.Is(err, geo.ErrClosed) {
			t.Errorf("Start after Close: %v, want ErrClosed", err)
		}
		// synctest.Test fails if the poller goroutine is still alive here.
	})
}

func TestPollStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "db.mmdb", single(t, "FR"))
		db, err := geo.Open(p, geo.WithPollInterval(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		if err := db.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		synctest.Wait()
		replace(t, p, single(t, "IT"))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got, _ := db.Country(netip.MustParseAddr("81.1.1.1")); got != "FR" {
			t.Errorf("poller still running after its context ended: %q", got)
		}
		db.Close()
	})
}

// TestNoGoroutineLeak checks, on synctest's fake clock, that Close stops a
// poller that ticks every millisecond under a context that has not ended,
// and that a second Close is a no-op.
func TestNoGoroutineLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "db.mmdb", single(t, "FR"))
		before := bubbleGoroutines()
		for i := range 10 {
			db, err := geo.Open(p, geo.WithPollInterval(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond) // three ticks
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil { // idempotent
				t.Fatal(err)
			}
			synctest.Wait() // every goroutine of the bubble has exited or is blocked
			if n := bubbleGoroutines(); n != before {
				buf := make([]byte, 1<<16)
				t.Fatalf("round %d: %d goroutines before, %d after Close:\n%s", i, before, n, buf[:runtime.Stack(buf, true)])
			}
		}
	})
}

// bubbleGoroutines counts the goroutines of synctest bubbles: unlike
// runtime.NumGoroutine, it does not see goroutines of earlier tests end or
// the runtime start its own.
func bubbleGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, line := range strings.Split(string(buf), "\n") {
		if strings.HasPrefix(line, "goroutine ") && strings.Contains(line, "synctest bubble") {
			n++
		}
	}
	return n
}

// TestConcurrentReload runs lookups while files are swapped; run with -race.
func TestConcurrentReload(t *testing.T) {
	p := writeFile(t, t.TempDir(), "db.mmdb", single(t, "FR"))
	db, err := geo.Open(p, geo.WithPollInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files := [][]byte{single(t, "FR"), single(t, "IT"), flatDB(t), []byte("broken")}
	want := map[string]bool{"FR": true, "IT": true, "US": true}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups atomic.Int64
	ips := []netip.Addr{netip.MustParseAddr("81.1.1.1"), netip.MustParseAddr("::ffff:81.1.1.1")}
	for g := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				got, ok := db.Country(ips[(g+i)%len(ips)])
				if !ok || !want[got] {
					t.Errorf("Country = %q, %v during reloads", got, ok)
					return
				}
				lookups.Add(1)
			}
		})
	}
	for i := range 40 {
		replace(t, p, files[i%len(files)])
		_ = db.Reload() // the broken file fails; lookups must not notice
		_ = db.Stats()
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	st := db.Stats()
	if st.Reloads == 0 || st.ReloadErrors == 0 || lookups.Load() == 0 {
		t.Errorf("Stats = %+v, lookups %d", st, lookups.Load())
	}
}
