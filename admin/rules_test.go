package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/wardenkit/warden/core/rule"
)

func TestBlockAnIPThroughTheForm(t *testing.T) {
	e := newEnv(t)
	if d := e.check("203.0.113.7"); !d.Allowed {
		t.Fatalf("allowed before the block: %+v", d)
	}
	w := e.post("/rules/blocked-ips/new", url.Values{"network": {"203.0.113.0/24"}, "reason": {"scanner"}, "active": {"on"}})
	wantStatus(t, w, http.StatusSeeOther)
	if d := e.check("203.0.113.7"); d.Allowed || d.Action != "IP_BLOCK" {
		t.Fatalf("not denied after the block: %+v", d)
	}
	page := e.get("/rules/blocked-ips").Body.String()
	if !strings.Contains(page, "203.0.113.0/24") || !strings.Contains(page, "scanner") {
		t.Errorf("the list does not show the new rule:\n%s", cutBody(page))
	}
	evs := e.adminEvents()
	if len(evs) != 1 || !strings.Contains(evs[0].Details, "add blocked IP 203.0.113.0/24") || !strings.Contains(evs[0].Details, "by alice") || evs[0].RuleID == 0 {
		t.Errorf("ADMIN_ACTION events: %+v", evs)
	}
}

func TestValidationErrorShownBesideTheField(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		path  string
		form  url.Values
		field string
		says  string
	}{
		{"bad_network", "/rules/blocked-ips/new", url.Values{"network": {"300.1.1.1"}, "reason": {"typo"}}, "network", "300.1.1.1"},
		{"internet_without_force", "/rules/blocked-ips/new", url.Values{"network": {"0.0.0.0/0"}}, "network", "0.0.0.0/0"},
		{"bad_expiry", "/rules/blocked-ips/new", url.Values{"network": {"198.51.100.1"}, "expires_at": {"tomorrow"}}, "expires_at", "tomorrow"},
		{"bad_rate", "/rules/rate-limits/new", url.Values{"name": {"x"}, "path_pattern": {"/login"}, "rate": {"fast"}}, "rate", "fast"},
		{"bad_burst", "/rules/rate-limits/new", url.Values{"name": {"x"}, "path_pattern": {"/login"}, "rate": {"5/m"}, "burst": {"many"}}, "burst", "many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.post(tt.path, tt.form)
			wantStatus(t, w, http.StatusUnprocessableEntity)
			doc := parseHTML(t, w.Body.String())
			var found bool
			for _, div := range findByClass(doc, "invalid") {
				errs := findByClass(div, "field-error")
				if len(errs) == 1 && strings.Contains(text(errs[0]), tt.says) && strings.Contains(renderAttrs(div), `name="`+tt.field+`"`) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error beside %s saying %q:\n%s", tt.field, tt.says, cutBody(w.Body.String()))
			}
			// What was typed is shown again.
			for k, v := range tt.form {
				if !strings.Contains(w.Body.String(), `value="`+v[0]+`"`) && !strings.Contains(w.Body.String(), ">"+v[0]+"<") {
					t.Errorf("typed %s=%q is not shown again", k, v[0])
				}
			}
		})
	}
	if d := e.check("198.51.100.1"); !d.Allowed {
		t.Errorf("an invalid form stored a rule")
	}
}

func TestEditKeepsTheKeyAndRecordsTheChange(t *testing.T) {
	e := newEnv(t)
	ip, err := e.eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "198.51.100.0/24", Reason: "old"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/rules/blocked-ips/" + itoa(ip.ID)
	wantStatus(t, e.get(path), http.StatusOK)
	w := e.post(path, url.Values{"network": {"10.0.0.1"}, "reason": {"new reason"}, "expires_at": {"2030-01-01T15:00"}, "active": {"on"}})
	wantStatus(t, w, http.StatusSeeOther)
	got, err := e.eng.Rules().BlockedIPs().Get(context.Background(), "198.51.100.0/24")
	if err != nil || got.Reason != "new reason" || !got.ExpiresAt.Equal(time.Date(2030, 1, 1, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("after edit: %+v, %v", got, err)
	}
	list := e.get("/rules/blocked-ips").Body.String()
	if !strings.Contains(list, "in 3 h") {
		t.Errorf("expiry not shown as \"in 3 h\":\n%s", cutBody(list))
	}
	e.clock.t = e.clock.t.Add(4 * time.Hour)
	if list := e.get("/rules/blocked-ips").Body.String(); !strings.Contains(list, "expired") || !strings.Contains(list, "Expired") {
		t.Errorf("expiry not shown as expired:\n%s", cutBody(list))
	}
	evs := e.adminEvents()
	if len(evs) != 1 || !strings.Contains(evs[0].Details, `reason "old" -> "new reason"`) || !strings.Contains(evs[0].Details, "expires_at") {
		t.Errorf("ADMIN_ACTION events: %+v", evs)
	}
}

func TestToggleBulkAndDelete(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for _, n := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		r, err := e.eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: n})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, itoa(r.ID))
	}
	wantStatus(t, e.post("/rules/blocked-ips/"+ids[0]+"/active", url.Values{"active": {"no"}, "back": {"q=198"}}), http.StatusSeeOther)
	if d := e.check("198.51.100.1"); !d.Allowed {
		t.Errorf("deactivated rule still denies")
	}
	if list := e.get("/rules/blocked-ips?active=no").Body.String(); !strings.Contains(list, "198.51.100.1") || strings.Contains(list, "198.51.100.2") {
		t.Errorf("inactive filter:\n%s", cutBody(list))
	}
	// Bulk delete asks first, then deletes.
	form := url.Values{"action": {"delete"}, "id": {ids[1], ids[2]}}
	w := e.post("/rules/blocked-ips/bulk", form)
	wantStatus(t, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), "Yes, delete") || e.check("198.51.100.2").Allowed {
		t.Fatalf("bulk delete did not ask first")
	}
	form.Set("confirm", "yes")
	wantStatus(t, e.post("/rules/blocked-ips/bulk", form), http.StatusSeeOther)
	if !e.check("198.51.100.2").Allowed || !e.check("198.51.100.3").Allowed {
		t.Errorf("bulk delete left rules")
	}
	wantStatus(t, e.post("/rules/blocked-ips/bulk", url.Values{"action": {"activate"}, "id": {ids[0]}}), http.StatusSeeOther)
	if e.check("198.51.100.1").Allowed {
		t.Errorf("bulk activate did not activate")
	}
	wantStatus(t, e.get("/rules/blocked-ips/"+ids[0]+"/delete"), http.StatusOK)
	wantStatus(t, e.post("/rules/blocked-ips/"+ids[0]+"/delete", url.Values{}), http.StatusSeeOther)
	if !e.check("198.51.100.1").Allowed {
		t.Errorf("delete left the rule")
	}
	wantStatus(t, e.post("/rules/blocked-ips/bulk", url.Values{"action": {"explode"}, "id": {ids[0]}}), http.StatusBadRequest)
	if evs := e.adminEvents(); len(evs) != 5 {
		t.Errorf("%d ADMIN_ACTION events for 5 writes: %+v", len(evs), evs)
	}
}

