package core

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wardenkit/warden/core/rule"
)

// Step is what one step of Explain found. Name is exempt_path, client_ip,
// whitelisted_ip, user_exemption, blocked_ip, user_agent, country,
// rate_limit or email; Outcome is allowed, denied, report_only, matched,
// passed or skipped.
type Step struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Action  Action `json:"action,omitempty"`
	RuleID  int64  `json:"rule_id,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

const outcomeAllowed, outcomeDenied, outcomeReportOnly = "allowed", "denied", "report_only"
const outcomeMatched, outcomePassed, outcomeSkipped = "matched", "passed", "skipped"

// trace collects the steps of a dry run.
type trace struct {
	step  string // the step running
	steps []Step
}

func (t *trace) add(outcome string, ruleID int64, detail string) { t.hit(outcome, "", ruleID, detail) }

func (t *trace) hit(outcome string, a Action, ruleID int64, detail string) {
	t.steps = append(t.steps, Step{Name: t.step, Outcome: outcome, Action: a, RuleID: ruleID, Detail: detail})
}

// rates lists the matching rate-limit rules of a dry run.
func (t *trace) rates(rs *rateSet, idx []int) {
	for _, i := range idx {
		rr := &rs.rules[i]
		t.add(outcomeMatched, rr.id, fmt.Sprintf("rule %q applies (report-only %v); its counter is not read", rr.name, rr.reportOnly))
	}
}

// Explain answers what Check, and CheckEmail for a non-empty email, would
// decide now, with what each step found. It records no event, counts no hit
// and takes no rate-limit token, so the AutoBlocker sees nothing; a matching
// rate-limit rule is listed, not asked.
func (e *Engine) Explain(ctx context.Context, req Request, email string) (Decision, []Step, error) {
	r := req.HTTP
	if r == nil || r.URL == nil {
		return Decision{}, nil, ErrNilRequest
	}
	s := e.snap.Load()
	if s == nil {
		return Decision{}, nil, e.noSnapshot()
	}
	tr := &trace{step: "exempt_path"}
	d, done := e.explainEntry(s, req, tr)
	if !done {
		now := e.clock.Now()
		c := checkState{r: r, req: req, s: s, now: now, ns: now.UnixNano(), d: d, tr: tr}
		c.ex = s.exemption(req.UserID, c.ns)
		e.explainSteps(ctx, &c)
		d = c.d
	}
	if email != "" {
		tr.step = "email"
		e.explainEmail(s, tr, email)
	}
	return d, tr.steps, nil
}

// explainEntry runs the steps before the rules: exempt path, client IP,
// whitelist and user exemption. done means one of them decided.
func (e *Engine) explainEntry(s *snapshot, req Request, tr *trace) (Decision, bool) {
	r := req.HTTP
	if _, ok := e.exempt[r.URL.Path]; ok && r.URL.RawPath == "" {
		tr.add(outcomeAllowed, 0, r.URL.Path+" is exempt")
		return Decision{Allowed: true, Reason: ReasonExemptPath}, true
	}
	tr.add(outcomePassed, 0, "not an exempt path")
	tr.step = "client_ip"
	ip, ok := e.ips.ClientIP(r)
	if !ok {
		tr.hit(outcomeDenied, ActionNoClientIP, 0, "no client address could be resolved")
		return Decision{Action: ActionNoClientIP, Status: http.StatusForbidden, Reason: ReasonNoClientIP}, true
	}
	tr.add(outcomePassed, 0, ip.String())
	tr.step = "whitelisted_ip"
	if id, ok := s.white.Lookup(ip); ok {
		tr.add(outcomeAllowed, id, "nothing else applies")
		return Decision{Allowed: true, ClientIP: ip, RuleID: id, Reason: ReasonWhitelistedIP}, true
	}
	tr.add(outcomePassed, 0, "no active whitelisted network contains it")
	tr.step = "user_exemption"
	now := e.clock.Now().UnixNano()
	switch ex := s.exemption(req.UserID, now); {
	case req.UserID == "":
		tr.add(outcomeSkipped, 0, "no user")
	case ex == rule.ExemptAll:
		tr.add(outcomeAllowed, s.users[req.UserID].id, "exemption all")
		return Decision{Allowed: true, ClientIP: ip, Reason: ReasonUserExempt}, true
	case ex != "":
		tr.add(outcomeMatched, s.users[req.UserID].id, "exempt from "+string(ex))
	default:
		tr.add(outcomePassed, 0, "no active exemption")
	}
	return Decision{Allowed: true, ClientIP: ip}, false
}

// explainSteps runs the rule steps as evaluate does, with a line for each
// step that found nothing.
func (e *Engine) explainSteps(ctx context.Context, c *checkState) {
	s, ip := c.s, c.d.ClientIP
	expired := ""
	for p, i := range s.blockedSupernets(ip) {
		expired += fmt.Sprintf("%s (rule %d) has expired; ", p, s.blockedIx[i].id)
	}
	country, known := e.country(s, ip)
	if !known {
		country = "unknown or internal"
	}
	for _, st := range []struct {
		name      string
		run       func() bool
		off, pass string // why it did not apply; what it found when it did
	}{
		{"blocked_ip", func() bool { return e.stepBlockedIP(c) }, offWhy(!s.Settings.IPBlockingEnabled, "ip_blocking_enabled is off", c.ex == rule.ExemptIPBlock),
			expired + "no active blocked network contains the address"},
		{"user_agent", func() bool { return e.stepUserAgent(c) }, offWhy(!s.Settings.UserAgentBlockingEnabled, "user_agent_blocking_enabled is off", false),
			"no active pattern matches the User-Agent"},
		{"country", func() bool { return e.stepCountry(c) }, offWhy(!(s.blockActive || s.allowActive), "no active country rule, or its mode is off", c.ex == rule.ExemptGeoBlock),
			"the country (" + country + ") passes"},
		{"rate_limit", func() bool { return e.stepRateLimit(ctx, c) }, offWhy(len(s.rates.rules) == 0, "no active rate-limit rule", c.ex == rule.ExemptRateLimit),
			"no active rule matches the method and path"},
	} {
		c.tr.step = st.name
		n := len(c.tr.steps)
		denied := st.run()
		switch {
		case len(c.tr.steps) > n:
		case st.off != "":
			c.tr.add(outcomeSkipped, 0, st.off)
		default:
			c.tr.add(outcomePassed, 0, st.pass)
		}
		if denied {
			return
		}
	}
}

func offWhy(off bool, why string, exempt bool) string {
	switch {
	case off:
		return why
	case exempt:
		return "the user is exempt"
	}
	return ""
}

// explainEmail decides an address as CheckEmail does, without its event.
func (e *Engine) explainEmail(s *snapshot, tr *trace, address string) {
	set := &s.Settings
	if !set.EmailBlockingEnabled && !set.DomainBlockingEnabled {
		tr.add(outcomeSkipped, 0, "email_blocking_enabled and domain_blocking_enabled are off")
		return
	}
	addr, at, ok := e.normalizeEmail(nil, address)
	if !ok {
		tr.add(outcomeDenied, 0, "not a valid address (400)")
		return
	}
	a, m, found := s.matchEmail(addr, at)
	switch {
	case !found:
		tr.add(outcomePassed, 0, string(addr)+": no active rule")
	case set.ReportOnly || m.reportOnly:
		tr.hit(outcomeReportOnly, a, m.id, string(addr))
	default:
		tr.hit(outcomeDenied, a, m.id, string(addr))
	}
}
