package geo

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DB answers country lookups from a MaxMind DB (.mmdb) file held in memory.
// It is safe for concurrent use: Country may run in any number of
// goroutines while Reload or the poller started by Start replace the file.
type DB struct {
	cur atomic.Pointer[snapshot]

	path   string // "" for OpenBytes
	cfg    config
	logger *slog.Logger

	loadMu sync.Mutex // serialises loads; guards seen, seenErr
	seen   fileID
	// seenErr records that the last poll could not stat the file, so a
	// missing file is reported once rather than on every tick.
	seenErr bool

	statsMu sync.Mutex
	stats   Stats

	lifeMu  sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// Stats describes the loaded file and the reload history.
type Stats struct {
	Path         string    // "" for OpenBytes
	DatabaseType string    // metadata database_type, e.g. "GeoLite2-Country"
	Layout       string    // "country.iso_code" (MaxMind) or "country_code" (flat)
	BuildTime    time.Time // metadata build_epoch, UTC
	LoadedAt     time.Time // when the file in use was loaded
	Ranges       int       // address ranges the file compiled into; 0: lookups walk its search tree
	Reloads      uint64    // successful reloads after Open
	ReloadErrors uint64    // rejected reload attempts; the previous file stayed in use
	LastError    string    // the last rejected reload's error, "" if none
}

// Open reads the whole file at path into memory (no memory map, so replacing
// or truncating the file never affects lookups), validates it and returns a
// DB. No goroutine is started; call Start to watch the file for changes.
//
// The file must be a MaxMind DB with country data: a GeoLite2/GeoIP2 Country,
// City or Enterprise database, a DB-IP database in MaxMind layout, or a
// database whose records carry a top-level "country_code" (IPinfo Lite and
// similar). Anything else is refused with an error naming the path.
func Open(path string, opts ...Option) (*DB, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	id, s, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: Open %s: %w", path, err)
	}
	d := &DB{path: path, cfg: cfg, logger: cfg.logger, seen: id}
	d.publish(s)
	return d, nil
}

// OpenBytes returns a DB over an in-memory MaxMind DB, validated as by Open.
// b is used in place and must not be modified afterwards. Start and Reload
// have nothing to watch: Start is a no-op and Reload returns ErrNoFile.
func OpenBytes(b []byte) (*DB, error) {
	s, err := load(b)
	if err != nil {
		return nil, fmt.Errorf("geo: OpenBytes: %w", err)
	}
	d := &DB{cfg: defaultConfig()}
	d.logger = d.cfg.logger
	d.publish(s)
	return d, nil
}

// Country returns the ISO 3166-1 alpha-2 code (upper case, e.g. "FR") of the
// country the database places ip in. It returns ("", false) when the address
// is invalid or the database has no country for it — private, loopback and
// other reserved ranges, unallocated space, records without a country (some
// carry only a continent or a registered country) and the code "ZZ".
// IPv4-mapped IPv6 addresses are looked up as IPv4; zones are ignored.
//
// Country does not allocate and never blocks on a reload.
func (d *DB) Country(ip netip.Addr) (string, bool) {
	if !ip.IsValid() {
		return "", false
	}
	return d.cur.Load().country(ip.Unmap())
}

// Stats returns the loaded file's metadata and the reload counters.
func (d *DB) Stats() Stats {
	d.statsMu.Lock()
	defer d.statsMu.Unlock()
	return d.stats
}

// publish makes s the snapshot used by lookups. The previous snapshot is not
// closed: lookups may still be using it, and since it only holds memory the
// garbage collector reclaims it once they are done.
func (d *DB) publish(s *snapshot) {
	s.loadedAt = time.Now()
	d.cur.Store(s)
	d.statsMu.Lock()
	d.stats.Path = d.path
	d.stats.DatabaseType = s.databaseType
	d.stats.Layout = s.layout
	d.stats.BuildTime = s.buildTime
	d.stats.LoadedAt = s.loadedAt
	d.stats.Ranges = 0
	if s.tab != nil {
		d.stats.Ranges = s.tab.ranges()
	}
	d.statsMu.Unlock()
}

// readFile reads and validates the file at path. The returned fileID is the
// one seen before reading; if the file changed while it was being read, the
// read is refused (and the next poll sees a new fileID and tries again).
func readFile(path string) (fileID, *snapshot, error) {
	before, err := statFile(path)
	if err != nil {
		return fileID{}, nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return before, nil, err
	}
	after, err := statFile(path)
	if err != nil {
		return before, nil, err
	}
	if after != before {
		return before, nil, errChanging
	}
	s, err := load(b)
	if err != nil {
		return before, nil, err
	}
	return before, s, nil
}
