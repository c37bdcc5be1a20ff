package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// ListSyncStore is a core.Store with the methods package feeds needs to
// keep lists current (feeds.Store has the same methods; a store states it
// with var _ feeds.Store = (*Store)(nil) in a test).
type ListSyncStore interface {
	core.Store
	FeedState(ctx context.Context, url string) (etag, lastModified string, err error)
	PutFeedState(ctx context.Context, url, etag, lastModified string) error
	SyncDisabledDomains(ctx context.Context) ([]string, error)
	ApplyDomainSync(ctx context.Context, add []rule.BlockedDomain, reactivate, deactivate []string) (added, reactivated, deactivated int, err error)
	SyncDisabledUserAgents(ctx context.Context) ([]string, error)
	ApplyUserAgentSync(ctx context.Context, add []rule.BlockedUserAgent, reactivate, deactivate []string) (added, reactivated, deactivated int, err error)
	SetLastSyncAt(ctx context.Context, at time.Time) error
}

// RunListSync runs the conformance tests of the list-sync methods against
// stores made by newStore; each subtest gets a new, empty store.
func RunListSync(t *testing.T, newStore func(t *testing.T) ListSyncStore) {
	t.Run("FeedState", func(t *testing.T) { testFeedState(t, newStore(t)) })
	t.Run("ApplyAdds", func(t *testing.T) { testApplyAdds(t, newStore(t)) })
	t.Run("ManualRowsUntouched", func(t *testing.T) { testManualRows(t, newStore(t)) })
	t.Run("DeactivateReactivate", func(t *testing.T) { testDeactivateReactivate(t, newStore(t)) })
	t.Run("OperatorWriteTakesRowBack", func(t *testing.T) { testOperatorWrite(t, newStore(t)) })
	t.Run("AllOrNothing", func(t *testing.T) { testApplyAllOrNothing(t, newStore(t)) })
	t.Run("UserAgents", func(t *testing.T) { testApplyUserAgents(t, newStore(t)) })
	t.Run("Batch", func(t *testing.T) { testApplyBatch(t, newStore(t)) })
	t.Run("LastSyncAt", func(t *testing.T) { testLastSyncAt(t, newStore(t)) })
}

