package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// Record layouts. The layout is found once per loaded file, never per lookup.
var (
	// nestedPath is the MaxMind layout: {"country": {"iso_code": "FR"}}, used
	// by GeoLite2/GeoIP2 Country, City and Enterprise and by DB-IP's
	// MaxMind-compatible files.
	nestedPath = []any{"country", "iso_code"}
	// flatPath is the flat layout of free databases such as IPinfo Lite:
	// {"country_code": "FR", "country": "France", ...}.
	flatPath = []any{"country_code"}
)

// maxProbeRecords and maxProbeNetworks bound the work done to find the
// layout and a valid country code when a file is loaded.
const (
	maxProbeRecords  = 10_000
	maxProbeNetworks = 1_000_000
)

// snapshot is one loaded file. Apart from its record cache it is immutable
// once published.
type snapshot struct {
	// tab answers lookups when the file compiled into a table (compile),
	// and reader is then nil: the file's bytes are not kept. When the file
	// did not compile, tab is nil and lookups walk reader's search tree.
	tab          *table
	reader       *maxminddb.Reader
	path         []any // nestedPath or flatPath
	layout       string
	databaseType string
	buildTime    time.Time
	loadedAt     time.Time

	// cache serves lookups that walk the tree (tab == nil). It maps a
	// record's offset in the data section to its country code. Many
	// networks share one record (a Country database has a few thousand
	// distinct records), so after warm-up a lookup is a tree walk and one
	// atomic load. Each slot packs offset<<codeBits | code index; 0 is empty.
	// A slot is rewritten only on a miss, so steady-state lookups do not
	// write shared memory. Entries are keyed by the full offset: a collision
	// costs a decode, never a wrong answer.
	cache [cacheSlots]atomic.Uint64
}

const (
	cacheBits  = 12
	cacheSlots = 1 << cacheBits // 32 KiB per loaded file
	codeBits   = 10             // code index: 1..676 codes[i-1], noCode, 0 empty
	codeMask   = 1<<codeBits - 1
	noCode     = len(codes) + 1
	// maxCachedOffset keeps offset<<codeBits within 64 bits.
	maxCachedOffset = 1 << (64 - codeBits)
)

// country looks ip up; ip must be valid and unmapped. It does not allocate.
func (s *snapshot) country(ip netip.Addr) (string, bool) {
	if s.tab != nil {
		return codeAt(int(s.tab.code(ip)))
	}
	return s.treeCountry(ip)
}

// treeCountry looks ip up by walking the search tree and decoding the
// record (or finding its code in the cache).
func (s *snapshot) treeCountry(ip netip.Addr) (string, bool) {
	res := s.reader.Lookup(ip)
	if !res.Found() {
		return "", false
	}
	off := uint64(res.Offset())
	if off >= maxCachedOffset {
		idx := s.decode(res)
		return codeAt(idx)
	}
	slot := &s.cache[(off*0x9E3779B97F4A7C15)>>(64-cacheBits)]
	if e := slot.Load(); e != 0 && e>>codeBits == off {
		return codeAt(int(e & codeMask))
	}
	idx := s.decode(res)
	slot.Store(off<<codeBits | uint64(idx))
	return codeAt(idx)
}

// decode reads the record's country code with maxminddb's DecodePath and
// returns its code index (1..676, or noCode). The decode target comes from
// a pool because a stack variable would escape through DecodePath's
// interface parameter and cost an allocation per miss.
func (s *snapshot) decode(res maxminddb.Result) int {
	c := codePool.Get().(*isoCode)
	c.idx = noCode // stays so when the path is absent
	if err := res.DecodePath(c, s.path...); err != nil {
		c.idx = noCode
	}
	idx := c.idx
	codePool.Put(c)
	return idx
}

func codeAt(idx int) (string, bool) {
	if idx < 1 || idx > len(codes) {
		return "", false
	}
	return codes[idx-1], true
}

var codePool = sync.Pool{New: func() any { return new(isoCode) }}

// isoCode decodes a country code without allocating. A plain string target
// would allocate: maxminddb's string cache only admits a string after it
// has been decoded twice. Here the bytes are read in place and mapped to an
// index into a fixed table of codes.
type isoCode struct {
	idx int
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (c *isoCode) UnmarshalMaxMindDBCursor(cur mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	c.idx = noCode
	kind, err := cur.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind == mmdbdata.KindString {
		// ReadMapKey reads any string value (following one pointer) and
		// returns bytes aliasing the database; they are not retained.
		b, _, err := cur.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		c.idx = codeIndex(b)
	}
	// Anything else (a map, a number) is not a country code; step over it.
	return cur.Skip()
}

// codes holds "AA" … "ZZ" so lookups return shared strings.
var codes = func() (t [26 * 26]string) {
	for i := range 26 {
		for j := range 26 {
			t[i*26+j] = string([]byte{byte('A' + i), byte('A' + j)})
		}
	}
	return t
}()

// codeIndex returns 1 + the index in codes of the upper-cased ISO 3166-1
// alpha-2 code in b, or noCode when b is not two ASCII letters or is "ZZ"
// (used by several databases for "unknown").
func codeIndex(b []byte) int {
	if len(b) != 2 {
		return noCode
	}
	i, ok1 := letter(b[0])
	j, ok2 := letter(b[1])
	if !ok1 || !ok2 || (i == 25 && j == 25) {
		return noCode
	}
	return i*26 + j + 1
}

func letter(c byte) (int, bool) {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A'), true
	case 'a' <= c && c <= 'z':
		return int(c - 'a'), true
	}
	return 0, false
}

