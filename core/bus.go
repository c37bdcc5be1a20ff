package core

import (
	"context"
	"sync"
)

// Bus tells every engine that the rules or settings changed.
//
// Publish announces a new store version. Subscribe calls fn for every
// announcement until cancel is called; fn must not block. Implementations
// that may lose messages (a reconnecting Redis subscription) call fn with
// version 0 after every (re)subscribe, so the engine checks the store.
type Bus interface {
	Publish(ctx context.Context, version int64) error
	Subscribe(ctx context.Context, fn func(version int64)) (cancel func(), err error)
}

// LocalBus is the in-process Bus: engines in one process that share it see
// each other's writes at once. Safe for concurrent use.
type LocalBus struct {
	mu   sync.Mutex
	next int
	subs map[int]func(int64)
}

// NewLocalBus returns an empty in-process bus.
func NewLocalBus() *LocalBus { return &LocalBus{subs: map[int]func(int64){}} }

// Publish calls every subscriber with version.
func (b *LocalBus) Publish(_ context.Context, version int64) error {
	b.mu.Lock()
	fns := make([]func(int64), 0, len(b.subs))
	for _, fn := range b.subs {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(version)
	}
	return nil
}

// Subscribe registers fn.
func (b *LocalBus) Subscribe(_ context.Context, fn func(int64)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}, nil
}
