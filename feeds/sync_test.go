package feeds_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/feeds"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var syncTime = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// The published disposable-email-domains list, served as GitHub serves it
// (an excerpt): every entry stored, then a second sync answered 304 costs
// one request and writes nothing.
func TestSyncRealListThen304(t *testing.T) {
	ctx := testCtx(t)
	body := readFixture(t, "disposable_email_blocklist.conf")
	srv := newListServer(t, body)
	st := memstore.New()
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()), feeds.WithClock(fixedClock{syncTime}))

	v0 := version(t, st)
	rep, err := s.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	src := rep.Domains.Sources[0]
	total := strings.Count(body, "\n")
	if rep.Domains.Status != feeds.StatusApplied || rep.Domains.Added != total || src.Entries != total ||
		src.Rejected != 0 || src.ParseErrors != 0 || src.Bytes != len(body) {
		t.Fatalf("report = %+v; want every one of the %d lines added", rep.Domains, total)
	}
	if rep.Bots.Status != feeds.StatusNotRequested {
		t.Fatalf("bots: %v, want not requested", rep.Bots.Status)
	}
	if v := version(t, st); v != v0+2 {
		t.Fatalf("version moved by %d; want 2 (one apply, one last_sync_at)", v-v0)
	}
	row, err := st.BlockedDomains().Get(ctx, "10minutemail.com")
	if err != nil || !row.AutoSynced || row.Disabled || row.Type != "disposable" {
		t.Fatalf("row = %+v, %v", row, err)
	}
	if set, _ := st.Settings(ctx); !set.LastSyncAt.Equal(syncTime) || !rep.LastSyncAt.Equal(syncTime) {
		t.Fatalf("LastSyncAt = %v (report %v), want %v", set.LastSyncAt, rep.LastSyncAt, syncTime)
	}

	v1 := version(t, st)
	rep, err = s.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Domains.Status != feeds.StatusUnchanged || !rep.Domains.Sources[0].NotModified || !rep.LastSyncAt.IsZero() {
		t.Fatalf("second sync = %+v, want unchanged, not modified, no last_sync_at", rep)
	}
	if v := version(t, st); v != v1 {
		t.Fatalf("an unchanged list moved the version from %d to %d", v1, v)
	}
	if req, cond, nm := srv.counts(); req != 2 || cond != 1 || nm != 1 {
		t.Fatalf("server saw %d requests, %d conditional, %d answered 304; want 2, 1, 1", req, cond, nm)
	}
}

// Entries that leave the list are deactivated, not deleted; when they come
// back the sync switches on only those it switched off itself.
func TestSyncDeactivatesAndReactivates(t *testing.T) {
	ctx := testCtx(t)
	list := domains("d", 10)
	srv := newListServer(t, lines(list))
	st := memstore.New()
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()))
	mustSync(t, s, feeds.Domains)

	srv.set(lines(list[:7])) // d7, d8, d9 leave the list
	rep := mustSync(t, s, feeds.Domains)
	if want := (feeds.Counts{Deactivated: 3, Unchanged: 7}); rep.Domains.Counts != want {
		t.Fatalf("counts = %+v, want %+v", rep.Domains.Counts, want)
	}
	if r, err := st.BlockedDomains().Get(ctx, "d8.example"); err != nil || !r.Disabled {
		t.Fatalf("d8 = %+v, %v; want kept and disabled", r, err)
	}
	// An operator switches d9 off for good (saving the row as it is).
	d9, _ := st.BlockedDomains().Get(ctx, "d9.example")
	d9.Reason = "checked by hand: keep off"
	if _, err := st.BlockedDomains().Put(ctx, d9); err != nil {
		t.Fatal(err)
	}
	srv.set(lines(list)) // all back
	rep = mustSync(t, s, feeds.Domains)
	if want := (feeds.Counts{Reactivated: 2, Unchanged: 7, Skipped: 1}); rep.Domains.Counts != want {
		t.Fatalf("counts = %+v, want %+v", rep.Domains.Counts, want)
	}
	if r, _ := st.BlockedDomains().Get(ctx, "d9.example"); !r.Disabled {
		t.Fatal("the sync switched back on a row an operator had saved switched off")
	}
}

