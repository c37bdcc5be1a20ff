package geo_test

import (
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

// BenchmarkOpenBytes is the cost of validating a file on Open and reload.
func BenchmarkOpenBytes(b *testing.B) {
	files, _ := benchDBs(b)
	for _, name := range []string{"maxmind", "flat"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(files[name])))
			for b.Loop() {
				if _, err := geo.OpenBytes(files[name]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
