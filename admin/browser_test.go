package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

// The browser tests drive Debian's chromium (headless, no sandbox) with
// chromedp against the admin, served by httptest over a started memstore
// engine, behind a sign-in page whose cookie the test authoriser reads.
// Everything is done as a user would: typing, clicking, uploading a file.
// After each page load the tab must have reported no console error,
// uncaught exception or browser-log error (CSP violations, failed loads).
// Each page is saved as a PNG under the test's temp dir, and copied to
// $WARDEN_SCREENSHOTS_DIR when that is set.
//
// Without /usr/bin/chromium the tests are skipped, unless
// WARDEN_TEST_BROWSER=1 (CI sets it), which makes them fail instead.

const (
	chromiumPath  = "/usr/bin/chromium"
	browserUser   = "alice"
	browserPass   = "correct horse battery staple"
	sessionCookie = "warden_test_session"
	stepTimeout   = 20 * time.Second
)

func TestBrowser(t *testing.T) {
	requireChromium(t)
	start := time.Now()
	bs := newBrowserServer(t)
	bs.seedDayOfEvents(240)
	b := startBrowser(t)
	tb := newTab(t, b, bs.srv.URL, false)
	t.Run("console_check_catches_errors", func(t *testing.T) { testConsoleCheck(t, newTab(t, b, bs.srv.URL, false)) })
	if !t.Run("sign_in", func(t *testing.T) { testSignIn(t, tb.on(t)) }) {
		t.FailNow()
	}
	t.Run("block_ip", func(t *testing.T) { testBlockIP(t, bs, tb.on(t)) })
	t.Run("unlock_user", func(t *testing.T) { testUnlockUser(t, bs, tb.on(t)) })
	t.Run("import_bad_row", func(t *testing.T) { testImportBadRow(t, bs, tb.on(t)) })
	t.Run("event_log_filter", func(t *testing.T) { testEventLogFilter(t, bs, tb.on(t)) })
	t.Run("forms_without_javascript", func(t *testing.T) { testWithoutJS(t, bs, newTab(t, b, bs.srv.URL, true)) })
	t.Run("dashboard_read_again", func(t *testing.T) { testDashboardAgain(t, tb.on(t)) })
	t.Logf("browser tests: %s (set WARDEN_SCREENSHOTS_DIR to keep the screenshots)", time.Since(start).Round(time.Millisecond))
}

// --- the server ---------------------------------------------------------

// browserServer is the admin under /admin/ and a sign-in page at /signin
// that sets a session cookie; the admin's authoriser accepts a request
// carrying a cookie the sign-in page issued.
type browserServer struct {
	*env // the engine and its store; check, lockOut, locked
	srv  *httptest.Server

	mu       sync.Mutex
	sessions map[string]string // cookie value -> user
}

func newBrowserServer(t *testing.T) *browserServer {
	t.Helper()
	st := memstore.New()
	discard := slog.New(slog.DiscardHandler)
	eng, err := core.New(st, core.WithLogger(discard), core.WithRebuildInterval(time.Millisecond),
		core.WithEventQueue(10000, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	bs := &browserServer{env: &env{t: t, eng: eng, store: st, prefix: "/admin"}, sessions: map[string]string{}}
	h, err := admin.New(eng, admin.WithAuthorizer(bs.authorize), admin.WithStore(st), admin.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) { signInPage(w, http.StatusOK, "") })
	mux.HandleFunc("POST /signin", bs.signIn)
	mux.HandleFunc("GET /canary/{kind}", canary)
	bs.h = mux
	bs.srv = httptest.NewServer(mux)
	t.Cleanup(bs.srv.Close)
	return bs
}

// authorize is the test authoriser: the user a session cookie names.
func (bs *browserServer) authorize(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	u, ok := bs.sessions[c.Value]
	return u, ok
}

var signInTmpl = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title><link rel="icon" href="data:,"></head>
<body><h1>Sign in to the warden admin</h1>{{with .}}<p id="signin-error">{{.}}</p>{{end}}
<form method="post" action="/signin">
<label>User <input id="user" name="user" autocomplete="username"></label>
<label>Password <input id="password" type="password" name="password" autocomplete="current-password"></label>
<button id="signin" type="submit">Sign in</button>
</form></body></html>`))

func signInPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = signInTmpl.Execute(w, msg)
}

func (bs *browserServer) signIn(w http.ResponseWriter, r *http.Request) {
	user, pass := r.PostFormValue("user"), r.PostFormValue("password")
	if user != browserUser || subtle.ConstantTimeCompare([]byte(pass), []byte(browserPass)) != 1 {
		signInPage(w, http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	token := rand.Text()
	bs.mu.Lock()
	bs.sessions[token] = user
	bs.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// canary serves pages that must trip the console check: "csp" breaks the
// admin's Content-Security-Policy with an inline style and script, "js"
// logs an error and throws.
func canary(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	body := `<p id="canary" style="color:red">canary</p><script>console.error("canary: console.error"); throw new Error("canary: thrown")</script>`
	if r.PathValue("kind") == "csp" {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
	}
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>canary</title><link rel="icon" href="data:,"></head><body>%s</body></html>`, body)
}

