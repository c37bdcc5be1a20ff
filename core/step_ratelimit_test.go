package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/core/rule"
)

func rateRule(e *env, r rule.RateLimitRule) rule.RateLimitRule {
	e.t.Helper()
	return put(e, e.eng.Rules().RateLimitRules(), r)
}

func method(m string) reqOpt { return func(r *http.Request) { r.Method = m } }
func header(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

func TestRateLimitEnforced(t *testing.T) {
	e := newEnv(t)
	rule := rateRule(e, rule.RateLimitRule{Name: "login", PathPattern: "/login", Method: "POST", Rate: "3/m"})
	for i := range 3 {
		d := e.check("3.3.3.3", "/login", "", method("POST"))
		if !d.Allowed || d.RateLimit.Quota != 3 || d.RateLimit.Remaining != int64(2-i) {
			t.Fatalf("request %d: %+v", i+1, d)
		}
	}
	d := e.check("3.3.3.3", "/login", "", method("POST"))
	if d.Allowed || d.Status != http.StatusTooManyRequests || d.Action != core.ActionRateLimit || d.RuleID != rule.ID || d.Message() != "Too many requests" {
		t.Fatalf("4th request: %+v", d)
	}
	if d.RetryAfter != 20*time.Second {
		t.Fatalf("RetryAfter = %v, want 20s (one request per 20s)", d.RetryAfter)
	}
	pol, lim := core.RateLimitHeaders(d)
	if pol != `"login";q=3;w=60` || lim != `"login";r=0;t=60` {
		t.Fatalf("headers %q %q", pol, lim)
	}
	// Other method, other path, other client: separate.
	wantAllow(t, e.check("3.3.3.3", "/login", "", method("GET")))
	wantAllow(t, e.check("3.3.3.3", "/other", "", method("POST")))
	wantAllow(t, e.check("3.3.3.4", "/login", "", method("POST")))
	// Time refills the bucket.
	e.clock.Add(20 * time.Second)
	wantAllow(t, e.check("3.3.3.3", "/login", "", method("POST")))
	evs := e.events()
	if len(evs) != 1 || evs[0].Action != core.ActionRateLimit || evs[0].Severity != core.SeverityLow {
		t.Fatalf("events = %+v; want one RATE_LIMIT", evs)
	}
	if got, _ := e.store.RateLimitRules().Get(context.Background(), rule.Key()); got.HitCount != 1 {
		t.Fatalf("hit count = %d, want 1", got.HitCount)
	}
}

func TestRateLimitMatching(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "api", PathPattern: "/api/*", Rate: "2/m"})
	rateRule(e, rule.RateLimitRule{Name: "get", PathPattern: "/page", Method: "GET", Rate: "1/m"})
	// Prefix, cleaned path: /api/../api/x is /api/x.
	wantAllow(t, e.check("3.3.3.3", "/api/a", ""))
	wantAllow(t, e.check("3.3.3.3", "/api/b/../c", ""))
	if d := e.check("3.3.3.3", "/api/z", ""); d.Allowed {
		t.Fatalf("third /api request allowed: %+v", d)
	}
	wantAllow(t, e.check("3.3.3.3", "/apix", "")) // "/api/*" does not cover /apix
	// A GET rule also covers HEAD.
	wantAllow(t, e.check("3.3.3.3", "/page", "", method("HEAD")))
	if d := e.check("3.3.3.3", "/page", "", method("GET")); d.Allowed {
		t.Fatalf("GET after HEAD allowed: %+v", d)
	}
	// The route template wins over the path when the adapter knows it.
	rateRule(e, rule.RateLimitRule{Name: "user", PathPattern: "/users/:id", Rate: "1/m"})
	r := request("3.3.3.3", "/users/1")
	d, _ := e.eng.Check(context.Background(), core.Request{HTTP: r, Route: "/users/:id"})
	wantAllow(t, d)
	d, _ = e.eng.Check(context.Background(), core.Request{HTTP: request("3.3.3.3", "/users/2"), Route: "/users/:id"})
	if d.Allowed {
		t.Fatalf("second /users/:id allowed: %+v", d)
	}
}

func TestRateLimitAllRulesApplyAndDenialConsumesNone(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "wide", PathPattern: "/*", Rate: "10/m"})
	rateRule(e, rule.RateLimitRule{Name: "narrow", PathPattern: "/x", Rate: "2/m"})
	for range 2 {
		wantAllow(t, e.check("3.3.3.3", "/x", ""))
	}
	for range 5 { // denied by "narrow": "wide" must not be consumed
		if d := e.check("3.3.3.3", "/x", ""); d.Allowed || d.RateLimit.Name != "narrow" {
			t.Fatalf("want denial by narrow: %+v", d)
		}
	}
	for i := range 8 { // wide has 8 left (10 - 2)
		if d := e.check("3.3.3.3", "/y", ""); !d.Allowed {
			t.Fatalf("/y request %d denied: wide was consumed by denied requests (%+v)", i+1, d)
		}
	}
	if d := e.check("3.3.3.3", "/y", ""); d.Allowed {
		t.Fatalf("11th request under wide allowed")
	}
}

