package core

import (
	"net/http"
	"net/netip"
	"time"
)

// Request is what Check decides on.
type Request struct {
	HTTP *http.Request
	// UserID is the authenticated user's opaque ID ("" when anonymous). The
	// middleware must run after the application's authentication for user
	// exemptions to apply.
	UserID string
	// Route is the route template ("/users/:id") when the framework knows
	// it; rate-limit rules match it, else the cleaned URL path.
	Route string
}

// Decision says whether a request may pass and why. Denials are values, not
// errors.
type Decision struct {
	Allowed    bool
	Action     Action        // the rule kind that denied (or would have, when ReportOnly)
	RuleID     int64         // the matched rule's ID, 0 when none
	Status     int           // HTTP status of a denial; 0 when allowed
	RetryAfter time.Duration // when known
	ClientIP   netip.Addr    // invalid when none could be resolved
	Country    string        // when the country was looked up
	ReportOnly bool          // a rule matched in report-only mode; the request passes
	Reason     Reason        // why it passed or failed before any rule matched; "" otherwise
	RateLimit  RateLimitInfo // the rate-limit rule that decided, when one matched
}

// Message is the response body the reference gives for a denial. It never
// names the matched pattern or country.
func (d Decision) Message() string {
	switch {
	case d.Status == http.StatusServiceUnavailable:
		return "Service unavailable"
	case d.Action == ActionCountryBlock || d.Action == ActionCountryWhitelistBlock:
		return "Access denied from your region"
	case d.Status == http.StatusTooManyRequests:
		return "Too many requests"
	case d.Status == http.StatusBadRequest:
		return "Invalid e-mail address"
	default:
		return "Access denied"
	}
}

// Reason says why a request passed or failed before any rule matched.
type Reason string

// Reasons of a Decision.
const (
	ReasonExemptPath    Reason = "exempt_path"    // the path is exempt (WithExemptPaths)
	ReasonWhitelistedIP Reason = "whitelisted_ip" // an active WhitelistedIP covers the client
	ReasonUserExempt    Reason = "user_exempt"    // the user has an exemption of type all
	ReasonNoClientIP    Reason = "no_client_ip"   // no client address could be resolved (403)
	ReasonFailClosed    Reason = "fail_closed"    // the engine or a counter failed; denied with 503
	ReasonFailOpen      Reason = "fail_open"      // the engine failed; allowed by FailOpen
	ReasonInvalidEmail  Reason = "invalid_email"  // CheckEmail was given a malformed address (400)
)
