package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

// pickyStore refuses any batch holding an event whose Details is "poison",
// as a database refuses a batch with one bad row; batches counts AppendEvents calls.
type pickyStore struct {
	*failingStore
	batches atomic.Int64
}

func (p *pickyStore) AppendEvents(ctx context.Context, evs []core.Event) error {
	p.batches.Add(1)
	for _, e := range evs {
		if e.Details == "poison" {
			return errors.New("row refused")
		}
	}
	return p.failingStore.AppendEvents(ctx, evs)
}

func newPicky() *pickyStore { return &pickyStore{failingStore: &failingStore{Store: memstore.New()}} }

func startEngine(t *testing.T, st core.Store, opts ...core.Option) *core.Engine {
	t.Helper()
	eng, err := core.New(st, append([]core.Option{core.WithRebuildInterval(time.Millisecond), quiet}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

func storedEvents(t *testing.T, st core.Store) []core.Event {
	t.Helper()
	evs, err := st.Events(context.Background(), core.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestEventsCoalesced(t *testing.T) {
	st := memstore.New()
	eng := startEngine(t, st, core.WithEventQueue(1000, time.Minute))
	if _, err := eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "2001:db8::/32"}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 { // IPv6 rotation inside one /64: one row
		eng.Check(context.Background(), core.Request{HTTP: request(fmt.Sprintf("2001:db8:0:1::%x", i+1), "/a")})
	}
	for range 3 { // another path: another row
		eng.Check(context.Background(), core.Request{HTTP: request("2001:db8:0:1::1", "/b")})
	}
	eng.Check(context.Background(), core.Request{HTTP: request("2001:db8:0:2::1", "/a")}) // another /64
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := storedEvents(t, st)
	counts := map[string]int64{}
	for _, e := range evs {
		counts[e.Path+" "+e.IP] += e.Count
	}
	if len(evs) != 3 || counts["/a 2001:db8:0:1::1"] != 50 || counts["/b 2001:db8:0:1::1"] != 3 || counts["/a 2001:db8:0:2::1"] != 1 {
		t.Fatalf("coalesced rows = %+v (%v); want 3 rows with counts 50, 3, 1", evs, counts)
	}
	st2 := eng.Stats()
	if st2.EventsWritten != 3 || st2.EventsCoalesced != 51 || st2.EventsDropped != 0 || st2.EventsQueued != 0 {
		t.Fatalf("stats = %+v", st2)
	}
}

func TestAdminActionsAreNeverMergedAcrossChanges(t *testing.T) {
	st := memstore.New()
	eng := startEngine(t, st, core.WithEventQueue(1000, time.Minute))
	ev := core.Event{Action: core.ActionAdmin, IP: "192.0.2.1", RuleID: 7, Path: "/api/rules/blocked-ips/7"}
	for _, d := range []string{"update reason", "delete", "delete"} { // one admin, one rule, one path, within the window
		ev.Details = d
		eng.RecordEvent(ev)
	}
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range storedEvents(t, st) {
		got[e.Details] += e.Count
	}
	if len(got) != 2 || got["update reason"] != 1 || got["delete"] != 2 {
		t.Fatalf("ADMIN_ACTION rows by details = %v; want each change its own row, a repeat coalesced", got)
	}
}

func TestEventsCleaned(t *testing.T) {
	st := memstore.New()
	eng := startEngine(t, st)
	eng.RecordEvent(core.Event{Action: core.ActionAdmin, IP: "192.0.2.1", Path: "/\x00bad\xff" + strings.Repeat("é", 600), UserAgent: strings.Repeat("x", 5000), Details: "a\x00b"})
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := storedEvents(t, st)
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	e := evs[0]
	if !utf8.ValidString(e.Path) || strings.ContainsRune(e.Path, 0) || utf8.RuneCountInString(e.Path) != core.MaxEventPathLen {
		t.Fatalf("path not cleaned: %q", e.Path[:20])
	}
	if len(e.UserAgent) != core.MaxEventUserAgentLen || e.Details != "ab" || e.Severity != core.SeverityMedium {
		t.Fatalf("event not cleaned: ua %d, details %q, severity %q", len(e.UserAgent), e.Details, e.Severity)
	}
}

func TestBadRowDoesNotLoseTheBatch(t *testing.T) {
	st := newPicky()
	eng := startEngine(t, st, core.WithEventQueue(1000, time.Minute))
	for i := range 20 {
		d := fmt.Sprint("ok", i)
		if i == 13 {
			d = "poison"
		}
		eng.RecordEvent(core.Event{Action: core.ActionAdmin, IP: "192.0.2.1", Path: fmt.Sprint("/", i), Details: d})
	}
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if evs := storedEvents(t, st); len(evs) != 19 {
		t.Fatalf("stored %d events, want 19", len(evs))
	}
	if s := eng.Stats(); s.EventsRejected != 1 || s.EventsWritten != 19 {
		t.Fatalf("stats = %+v; want 1 rejected, 19 written", s)
	}
}

func TestEventsWaitForStoreToRecover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newPicky()
		eng := startEngine(t, st, core.WithEventQueue(1000, 10*time.Millisecond))
		defer eng.Close(context.Background())
		if _, err := eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "6.6.6.6"}); err != nil {
			t.Fatal(err)
		}
		st.fail.Store(true)
		for i := range 5 {
			d, err := eng.Check(context.Background(), core.Request{HTTP: request("6.6.6.6", fmt.Sprint("/p", i))})
			if err != nil || d.Allowed { // decided from the last snapshot while the store is down
				t.Fatalf("store down: %+v, %v", d, err)
			}
		}
		time.Sleep(25 * time.Millisecond) // two flush intervals: both flushes fail
		synctest.Wait()
		if n := st.batches.Load(); n < 2 {
			t.Fatalf("%d flushes tried while the store was down, want at least 2", n)
		}
		if n := len(storedEvents(t, st.failingStore.Store)); n != 0 {
			t.Fatalf("stored %d events while down", n)
		}
		if q := eng.Stats().EventsQueued; q != 5 {
			t.Fatalf("queued = %d, want 5 waiting", q)
		}
		st.fail.Store(false)
		time.Sleep(10 * time.Millisecond) // the next flush
		synctest.Wait()
		if n := len(storedEvents(t, st)); n != 5 {
			t.Fatalf("stored %d events after recovery, want 5", n)
		}
		if s := eng.Stats(); s.EventsDropped != 0 || s.EventsQueued != 0 || s.EventsWritten != 5 {
			t.Fatalf("after recovery: %+v", s)
		}
	})
}

func TestQueueFullDropsAreCounted(t *testing.T) {
	st := newPicky()
	st.fail.Store(true)
	eng, err := core.New(st, core.WithEventQueue(10, time.Minute), core.WithStartWithoutStore(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	// Not started: nothing drains the queue.
	ok := 0
	for range 25 {
		if eng.RecordEvent(core.Event{Action: core.ActionIPBlock, IP: "192.0.2.1"}) {
			ok++
		}
	}
	if ok != 10 || eng.Stats().EventsDropped != 15 {
		t.Fatalf("accepted %d, dropped %d; want 10 and 15", ok, eng.Stats().EventsDropped)
	}
}

func TestCloseFlushesQueue(t *testing.T) {
	st := memstore.New()
	eng := startEngine(t, st, core.WithEventQueue(10000, time.Minute))
	for i := range 1200 {
		eng.RecordEvent(core.Event{Action: core.ActionAdmin, IP: "192.0.2.1", Path: fmt.Sprint("/", i)})
	}
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(storedEvents(t, st)); n != 1200 {
		t.Fatalf("stored %d of 1200 after Close", n)
	}
	if eng.RecordEvent(core.Event{Action: core.ActionAdmin}) {
		t.Fatal("Record after Close accepted")
	}
}
