package feeds

import (
	"context"
	"slices"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// state is what the store holds of one kind.
type state[T rule.Rule] struct {
	rows         map[string]T
	marked       map[string]bool // deactivated by the sync, not written since
	activeSynced int
}

// readPage is the number of rows read per List call.
const readPage = 20_000

func readState[T rule.Rule](ctx context.Context, k *kind[T]) (state[T], error) {
	st := state[T]{rows: map[string]T{}, marked: map[string]bool{}}
	for after := int64(0); ; {
		page, err := k.table.List(ctx, core.Query{AfterID: after, Limit: readPage})
		if err != nil {
			return st, err
		}
		for _, r := range page {
			st.rows[r.Key()] = r
			if autoSynced(r) && r.IsActive() {
				st.activeSynced++
			}
		}
		if len(page) < readPage {
			break
		}
		after = page[len(page)-1].GetMeta().ID
	}
	keys, err := k.marked(ctx)
	if err != nil {
		return st, err
	}
	for _, key := range keys {
		st.marked[key] = true
	}
	return st, nil
}

func autoSynced[T rule.Rule](v T) bool {
	switch x := any(v).(type) {
	case rule.BlockedDomain:
		return x.AutoSynced
	case rule.BlockedUserAgent:
		return x.AutoSynced
	}
	return false
}

// plan is what a sync asks the store to do.
type plan[T rule.Rule] struct {
	add                []T
	reactivate         []string
	deactivate         []string
	unchanged, skipped int
}

// makePlan compares the entries of the lists with the stored rows and
// counts each entry in the report of its source.
func makePlan[T rule.Rule](entries []entry[T], st state[T], reports []SourceReport) plan[T] {
	var p plan[T]
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		key := e.row.Key()
		listed[key] = true
		r := &reports[e.src]
		cur, ok := st.rows[key]
		switch {
		case !ok:
			p.add = append(p.add, e.row)
			r.Added++
		case autoSynced(cur) && cur.IsActive():
			p.unchanged++
			r.Unchanged++
		case autoSynced(cur) && st.marked[key]:
			p.reactivate = append(p.reactivate, key)
			r.Reactivated++
		default: // manual, or switched off by an operator
			p.skipped++
			r.Skipped++
		}
	}
	for key, cur := range st.rows {
		if autoSynced(cur) && cur.IsActive() && !listed[key] {
			p.deactivate = append(p.deactivate, key)
		}
	}
	slices.Sort(p.deactivate)
	return p
}

// checkShrink refuses to deactivate more than the allowed share of the
// synced rows at once, unless forced.
func (s *Syncer) checkShrink(deactivate, activeSynced int, force bool) error {
	if force || deactivate == 0 || float64(deactivate) <= s.cfg.maxDeactivate*float64(activeSynced) {
		return nil
	}
	return errorf(ErrShrink, "the lists would deactivate %d of the %d synced rows, more than %.0f%% at once (Request.Force applies them anyway)",
		deactivate, activeSynced, 100*s.cfg.maxDeactivate)
}
