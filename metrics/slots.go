package metrics

import "github.com/wardenkit/warden/core"

// The values of the decision label of warden_decisions_total.
const (
	DecisionAllow      = "allow"       // allowed, no rule matched (or an exemption or FailOpen decided)
	DecisionReportOnly = "report_only" // allowed, a rule matched in report-only mode
	DecisionDeny       = "deny"        // denied
)

// The kind label values that are not a core.Action or core.Reason.
const (
	KindNone  = "none"  // allowed: every step ran and no rule matched
	KindOther = "other" // a value this version of the package does not know
)

// slot is one series of warden_decisions_total.
type slot struct{ decision, kind string }

// slots is the fixed set of series: the label values are the decision and
// a core.Action or core.Reason spelled as core spells them, so a series
// names the same thing as the stored events. An Action or Reason that core
// gains later is counted as KindOther until this table learns it.
var slots = [numSlots]slot{
	slotAllowNone:          {DecisionAllow, KindNone},
	slotAllowExemptPath:    {DecisionAllow, string(core.ReasonExemptPath)},
	slotAllowWhitelistedIP: {DecisionAllow, string(core.ReasonWhitelistedIP)},
	slotAllowUserExempt:    {DecisionAllow, string(core.ReasonUserExempt)},
	slotAllowFailOpen:      {DecisionAllow, string(core.ReasonFailOpen)},
	slotAllowOther:         {DecisionAllow, KindOther},
	slotReportIP:           {DecisionReportOnly, string(core.ActionIPBlock)},
	slotReportUserAgent:    {DecisionReportOnly, string(core.ActionUserAgentBlock)},
	slotReportCountry:      {DecisionReportOnly, string(core.ActionCountryBlock)},
	slotReportCountryWL:    {DecisionReportOnly, string(core.ActionCountryWhitelistBlock)},
	slotReportRateLimit:    {DecisionReportOnly, string(core.ActionRateLimit)},
	slotReportOther:        {DecisionReportOnly, KindOther},
	slotDenyIP:             {DecisionDeny, string(core.ActionIPBlock)},
	slotDenyUserAgent:      {DecisionDeny, string(core.ActionUserAgentBlock)},
	slotDenyCountry:        {DecisionDeny, string(core.ActionCountryBlock)},
	slotDenyCountryWL:      {DecisionDeny, string(core.ActionCountryWhitelistBlock)},
	slotDenyRateLimit:      {DecisionDeny, string(core.ActionRateLimit)},
	slotDenyNoClientIP:     {DecisionDeny, string(core.ActionNoClientIP)},
	slotDenyFailClosed:     {DecisionDeny, string(core.ReasonFailClosed)},
	slotDenyOther:          {DecisionDeny, KindOther},
}

const (
	slotAllowNone = iota
	slotAllowExemptPath
	slotAllowWhitelistedIP
	slotAllowUserExempt
	slotAllowFailOpen
	slotAllowOther
	slotReportIP
	slotReportUserAgent
	slotReportCountry
	slotReportCountryWL
	slotReportRateLimit
	slotReportOther
	slotDenyIP
	slotDenyUserAgent
	slotDenyCountry
	slotDenyCountryWL
	slotDenyRateLimit
	slotDenyNoClientIP
	slotDenyFailClosed
	slotDenyOther
	numSlots
)

// slotOf is d's series. A denial by the fail policy counts as fail_closed
// whichever step failed (the limiter's also has Action RATE_LIMIT): the
// failure is what an operator must see.
func slotOf(d core.Decision) int {
	switch {
	case !d.Allowed:
		if d.Reason == core.ReasonFailClosed {
			return slotDenyFailClosed
		}
		return actionSlot(d.Action, slotDenyIP) // the deny slots follow the report-only ones' order
	case d.Reason != "":
		switch d.Reason {
		case core.ReasonExemptPath:
			return slotAllowExemptPath
		case core.ReasonWhitelistedIP:
			return slotAllowWhitelistedIP
		case core.ReasonUserExempt:
			return slotAllowUserExempt
		case core.ReasonFailOpen:
			return slotAllowFailOpen
		}
		return slotAllowOther
	case d.ReportOnly:
		return actionSlot(d.Action, slotReportIP)
	}
	return slotAllowNone
}

// actionSlot is a's slot in the block of report-only or deny slots that
// starts at base (both list the rule kinds in one order).
func actionSlot(a core.Action, base int) int {
	switch a {
	case core.ActionIPBlock:
		return base
	case core.ActionUserAgentBlock:
		return base + 1
	case core.ActionCountryBlock:
		return base + 2
	case core.ActionCountryWhitelistBlock:
		return base + 3
	case core.ActionRateLimit:
		return base + 4
	case core.ActionNoClientIP:
		if base == slotDenyIP {
			return slotDenyNoClientIP
		}
	}
	if base == slotDenyIP {
		return slotDenyOther
	}
	return slotReportOther
}