// seedDayOfEvents stores n events spread over the last 24 hours, so that
// the dashboard and the event log have something to show.
func (bs *browserServer) seedDayOfEvents(n int) {
	bs.t.Helper()
	actions := []core.Action{core.ActionIPBlock, core.ActionRateLimit, core.ActionRateLimit, core.ActionUserAgentBlock, core.ActionCountryBlock}
	countries := []string{"RU", "CN", "FR", "US", "BR"}
	now := time.Now()
	evs := make([]core.Event, 0, n)
	for i := range n {
		a := actions[(i*7)%len(actions)]
		evs = append(evs, core.Event{CreatedAt: now.Add(-time.Duration(n-i) * 24 * time.Hour / time.Duration(n+1)),
			Action: a, Severity: core.SeverityMedium, IP: fmt.Sprintf("198.18.%d.%d", i%3, i%50), CountryCode: countries[(i*3)%len(countries)],
			Method: "GET", Path: []string{"/login", "/wp-login.php", "/api/search", "/"}[i%4], Count: 1})
	}
	if err := bs.store.AppendEvents(context.Background(), evs); err != nil {
		bs.t.Fatal(err)
	}
}

// waitFor polls cond (a read of the store, which the engine's writer
// fills every 20 ms) until it holds, failing after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- the browser --------------------------------------------------------

// requireChromium skips the test without chromium, or fails it when
// WARDEN_TEST_BROWSER=1.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("WARDEN_TEST_BROWSER") == "1" {
			t.Fatalf("WARDEN_TEST_BROWSER=1 and chromium is not installed: %v (apt-get install chromium)", err)
		}
		t.Skipf("chromium is not installed (%v); set WARDEN_TEST_BROWSER=1 to require it", err)
	}
}

// startBrowser starts chromium with a fresh profile and returns the
// context of its first tab; tabs are opened from it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	out := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun, chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800), chromedp.CombinedOutput(out))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, out)
	}
	return ctx
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// tab is one browser tab and where its screenshots go, reporting to the
// (sub)test t.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	name  string
	st    *tabState
}

// tabState is what the tab's pages reported as errors and how many
// screenshots were taken, shared by the tab's copies (tab.on).
type tabState struct {
	mu     sync.Mutex
	errors []string
	shots  int
}