func TestEveryKindHasAWorkingListAndForm(t *testing.T) {
	e := newEnv(t)
	forms := map[string]url.Values{
		"blocked-ips":         {"network": {"203.0.113.9"}},
		"whitelisted-ips":     {"network": {"192.0.2.0/24"}, "description": {"office"}},
		"blocked-countries":   {"code": {"ru"}},
		"allowed-countries":   {"code": {"FR"}},
		"blocked-user-agents": {"pattern": {"sqlmap"}, "match": {"contains"}, "category": {"attack"}},
		"whitelisted-users":   {"user_id": {"ops"}, "exemption": {"rate_limit"}},
		"blocked-emails":      {"email": {"Bad@Example.com"}},
		"blocked-domains":     {"domain": {"mailinator.com"}, "type": {"disposable"}},
		"rate-limits":         {"name": {"login"}, "path_pattern": {"/login"}, "method": {"POST"}, "rate": {"5/m"}},
	}
	for slug, form := range forms {
		t.Run(slug, func(t *testing.T) {
			wantStatus(t, e.get("/rules/"+slug+"/new"), http.StatusOK)
			wantStatus(t, e.post("/rules/"+slug+"/new", form), http.StatusSeeOther)
			w := e.post("/rules/"+slug+"/new", form)
			wantStatus(t, w, http.StatusUnprocessableEntity)
			if !strings.Contains(w.Body.String(), "already exists") {
				t.Errorf("a second add of the same key is not refused")
			}
			list := e.get("/rules/" + slug)
			wantStatus(t, list, http.StatusOK)
			doc := parseHTML(t, list.Body.String())
			if n := len(findByClass(doc, "toggle")); n != 1 {
				t.Errorf("%d rows with a toggle, want 1", n)
			}
			var edit string
			walk(doc, func(n *html.Node) {
				if n.Data == "a" && text(n) == "edit" {
					edit, _ = attr(n, "href")
				}
			})
			wantStatus(t, e.get(strings.TrimPrefix(resolve(t, e.prefix+"/rules/"+slug, edit), e.prefix)), http.StatusOK)
		})
	}
	if evs := e.adminEvents(); len(evs) != len(forms) {
		t.Errorf("%d ADMIN_ACTION events for %d adds", len(evs), len(forms))
	}
}

func TestKeysetPagination(t *testing.T) {
	e := newEnv(t)
	for i := range 120 {
		if _, err := e.eng.Rules().BlockedEmails().Put(context.Background(), rule.BlockedEmail{Email: "u" + itoa(int64(i)) + "@example.com", AutoBlocked: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	path := "/rules/blocked-emails?auto_blocked=yes&limit=25"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("more pages than rows")
		}
		doc := parseHTML(t, e.get(path).Body.String())
		walk(doc, func(n *html.Node) {
			if n.Data == "td" && strings.HasSuffix(text(n), "@example.com") {
				if seen[text(n)] {
					t.Errorf("%s on two pages", text(n))
				}
				seen[text(n)] = true
			}
		})
		path = ""
		for _, a := range findRel(doc, "next") {
			path = strings.TrimPrefix(resolve(t, e.prefix+"/rules/blocked-emails", a), e.prefix)
		}
	}
	if len(seen) != 60 {
		t.Errorf("%d auto-blocked addresses over the pages, want 60", len(seen))
	}
}
