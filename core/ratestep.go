package core

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// LimitKey identifies one rate-limit counter: a rule and a client.
type LimitKey = ratelimit.Key

// LimitResult is the outcome of one key's check.
type LimitResult = ratelimit.Result

// Limiter checks every rate-limit key of one request in one call, all or
// nothing: when any key is over its limit, no key is consumed. It appends one
// result per key to dst. ratelimit.Memory (in process, the default) and
// redisstore.Limiter (shared by replicas) implement it.
type Limiter interface {
	Allow(ctx context.Context, now time.Time, keys []LimitKey, dst []LimitResult) ([]LimitResult, error)
}

// starter is implemented by limiters with background work or a script to load.
type starter interface {
	Start(ctx context.Context) error
}

// memLimiter adapts ratelimit.Memory to Limiter.
type memLimiter struct{ m *ratelimit.Memory }

// MemoryLimiter adapts in-process counters to Limiter.
func MemoryLimiter(m *ratelimit.Memory) Limiter { return memLimiter{m} }

func (l memLimiter) Allow(_ context.Context, now time.Time, keys []LimitKey, dst []LimitResult) ([]LimitResult, error) {
	return l.m.Allow(now, keys, dst)
}

// RateLimitInfo describes the rule that decided a rate-limited request, for
// the RateLimit and RateLimit-Policy headers.
type RateLimitInfo struct {
	Name      string        // the rule's name
	Quota     int64         // requests per window (the burst)
	Window    time.Duration // the rule's period
	Remaining int64         // requests left now
	Reset     time.Duration // until the quota is full again
}

// WithLimiter sets the rate limiter (default: in-process counters, see
// core/ratelimit). Use MemoryLimiter to pass a configured ratelimit.Memory.
func WithLimiter(l Limiter) Option {
	return func(cfg *config) error {
		if l == nil {
			return errors.New("WithLimiter: nil limiter")
		}
		cfg.limiter = l
		return nil
	}
}

// WithLimiterFailPolicy sets what happens when the limiter fails (Redis down
// or slow): FailFallback (default) counts in process until it recovers,
// FailOpen skips the rate-limit step, FailClosed answers 503. Each failure is
// counted in Stats and recorded as a FAIL_POLICY event.
func WithLimiterFailPolicy(p FailPolicy) Option {
	return func(cfg *config) error {
		if p < FailClosed || p > FailFallback {
			return errors.New("WithLimiterFailPolicy: unknown policy")
		}
		cfg.limiterPolicy = p
		return nil
	}
}

// Key kinds of a rate rule.
const (
	keyIP = iota
	keyUser
	keyUserOrIP
	keyHeader
)

type rateRule struct {
	id         int64
	name       string
	prefix     bool   // pattern ends in "*": match by prefix
	pattern    string // without the "*"
	method     string // "" = every method
	keyBy      int
	header     string // canonical header name for keyHeader
	limit      ratelimit.Limit
	reportOnly bool
}

// rateSet is the compiled rate-limit rules of a snapshot. Prefix rules whose
// pattern holds a whole first path segment ("/api/v1/*") are indexed by that
// segment, so a request only tests the prefixes that can match it.
type rateSet struct {
	rules    []rateRule
	exact    map[string][]int // path -> rule indexes
	bySeg    map[string][]int // first path segment -> prefix rule indexes
	prefixes []int            // the other prefix rules ("/*", "/ap*")
}

// firstSegment returns "api" for "/api/v1/x" and ok=false when p has no
// complete first segment followed by "/" (as in "/api" or "/ap").
func firstSegment(p string) (string, bool) {
	if len(p) < 2 || p[0] != '/' {
		return "", false
	}
	i := strings.IndexByte(p[1:], '/')
	if i < 0 {
		return "", false
	}
	return p[1 : 1+i], true
}

func compileRates(rules []RateLimitRule, bad func(string, Meta, string, error)) rateSet {
	rs := rateSet{exact: map[string][]int{}, bySeg: map[string][]int{}}
	for _, r := range rules {
		l, err := r.Limit()
		if err != nil {
			bad("RateLimitRule", r.Meta, r.Key(), err)
			continue
		}
		rr := rateRule{id: r.ID, name: r.Name, pattern: r.PathPattern, limit: l, reportOnly: r.ReportOnly}
		if r.Method != "ALL" {
			rr.method = r.Method
		}
		if strings.HasSuffix(r.PathPattern, "*") {
			rr.prefix, rr.pattern = true, strings.TrimSuffix(r.PathPattern, "*")
		}
		switch {
		case r.KeyBy == "user":
			rr.keyBy = keyUser
		case r.KeyBy == "user_or_ip":
			rr.keyBy = keyUserOrIP
		case strings.HasPrefix(r.KeyBy, "header:"):
			rr.keyBy, rr.header = keyHeader, http.CanonicalHeaderKey(strings.TrimPrefix(r.KeyBy, "header:"))
		}
		i := len(rs.rules)
		rs.rules = append(rs.rules, rr)
		if seg, ok := firstSegment(rr.pattern); rr.prefix && ok {
			rs.bySeg[seg] = append(rs.bySeg[seg], i)
		} else if rr.prefix {
			rs.prefixes = append(rs.prefixes, i)
		} else {
			rs.exact[rr.pattern] = append(rs.exact[rr.pattern], i)
		}
	}
	return rs
}

