package geo_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/wardenkit/warden/core/geo"
)

// coldAllocs opens b and counts the allocations of a pass of lookups over
// half of ips (AllocsPerRun's warm-up run does the other half first).
func coldAllocs(t *testing.T, b []byte, ips []netip.Addr) float64 {
	t.Helper()
	db, err := geo.OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	found, half, pass := 0, len(ips)/2, 0
	n := testing.AllocsPerRun(1, func() {
		for _, ip := range ips[pass*half : (pass+1)*half] {
			if _, ok := db.Country(ip); ok {
				found++
			}
		}
		pass++
	})
	if want := len(ips) * 7 / 8; found < want-1 || found > want+1 {
		t.Errorf("found %d of %d, want about %d", found, len(ips), want)
	}
	return n
}

// TestCountryAllocsColdLookups checks that lookups on a freshly opened,
// larger database allocate nothing even before any cache is warm.
func TestCountryAllocsColdLookups(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	files, ips := benchDBs(t)
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			// AllocsPerRun counts the whole process's allocations over one
			// pass, so a stray one of the runtime or the test framework can
			// land in it: the gate fails only when three fresh databases
			// all allocate.
			var n float64
			for range 3 {
				if n = coldAllocs(t, b, ips); n == 0 {
					return
				}
			}
			t.Errorf("%v allocs for %d cold lookups, want 0", n, len(ips)/2)
		})
	}
}

// TestCountryMatchesGeoIP2 compares every answer with geoip2-golang's.
func TestCountryMatchesGeoIP2(t *testing.T) {
	files, ips := benchDBs(t)
	db, err := geo.OpenBytes(files["maxmind"])
	if err != nil {
		t.Fatal(err)
	}
	g, err := geoip2.OpenBytes(files["maxmind"])
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"cold", "cached"} {
		for _, ip := range ips {
			rec, err := g.Country(ip)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := db.Country(ip)
			if got != rec.Country.ISOCode || ok != (rec.Country.ISOCode != "") {
				t.Fatalf("%s: Country(%v) = %q, %v; geoip2 says %q", pass, ip, got, ok, rec.Country.ISOCode)
			}
		}
	}
}

// BenchmarkCountry is the request-path lookup: 0 allocs per op.
func BenchmarkCountry(b *testing.B) {
	files, ips := benchDBs(b)
	for _, name := range []string{"maxmind", "flat"} {
		db, err := geo.OpenBytes(files[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				db.Country(ips[i%len(ips)])
				i++
			}
		})
	}
	db, _ := geo.OpenBytes(files["maxmind"])
	// One address again and again: the tree path stays in cache, so this is
	// the decode cost; the random-address runs above are dominated by cache
	// misses in the search tree.
	hot := netip.MustParseAddr("81.2.69.142")
	for _, ip := range ips {
		if _, ok := db.Country(ip); ok && ip.Is4() {
			hot = ip
			break
		}
	}
	b.Run("maxmind/same_ip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db.Country(hot)
		}
	})
	b.Run("maxmind/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				db.Country(ips[i%len(ips)])
				i++
			}
		})
	})
}

// BenchmarkCountryLarge looks up addresses in largeDB (about 680,000
// networks with and without data) and, when WARDEN_GEO_MMDB names one, in
// that file: a working set of 65,536 addresses in random networks, cycled
// (v4_64k, v6_64k), and one address again and again (hot).
//
// On the 600,000-network file of bench/cmd/everycheck (-stack gen), 2 vCPU
// Xeon, -cpu 1, load average 1.4 to 1.9, tree walk then compiled table:
// v4_64k 174 -> 35 ns, v6_64k 185 -> 34 ns, hot 85 -> 9.2 ns. Reproduce:
//
//	WARDEN_GEO_MMDB=/tmp/warden-bench-country.mmdb go test ./core/geo \
//		-run '^$' -bench 'CountryLarge|OpenBytes' -cpu 1 -count 6
func BenchmarkCountryLarge(b *testing.B) {
	for _, src := range []struct {
		name string
		file func(testing.TB) []byte
	}{{"generated", largeDB}, {"file", benchFile}} {
		b.Run(src.name, func(b *testing.B) {
			file := src.file(b)
			db, err := geo.OpenBytes(file)
			if err != nil {
				b.Fatal(err)
			}
			v4, v6 := workingSet(b, file, 1<<16)
			for _, set := range []struct {
				name string
				ips  []netip.Addr
			}{{"v4_64k", v4}, {"v6_64k", v6}, {"hot", v4[:1]}} {
				b.Run(set.name, func(b *testing.B) {
					b.ReportAllocs()
					ips, i := set.ips, 0
					for b.Loop() {
						db.Country(ips[i&(len(ips)-1)])
						i++
					}
				})
			}
		})
	}
}

