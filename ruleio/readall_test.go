package ruleio_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/ruleio"
)

// ReadAll pages past the page size and keeps the query's filters.
func TestReadAll(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	for i := range 2_345 {
		r := rule.BlockedEmail{Email: fmt.Sprintf("u%d@example.com", i), Disabled: i%5 == 0}
		if _, err := st.BlockedEmails().Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := ruleio.ReadAll(ctx, st.BlockedEmails(), core.Query{Limit: 7, AfterID: 100})
	if err != nil || len(all) != 2_345 {
		t.Fatalf("ReadAll = %d rows, %v; want 2345", len(all), err)
	}
	seen := map[int64]bool{}
	for _, r := range all {
		if seen[r.ID] {
			t.Fatalf("row %d read twice", r.ID)
		}
		seen[r.ID] = true
	}
	active, err := ruleio.ReadAll(ctx, st.BlockedEmails(), core.Query{ActiveOnly: true})
	if err != nil || len(active) != 2_345-469 {
		t.Fatalf("ReadAll(ActiveOnly) = %d rows, %v; want %d", len(active), err, 2_345-469)
	}
}