func (r *rateRule) matchesMethod(m string) bool {
	return r.method == "" || r.method == m || (r.method == http.MethodGet && m == http.MethodHead)
}

// limitIP is the address rate-limit counters are keyed by: IPv4
// as is, NAT64 (64:ff9b::/96) by the embedded IPv4, other IPv6 by its prefix.
func limitIP(ip netip.Addr, v6bits int) netip.Addr {
	if !ip.Is6() {
		return ip
	}
	b := ip.As16()
	if nat64.Contains(ip) {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	p, _ := ip.Prefix(v6bits)
	return p.Addr()
}

// nat64 is the well-known NAT64 prefix (RFC 6052): limitIP keys addresses in
// it by their embedded IPv4 address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

type rateScratch struct {
	keys  []LimitKey
	res   []LimitResult
	rules []int // matching rule indexes
	order []int // rule index of each key
}

var ratePool = sync.Pool{New: func() any {
	return &rateScratch{keys: make([]LimitKey, 0, 8), res: make([]LimitResult, 0, 8), rules: make([]int, 0, 8), order: make([]int, 0, 8)}
}}

const maxRateValue = ratelimit.MaxValueLen

// rateLimit runs step 9: every matching rule applies; a request denied by
// any rule consumes from none. It returns true when it turned d into a
// denial.
func (e *Engine) rateLimit(ctx context.Context, r *http.Request, req Request, s *Snapshot, d *Decision, now time.Time) bool {
	rs := &s.rates
	if len(rs.rules) == 0 {
		return false
	}
	p := req.Route
	if p == "" {
		p = cleanPath(r.URL.Path)
	}
	sc := ratePool.Get().(*rateScratch)
	defer ratePool.Put(sc)
	sc.rules = sc.rules[:0]
	for _, i := range rs.exact[p] {
		if rs.rules[i].matchesMethod(r.Method) {
			sc.rules = append(sc.rules, i)
		}
	}
	for _, i := range rs.prefixes {
		if rr := &rs.rules[i]; strings.HasPrefix(p, rr.pattern) && rr.matchesMethod(r.Method) {
			sc.rules = append(sc.rules, i)
		}
	}
	if seg, ok := firstSegment(p); ok {
		for _, i := range rs.bySeg[seg] {
			if rr := &rs.rules[i]; strings.HasPrefix(p, rr.pattern) && rr.matchesMethod(r.Method) {
				sc.rules = append(sc.rules, i)
			}
		}
	}
	if len(sc.rules) == 0 {
		return false
	}
	ip := limitIP(d.ClientIP, e.cfg.ipv6Prefix)
	enforce, report := sc.keys[:0], 0
	sc.order = sc.order[:0]
	for pass := 0; pass < 2; pass++ { // enforcing rules first, then report-only ones
		for _, i := range sc.rules {
			rr := &rs.rules[i]
			if rr.reportOnly != (pass == 1) {
				continue
			}
			k := LimitKey{Rule: rr.id, Limit: rr.limit}
			switch rr.keyBy {
			case keyUser, keyUserOrIP:
				k.Value = req.UserID
			case keyHeader:
				k.Value = r.Header.Get(rr.header)
			}
			if len(k.Value) > maxRateValue {
				k.Value = k.Value[:maxRateValue]
			}
			if k.Value == "" { // missing user or header: the IP; never skip the rule
				k.IP = ip
			}
			enforce = append(enforce, k)
			sc.order = append(sc.order, i)
			if pass == 1 {
				report++
			}
		}
	}
	sc.keys = enforce
	nEnf := len(enforce) - report
	res, denied := sc.res[:0], false
	var err error
	if nEnf > 0 {
		res, err = e.allow(ctx, now, enforce[:nEnf], res)
		if err != nil {
			return e.limiterFailed(r, d, err)
		}
	}
	if report > 0 {
		if res, err = e.allow(ctx, now, enforce[nEnf:], res); err != nil {
			return e.limiterFailed(r, d, err)
		}
	}
	sc.res = res
	// Pick the result to show: the denying one with the longest wait, else
	// the one with the fewest requests left.
	best := -1
	for i := range res {
		k := &enforce[i]
		if !res[i].Allowed {
			e.countHit(HitRateLimit, k.Rule)
			if i >= nEnf || s.Settings.ReportOnly {
				e.record(r, Decision{Action: ActionWouldBlock, RuleID: k.Rule, ClientIP: d.ClientIP, Country: d.Country}, string(ActionRateLimit), "")
				continue
			}
			if !denied || res[i].RetryAfter > res[best].RetryAfter {
				best = i
			}
			denied = true
		} else if !denied && (best < 0 || res[i].Remaining < res[best].Remaining) && i < nEnf {
			best = i
		}
	}
	if best >= 0 {
		rr := &rs.rules[sc.order[best]]
		l := res[best].Limit
		d.RateLimit = RateLimitInfo{Name: rr.name, Quota: l.EffectiveBurst(), Window: l.Period, Remaining: res[best].Remaining, Reset: res[best].ResetAfter}
	}
	if !denied {
		return false
	}
	d.Allowed, d.Action, d.RuleID, d.Status, d.ReportOnly = false, ActionRateLimit, enforce[best].Rule, http.StatusTooManyRequests, false
	d.RetryAfter = res[best].RetryAfter
	e.record(r, *d, "", "")
	return true
}

// cleanPath is path.Clean without the work when p is already clean (the
// common case).
func cleanPath(p string) string {
	if p == "" || p[0] != '/' || strings.Contains(p, "//") || strings.Contains(p, "/.") || (len(p) > 1 && p[len(p)-1] == '/') {
		return path.Clean("/" + p)
	}
	return p
}

// allow calls the limiter, falling back to the in-process one while the
// configured limiter is failing and the policy says so.
func (e *Engine) allow(ctx context.Context, now time.Time, keys []LimitKey, dst []LimitResult) ([]LimitResult, error) {
	var out []LimitResult
	var err error
	if m, ok := e.limiter.(memLimiter); ok { // direct call: the scratch slices stay off the heap
		out, err = m.m.Allow(now, keys, dst)
	} else {
		out, err = e.limiter.Allow(ctx, now, keys, dst)
	}
	if err == nil {
		return out, nil
	}
	if _, mem := e.limiter.(memLimiter); mem {
		// In-process counters at their cap (a key flood): there is nothing to
		// fall back to. Count it; limiterFailed applies the policy, where only
		// FailClosed denies, so a flood of new keys cannot lock out every new
		// client.
		e.limiterTrips.Add(1)
		e.Record(Event{Action: ActionFailPolicy, Severity: SeverityHigh, Details: "rate limiter: " + err.Error()})
		return dst, err
	}
	e.limiterTrips.Add(1)
	e.Record(Event{Action: ActionFailPolicy, Severity: SeverityHigh, Details: "rate limiter: " + e.cfg.limiterPolicy.String() + ": " + err.Error()})
	if e.cfg.limiterPolicy == FailFallback && e.fallback != nil {
		return e.fallback.Allow(now, keys, dst)
	}
	return dst, err
}

// limiterFailed applies the limiter fail policy when no fallback answered.
func (e *Engine) limiterFailed(r *http.Request, d *Decision, err error) bool {
	if e.cfg.limiterPolicy != FailClosed {
		return false // FailOpen, or FailFallback with no fallback left
	}
	d.Allowed, d.Status, d.Action, d.Reason = false, http.StatusServiceUnavailable, ActionRateLimit, "fail_closed"
	e.log.Debug("warden: rate limiter failed; denying", "error", err)
	return true
}

// RateLimitHeaders returns the values of the RateLimit-Policy and RateLimit
// headers (IETF httpapi rate-limit headers draft, structured-field form) for
// d, or "" when no rate-limit rule applied.
func RateLimitHeaders(d Decision) (policy, limit string) {
	ri := d.RateLimit
	if ri.Quota == 0 {
		return "", ""
	}
	name := sfString(ri.Name)
	policy = name + ";q=" + strconv.FormatInt(ri.Quota, 10) + ";w=" + strconv.FormatInt(int64(ri.Window/time.Second), 10)
	limit = name + ";r=" + strconv.FormatInt(max(ri.Remaining, 0), 10) + ";t=" + strconv.FormatInt(ratelimit.RetryAfterSeconds(max(ri.Reset, d.RetryAfter)), 10)
	return policy, limit
}

// sfString is a structured-field string: printable ASCII, with \ and "
// escaped; other bytes dropped.
func sfString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