// Manual rows are never changed, and a synced row an operator takes over
// (AutoSynced false) is never flipped back, whatever the list says.
func TestSyncLeavesOperatorRows(t *testing.T) {
	ctx := testCtx(t)
	st := memstore.New()
	put := func(d rule.BlockedDomain) {
		if _, err := st.BlockedDomains().Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	put(rule.BlockedDomain{Domain: "manual.example", Type: "spam", Reason: "by hand"})
	put(rule.BlockedDomain{Domain: "allowed.example", Disabled: true, Reason: "a customer's domain"})
	srv := newListServer(t, lines([]string{"manual.example", "allowed.example", "taken.example", "a.example", "b.example"}))
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()))
	rep := mustSync(t, s, feeds.Domains)
	if want := (feeds.Counts{Added: 3, Skipped: 2}); rep.Domains.Counts != want {
		t.Fatalf("counts = %+v, want %+v", rep.Domains.Counts, want)
	}
	put(rule.BlockedDomain{Domain: "taken.example", Type: "custom", Reason: "now mine"}) // AutoSynced false
	srv.set(lines([]string{"a.example", "b.example"}))                                   // everything else leaves
	rep = mustSync(t, s, feeds.Domains)
	if want := (feeds.Counts{Unchanged: 2}); rep.Domains.Counts != want {
		t.Fatalf("counts = %+v, want %+v (no operator row deactivated)", rep.Domains.Counts, want)
	}
	for _, d := range []string{"manual.example", "taken.example"} {
		if r, _ := st.BlockedDomains().Get(ctx, d); r.Disabled || r.AutoSynced {
			t.Fatalf("%s = %+v, want untouched", d, r)
		}
	}
	if r, _ := st.BlockedDomains().Get(ctx, "allowed.example"); !r.Disabled || r.AutoSynced {
		t.Fatalf("allowed.example = %+v, want still off and manual", r)
	}
}

// A list that suddenly shrinks is refused, nothing changes, and the next
// sync downloads it again; Force applies it.
func TestSyncRefusesShrink(t *testing.T) {
	ctx := testCtx(t)
	list := domains("d", 100)
	srv := newListServer(t, lines(list))
	st := memstore.New()
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()))
	mustSync(t, s, feeds.Domains)
	srv.set(lines(list[:40])) // 60 % gone
	v0 := version(t, st)
	rep, err := s.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
	if !errors.Is(err, feeds.ErrShrink) || rep.Domains.Status != feeds.StatusFailed || !errors.Is(rep.Domains.Err, feeds.ErrShrink) {
		t.Fatalf("Sync = %v, %+v; want ErrShrink", err, rep.Domains)
	}
	if v := version(t, st); v != v0 || !rep.LastSyncAt.IsZero() {
		t.Fatalf("a refused sync wrote (version %d -> %d, last sync %v)", v0, v, rep.LastSyncAt)
	}
	_, cond0, _ := srv.counts()
	if _, err := s.Sync(ctx, feeds.Request{Kinds: feeds.Domains}); !errors.Is(err, feeds.ErrShrink) {
		t.Fatalf("second Sync: %v, want ErrShrink again (the validators of a refused list are not kept)", err)
	}
	if _, cond1, _ := srv.counts(); cond1 != cond0+1 {
		t.Fatal("the second sync did not ask with the validators of the last applied list")
	}
	rep, err = s.Sync(ctx, feeds.Request{Kinds: feeds.Domains, Force: true})
	if err != nil || rep.Domains.Deactivated != 60 {
		t.Fatalf("forced Sync = %+v, %v; want 60 deactivated", rep.Domains, err)
	}
	// 40 of 100 gone is within the default half.
	s2 := newSyncer(t, memstore.New(), feeds.WithDomainURLs(srv.URL()))
	srv.set(lines(list))
	mustSync(t, s2, feeds.Domains)
	srv.set(lines(list[:60]))
	if rep := mustSync(t, s2, feeds.Domains); rep.Domains.Deactivated != 40 {
		t.Fatalf("deactivated %d, want 40", rep.Domains.Deactivated)
	}
}

