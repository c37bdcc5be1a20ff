package core

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
)

// Check decides one request. The order is DESIGN §3: exempt path, client IP,
// whitelisted IP, user exemption, blocked IP, blocked User-Agent, country,
// rate limits.
// It returns an error only when it cannot decide (nil request, no snapshot
// loaded); Decide applies the fail policy to that case.
//
// The allow path reads the clock once, touches only immutable data and does
// not allocate.
func (e *Engine) Check(ctx context.Context, req Request) (Decision, error) {
	r := req.HTTP
	if r == nil || r.URL == nil {
		return Decision{}, errors.New("core: Check: nil request")
	}
	if r.URL.RawPath == "" {
		if _, ok := e.exempt[r.URL.Path]; ok {
			return Decision{Allowed: true, Reason: "exempt_path"}, nil
		}
	}
	ip, ok := e.ips.ClientIP(r)
	if !ok {
		d := Decision{Action: ActionNoClientIP, Status: http.StatusForbidden, Reason: "no_client_ip"}
		e.record(r, d, "", "")
		return d, nil
	}
	if !e.peerCheckDone.Load() {
		e.notePeer(ip)
	}
	s := e.snap.Load()
	if s == nil {
		if e.closed.Load() {
			return Decision{ClientIP: ip}, ErrClosed
		}
		return Decision{ClientIP: ip}, ErrNotStarted
	}
	clock := e.clock.Now()
	now := clock.UnixNano()

	if id, ok := s.white.Lookup(ip); ok {
		return Decision{Allowed: true, ClientIP: ip, RuleID: id, Reason: "whitelisted_ip"}, nil
	}
	ex := s.exemption(req.UserID, now)
	if ex == ExemptAll {
		return Decision{Allowed: true, ClientIP: ip, Reason: "user_exempt"}, nil
	}
	set := &s.Settings
	d := Decision{Allowed: true, ClientIP: ip}

	// Blocked IP or network.
	if set.IPBlockingEnabled && ex != ExemptIPBlock {
		if id, ro, hit := s.blockedIP(ip, now); hit {
			if done := e.hit(r, &d, s, ActionIPBlock, id, ro, ""); done {
				return d, nil
			}
		}
	}

	// Blocked User-Agent.
	if set.UserAgentBlockingEnabled && !(s.uaEnforce.empty() && s.uaReport.empty()) {
		if ua := r.Header.Get("User-Agent"); ua != "" {
			if len(ua) > MaxUserAgentLen {
				if set.OversizeUserAgent != OversizeAllow {
					if e.hit(r, &d, s, ActionUserAgentBlock, 0, false, "oversize User-Agent") {
						return d, nil
					}
				}
				ua = ua[:MaxUserAgentLen]
			}
			id, ro := s.uaEnforce.match(ua), false
			if id == 0 && !s.uaReport.empty() {
				id, ro = s.uaReport.match(ua), true
			}
			if id != 0 {
				e.countHit(HitUserAgent, id)
				if e.hit(r, &d, s, ActionUserAgentBlock, id, ro, "") {
					return d, nil
				}
			}
		}
	}

	// Country.
	if (s.blockActive || s.allowActive) && ex != ExemptGeoBlock {
		code, known := e.country(s, ip)
		if known {
			d.Country = code
			i := countryIndex(code)
			if c := s.countryBlocked[i]; s.blockActive && c.id != 0 {
				if e.hit(r, &d, s, ActionCountryBlock, c.id, c.reportOnly, "") {
					return d, nil
				}
			}
			if s.allowActive && s.countryAllowed[i] == 0 {
				if e.hit(r, &d, s, ActionCountryWhitelistBlock, 0, set.ReportOnlyCountryAllowList, "") {
					return d, nil
				}
			}
		} else if s.allowActive && code != "-" { // unknown country: denied in allow-list mode
			if e.hit(r, &d, s, ActionCountryWhitelistBlock, 0, set.ReportOnlyCountryAllowList, "unknown country") {
				return d, nil
			}
		}
	}

	// Rate limits.
	if ex != ExemptRateLimit {
		e.rateLimit(ctx, r, req, s, &d, clock)
	}
	return d, nil
}

// country resolves ip's country for the country step. known is false for an
// unknown country; the code "-" with known false means an internal address
// that passes the step.
func (e *Engine) country(s *Snapshot, ip netip.Addr) (code string, known bool) {
	if internalAddr(ip) {
		if s.Settings.InternalCountry == "" {
			return "-", false
		}
		return s.Settings.InternalCountry, true
	}
	if e.cfg.geo == nil {
		return "", false
	}
	code, ok := e.cfg.geo.Country(ip)
	if !ok || countryIndex(code) < 0 {
		return "", false
	}
	if code[0] >= 'a' || code[1] >= 'a' {
		code, _ = NormalizeCountry(code)
	}
	return code, true
}

// hit applies a matched rule to d. In report-only mode (the rule's own flag or
// the global setting) it records WOULD_BLOCK and returns false so the checks
// go on; otherwise it turns d into a denial, records the event and returns
// true.
func (e *Engine) hit(r *http.Request, d *Decision, s *Snapshot, a Action, ruleID int64, reportOnly bool, details string) bool {
	if d.Country == "" && e.cfg.geo != nil && !internalAddr(d.ClientIP) {
		if c, ok := e.cfg.geo.Country(d.ClientIP); ok {
			d.Country = c
		}
	}
	if reportOnly || s.Settings.ReportOnly {
		if !d.ReportOnly {
			d.ReportOnly, d.Action, d.RuleID = true, a, ruleID
		}
		e.record(r, Decision{Action: ActionWouldBlock, RuleID: ruleID, ClientIP: d.ClientIP, Country: d.Country}, string(a), details)
		return false
	}
	d.Allowed, d.Action, d.RuleID, d.Status, d.ReportOnly = false, a, ruleID, http.StatusForbidden, false
	e.record(r, *d, "", details)
	return true
}

// Decide is Check with the fail policy applied: when Check cannot decide,
// FailOpen allows and FailClosed (and FailFallback, which has no substitute
// here) denies with 503. Each such case counts as a trip in Stats.
func (e *Engine) Decide(ctx context.Context, req Request) Decision {
	d, err := e.Check(ctx, req)
	if err == nil {
		return d
	}
	e.failTrips.Add(1)
	if e.cfg.failPolicy == FailOpen {
		d.Allowed, d.Status, d.Reason = true, 0, "fail_open"
		return d
	}
	e.log.Debug("warden: cannot decide; denying", "error", err)
	return Decision{ClientIP: d.ClientIP, Status: http.StatusServiceUnavailable, Reason: "fail_closed"}
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
