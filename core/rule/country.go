package rule

import (
	"strconv"
	"strings"
)

// BlockedCountry denies requests from a country (block mode). Disabled rows
// are "flagged for review" records and never block.
type BlockedCountry struct {
	Meta
	Code        string `json:"code"`
	Name        string `json:"name,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	AutoBlocked bool   `json:"auto_blocked,omitempty"`
	AttackCount int64  `json:"attack_count,omitempty"`
	ReportOnly  bool   `json:"report_only,omitempty"`
}

// Key is the country code, the natural key a store upserts on.
func (c BlockedCountry) Key() string { return c.Code }

// IsActive reports whether the rule is enforced (not disabled).
func (c BlockedCountry) IsActive() bool { return !c.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (c BlockedCountry) Validate() error { return c.normalize() }
func (c *BlockedCountry) normalize() error {
	code, ok := NormalizeCountry(c.Code)
	if !ok {
		return invalid("BlockedCountry", "code", c.Code, "not an ISO 3166-1 alpha-2 code")
	}
	c.Code = code
	if c.Name = strings.TrimSpace(c.Name); c.Name == "" {
		c.Name = code
	}
	if c.AttackCount < 0 {
		return invalid("BlockedCountry", "attack_count", strconv.FormatInt(c.AttackCount, 10), "must not be negative")
	}
	if err := CheckText("BlockedCountry", "name", c.Name, MaxNameLen); err != nil {
		return err
	}
	return CheckText("BlockedCountry", "reason", c.Reason, MaxReasonLen)
}

// AllowedCountry is one entry of the country allow-list, which applies only
// when Settings.CountryAllowListMode is on.
type AllowedCountry struct {
	Meta
	Code     string `json:"code"`
	Name     string `json:"name,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

// Key is the country code, the natural key a store upserts on.
func (c AllowedCountry) Key() string { return c.Code }

// IsActive reports whether the rule is enforced (not disabled).
func (c AllowedCountry) IsActive() bool { return !c.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (c AllowedCountry) Validate() error { return c.normalize() }
func (c *AllowedCountry) normalize() error {
	code, ok := NormalizeCountry(c.Code)
	if !ok {
		return invalid("AllowedCountry", "code", c.Code, "not an ISO 3166-1 alpha-2 code")
	}
	c.Code = code
	if c.Name = strings.TrimSpace(c.Name); c.Name == "" {
		c.Name = code
	}
	return CheckText("AllowedCountry", "name", c.Name, MaxNameLen)
}

// iso3166 holds every officially assigned ISO 3166-1 alpha-2 code, plus XK
// (Kosovo), which GeoIP databases use.
const iso3166 = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK"

var countryCodes = func() map[string]bool {
	m := make(map[string]bool, 260)
	for _, c := range strings.Fields(iso3166) {
		m[c] = true
	}
	return m
}()

// NormalizeCountry trims and upper-cases code and reports whether it is an
// assigned ISO 3166-1 alpha-2 code.
func NormalizeCountry(code string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	return c, countryCodes[c]
}
