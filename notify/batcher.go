package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wardenkit/warden/core"
)

// Item is one entry of a batched message.
type Item struct {
	// Time is when it happened; zero means when it was added.
	Time time.Time `json:"time"`
	// Line is one line of the message's text; control characters become
	// spaces and it is cut to MaxLineBytes.
	Line string `json:"line"`
	// Data goes with the item in the webhook's JSON; it may be nil.
	Data any `json:"data,omitempty"`
}

// Batch is the Data of a Batcher's message: the items, oldest first, and
// how many more were dropped because the batch was full.
type Batch struct {
	Items   []Item `json:"items"`
	Dropped int    `json:"dropped"`
}

// MaxLineBytes bounds Item.Line in a message.
const MaxLineBytes = 1000

// BatcherStats counts what a Batcher did since it was built.
type BatcherStats struct {
	Added      uint64 // items taken into a batch
	Dropped    uint64 // items refused (batch full, Batcher closed) or abandoned when Close's context ended
	Suppressed uint64 // items discarded because WithEnabled said no
	Sent       uint64 // messages delivered
	Failed     uint64 // messages the notifier could not deliver (their items are lost)
}

// Batcher gathers items into one message per interval at most, so a burst
// of a thousand auto-blocks sends one e-mail, not a thousand. The first item
// of a batch starts the interval; the message goes when it ends, with every
// item added meanwhile (up to WithMaxItems). Add never waits for a
// delivery; failures are logged and counted, never returned to Add.
//
// A Batcher is safe for concurrent use. Start runs its goroutine; Close
// stops it and sends what is pending.
type Batcher struct {
	n        Notifier
	interval time.Duration
	maxItems int
	enabled  func() bool
	kind     string
	subject  func(int) string
	logger   *slog.Logger
	clock    core.Clock

	mu      sync.Mutex
	buf     []Item
	over    int // items dropped from the pending batch
	started bool
	closed  bool

	kick   chan struct{} // an item arrived in an empty batch
	stop   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc

	added, dropped, suppressed, sent, failed atomic.Uint64
}

// NewBatcher returns a Batcher that sends through n. Options: WithInterval,
// WithMaxItems, WithEnabled, WithKind, WithLogger, WithClock. It starts no
// goroutine.
func NewBatcher(n Notifier, opts ...Option) (*Batcher, error) {
	if n == nil {
		return nil, errorf(ErrInvalidOption, "notify: NewBatcher: nil Notifier")
	}
	c := newConfig(forBatcher, 0)
	if err := c.apply("NewBatcher", opts); err != nil {
		return nil, err
	}
	return &Batcher{
		n: n, interval: c.interval, maxItems: c.maxItems, enabled: c.enabled, kind: c.kind, subject: c.subject,
		logger: c.logger, clock: c.clock,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// Add puts it in the pending batch, or counts it as dropped when the batch
// is full or the Batcher closed. It never blocks on delivery.
func (b *Batcher) Add(it Item) {
	if it.Time.IsZero() {
		it.Time = b.clock.Now()
	}
	b.mu.Lock()
	if b.closed || len(b.buf) >= b.maxItems {
		if !b.closed {
			b.over++
		}
		b.mu.Unlock()
		b.dropped.Add(1)
		return
	}
	first := len(b.buf) == 0
	b.buf = append(b.buf, it)
	b.mu.Unlock()
	b.added.Add(1)
	if first {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// AddEvent adds an item for a core event (an AUTO_BLOCK_IP event, say): see
// EventItem. It never blocks, so b.AddEvent fits a func(core.Event) hook
// called from the engine's goroutines.
func (b *Batcher) AddEvent(e core.Event) { b.Add(EventItem(e)) }

// Start runs the Batcher's goroutine until ctx ends or Close is called.
// Items added before Start are sent one interval after it. Start fails when
// called twice or after Close.
func (b *Batcher) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return fmt.Errorf("notify: Batcher.Start: closed")
	case b.started:
		return fmt.Errorf("notify: Batcher.Start: already started")
	}
	b.started = true
	rctx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	go b.loop(rctx)
	return nil
}

// Close stops the goroutine, waiting for a delivery in progress, then sends
// the pending batch (when enabled), all within ctx. When ctx ends first,
// the delivery in progress is cancelled, pending items are counted as
// dropped, and Close returns ctx's error. Items added after Close are
// dropped. A second Close does nothing.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started
	b.mu.Unlock()
	if started {
		defer b.cancel()
		close(b.stop)
		select {
		case <-b.done:
		case <-ctx.Done():
			b.cancel()
			<-b.done
		}
	}
	if err := ctx.Err(); err != nil {
		items, over := b.take()
		b.dropped.Add(uint64(len(items) + over))
		return fmt.Errorf("notify: Batcher.Close: %d pending items dropped: %w", len(items)+over, err)
	}
	return b.flush(ctx)
}

// Stats counts items and messages.
func (b *Batcher) Stats() BatcherStats {
	return BatcherStats{
		Added: b.added.Load(), Dropped: b.dropped.Load(), Suppressed: b.suppressed.Load(),
		Sent: b.sent.Load(), Failed: b.failed.Load(),
	}
}

// loop waits for a first item, then one interval, then sends the batch.
func (b *Batcher) loop(ctx context.Context) {
	defer close(b.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.stop:
			return
		case <-b.kick:
		}
		t := time.NewTimer(b.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-b.stop:
			t.Stop()
			return
		case <-t.C:
		}
		_ = b.flush(ctx) // logged and counted
	}
}