// Bad input is reported per line; a body that is not a list is refused as
// a whole and changes nothing.
func TestSyncBadInput(t *testing.T) {
	good := domains("g", 95)
	junk := []string{
		"not a domain",
		strings.Repeat("x", 5000) + ".example",
		"bin\x00\x01\x02ary",
		"\xff\xfe.example",
		"gmail.com", // protected: rejected, not a parse error
		"co.uk",     // public suffix
		"# comment", // ignored
		"",          // ignored
		"*.wild.example",
	}
	cases := []struct {
		name      string
		body      string
		ctype     string
		wantErr   error
		wantParse int
		wantRej   int
	}{
		{"junk_lines_counted", lines(append(good, junk...)), "text/plain", nil, 4, 2},
		{"html_error_page_200", "<!DOCTYPE html><html><body>Rate limited</body></html>", "text/html", feeds.ErrNotList, 0, 0},
		{"html_without_content_type", "\n  <html><head><title>404</title></head></html>", "text/plain", feeds.ErrNotList, 0, 0},
		{"json_object", `{"error": "not found"}`, "application/json", feeds.ErrNotList, 0, 0},
		{"empty_body", "\n\n", "text/plain", feeds.ErrNotList, 0, 0},
		{"only_comments", "# nothing here\n", "text/plain", feeds.ErrNotList, 0, 0},
		{"mostly_junk", lines(append(good[:5], domains("bad domain ", 50)...)), "text/plain", feeds.ErrNotList, 50, 0},
		{"binary_body", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + strings.Repeat("\x00\xff", 3000), "application/octet-stream", feeds.ErrNotList, 0, 0},
		{"json_array", `["a.example", "b.example", 7, {"x": 1}, "c.example"]`, "application/json", feeds.ErrNotList, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := testCtx(t)
			srv := newListServer(t, c.body)
			srv.contentType = c.ctype
			st := memstore.New()
			if _, err := st.BlockedDomains().Put(ctx, rule.BlockedDomain{Domain: "keep.example", AutoSynced: true}); err != nil {
				t.Fatal(err)
			}
			v0 := version(t, st)
			s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()), feeds.WithMaxDeactivate(1))
			rep, err := s.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
			src := rep.Domains.Sources[0]
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || rep.Domains.Status != feeds.StatusFailed {
					t.Fatalf("Sync = %v, status %s; want %v", err, rep.Domains.Status, c.wantErr)
				}
				if v := version(t, st); v != v0 {
					t.Fatalf("a refused list changed the store (version %d -> %d)", v0, v)
				}
				if c.wantParse > 0 && src.ParseErrors != c.wantParse {
					t.Fatalf("parse errors = %d, want %d", src.ParseErrors, c.wantParse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.ParseErrors != c.wantParse || src.Rejected != c.wantRej || len(src.Samples) != c.wantParse+c.wantRej {
				t.Fatalf("parse errors %d, rejected %d, samples %+v; want %d, %d", src.ParseErrors, src.Rejected, src.Samples, c.wantParse, c.wantRej)
			}
			for _, smp := range src.Samples {
				if len(smp.Text) > 80 || strings.ContainsRune(smp.Text, 0) {
					t.Fatalf("sample text not cleaned: %q", smp.Text)
				}
			}
			if _, err := st.BlockedDomains().Get(ctx, "wild.example"); err != nil {
				t.Fatalf("*.wild.example not stored as wild.example: %v", err)
			}
			if _, err := st.BlockedDomains().Get(ctx, "gmail.com"); !errors.Is(err, core.ErrNotFound) {
				t.Fatal("a protected domain was stored")
			}
		})
	}
}