func version(t *testing.T, s core.Store) int64 {
	t.Helper()
	v, err := s.Version(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testFeedState(t *testing.T, s ListSyncStore) {
	c := ctx(t)
	const a, b = "https://lists.example/a.txt", "https://user:secret@lists.example/b.txt?token=x"
	if e, m, err := s.FeedState(c, a); err != nil || e != "" || m != "" {
		t.Fatalf("FeedState of a new URL = %q, %q, %v; want empty, nil", e, m, err)
	}
	v0 := version(t, s)
	if err := s.PutFeedState(c, a, `"abc"`, "Tue, 01 Jul 2025 10:00:00 GMT"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFeedState(c, b, `W/"b-1"`, ""); err != nil {
		t.Fatal(err)
	}
	if e, m, err := s.FeedState(c, a); err != nil || e != `"abc"` || m != "Tue, 01 Jul 2025 10:00:00 GMT" {
		t.Fatalf("FeedState(a) = %q, %q, %v", e, m, err)
	}
	if e, m, err := s.FeedState(c, b); err != nil || e != `W/"b-1"` || m != "" {
		t.Fatalf("FeedState(b) = %q, %q, %v", e, m, err)
	}
	if e, _, _ := s.FeedState(c, "https://lists.example/A.txt"); e != "" {
		t.Fatalf("URLs differing in case share state %q", e)
	}
	if err := s.PutFeedState(c, a, "", "Wed, 02 Jul 2025 10:00:00 GMT"); err != nil {
		t.Fatal(err)
	}
	if e, m, _ := s.FeedState(c, a); e != "" || m != "Wed, 02 Jul 2025 10:00:00 GMT" {
		t.Fatalf("FeedState(a) after replace = %q, %q", e, m)
	}
	if v := version(t, s); v != v0 {
		t.Fatalf("PutFeedState moved the version from %d to %d; validators are not rules", v0, v)
	}
}

// apply is ApplyDomainSync that fails the test on error.
func apply(t *testing.T, s ListSyncStore, add []rule.BlockedDomain, re, de []string) [3]int {
	t.Helper()
	a, r, d, err := s.ApplyDomainSync(ctx(t), add, re, de)
	if err != nil {
		t.Fatalf("ApplyDomainSync: %v", err)
	}
	return [3]int{a, r, d}
}

func synced(domains ...string) []rule.BlockedDomain {
	out := make([]rule.BlockedDomain, len(domains))
	for i, d := range domains {
		out[i] = rule.BlockedDomain{Domain: d, Type: "disposable", Reason: "synced", AutoSynced: true}
	}
	return out
}

func getDomain(t *testing.T, s core.Store, d string) rule.BlockedDomain {
	t.Helper()
	r, err := s.BlockedDomains().Get(ctx(t), d)
	if err != nil {
		t.Fatalf("Get(%q): %v", d, err)
	}
	return r
}

func marks(t *testing.T, s ListSyncStore) []string {
	t.Helper()
	m, err := s.SyncDisabledDomains(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func testApplyAdds(t *testing.T, s ListSyncStore) {
	v0 := version(t, s)
	add := synced("a.example", "b.example", "c.example")
	add = append(add, rule.BlockedDomain{Domain: "A.Example.", Disabled: true}) // the same key again, and not synced
	if got := apply(t, s, add, nil, nil); got != [3]int{3, 0, 0} {
		t.Fatalf("first apply = %v, want 3 added", got)
	}
	if v := version(t, s); v != v0+1 {
		t.Fatalf("version moved by %d, want 1 per apply", v-v0)
	}
	a := getDomain(t, s, "a.example")
	if !a.AutoSynced || a.Disabled || a.ID == 0 || a.CreatedAt.IsZero() || a.Type != "disposable" || a.Reason != "synced" {
		t.Fatalf("inserted row = %+v, want an active AutoSynced row with the given fields", a)
	}
	if got := apply(t, s, synced("a.example", "b.example", "c.example"), nil, nil); got != [3]int{} {
		t.Fatalf("second apply of the same rows = %v, want nothing changed", got)
	}
	if v := version(t, s); v != v0+1 {
		t.Fatalf("an apply that changed nothing moved the version to %d", v)
	}
	if got := apply(t, s, nil, nil, nil); got != [3]int{} {
		t.Fatalf("empty apply = %v", got)
	}
}

func testManualRows(t *testing.T, s ListSyncStore) {
	c := ctx(t)
	manual := []rule.BlockedDomain{
		{Domain: "manual.example", Type: "spam", Reason: "by hand"},
		{Domain: "off.example", Reason: "switched off by hand", Disabled: true},
	}
	for _, m := range manual {
		if _, err := s.BlockedDomains().Put(c, m); err != nil {
			t.Fatal(err)
		}
	}
	v0 := version(t, s)
	got := apply(t, s, synced("manual.example", "off.example"), []string{"off.example", "manual.example"},
		[]string{"manual.example", "off.example", "missing.example"})
	if got != [3]int{} {
		t.Fatalf("apply over manual rows = %v, want nothing changed", got)
	}
	if v := version(t, s); v != v0 {
		t.Fatalf("version moved from %d to %d", v0, v)
	}
	if m := getDomain(t, s, "manual.example"); m.AutoSynced || m.Disabled || m.Type != "spam" || m.Reason != "by hand" {
		t.Fatalf("manual row changed: %+v", m)
	}
	if m := getDomain(t, s, "off.example"); m.AutoSynced || !m.Disabled {
		t.Fatalf("manual disabled row changed: %+v", m)
	}
}

func testDeactivateReactivate(t *testing.T, s ListSyncStore) {
	apply(t, s, synced("a.example", "b.example", "c.example"), nil, nil)
	v0 := version(t, s)
	if got := apply(t, s, nil, nil, []string{"a.example", "b.example"}); got != [3]int{0, 0, 2} {
		t.Fatalf("deactivate = %v, want 2", got)
	}
	if v := version(t, s); v != v0+1 {
		t.Fatalf("version moved by %d, want 1", v-v0)
	}
	if a := getDomain(t, s, "a.example"); !a.Disabled || !a.AutoSynced {
		t.Fatalf("deactivated row = %+v, want disabled and still AutoSynced", a)
	}
	if m := marks(t, s); !slices.Equal(m, []string{"a.example", "b.example"}) {
		t.Fatalf("SyncDisabledDomains = %v, want [a.example b.example]", m)
	}
	if got := apply(t, s, nil, nil, []string{"a.example"}); got != [3]int{} {
		t.Fatalf("deactivating an inactive row = %v, want nothing", got)
	}
	// One call may add, reactivate and deactivate; still one version bump.
	got := apply(t, s, synced("d.example"), []string{"a.example", "c.example"}, []string{"c.example"})
	if got != [3]int{1, 1, 1} {
		t.Fatalf("mixed apply = %v, want 1 added, 1 reactivated (a), 1 deactivated (c)", got)
	}
	if v := version(t, s); v != v0+2 {
		t.Fatalf("version moved by %d over two applies, want 2", v-v0)
	}
	if a := getDomain(t, s, "a.example"); a.Disabled {
		t.Fatalf("reactivated row still disabled: %+v", a)
	}
	if m := marks(t, s); !slices.Equal(m, []string{"b.example", "c.example"}) {
		t.Fatalf("SyncDisabledDomains = %v, want [b.example c.example]", m)
	}
}

func testOperatorWrite(t *testing.T, s ListSyncStore) {
	c := ctx(t)
	apply(t, s, synced("a.example", "b.example", "c.example", "d.example"), nil, nil)
	apply(t, s, nil, nil, []string{"a.example", "d.example"})
	// An operator saves the sync-deactivated row as it is (an admin page
	// that round-trips the row): the row is theirs now, off.
	a := getDomain(t, s, "a.example")
	if _, err := s.BlockedDomains().Put(c, a); err != nil {
		t.Fatal(err)
	}
	// An operator takes b over (AutoSynced false) and switches c off.
	if _, err := s.BlockedDomains().Put(c, rule.BlockedDomain{Domain: "b.example", Type: "spam"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlockedDomains().Put(c, rule.BlockedDomain{Domain: "c.example", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	// d is deleted and put back by hand.
	if err := s.BlockedDomains().Delete(c, "d.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlockedDomains().Put(c, rule.BlockedDomain{Domain: "d.example", Disabled: true, AutoSynced: true}); err != nil {
		t.Fatal(err)
	}
	if m := marks(t, s); len(m) != 0 {
		t.Fatalf("SyncDisabledDomains = %v after operator writes, want none", m)
	}
	got := apply(t, s, synced("a.example", "b.example", "c.example", "d.example"),
		[]string{"a.example", "b.example", "c.example", "d.example"}, []string{"b.example", "c.example"})
	if got != [3]int{} {
		t.Fatalf("apply over operator rows = %v, want nothing changed", got)
	}
	if a := getDomain(t, s, "a.example"); !a.Disabled {
		t.Fatal("the sync switched back on a row an operator saved switched off")
	}
	if b := getDomain(t, s, "b.example"); b.Disabled || b.AutoSynced || b.Type != "spam" {
		t.Fatalf("operator's row b changed: %+v", b)
	}
	if d := getDomain(t, s, "d.example"); !d.Disabled {
		t.Fatal("the sync switched back on a row an operator wrote switched off")
	}
}

func testApplyAllOrNothing(t *testing.T, s ListSyncStore) {
	apply(t, s, synced("a.example", "b.example"), nil, nil)
	v0 := version(t, s)
	add := synced("c.example", "not a domain", "e.example")
	_, _, _, err := s.ApplyDomainSync(ctx(t), add, nil, []string{"a.example"})
	if !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("apply with an invalid row: %v, want ErrInvalid", err)
	}
	if v := version(t, s); v != v0 {
		t.Fatalf("a refused apply moved the version from %d to %d", v0, v)
	}
	rows, err := s.BlockedDomains().List(ctx(t), core.Query{ActiveOnly: true})
	if err != nil || len(rows) != 2 {
		t.Fatalf("after a refused apply: %d active rows, %v; want the 2 there were", len(rows), err)
	}
}

func testApplyUserAgents(t *testing.T, s ListSyncStore) {
	c := ctx(t)
	add := []rule.BlockedUserAgent{
		{Pattern: "BadBot", Category: "scraper", Description: "x", AutoSynced: true, HitCount: 99},
		{Pattern: `^evil[0-9]+$`, Match: rule.UARegex, AutoSynced: true},
		{Pattern: "badbot"}, // another key: patterns are case-sensitive keys
	}
	a, r, d, err := s.ApplyUserAgentSync(c, add, nil, nil)
	if err != nil || a != 3 || r != 0 || d != 0 {
		t.Fatalf("ApplyUserAgentSync = %d, %d, %d, %v; want 3 added", a, r, d, err)
	}
	got, err := s.BlockedUserAgents().Get(c, "BadBot")
	if err != nil || !got.AutoSynced || got.HitCount != 0 || got.Category != "scraper" {
		t.Fatalf("inserted row = %+v, %v; want AutoSynced, no hits", got, err)
	}
	if err := s.AddHits(c, core.HitUserAgent, map[int64]int64{got.ID: 5}); err != nil {
		t.Fatal(err)
	}
	if _, _, d, err := s.ApplyUserAgentSync(c, nil, nil, []string{"BadBot", `^evil[0-9]+$`}); err != nil || d != 2 {
		t.Fatalf("deactivate = %d, %v; want 2", d, err)
	}
	m, err := s.SyncDisabledUserAgents(c)
	slices.Sort(m)
	if err != nil || !slices.Equal(m, []string{"BadBot", `^evil[0-9]+$`}) {
		t.Fatalf("SyncDisabledUserAgents = %v, %v", m, err)
	}
	if _, r, _, err := s.ApplyUserAgentSync(c, nil, []string{"BadBot"}, nil); err != nil || r != 1 {
		t.Fatalf("reactivate = %d, %v; want 1", r, err)
	}
	if got, _ := s.BlockedUserAgents().Get(c, "BadBot"); got.Disabled || got.HitCount != 5 {
		t.Fatalf("reactivated row = %+v, want active with its 5 hits", got)
	}
	if _, _, _, err := s.ApplyUserAgentSync(c, []rule.BlockedUserAgent{{Pattern: "(", Match: rule.UARegex}}, nil, nil); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("invalid regex: %v, want ErrInvalid", err)
	}
}

func testApplyBatch(t *testing.T, s ListSyncStore) {
	const n = 5000
	add := make([]rule.BlockedDomain, n)
	keys := make([]string, n)
	for i := range add {
		keys[i] = fmt.Sprintf("d%05d.example", i)
		add[i] = rule.BlockedDomain{Domain: keys[i], AutoSynced: true}
	}
	if got := apply(t, s, add, nil, nil); got != [3]int{n, 0, 0} {
		t.Fatalf("apply of %d rows = %v", n, got)
	}
	if got := apply(t, s, add, nil, keys[:n/2]); got != [3]int{0, 0, n / 2} {
		t.Fatalf("deactivate %d = %v", n/2, got)
	}
	if got := apply(t, s, nil, keys, nil); got != [3]int{0, n / 2, 0} {
		t.Fatalf("reactivate = %v", got)
	}
	rows, err := s.BlockedDomains().List(ctx(t), core.Query{ActiveOnly: true})
	if err != nil || len(rows) != n {
		t.Fatalf("List = %d rows, %v; want %d", len(rows), err, n)
	}
}

func testLastSyncAt(t *testing.T, s ListSyncStore) {
	c := ctx(t)
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.FixedZone("X", 3600))
	v0 := version(t, s)
	if err := s.SetLastSyncAt(c, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Settings(c)
	if err != nil || !got.LastSyncAt.Equal(at) || got.LastSyncAt.Location() != time.UTC {
		t.Fatalf("Settings().LastSyncAt = %v, %v; want %v in UTC", got.LastSyncAt, err, at)
	}
	want := core.DefaultSettings()
	want.LastSyncAt, want.UpdatedAt = got.LastSyncAt, got.UpdatedAt
	if got != want {
		t.Fatalf("SetLastSyncAt on an empty store stored %+v, want the defaults", got)
	}
	if v := version(t, s); v != v0+1 {
		t.Fatalf("version moved by %d, want 1 (every replica must see it)", v-v0)
	}
	// An admin's change made meanwhile survives.
	admin := got
	admin.MaxLoginAttempts, admin.SyncBadBots = 9, false
	if _, err := s.PutSettings(c, admin); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Settings(c)
	if err := s.SetLastSyncAt(c, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Settings(c)
	if after.MaxLoginAttempts != 9 || after.SyncBadBots || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("SetLastSyncAt changed other fields: before %+v, after %+v", before, after)
	}
	if !after.LastSyncAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("LastSyncAt = %v, want %v", after.LastSyncAt, at.Add(time.Hour))
	}
	// A settings write holding the LastSyncAt it read before the sync does
	// not put it back.
	stale := before
	stale.MaxLoginAttempts = 4
	if _, err := s.PutSettings(c, stale); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Settings(c); !got.LastSyncAt.Equal(at.Add(time.Hour)) || got.MaxLoginAttempts != 4 {
		t.Fatalf("after a settings write: LastSyncAt %v (want %v), max_login_attempts %d (want 4)",
			got.LastSyncAt, at.Add(time.Hour), got.MaxLoginAttempts)
	}
}