// load validates b and returns a snapshot over it. b is retained and must
// not be modified afterwards.
//
// Validation, in order: maxminddb parses the metadata and the search tree
// layout; geoip2-golang classifies the database type (a known type must
// support Country lookups, a type it does not know is accepted only if its
// records carry country data); a probe finds a record with a valid code in
// the detected layout and looks its address up end to end; for a known type
// the code must match geoip2-golang's Country(). maxminddb's Verify is not
// run: it walks the whole file (seconds for a City database) and refuses
// files whose metadata lacks optional fields such as a description.
func load(b []byte) (*snapshot, error) {
	if len(b) == 0 {
		return nil, errors.New("file is empty")
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, err
	}
	dbType := r.Metadata.DatabaseType

	g, gerr := geoip2.OpenBytes(b)
	var unknown geoip2.UnknownDatabaseTypeError
	switch {
	case gerr == nil:
		// A type geoip2 knows: it must have country data, in MaxMind layout.
		if _, err := g.Country(netip.IPv4Unspecified()); err != nil {
			var invalid geoip2.InvalidMethodError
			if errors.As(err, &invalid) {
				return nil, errorf(ErrNoCountryData, "database type %q has no country data", dbType)
			}
			return nil, err
		}
	case errors.As(gerr, &unknown):
		g = nil // a type geoip2 does not know: decide by the records.
	default:
		return nil, gerr
	}

	s := &snapshot{
		reader:       r,
		databaseType: dbType,
		buildTime:    r.Metadata.BuildTime().UTC(),
	}
	layouts := [][]any{nestedPath, flatPath}
	if g != nil {
		layouts = layouts[:1]
	}
	probe, code, err := detect(r, layouts, s)
	if err != nil {
		return nil, errorf(ErrNoCountryData, "database type %q has no country data: %w", dbType, err)
	}
	if g != nil {
		rec, err := g.Country(probe)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(rec.Country.ISOCode, code) {
			return nil, fmt.Errorf("probe %s: decoded %q, geoip2 says %q", probe, code, rec.Country.ISOCode)
		}
	}
	// A file that does not compile (too large, or a corrupt search tree
	// somewhere) is still used, through its tree, as before tables.
	if t, err := compile(s); err == nil {
		if got, _ := codeAt(int(t.code(probe.Unmap()))); got == code {
			s.tab, s.reader = t, nil
		}
	}
	return s, nil
}

// detect walks the first networks of r until a record carries a valid
// country code in one of layouts, records that layout in s and returns the
// probed address and its code.
//
// Networks without data are yielded and counted too: a corrupt search tree
// whose nodes point back at each other has an astronomical number of paths,
// and an iterator that only yielded records would walk them all.
func detect(r *maxminddb.Reader, layouts [][]any, s *snapshot) (netip.Addr, string, error) {
	records, networks := 0, 0
	for res := range r.Networks(maxminddb.IncludeNetworksWithoutData()) {
		if err := res.Err(); err != nil {
			return netip.Addr{}, "", err
		}
		if networks++; networks > maxProbeNetworks {
			break
		}
		if !res.Found() {
			continue
		}
		for _, p := range layouts {
			var c isoCode
			if res.DecodePath(&c, p...) != nil {
				continue
			}
			code, ok := codeAt(c.idx)
			if !ok {
				continue
			}
			s.path = p
			s.layout = layoutName(p)
			ip := res.Prefix().Addr()
			// Check the lookup path end to end on the probed address.
			if got, ok := s.country(ip.Unmap()); !ok || got != code {
				return netip.Addr{}, "", fmt.Errorf("probe %s: lookup gave %q, record has %q", ip, got, code)
			}
			return ip, code, nil
		}
		if records++; records >= maxProbeRecords {
			break
		}
	}
	return netip.Addr{}, "", fmt.Errorf("no record with a country code among the first %d", records)
}

func layoutName(p []any) string {
	if len(p) == 1 {
		return "country_code"
	}
	return "country.iso_code"
}
