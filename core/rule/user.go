package rule

import "time"

// Exemption is what a WhitelistedUser skips.
type Exemption string

const (
	ExemptAll       Exemption = "all"        // every check
	ExemptIPBlock   Exemption = "ip_block"   // the blocked-IP step
	ExemptGeoBlock  Exemption = "geo_block"  // the country step
	ExemptRateLimit Exemption = "rate_limit" // the rate-limit step
)

// WhitelistedUser exempts an authenticated user (matched exactly on the
// application's opaque user ID) from some or all checks.
type WhitelistedUser struct {
	Meta
	UserID    string    `json:"user_id"`
	Exemption Exemption `json:"exemption,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Key is the user ID, the natural key a store upserts on.
func (w WhitelistedUser) Key() string { return w.UserID }

// IsActive reports whether the exemption applies (not disabled).
func (w WhitelistedUser) IsActive() bool { return !w.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (w WhitelistedUser) Validate() error { return w.normalize() }
func (w *WhitelistedUser) normalize() error {
	if w.UserID == "" {
		return invalid("WhitelistedUser", "user_id", w.UserID, "must not be empty")
	}
	if err := CheckText("WhitelistedUser", "user_id", w.UserID, MaxUserIDLen); err != nil {
		return err
	}
	switch w.Exemption {
	case "":
		w.Exemption = ExemptAll
	case ExemptAll, ExemptIPBlock, ExemptGeoBlock, ExemptRateLimit:
	default:
		return invalid("WhitelistedUser", "exemption", string(w.Exemption), "must be all, ip_block, geo_block or rate_limit")
	}
	if !w.ExpiresAt.IsZero() {
		w.ExpiresAt = w.ExpiresAt.UTC()
	}
	if err := CheckText("WhitelistedUser", "created_by", w.CreatedBy, MaxCreatedByLen); err != nil {
		return err
	}
	return CheckText("WhitelistedUser", "reason", w.Reason, MaxReasonLen)
}
