package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// ensureMMDB writes a GeoLite2-Country-layout database to path unless it
// exists: the routable IPv4 space cut into networks of /16 to /22 (about
// 250,000), a few thousand IPv6 /32s, each with a country from a list of 200
// codes, and the client's network 81.2.69.0/24 as clientCountry.
func ensureMMDB(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", Description: map[string]string{"en": "warden bench"}, Languages: []string{"en"}, IncludeReservedNetworks: true})
	if err != nil {
		return err
	}
	codes := countryCodes()
	recs := make(map[string]mmdbtype.Map, len(codes))
	for _, c := range codes {
		recs[c] = mmdbtype.Map{
			"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148)},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String(c), "geoname_id": mmdbtype.Uint32(len(c)), "names": mmdbtype.Map{"en": mmdbtype.String(c), "de": mmdbtype.String(c)}},
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	insert := func(p netip.Prefix, code string) error {
		n++
		return tree.Insert(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, recs[code])
	}
	for cur := uint64(1 << 24); cur < 224<<24; {
		bits := 16 + rng.IntN(7)
		for bits > 0 && cur&(1<<(32-bits)-1) != 0 {
			bits++
		}
		a := netip.AddrFrom4([4]byte{byte(cur >> 24), byte(cur >> 16), byte(cur >> 8), byte(cur)})
		if b0 := cur >> 24; b0 != 10 && b0 != 127 {
			if err := insert(netip.PrefixFrom(a, bits), codes[rng.IntN(len(codes))]); err != nil {
				return err
			}
		}
		cur += 1 << (32 - bits)
	}
	for i := range 4000 {
		a := netip.AddrFrom16([16]byte{0x24, byte(i >> 8 & 0x0f), byte(i), 0})
		if err := insert(netip.PrefixFrom(a, 32), codes[rng.IntN(len(codes))]); err != nil {
			return err
		}
	}
	if err := insert(netip.MustParsePrefix("81.2.69.0/24"), clientCountry); err != nil {
		return err
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "everycheck: wrote %s (%d networks)\n", path, n)
	return os.Rename(path+".tmp", path)
}

// countryCodes is 200 two-letter codes: the blocked ones, the client's, and
// others made up to fill the list.
func countryCodes() []string {
	seen := map[string]bool{clientCountry: true}
	out := []string{clientCountry}
	for _, c := range blockedCountries {
		seen[c], out = true, append(out, c)
	}
	for a := 'A'; a <= 'Z' && len(out) < 200; a++ {
		for b := 'A'; b <= 'Z' && len(out) < 200; b += 3 {
			if c := string([]rune{a, b}); !seen[c] {
				seen[c], out = true, append(out, c)
			}
		}
	}
	return out
}
