package geo

import (
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Lookups loads b as OpenBytes does and returns two lookups on it: through
// the compiled table (nil when b did not compile) and through maxminddb's
// Lookup and a decode of the record, without the record cache. ip must be
// valid; it is not unmapped.
func Lookups(b []byte) (table, tree func(netip.Addr) (string, bool), err error) {
	s, err := load(b)
	if err != nil {
		return nil, nil, err
	}
	r, err := maxminddb.OpenBytes(b) // s keeps no reader once compiled
	if err != nil {
		return nil, nil, err
	}
	tree = func(ip netip.Addr) (string, bool) {
		res := r.Lookup(ip)
		if !res.Found() {
			return "", false
		}
		return codeAt(s.decode(res))
	}
	if s.tab != nil {
		table = func(ip netip.Addr) (string, bool) { return codeAt(int(s.tab.code(ip))) }
	}
	return table, tree, nil
}

// TableBytes returns the memory held by the table d answers from, 0 when d
// walks the search tree.
func TableBytes(d *DB) int {
	if t := d.cur.Load().tab; t != nil {
		return t.size()
	}
	return 0
}

// SetMaxTableRanges sets the compile bound on ranges until the returned
// function restores it.
func SetMaxTableRanges(n int) (restore func()) {
	old := maxTableRanges
	maxTableRanges = n
	return func() { maxTableRanges = old }
}