// newTab opens a tab; jsOff disables script in it.
func newTab(t *testing.T, browser context.Context, base string, jsOff bool) *tab {
	t.Helper()
	tb := &tab{t: t, base: base, shots: t.TempDir(), name: "tab", st: &tabState{}}
	if jsOff {
		tb.name = "nojs"
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithListener(tb.st.listen))
	t.Cleanup(cancel)
	tb.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	if jsOff {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

// on is the tab reporting to t.
func (tb *tab) on(t *testing.T) *tab {
	return &tab{t: t, ctx: tb.ctx, base: tb.base, shots: tb.shots, name: tb.name, st: tb.st}
}

// listen runs on chromedp's read loop for every event of the tab: it
// keeps the errors (console.error, uncaught exceptions, error entries of
// the browser log, which is where CSP violations and failed loads go).
func (st *tabState) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			msg = fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	if msg != "" {
		st.mu.Lock()
		st.errors = append(st.errors, msg)
		st.mu.Unlock()
	}
}

// takeErrors returns the errors reported so far and forgets them.
func (tb *tab) takeErrors() []string {
	tb.st.mu.Lock()
	defer tb.st.mu.Unlock()
	errs := tb.st.errors
	tb.st.errors = nil
	return errs
}

// ctxStep is the tab's context with a deadline for one step.
func (tb *tab) ctxStep() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, stepTimeout)
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to path, wants the document's status, and checks the
// page (screenshot, console).
func (tb *tab) open(path string, status int, shot string) {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(tb.base+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	tb.loaded(path, resp, status, shot)
}

// click clicks sel, waits for the page it loads (a form's answer, after
// its redirect), wants the document's status and checks the page.
func (tb *tab) click(sel string, status int, shot string) {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
	tb.loaded(sel, resp, status, shot)
}

// loaded screenshots the page, wants its status and fails on any error
// the page reported. A document answered 4xx makes Chrome log its own
// "Failed to load resource" line: that one line is expected.
func (tb *tab) loaded(what string, resp *network.Response, want int, shot string) {
	tb.t.Helper()
	tb.screenshot(shot)
	if resp.Status != int64(want) {
		tb.t.Fatalf("%s: status %d, want %d; page:\n%s", what, resp.Status, want, cutBody(tb.text("body")))
	}
	ownStatus := fmt.Sprintf("log (network): Failed to load resource: the server responded with a status of %d (%s) %s", want, http.StatusText(want), resp.URL)
	var bad []string
	for _, e := range tb.takeErrors() {
		switch {
		case want >= 400 && e == ownStatus:
			ownStatus = "" // once
		default:
			bad = append(bad, e)
		}
	}
	if len(bad) > 0 {
		tb.t.Errorf("page %s (%s) reported errors:\n  %s", shot, resp.URL, strings.Join(bad, "\n  "))
	}
}

// screenshot saves the whole page as NN-name.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	tb.st.mu.Lock()
	tb.st.shots++
	file := fmt.Sprintf("%s-%02d-%s.png", tb.name, tb.st.shots, name)
	tb.st.mu.Unlock()
	if err := os.WriteFile(filepath.Join(tb.shots, file), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if dir := os.Getenv("WARDEN_SCREENSHOTS_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
}

func (tb *tab) location() string {
	ctx, cancel := tb.ctxStep()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(location: " + err.Error() + ")"
	}
	return loc
}

// html is the page's DOM as HTML, read through the DOM domain (no page
// script), parsed.
func (tb *tab) html() *html.Node {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	src, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		nodes, err := chromedp.Nodes(chromedp.CSS("html"))(ctx, t)
		if err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, t, dom.GetOuterHTML, dom.GetOuterHTMLParams{NodeID: nodes[0].NodeID})
		return res.OuterHTML, err
	})
	if err != nil {
		tb.t.Fatalf("read the page: %v", err)
	}
	return parseHTML(tb.t, src)
}

// text is the text of the elements sel selects, joined.
func (tb *tab) text(sel string) string {
	var parts []string
	for _, n := range selectAll(tb.html(), sel) {
		parts = append(parts, strings.Join(strings.Fields(text(n)), " "))
	}
	return strings.Join(parts, "\n")
}

// selectAll finds elements by a tiny selector: "tag", ".class", "#id",
// "tag.class" or "tag[attr=value]".
func selectAll(doc *html.Node, sel string) []*html.Node {
	tag, rest, _ := strings.Cut(sel, "[")
	var attrKey, attrVal string
	if rest != "" {
		attrKey, attrVal, _ = strings.Cut(strings.TrimSuffix(rest, "]"), "=")
		attrVal = strings.Trim(attrVal, `"`)
	}
	var id, class string
	if i := strings.IndexAny(tag, ".#"); i >= 0 {
		if tag[i] == '#' {
			id = tag[i+1:]
		} else {
			class = tag[i+1:]
		}
		tag = tag[:i]
	}
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		v, _ := attr(n, "id")
		c, _ := attr(n, "class")
		a, has := attr(n, attrKey)
		if (tag == "" || n.Data == tag) && (id == "" || v == id) && (class == "" || slices.Contains(strings.Fields(c), class)) &&
			(attrKey == "" || has && (attrVal == "" || a == attrVal)) {
			out = append(out, n)
		}
	})
	return out
}