// A kind is applied from all of its sources or not at all.
func TestSyncSources(t *testing.T) {
	ctx := testCtx(t)
	a := newListServer(t, lines([]string{"a1.example", "shared.example"}))
	b := newListServer(t, `["b1.example", "shared.example", "B1.EXAMPLE."]`)
	b.contentType = "application/json"
	st := memstore.New()
	s := newSyncer(t, st, feeds.WithDomainURLs(a.URL(), b.URL()))
	rep := mustSync(t, s, feeds.Domains)
	if got := rep.Domains.Sources; got[0].Added != 2 || got[1].Added != 1 || got[1].Entries != 1 {
		t.Fatalf("sources = %+v; want a: 2 added, b: 1 (shared counted once, for the first source)", got)
	}
	// b changes, a does not: a is downloaded in full again, since its
	// entries are needed to know what left the lists.
	b.set(`["b2.example"]`)
	reqA, _, _ := a.counts()
	rep = mustSync(t, s, feeds.Domains)
	if want := (feeds.Counts{Added: 1, Deactivated: 1, Unchanged: 2}); rep.Domains.Counts != want {
		t.Fatalf("counts = %+v, want %+v", rep.Domains.Counts, want)
	}
	if req, _, _ := a.counts(); req != reqA+2 {
		t.Fatalf("source a asked %d times, want twice (304, then in full)", req-reqA)
	}
	// One source failing leaves the kind as it was.
	a.setStatus(http.StatusServiceUnavailable)
	b.set(`["b3.example"]`)
	v0 := version(t, st)
	rep, err := s.Sync(ctx, feeds.Request{Kinds: feeds.Domains})
	if !errors.Is(err, feeds.ErrHTTPStatus) || rep.Domains.Status != feeds.StatusFailed || rep.Domains.Sources[0].Err == nil {
		t.Fatalf("Sync with a failing source = %v, %+v", err, rep.Domains)
	}
	if v := version(t, st); v != v0 {
		t.Fatal("a failing source let the other one change the store")
	}
}

// The settings switches are honoured; Kinds picks the lists.
func TestSyncSwitches(t *testing.T) {
	ctx := testCtx(t)
	srv := newListServer(t, lines(domains("d", 3)))
	st := memstore.New()
	set := core.DefaultSettings()
	set.SyncDisposableDomains = false
	if _, err := st.PutSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()))
	rep := mustSync(t, s, feeds.All)
	if rep.Domains.Status != feeds.StatusDisabled || rep.Bots.Status != feeds.StatusApplied || rep.Bots.Added != 21 {
		t.Fatalf("report = %+v", rep)
	}
	if req, _, _ := srv.counts(); req != 0 {
		t.Fatal("a disabled kind downloaded its list")
	}
	rep = mustSync(t, s, feeds.Bots)
	if rep.Bots.Status != feeds.StatusUnchanged || !rep.LastSyncAt.IsZero() {
		t.Fatalf("built-in list again: %+v, want unchanged and nothing written", rep.Bots)
	}
	if got, _ := st.Settings(ctx); got.SyncDisposableDomains {
		t.Fatal("the sync changed the settings switch")
	}
}

// Bad bots: the built-in list plus the crawler-user-agents format, whose
// patterns are regexes; patterns that would block browsers, scripts' HTTP
// clients or search engines are rejected, like regexes rule validation
// refuses.
func TestSyncBots(t *testing.T) {
	ctx := testCtx(t)
	srv := newListServer(t, readFixture(t, "crawler-user-agents.json"))
	srv.contentType = "application/json"
	st := memstore.New()
	s := newSyncer(t, st, feeds.WithBotURLs(srv.URL()))
	rep := mustSync(t, s, feeds.Bots)
	built, crawl := rep.Bots.Sources[0], rep.Bots.Sources[1]
	if built.Source != "builtin" || built.Added != 21 {
		t.Fatalf("built-in source = %+v", built)
	}
	if crawl.Entries != 6 || crawl.Rejected != 6 || crawl.ParseErrors != 0 || rep.Bots.Added != 27 {
		t.Fatalf("crawler source = %+v; want 6 entries and 6 rejected", crawl)
	}
	for _, p := range []string{"python-requests", "Go-http-client", "[wW]get", `Googlebot\/`, "(unclosed"} {
		if _, err := st.BlockedUserAgents().Get(ctx, p); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("pattern %q stored", p)
		}
	}
	got, err := st.BlockedUserAgents().Get(ctx, "AdsBot-Google([^-]|$)")
	if err != nil || got.Match != rule.UARegex || !got.AutoSynced || got.Category != "bot" {
		t.Fatalf("regex row = %+v, %v", got, err)
	}
	if got, _ := st.BlockedUserAgents().Get(ctx, "libwww-perl"); got.Match != rule.UAContains {
		t.Fatalf("libwww-perl = %+v; want the built-in contains row (first source wins)", got)
	}
}

