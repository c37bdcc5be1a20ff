package geo

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
)

func TestCodeIndex(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"upper", "FR", "FR", true},
		{"lower", "fr", "FR", true},
		{"mixed", "fR", "FR", true},
		{"first", "AA", "AA", true},
		{"kosovo_user_assigned", "XK", "XK", true},
		{"zz_unknown", "ZZ", "", false},
		{"zz_lower_unknown", "zz", "", false},
		{"empty", "", "", false},
		{"one_letter", "F", "", false},
		{"alpha3", "FRA", "", false},
		{"digit", "F1", "", false},
		{"punctuation", "--", "", false},
		{"non_ascii", "É", "", false},
		{"nul", "F\x00", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := codeAt(codeIndex([]byte(c.in)))
			if got != c.want || ok != c.ok {
				t.Errorf("codeIndex(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

// TestCacheSlotOwnedByOtherRecord plants an entry for another offset in the
// slot a record hashes to: a lookup that walks the tree (the fallback when
// a file does not compile) must decode, not trust the slot.
func TestCacheSlotOwnedByOtherRecord(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country"})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("81.0.0.0/8")
	if err := tree.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("FR")}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// Walk the tree, as for a file that did not compile.
	s.tab = nil
	if s.reader, err = maxminddb.OpenBytes(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("81.1.1.1")
	off := uint64(s.reader.Lookup(ip).Offset())
	slot := &s.cache[(off*0x9E3779B97F4A7C15)>>(64-cacheBits)]
	de := uint64(codeIndex([]byte("DE")))
	slot.Store((off+1)<<codeBits | de)
	if got, _ := s.treeCountry(ip); got != "FR" {
		t.Fatalf("with a foreign entry in the slot: %q, want FR", got)
	}
	if e := slot.Load(); e != off<<codeBits|uint64(codeIndex([]byte("FR"))) {
		t.Errorf("slot = %#x after the miss, want this record's entry", e)
	}
	// A hit is served from the slot: prove it by planting a different code
	// under the right offset.
	slot.Store(off<<codeBits | de)
	if got, _ := s.treeCountry(ip); got != "DE" {
		t.Errorf("cached entry not used: %q", got)
	}
}
