package redisstore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/redisstore"
)

// slack is what a call may take past its deadline: 50 ms in the tests of
// the deadlines themselves, calls one at a time; loadSlack where many
// goroutines share a loaded machine (a bound that only fails when the
// call waited for its reply).
const (
	slack     = 50 * time.Millisecond
	loadSlack = 150 * time.Millisecond
)

// blackHole is a Redis that accepts connections on loopback, reads what it
// is sent and never answers. Closing it (cut) ends every connection.
type blackHole struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newBlackHole(t *testing.T) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			go io.Copy(io.Discard, c) // read, say nothing
		}
	}()
	t.Cleanup(b.cut)
	return b
}

func (b *blackHole) addr() string { return b.ln.Addr().String() }

func (b *blackHole) cut() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
}

// defaultClient is a client as the README builds it: nothing but the
// address, so no ContextTimeoutEnabled and a 5 s ReadTimeout.
func defaultClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

var rlKeys = []ratelimit.Key{{Rule: 1, IP: netip.MustParseAddr("3.3.3.3"), Limit: ratelimit.Limit{N: 1, Period: time.Minute}}}

// timed runs f and fails the test when it takes longer than d + slack or
// (unless want is nil) returns no error wrapping want.
func timed(t *testing.T, name string, d time.Duration, want error, f func() error) (time.Duration, error) {
	t.Helper()
	return timedWithin(t, name, d, slack, want, f)
}

// timedWithin is timed with a slack of its own.
func timedWithin(t *testing.T, name string, d, slack time.Duration, want error, f func() error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	err := f()
	took := time.Since(start)
	if took > d+slack {
		t.Errorf("%s took %v; want at most %v + %v", name, took, d, slack)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("%s: %v; want an error wrapping %v", name, err, want)
	}
	return took, err
}

// logTimed is timed, logging the time taken.
func logTimed(t *testing.T, name string, d time.Duration, want error, f func() error) {
	t.Helper()
	took, err := timed(t, name, d, want, f)
	t.Logf("%s: %v (deadline %v): %v", name, took.Round(100*time.Microsecond), d, err)
}

// A Redis that accepts connections and never answers, a client with default
// options: every call returns by its deadline.
func TestDeadlinesHoldWithDefaultClient(t *testing.T) {
	bh := newBlackHole(t)
	s, err := redisstore.New(defaultClient(t, bh.addr()))
	if err != nil {
		t.Fatal(err)
	}
	l, a := s.Limiter(), s.Attempts()
	ctx := context.Background()
	logTimed(t, "Limiter.Start", redisstore.DefaultStartTimeout, context.DeadlineExceeded, func() error { return l.Start(ctx) })
	logTimed(t, "Attempts.Start", redisstore.DefaultStartTimeout, context.DeadlineExceeded, func() error { return a.Start(ctx) })
	logTimed(t, "Limiter.Allow", redisstore.DefaultLimiterTimeout, context.DeadlineExceeded, func() error {
		_, err := l.Allow(ctx, time.Now(), rlKeys, nil)
		return err
	})
	eng := newLoginEngine(t, memstore.New(), s.Attempts(), core.WithLockoutFailPolicy(core.FailClosed))
	logTimed(t, "Lockout.Begin", redisstore.DefaultLoginTimeout, context.DeadlineExceeded, func() error {
		_, err := eng.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: netip.MustParseAddr("203.0.113.7")})
		return err
	})
	logTimed(t, "Attempts.Reset", redisstore.DefaultLoginTimeout, context.DeadlineExceeded, func() error {
		return a.Reset(ctx, []string{"ip:{203.0.113.7}"})
	})
}

// Against a black hole, calls time out without counting until Redis has
// been silent for 1 s; then 5 deadlines in a row open the breaker, and the
// next call is refused at once.
func TestBreakerOpensOnBlackHole(t *testing.T) {
	bh := newBlackHole(t)
	s, _ := redisstore.New(defaultClient(t, bh.addr()))
	l := s.Limiter()
	ctx := context.Background()
	start := time.Now()
	var afterSilence int
	for i := 0; ; i++ {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("breaker still closed after %d calls in %v: %+v", i, time.Since(start), l.Stats())
		}
		callStart := time.Now()
		_, err := l.Allow(ctx, time.Now(), rlKeys, nil)
		took := time.Since(callStart)
		if errors.Is(err, redisstore.ErrCircuitOpen) {
			if took > 5*time.Millisecond {
				t.Errorf("refused by the open breaker in %v; want at once", took)
			}
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) || took > redisstore.DefaultLimiterTimeout+slack {
			t.Fatalf("call %d: %v after %v; want a deadline by %v", i, err, took, redisstore.DefaultLimiterTimeout+slack)
		}
		// Calls that started after a second of silence end dead.
		if callStart.Sub(start) >= redisstore.DefaultSilence {
			afterSilence++
		}
	}
	opened := time.Since(start)
	if opened < redisstore.DefaultSilence || afterSilence > redisstore.DefaultBreakerFailures {
		t.Fatalf("breaker opened after %v with %d calls after the silence; want after %v and at most %d such calls",
			opened, afterSilence, redisstore.DefaultSilence, redisstore.DefaultBreakerFailures)
	}
	st := l.Stats()
	if st.Dead != redisstore.DefaultBreakerFailures || st.Trips != 1 || st.CircuitOpen != 1 {
		t.Fatalf("stats %+v; want %d dead calls, 1 trip, 1 refusal", st, redisstore.DefaultBreakerFailures)
	}
	// Through the engine with the closed policy: refused at once, not after
	// a deadline.
	a := s.Attempts()
	for range redisstore.DefaultBreakerFailures { // Redis has been silent for a second: each is dead
		a.Status(ctx, time.Now(), pol, []attempt.Key{{Key: "ip:{203.0.113.7}", Limit: 5}})
	}
	eng := newLoginEngine(t, memstore.New(), a, core.WithLockoutFailPolicy(core.FailClosed))
	logTimed(t, "Lockout.Begin, circuit open", 0, redisstore.ErrCircuitOpen, func() error {
		_, err := eng.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: netip.MustParseAddr("203.0.113.7")})
		return err
	})
	t.Logf("breaker opened %v after the first call; limiter %+v; attempts %+v", opened, st, a.Stats())
}

