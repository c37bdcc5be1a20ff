package adaptertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

type step = func(ctx context.Context, eng *core.Engine) error

func steps(ss ...step) step {
	return func(ctx context.Context, eng *core.Engine) error {
		for _, s := range ss {
			if err := s(ctx, eng); err != nil {
				return err
			}
		}
		return nil
	}
}

func put[T rule.Rule](table func(core.Rules) core.Table[T], v T) step {
	return func(ctx context.Context, eng *core.Engine) error {
		_, err := table(eng.Rules()).Put(ctx, v)
		return err
	}
}

func blockIP(network string) step {
	return put(core.Rules.BlockedIPs, rule.BlockedIP{Network: network, Reason: "conformance"})
}
func blockUA(pattern string) step {
	return put(core.Rules.BlockedUserAgents, rule.BlockedUserAgent{Pattern: pattern})
}
func blockCountry(code string) step {
	return put(core.Rules.BlockedCountries, rule.BlockedCountry{Code: code})
}
func exemptUser(id string, ex rule.Exemption) step {
	return put(core.Rules.WhitelistedUsers, rule.WhitelistedUser{UserID: id, Exemption: ex})
}

func reportOnly(ctx context.Context, eng *core.Engine) error {
	s, err := eng.Settings(ctx)
	if err != nil {
		return err
	}
	s.ReportOnly = true
	_, err = eng.PutSettings(ctx, s)
	return err
}

var (
	withGeo     = []core.Option{core.WithCountryLookup(Geo)}
	behindProxy = []core.Option{core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"))}
	allowedAt   = func(ip string) core.Decision { return core.Decision{Allowed: true, ClientIP: netip.MustParseAddr(ip)} }
	accessDeny  = denied(403, "Access denied")
	regionDeny  = denied(403, "Access denied from your region")
	hello3      = allowed("3.3.3.3", allowedAt("3.3.3.3"))
	jsonDenied  = func(body string) Response {
		r := denied(403, body)
		r.Header.Set("Content-Type", "application/json")
		return r
	}
)

// Cases returns the scenarios Run plays. Rule IDs are memstore's: 1 for the
// first row written, and so on.
func Cases() []Case {
	return slices.Concat(blockCases(), userExemptionCases(), responseFormatCases(), exemptPathCases(),
		reportOnlyCases(), clientIPCases(), whitelistAndFailCases(), rateLimitCases())
}

func ipEvent(ip string, rule int64, path string) []Event {
	return []Event{event(core.ActionIPBlock, ip, rule, path)}
}

func withCountry(e Event, c string) Event { e.Country = c; return e }
func withDetails(e Event, d string) Event { e.Details = d; return e }
func withMethod(e Event, m string) Event  { e.Method = m; return e }

// with returns x changed by f.
func with(x core.Decision, f func(*core.Decision)) core.Decision { f(&x); return x }

// blockCases are the rule kinds that deny, and requests they leave alone.
func blockCases() []Case {
	return []Case{
		{Name: "allowed", Want: hello3},
		{Name: "allowed_other_ip_blocked", Setup: blockIP("6.6.6.6"), Want: hello3},
		{
			Name: "blocked_ip", Setup: blockIP("6.6.6.6"),
			Request: Request{Remote: "6.6.6.6:1234"},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 1, "/"),
		},
		{
			Name: "blocked_ip_post", Setup: blockIP("6.6.6.6"),
			Request: Request{Method: http.MethodPost, Target: "/login", Remote: "6.6.6.6:1234"},
			Want:    accessDeny, Events: []Event{withMethod(event(core.ActionIPBlock, "6.6.6.6", 1, "/login"), "POST")},
		},
		{
			Name: "blocked_network", Setup: blockIP("203.0.113.0/24"),
			Request: Request{Remote: "203.0.113.9:1234"},
			Want:    accessDeny, Events: ipEvent("203.0.113.9", 1, "/"),
		},
		{
			Name: "blocked_network_ipv6", Setup: blockIP("2001:db8::/32"),
			Request: Request{Remote: "[2001:db8::7]:1234"},
			Want:    accessDeny, Events: ipEvent("2001:db8::7", 1, "/"),
		},
		{
			Name: "ipv4_mapped_peer_blocked", Setup: blockIP("6.6.6.6"),
			Request: Request{Remote: "[::ffff:6.6.6.6]:1234"},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 1, "/"),
		},
		{
			Name: "blocked_user_agent", Setup: blockUA("Conformance/"),
			Want: accessDeny, Events: []Event{event(core.ActionUserAgentBlock, "3.3.3.3", 1, "/")},
		},
		{
			Name: "blocked_country", Options: withGeo, Setup: blockCountry("RU"),
			Request: Request{Remote: "5.5.5.5:1234"},
			Want:    regionDeny, Events: []Event{withCountry(event(core.ActionCountryBlock, "5.5.5.5", 1, "/"), "RU")},
		},
		{
			Name: "country_not_blocked", Options: withGeo, Setup: blockCountry("RU"),
			Request: Request{Remote: "6.6.6.6:1234"},
			Want:    allowed("6.6.6.6", with(allowedAt("6.6.6.6"), func(x *core.Decision) { x.Country = "CN" })),
		},
	}
}

