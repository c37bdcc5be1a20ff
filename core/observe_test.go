package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

// recordingObserver keeps what Check told it.
type recordingObserver struct {
	mu     sync.Mutex
	begins int64
	ends   []int64 // the begin token End received
	seen   []core.Decision
}

func (o *recordingObserver) Begin() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.begins++
	return o.begins * 10
}

func (o *recordingObserver) End(begin int64, d core.Decision) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ends = append(o.ends, begin)
	o.seen = append(o.seen, d)
}

func TestCheckObserverSeesEveryDecision(t *testing.T) {
	obs := &recordingObserver{}
	e := newEnv(t, core.WithCheckObserver(obs))
	put(e, e.eng.Rules().BlockedIPs(), rule.BlockedIP{Network: "203.0.113.7"})
	want := []core.Decision{
		e.check("198.51.100.1", "/", ""),
		e.check("203.0.113.7", "/", ""),
		e.check("203.0.113.7", "/health", ""),
	}
	if !want[0].Allowed || want[1].Allowed || want[1].Action != core.ActionIPBlock || want[2].Reason != core.ReasonExemptPath {
		t.Fatalf("decisions: %+v", want)
	}
	if obs.begins != 3 || len(obs.seen) != 3 {
		t.Fatalf("Begin called %d times, End %d; want 3 each", obs.begins, len(obs.seen))
	}
	for i, d := range obs.seen {
		if d != want[i] {
			t.Errorf("End #%d got %+v; Check returned %+v", i, d, want[i])
		}
		if obs.ends[i] != int64(i+1)*10 {
			t.Errorf("End #%d got begin %d; want %d (Begin's result)", i, obs.ends[i], (i+1)*10)
		}
	}
}

func TestCheckObserverSeesFailPolicy(t *testing.T) {
	obs := &recordingObserver{}
	eng, err := core.New(memstore.New(), core.WithCheckObserver(obs), quiet)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.Check(context.Background(), core.Request{HTTP: request("198.51.100.1", "/")})
	if !errors.Is(err, core.ErrNotStarted) {
		t.Fatalf("Check before Start: err %v; want ErrNotStarted", err)
	}
	if len(obs.seen) != 1 || obs.seen[0] != d || d.Reason != core.ReasonFailClosed {
		t.Fatalf("observer saw %+v; Check returned %+v", obs.seen, d)
	}
}

func TestWithCheckObserverNil(t *testing.T) {
	if _, err := core.New(memstore.New(), core.WithCheckObserver(nil)); err == nil {
		t.Fatal("WithCheckObserver(nil) accepted")
	}
}