// slowProxy forwards loopback connections to upstream. Once slow is set,
// it holds back the replies: on each connection, every reply chunk whose
// index i has late(i) arrives delay late (the chunks after it wait their
// turn).
func slowProxy(t *testing.T, upstream string, slow *atomic.Bool, delay time.Duration, late func(i int) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { io.Copy(u, c); u.Close() })
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for i := 0; ; i++ {
					n, err := u.Read(buf)
					if err != nil {
						return
					}
					if slow.Load() && late(i) {
						time.Sleep(delay)
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			})
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// A Redis that answers, but late, under load: calls past their deadline
// fail alone, the breaker stays closed.
func TestBreakerStaysClosedWhenRedisIsSlow(t *testing.T) {
	// Replies far later than the deadline (a call that waited for one would
	// fail loadLimiter's bound), yet well within the silence.
	const delay = 6 * redisstore.DefaultLimiterTimeout
	for _, c := range []struct {
		name string
		late func(i int) bool
	}{
		// Redis turns slow: the connections made before keep receiving
		// their replies, after their callers left.
		{"every_reply_late", func(int) bool { return true }},
		{"every_third_reply_late", func(i int) bool { return i%3 == 2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			var slow atomic.Bool
			s, _ := redisstore.New(defaultClient(t, slowProxy(t, mr.Addr(), &slow, delay, c.late)))
			l := s.Limiter()
			errs := loadLimiter(t, l, 4, 100*time.Millisecond) // warm: connections are up
			slow.Store(true)
			start := l.Stats()
			errs = loadLimiter(t, l, 4, redisstore.DefaultSilence+500*time.Millisecond)
			st := l.Stats()
			t.Logf("%v; stats %+v", errs, st)
			if st.Deadlines == start.Deadlines {
				t.Fatal("no call reached its deadline: the proxy did not slow Redis down")
			}
			// A slow Redis keeps sending replies, so no deadline finds it
			// silent for DefaultSilence. Only a stall of this process as
			// long (a loaded machine under the race detector stops every
			// goroutine at once) can make the calls in flight then, one per
			// worker, count as dead; the breaker must never open.
			if st.Trips != 0 || st.CircuitOpen != 0 || st.Dead-start.Dead > 4 {
				t.Fatalf("a slow Redis was taken for a dead one: %v, stats %+v", errs, st)
			}
		})
	}
}

// loadLimiter calls l from workers goroutines, each with a key of its own,
// for d, and returns how the calls ended. A call that takes longer than its
// deadline plus loadSlack is slow; the test fails when more than two per
// worker are. A client that waited for late replies makes every late call
// slow (dozens in a run); a process stalled once by a loaded machine (the
// race detector, other test binaries) delays at most the one call in flight
// in each worker, which is allowed twice.
func loadLimiter(t *testing.T, l *redisstore.Limiter, workers int, d time.Duration) map[string]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := map[string]int{}
	var slow []time.Duration
	end := time.Now().Add(d)
	for w := range workers {
		wg.Go(func() {
			keys := []ratelimit.Key{{Rule: 1, IP: netip.AddrFrom4([4]byte{10, 0, 0, byte(w)}), Limit: ratelimit.Limit{N: 1000, Period: time.Second}}}
			for time.Now().Before(end) {
				k := "ok"
				start := time.Now()
				_, err := l.Allow(context.Background(), time.Now(), keys, nil)
				took := time.Since(start)
				if errors.Is(err, context.DeadlineExceeded) {
					k = "deadline"
				} else if err != nil {
					k = err.Error()
				}
				mu.Lock()
				errs[k]++
				if took > redisstore.DefaultLimiterTimeout+loadSlack {
					slow = append(slow, took)
				}
				mu.Unlock()
				time.Sleep(time.Millisecond) // a request rate, not a spin
			}
		})
	}
	wg.Wait()
	if len(slow) > 0 {
		t.Logf("%d calls took longer than %v + %v: %v", len(slow), redisstore.DefaultLimiterTimeout, loadSlack, slow)
	}
	if len(slow) > 2*workers {
		t.Errorf("%d calls took longer than %v + %v (at most %d may, one per worker in two stalls of the machine): %v",
			len(slow), redisstore.DefaultLimiterTimeout, loadSlack, 2*workers, slow)
	}
	return errs
}

