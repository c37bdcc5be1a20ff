package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// api sends a JSON request as a script of the same origin would.
func (e *env) api(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	w := e.do(method, "/api"+path, strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if w.Code == http.StatusNoContent {
		return w.Code, nil
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, cutBody(w.Body.String()))
	}
	var m map[string]any
	if strings.HasPrefix(strings.TrimSpace(w.Body.String()), "{") {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return w.Code, m
}

func TestAPIValidationNamesFieldAndValue(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, body string
		code                     int
		field, value             string
	}{
		{"bad_network", "POST", "/rules/blocked-ips", `{"network":"300.1.1.1"}`, 422, "network", "300.1.1.1"},
		{"bad_rate", "POST", "/rules/rate-limits", `{"name":"x","path_pattern":"/login","rate":"lots"}`, 422, "rate", "lots"},
		{"wrong_type", "POST", "/rules/blocked-ips", `{"network":"192.0.2.1","block_count":"many"}`, 422, "block_count", "string"},
		{"bad_country", "POST", "/rules/blocked-countries", `{"code":"XX"}`, 422, "code", "XX"},
		{"bad_email", "POST", "/rules/blocked-emails", `{"email":"not-an-address"}`, 422, "email", "not-an-address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, m := e.api(tt.method, tt.path, tt.body)
			if code != tt.code || m["field"] != tt.field || m["value"] != tt.value || m["error"] == "" {
				t.Errorf("%d %v, want %d naming %s=%s", code, m, tt.code, tt.field, tt.value)
			}
		})
	}
	for _, tt := range []struct{ name, body, says string }{
		{"unknown_field", `{"network":"192.0.2.1","nope":1}`, "unknown field"},
		{"not_json", `network=1`, "bad JSON"},
		{"two_values", `{"network":"192.0.2.1"}{}`, "more than one"},
	} {
		code, m := e.api("POST", "/rules/blocked-ips", tt.body)
		if code != http.StatusBadRequest || !strings.Contains(m["error"].(string), tt.says) {
			t.Errorf("%s: %d %v", tt.name, code, m)
		}
	}
	if d := e.check("192.0.2.1"); !d.Allowed {
		t.Errorf("a refused API call stored a rule")
	}
}

func TestAPIRuleLifecycle(t *testing.T) {
	e := newEnv(t)
	code, m := e.api("POST", "/rules/blocked-ips", `{"network":"203.0.113.0/24","reason":"scan"}`)
	if code != http.StatusCreated || m["network"] != "203.0.113.0/24" {
		t.Fatalf("create: %d %v", code, m)
	}
	id := itoa(int64(m["id"].(float64)))
	if d := e.check("203.0.113.5"); d.Allowed {
		t.Fatal("the API's block does not deny")
	}
	code, m = e.api("PUT", "/rules/blocked-ips/"+id, `{"network":"198.51.100.0/24"}`)
	if code != 422 || m["field"] != "network" {
		t.Errorf("key change: %d %v", code, m)
	}
	code, m = e.api("PUT", "/rules/blocked-ips/"+id, `{"reason":"edited","disabled":true}`)
	if code != 200 || m["reason"] != "edited" || m["disabled"] != true {
		t.Errorf("update: %d %v", code, m)
	}
	if d := e.check("203.0.113.5"); !d.Allowed {
		t.Error("a disabled rule still denies")
	}
	code, m = e.api("GET", "/rules/blocked-ips?active=no", "")
	if rules, _ := m["rules"].([]any); code != 200 || len(rules) != 1 {
		t.Errorf("list: %d %v", code, m)
	}
	code, m = e.api("POST", "/rules/blocked-ips/bulk", `{"action":"activate","ids":[`+id+`, 99999]}`)
	if code != http.StatusConflict || m["done"] != 1.0 || len(m["failed"].([]any)) != 1 {
		t.Errorf("bulk: %d %v", code, m)
	}
	if code, _ = e.api("DELETE", "/rules/blocked-ips/"+id, ""); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	code, m = e.api("GET", "/rules/blocked-ips/"+id, "")
	if code != 404 || !strings.Contains(m["error"].(string), "no blocked IP with id") {
		t.Errorf("get after delete: %d %v", code, m)
	}
	code, m = e.api("GET", "/rules/nothing", "")
	if code != 404 || !strings.Contains(m["error"].(string), "unknown rule kind") {
		t.Errorf("unknown kind: %d %v", code, m)
	}
	code, m = e.api("GET", "/rules/blocked-ips?after=12345", "")
	if code != 404 || !strings.Contains(m["error"].(string), "past the end") {
		t.Errorf("past the end: %d %v", code, m)
	}
	if evs := e.adminEvents(); len(evs) != 4 {
		t.Errorf("%d ADMIN_ACTION events for create, update, bulk activate and delete: %+v", len(evs), evs)
	}
}
