package geo_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/wardenkit/warden/core/geo"
)

// tableDBs are the databases the compiled table is checked against the
// search tree on: the test fixtures, an IPv6 tree without IPv4 aliases, and
// largeDB (about 300,000 networks with aliases).
func tableDBs() map[string]func(testing.TB) []byte {
	return map[string]func(testing.TB) []byte{
		"maxmind":   maxmindDB,
		"flat":      flatDB,
		"single":    func(tb testing.TB) []byte { return single(tb, "FR") },
		"ipv4_tree": buildDBv4,
		// Written without IPv4 aliases: ::ffff:0:0/96 is a network of its own.
		"no_aliasing": func(tb testing.TB) []byte {
			return treeDB(tb, true, map[string]string{"81.0.0.0/8": "FR", "2a00::/16": "DE", "::ffff:0:0/100": "IT"})
		},
		// The IPv4 subtree is a single leaf (::/64) whose record 2a00::/16
		// and 2c00::/16 share: maxminddb's iterator skips them as aliases.
		"ipv4_leaf_shared": func(tb testing.TB) []byte {
			return treeDB(tb, true, map[string]string{"::/64": "FR", "2a00::/16": "FR", "2b00::/16": "DE", "2c00::/16": "FR"})
		},
		"bench": func(tb testing.TB) []byte { files, _ := benchDBs(tb); return files["maxmind"] },
		"large": largeDB,
	}
}

// treeDB is an IPv6 tree mapping CIDRs to countries, with or without
// mmdbwriter's IPv4 aliases.
func treeDB(tb testing.TB, noAliases bool, nets map[string]string) []byte {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typeMaxMind, DisableIPv4Aliasing: noAliases, IncludeReservedNetworks: true})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, code := range nets {
		_, n, _ := net.ParseCIDR(cidr)
		if err := tree.Insert(n, nested(code, code)); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestTableMatchesTree compares the compiled table with maxminddb's Lookup
// and a decode of the record on the first and last address of every
// network (networks without data included), the addresses just before and
// after each, the same for the aliases of the IPv4 subtree (one network in
// 16 of largeDB's 1.6 million), and 100,000 random IPv4 and IPv6 addresses,
// the IPv4 ones also in their IPv4-mapped and IPv4-compatible IPv6 forms.
// Under -race, largeDB is left out and 10,000 random addresses are drawn.
func TestTableMatchesTree(t *testing.T) {
	random := 100_000
	if raceEnabled {
		random = 10_000
	}
	for name, file := range tableDBs() {
		t.Run(name, func(t *testing.T) {
			if raceEnabled && name == "large" {
				t.Skip("millions of tree walks: minutes under -race; run without")
			}
			b := file(t)
			table, tree, err := geo.Lookups(b)
			if err != nil {
				t.Fatal(err)
			}
			if table == nil {
				t.Fatal("the database did not compile into a table")
			}
			mismatches, checked := 0, 0
			check := func(ip netip.Addr, allForms bool) {
				if !ip.IsValid() {
					return
				}
				forms := []netip.Addr{ip}
				if ip.Is4() && allForms {
					a := ip.As4()
					forms = append(forms, netip.AddrFrom16(ip.As16()), netip.AddrFrom16([16]byte{12: a[0], 13: a[1], 14: a[2], 15: a[3]}))
				}
				for _, ip := range forms {
					checked++
					got, gok := table(ip)
					want, wok := tree(ip)
					if got != want || gok != wok {
						if mismatches++; mismatches <= 10 {
							t.Errorf("%v: table %q %v, tree %q %v", ip, got, gok, want, wok)
						}
					}
				}
			}
			prefixes, aliased := networks(t, b)
			sample := 1
			if len(aliased) > 100_000 {
				sample = 16
			}
			for i, p := range prefixes {
				if aliased[i] && i%sample != 0 {
					continue
				}
				first, last := p.Addr(), lastAddr(p)
				check(first, false)
				check(last, false)
				check(first.Prev(), false)
				check(last.Next(), false)
			}
			for _, ip := range randomAddrs(prefixes, random) {
				check(ip, true)
			}
			if mismatches > 0 {
				t.Errorf("%d of %d lookups differ", mismatches, checked)
			}
			t.Logf("%d networks, %d lookups", len(prefixes), checked)
		})
	}
}

// networks returns every network of b in address order, aliases and
// networks without data included, and marks the networks that are aliases
// of the IPv4 subtree.
func networks(tb testing.TB, b []byte) ([]netip.Prefix, map[int]bool) {
	tb.Helper()
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[netip.Prefix]bool{}
	for res := range r.Networks(maxminddb.IncludeNetworksWithoutData()) {
		seen[res.Prefix()] = true
	}
	var out []netip.Prefix
	aliased := map[int]bool{}
	for res := range r.Networks(maxminddb.IncludeAliasedNetworks(), maxminddb.IncludeNetworksWithoutData()) {
		if err := res.Err(); err != nil {
			tb.Fatal(err)
		}
		if !seen[res.Prefix()] {
			aliased[len(out)] = true
		}
		out = append(out, res.Prefix())
	}
	return out, aliased
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	for bit := p.Bits(); bit < len(a)*8; bit++ {
		a[bit/8] |= 1 << (7 - bit%8)
	}
	ip, _ := netip.AddrFromSlice(a)
	return ip
}

// randomAddrs returns n random IPv4 addresses and n random IPv6 addresses:
// in networks of prefixes picked at random, and one in ten anywhere.
func randomAddrs(prefixes []netip.Prefix, n int) []netip.Addr {
	r := rand.New(rand.NewPCG(9, 10))
	var v6 []netip.Prefix
	for _, p := range prefixes {
		if p.Addr().Is6() {
			v6 = append(v6, p)
		}
	}
	out := make([]netip.Addr, 0, 2*n)
	for range n {
		out = append(out, netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}))
		var a [16]byte
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		if len(v6) > 0 && r.IntN(10) != 0 {
			p := v6[r.IntN(len(v6))]
			pa := p.Addr().As16()
			for bit := range p.Bits() {
				a[bit/8] = a[bit/8]&^(1<<(7-bit%8)) | pa[bit/8]&(1<<(7-bit%8))
			}
		}
		out = append(out, netip.AddrFrom16(a))
	}
	return out
}