// Calls whose caller left at the deadline keep a slot until go-redis gives
// up on them; WithMaxInFlight bounds them, callers still return by their
// deadline, and every goroutine ends when the connections close.
func TestAbandonedCallsAreBounded(t *testing.T) {
	before := runtime.NumGoroutine()
	bh := newBlackHole(t)
	rdb := defaultClient(t, bh.addr())
	s, _ := redisstore.New(rdb, redisstore.WithMaxInFlight(3), redisstore.WithBreaker(1000, time.Hour))
	l := s.Limiter()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			timedWithin(t, "Limiter.Allow", redisstore.DefaultLimiterTimeout, loadSlack, context.DeadlineExceeded, func() error {
				_, err := l.Allow(context.Background(), time.Now(), rlKeys, nil)
				return err
			})
		})
	}
	wg.Wait()
	st := l.Stats()
	if st.Abandoned > 3 || st.Calls > 3 || st.Deadlines != 50 {
		t.Fatalf("stats %+v: want at most 3 calls, all still running, and 50 deadlines", st)
	}
	bh.cut()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Abandoned != 0 || runtime.NumGoroutine() > before+5 {
		if time.Now().After(deadline) {
			t.Fatalf("after the connections closed: stats %+v, %d goroutines, %d before", l.Stats(), runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A step queued behind others waits past WithLoginTimeout while Redis keeps
// answering them, up to WithLoginMaxWait; a slow Redis is not taken for a
// dead one.
func TestLoginStepWaitsWhileRedisAnswers(t *testing.T) {
	const delay = 100 * time.Millisecond // every reply: the queue moves, slowly
	mr := miniredis.RunT(t)
	var slow atomic.Bool
	// One round trip at a time, one step each: a queue.
	const maxWait = time.Second
	s, _ := redisstore.New(defaultClient(t, slowProxy(t, mr.Addr(), &slow, delay, func(int) bool { return true })),
		redisstore.WithLoginPipeline(1, 1), redisstore.WithLoginMaxWait(maxWait))
	a := s.Attempts()
	ctx := context.Background()
	keys := []attempt.Key{{Key: "ip:{203.0.113.7}", Limit: 5}}
	if _, err := a.Status(ctx, time.Now(), pol, keys); err != nil { // the connection is up
		t.Fatal(err)
	}
	slow.Store(true)
	const n = 20 // about 2 s of queue: the last ones pass maxWait
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, late int
	var longest time.Duration
	for range n {
		wg.Go(func() {
			start := time.Now()
			_, err := a.Status(ctx, time.Now(), pol, keys)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				longest = max(longest, took)
			case errors.Is(err, context.DeadlineExceeded) && took <= maxWait+loadSlack:
				late++
			default:
				t.Errorf("after %v: %v", took, err)
			}
		})
	}
	wg.Wait()
	st := a.Stats()
	t.Logf("%d answered (the last after %v), %d gave up at the most wait; stats %+v", ok, longest, late, st)
	if longest <= redisstore.DefaultLoginTimeout || late == 0 {
		t.Fatalf("want steps answered after more than %v and steps that gave up at %v", redisstore.DefaultLoginTimeout, maxWait)
	}
	if st.Dead != 0 || st.Trips != 0 {
		t.Fatalf("a slow Redis was taken for a dead one: %+v", st)
	}
}

func TestDeadlineOptionsRefuseOutOfRange(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for name, o := range map[string]redisstore.Option{
		"limiter_timeout_zero":   redisstore.WithLimiterTimeout(0),
		"limiter_timeout_11s":    redisstore.WithLimiterTimeout(11 * time.Second),
		"login_timeout_negative": redisstore.WithLoginTimeout(-time.Second),
		"login_max_wait_zero":    redisstore.WithLoginMaxWait(0),
		"start_timeout_2m":       redisstore.WithStartTimeout(2 * time.Minute),
		"silence_zero":           redisstore.WithSilence(0),
		"breaker_no_failures":    redisstore.WithBreaker(0, time.Second),
		"max_in_flight_zero":     redisstore.WithMaxInFlight(0),
		"pipeline_no_calls":      redisstore.WithLoginPipeline(0, 64),
		"pipeline_no_steps":      redisstore.WithLoginPipeline(4, 0),
	} {
		if _, err := redisstore.New(rdb, o); !errors.Is(err, redisstore.ErrInvalidOption) {
			t.Errorf("%s: %v; want ErrInvalidOption", name, err)
		}
	}
}
