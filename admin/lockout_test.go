package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/html"

	"github.com/wardenkit/warden/core"
)

// lockOut fails logins of user from ip until the lockout refuses one.
func (e *env) lockOut(user, ip string) {
	e.t.Helper()
	ctx := context.Background()
	for range 20 {
		tk, err := e.eng.Lockout().Begin(ctx, core.Attempt{Username: user, IP: netip.MustParseAddr(ip)})
		var locked *core.LockedError
		if errors.As(err, &locked) {
			return
		}
		if err != nil {
			e.t.Fatal(err)
		}
		_ = e.eng.Lockout().Fail(ctx, tk)
	}
	e.t.Fatalf("%s from %s never locked", user, ip)
}

func (e *env) locked(user, ip string) bool {
	e.t.Helper()
	tk, err := e.eng.Lockout().Begin(context.Background(), core.Attempt{Username: user, IP: netip.MustParseAddr(ip)})
	if err == nil {
		_, _ = e.eng.Lockout().Succeed(context.Background(), tk, core.Success{UserID: user})
		return false
	}
	return true
}

// settle lets the engine's event writer store what is queued (lockout
// records among it): ListLocked reads stored records. Tests call it inside
// a synctest bubble, where the wait is the writer's flush tick, not a sleep.
func settle() {
	time.Sleep(2 * time.Second)
	synctest.Wait()
}

func TestUnlockAUser(t *testing.T) { synctest.Test(t, testUnlockAUser) }

func testUnlockAUser(t *testing.T) {
	e := newEnv(t)
	e.lockOut("bob", "198.51.100.20")
	e.lockOut("carol", "198.51.100.21")
	settle()
	page := e.get("/locked")
	wantStatus(t, page, http.StatusOK)
	doc := parseHTML(t, page.Body.String())
	if !strings.Contains(text(doc), "bob") || !strings.Contains(text(doc), "carol") {
		t.Fatalf("the locked accounts are not listed:\n%s", cutBody(page.Body.String()))
	}
	// The single Unlock button of bob's row.
	var pair string
	walk(doc, func(n *html.Node) {
		if v, _ := attr(n, "value"); n.Data == "input" && strings.Contains(v, "u=bob") {
			pair = v
		}
	})
	w := e.post("/locked/unlock", url.Values{"pair": {pair}})
	wantStatus(t, w, http.StatusSeeOther)
	if e.locked("bob", "198.51.100.20") {
		t.Error("bob is still locked after the unlock")
	}
	if !e.locked("carol", "198.51.100.21") {
		t.Error("carol was unlocked too")
	}
	// By name, through the API.
	code, m := e.api("POST", "/unlock", `{"username":"carol","ip":"198.51.100.21"}`)
	if code != 200 || m["released"].(float64) < 1 {
		t.Errorf("API unlock: %d %v", code, m)
	}
	if e.locked("carol", "198.51.100.21") {
		t.Error("carol is still locked after the API unlock")
	}
	if code, m := e.api("POST", "/unlock", `{}`); code != 400 {
		t.Errorf("empty unlock: %d %v", code, m)
	}
	evs := e.adminEvents()
	if len(evs) != 2 || !strings.Contains(evs[0].Details+evs[1].Details, `unlock user "bob" ip "198.51.100.20"`) {
		t.Errorf("ADMIN_ACTION events: %+v", evs)
	}
}

func TestBulkUnlock(t *testing.T) { synctest.Test(t, testBulkUnlock) }

func testBulkUnlock(t *testing.T) {
	e := newEnv(t)
	e.lockOut("dave", "198.51.100.30")
	e.lockOut("erin", "198.51.100.31")
	settle()
	form := formValuesAll(t, parseHTML(t, e.get("/locked").Body.String()), "pair")
	if len(form["pair"]) < 2 {
		t.Fatalf("pairs on the page: %v", form)
	}
	wantStatus(t, e.post("/locked/unlock", form), http.StatusSeeOther)
	if e.locked("dave", "198.51.100.30") || e.locked("erin", "198.51.100.31") {
		t.Error("bulk unlock left a lock")
	}
	if page := e.get("/locked").Body.String(); !strings.Contains(page, "Nobody is locked out") {
		t.Errorf("still listed:\n%s", cutBody(page))
	}
}
