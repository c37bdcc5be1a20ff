package core

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// Check decides one request. The steps run in this order: exempt path,
// client IP, whitelisted IP, user exemption, blocked IP, blocked User-Agent,
// country, rate limits; the first step that denies ends the check.
//
// The returned Decision is always usable. When the engine cannot decide (a
// nil request, no snapshot loaded yet, the engine closed), Check applies the
// fail policy (WithFailPolicy: FailClosed denies with 503 and Reason
// ReasonFailClosed, FailOpen allows with ReasonFailOpen), counts a trip in
// Stats, and returns the cause as the error. Denials by a rule are not
// errors.
//
// The allow path reads the clock once, touches only immutable data and does
// not allocate.
func (e *Engine) Check(ctx context.Context, req Request) (d Decision, err error) {
	if e.cfg.observer != nil {
		e.observedCheck(ctx, req, &d, &err)
		return d, err
	}
	d, err = e.evaluate(ctx, req)
	if err == nil {
		return d, nil
	}
	return e.failPolicy(d, err), err
}

// failPolicy is the decision when the engine could not decide (err): allowed
// under FailOpen, otherwise 503. It counts a trip in Stats.
func (e *Engine) failPolicy(d Decision, err error) Decision {
	e.failTrips.Add(1)
	if e.cfg.failPolicy == FailOpen {
		d.Allowed, d.Status, d.Reason = true, 0, ReasonFailOpen
		return d
	}
	e.log.Debug("warden: cannot decide; denying", "error", err)
	return Decision{ClientIP: d.ClientIP, Status: http.StatusServiceUnavailable, Reason: ReasonFailClosed}
}

// noSnapshot is why a decision cannot be made before a snapshot is loaded.
func (e *Engine) noSnapshot() error {
	if e.closed.Load() {
		return ErrClosed
	}
	return ErrNotStarted
}

// checkState is one request on its way through the steps.
type checkState struct {
	r   *http.Request
	req Request
	s   *snapshot
	d   Decision
	now time.Time
	ns  int64 // now in unix nanoseconds, for expiry checks
	ex  rule.Exemption
	tr  *trace // non-nil in a dry run (Explain): no event, hit or token
}

// evaluate runs the steps; an error means it could not decide.
func (e *Engine) evaluate(ctx context.Context, req Request) (Decision, error) {
	r := req.HTTP
	if r == nil || r.URL == nil {
		return Decision{}, ErrNilRequest
	}
	if r.URL.RawPath == "" {
		if _, ok := e.exempt[r.URL.Path]; ok {
			return Decision{Allowed: true, Reason: ReasonExemptPath}, nil
		}
	}
	ip, ok := e.ips.ClientIP(r)
	if !ok {
		d := Decision{Action: ActionNoClientIP, Status: http.StatusForbidden, Reason: ReasonNoClientIP}
		e.recordDecision(r, d, "", "")
		return d, nil
	}
	if !e.peerCheckDone.Load() {
		e.notePeer(ip)
	}
	s := e.snap.Load()
	if s == nil {
		return Decision{ClientIP: ip}, e.noSnapshot()
	}
	now := e.clock.Now()
	c := checkState{r: r, req: req, s: s, now: now, ns: now.UnixNano(), d: Decision{Allowed: true, ClientIP: ip}}
	if id, ok := s.white.Lookup(ip); ok {
		return Decision{Allowed: true, ClientIP: ip, RuleID: id, Reason: ReasonWhitelistedIP}, nil
	}
	if c.ex = s.exemption(req.UserID, c.ns); c.ex == rule.ExemptAll {
		return Decision{Allowed: true, ClientIP: ip, Reason: ReasonUserExempt}, nil
	}
	// The first step that denies ends the check.
	_ = e.stepBlockedIP(&c) || e.stepUserAgent(&c) || e.stepCountry(&c) || e.stepRateLimit(ctx, &c)
	return c.d, nil
}

// hit applies a matched rule to c.d. In report-only mode (the rule's own flag
// or the global setting) it records WOULD_BLOCK and returns false so the
// steps go on; otherwise it turns c.d into a 403, records the event and
// returns true.
func (e *Engine) hit(c *checkState, a Action, ruleID int64, reportOnly bool, details string) bool {
	d := &c.d
	if d.Country == "" && e.cfg.geo != nil && !internalAddr(d.ClientIP) {
		if code, ok := e.cfg.geo.Country(d.ClientIP); ok {
			d.Country = code
		}
	}
	if reportOnly || c.s.Settings.ReportOnly {
		if !d.ReportOnly {
			d.ReportOnly, d.Action, d.RuleID = true, a, ruleID
		}
		if c.tr != nil {
			c.tr.hit(outcomeReportOnly, a, ruleID, details)
			return false
		}
		e.recordDecision(c.r, Decision{Action: ActionWouldBlock, RuleID: ruleID, ClientIP: d.ClientIP, Country: d.Country}, string(a), details)
		return false
	}
	d.Allowed, d.Action, d.RuleID, d.Status, d.ReportOnly = false, a, ruleID, http.StatusForbidden, false
	if c.tr != nil {
		c.tr.hit(outcomeDenied, a, ruleID, details)
		return true
	}
	e.recordDecision(c.r, *d, "", details)
	return true
}

// notePeer watches the first requests: if no proxy is trusted and every peer
// is private, the app probably sits behind a proxy that warden ignores.
func (e *Engine) notePeer(ip netip.Addr) {
	n := e.peerSeen.Add(1)
	if ip.IsPrivate() || ip.IsLoopback() {
		e.peerPrivate.Add(1)
	}
	if n == 100 {
		e.peerCheckDone.Store(true)
		if !e.ips.TrustsProxies() && e.peerPrivate.Load() == n {
			e.log.Warn("warden: every client seen is a private address and no proxy is trusted; behind a reverse proxy, configure core.WithTrustedProxies or every user shares one IP")
		}
	}
}