// workingSet returns n IPv4 and n IPv6 addresses (n a power of two), each in
// a network of file picked at random, in random order.
func workingSet(tb testing.TB, file []byte, n int) (v4, v6 []netip.Addr) {
	tb.Helper()
	r, err := maxminddb.OpenBytes(file)
	if err != nil {
		tb.Fatal(err)
	}
	var nets4, nets6 []netip.Prefix
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			tb.Fatal(err)
		}
		if p := res.Prefix(); p.Addr().Is4() {
			nets4 = append(nets4, p)
		} else {
			nets6 = append(nets6, p)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func(nets []netip.Prefix) []netip.Addr {
		out := make([]netip.Addr, n)
		for i := range out {
			p := nets[rng.IntN(len(nets))]
			a := p.Addr().As16()
			for bit := p.Bits() + 128 - p.Addr().BitLen(); bit < 128; bit++ {
				a[bit/8] |= byte(rng.IntN(2)) << (7 - bit%8)
			}
			out[i] = netip.AddrFrom16(a)
			if p.Addr().Is4() {
				out[i] = out[i].Unmap()
			}
		}
		return out
	}
	return pick(nets4), pick(nets6)
}

// BenchmarkGeoIP2Country is geoip2-golang's Country() on the same data, for
// comparison: it decodes the whole record into a fresh struct.
func BenchmarkGeoIP2Country(b *testing.B) {
	files, ips := benchDBs(b)
	g, err := geoip2.OpenBytes(files["maxmind"])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec, _ := g.Country(ips[i%len(ips)])
		_ = rec.Country.ISOCode
		i++
	}
}

// BenchmarkDecodePathString is maxminddb's DecodePath into a string, the
// obvious way: the destination escapes through DecodePath's interface
// parameter, and the string is only free once the reader's string cache
// holds it.
func BenchmarkDecodePathString(b *testing.B) {
	files, ips := benchDBs(b)
	r, err := maxminddb.OpenBytes(files["maxmind"])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = decodePathString(r, ips[i%len(ips)])
		i++
	}
}

func decodePathString(r *maxminddb.Reader, ip netip.Addr) string {
	var s string
	_ = r.Lookup(ip).DecodePath(&s, "country", "iso_code")
	return s
}

// BenchmarkOpenBytes is the cost of validating a file on Open and reload,
// and of compiling it into a table (whose size it reports in table-B).
func BenchmarkOpenBytes(b *testing.B) {
	files, _ := benchDBs(b)
	get := map[string]func(testing.TB) []byte{
		"maxmind": func(testing.TB) []byte { return files["maxmind"] },
		"flat":    func(testing.TB) []byte { return files["flat"] },
		"large":   largeDB,
		"file":    benchFile,
	}
	for _, name := range []string{"maxmind", "flat", "large", "file"} {
		b.Run(name, func(b *testing.B) {
			file := get[name](b)
			b.ReportAllocs()
			b.SetBytes(int64(len(file)))
			var db *geo.DB
			for b.Loop() {
				var err error
				if db, err = geo.OpenBytes(file); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(geo.TableBytes(db)), "table-B")
			b.ReportMetric(float64(db.Stats().Ranges), "ranges")
		})
	}
}