// take empties the pending batch.
func (b *Batcher) take() ([]Item, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	items, over := b.buf, b.over
	b.buf, b.over = nil, 0
	return items, over
}

// flush sends the pending batch, if any and if enabled.
func (b *Batcher) flush(ctx context.Context) error {
	items, over := b.take()
	if len(items) == 0 && over == 0 {
		return nil
	}
	if b.enabled != nil && !b.enabled() {
		b.suppressed.Add(uint64(len(items)))
		b.logger.LogAttrs(ctx, slog.LevelDebug, "notify: batch discarded: notifications are off",
			slog.String("kind", b.kind), slog.Int("items", len(items)))
		return nil
	}
	if err := b.n.Notify(ctx, b.message(items, over)); err != nil {
		b.failed.Add(1)
		b.logger.LogAttrs(ctx, slog.LevelWarn, "notify: batch not delivered",
			slog.String("kind", b.kind), slog.Int("items", len(items)), slog.String("err", err.Error()))
		return fmt.Errorf("notify: Batcher: %d items not delivered: %w", len(items), err)
	}
	b.sent.Add(1)
	return nil
}

// message builds the batch's Message: one line per item, oldest first.
func (b *Batcher) message(items []Item, over int) Message {
	var text strings.Builder
	for i := range items {
		items[i].Line = cleanLine(items[i].Line)
		text.WriteString(items[i].Time.UTC().Format(time.RFC3339))
		text.WriteString("  ")
		text.WriteString(items[i].Line)
		text.WriteByte('\n')
	}
	if over > 0 {
		fmt.Fprintf(&text, "… and %d more not listed (at most %d per message).\n", over, b.maxItems)
	}
	return Message{
		Kind: b.kind, Subject: b.subject(len(items) + over), Text: text.String(),
		Data: Batch{Items: items, Dropped: over}, Time: b.clock.Now(),
	}
}

// cleanLine turns control characters into spaces and cuts s to
// MaxLineBytes on a rune boundary.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if len(s) > MaxLineBytes {
		cut := MaxLineBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func defaultSubject(n int) string {
	if n == 1 {
		return "warden: 1 auto-block"
	}
	return fmt.Sprintf("warden: %d auto-blocks", n)
}
