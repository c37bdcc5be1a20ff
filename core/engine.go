package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/clientip"
	"github.com/wardenkit/warden/core/ratelimit"
)

// Engine decides requests from an in-memory snapshot of the rules. It is safe
// for concurrent use. Create it with New, then Start it; Close it on shutdown.
type Engine struct {
	cfg    config
	store  Store
	clock  Clock
	log    *slog.Logger
	ips    *clientip.Resolver
	exempt map[string]struct{}

	snap    atomic.Pointer[snapshot]
	events  *eventWriter
	rebuild *rebuilder
	blocker *autoBlocker

	started, closed atomic.Bool
	cancel          context.CancelFunc
	wg              sync.WaitGroup
	subMu           sync.Mutex
	unsubscribe     func() // nil while not subscribed

	failTrips    atomic.Int64
	limiterTrips atomic.Int64
	limiter      Limiter
	fallback     *ratelimit.Memory // in-process counters while the limiter fails
	memories     []*ratelimit.Memory
	values       *valueCap // distinct header/user values per source and rule

	peerSeen, peerPrivate atomic.Int64
	peerCheckDone         atomic.Bool

	lockout *Lockout
}

// New validates its options and returns an engine. It does no I/O and starts
// no goroutine.
func New(store Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, errors.New("core: New: nil store")
	}
	cfg := config{
		clock:           systemClock{},
		logger:          slog.Default(),
		exempt:          DefaultExemptPaths(),
		failPolicy:      FailClosed,
		pollInterval:    30 * time.Second,
		rebuildInterval: 100 * time.Millisecond,
		queueSize:       10_000,
		batchSize:       500,
		flushInterval:   time.Second,
		ipv6Prefix:      64,
		limiterPolicy:   FailFallback,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("core: New: nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("core: New: %w", err)
		}
	}
	if cfg.bus == nil {
		cfg.bus = NewLocalBus()
	}
	ips := cfg.resolver
	if ips == nil {
		var err error
		if ips, err = clientip.New(cfg.ipOpts...); err != nil {
			return nil, fmt.Errorf("core: New: %w", err)
		}
	} else if len(cfg.ipOpts) > 0 {
		return nil, errors.New("core: New: WithClientIPResolver cannot be combined with other client IP options")
	}
	e := &Engine{cfg: cfg, store: store, clock: cfg.clock, log: cfg.logger, ips: ips, exempt: map[string]struct{}{}}
	for _, p := range cfg.exempt {
		e.exempt[p] = struct{}{}
	}
	e.values = newValueCap(cmp.Or(cfg.rateValuesPerSource, defaultRateValuesPerSource))
	if err := e.initLimiter(); err != nil {
		return nil, fmt.Errorf("core: New: %w", err)
	}
	var err error
	if e.blocker, err = newAutoBlocker(e); err != nil {
		return nil, fmt.Errorf("core: New: %w", err)
	}
	e.events = newEventWriter(writerConfig{store: store, log: cfg.logger, queueSize: cfg.queueSize, batchSize: cfg.batchSize,
		flush: cfg.flushInterval, ipv6Prefix: cfg.ipv6Prefix, observe: e.blocker.observe})
	e.rebuild = newRebuilder(e)
	if err := e.initLogin(); err != nil {
		return nil, fmt.Errorf("core: New: %w", err)
	}
	return e, nil
}

