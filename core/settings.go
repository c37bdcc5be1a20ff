package core

import (
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// Settings is the admin-editable policy: one row per installation. Every
// replica reads it from its snapshot, so a change applies everywhere within
// the propagation delay.
type Settings struct {
	// Auto-blocking (used by the AutoBlocker).
	AutoBlockIPThreshold        int  `json:"auto_block_ip_threshold"`         // events in the window; 0 disables
	AutoBlockIPWindowHours      int  `json:"auto_block_ip_window_hours"`      // look-back window
	AutoBlockIPDurationHours    int  `json:"auto_block_ip_duration_hours"`    // 0 = permanent
	AutoBlockCountryThreshold   int  `json:"auto_block_country_threshold"`    // 0 disables
	AutoBlockCountryWindowHours int  `json:"auto_block_country_window_hours"` //
	AutoBlockCountryEnabled     bool `json:"auto_block_country_enabled"`      // false = flag for review only
	// AutoBlockWeights is what each action adds to the counts, as
	// "ACTION=n,…"; actions not listed add nothing.
	AutoBlockWeights          string `json:"auto_block_weights"`
	AutoBlockMaxDurationHours int    `json:"auto_block_max_duration_hours"` // cap of the doubling for repeat offenders
	AutoBlockDryRun           bool   `json:"auto_block_dry_run"`            // record WOULD_BLOCK, block nothing
	RetentionDays             int    `json:"retention_days"`                // events, logins and lockouts; 0 = keep

	// Login protection.
	MaxLoginAttempts      int  `json:"max_login_attempts"`      // 1..100
	LockoutCooloffMinutes int  `json:"lockout_cooloff_minutes"` // 0..1440; 0 = until unlocked by hand
	AttemptExpiry         bool `json:"attempt_expiry_enabled"`  // per-attempt expiry; needs cooloff > 0
	AlertOnNewCountry     bool `json:"alert_on_new_country"`    //
	AlertOnNewIP          bool `json:"alert_on_new_ip"`         //
	MaxCountriesPerDay    int  `json:"max_countries_per_day"`   // 0 disables
	LoginHistoryEnabled   bool `json:"login_history_enabled"`   //

	// List synchronisation.
	SyncDisposableDomains bool      `json:"sync_disposable_domains"`
	SyncBadBots           bool      `json:"sync_bad_bots"`
	LastSyncAt            time.Time `json:"last_sync_at,omitzero"`

	// Notifications.
	NotifyOnAutoBlock bool   `json:"notify_on_auto_block"`
	NotificationEmail string `json:"notification_email,omitempty"`

	// Request checks.
	IPBlockingEnabled        bool `json:"ip_blocking_enabled"`
	UserAgentBlockingEnabled bool `json:"user_agent_blocking_enabled"`
	CountryBlockingEnabled   bool `json:"country_blocking_enabled"` // block mode
	CountryAllowListMode     bool `json:"country_allow_list_mode"`  // only AllowedCountry rows may pass
	EmailBlockingEnabled     bool `json:"email_blocking_enabled"`
	DomainBlockingEnabled    bool `json:"domain_blocking_enabled"`

	// ReportOnly turns every check into a dry run: matches are recorded as
	// WOULD_BLOCK events and the request goes through.
	ReportOnly bool `json:"report_only"`
	// ReportOnlyCountryAllowList makes only the allow-list step a dry run: the
	// safe way to roll out an allow-list.
	ReportOnlyCountryAllowList bool `json:"report_only_country_allow_list"`
	// OversizeUserAgent decides a User-Agent longer than 8 KiB: "deny" (default)
	// or "allow" (then it is matched on its first 8 KiB).
	OversizeUserAgent string `json:"oversize_user_agent"`
	// InternalCountry is the country given to private, loopback and CGNAT
	// addresses. Empty (default) means such addresses always pass the country
	// step; a code makes them count as that country.
	InternalCountry string `json:"internal_country,omitempty"`

	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Values of Settings.OversizeUserAgent.
const (
	OversizeDeny  = "deny"
	OversizeAllow = "allow"
)

// DefaultSettings are the settings of a new installation: the reference's
// defaults, except a 15-minute cool-off (a permanent lockout by default is a
// denial-of-service tool).
func DefaultSettings() Settings {
	return Settings{
		AutoBlockIPThreshold:        10,
		AutoBlockIPWindowHours:      1,
		AutoBlockIPDurationHours:    24,
		AutoBlockCountryThreshold:   100,
		AutoBlockCountryWindowHours: 24,
		AutoBlockWeights:            DefaultAutoBlockWeights,
		AutoBlockMaxDurationHours:   30 * 24,
		RetentionDays:               90,
		MaxLoginAttempts:            5,
		LockoutCooloffMinutes:       15,
		AlertOnNewCountry:           true,
		MaxCountriesPerDay:          3,
		LoginHistoryEnabled:         true,
		SyncDisposableDomains:       true,
		SyncBadBots:                 true,
		NotifyOnAutoBlock:           true,
		IPBlockingEnabled:           true,
		UserAgentBlockingEnabled:    true,
		CountryBlockingEnabled:      true,
		EmailBlockingEnabled:        true,
		DomainBlockingEnabled:       true,
		OversizeUserAgent:           OversizeDeny,
	}
}

// Validate checks every field and the cross-field rules; the error names the
// first field that is wrong and its value.
func (s Settings) Validate() error { return s.normalize() }

func (s *Settings) normalize() error {
	const t = "Settings"
	ranges := []struct {
		name     string
		v        int
		min, max int
	}{
		{"auto_block_ip_threshold", s.AutoBlockIPThreshold, 0, 1_000_000},
		{"auto_block_ip_window_hours", s.AutoBlockIPWindowHours, 1, 24 * 365},
		{"auto_block_ip_duration_hours", s.AutoBlockIPDurationHours, 0, 24 * 3650},
		{"auto_block_country_threshold", s.AutoBlockCountryThreshold, 0, 100_000_000},
		{"auto_block_country_window_hours", s.AutoBlockCountryWindowHours, 1, 24 * 365},
		{"max_login_attempts", s.MaxLoginAttempts, 1, 100},
		{"lockout_cooloff_minutes", s.LockoutCooloffMinutes, 0, 1440},
		{"max_countries_per_day", s.MaxCountriesPerDay, 0, 250},
		{"auto_block_max_duration_hours", s.AutoBlockMaxDurationHours, 1, 24 * 3650},
		{"retention_days", s.RetentionDays, 0, 3650},
	}
	for _, r := range ranges {
		if r.v < r.min || r.v > r.max {
			return invalid(t, r.name, strconv.Itoa(r.v), "must be between "+strconv.Itoa(r.min)+" and "+strconv.Itoa(r.max))
		}
	}
	if err := s.normalizeAutoBlock(); err != nil {
		return err
	}
	if s.AttemptExpiry && s.LockoutCooloffMinutes == 0 {
		return invalid(t, "attempt_expiry_enabled", "true", "needs lockout_cooloff_minutes > 0")
	}
	switch s.OversizeUserAgent {
	case "":
		s.OversizeUserAgent = OversizeDeny
	case OversizeDeny, OversizeAllow:
	default:
		return invalid(t, "oversize_user_agent", s.OversizeUserAgent, "must be deny or allow")
	}
	if s.InternalCountry != "" {
		c, ok := rule.NormalizeCountry(s.InternalCountry)
		if !ok {
			return invalid(t, "internal_country", s.InternalCountry, "not an ISO 3166-1 alpha-2 code")
		}
		s.InternalCountry = c
	}
	if s.NotificationEmail = strings.TrimSpace(s.NotificationEmail); s.NotificationEmail != "" {
		if _, ok := rule.NormalizeEmail(s.NotificationEmail); !ok {
			return invalid(t, "notification_email", s.NotificationEmail, "not an e-mail address")
		}
	}
	return nil
}

// NormalizeSettings validates s and returns its canonical form; stores call it
// on every write.
func NormalizeSettings(s Settings) (Settings, error) {
	err := s.normalize()
	return s, err
}
