package geo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var errChanging = errors.New("file changed while it was being read")

// Start watches the file given to Open: every poll interval it compares the
// file's inode, size and modification time with the last version seen and,
// when they differ, reads and validates the whole file as Open does. A valid
// file replaces the one in use atomically; lookups in flight finish on the
// old one. A file that fails validation (a partial download, the wrong
// database type) is logged and counted in Stats and the old file stays in
// use; it is retried once the file changes again.
//
// Polling stops when ctx ends or Close is called. Start returns ErrStarted if
// polling was already started and ErrClosed after Close. For a DB from
// OpenBytes, Start does nothing.
func (d *DB) Start(ctx context.Context) error {
	if d.path == "" {
		return nil
	}
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	switch {
	case d.closed:
		return errorf(ErrClosed, "geo: Start %s: Close was called", d.path)
	case d.started:
		return errorf(ErrStarted, "geo: Start %s: already polling", d.path)
	}
	ctx, cancel := context.WithCancel(ctx)
	d.started = true
	d.cancel = cancel
	d.done = make(chan struct{})
	go d.poll(ctx, d.done)
	return nil
}

// Close stops the poller started by Start and waits for it to return. It is
// idempotent. Lookups keep working on the file in use.
func (d *DB) Close() error {
	d.lifeMu.Lock()
	if d.closed {
		d.lifeMu.Unlock()
		return nil
	}
	d.closed = true
	cancel, done := d.cancel, d.done
	d.lifeMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Reload reads and validates the file now, whether or not it changed, and
// swaps it in if valid. On error the file in use is kept, the error is
// counted in Stats and returned. It returns ErrNoFile for an OpenBytes DB.
func (d *DB) Reload() error {
	if d.path == "" {
		return errorf(ErrNoFile, "geo: Reload: opened with OpenBytes, no file to read")
	}
	d.loadMu.Lock()
	defer d.loadMu.Unlock()
	return d.reloadLocked()
}

func (d *DB) poll(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d.cfg.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.check()
		}
	}
}

// check reloads the file if it differs from the last version seen.
func (d *DB) check() {
	d.loadMu.Lock()
	defer d.loadMu.Unlock()
	id, err := statFile(d.path)
	if err != nil {
		if !d.seenErr { // report a missing file once, not on every tick
			d.seenErr = true
			d.failed(fmt.Errorf("geo: Reload %s: %w", d.path, err))
		}
		return
	}
	d.seenErr = false
	if id == d.seen {
		return
	}
	_ = d.reloadLocked() // logged and counted
}

func (d *DB) reloadLocked() error {
	id, s, err := readFile(d.path)
	if id != (fileID{}) {
		d.seen = id // a rejected version is not retried until it changes
	}
	if err != nil {
		err = fmt.Errorf("geo: Reload %s: %w", d.path, err)
		d.failed(err)
		return err
	}
	d.publish(s)
	d.statsMu.Lock()
	d.stats.Reloads++
	d.statsMu.Unlock()
	d.logger.Info("geo: database reloaded", "path", d.path,
		"database_type", s.databaseType, "build_time", s.buildTime)
	return nil
}

func (d *DB) failed(err error) {
	d.statsMu.Lock()
	d.stats.ReloadErrors++
	d.stats.LastError = err.Error()
	d.statsMu.Unlock()
	d.logger.Error("geo: reload rejected, keeping the database in use",
		"path", d.path, "err", err)
}
