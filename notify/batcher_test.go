package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/notify"
)

// fakeNotifier records messages; err, when set, is returned instead; block,
// when set, holds each Notify until it is closed or ctx ends.
type fakeNotifier struct {
	mu    sync.Mutex
	msgs  []notify.Message
	at    []time.Time
	err   error
	block chan struct{}
}

func (f *fakeNotifier) Notify(ctx context.Context, m notify.Message) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.msgs = append(f.msgs, m)
	f.at = append(f.at, time.Now())
	return nil
}

func (f *fakeNotifier) sent() []notify.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notify.Message(nil), f.msgs...)
}

func items(t *testing.T, m notify.Message) notify.Batch {
	t.Helper()
	b, ok := m.Data.(notify.Batch)
	if !ok {
		t.Fatalf("Data is %T, want notify.Batch", m.Data)
	}
	return b
}

func startBatcher(t *testing.T, f notify.Notifier, opts ...notify.Option) *notify.Batcher {
	t.Helper()
	b, err := notify.NewBatcher(f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBatcherOneMessagePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := &fakeNotifier{}
		b := startBatcher(t, f)
		for i := range 100 { // 100 auto-blocks within 3 seconds
			b.Add(notify.Item{Line: fmt.Sprintf("AUTO_BLOCK_IP 203.0.113.%d", i)})
			time.Sleep(30 * time.Millisecond)
		}
		time.Sleep(start.Add(time.Minute - time.Millisecond).Sub(time.Now()))
		synctest.Wait()
		if n := len(f.sent()); n != 0 {
			t.Fatalf("%d messages before the minute is up", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		msgs := f.sent()
		if len(msgs) != 1 {
			t.Fatalf("%d messages at the minute, want 1", len(msgs))
		}
		m := msgs[0]
		batch := items(t, m)
		if len(batch.Items) != 100 || batch.Dropped != 0 || m.Kind != "auto_block" || m.Subject != "warden: 100 auto-blocks" ||
			!m.Time.Equal(start.Add(time.Minute)) {
			t.Errorf("message %q %q at %v with %d items, %d dropped", m.Kind, m.Subject, m.Time.Sub(start), len(batch.Items), batch.Dropped)
		}
		lines := strings.Split(strings.TrimSuffix(m.Text, "\n"), "\n")
		if len(lines) != 100 || lines[0] != start.UTC().Format(time.RFC3339)+"  AUTO_BLOCK_IP 203.0.113.0" ||
			!strings.HasSuffix(lines[99], "AUTO_BLOCK_IP 203.0.113.99") {
			t.Errorf("text has %d lines: %q … %q", len(lines), lines[0], lines[len(lines)-1])
		}

		// The next item, right after the message: the next message waits a
		// whole interval.
		b.Add(notify.Item{Line: "AUTO_BLOCK_IP 198.51.100.1"})
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if n := len(f.sent()); n != 1 {
			t.Fatalf("%d messages within the second minute, want still 1", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if msgs := f.sent(); len(msgs) != 2 || len(items(t, msgs[1]).Items) != 1 || msgs[1].Subject != "warden: 1 auto-block" {
			t.Fatalf("messages %+v", msgs)
		}
		// Quiet: nothing more is sent.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(f.sent()); n != 2 {
			t.Errorf("%d messages, want 2", n)
		}
		if st := b.Stats(); st != (notify.BatcherStats{Added: 101, Sent: 2}) {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestBatcherDisabledSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNotifier{}
		var mu sync.Mutex
		on := false
		b := startBatcher(t, f, notify.WithEnabled(func() bool { mu.Lock(); defer mu.Unlock(); return on }))
		for range 5 {
			b.Add(notify.Item{Line: "x"})
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if n := len(f.sent()); n != 0 {
			t.Fatalf("%d messages while disabled", n)
		}
		mu.Lock()
		on = true // the setting changes: the next batch goes out
		mu.Unlock()
		b.Add(notify.Item{Line: "y"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if msgs := f.sent(); len(msgs) != 1 || len(items(t, msgs[0]).Items) != 1 {
			t.Fatalf("messages %+v, want one with the item added after enabling", msgs)
		}
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := b.Stats(); st != (notify.BatcherStats{Added: 6, Suppressed: 5, Sent: 1}) {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestBatcherOverflowCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNotifier{}
		b := startBatcher(t, f, notify.WithMaxItems(10), notify.WithInterval(10*time.Second))
		for i := range 25 {
			b.Add(notify.Item{Line: fmt.Sprint(i)})
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		msgs := f.sent()
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		batch := items(t, msgs[0])
		if len(batch.Items) != 10 || batch.Dropped != 15 || batch.Items[9].Line != "9" || msgs[0].Subject != "warden: 25 auto-blocks" ||
			!strings.Contains(msgs[0].Text, "… and 15 more not listed (at most 10 per message).") {
			t.Errorf("message %q, %d items, %d dropped:\n%s", msgs[0].Subject, len(batch.Items), batch.Dropped, msgs[0].Text)
		}
		// The next batch starts empty.
		b.Add(notify.Item{Line: "next"})
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if msgs := f.sent(); len(msgs) != 2 || items(t, msgs[1]).Dropped != 0 {
			t.Errorf("second message %+v", msgs[1:])
		}
		if st := b.Stats(); st != (notify.BatcherStats{Added: 11, Dropped: 15, Sent: 2}) {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestBatcherCloseFlushes(t *testing.T) {
	for _, started := range []bool{true, false} {
		t.Run(fmt.Sprintf("started=%v", started), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeNotifier{}
				b, err := notify.NewBatcher(f)
				if err != nil {
					t.Fatal(err)
				}
				if started {
					if err := b.Start(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				for range 3 {
					b.Add(notify.Item{Line: "pending"})
				}
				closedAt := time.Now()
				if err := b.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				msgs := f.sent()
				if len(msgs) != 1 || len(items(t, msgs[0]).Items) != 3 || !msgs[0].Time.Equal(closedAt) {
					t.Fatalf("messages %+v, want one with 3 items sent at Close", msgs)
				}
				b.Add(notify.Item{Line: "late"})
				if err := b.Close(context.Background()); err != nil {
					t.Errorf("second Close: %v", err)
				}
				if err := b.Start(t.Context()); err == nil {
					t.Error("Start after Close succeeded")
				}
				if st := b.Stats(); st != (notify.BatcherStats{Added: 3, Dropped: 1, Sent: 1}) {
					t.Errorf("Stats = %+v", st)
				}
			})
		})
	}
}

func TestBatcherFailureLoggedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		f := &fakeNotifier{err: fmt.Errorf("notify: webhook: POST https://hooks.example/…: HTTP 500 after 4 attempts: %w", notify.ErrUndelivered)}
		b := startBatcher(t, f, notify.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		b.Add(notify.Item{Line: "x"})
		b.Add(notify.Item{Line: "y"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := b.Stats(); st != (notify.BatcherStats{Added: 2, Failed: 1}) {
			t.Errorf("Stats = %+v", st)
		}
		if s := logs.String(); !strings.Contains(s, `level=WARN msg="notify: batch not delivered" kind=auto_block items=2 err="notify: webhook: POST https://hooks.example/…: HTTP 500 after 4 attempts`) {
			t.Errorf("log = %s", s)
		}
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBatcherAddNeverWaitsForDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNotifier{block: make(chan struct{})}
		b := startBatcher(t, f)
		b.Add(notify.Item{Line: "first"})
		time.Sleep(time.Minute) // the first batch is being delivered, held by the notifier
		synctest.Wait()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				for range 100 {
					b.Add(notify.Item{Line: "during"})
				}
			})
		}
		wg.Wait() // every Add returned while the delivery is held
		if st := b.Stats(); st.Added != 1001 || st.Dropped != 0 || st.Sent != 0 {
			t.Fatalf("Stats = %+v", st)
		}
		close(f.block)
		time.Sleep(time.Minute)
		synctest.Wait()
		msgs := f.sent()
		if len(msgs) != 2 || len(items(t, msgs[0]).Items) != 1 || len(items(t, msgs[1]).Items) != 1000 {
			t.Fatalf("%d messages", len(msgs))
		}
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBatcherCloseGivesUpWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNotifier{block: make(chan struct{})} // never released: a receiver that hangs
		b := startBatcher(t, f)
		b.Add(notify.Item{Line: "held"})
		time.Sleep(time.Minute)
		synctest.Wait() // the batch of one is in the notifier
		b.Add(notify.Item{Line: "pending 1"})
		b.Add(notify.Item{Line: "pending 2"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := b.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "2 pending items dropped") {
			t.Fatalf("err = %v", err)
		}
		if waited := time.Since(start); waited != 5*time.Second {
			t.Errorf("Close waited %v, want the context's 5s", waited)
		}
		if st := b.Stats(); st != (notify.BatcherStats{Added: 3, Dropped: 2, Failed: 1}) {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestBatcherStopsWithStartContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNotifier{}
		b, err := notify.NewBatcher(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err == nil {
			t.Error("second Start succeeded")
		}
		cancel()
		synctest.Wait()
		b.Add(notify.Item{Line: "kept for Close"})
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(f.sent()); n != 0 {
			t.Fatalf("%d messages after the context ended", n)
		}
		if err := b.Close(context.Background()); err != nil || len(f.sent()) != 1 {
			t.Fatalf("Close: %v, %d messages", err, len(f.sent()))
		}
	})
}

func TestBatcherCleansLines(t *testing.T) {
	f := &fakeNotifier{}
	b, err := notify.NewBatcher(f, notify.WithKind("login", nil))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Add(notify.Item{Time: at, Line: "evil\r\nBcc: x\x00y"})
	b.Add(notify.Item{Time: at, Line: strings.Repeat("é", notify.MaxLineBytes)})
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := f.sent()[0]
	lines := strings.Split(m.Text, "\n")
	if lines[0] != "2026-01-02T03:04:05Z  evil  Bcc: x y" || m.Kind != "login" || m.Subject != "warden: 2 notifications (login)" {
		t.Errorf("kind %q subject %q first line %q", m.Kind, m.Subject, lines[0])
	}
	if l := items(t, m).Items[1].Line; len(l) > notify.MaxLineBytes+len("…") || !strings.HasSuffix(l, "é…") {
		t.Errorf("long line: %d bytes, ends %q", len(l), l[len(l)-8:])
	}
}

func TestEventItem(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		e    core.Event
		want string
	}{
		{"ip_country_details", core.Event{Action: core.ActionAutoBlockIP, IP: "203.0.113.7", CountryCode: "CN", Details: "40 denials in 10m", CreatedAt: at}, "AUTO_BLOCK_IP 203.0.113.7 (CN): 40 denials in 10m"},
		{"country_only", core.Event{Action: core.ActionAutoBlockCountry, CountryCode: "XX", CreatedAt: at}, "AUTO_BLOCK_COUNTRY (XX)"},
		{"action_only", core.Event{Action: core.ActionAutoBlockIP, CreatedAt: at}, "AUTO_BLOCK_IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := notify.EventItem(tc.e)
			if it.Line != tc.want || !it.Time.Equal(at) || it.Data != any(tc.e) {
				t.Errorf("EventItem = %+v, want line %q", it, tc.want)
			}
		})
	}
}

func TestNewBatcherRefuses(t *testing.T) {
	f := &fakeNotifier{}
	for _, tc := range []struct {
		name string
		n    notify.Notifier
		opts []notify.Option
		want string
	}{
		{"nil_notifier", nil, nil, "nil Notifier"},
		{"zero_interval", f, []notify.Option{notify.WithInterval(0)}, "WithInterval: 0s is not positive"},
		{"zero_max_items", f, []notify.Option{notify.WithMaxItems(0)}, "WithMaxItems: 0 is not positive"},
		{"nil_enabled", f, []notify.Option{notify.WithEnabled(nil)}, "WithEnabled: nil function"},
		{"bad_kind", f, []notify.Option{notify.WithKind("auto block", nil)}, `Message.Kind "auto block"`},
		{"webhook_option", f, []notify.Option{notify.WithRetries(2)}, "WithRetries does not apply to a Batcher"},
		{"nil_logger", f, []notify.Option{notify.WithLogger(nil)}, "WithLogger: nil logger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.NewBatcher(tc.n, tc.opts...)
			if !errors.Is(err, notify.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidOption with %q", err, tc.want)
			}
		})
	}
}
