package core

import (
	"time"

	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// Action names what happened; the values are stored as they are.
type Action string

const (
	ActionCountryBlock          Action = "COUNTRY_BLOCK"
	ActionCountryWhitelistBlock Action = "COUNTRY_WHITELIST_BLOCK"
	ActionIPBlock               Action = "IP_BLOCK"
	ActionEmailBlock            Action = "EMAIL_BLOCK"
	ActionDomainBlock           Action = "DOMAIN_BLOCK"
	ActionUserAgentBlock        Action = "USER_AGENT_BLOCK"
	ActionRateLimit             Action = "RATE_LIMIT"
	ActionLockout               Action = "LOCKOUT"
	ActionSuspiciousLogin       Action = "SUSPICIOUS_LOGIN"
	ActionAutoBlockIP           Action = "AUTO_BLOCK_IP"
	ActionAutoBlockCountry      Action = "AUTO_BLOCK_COUNTRY"
	ActionAdmin                 Action = "ADMIN_ACTION"
	ActionWouldBlock            Action = "WOULD_BLOCK"
	// ActionFailPolicy records that a fail policy decided because a
	// dependency (the store, the rate limiter) failed.
	ActionFailPolicy Action = "FAIL_POLICY"
	// ActionNoClientIP is the action of a denial when no client IP could be
	// resolved (missing or junk RemoteAddr or forwarding header).
	ActionNoClientIP Action = "NO_CLIENT_IP"
)

// Severity grades an event.
type Severity string

const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// DefaultSeverity is the severity an event of this action gets when none is
// given.
func DefaultSeverity(a Action) Severity {
	switch a {
	case ActionIPBlock, ActionLockout, ActionSuspiciousLogin, ActionAutoBlockIP:
		return SeverityHigh
	case ActionDomainBlock, ActionUserAgentBlock, ActionRateLimit, ActionWouldBlock:
		return SeverityLow
	case ActionAutoBlockCountry:
		return SeverityCritical
	default:
		return SeverityMedium
	}
}

// Event is one row of the security log. Identical events within the writer's
// coalescing window are stored once with Count > 1.
type Event struct {
	ID          int64     `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	IP          string    `json:"ip"`
	CountryCode string    `json:"country_code"`
	Action      Action    `json:"action"`
	Severity    Severity  `json:"severity"`
	Path        string    `json:"path"`
	Method      string    `json:"method"`
	UserAgent   string    `json:"user_agent"`
	Details     string    `json:"details"`
	UserEmail   string    `json:"user_email"`
	RuleID      int64     `json:"rule_id,omitempty"`
	Count       int64     `json:"count"`
}

// Clean returns e with every string made valid UTF-8, stripped of NUL bytes,
// cut on rune boundaries to its column's length, and defaults filled in. The
// event writer cleans every event before it is queued.
func (e Event) Clean() Event {
	e.IP = textutil.Clean(e.IP, 45)
	e.CountryCode = textutil.Clean(e.CountryCode, 2)
	e.Action = Action(textutil.Clean(string(e.Action), 30))
	if e.Severity == "" {
		e.Severity = DefaultSeverity(e.Action)
	}
	e.Severity = Severity(textutil.Clean(string(e.Severity), 10))
	e.Path = textutil.Clean(e.Path, MaxEventPathLen)
	e.Method = textutil.Clean(e.Method, MaxEventMethodLen)
	e.UserAgent = textutil.Clean(e.UserAgent, MaxEventUserAgentLen)
	e.Details = textutil.Clean(e.Details, MaxEventDetailsLen)
	e.UserEmail = textutil.Clean(e.UserEmail, rule.MaxEmailLen)
	if e.Count < 1 {
		e.Count = 1
	}
	if !e.CreatedAt.IsZero() {
		e.CreatedAt = e.CreatedAt.UTC()
	}
	return e
}
