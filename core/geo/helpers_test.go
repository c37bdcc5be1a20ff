package geo_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Database types used by the tests.
const (
	typeMaxMind = "GeoLite2-Country" // MaxMind layout, known to geoip2
	typeFlat    = "ipinfo_lite.mmdb" // flat layout, unknown to geoip2
	typeASN     = "GeoLite2-ASN"     // known to geoip2, no country data
)

// nested is a MaxMind-layout record, shaped like GeoLite2-Country's.
func nested(code, name string) mmdbtype.Map {
	country := mmdbtype.Map{
		"geoname_id": mmdbtype.Uint32(3017382),
		"iso_code":   mmdbtype.String(code),
		"names": mmdbtype.Map{
			"en": mmdbtype.String(name), "de": mmdbtype.String(name),
			"fr": mmdbtype.String(name), "ja": mmdbtype.String(name),
		},
	}
	return mmdbtype.Map{
		"continent": mmdbtype.Map{
			"code":       mmdbtype.String("EU"),
			"geoname_id": mmdbtype.Uint32(6255148),
			"names":      mmdbtype.Map{"en": mmdbtype.String("Europe")},
		},
		"country":            country,
		"registered_country": country,
	}
}

// flat is an IPinfo Lite style record: "country" is a name, not a map.
func flat(code, name string) mmdbtype.Map {
	return mmdbtype.Map{
		"asn":            mmdbtype.String("AS64500"),
		"as_name":        mmdbtype.String("Example"),
		"country":        mmdbtype.String(name),
		"country_code":   mmdbtype.String(code),
		"continent":      mmdbtype.String("Europe"),
		"continent_code": mmdbtype.String("EU"),
	}
}

// buildDB returns an .mmdb file of type dbType holding recs (CIDR -> record).
func buildDB(tb testing.TB, dbType string, recs map[string]mmdbtype.DataType) []byte {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IncludeReservedNetworks: true, // allow 2001:db8::/32 and 192.0.2.0/24
		BuildEpoch:              1_700_000_000,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, rec := range recs {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			tb.Fatalf("insert %s: %v", cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// maxmindDB is the MaxMind-layout fixture.
func maxmindDB(tb testing.TB) []byte {
	return buildDB(tb, typeMaxMind, map[string]mmdbtype.DataType{
		"81.0.0.0/8":    nested("FR", "France"),
		"2001:db8::/32": nested("DE", "Germany"),
		"192.0.2.0/24":  nested("gb", "United Kingdom"), // lower case in the file
		"198.51.100.0/24": mmdbtype.Map{ // continent and registered country only
			"continent":          mmdbtype.Map{"code": mmdbtype.String("EU")},
			"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("NL")},
		},
		"203.0.113.0/24": nested("ZZ", "Unknown"),
	})
}

// flatDB is the flat-layout fixture.
func flatDB(tb testing.TB) []byte {
	return buildDB(tb, typeFlat, map[string]mmdbtype.DataType{
		"81.0.0.0/8":      flat("US", "United States"),
		"2001:db8::/32":   flat("JP", "Japan"),
		"192.0.2.0/24":    flat("br", "Brazil"),
		"198.51.100.0/24": mmdbtype.Map{"asn": mmdbtype.String("AS64501")},
		"203.0.113.0/24":  flat("", ""),
	})
}

// single is a MaxMind-layout DB mapping 81.0.0.0/8 and 2001:db8::/32 to code.
func single(tb testing.TB, code string) []byte {
	return buildDB(tb, typeMaxMind, map[string]mmdbtype.DataType{
		"81.0.0.0/8":    nested(code, code),
		"2001:db8::/32": nested(code, code),
	})
}

// writeFile writes b to dir/name and returns the path.
func writeFile(tb testing.TB, dir, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// replace writes b to a temporary file beside path and renames it over path,
// as geoipupdate does.
func replace(tb testing.TB, path string, b []byte) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// rewrite truncates path and writes b into the same inode.
func rewrite(tb testing.TB, path string, b []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// buildDBv4 is an IPv4-only tree.
func buildDBv4(tb testing.TB) []byte {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typeMaxMind, IPVersion: 4, RecordSize: 24})
	if err != nil {
		tb.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("81.0.0.0/8")
	if err := tree.Insert(n, nested("FR", "France")); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var (
	benchOnce  sync.Once
	benchFiles map[string][]byte
	benchIPs   []netip.Addr
)

// benchDBs returns a MaxMind-layout and a flat-layout database of 10,000
// IPv4 /24s and 2,000 IPv6 /48s over 40 countries, and addresses inside
// those networks (odd indexes are IPv6, every 8th address is not in the
// database).
func benchDBs(tb testing.TB) (map[string][]byte, []netip.Addr) {
	tb.Helper()
	benchOnce.Do(func() {
		codes := strings.Fields("FR DE IT ES US GB JP BR CN IN RU CA AU NL SE NO FI DK PL CZ " +
			"AT CH BE PT IE GR TR IL ZA NG EG KE AR CL MX CO PE KR SG NZ")
		r := rand.New(rand.NewPCG(1, 2))
		nets := map[netip.Prefix]string{}
		for len(nets) < 10_000 {
			a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.IntN(256)), byte(r.IntN(256)), 0})
			if a.IsPrivate() || a.IsLoopback() || a.As4()[0] == 100 {
				continue
			}
			nets[netip.PrefixFrom(a, 24)] = codes[len(nets)%len(codes)]
		}
		for len(nets) < 12_000 {
			var b [16]byte
			b[0], b[1] = 0x2a, byte(r.IntN(256))
			b[2], b[3], b[4], b[5] = byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))
			nets[netip.PrefixFrom(netip.AddrFrom16(b), 48)] = codes[len(nets)%len(codes)]
		}
		benchFiles = map[string][]byte{}
		for name, rec := range map[string]func(string, string) mmdbtype.Map{"maxmind": nested, "flat": flat} {
			dbType := typeMaxMind
			if name == "flat" {
				dbType = typeFlat
			}
			tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true})
			if err != nil {
				panic(err)
			}
			for p, code := range nets {
				n := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
				if err := tree.Insert(n, rec(code, "Name of "+code)); err != nil {
					panic(err)
				}
			}
			var buf bytes.Buffer
			if _, err := tree.WriteTo(&buf); err != nil {
				panic(err)
			}
			benchFiles[name] = buf.Bytes()
		}
		for p := range nets {
			a := p.Addr().As16()
			a[15] = 7
			ip := netip.AddrFrom16(a)
			if p.Addr().Is4() {
				ip = ip.Unmap()
			}
			benchIPs = append(benchIPs, ip)
		}
		slices.SortFunc(benchIPs, func(a, b netip.Addr) int { return a.Compare(b) })
		r.Shuffle(len(benchIPs), func(i, j int) { benchIPs[i], benchIPs[j] = benchIPs[j], benchIPs[i] })
		for i := 0; i < len(benchIPs); i += 8 {
			benchIPs[i] = netip.MustParseAddr("100.64.0.1") // CGNAT, never in the database
		}
	})
	return benchFiles, benchIPs
}
