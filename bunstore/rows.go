package bunstore

import (
	"time"

	"github.com/uptrace/bun"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// Rows as stored. Each rule row converts from and to its core type; is_active
// is the negation of core's Disabled, times are UTC.

// columnLimits is the length, in characters, of every VARCHAR column. Text is
// cut to it on a rune boundary before it is written (see cutStrings), so an
// over-long value is shortened rather than refused. TestColumnLimits checks
// this table against the database.
var columnLimits = map[string]map[string]int{
	"security_settings":        {"notification_email": 254, "oversize_user_agent": 10, "internal_country": 2, "auto_block_weights": 500},
	"security_blocked_ip":      {"ip_address": 50, "reason": 2000, "country_code": 2},
	"security_whitelisted_ip":  {"ip_address": 50, "description": 255, "created_by": 100},
	"security_blocked_country": {"code": 2, "name": 100, "reason": 2000},
	"security_allowed_country": {"code": 2, "name": 100},
	"security_blocked_user_agent": {
		"pattern": 500, "block_type": 20, "category": 20, "description": 255,
	},
	"security_whitelisted_user": {"user_id": 150, "exemption_type": 20, "reason": 2000, "created_by": 100},
	"security_blocked_email":    {"email": 254, "reason": 2000},
	"security_blocked_domain":   {"domain": 253, "domain_type": 20, "reason": 2000},
	"security_feed_state":       {"url_hash": 64, "url": 2000, "etag": 1000, "last_modified": 100},
	"security_rate_limit_rule": {
		"name": 100, "path_pattern": 255, "method": 10, "rate": 64, "key_by": 100,
	},
	"security_lockout": {"username": 150, "ip_address": 50, "scope": 10, "released_by": 100},
	"security_login_history": {
		"user_id": 150, "ip_address": 50, "country_code": 2, "user_agent": 1000, "device_type": 50,
		"browser": 100, "os": 100, "suspicious_reason": 255, "session_key": 255,
	},
	"security_security_log": {
		"ip_address": 50, "country_code": 2, "action": 30, "severity": 10, "path": 500,
		"method": 10, "user_agent": 1000, "details": 2000, "user_email": 254,
	},
}

// meta is the bookkeeping of a rule row.
type meta struct {
	ID        int64     `bun:"id,pk,autoincrement"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

func (m *meta) rowMeta() *meta { return m }

func (m meta) core() rule.Meta {
	return rule.Meta{ID: m.ID, CreatedAt: utc(m.CreatedAt), UpdatedAt: utc(m.UpdatedAt)}
}

// utc returns t in UTC; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// dbTime is t as the databases keep it: UTC, microseconds.
func dbTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// row is implemented by the pointer to every rule row type R.
type row[T rule.Rule, R any] interface {
	*R
	rowMeta() *meta
	toRule() T
	fromRule(T)
}

type blockedIPRow struct {
	bun.BaseModel `bun:"table:security_blocked_ip"`
	meta
	IPAddress     string    `bun:"ip_address"`
	Reason        string    `bun:"reason"`
	IsActive      bool      `bun:"is_active"`
	IsAutoBlocked bool      `bun:"is_auto_blocked"`
	BlockCount    int64     `bun:"block_count"`
	AutoBlocks    int64     `bun:"auto_blocks"`
	ExpiresAt     time.Time `bun:"expires_at,nullzero"`
	CountryCode   string    `bun:"country_code"`
	ReportOnly    bool      `bun:"report_only"`
}

func (r *blockedIPRow) fromRule(v rule.BlockedIP) {
	*r = blockedIPRow{IPAddress: v.Network, Reason: v.Reason, IsActive: !v.Disabled, IsAutoBlocked: v.AutoBlocked,
		BlockCount: v.BlockCount, AutoBlocks: v.AutoBlocks, ExpiresAt: dbTime(v.ExpiresAt), CountryCode: v.CountryCode,
		ReportOnly: v.ReportOnly}
}

func (r *blockedIPRow) toRule() rule.BlockedIP {
	return rule.BlockedIP{Meta: r.core(), Network: r.IPAddress, Reason: r.Reason, Disabled: !r.IsActive,
		AutoBlocked: r.IsAutoBlocked, BlockCount: r.BlockCount, AutoBlocks: r.AutoBlocks, ExpiresAt: utc(r.ExpiresAt),
		CountryCode: r.CountryCode, ReportOnly: r.ReportOnly}
}

type whitelistedIPRow struct {
	bun.BaseModel `bun:"table:security_whitelisted_ip"`
	meta
	IPAddress   string `bun:"ip_address"`
	Description string `bun:"description"`
	IsActive    bool   `bun:"is_active"`
	CreatedBy   string `bun:"created_by"`
}

func (r *whitelistedIPRow) fromRule(v rule.WhitelistedIP) {
	*r = whitelistedIPRow{IPAddress: v.Network, Description: v.Description, IsActive: !v.Disabled, CreatedBy: v.CreatedBy}
}

func (r *whitelistedIPRow) toRule() rule.WhitelistedIP {
	return rule.WhitelistedIP{Meta: r.core(), Network: r.IPAddress, Description: r.Description,
		Disabled: !r.IsActive, CreatedBy: r.CreatedBy}
}

type blockedCountryRow struct {
	bun.BaseModel `bun:"table:security_blocked_country"`
	meta
	Code          string `bun:"code"`
	Name          string `bun:"name"`
	Reason        string `bun:"reason"`
	IsActive      bool   `bun:"is_active"`
	IsAutoBlocked bool   `bun:"is_auto_blocked"`
	AttackCount   int64  `bun:"attack_count"`
	ReportOnly    bool   `bun:"report_only"`
}

func (r *blockedCountryRow) fromRule(v rule.BlockedCountry) {
	*r = blockedCountryRow{Code: v.Code, Name: v.Name, Reason: v.Reason, IsActive: !v.Disabled,
		IsAutoBlocked: v.AutoBlocked, AttackCount: v.AttackCount, ReportOnly: v.ReportOnly}
}

func (r *blockedCountryRow) toRule() rule.BlockedCountry {
	return rule.BlockedCountry{Meta: r.core(), Code: r.Code, Name: r.Name, Reason: r.Reason, Disabled: !r.IsActive,
		AutoBlocked: r.IsAutoBlocked, AttackCount: r.AttackCount, ReportOnly: r.ReportOnly}
}

type allowedCountryRow struct {
	bun.BaseModel `bun:"table:security_allowed_country"`
	meta
	Code     string `bun:"code"`
	Name     string `bun:"name"`
	IsActive bool   `bun:"is_active"`
}

func (r *allowedCountryRow) fromRule(v rule.AllowedCountry) {
	*r = allowedCountryRow{Code: v.Code, Name: v.Name, IsActive: !v.Disabled}
}

func (r *allowedCountryRow) toRule() rule.AllowedCountry {
	return rule.AllowedCountry{Meta: r.core(), Code: r.Code, Name: r.Name, Disabled: !r.IsActive}
}

type blockedUserAgentRow struct {
	bun.BaseModel `bun:"table:security_blocked_user_agent"`
	meta
	Pattern      string `bun:"pattern"`
	BlockType    string `bun:"block_type"`
	Category     string `bun:"category"`
	Description  string `bun:"description"`
	IsActive     bool   `bun:"is_active"`
	IsAutoSynced bool   `bun:"is_auto_synced"`
	BlockCount   int64  `bun:"block_count"`
	ReportOnly   bool   `bun:"report_only"`
	// SyncDisabled marks a row the list sync deactivated (see sync.go). No
	// rule field carries it, so every Put writes false: an operator's
	// write takes the row back from the sync.
	SyncDisabled bool `bun:"sync_disabled"`
}

func (r *blockedUserAgentRow) fromRule(v rule.BlockedUserAgent) {
	*r = blockedUserAgentRow{Pattern: v.Pattern, BlockType: string(v.Match), Category: v.Category,
		Description: v.Description, IsActive: !v.Disabled, IsAutoSynced: v.AutoSynced, BlockCount: v.HitCount,
		ReportOnly: v.ReportOnly}
}

func (r *blockedUserAgentRow) toRule() rule.BlockedUserAgent {
	return rule.BlockedUserAgent{Meta: r.core(), Pattern: r.Pattern, Match: rule.UAMatch(r.BlockType),
		Category: r.Category, Description: r.Description, Disabled: !r.IsActive, AutoSynced: r.IsAutoSynced,
		HitCount: r.BlockCount, ReportOnly: r.ReportOnly}
}

type whitelistedUserRow struct {
	bun.BaseModel `bun:"table:security_whitelisted_user"`
	meta
	UserID        string    `bun:"user_id"`
	ExemptionType string    `bun:"exemption_type"`
	Reason        string    `bun:"reason"`
	IsActive      bool      `bun:"is_active"`
	CreatedBy     string    `bun:"created_by"`
	ExpiresAt     time.Time `bun:"expires_at,nullzero"`
}

func (r *whitelistedUserRow) fromRule(v rule.WhitelistedUser) {
	*r = whitelistedUserRow{UserID: v.UserID, ExemptionType: string(v.Exemption), Reason: v.Reason,
		IsActive: !v.Disabled, CreatedBy: v.CreatedBy, ExpiresAt: dbTime(v.ExpiresAt)}
}

func (r *whitelistedUserRow) toRule() rule.WhitelistedUser {
	return rule.WhitelistedUser{Meta: r.core(), UserID: r.UserID, Exemption: rule.Exemption(r.ExemptionType),
		Reason: r.Reason, Disabled: !r.IsActive, CreatedBy: r.CreatedBy, ExpiresAt: utc(r.ExpiresAt)}
}

type blockedEmailRow struct {
	bun.BaseModel `bun:"table:security_blocked_email"`
	meta
	Email         string `bun:"email"`
	Reason        string `bun:"reason"`
	IsActive      bool   `bun:"is_active"`
	IsAutoBlocked bool   `bun:"is_auto_blocked"`
	ReportOnly    bool   `bun:"report_only"`
}

func (r *blockedEmailRow) fromRule(v rule.BlockedEmail) {
	*r = blockedEmailRow{Email: v.Email, Reason: v.Reason, IsActive: !v.Disabled, IsAutoBlocked: v.AutoBlocked,
		ReportOnly: v.ReportOnly}
}

func (r *blockedEmailRow) toRule() rule.BlockedEmail {
	return rule.BlockedEmail{Meta: r.core(), Email: r.Email, Reason: r.Reason, Disabled: !r.IsActive,
		AutoBlocked: r.IsAutoBlocked, ReportOnly: r.ReportOnly}
}

type blockedDomainRow struct {
	bun.BaseModel `bun:"table:security_blocked_domain"`
	meta
	Domain       string `bun:"domain"`
	DomainType   string `bun:"domain_type"`
	Reason       string `bun:"reason"`
	IsActive     bool   `bun:"is_active"`
	IsAutoSynced bool   `bun:"is_auto_synced"`
	SyncDisabled bool   `bun:"sync_disabled"` // see blockedUserAgentRow.SyncDisabled
	ReportOnly   bool   `bun:"report_only"`
}

func (r *blockedDomainRow) fromRule(v rule.BlockedDomain) {
	*r = blockedDomainRow{Domain: v.Domain, DomainType: v.Type, Reason: v.Reason, IsActive: !v.Disabled,
		IsAutoSynced: v.AutoSynced, ReportOnly: v.ReportOnly}
}

func (r *blockedDomainRow) toRule() rule.BlockedDomain {
	return rule.BlockedDomain{Meta: r.core(), Domain: r.Domain, Type: r.DomainType, Reason: r.Reason,
		Disabled: !r.IsActive, AutoSynced: r.IsAutoSynced, ReportOnly: r.ReportOnly}
}

type rateLimitRuleRow struct {
	bun.BaseModel `bun:"table:security_rate_limit_rule"`
	meta
	Name        string `bun:"name"`
	PathPattern string `bun:"path_pattern"`
	Method      string `bun:"method"`
	Rate        string `bun:"rate"`
	Burst       int    `bun:"burst"`
	KeyBy       string `bun:"key_by"`
	IsActive    bool   `bun:"is_active"`
	BlockCount  int64  `bun:"block_count"`
	ReportOnly  bool   `bun:"report_only"`
}

func (r *rateLimitRuleRow) fromRule(v rule.RateLimitRule) {
	*r = rateLimitRuleRow{Name: v.Name, PathPattern: v.PathPattern, Method: v.Method, Rate: v.Rate, Burst: v.Burst,
		KeyBy: v.KeyBy, IsActive: !v.Disabled, BlockCount: v.HitCount, ReportOnly: v.ReportOnly}
}

func (r *rateLimitRuleRow) toRule() rule.RateLimitRule {
	return rule.RateLimitRule{Meta: r.core(), Name: r.Name, PathPattern: r.PathPattern, Method: r.Method,
		Rate: r.Rate, Burst: r.Burst, KeyBy: r.KeyBy, Disabled: !r.IsActive, HitCount: r.BlockCount,
		ReportOnly: r.ReportOnly}
}

// settingsRow is the single row (id 1) of security_settings.
type settingsRow struct {
	bun.BaseModel `bun:"table:security_settings"`

	ID                          int64     `bun:"id,pk"`
	AutoBlockIPThreshold        int       `bun:"auto_block_ip_threshold"`
	AutoBlockIPWindowHours      int       `bun:"auto_block_ip_window_hours"`
	AutoBlockIPDurationHours    int       `bun:"auto_block_ip_duration_hours"`
	AutoBlockCountryThreshold   int       `bun:"auto_block_country_threshold"`
	AutoBlockCountryWindowHours int       `bun:"auto_block_country_window_hours"`
	AutoBlockCountryEnabled     bool      `bun:"auto_block_country_enabled"`
	AutoBlockWeights            string    `bun:"auto_block_weights"`
	AutoBlockMaxDurationHours   int       `bun:"auto_block_max_duration_hours"`
	AutoBlockDryRun             bool      `bun:"auto_block_dry_run"`
	RetentionDays               int       `bun:"retention_days"`
	MaxLoginAttempts            int       `bun:"max_login_attempts"`
	LockoutCooloffMinutes       int       `bun:"lockout_cooloff_minutes"`
	AttemptExpiry               bool      `bun:"attempt_expiry_enabled"`
	AlertOnNewCountry           bool      `bun:"alert_on_new_country"`
	AlertOnNewIP                bool      `bun:"alert_on_new_ip"`
	MaxCountriesPerDay          int       `bun:"max_countries_per_day"`
	LoginHistoryEnabled         bool      `bun:"login_history_enabled"`
	SyncDisposableDomains       bool      `bun:"sync_disposable_domains"`
	SyncBadBots                 bool      `bun:"sync_bad_bots"`
	LastSyncAt                  time.Time `bun:"last_sync_at,nullzero"`
	NotifyOnAutoBlock           bool      `bun:"notify_on_auto_block"`
	NotificationEmail           string    `bun:"notification_email"`
	IPBlockingEnabled           bool      `bun:"ip_blocking_enabled"`
	UserAgentBlockingEnabled    bool      `bun:"user_agent_blocking_enabled"`
	CountryBlockingEnabled      bool      `bun:"country_blocking_enabled"`
	CountryAllowListMode        bool      `bun:"country_allow_list_mode"`
	EmailBlockingEnabled        bool      `bun:"email_blocking_enabled"`
	DomainBlockingEnabled       bool      `bun:"domain_blocking_enabled"`
	ReportOnly                  bool      `bun:"report_only"`
	ReportOnlyCountryAllowList  bool      `bun:"report_only_country_allow_list"`
	OversizeUserAgent           string    `bun:"oversize_user_agent"`
	InternalCountry             string    `bun:"internal_country"`
	UpdatedAt                   time.Time `bun:"updated_at,notnull"`
}

func settingsToRow(s core.Settings) settingsRow {
	return settingsRow{
		ID:                          1,
		AutoBlockIPThreshold:        s.AutoBlockIPThreshold,
		AutoBlockIPWindowHours:      s.AutoBlockIPWindowHours,
		AutoBlockIPDurationHours:    s.AutoBlockIPDurationHours,
		AutoBlockCountryThreshold:   s.AutoBlockCountryThreshold,
		AutoBlockCountryWindowHours: s.AutoBlockCountryWindowHours,
		AutoBlockCountryEnabled:     s.AutoBlockCountryEnabled,
		AutoBlockWeights:            s.AutoBlockWeights,
		AutoBlockMaxDurationHours:   s.AutoBlockMaxDurationHours,
		AutoBlockDryRun:             s.AutoBlockDryRun,
		RetentionDays:               s.RetentionDays,
		MaxLoginAttempts:            s.MaxLoginAttempts,
		LockoutCooloffMinutes:       s.LockoutCooloffMinutes,
		AttemptExpiry:               s.AttemptExpiry,
		AlertOnNewCountry:           s.AlertOnNewCountry,
		AlertOnNewIP:                s.AlertOnNewIP,
		MaxCountriesPerDay:          s.MaxCountriesPerDay,
		LoginHistoryEnabled:         s.LoginHistoryEnabled,
		SyncDisposableDomains:       s.SyncDisposableDomains,
		SyncBadBots:                 s.SyncBadBots,
		LastSyncAt:                  dbTime(s.LastSyncAt),
		NotifyOnAutoBlock:           s.NotifyOnAutoBlock,
		NotificationEmail:           s.NotificationEmail,
		IPBlockingEnabled:           s.IPBlockingEnabled,
		UserAgentBlockingEnabled:    s.UserAgentBlockingEnabled,
		CountryBlockingEnabled:      s.CountryBlockingEnabled,
		CountryAllowListMode:        s.CountryAllowListMode,
		EmailBlockingEnabled:        s.EmailBlockingEnabled,
		DomainBlockingEnabled:       s.DomainBlockingEnabled,
		ReportOnly:                  s.ReportOnly,
		ReportOnlyCountryAllowList:  s.ReportOnlyCountryAllowList,
		OversizeUserAgent:           s.OversizeUserAgent,
		InternalCountry:             s.InternalCountry,
		UpdatedAt:                   dbTime(s.UpdatedAt),
	}
}

func (r *settingsRow) toSettings() core.Settings {
	return core.Settings{
		AutoBlockIPThreshold:        r.AutoBlockIPThreshold,
		AutoBlockIPWindowHours:      r.AutoBlockIPWindowHours,
		AutoBlockIPDurationHours:    r.AutoBlockIPDurationHours,
		AutoBlockCountryThreshold:   r.AutoBlockCountryThreshold,
		AutoBlockCountryWindowHours: r.AutoBlockCountryWindowHours,
		AutoBlockCountryEnabled:     r.AutoBlockCountryEnabled,
		AutoBlockWeights:            r.AutoBlockWeights,
		AutoBlockMaxDurationHours:   r.AutoBlockMaxDurationHours,
		AutoBlockDryRun:             r.AutoBlockDryRun,
		RetentionDays:               r.RetentionDays,
		MaxLoginAttempts:            r.MaxLoginAttempts,
		LockoutCooloffMinutes:       r.LockoutCooloffMinutes,
		AttemptExpiry:               r.AttemptExpiry,
		AlertOnNewCountry:           r.AlertOnNewCountry,
		AlertOnNewIP:                r.AlertOnNewIP,
		MaxCountriesPerDay:          r.MaxCountriesPerDay,
		LoginHistoryEnabled:         r.LoginHistoryEnabled,
		SyncDisposableDomains:       r.SyncDisposableDomains,
		SyncBadBots:                 r.SyncBadBots,
		LastSyncAt:                  utc(r.LastSyncAt),
		NotifyOnAutoBlock:           r.NotifyOnAutoBlock,
		NotificationEmail:           r.NotificationEmail,
		IPBlockingEnabled:           r.IPBlockingEnabled,
		UserAgentBlockingEnabled:    r.UserAgentBlockingEnabled,
		CountryBlockingEnabled:      r.CountryBlockingEnabled,
		CountryAllowListMode:        r.CountryAllowListMode,
		EmailBlockingEnabled:        r.EmailBlockingEnabled,
		DomainBlockingEnabled:       r.DomainBlockingEnabled,
		ReportOnly:                  r.ReportOnly,
		ReportOnlyCountryAllowList:  r.ReportOnlyCountryAllowList,
		OversizeUserAgent:           r.OversizeUserAgent,
		InternalCountry:             r.InternalCountry,
		UpdatedAt:                   utc(r.UpdatedAt),
	}
}

// eventRow is one row of security_security_log.
type eventRow struct {
	bun.BaseModel `bun:"table:security_security_log"`

	ID          int64     `bun:"id,pk,autoincrement"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	IPAddress   string    `bun:"ip_address"`
	CountryCode string    `bun:"country_code"`
	Action      string    `bun:"action"`
	Severity    string    `bun:"severity"`
	Path        string    `bun:"path"`
	Method      string    `bun:"method"`
	UserAgent   string    `bun:"user_agent"`
	Details     string    `bun:"details"`
	UserEmail   string    `bun:"user_email"`
	RuleID      int64     `bun:"rule_id"`
	Count       int64     `bun:"count"`
}

// eventToRow cleans e (valid UTF-8, no NUL, cut to the columns) and fills in
// the defaults.
func eventToRow(e core.Event, now time.Time) eventRow {
	e = e.Clean()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	return eventRow{
		CreatedAt: dbTime(e.CreatedAt), IPAddress: e.IP, CountryCode: e.CountryCode, Action: string(e.Action),
		Severity: string(e.Severity), Path: e.Path, Method: e.Method, UserAgent: e.UserAgent, Details: e.Details,
		UserEmail: e.UserEmail, RuleID: e.RuleID, Count: e.Count,
	}
}

func (r *eventRow) toEvent() core.Event {
	return core.Event{
		ID: r.ID, CreatedAt: utc(r.CreatedAt), IP: r.IPAddress, CountryCode: r.CountryCode,
		Action: core.Action(r.Action), Severity: core.Severity(r.Severity), Path: r.Path, Method: r.Method,
		UserAgent: r.UserAgent, Details: r.Details, UserEmail: r.UserEmail, RuleID: r.RuleID, Count: r.Count,
	}
}