func TestRateLimitKeys(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "u", PathPattern: "/u", Rate: "1/m", KeyBy: "user"})
	rateRule(e, rule.RateLimitRule{Name: "h", PathPattern: "/h", Rate: "1/m", KeyBy: "header:X-API-Key"})
	// user: per user; a missing user falls back to the IP.
	wantAllow(t, e.check("3.3.3.3", "/u", "alice"))
	wantAllow(t, e.check("3.3.3.4", "/u", "bob"))
	if d := e.check("3.3.3.5", "/u", "alice"); d.Allowed {
		t.Fatal("alice from another IP not limited")
	}
	wantAllow(t, e.check("3.3.3.3", "/u", ""))
	if d := e.check("3.3.3.3", "/u", ""); d.Allowed {
		t.Fatal("anonymous request not limited by IP")
	}
	// header: per value, missing header -> IP.
	wantAllow(t, e.check("3.3.3.3", "/h", "", header("X-API-Key", "k1")))
	wantAllow(t, e.check("3.3.3.3", "/h", "", header("X-API-Key", "k2")))
	if d := e.check("3.3.3.9", "/h", "", header("X-API-Key", "k1")); d.Allowed {
		t.Fatal("same key from another IP not limited")
	}
	wantAllow(t, e.check("3.3.3.9", "/h", ""))
	// A huge header value is cut, never an error.
	wantAllow(t, e.check("3.3.3.9", "/h", "", header("X-API-Key", strings.Repeat("k", 10000))))
}

func TestRateLimitIPv6Grouping(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "2/m"})
	wantAllow(t, e.check("2001:db8:1:2::1", "/x", ""))
	wantAllow(t, e.check("2001:db8:1:2::ffff", "/x", ""))
	if d := e.check("2001:db8:1:2:abcd::1", "/x", ""); d.Allowed { // ipv6_rotation_same_64
		t.Fatal("rotating inside one /64 escaped the limit")
	}
	wantAllow(t, e.check("2001:db8:1:3::1", "/x", "")) // next /64
	// NAT64 is keyed by the embedded IPv4 address.
	wantAllow(t, e.check("64:ff9b::203.0.113.5", "/x", ""))
	wantAllow(t, e.check("64:ff9b::203.0.113.6", "/x", ""))
}

func TestRateLimitExemptions(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "1/m"})
	put(e, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "rl", Exemption: rule.ExemptRateLimit})
	put(e, e.eng.Rules().WhitelistedUsers(), rule.WhitelistedUser{UserID: "geo", Exemption: rule.ExemptGeoBlock})
	for range 5 {
		wantAllow(t, e.check("3.3.3.3", "/x", "rl"))
	}
	wantAllow(t, e.check("3.3.3.3", "/x", "geo"))
	if d := e.check("3.3.3.3", "/x", "geo"); d.Allowed {
		t.Fatal("geo_block exemption skipped the rate limit")
	}
}

func TestRateLimitReportOnlyRule(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "1/m", ReportOnly: true})
	for range 3 {
		wantAllow(t, e.check("3.3.3.3", "/x", ""))
	}
	var would int
	for _, ev := range e.events() {
		if ev.Action == core.ActionWouldBlock && ev.Details == string(core.ActionRateLimit) {
			would += int(ev.Count)
		}
	}
	if would != 2 {
		t.Fatalf("WOULD_BLOCK RATE_LIMIT events = %d, want 2", would)
	}
}

func TestRateLimitRuleEditedWithoutRestart(t *testing.T) {
	e := newEnv(t)
	r := rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "1/m"})
	wantAllow(t, e.check("3.3.3.3", "/x", ""))
	if d := e.check("3.3.3.3", "/x", ""); d.Allowed {
		t.Fatal("not limited")
	}
	r.Rate = "100/m"
	rateRule(e, r)
	wantAllow(t, e.check("3.3.3.3", "/x", "")) // new limit: fresh counters
	r.Disabled = true
	rateRule(e, r)
	for range 200 {
		wantAllow(t, e.check("3.3.3.3", "/x", ""))
	}
}

func TestRateLimitBurstFromIdle(t *testing.T) {
	e := newEnv(t)
	rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "10/s", Burst: 25})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _ := e.eng.Check(context.Background(), core.Request{HTTP: request("3.3.3.3", "/x")})
			if d.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 25 {
		t.Fatalf("%d of 100 simultaneous requests allowed from idle, want exactly the burst 25", allowed)
	}
}