// userExemptionCases are user exemptions: matched exactly, each type
// skipping only its step.
func userExemptionCases() []Case {
	return []Case{
		{
			Name: "user_exempt_all", Setup: steps(exemptUser("alice", rule.ExemptAll), blockIP("6.6.6.6")),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{UserHeader: "alice"}},
			Want:    allowed("6.6.6.6", with(allowedAt("6.6.6.6"), func(x *core.Decision) { x.Reason = core.ReasonUserExempt })),
		},
		{
			Name: "user_exempt_other_user", Setup: steps(exemptUser("alice", rule.ExemptAll), blockIP("6.6.6.6")),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{UserHeader: "mallory"}},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 2, "/"),
		},
		{
			Name: "user_id_case_variant", Setup: steps(exemptUser("alice", rule.ExemptAll), blockIP("6.6.6.6")),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{UserHeader: "Alice"}},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 2, "/"),
		},
		{
			Name: "user_exempt_ip_block", Setup: steps(exemptUser("bob", rule.ExemptIPBlock), blockIP("6.6.6.6")),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{UserHeader: "bob"}},
			Want:    allowed("6.6.6.6", allowedAt("6.6.6.6")),
		},
		{
			Name: "user_exempt_ip_block_still_ua_checked", Setup: steps(exemptUser("bob", rule.ExemptIPBlock), blockIP("6.6.6.6"), blockUA("conformance")),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{UserHeader: "bob"}},
			Want:    accessDeny, Events: []Event{event(core.ActionUserAgentBlock, "6.6.6.6", 3, "/")},
		},
		{
			Name: "user_exempt_geo_block", Options: withGeo, Setup: steps(exemptUser("carol", rule.ExemptGeoBlock), blockCountry("RU")),
			Request: Request{Remote: "5.5.5.5:1234", Header: map[string]string{UserHeader: "carol"}},
			Want:    allowed("5.5.5.5", allowedAt("5.5.5.5")),
		},
		{
			Name: "user_exempt_geo_block_still_ip_checked", Options: withGeo, Setup: steps(exemptUser("carol", rule.ExemptGeoBlock), blockCountry("RU"), blockIP("5.5.5.5")),
			Request: Request{Remote: "5.5.5.5:1234", Header: map[string]string{UserHeader: "carol"}},
			Want:    accessDeny, Events: []Event{withCountry(event(core.ActionIPBlock, "5.5.5.5", 3, "/"), "RU")},
		},
	}
}

// responseFormatCases are JSON denials when Accept asks for them, text
// otherwise.
func responseFormatCases() []Case {
	return []Case{
		{
			Name: "json_denial", Setup: blockIP("6.6.6.6"),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{"Accept": "application/json"}},
			Want:    jsonDenied(`{"error":"Access denied","status":403}` + "\n"), Events: ipEvent("6.6.6.6", 1, "/"),
		},
		{
			Name: "json_denial_country", Options: withGeo, Setup: blockCountry("RU"),
			Request: Request{Remote: "5.5.5.5:1234", Header: map[string]string{"Accept": "application/problem+json"}},
			Want:    jsonDenied(`{"error":"Access denied from your region","status":403}` + "\n"),
			Events:  []Event{withCountry(event(core.ActionCountryBlock, "5.5.5.5", 1, "/"), "RU")},
		},
		{
			Name: "html_preferred_over_json", Setup: blockIP("6.6.6.6"),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{"Accept": "text/html,application/json"}},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 1, "/"),
		},
	}
}

// exemptPathCases are exempt paths, matched exactly on the unescaped path.
func exemptPathCases() []Case {
	return []Case{
		{
			Name: "exempt_path", Setup: blockIP("6.6.6.6"),
			Request: Request{Target: "/health", Remote: "6.6.6.6:1234"},
			Want:    allowed("invalid IP", core.Decision{Allowed: true, Reason: core.ReasonExemptPath}),
		},
		{
			Name: "exempt_path_with_query", Setup: blockIP("6.6.6.6"),
			Request: Request{Target: "/ready?probe=1", Remote: "6.6.6.6:1234"},
			Want:    allowed("invalid IP", core.Decision{Allowed: true, Reason: core.ReasonExemptPath}),
		},
		{
			Name:    "exempt_path_no_client_ip",
			Request: Request{Target: "/health", Remote: "junk"},
			Want:    allowed("invalid IP", core.Decision{Allowed: true, Reason: core.ReasonExemptPath}),
		},
		{
			Name: "exempt_path_encoded", Setup: blockIP("6.6.6.6"),
			Request: Request{Target: "/heal%74h", Remote: "6.6.6.6:1234"},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 1, "/heal%74h"),
		},
		{
			Name: "exempt_path_below", Setup: blockIP("6.6.6.6"),
			Request: Request{Target: "/health/../admin", Remote: "6.6.6.6:1234"},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 1, "/health/../admin"),
		},
	}
}

