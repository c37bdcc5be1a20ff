package geo_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

var (
	largeOnce sync.Once
	largeFile []byte
	largeErr  error
)

// largeDB returns a GeoLite2-Country-layout IPv6 database (with mmdbwriter's
// default IPv4 aliases ::ffff:0:0/96, 2001::/32 and 2002::/16) of about
// 680,000 networks with and without data: the IPv4 unicast space cut into
// /15 to /23 networks, one in ten left out, and 20,000 IPv6 networks of /20
// to /48 in five /12s, some nested in others. Neighbours often share a
// country, as in real data, so ranges merge; some records have no country,
// "ZZ", a lower-case code or a three-letter one. Built once per test binary
// (about three seconds).
func largeDB(tb testing.TB) []byte {
	tb.Helper()
	largeOnce.Do(func() { largeFile, largeErr = buildLargeDB() })
	if largeErr != nil {
		tb.Fatal(largeErr)
	}
	return largeFile
}

func buildLargeDB() ([]byte, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", IncludeReservedNetworks: true})
	if err != nil {
		return nil, err
	}
	recs := largeRecords()
	r := rand.New(rand.NewPCG(5, 6))
	rec := recs[0]
	pick := func() mmdbtype.Map {
		if r.IntN(2) == 0 { // half the networks continue their neighbour's country
			rec = recs[r.IntN(len(recs))]
		}
		return rec
	}
	insert := func(p netip.Prefix, v mmdbtype.Map) error {
		return tree.Insert(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, v)
	}
	for cur := uint64(1 << 24); cur < 224<<24; {
		bits := 15 + r.IntN(9)
		for cur&(1<<(32-bits)-1) != 0 {
			bits++
		}
		a := netip.AddrFrom4([4]byte{byte(cur >> 24), byte(cur >> 16), byte(cur >> 8), byte(cur)})
		v := pick()
		if r.IntN(10) != 0 {
			if err := insert(netip.PrefixFrom(a, bits), v); err != nil {
				return nil, err
			}
		}
		cur += 1 << (32 - bits)
	}
	for range 20_000 {
		var b [16]byte
		// Five /12s, as real IPv6 data crowds into a few RIR blocks.
		hi := uint64(0x2400+0x200*r.IntN(5))<<48 | r.Uint64N(1<<52)
		for i := range 8 {
			b[i] = byte(hi >> (56 - 8*i))
		}
		b[8], b[9] = byte(r.IntN(256)), byte(r.IntN(256))
		p := netip.PrefixFrom(netip.AddrFrom16(b), 20+r.IntN(29)).Masked()
		if err := insert(p, pick()); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// largeRecords is 250 countries plus records without a usable code.
func largeRecords() []mmdbtype.Map {
	var recs []mmdbtype.Map
	for i := range 250 {
		code := string([]byte{byte('A' + i/26), byte('A' + i%26)})
		country := mmdbtype.Map{"iso_code": mmdbtype.String(code), "geoname_id": mmdbtype.Uint32(i),
			"names": mmdbtype.Map{"en": mmdbtype.String("Country " + code)}}
		recs = append(recs, mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String("EU")},
			"country": country, "registered_country": country})
	}
	recs = append(recs,
		mmdbtype.Map{"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("NL")}},
		mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("ZZ")}},
		mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("fr")}},
		mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("FRA")}},
	)
	return recs
}

// benchFile reads the database named by WARDEN_GEO_MMDB (for example the
// ~600,000-network file that bench/cmd/everycheck generates) or skips.
func benchFile(tb testing.TB) []byte {
	tb.Helper()
	p := os.Getenv("WARDEN_GEO_MMDB")
	if p == "" {
		tb.Skip("WARDEN_GEO_MMDB is not set")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
