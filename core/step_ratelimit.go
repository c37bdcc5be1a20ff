package core

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/wardenkit/warden/core/ratelimit"
	"github.com/wardenkit/warden/core/rule"
)

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
	rank       int // order among matching prefix rules: the index, after those with no whole first segment
}

// rateSet is the compiled rate-limit rules of a snapshot. A prefix rule
// ("/api/v1/*", "/ap*") is indexed by its pattern up to and including the
// last "/" ("/api/v1/", "/"), so a request looks up each of its own prefixes
// that end in "/" and tests only the rules found there.
type rateSet struct {
	rules    []rateRule
	exact    map[string][]int // path -> rule indexes
	byPrefix map[string][]int // pattern up to its last "/" -> prefix rule indexes
	noSlash  []int            // prefix rules whose pattern holds no "/"
	maxKey   int              // longest byPrefix key: a path's longer prefixes are not looked up
	keyLens  uint64           // bit n: a byPrefix key of length n (n < 64; longer ones set bit 63)
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

// slashPrefix is p up to and including its last "/"; ok is false when p
// holds none.
func slashPrefix(p string) (string, bool) {
	i := strings.LastIndexByte(p, '/')
	return p[:i+1], i >= 0
}

// loadRates compiles the active rate-limit rules.
func (s *snapshot) loadRates(ctx context.Context, st Store) error {
	rows, err := st.RateLimitRules().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list rate limit rules: %w", err)
	}
	s.rates = rateSet{exact: map[string][]int{}, byPrefix: map[string][]int{}}
	for _, r := range rows {
		n, err := rule.Normalize(r)
		if err != nil {
			s.skip("RateLimitRule", r.Meta, r.Key(), err)
			continue
		}
		if !n.IsActive() {
			continue
		}
		rr, err := compileRate(n)
		if err != nil {
			s.skip("RateLimitRule", r.Meta, r.Key(), err)
			continue
		}
		s.rates.add(rr)
	}
	return nil
}