// reportOnlyCases are report-only rules and the global report-only setting.
func reportOnlyCases() []Case {
	return []Case{
		{
			Name: "report_only_rule", Setup: put(core.Rules.BlockedIPs, rule.BlockedIP{Network: "6.6.6.6", ReportOnly: true}),
			Request: Request{Remote: "6.6.6.6:1234"},
			Want: allowed("6.6.6.6", with(allowedAt("6.6.6.6"), func(x *core.Decision) {
				x.Action, x.RuleID, x.ReportOnly = core.ActionIPBlock, 1, true
			})),
			Events: []Event{withDetails(event(core.ActionWouldBlock, "6.6.6.6", 1, "/"), "IP_BLOCK")},
		},
		{
			Name: "report_only_global", Setup: steps(blockUA("conformance"), reportOnly),
			Want: allowed("3.3.3.3", with(allowedAt("3.3.3.3"), func(x *core.Decision) {
				x.Action, x.RuleID, x.ReportOnly = core.ActionUserAgentBlock, 1, true
			})),
			Events: []Event{withDetails(event(core.ActionWouldBlock, "3.3.3.3", 1, "/"), "USER_AGENT_BLOCK")},
		},
	}
}

// clientIPCases are about the client address: junk peers and spoofed
// forwarding headers.
func clientIPCases() []Case {
	return []Case{
		{
			Name:    "no_client_ip",
			Request: Request{Remote: "junk"},
			Want:    accessDeny, Events: []Event{event(core.ActionNoClientIP, "", 0, "/")},
		},
		{
			Name:    "no_client_ip_zone_garbage",
			Request: Request{Remote: "[fe80::1%]:80"},
			Want:    accessDeny, Events: []Event{event(core.ActionNoClientIP, "", 0, "/")},
		},
		{
			Name: "xff_spoofed_untrusted_peer", Setup: blockIP("6.6.6.6"),
			Request: Request{Remote: "6.6.6.6:1234", Header: map[string]string{
				"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1", "CF-Connecting-IP": "127.0.0.1"}},
			Want: accessDeny, Events: ipEvent("6.6.6.6", 1, "/"),
		},
		{
			Name: "xff_spoofed_leftmost", Options: behindProxy, Setup: blockIP("6.6.6.6"),
			Request: Request{Remote: "10.1.1.1:1234", Header: map[string]string{"X-Forwarded-For": "3.3.3.3, 6.6.6.6"}},
			Want:    accessDeny, Events: ipEvent("6.6.6.6", 1, "/"),
		},
		{
			Name: "xff_from_trusted_proxy", Options: behindProxy, Setup: blockIP("10.1.1.1"),
			Request: Request{Remote: "10.1.1.1:1234", Header: map[string]string{"X-Forwarded-For": "3.3.3.3"}},
			Want:    hello3,
		},
	}
}

// whitelistAndFailCases: a whitelisted address beats a block, and an engine
// that cannot decide fails closed.
func whitelistAndFailCases() []Case {
	return []Case{
		{
			Name: "whitelisted_ip_beats_block", Setup: steps(put(core.Rules.WhitelistedIPs, rule.WhitelistedIP{Network: "6.6.6.6"}), blockIP("6.6.6.0/24")),
			Request: Request{Remote: "6.6.6.6:1234"},
			Want:    allowed("6.6.6.6", with(allowedAt("6.6.6.6"), func(x *core.Decision) { x.RuleID, x.Reason = 1, core.ReasonWhitelistedIP })),
		},
		{
			Name: "engine_not_started", NotStarted: true,
			Want: denied(503, "Service unavailable"),
		},
	}
}

// rateLimitCases are rate-limit denials and their headers, and the exemption.
func rateLimitCases() []Case {
	return []Case{
		{
			Name: "rate_limited", Setup: steps(put(core.Rules.RateLimitRules, rule.RateLimitRule{Name: "conf", PathPattern: "/*", Rate: "1/m"}), spend("3.3.3.3:1234", "/")),
			Want: func() Response {
				r := denied(429, "Too many requests")
				r.Header.Set("Retry-After", "60")
				r.Header.Set("RateLimit-Policy", `"conf";q=1;w=60`)
				r.Header.Set("RateLimit", `"conf";r=0;t=60`)
				return r
			}(),
			Events: []Event{event(core.ActionRateLimit, "3.3.3.3", 1, "/")},
		},
		{
			Name: "rate_limit_exempt_user", Setup: steps(put(core.Rules.RateLimitRules, rule.RateLimitRule{Name: "conf", PathPattern: "/*", Rate: "1/m"}), exemptUser("u1", rule.ExemptRateLimit), spend("3.3.3.3:1234", "/")),
			Request: Request{Header: map[string]string{UserHeader: "u1"}},
			Want:    hello3,
		},
	}
}

// spend sends one request through the engine, using up a rate-limit token.
func spend(remote, target string) step {
	return func(ctx context.Context, eng *core.Engine) error {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.RemoteAddr = remote
		_, err := eng.Check(ctx, core.Request{HTTP: r})
		return err
	}
}
