package ruleio

import (
	"context"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// readAllPage is how many rows ReadAll asks for at a time.
const readAllPage = 1000

// ReadAll returns every row of t that q selects (its filters; AfterID and
// Limit are ReadAll's own), reading keyset pages of 1,000 rows in ID order,
// so a large table is never read with one query. It is what Export is given
// by the admin and the command line.
func ReadAll[T rule.Rule](ctx context.Context, t core.Table[T], q core.Query) ([]T, error) {
	var out []T
	q.AfterID, q.Limit = 0, readAllPage
	for {
		rows, err := t.List(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if len(rows) < q.Limit {
			return out, nil
		}
		q.AfterID = rows[len(rows)-1].GetMeta().ID
	}
}