// compileRate turns a normalised rule into its matching form.
func compileRate(r rule.RateLimitRule) (rateRule, error) {
	l, err := r.Limit()
	if err != nil {
		return rateRule{}, err
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
	return rr, nil
}

// add indexes rr: exact paths by path, prefixes by their slashPrefix.
func (rs *rateSet) add(rr rateRule) {
	i := len(rs.rules)
	rr.rank = i
	if _, ok := firstSegment(rr.pattern); ok {
		rr.rank += 1 << 30
	}
	rs.rules = append(rs.rules, rr)
	if !rr.prefix {
		rs.exact[rr.pattern] = append(rs.exact[rr.pattern], i)
	} else if k, ok := slashPrefix(rr.pattern); ok {
		rs.byPrefix[k] = append(rs.byPrefix[k], i)
		rs.maxKey = max(rs.maxKey, len(k))
		rs.keyLens |= 1 << min(len(k), 63)
	} else {
		rs.noSlash = append(rs.noSlash, i)
	}
}

func (r *rateRule) matchesMethod(m string) bool {
	return r.method == "" || r.method == m || (r.method == http.MethodGet && m == http.MethodHead)
}

type rateScratch struct {
	keys  []ratelimit.Key
	res   []ratelimit.Result
	rules []int // matching rule indexes
	order []int // rule index of each key
}

var ratePool = sync.Pool{New: func() any {
	return &rateScratch{keys: make([]ratelimit.Key, 0, 8), res: make([]ratelimit.Result, 0, 8), rules: make([]int, 0, 8), order: make([]int, 0, 8)}
}}

const maxRateValue = ratelimit.MaxValueLen

// stepRateLimit applies every matching rule; a request denied by any rule
// consumes from none. Enforcing rules are asked first, report-only ones after.
func (e *Engine) stepRateLimit(ctx context.Context, c *checkState) bool {
	rs := &c.s.rates
	if len(rs.rules) == 0 || c.ex == rule.ExemptRateLimit {
		return false
	}
	sc := ratePool.Get().(*rateScratch)
	defer ratePool.Put(sc)
	if !rs.match(sc, c) {
		return false
	}
	if c.tr != nil { // a dry run asks no counter: asking takes a token
		c.tr.rates(rs, sc.rules)
		return false
	}
	nEnf := e.rateKeys(sc, c)
	res, err := sc.res[:0], error(nil)
	if nEnf > 0 {
		if res, err = e.allow(ctx, c.now, sc.keys[:nEnf], res); err != nil {
			return e.limiterFailed(&c.d, err)
		}
	}
	if len(sc.keys) > nEnf {
		if res, err = e.allow(ctx, c.now, sc.keys[nEnf:], res); err != nil {
			return e.limiterFailed(&c.d, err)
		}
	}
	sc.res = res
	return e.rateOutcome(sc, c, nEnf)
}

// match puts the indexes of the rules that match c's method and route
// template, and the cleaned path when the template has a wildcard (a
// catch-all route must not hide "/login" from a "/login" rule) or there is
// none, into sc.rules, and reports whether there are any.
func (rs *rateSet) match(sc *rateScratch, c *checkState) bool {
	sc.rules = sc.rules[:0]
	route := c.req.Route
	if route != "" {
		rs.matchPath(sc, route, c.r.Method, false)
	}
	if route == "" || strings.ContainsAny(route, "*:{") {
		rs.matchPath(sc, cleanPath(c.r.URL.Path), c.r.Method, route != "")
	}
	return len(sc.rules) > 0
}

// matchPath adds the rules matching path p and method m to sc.rules; dedup
// is set on the second call for one request (the route, then the path).
func (rs *rateSet) matchPath(sc *rateScratch, p, m string, dedup bool) {
	add := func(i int) {
		if rr := &rs.rules[i]; rr.matchesMethod(m) && !(dedup && slices.Contains(sc.rules, i)) {
			sc.rules = append(sc.rules, i)
		}
	}
	if len(rs.exact) > 0 {
		for _, i := range rs.exact[p] {
			add(i)
		}
	}
	start := len(sc.rules)
	for _, i := range rs.noSlash {
		if strings.HasPrefix(p, rs.rules[i].pattern) {
			add(i)
		}
	}
	for j := 0; j < min(len(p), rs.maxKey); j++ {
		if p[j] != '/' || (j < 62 && rs.keyLens&(1<<(j+1)) == 0) {
			continue // no key of this length
		}
		for _, i := range rs.byPrefix[p[:j+1]] {
			if strings.HasPrefix(p, rs.rules[i].pattern) {
				add(i)
			}
		}
	}
	if len(sc.rules)-start > 1 { // the order of the previous index: see rank
		slices.SortFunc(sc.rules[start:], func(a, b int) int { return rs.rules[a].rank - rs.rules[b].rank })
	}
}

// rateKeys builds one counter key per matching rule, enforcing rules first,
// into sc.keys (with the rule of each in sc.order), and returns how many
// keys are enforcing.
func (e *Engine) rateKeys(sc *rateScratch, c *checkState) (enforcing int) {
	rs := &c.s.rates
	ip := limitIP(c.d.ClientIP, e.cfg.ipv6Prefix)
	sc.keys, sc.order = sc.keys[:0], sc.order[:0]
	for pass := 0; pass < 2; pass++ {
		for _, i := range sc.rules {
			rr := &rs.rules[i]
			if rr.reportOnly != (pass == 1) {
				continue
			}
			k := ratelimit.Key{Rule: rr.id, Limit: rr.limit}
			switch rr.keyBy {
			case keyUser, keyUserOrIP:
				k.Value = c.req.UserID
			case keyHeader:
				k.Value = c.r.Header.Get(rr.header)
			}
			if len(k.Value) > maxRateValue {
				k.Value = k.Value[:maxRateValue]
			}
			if k.Value == "" { // missing user or header: the IP; never skip the rule
				k.IP = ip
			} else if !e.values.admit(rr.id, ip, k.Value, c.now, rr.limit.Period) {
				k.IP, k.Value = ip, overflowValue // past its cap, the source shares one counter
			}
			sc.keys = append(sc.keys, k)
			sc.order = append(sc.order, i)
		}
		if pass == 0 {
			enforcing = len(sc.keys)
		}
	}
	return enforcing
}

// rateOutcome reads the limiter's answers: report-only denials become
// WOULD_BLOCK events; the denying result with the longest wait (else the one
// with the fewest requests left) fills the decision's RateLimit info.
func (e *Engine) rateOutcome(sc *rateScratch, c *checkState, nEnf int) bool {
	d, res, keys := &c.d, sc.res, sc.keys
	best, denied := -1, false
	for i := range res {
		if !res[i].Allowed {
			e.countHit(HitRateLimit, keys[i].Rule)
			if i >= nEnf || c.s.Settings.ReportOnly {
				e.recordDecision(c.r, Decision{Action: ActionWouldBlock, RuleID: keys[i].Rule, ClientIP: d.ClientIP, Country: d.Country}, string(ActionRateLimit), "")
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
		rr := &c.s.rates.rules[sc.order[best]]
		l := res[best].Limit
		d.RateLimit = RateLimitInfo{Name: rr.name, Quota: l.EffectiveBurst(), Window: l.Period, Remaining: res[best].Remaining, Reset: res[best].ResetAfter}
	}
	if !denied {
		return false
	}
	d.Allowed, d.Action, d.RuleID, d.Status, d.ReportOnly = false, ActionRateLimit, keys[best].Rule, http.StatusTooManyRequests, false
	d.RetryAfter = res[best].RetryAfter
	e.recordDecision(c.r, *d, "", "")
	return true
}

// cleanPath is path.Clean without the work when p is already clean (the
// common case): one pass looking for "//", "/." and a trailing "/".
func cleanPath(p string) string {
	if p == "" || p[0] != '/' || (len(p) > 1 && p[len(p)-1] == '/') {
		return path.Clean("/" + p)
	}
	for i := 0; i < len(p)-1; i++ {
		if p[i] == '/' && (p[i+1] == '/' || p[i+1] == '.') {
			return path.Clean("/" + p)
		}
	}
	return p
}
