package feeds

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wardenkit/warden/core/rule"
)

// downloaded holds what the sources of one kind gave.
type downloaded struct {
	reports   []SourceReport // the built-in source first, if any, then one per URL
	first     int            // index in reports of the first URL
	bodies    [][]byte       // per URL
	types     []string       // Content-Type per URL
	prev      []Validators   // stored before the sync, per URL
	next      []Validators   // of the responses, per URL
	unchanged bool           // every source unchanged: nothing to do
}

// download fetches every URL of k, conditionally unless force. When every
// URL is unchanged (304) and the built-in list, if any, is stored already,
// the kind is unchanged. When only some are, those are fetched again in
// full: a kind is applied from all of its lists or not at all.
func download[T rule.Rule](ctx context.Context, s *Syncer, k *kind[T], force bool) (*downloaded, error) {
	n := len(k.urls)
	dl := &downloaded{bodies: make([][]byte, n), types: make([]string, n), prev: make([]Validators, n), next: make([]Validators, n)}
	if k.builtin != nil {
		dl.reports = append(dl.reports, SourceReport{Source: builtinSource})
		dl.first = 1
	}
	for _, u := range k.urls {
		dl.reports = append(dl.reports, SourceReport{Source: redact(u)})
	}
	resps := make([]*Response, n)
	all304 := n > 0
	for i, u := range k.urls {
		if !force {
			e, m, err := s.store.FeedState(ctx, u)
			if err != nil {
				return dl, fmt.Errorf("reading the validators of %s: %w", redact(u), err)
			}
			dl.prev[i] = Validators{ETag: e, LastModified: m}
		}
		resp, err := s.fetcher.Fetch(ctx, u, dl.prev[i])
		if err != nil {
			dl.reports[dl.first+i].Err = err
			return dl, err
		}
		resps[i], all304 = resp, all304 && resp.NotModified
	}
	if all304 {
		pending, err := builtinPending(ctx, k)
		if err != nil {
			return dl, err
		}
		if !pending {
			for i := range k.urls {
				dl.reports[dl.first+i].NotModified = true
			}
			dl.unchanged = true
			return dl, nil
		}
	}
	for i, u := range k.urls {
		resp := resps[i]
		if resp.NotModified { // another source changed: this one is needed in full
			var err error
			if resp, err = s.fetcher.Fetch(ctx, u, Validators{}); err != nil {
				dl.reports[dl.first+i].Err = err
				return dl, err
			}
		}
		dl.bodies[i], dl.types[i], dl.next[i] = resp.Body, resp.ContentType, resp.Validators
		dl.reports[dl.first+i].Bytes = len(resp.Body)
	}
	return dl, nil
}

// builtinPending reports whether the built-in list of k has an entry to add
// or to reactivate.
func builtinPending[T rule.Rule](ctx context.Context, k *kind[T]) (bool, error) {
	if k.builtin == nil {
		return false, nil
	}
	st, err := readState(ctx, k)
	if err != nil {
		return false, err
	}
	entries := make([]entry[T], len(k.builtin))
	for i, b := range k.builtin {
		entries[i] = entry[T]{row: b}
	}
	p := makePlan(entries, st, make([]SourceReport, 1))
	return len(p.add)+len(p.reactivate) > 0, nil
}

// parseAll reads every source of dl, fills in their reports and merges
// their entries, the first source of a key winning.
func parseAll[T rule.Rule](s *Syncer, k *kind[T], dl *downloaded) ([]entry[T], error) {
	seen := map[string]bool{}
	var out []entry[T]
	for _, b := range k.builtin {
		n, err := rule.Normalize(b)
		if err != nil {
			return nil, fmt.Errorf("built-in entry %q: %w", b.Key(), err)
		}
		if !seen[n.Key()] {
			seen[n.Key()] = true
			out = append(out, entry[T]{row: n})
			dl.reports[0].Entries++
		}
	}
	for i := range k.urls {
		src := dl.first + i
		r := &dl.reports[src]
		items, bad, err := splitList(dl.bodies[i], dl.types[i])
		if err != nil {
			r.Err = err
			return nil, fmt.Errorf("%s: %w", r.Source, err)
		}
		var t tally
		for _, b := range bad {
			t.bad(b)
		}
		usable := 0
		for _, it := range items {
			row, problem, rejected := k.entry(it, r.Source)
			switch {
			case problem != "" && rejected:
				t.reject(lineError(it.line, it.text, problem))
			case problem != "":
				t.bad(lineError(it.line, it.text, problem))
			default:
				usable++
				if !seen[row.Key()] {
					seen[row.Key()] = true
					out = append(out, entry[T]{row: row, src: src})
					r.Entries++
				}
			}
		}
		r.ParseErrors, r.Rejected, r.Samples = t.parseErrors, t.rejected, t.samples
		if err := t.check(usable, s.cfg.maxInvalid); err != nil {
			r.Err = err
			return nil, fmt.Errorf("%s: %w", r.Source, err)
		}
	}
	return out, nil
}

// saveValidators stores the validators of every URL that changed, after
// the list was applied (stored before, a failed apply would be skipped by
// the next sync's 304). A failure only costs a full download next time.
func (s *Syncer) saveValidators(ctx context.Context, urls []string, dl *downloaded) {
	for i, u := range urls {
		v := storable(dl.next[i])
		if v == dl.prev[i] {
			continue
		}
		if err := s.store.PutFeedState(ctx, u, v.ETag, v.LastModified); err != nil {
			s.cfg.log.Warn("feeds: storing validators failed; the next sync downloads the list in full",
				"source", redact(u), "error", err)
		}
	}
}

// storable drops a validator no store need keep: too long or not plain
// text (it could not be sent back as it was received).
func storable(v Validators) Validators {
	ok := func(s string, max int) bool {
		if len(s) > max || !utf8.ValidString(s) {
			return false
		}
		return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
	}
	if !ok(v.ETag, 1000) {
		v.ETag = ""
	}
	if !ok(v.LastModified, 100) {
		v.LastModified = ""
	}
	return v
}