// rowKeys are the keys of a rule list's rows.
func rowKeys(doc *html.Node) []string {
	var keys []string
	for _, n := range selectAll(doc, "tr[data-key]") {
		k, _ := attr(n, "data-key")
		keys = append(keys, k)
	}
	return keys
}

// --- the scenarios ------------------------------------------------------

// testConsoleCheck proves the console check can fail: pages that break the
// CSP, call console.error and throw are reported.
func testConsoleCheck(t *testing.T, tb *tab) {
	for _, c := range []struct {
		kind string
		want []string
	}{
		{"csp", []string{"Executing inline script violates the following Content Security Policy", "Applying inline style violates"}},
		{"js", []string{"console.error: canary: console.error", "exception: Uncaught Error: canary: thrown"}},
	} {
		tb.do("open the canary", chromedp.Navigate(tb.base+"/canary/"+c.kind))
		tb.screenshot("canary-" + c.kind)
		var seen []string
		waitFor(t, "the "+c.kind+" canary's errors", func() bool {
			seen = append(seen, tb.takeErrors()...)
			return !slices.ContainsFunc(c.want, func(w string) bool {
				return !slices.ContainsFunc(seen, func(s string) bool { return strings.Contains(s, w) })
			})
		})
		t.Logf("the %s canary reported:\n  %s", c.kind, strings.Join(seen, "\n  "))
	}
}

func testSignIn(t *testing.T, tb *tab) {
	// Signed out, the admin answers 401 with an error page in its layout,
	// styled: the style sheet, script and icon are public.
	tb.open("/admin/", http.StatusUnauthorized, "not-signed-in")
	if n := tb.cssRules(); n == 0 {
		t.Error("the signed-out page has no style rules: its style sheet was not loaded")
	}
	if got := tb.text("main"); !strings.Contains(got, "sign in to use the warden admin") {
		t.Errorf("the admin without a session says %q", got)
	}
	tb.open("/signin", http.StatusOK, "sign-in")
	tb.do("type a wrong password", chromedp.SendKeys(chromedp.CSS("#user"), browserUser), chromedp.SendKeys(chromedp.CSS("#password"), "guess"))
	tb.click("#signin", http.StatusUnauthorized, "sign-in-refused")
	if got := tb.text("#signin-error"); got != "Wrong user name or password." {
		t.Errorf("a wrong password says %q", got)
	}
	tb.do("type the password", chromedp.SendKeys(chromedp.CSS("#user"), browserUser), chromedp.SendKeys(chromedp.CSS("#password"), browserPass))
	tb.click("#signin", http.StatusOK, "dashboard")
	doc := tb.html()
	if who := strings.TrimSpace(text(selectAll(doc, "span.who")[0])); who != browserUser {
		t.Errorf("signed in as %q, want %q", who, browserUser)
	}
	if rects := len(selectAll(doc, "rect")); rects < 10 {
		t.Errorf("the dashboard's chart has %d bars; the day's %d events should give more", rects, 240)
	}
	if !strings.Contains(text(doc), "198.18.") {
		t.Errorf("the dashboard lists no top IP of the seeded events")
	}
}

func testBlockIP(t *testing.T, bs *browserServer, tb *tab) {
	const ip = "203.0.113.7"
	if d := bs.check(ip); !d.Allowed {
		t.Fatalf("%s denied before any rule: %+v", ip, d)
	}
	tb.open("/admin/rules/blocked-ips", http.StatusOK, "blocked-ips")
	tb.click("a.button", http.StatusOK, "blocked-ip-form")
	tb.do("fill in the form", chromedp.SendKeys(chromedp.CSS("#f-network"), ip),
		chromedp.SendKeys(chromedp.CSS("#f-reason"), "probing /wp-login.php"))
	tb.click(`form.edit button[type="submit"]`, http.StatusOK, "blocked-ip-added")
	if got := tb.text("p.flash"); got != "Added "+ip+"." {
		t.Errorf("flash %q", got)
	}
	if keys := rowKeys(tb.html()); !slices.Contains(keys, ip) {
		t.Errorf("the list shows %v, not %s", keys, ip)
	}
	d := bs.check(ip)
	if d.Allowed || d.Action != core.ActionIPBlock || d.Status != http.StatusForbidden {
		t.Errorf("a request from %s after the block: %+v", ip, d)
	}
	// The page's script (on here) ticks every row from the header's box.
	tb.do("tick all", chromedp.Click(chromedp.CSS("input.select-all")))
	if got := tb.checkedBoxes(); !slices.Equal(got, []bool{true}) {
		t.Errorf("with script on, the select-all box left the rows at %v", got)
	}
}

