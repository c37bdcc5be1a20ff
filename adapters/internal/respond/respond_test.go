package respond_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/wardenkit/warden/adapters/internal/respond"
	"github.com/wardenkit/warden/core"
)

func safety(contentType string, extra ...string) http.Header {
	h := http.Header{
		"Cache-Control":          {"no-store"},
		"Vary":                   {"Accept"},
		"X-Content-Type-Options": {"nosniff"},
		"Content-Type":           {contentType},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

const text = "text/plain; charset=utf-8"

type answer struct {
	status int
	body   string
	header http.Header
}

func check(t *testing.T, name string, w *httptest.ResponseRecorder, want answer) {
	t.Helper()
	got := w.Result().Header
	same := len(got) == len(want.header)
	for k, v := range want.header {
		same = same && slices.Equal(got[k], v)
	}
	if w.Code != want.status || w.Body.String() != want.body || !same {
		t.Errorf("%s: %d %q %v\nwant %d %q %v", name, w.Code, w.Body, got, want.status, want.body, want.header)
	}
}

func request(accept string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}

func TestWriteDenial(t *testing.T) {
	rate := core.Decision{Status: 429, Action: core.ActionRateLimit, RetryAfter: 1500 * time.Millisecond,
		RateLimit: core.RateLimitInfo{Name: "login", Quota: 5, Window: time.Minute, Reset: 12 * time.Second}}
	for _, c := range []struct {
		name, accept string
		d            core.Decision
		want         answer
	}{
		{"ip_block_text", "", core.Decision{Status: 403, Action: core.ActionIPBlock},
			answer{403, "Access denied", safety(text)}},
		{"zero_status_is_403", "", core.Decision{}, answer{403, "Access denied", safety(text)}},
		{"country_json", "application/json", core.Decision{Status: 403, Action: core.ActionCountryBlock},
			answer{403, `{"error":"Access denied from your region","status":403}` + "\n", safety("application/json")}},
		{"unavailable", "", core.Decision{Status: 503}, answer{503, "Service unavailable", safety(text)}},
		{"rate_limited", "", rate, answer{429, "Too many requests", safety(text,
			"Retry-After", "2", "RateLimit-Policy", `"login";q=5;w=60`, "RateLimit", `"login";r=0;t=12`)}},
	} {
		w := httptest.NewRecorder()
		respond.WriteDenial(w, request(c.accept), c.d)
		check(t, c.name, w, c.want)
	}
}

func TestWriteLocked(t *testing.T) {
	until := time.Date(2030, 1, 1, 12, 15, 0, 0, time.UTC)
	for _, c := range []struct {
		name, accept string
		le           *core.LockedError
		want         answer
	}{
		{"text_rounded_up", "", &core.LockedError{Until: until, RetryAfter: 1500 * time.Millisecond},
			answer{429, respond.LockedMessage, safety(text, "Retry-After", "2")}},
		{"json", "application/json", &core.LockedError{Until: until, RetryAfter: 15 * time.Minute},
			answer{429, `{"error":"Too many login attempts","status":429}` + "\n", safety("application/json", "Retry-After", "900")}},
		{"until_unlocked", "", &core.LockedError{RetryAfter: time.Hour}, answer{429, respond.LockedMessage, safety(text)}},
		{"ended", "", &core.LockedError{Until: until}, answer{429, respond.LockedMessage, safety(text)}},
		{"nil", "", nil, answer{429, respond.LockedMessage, safety(text)}},
	} {
		w := httptest.NewRecorder()
		respond.WriteLocked(w, request(c.accept), c.le)
		check(t, c.name, w, c.want)
	}
}

func TestWantsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                 false,
		"*/*":                              false,
		"application/json":                 true,
		"Application/JSON; charset=utf-8":  true,
		"application/problem+json":         true,
		"text/html,application/json":       false,
		"application/json,text/html":       true,
		"text/plain, application/json;q=1": false,
		"image/png, application/json":      true,
	} {
		if got := respond.WantsJSON(request(accept)); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
	r := request("image/png")
	r.Header.Add("Accept", "application/json") // a second Accept line counts too
	if !respond.WantsJSON(r) {
		t.Error("second Accept line ignored")
	}
}