// The reference's guard: the built-in list never blocks general-purpose
// HTTP clients.
func TestBuiltinBotsSpareHTTPClients(t *testing.T) {
	bots := feeds.BuiltinBots()
	if len(bots) != 21 {
		t.Fatalf("%d built-in bots, want the reference's 21", len(bots))
	}
	for _, b := range bots {
		if _, err := rule.Normalize(b); err != nil {
			t.Errorf("built-in %q: %v", b.Pattern, err)
		}
		for _, client := range []string{"python-requests/2.32.3", "Go-http-client/1.1", "curl/8.8.0", "Wget/1.24.5"} {
			if strings.Contains(strings.ToLower(client), strings.ToLower(b.Pattern)) {
				t.Errorf("built-in %q blocks %s", b.Pattern, client)
			}
		}
	}
}

// last_sync_at is written on its own: a change an operator made to the
// settings before the sync wrote it survives.
func TestSyncKeepsSettings(t *testing.T) {
	ctx := testCtx(t)
	st := memstore.New()
	set := core.DefaultSettings()
	set.MaxLoginAttempts = 9
	if _, err := st.PutSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	s := newSyncer(t, st, feeds.WithClock(fixedClock{syncTime}))
	rep := mustSync(t, s, feeds.Bots)
	got, _ := st.Settings(ctx)
	if got.MaxLoginAttempts != 9 || !got.LastSyncAt.Equal(syncTime) || !rep.LastSyncAt.Equal(syncTime) {
		t.Fatalf("settings after sync = %+v", got)
	}
}

// A sync that wrote announces the version on the bus, so engines rebuild
// at once; the engine then enforces the new domains.
func TestSyncReachesEngine(t *testing.T) {
	ctx := testCtx(t)
	st := memstore.New()
	bus := core.NewLocalBus()
	eng, err := core.New(st, core.WithBus(bus), core.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	srv := newListServer(t, lines([]string{"throwaway.example"}))
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()), feeds.WithBus(bus))
	mustSync(t, s, feeds.Domains)
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := eng.CheckEmail(ctx, nil, "someone@mx.throwaway.example")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the engine never enforced the synced domain")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustSync(t *testing.T, s *feeds.Syncer, k feeds.Kinds) feeds.Report {
	t.Helper()
	rep, err := s.Sync(testCtx(t), feeds.Request{Kinds: k})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return rep
}

// Syncs may be called from several goroutines; they take turns and
// together add each entry once.
func TestSyncConcurrent(t *testing.T) {
	srv := newListServer(t, lines(domains("c", 200)))
	st := memstore.New()
	s := newSyncer(t, st, feeds.WithDomainURLs(srv.URL()))
	var wg sync.WaitGroup
	added := make([]int, 4)
	for i := range added {
		wg.Go(func() {
			rep, err := s.Sync(testCtx(t), feeds.Request{})
			if err != nil {
				t.Error(err)
			}
			added[i] = rep.Domains.Added
		})
	}
	wg.Wait()
	if total := added[0] + added[1] + added[2] + added[3]; total != 200 {
		t.Fatalf("added %v, want 200 in all", added)
	}
}