func testUnlockUser(t *testing.T, bs *browserServer, tb *tab) {
	bs.lockOut("bob", "198.51.100.20")
	bs.lockOut("carol", "198.51.100.21")
	waitFor(t, "two stored lockouts", func() bool {
		recs, err := bs.eng.Lockout().ListLocked(context.Background(), 0)
		return err == nil && len(recs) >= 2
	})
	tb.open("/admin/locked", http.StatusOK, "locked")
	if n := len(selectAll(tb.html(), `tr[data-username="bob"]`)); n != 1 {
		t.Fatalf("bob has %d rows on the locked page", n)
	}
	tb.click(`tr[data-username="bob"] form.inline button`, http.StatusOK, "unlocked")
	if got := tb.text("p.flash"); !strings.HasPrefix(got, "Unlocked: ") {
		t.Errorf("flash %q", got)
	}
	doc := tb.html()
	if len(selectAll(doc, `tr[data-username="bob"]`)) != 0 || len(selectAll(doc, `tr[data-username="carol"]`)) != 1 {
		t.Errorf("after unlocking bob the page lists:\n%s", tb.text("table"))
	}
	if bs.locked("bob", "198.51.100.20") {
		t.Error("bob is still locked out")
	}
	if !bs.locked("carol", "198.51.100.21") {
		t.Error("carol was unlocked too")
	}
}

func testImportBadRow(t *testing.T, bs *browserServer, tb *tab) {
	tb.open("/admin/rules/blocked-ips", http.StatusOK, "before-import")
	before := rowKeys(tb.html())
	file := filepath.Join(t.TempDir(), "ips.csv")
	csv := "network,reason\n198.51.100.50,scanner\n300.0.0.1,typo\n198.51.100.51,scanner\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.open("/admin/rules/blocked-ips/import", http.StatusOK, "import")
	tb.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{file}))
	tb.click(`form[enctype="multipart/form-data"] button[type="submit"]`, http.StatusUnprocessableEntity, "import-refused")
	if got := tb.text("p.error"); got != "1 rows are invalid; nothing was imported" {
		t.Errorf("the import page says %q", got)
	}
	doc := tb.html()
	if rows, keys := cells(doc, 0), cells(doc, 1); !slices.Equal(rows, []string{"3"}) || !slices.Equal(keys, []string{"300.0.0.1"}) {
		t.Errorf("row errors: rows %v keys %v, want the line 3 and 300.0.0.1", rows, keys)
	}
	if msg := cells(doc, 2); len(msg) != 1 || msg[0] == "" {
		t.Errorf("the bad row's error is not shown: %v", msg)
	}
	tb.open("/admin/rules/blocked-ips", http.StatusOK, "after-import")
	if after := rowKeys(tb.html()); !slices.Equal(after, before) {
		t.Errorf("a refused import changed the list: %v, then %v", before, after)
	}
	if d := bs.check("198.51.100.50"); !d.Allowed {
		t.Error("a good row of the refused file was applied")
	}
}

