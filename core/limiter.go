package core

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// Limiter checks every rate-limit key of one request in one call, all or
// nothing: when any key is over its limit, no key is consumed. It appends one
// result per key to dst. ratelimit.Memory (in process, the default) and
// redisstore.Limiter (shared by replicas) implement it.
type Limiter interface {
	Allow(ctx context.Context, now time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error)
}

// starter is implemented by limiters with background work or a script to load.
type starter interface {
	Start(ctx context.Context) error
}

// memLimiter adapts ratelimit.Memory to Limiter.
type memLimiter struct{ m *ratelimit.Memory }

// MemoryLimiter adapts in-process counters to Limiter.
func MemoryLimiter(m *ratelimit.Memory) Limiter { return memLimiter{m} }

func (l memLimiter) Allow(_ context.Context, now time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
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

// allow calls the limiter, falling back to the in-process one while the
// configured limiter is failing and the policy says so.
func (e *Engine) allow(ctx context.Context, now time.Time, keys []ratelimit.Key, dst []ratelimit.Result) ([]ratelimit.Result, error) {
	var out []ratelimit.Result
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
		e.RecordEvent(Event{Action: ActionFailPolicy, Severity: SeverityHigh, Details: "rate limiter: " + err.Error()})
		return dst, err
	}
	e.limiterTrips.Add(1)
	e.RecordEvent(Event{Action: ActionFailPolicy, Severity: SeverityHigh, Details: "rate limiter: " + e.cfg.limiterPolicy.String() + ": " + err.Error()})
	if e.cfg.limiterPolicy == FailFallback && e.fallback != nil {
		return e.fallback.Allow(now, keys, dst)
	}
	return dst, err
}

// limiterFailed applies the limiter fail policy when no fallback answered.
func (e *Engine) limiterFailed(d *Decision, err error) bool {
	if e.cfg.limiterPolicy != FailClosed {
		return false // FailOpen, or FailFallback with no fallback left
	}
	d.Allowed, d.Status, d.Action, d.Reason = false, http.StatusServiceUnavailable, ActionRateLimit, ReasonFailClosed
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
