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
// reached its threshold. Whitelisted networks and users and allowed
// countries never count, nor do loopback, private and CGNAT addresses: such
// a client is a reverse proxy not listed as trusted as often as an
// attacker, and blocking it would lock everyone out.

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
	key     string // "203.0.113.9", "2001:db8::/64" or "RU"
}

func (k abKey) tallyKey() string {
	if k.country {
		return "cc:" + k.key
	}
	return "ip:" + k.key
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
	if n <= 0 || (ev.UserEmail != "" && s.exemption(ev.UserEmail, ev.CreatedAt.UnixNano()) != "") {
		return
	}
	set := &s.Settings
	var ip, cc abKey
	if set.AutoBlockIPThreshold > 0 {
		if addr, err := netip.ParseAddr(ev.IP); err == nil && !s.whitelisted(addr) && !internalAddr(addr) {
			ip = abKey{key: groupIP(addr, 64)}
		}
	}
	if set.AutoBlockCountryThreshold > 0 {
		if i := countryIndex(ev.CountryCode); i >= 0 && s.countryAllowed[i] == 0 {
			cc = abKey{country: true, key: ev.CountryCode}
		}
	}
	if ip.key == "" && cc.key == "" {
		return
	}
	a.mu.Lock()
	for _, k := range []abKey{ip, cc} {
		if k.key == "" {
			continue
		}
		if _, ok := a.pending[k]; !ok && len(a.pending) >= maxPending {
			a.overflow.Add(1)
			continue
		}
		a.pending[k] += n
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

// flush adds the pending counts to the counter and acts on every group or
// country at its threshold.
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
	a.judgeAll(ctx, s, keys, func(i int, _ abKey) int64 { return sums[i] })
}

// judgeAll acts on every key whose count (count(i, key)) reached its
// threshold and reports how many IP groups and countries it acted on.
func (a *autoBlocker) judgeAll(ctx context.Context, s *snapshot, keys []abKey, count func(int, abKey) int64) (ips, countries int) {
	a.act.Lock()
	defer a.act.Unlock()
	set := &s.Settings
	for i, k := range keys {
		n := count(i, k)
		switch {
		case k.country && set.AutoBlockCountryThreshold > 0 && n >= int64(set.AutoBlockCountryThreshold):
			if a.country(ctx, s, k, n) {
				countries++
			}
		case !k.country && set.AutoBlockIPThreshold > 0 && n >= int64(set.AutoBlockIPThreshold):
			if a.blockIP(ctx, s, k, n) {
				ips++
			}
		}
	}
	return ips, countries
}

// count calls the counter under a deadline of its own.
func (a *autoBlocker) count(ctx context.Context, incs []tally.Inc) ([]int64, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	sums, err := a.counter.Add(cctx, a.e.clock.Now(), incs)
	if err != nil {
		a.failures.Add(1)
		a.e.log.Warn("warden: auto-block counts failed; the scheduler's sweep catches up", "groups", len(incs), "error", err)
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

func (a *autoBlocker) stats() AutoBlockStats {
	return AutoBlockStats{IPsBlocked: a.ipsBlocked.Load(), CountriesBlocked: a.countriesBlocked.Load(),
		CountriesFlagged: a.countriesFlagged.Load(), WouldBlock: a.would.Load(), Failures: a.failures.Load(),
		Overflow: a.overflow.Load()}
}
