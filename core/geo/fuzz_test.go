package geo_test

import (
	"net/netip"
	"testing"

	"github.com/wardenkit/warden/core/geo"
)

// FuzzOpenBytes feeds mutated database files to OpenBytes: it must never
// panic, a file it accepts must only ever answer valid codes, and a file
// that compiles into a table must answer as its search tree does.
func FuzzOpenBytes(f *testing.F) {
	f.Add(maxmindDB(f))
	f.Add(flatDB(f))
	f.Add(buildDBv4(f))
	f.Add([]byte("\xAB\xCD\xEFMaxMind.com"))
	ips := []netip.Addr{
		netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("8.8.8.8"),
		netip.MustParseAddr("::"), netip.MustParseAddr("255.255.255.255"),
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := geo.OpenBytes(b)
		if err != nil {
			return
		}
		for _, ip := range ips {
			code, ok := db.Country(ip)
			if ok != (code != "") || (ok && (len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z')) {
				t.Fatalf("Country(%v) = %q, %v", ip, code, ok)
			}
		}
		table, tree, err := geo.Lookups(b)
		if err != nil || table == nil {
			return
		}
		for _, ip := range ips {
			ip = ip.Unmap()
			got, gok := table(ip)
			want, wok := tree(ip)
			if got != want || gok != wok {
				t.Fatalf("%v: table %q %v, tree %q %v", ip, got, gok, want, wok)
			}
		}
	})
}
