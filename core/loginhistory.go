package core

import (
	"strings"
	"time"

	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// LoginRecord is one successful login (table security_login_history).
type LoginRecord struct {
	ID          int64     `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	UserID      string    `json:"user_id"`
	IP          string    `json:"ip"`           // the client address; "" when unknown
	CountryCode string    `json:"country_code"` // "" when unknown
	UserAgent   string    `json:"user_agent"`
	Device      string    `json:"device_type"` // uaparse: mobile, tablet, desktop, bot, unknown
	Browser     string    `json:"browser"`
	OS          string    `json:"os"`
	Suspicious  bool      `json:"is_suspicious"`
	Reasons     string    `json:"suspicious_reason"` // "; "-joined, at most 255 runes
	SessionKey  string    `json:"session_key,omitempty"`
}

// DeviceFamily is the new-device rule's key: Browser+"/"+OS ("" if none).
func (r LoginRecord) DeviceFamily() string {
	if r.Browser == "" && r.OS == "" {
		return ""
	}
	return r.Browser + "/" + r.OS
}

// Clean returns r with every string made valid UTF-8, stripped of NUL
// bytes and cut to its column's length, and CreatedAt in UTC.
func (r LoginRecord) Clean() LoginRecord {
	r.UserID = textutil.Clean(r.UserID, rule.MaxUserIDLen)
	r.IP = textutil.Clean(r.IP, MaxLoginIPLen)
	r.CountryCode = textutil.Clean(r.CountryCode, 2)
	r.UserAgent = textutil.Clean(r.UserAgent, MaxLoginUserAgentLen)
	r.Device = textutil.Clean(r.Device, MaxLoginDeviceLen)
	r.Browser = textutil.Clean(r.Browser, MaxLoginBrowserLen)
	r.OS = textutil.Clean(r.OS, MaxLoginOSLen)
	r.Reasons = textutil.Clean(r.Reasons, MaxLoginReasonsLen)
	r.SessionKey = textutil.Clean(r.SessionKey, MaxSessionKeyLen)
	if !r.CreatedAt.IsZero() {
		r.CreatedAt = r.CreatedAt.UTC()
	}
	return r
}

// Validate reports the first field a store must refuse: an empty user ID, a
// zero CreatedAt, or text that Clean would change.
func (r LoginRecord) Validate() error {
	const t = "LoginRecord"
	if strings.TrimSpace(r.UserID) == "" {
		return invalid(t, "user_id", r.UserID, "must not be empty")
	}
	if r.CreatedAt.IsZero() {
		return invalid(t, "created_at", "", "must be set")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"user_id", r.UserID, rule.MaxUserIDLen},
		{"ip_address", r.IP, MaxLoginIPLen},
		{"country_code", r.CountryCode, 2},
		{"user_agent", r.UserAgent, MaxLoginUserAgentLen},
		{"device_type", r.Device, MaxLoginDeviceLen},
		{"browser", r.Browser, MaxLoginBrowserLen},
		{"os", r.OS, MaxLoginOSLen},
		{"suspicious_reason", r.Reasons, MaxLoginReasonsLen},
		{"session_key", r.SessionKey, MaxSessionKeyLen},
	} {
		if err := rule.CheckText(t, f.name, f.v, f.max); err != nil {
			return err
		}
	}
	return nil
}

// LoginQuery selects login records, newest first (by CreatedAt, then ID).
type LoginQuery struct {
	UserID   string    // exact; "" = any
	IP       string    // exact; "" = any
	Since    time.Time // zero = no lower bound (inclusive)
	Until    time.Time // zero = no upper bound (exclusive)
	BeforeID int64     // keyset pagination: rows with ID < BeforeID; 0 = from the newest
	Limit    int       // 0 means 100; at most 10,000
}

// LoginTraits summarises a user's recent logins for the anomaly rules. Every
// list holds distinct, non-empty values in no particular order.
type LoginTraits struct {
	Logins         int      `json:"logins"`          // rows looked at (≤ recent); 0: no earlier login
	Countries      []string `json:"countries"`       // among the recent rows
	IPs            []string `json:"ips"`             // among the recent rows
	Devices        []string `json:"devices"`         // DeviceFamily of the recent rows
	CountriesSince []string `json:"countries_since"` // of the rows created at or after since
}

// MaxLoginTraitsWindowRows bounds the rows LoginTraits reads for CountriesSince.
const MaxLoginTraitsWindowRows = 1000