// failingLimiter fails every call while fail is set.
type failingLimiter struct {
	mu   sync.Mutex
	fail bool
	n    int
}

func (f *failingLimiter) Allow(_ context.Context, _ time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.fail {
		return dst, errors.New("redis: connection refused")
	}
	for _, k := range keys {
		dst = append(dst, ratelimit.Result{Allowed: true, Limit: k.Limit, Remaining: 99})
	}
	return dst, nil
}

func TestLimiterFailPolicy(t *testing.T) {
	for _, c := range []struct {
		policy core.FailPolicy
		// after two requests with the limiter down, on a 1/m rule
		want []bool
	}{
		{core.FailFallback, []bool{true, false}}, // in-process counters take over
		{core.FailOpen, []bool{true, true}},
		{core.FailClosed, []bool{false, false}},
	} {
		t.Run(c.policy.String(), func(t *testing.T) {
			lim := &failingLimiter{fail: true}
			e := newEnv(t, core.WithLimiter(lim), core.WithLimiterFailPolicy(c.policy))
			rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "1/m"})
			for i, want := range c.want {
				d := e.check("3.3.3.3", "/x", "")
				if d.Allowed != want {
					t.Fatalf("request %d: %+v, want allowed=%v", i+1, d, want)
				}
				if !want && c.policy == core.FailClosed && d.Status != http.StatusServiceUnavailable {
					t.Fatalf("fail closed status %d", d.Status)
				}
			}
			if got := e.eng.Stats().LimiterFailures; got != 2 {
				t.Fatalf("limiter failures = %d, want 2", got)
			}
			// Recovery: the limiter answers again and decides.
			lim.mu.Lock()
			lim.fail = false
			lim.mu.Unlock()
			wantAllow(t, e.check("3.3.3.3", "/x", ""))
			evs := e.events()
			n := 0
			for _, ev := range evs {
				if ev.Action == core.ActionFailPolicy {
					n += int(ev.Count)
				}
			}
			if n != 2 {
				t.Fatalf("FAIL_POLICY events = %d, want 2 (%+v)", n, evs)
			}
		})
	}
}

func TestRateLimitRuleValidation(t *testing.T) {
	e := newEnv(t)
	for _, r := range []rule.RateLimitRule{
		{Name: "x", PathPattern: "/x", Rate: "0/m"},
		{Name: "x", PathPattern: "/x", Rate: "5/w"},
		{Name: "x", PathPattern: "/x", Rate: "5/m", Burst: -1},
		{Name: "x", PathPattern: "x", Rate: "5/m"},
		{Name: "x", PathPattern: "/a*b", Rate: "5/m"},
		{Name: "x", PathPattern: "/x", Rate: "5/m", KeyBy: "cookie"},
		{Name: "", PathPattern: "/x", Rate: "5/m"},
	} {
		if _, err := e.eng.Rules().RateLimitRules().Put(context.Background(), r); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", r, err)
		}
	}
	got := rateRule(e, rule.RateLimitRule{Name: "x", PathPattern: "/x", Rate: "100/m;burst=20"})
	if l, _ := got.Limit(); l.Burst != 20 || l.N != 100 {
		t.Fatalf("limit = %+v", l)
	}
	_ = fmt.Sprint()
}

// A flood of new keys fills the in-process counters: new clients are let
// through (counted and recorded), never all denied, unless FailClosed.
func TestRateLimitKeyFlood(t *testing.T) {
	for _, c := range []struct {
		policy core.FailPolicy
		allow  bool
	}{{core.FailFallback, true}, {core.FailClosed, false}} {
		t.Run(c.policy.String(), func(t *testing.T) {
			m, err := ratelimit.NewMemory(ratelimit.WithShards(1), ratelimit.WithMaxKeys(2))
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, core.WithLimiter(core.MemoryLimiter(m)), core.WithLimiterFailPolicy(c.policy))
			rateRule(e, rule.RateLimitRule{Name: "k", PathPattern: "/k", Rate: "1/d", KeyBy: "header:X-Key"})
			wantAllow(t, e.check("3.3.3.3", "/k", "", header("X-Key", "a")))
			wantAllow(t, e.check("3.3.3.3", "/k", "", header("X-Key", "b")))
			d := e.check("3.3.3.3", "/k", "", header("X-Key", "c")) // a third key: the cap is 2
			if d.Allowed != c.allow {
				t.Fatalf("new key at the cap: %+v, want allowed=%v", d, c.allow)
			}
			if n := e.eng.Stats().LimiterFailures; n != 1 {
				t.Fatalf("limiter failures = %d, want 1", n)
			}
			if d := e.check("3.3.3.3", "/k", "", header("X-Key", "a")); d.Allowed { // live counters still count
				t.Fatal("an existing key was reset by the flood")
			}
		})
	}
}
