package core

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/tally"
)

// The AutoBlocker: every event the engine queues adds its action's weight
// (Settings.AutoBlockWeights) times its count to a sliding count of its
// client's IP group (an IPv4 address or an IPv6 /64) and of its country,
// before the writer folds or drops anything. A background loop sends what
// accumulated to the tally.Counter in one call (one Redis round trip when
// shared) and blocks a group, or blocks or flags a country, whose count
// reached its threshold. Whitelisted networks and allowed countries never
// count, nor do loopback, private and CGNAT addresses: such a client is a
// reverse proxy not listed as trusted as often as an attacker, and blocking
// it would lock everyone out. (Whitelisted users are exempt from the checks
// and the lockout whose events count, so their requests add nothing.)

// WithTallyCounter sets the AutoBlocker's counter (default: an in-process
// tally.Memory). A shared counter (redisstore.Tally) makes every replica's
// events add up to one count per IP group and country.
func WithTallyCounter(c tally.Counter) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithTallyCounter: nil counter")
		}
		cfg.tally = c
		return nil
	}
}

// WithAutoBlockHook calls fn with every AUTO_BLOCK_IP, AUTO_BLOCK_COUNTRY
// and auto-blocking WOULD_BLOCK event, from the AutoBlocker's goroutine
// (fn must not block; a notification batcher fits).
func WithAutoBlockHook(fn func(Event)) Option {
	return func(cfg *config) error {
		if fn == nil {
			return errors.New("WithAutoBlockHook: nil function")
		}
		cfg.autoBlockHook = fn
		return nil
	}
}

// AutoBlockStats counts the AutoBlocker's work.
type AutoBlockStats struct {
	IPsBlocked       int64 `json:"ips_blocked"`
	CountriesBlocked int64 `json:"countries_blocked"`
	CountriesFlagged int64 `json:"countries_flagged"` // review mode: kept inactive with the count
	WouldBlock       int64 `json:"would_block"`       // dry run
	Failures         int64 `json:"failures"`          // counter or store calls that failed
	Overflow         int64 `json:"overflow"`          // events not counted: too many groups at once
}

// abKey is one count: an IP group or a country.
type abKey struct {
	country bool
	group   netip.Prefix // an IPv4 /32 or an IPv6 /64
	code    [2]byte
}

// String is the key as stored: the BlockedIP network or the country code.
func (k abKey) String() string {
	if k.country {
		return string(k.code[:])
	}
	return formatNetwork(k.group)
}

func (k abKey) tallyKey() string {
	if k.country {
		return "cc:" + k.String()
	}
	return "ip:" + k.String()
}

// ipGroup is the count ip belongs to, false when it never counts.
func (s *snapshot) ipGroup(ip netip.Addr) (abKey, bool) {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || s.whitelisted(ip) || internalAddr(ip) {
		return abKey{}, false
	}
	bits := 64
	if ip.Is4() {
		bits = 32
	}
	p, _ := ip.Prefix(bits)
	return abKey{group: p}, true
}

// countryKey is the count of a country, false when it never counts.
func (s *snapshot) countryKey(code string) (abKey, bool) {
	i := countryIndex(code)
	if i < 0 || s.countryAllowed[i] != 0 {
		return abKey{}, false
	}
	return abKey{country: true, code: [2]byte{byte('A' + i/26), byte('A' + i%26)}}, true
}

// whitelisted reports whether ip is inside an active whitelisted network.
func (s *snapshot) whitelisted(ip netip.Addr) bool {
	_, ok := s.white.Lookup(ip)
	return ok
}

// maxPending bounds the groups counted between two flushes.
const maxPending = 10_000

// abCoalesce is how long the loop waits after the first event of a batch.
const abCoalesce = 50 * time.Millisecond

type autoBlocker struct {
	e       *Engine
	counter tally.Counter
	hook    func(Event)

	mu      sync.Mutex
	pending map[abKey]int64
	wake    chan struct{}

	act      sync.Mutex           // one judgement at a time: the loop's and SweepAutoBlocks'
	reviewed map[string]time.Time // country flagged for review at; under act

	lastWarn                                                                  atomic.Int64 // unix seconds
	ipsBlocked, countriesBlocked, countriesFlagged, would, failures, overflow atomic.Int64
}

