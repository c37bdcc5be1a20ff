package core_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

// stalledHistory is a store whose login history calls block until release
// is closed, as a database that stalls does. With honoursCtx they also end
// with their context (a driver that honours deadlines); without, they do not.
type stalledHistory struct {
	*memstore.Store
	release                    chan struct{}
	stallTraits, honoursCtx    bool
	traitsWaiting, appendsWait atomic.Int64
}

func (s *stalledHistory) stall(ctx context.Context, n *atomic.Int64) error {
	n.Add(1)
	defer n.Add(-1)
	done := ctx.Done()
	if !s.honoursCtx {
		done = nil
	}
	select {
	case <-s.release:
		return nil
	case <-done:
		return ctx.Err()
	}
}

func (s *stalledHistory) LoginTraits(ctx context.Context, user string, recent int, since time.Time) (core.LoginTraits, error) {
	if s.stallTraits {
		if err := s.stall(ctx, &s.traitsWaiting); err != nil {
			return core.LoginTraits{}, err
		}
	}
	return s.Store.LoginTraits(ctx, user, recent, since)
}

func (s *stalledHistory) AppendLogin(ctx context.Context, r core.LoginRecord) (core.LoginRecord, error) {
	if err := s.stall(ctx, &s.appendsWait); err != nil {
		return core.LoginRecord{}, err
	}
	return s.Store.AppendLogin(ctx, r)
}

// A successful login does not wait on a stalled database for its history
// longer than the history wait: the read gives up (the anomaly rules are
// skipped and counted), the record waits in the queue, and Close stores it.
func TestSucceedDoesNotWaitForStalledLoginHistory(t *testing.T) {
	cases := []struct {
		name                    string
		stallTraits, honoursCtx bool
		opts                    []core.Option
		want                    time.Duration // how long Succeed takes
		skipped                 int64
	}{
		{name: "append_stalls", want: 300 * time.Millisecond},
		{name: "read_and_append_stall", stallTraits: true, honoursCtx: true, want: 300 * time.Millisecond, skipped: 1},
		{name: "store_ignores_its_context", stallTraits: true, want: 300 * time.Millisecond, skipped: 1},
		{name: "shorter_wait", stallTraits: true, honoursCtx: true, opts: []core.Option{core.WithLoginHistoryWait(50 * time.Millisecond)},
			want: 50 * time.Millisecond, skipped: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				st := &stalledHistory{Store: memstore.New(), release: make(chan struct{}), stallTraits: c.stallTraits, honoursCtx: c.honoursCtx}
				eng, err := core.New(st, append([]core.Option{quiet, core.WithCountryLookup(monitorGeo)}, c.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				if err := eng.Start(ctx); err != nil {
					t.Fatal(err)
				}
				tk, err := eng.Lockout().Begin(ctx, core.Attempt{Username: "alice", IP: netip.MustParseAddr("1.2.3.4")})
				if err != nil {
					t.Fatal(err)
				}
				var took time.Duration
				done := make(chan struct{})
				go func() {
					defer close(done)
					start := time.Now()
					v, err := eng.Lockout().Succeed(ctx, tk, core.Success{UserID: "7"})
					took = time.Since(start)
					if v != core.LoginAllow || err != nil {
						t.Errorf("Succeed = %v, %v", v, err)
					}
				}()
				time.Sleep(time.Second) // of the bubble's clock: every other goroutine is blocked
				select {
				case <-done:
				default:
					t.Errorf("Succeed still waiting after 1 s for the stalled login history")
				}
				if c.stallTraits && !c.honoursCtx && st.traitsWaiting.Load() != 1 {
					t.Errorf("%d history reads still blocked, want 1 (abandoned by the login)", st.traitsWaiting.Load())
				}
				if st.appendsWait.Load() != 1 {
					t.Errorf("%d AppendLogin calls blocked, want 1 (in the background)", st.appendsWait.Load())
				}
				close(st.release)
				<-done
				if took > c.want {
					t.Errorf("Succeed took %s, want at most %s", took, c.want)
				}
				if err := eng.Close(ctx); err != nil {
					t.Fatal(err)
				}
				rows, _ := st.Logins(ctx, core.LoginQuery{UserID: "7"})
				ms := eng.LoginMonitor().Stats()
				if len(rows) != 1 || rows[0].IP != "1.2.3.4" || ms.HistoryWritten != 1 || ms.HistoryQueued != 0 || ms.HistoryDropped != 0 || ms.RulesSkipped != c.skipped {
					t.Fatalf("after Close: %d rows, stats %+v; want the queued record stored and %d logins judged without history", len(rows), ms, c.skipped)
				}
			})
		})
	}
}

// While the record of a login waits in the queue, the user's next login is
// compared with it: a slow write does not hide a new country.
func TestLoginHistoryQueuedRecordsCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &stalledHistory{Store: memstore.New(), release: make(chan struct{})}
		eng, err := core.New(st, quiet, core.WithCountryLookup(monitorGeo))
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		m := eng.LoginMonitor()
		for _, ip := range []string{"1.1.1.1", "2.2.2.2"} {
			_, _ = m.Observe(ctx, core.Login{UserID: "u", IP: netip.MustParseAddr(ip), UserAgent: chromeLinux})
		}
		synctest.Wait()
		if st.appendsWait.Load() != 2 {
			t.Fatalf("%d writes waiting, want 2", st.appendsWait.Load())
		}
		close(st.release)
		if err := eng.Close(ctx); err != nil {
			t.Fatal(err)
		}
		rows, _ := st.Logins(ctx, core.LoginQuery{UserID: "u"})
		reasons := map[string]string{}
		for _, r := range rows {
			reasons[r.IP] = r.Reasons
		}
		if len(rows) != 2 || reasons["1.1.1.1"] != "" || reasons["2.2.2.2"] != "New country: RU" {
			t.Fatalf("reasons by address %q; want the second login flagged for its new country", reasons)
		}
		if ms := m.Stats(); ms.Suspicious != 1 || ms.HistoryWritten != 2 || ms.RulesSkipped != 0 {
			t.Fatalf("stats %+v", ms)
		}
	})
}