// Start loads the first snapshot and starts the event writer, the bus
// subscription and the version poll. It fails when the store cannot be read,
// unless WithStartWithoutStore was given, and when the stored settings ask
// for country allow-list mode without a CountryLookup.
func (e *Engine) Start(ctx context.Context) error {
	if e.closed.Load() {
		return fmt.Errorf("core: Start: %w", ErrClosed)
	}
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("core: Start: already started")
	}
	s, err := loadSnapshot(ctx, e.store, e.clock.Now(), e.cfg.emailProviderRules)
	switch {
	case err != nil && !e.cfg.startWithoutStore:
		e.started.Store(false)
		return fmt.Errorf("core: Start: load snapshot: %w", err)
	case err != nil:
		e.log.Warn("warden: store unavailable at start; the fail policy decides until it answers",
			"error", err, "fail_policy", e.cfg.failPolicy.String())
		e.rebuild.noteError(err)
	default:
		if s.Settings.CountryAllowListMode && e.cfg.geo == nil {
			e.started.Store(false)
			return errors.New("core: Start: settings ask for country allow-list mode but no CountryLookup is configured (core.WithCountryLookup)")
		}
		if s.Settings.CountryAllowListMode && !s.allowActive {
			e.started.Store(false)
			return errors.New("core: Start: country allow-list mode is on but no allowed country is active")
		}
		e.install(s)
	}
	for _, m := range e.memories {
		if err := m.Start(context.WithoutCancel(ctx)); err != nil {
			e.started.Store(false)
			return fmt.Errorf("core: Start: rate limiter: %w", err)
		}
	}
	if st, ok := e.limiter.(starter); ok {
		if err := st.Start(ctx); err != nil {
			e.log.Warn("warden: rate limiter failed to start; its fail policy applies until it answers", "error", err)
		}
	}
	e.startLogin(ctx)
	if !e.ips.TrustsProxies() {
		e.log.Info("warden: no trusted proxy configured; forwarding headers are ignored and the TCP peer is the client")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	e.subscribe(runCtx)
	e.wg.Add(4)
	go func() { defer e.wg.Done(); e.blocker.run(runCtx) }()
	go func() { defer e.wg.Done(); e.rebuild.run(runCtx) }()
	go func() { defer e.wg.Done(); e.poll(runCtx) }()
	go func() { defer e.wg.Done(); e.events.run(runCtx) }()
	return nil
}

// Close stops background work and stores queued events until ctx ends. It
// returns by ctx's deadline; events not stored by then are counted as
// dropped and reported in the error.
func (e *Engine) Close(ctx context.Context) error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	if !e.started.Load() {
		return nil
	}
	e.subMu.Lock()
	if e.unsubscribe != nil {
		e.unsubscribe()
		e.unsubscribe = nil
	}
	e.subMu.Unlock()
	droppedBefore := e.events.dropped.Load()
	e.lockout.monitor.hist.close(ctx) // drains beside the event writer; e.wg waits for it
	e.events.close(ctx)
	e.cancel()
	for _, m := range e.memories {
		_ = m.Close()
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		// The writer's last store call ends with the same deadline; give it
		// a moment to count what it could not write.
		t := time.NewTimer(closeGrace)
		select {
		case <-e.events.flushed:
		case <-t.C:
		}
		t.Stop()
	}
	lost := e.events.unwritten() + e.events.dropped.Load() - droppedBefore
	if lost > 0 || err != nil {
		return fmt.Errorf("core: Close: %d events not written: %w", lost, cmp.Or(err, ErrEventsLost))
	}
	return nil
}

// closeGrace is how long Close waits past its deadline for the event writer
// to account for what it could not store.
const closeGrace = 20 * time.Millisecond

// Ready reports whether a snapshot is loaded (for readiness probes).
func (e *Engine) Ready() bool { return e.snap.Load() != nil }

// Reload rebuilds the snapshot from the store now and waits for it.
func (e *Engine) Reload(ctx context.Context) error {
	if !e.started.Load() || e.closed.Load() {
		s, err := loadSnapshot(ctx, e.store, e.clock.Now(), e.cfg.emailProviderRules)
		if err != nil {
			return fmt.Errorf("core: Reload: %w", err)
		}
		e.install(s)
		return nil
	}
	return e.rebuild.request(ctx, true)
}

func (e *Engine) install(s *snapshot) {
	old := e.snap.Swap(s)
	for _, r := range s.Invalid {
		if old == nil || !containsInvalid(old.Invalid, r) {
			e.log.Warn("warden: stored row skipped", "kind", r.Kind, "id", r.ID, "key", r.Key, "error", r.Err)
		}
	}
}

func containsInvalid(list []InvalidRow, r InvalidRow) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// subscribe (re)subscribes to the bus; on failure the poll tries again.
func (e *Engine) subscribe(ctx context.Context) {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	if e.unsubscribe != nil || ctx.Err() != nil || e.closed.Load() {
		return
	}
	unsub, err := e.cfg.bus.Subscribe(ctx, e.onBus)
	if err != nil {
		e.log.Warn("warden: bus subscribe failed; relying on the version poll and retrying", "error", err)
		return
	}
	e.unsubscribe = unsub
	e.rebuild.kick() // messages may have been missed while unsubscribed
}