func testEventLogFilter(t *testing.T, bs *browserServer, tb *tab) {
	ipBlocks := func() []core.Event {
		evs, err := bs.store.Events(context.Background(), core.EventQuery{Action: core.ActionIPBlock, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	waitFor(t, "the denied request's event", func() bool {
		return slices.ContainsFunc(ipBlocks(), func(e core.Event) bool { return e.IP == "203.0.113.7" })
	})
	tb.open("/admin/events", http.StatusOK, "events")
	if kinds := slices.Compact(slices.Sorted(slices.Values(cells(tb.html(), 2)))); len(kinds) < 3 {
		t.Fatalf("the unfiltered log shows the actions %v; the test needs several", kinds)
	}
	tb.do("choose IP_BLOCK", chromedp.SendKeys(chromedp.CSS(`select[name="action"]`), "IP_B"))
	tb.click(`form.filters button[type="submit"]`, http.StatusOK, "events-ip-block")
	if loc := tb.location(); !strings.Contains(loc, "action=IP_BLOCK") {
		t.Errorf("the filter went to %s", loc)
	}
	doc := tb.html()
	got, want := cells(doc, 2), len(ipBlocks())
	if len(got) != want || slices.ContainsFunc(got, func(a string) bool { return a != "IP_BLOCK" }) {
		t.Errorf("filtered by IP_BLOCK the log shows %d rows %v, want the %d IP_BLOCK events only", len(got), got, want)
	}
	if ips := cells(doc, 4); len(ips) == 0 || ips[0] != "203.0.113.7" {
		t.Errorf("the newest IP_BLOCK is not the browser-made block's denial: %v", ips)
	}
}

// testWithoutJS runs a form and an inline action in a tab with script
// disabled: the admin's pages are plain forms and links.
func testWithoutJS(t *testing.T, bs *browserServer, tb *tab) {
	const ip = "203.0.113.99"
	tb.open("/admin/rules/blocked-ips", http.StatusOK, "blocked-ips")
	tb.do("tick all", chromedp.Click(chromedp.CSS("input.select-all")))
	if got := tb.checkedBoxes(); len(got) == 0 || slices.Contains(got, true) {
		t.Fatalf("script ran: the select-all box ticked the rows %v", got)
	}
	tb.click("a.button", http.StatusOK, "blocked-ip-form")
	tb.do("fill in the form", chromedp.SendKeys(chromedp.CSS("#f-network"), ip))
	tb.click(`form.edit button[type="submit"]`, http.StatusOK, "blocked-ip-added")
	if d := bs.check(ip); d.Allowed {
		t.Errorf("%s allowed after the form added its block", ip)
	}
	tb.click(`tr[data-key="`+ip+`"] button.toggle`, http.StatusOK, "blocked-ip-deactivated")
	if got := tb.text("p.flash"); got != "Rule "+ip+" deactivated." {
		t.Errorf("flash %q", got)
	}
	if d := bs.check(ip); !d.Allowed {
		t.Errorf("%s denied after its rule was deactivated: %+v", ip, d)
	}
}

// cssRules counts the rules of the page's loaded style sheets.
func (tb *tab) cssRules() int {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`[...document.styleSheets].reduce((n, s) => { try { return n + s.cssRules.length } catch { return n } }, 0)`))
	if err != nil {
		tb.t.Fatalf("count the style rules: %v", err)
	}
	return n
}

// checkedBoxes is the checked state of the rows' boxes, read through
// DevTools (which works with the page's script off).
func (tb *tab) checkedBoxes() []bool {
	tb.t.Helper()
	ctx, cancel := tb.ctxStep()
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`[...document.querySelectorAll('input[type="checkbox"][name="id"]')].map(b => b.checked)`))
	if err != nil {
		tb.t.Fatalf("read the boxes: %v", err)
	}
	return got
}

// testDashboardAgain reads the dashboard's figures again (they are kept a
// minute) after the other tests: one active blocked IP (the one the no-JS
// tab added is inactive) and one user locked out (carol).
func testDashboardAgain(t *testing.T, tb *tab) {
	tb.open("/admin/", http.StatusOK, "dashboard-cached")
	tb.click("p.help a", http.StatusOK, "dashboard-fresh")
	cards := map[string]string{} // label -> figure
	for _, card := range selectAll(tb.html(), "div.card") {
		figure := strings.TrimSpace(text(selectAll(card, "div.big")[0]))
		cards[strings.TrimSpace(strings.TrimPrefix(text(card), figure))] = figure
	}
	for label, want := range map[string]string{"locked out now": "1", "active Blocked IPs": "1"} {
		if cards[label] != want {
			t.Errorf("the dashboard says %s: %q, want %s (cards: %v)", label, cards[label], want, cards)
		}
	}
}