// bigDB is largeDB, or under -race, where building largeDB takes a quarter
// of a minute, the 12,000-network database of the benchmarks.
func bigDB(tb testing.TB) []byte {
	if raceEnabled {
		files, _ := benchDBs(tb)
		return files["maxmind"]
	}
	return largeDB(tb)
}

// FuzzTableMatchesTree compares the table with the tree on bigDB for any
// 16 bytes taken as an IPv6 address, and for the address unmapped.
func FuzzTableMatchesTree(f *testing.F) {
	for _, s := range []string{"::ffff:81.2.69.142", "2002:5102:458e::1", "2001:0:5102:458e::", "::1",
		"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2400::", "2a00:1450::1", "::1:0:0"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	table, tree, err := geo.Lookups(bigDB(f))
	if err != nil || table == nil {
		f.Fatalf("the database did not compile: %v", err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a [16]byte
		copy(a[:], b)
		for _, ip := range []netip.Addr{netip.AddrFrom16(a), netip.AddrFrom16(a).Unmap()} {
			got, gok := table(ip)
			want, wok := tree(ip)
			if got != want || gok != wok {
				t.Fatalf("%v: table %q %v, tree %q %v", ip, got, gok, want, wok)
			}
		}
	})
}

// TestTableFallback checks that a file past the compile bound is still
// used, through its search tree, with the same answers.
func TestTableFallback(t *testing.T) {
	files, ips := benchDBs(t)
	b := files["maxmind"]
	compiled, err := geo.OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	n := compiled.Stats().Ranges
	if n == 0 {
		t.Fatal("the database did not compile")
	}
	restore := geo.SetMaxTableRanges(n - 1)
	fallback, err := geo.OpenBytes(b)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if got := fallback.Stats().Ranges; got != 0 {
		t.Fatalf("Ranges = %d past the bound, want 0 (tree)", got)
	}
	for _, ip := range ips {
		want, wok := compiled.Country(ip)
		if got, ok := fallback.Country(ip); got != want || ok != wok {
			t.Fatalf("%v: tree %q %v, table %q %v", ip, got, ok, want, wok)
		}
	}
}

// TestTableLookupAllocs is the allocation gate of table lookups on a large
// database, IPv4 and IPv6, found or not.
func TestTableLookupAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	b := largeDB(t)
	db, err := geo.OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if db.Stats().Ranges == 0 {
		t.Fatal("largeDB did not compile")
	}
	v4, v6 := workingSet(t, b, 1024)
	ips := append(v4, v6...)
	if n := testing.AllocsPerRun(10, func() {
		for _, ip := range ips {
			db.Country(ip)
		}
	}); n > 0 {
		t.Errorf("%v allocs per %d lookups, want 0", n, len(ips))
	}
}

// TestReloadCompilesAside runs lookups while Reload compiles a large file
// (bigDB): they go on, on the file in use, until the new one is published.
func TestReloadCompilesAside(t *testing.T) {
	allIT := buildDB(t, typeMaxMind, map[string]mmdbtype.DataType{
		"0.0.0.0/1": nested("IT", "Italy"), "128.0.0.0/1": nested("IT", "Italy"),
	})
	p := writeFile(t, t.TempDir(), "db.mmdb", allIT)
	db, err := geo.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	large := bigDB(t)
	table, _, err := geo.Lookups(large)
	if err != nil || table == nil {
		t.Fatalf("the database did not compile: %v", err)
	}
	// An address the new file places in a country other than IT.
	v4, _ := workingSet(t, large, 64)
	var ip netip.Addr
	var want string
	for _, a := range v4 {
		if c, _ := table(a); c != "" && c != "IT" {
			ip, want = a, c
			break
		}
	}
	if !ip.IsValid() {
		t.Fatal("no address changes country")
	}
	replace(t, p, large)

	var reloading, stop atomic.Bool
	var during atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			got, _ := db.Country(ip)
			if got != "IT" && got != want {
				t.Errorf("Country = %q during the reload, want IT or %q", got, want)
				return
			}
			if got == "IT" && reloading.Load() {
				during.Add(1)
			}
		}
	})
	reloading.Store(true)
	err = db.Reload()
	reloading.Store(false)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Country(ip); got != want || db.Stats().Ranges == 0 {
		t.Errorf("after the reload: %q, Ranges %d; want %q from a table", got, db.Stats().Ranges, want)
	}
	// Lookups blocked by the compile would not have run during it.
	if n := during.Load(); n < 100 {
		t.Errorf("%d lookups on the old file during the reload, want many", n)
	}
}