func (e *Engine) onBus(version int64) {
	if s := e.snap.Load(); s != nil && version != 0 && version == s.Version {
		return
	}
	e.rebuild.kick()
}

func (e *Engine) poll(ctx context.Context) {
	interval := e.cfg.pollInterval
	for {
		if e.snap.Load() == nil { // not loaded yet: retry often
			interval = min(e.cfg.pollInterval, time.Second)
		} else {
			interval = e.cfg.pollInterval
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		e.subscribe(ctx)
		v, err := e.store.Version(ctx)
		if err != nil {
			e.rebuild.noteError(err)
			continue
		}
		if s := e.snap.Load(); s == nil || s.Version != v {
			e.rebuild.kick()
		}
	}
}

// changed is called after a successful write: tell other replicas and rebuild
// here, waiting (bounded by ctx) until the write is enforced locally.
func (e *Engine) changed(ctx context.Context) {
	if !e.started.Load() || e.closed.Load() {
		return
	}
	if v, err := e.store.Version(ctx); err == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second) // a black-holed bus must not stall writes
		err := e.cfg.bus.Publish(pctx, v)
		cancel()
		if err != nil {
			e.log.Warn("warden: bus publish failed; other replicas catch up at the next poll", "error", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.rebuild.request(wctx, false); err != nil {
		e.log.Warn("warden: local rebuild after write failed; retrying at the next poll", "error", err)
	}
}

// Stats is a point-in-time report for metrics and health pages.
type Stats struct {
	SnapshotVersion   int64          `json:"snapshot_version"`
	SnapshotBuiltAt   time.Time      `json:"snapshot_built_at,omitzero"`
	SnapshotAge       time.Duration  `json:"snapshot_age"`
	Rebuilds          int64          `json:"rebuilds"`
	RebuildErrors     int64          `json:"rebuild_errors"`
	LastRebuildError  string         `json:"last_rebuild_error,omitempty"`
	InvalidRows       []InvalidRow   `json:"invalid_rows,omitempty"`
	EventsQueued      int64          `json:"events_queued"`
	EventsWritten     int64          `json:"events_written"`
	EventsCoalesced   int64          `json:"events_coalesced"`
	EventsDropped     int64          `json:"events_dropped"`
	EventsRejected    int64          `json:"events_rejected"`
	EventsFolded      int64          `json:"events_folded"`            // denials folded into per-source summary rows
	CriticalOverflow  int64          `json:"critical_events_overflow"` // critical events that found their reserved queue full
	RateValueOverflow int64          `json:"rate_value_overflow"`      // requests whose header/user value shared its source's counter
	FailPolicyTrips   int64          `json:"fail_policy_trips"`
	LimiterFailures   int64          `json:"limiter_failures"`
	AutoBlock         AutoBlockStats `json:"auto_block"`
}

// Stats reports snapshot, rebuild, event and fail-policy figures.
func (e *Engine) Stats() Stats {
	st := Stats{FailPolicyTrips: e.failTrips.Load(), LimiterFailures: e.limiterTrips.Load(), RateValueOverflow: e.values.overflows.Load()}
	if s := e.snap.Load(); s != nil {
		st.SnapshotVersion, st.SnapshotBuiltAt = s.Version, s.BuiltAt
		st.SnapshotAge = e.clock.Now().Sub(s.BuiltAt)
		st.InvalidRows = s.Invalid
	}
	st.Rebuilds, st.RebuildErrors, st.LastRebuildError = e.rebuild.stats()
	e.events.stats(&st)
	st.AutoBlock = e.blocker.stats()
	return st
}

func (e *Engine) initLimiter() error {
	newMem := func() (*ratelimit.Memory, error) {
		m, err := ratelimit.NewMemory(ratelimit.WithClock(e.clock))
		if err != nil {
			return nil, err
		}
		e.memories = append(e.memories, m)
		return m, nil
	}
	if e.cfg.limiter == nil {
		m, err := newMem()
		if err != nil {
			return err
		}
		e.limiter = memLimiter{m}
		return nil
	}
	e.limiter = e.cfg.limiter
	if e.cfg.limiterPolicy == FailFallback {
		m, err := newMem()
		if err != nil {
			return err
		}
		e.fallback = m
	}
	return nil
}