func newAutoBlocker(e *Engine) (*autoBlocker, error) {
	c := e.cfg.tally
	if c == nil {
		m, err := tally.NewMemory(0)
		if err != nil {
			return nil, err
		}
		c = m
	}
	return &autoBlocker{e: e, counter: c, hook: e.cfg.autoBlockHook, pending: map[abKey]int64{},
		wake: make(chan struct{}, 1), reviewed: map[string]time.Time{}}, nil
}

// observe counts one event; it never blocks and never calls out.
func (a *autoBlocker) observe(ev Event) {
	s := a.e.snap.Load()
	if s == nil {
		return
	}
	n := s.weights.of(ev.Action) * max(ev.Count, 1)
	if n <= 0 {
		return
	}
	var keys [2]abKey
	k := 0
	if s.Settings.AutoBlockIPThreshold > 0 {
		if addr, err := netip.ParseAddr(ev.IP); err == nil {
			if g, ok := s.ipGroup(addr); ok {
				keys[k], k = g, k+1
			}
		}
	}
	if s.Settings.AutoBlockCountryThreshold > 0 {
		if c, ok := s.countryKey(ev.CountryCode); ok {
			keys[k], k = c, k+1
		}
	}
	if k == 0 {
		return
	}
	a.mu.Lock()
	for _, key := range keys[:k] {
		if _, ok := a.pending[key]; !ok && len(a.pending) >= maxPending {
			a.overflow.Add(1)
			continue
		}
		a.pending[key] += n
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run flushes the counts until ctx ends.
func (a *autoBlocker) run(ctx context.Context) {
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
		t.Reset(abCoalesce)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		a.flush(ctx)
	}
}

// flush adds the pending counts to the counter and judges them.
func (a *autoBlocker) flush(ctx context.Context) {
	a.mu.Lock()
	batch := a.pending
	a.pending = make(map[abKey]int64, len(batch))
	a.mu.Unlock()
	s := a.e.snap.Load()
	if len(batch) == 0 || s == nil {
		return
	}
	keys := make([]abKey, 0, len(batch))
	incs := make([]tally.Inc, 0, len(batch))
	for k, n := range batch {
		keys = append(keys, k)
		incs = append(incs, tally.Inc{Key: k.tallyKey(), N: n, Window: window(&s.Settings, k.country)})
	}
	sums, err := a.count(ctx, incs)
	if err != nil {
		return
	}
	a.judgeAll(ctx, keys, func(i int, _ abKey) int64 { return sums[i] }, false)
}

// count calls the counter under a deadline of its own.
func (a *autoBlocker) count(ctx context.Context, incs []tally.Inc) ([]int64, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	sums, err := a.counter.Add(cctx, a.e.clock.Now(), incs)
	if err != nil {
		a.failed("count", "", err)
	}
	return sums, err
}

// window is the look-back of a count.
func window(s *Settings, country bool) time.Duration {
	if country {
		return time.Duration(s.AutoBlockCountryWindowHours) * time.Hour
	}
	return time.Duration(s.AutoBlockIPWindowHours) * time.Hour
}

func (a *autoBlocker) failed(what, key string, err error) {
	a.failures.Add(1)
	now := a.e.clock.Now().Unix()
	if last := a.lastWarn.Load(); now-last >= 60 && a.lastWarn.CompareAndSwap(last, now) { // one line a minute
		a.e.log.Warn("warden: auto-block: could not "+what+" "+key+"; the scheduler's sweep catches up",
			"error", err, "failures", a.failures.Load())
	}
}

func (a *autoBlocker) stats() AutoBlockStats {
	return AutoBlockStats{IPsBlocked: a.ipsBlocked.Load(), CountriesBlocked: a.countriesBlocked.Load(),
		CountriesFlagged: a.countriesFlagged.Load(), WouldBlock: a.would.Load(), Failures: a.failures.Load(),
		Overflow: a.overflow.Load()}
}

// adminsRow reports whether a stored row is an admin's decision the
// AutoBlocker must leave alone: written by hand and switched off or
// report-only.
func adminsRow(auto, disabled, reportOnly bool) bool { return !auto && (disabled || reportOnly) }
