package admin

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/wardenkit/warden/core"
)

// The "Why?" page: what the engine would decide now for a request, step by
// step, through core's Engine.Explain, which records nothing, counts no hit
// and takes no rate-limit token.

type whyQuery struct {
	IP, UA, Path, Method, User, Email string
}

type whyStep struct {
	core.Step
	Decided bool   `json:"decided"`
	Kind    string `json:"kind,omitempty"` // the rule's kind, as in /rules/{kind}
	Key     string `json:"key,omitempty"`  // the rule's key, when it still exists
}

type whyResult struct {
	Decision decisionJSON `json:"decision"`
	Verdict  string       `json:"verdict"`
	Steps    []whyStep    `json:"steps"`
}

// decisionJSON is a core.Decision as the API shows it.
type decisionJSON struct {
	Allowed    bool        `json:"allowed"`
	Status     int         `json:"status,omitempty"`
	Action     core.Action `json:"action,omitempty"`
	RuleID     int64       `json:"rule_id,omitempty"`
	Reason     core.Reason `json:"reason,omitempty"`
	ReportOnly bool        `json:"report_only"`
	ClientIP   string      `json:"client_ip,omitempty"`
	Country    string      `json:"country,omitempty"`
}

func decisionOf(d core.Decision) decisionJSON {
	out := decisionJSON{Allowed: d.Allowed, Status: d.Status, Action: d.Action, RuleID: d.RuleID, Reason: d.Reason, ReportOnly: d.ReportOnly, Country: d.Country}
	if d.ClientIP.IsValid() {
		out.ClientIP = d.ClientIP.String()
	}
	return out
}

type whyData struct {
	Query  whyQuery
	Result *whyResult
	Error  *httpError
}

func parseWhy(v url.Values) (whyQuery, error) {
	q := whyQuery{IP: strings.TrimSpace(v.Get("ip")), UA: v.Get("ua"), Path: strings.TrimSpace(v.Get("path")),
		Method: strings.ToUpper(strings.TrimSpace(v.Get("method"))), User: strings.TrimSpace(v.Get("user")), Email: strings.TrimSpace(v.Get("email"))}
	if q.Path == "" {
		q.Path = "/"
	}
	if q.Method == "" {
		q.Method = http.MethodGet
	}
	switch {
	case !strings.HasPrefix(q.Path, "/") || len(q.Path) > 2000:
		return q, fieldErr("Why", "path", q.Path, "must start with / (at most 2,000 bytes)")
	case len(q.UA) > core.MaxUserAgentLen*2:
		return q, fieldErr("Why", "ua", cut(q.UA, 40), "is too long")
	case len(q.User) > 150 || len(q.Email) > 254:
		return q, errf(http.StatusBadRequest, "the user or the e-mail is too long")
	}
	if _, err := netip.ParseAddr(q.IP); err != nil {
		return q, fieldErr("Why", "ip", q.IP, "must be an address such as 203.0.113.7 or 2001:db8::1")
	}
	return q, nil
}

// explain asks the engine, without side effects, and names the rules.
func (s *server) explain(ctx context.Context, q whyQuery) (*whyResult, error) {
	r, err := http.NewRequestWithContext(ctx, q.Method, "http://warden.invalid"+q.Path, nil)
	if err != nil {
		return nil, fieldErr("Why", "path", q.Path, "is not a request path: "+err.Error())
	}
	r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(q.IP), 40000).String()
	if q.UA != "" {
		r.Header.Set("User-Agent", q.UA)
	}
	d, steps, err := s.eng.Explain(ctx, core.Request{HTTP: r, UserID: q.User}, q.Email)
	if err != nil {
		return nil, err
	}
	res := &whyResult{Decision: decisionOf(d), Verdict: verdict(d)}
	decided := false
	for _, st := range steps {
		ws := whyStep{Step: st}
		if !decided && st.Name != "email" && (st.Outcome == "denied" || st.Outcome == "allowed") {
			ws.Decided, decided = true, true
		}
		if st.Name == "email" && st.Outcome == "denied" {
			ws.Decided = true
		}
		ws.Kind = ruleKindOf(st)
		if k, ok := kindBySlug(ws.Kind); ok && st.RuleID > 0 {
			if it, err := k.byID(ctx, s.eng.Rules(), st.RuleID); err == nil {
				ws.Key = it.Key
			}
		}
		res.Steps = append(res.Steps, ws)
	}
	return res, nil
}

func verdict(d core.Decision) string {
	switch {
	case !d.Allowed:
		return "denied with " + http.StatusText(d.Status) + " (" + string(d.Action) + ")"
	case d.ReportOnly:
		return "allowed; report-only rules would deny it (" + string(d.Action) + ")"
	}
	return "allowed"
}

// ruleKindOf is the kind of the rule a step names.
func ruleKindOf(st core.Step) string {
	switch st.Name {
	case "blocked_ip":
		return "blocked-ips"
	case "whitelisted_ip":
		return "whitelisted-ips"
	case "user_exemption":
		return "whitelisted-users"
	case "user_agent":
		return "blocked-user-agents"
	case "country":
		return "blocked-countries"
	case "rate_limit":
		return "rate-limits"
	case "email":
		if st.Action == core.ActionDomainBlock {
			return "blocked-domains"
		}
		return "blocked-emails"
	}
	return ""
}

func whyHTML(s *server, c *call) {
	v := c.r.URL.Query()
	d := whyData{}
	if v.Get("ip") == "" && len(v) == 0 {
		d.Query = whyQuery{Path: "/", Method: http.MethodGet}
		s.render(c, http.StatusOK, "why", "Why?", d)
		return
	}
	q, err := parseWhy(v)
	d.Query = q
	if err == nil {
		d.Result, err = s.explain(c.r.Context(), q)
	}
	status := http.StatusOK
	if err != nil {
		d.Error = s.asHTTP(err)
		if d.Error.Status >= 500 {
			s.fail(c, err)
			return
		}
		status = d.Error.Status
	}
	s.render(c, status, "why", "Why?", d)
}

func whyAPI(s *server, c *call) {
	q, err := parseWhy(c.r.URL.Query())
	var res *whyResult
	if err == nil {
		res, err = s.explain(c.r.Context(), q)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, res)
}
