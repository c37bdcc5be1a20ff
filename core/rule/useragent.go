package rule

import (
	"strconv"
	"strings"

	"github.com/wardenkit/warden/core/internal/uamatch"
)

// UAMatch is how a BlockedUserAgent pattern is compared with the User-Agent:
// the whole value up to MaxUserAgentLen, every User-Agent line joined with
// ", " as a proxy joins them. All three are case-insensitive (Unicode case
// folding for patterns with non-ASCII letters). A regex is refused at Put
// when it compiles to more than 2,000 instructions, a static bound on what
// one pattern may cost per request.
type UAMatch string

const (
	UAContains UAMatch = "contains" // substring of the User-Agent (default)
	UAExact    UAMatch = "exact"    // the whole User-Agent
	UARegex    UAMatch = "regex"    // RE2, unanchored, at most uamatch.MaxRegexInsts compiled instructions
)

// BlockedUserAgent denies requests whose User-Agent matches Pattern.
type BlockedUserAgent struct {
	Meta
	Pattern     string  `json:"pattern"`
	Match       UAMatch `json:"match,omitempty"`
	Category    string  `json:"category,omitempty"` // bot | scraper | spam | attack | custom
	Description string  `json:"description,omitempty"`
	Disabled    bool    `json:"disabled,omitempty"`
	AutoSynced  bool    `json:"auto_synced,omitempty"`
	HitCount    int64   `json:"hit_count,omitempty"`
	ReportOnly  bool    `json:"report_only,omitempty"`
}

var uaCategories = map[string]bool{"bot": true, "scraper": true, "spam": true, "attack": true, "custom": true}

// Key is the pattern, the natural key a store upserts on.
func (u BlockedUserAgent) Key() string { return u.Pattern }

// IsActive reports whether the rule is enforced (not disabled).
func (u BlockedUserAgent) IsActive() bool { return !u.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (u BlockedUserAgent) Validate() error { return u.normalize() }
func (u *BlockedUserAgent) normalize() error {
	if strings.TrimSpace(u.Pattern) == "" {
		return invalid("BlockedUserAgent", "pattern", u.Pattern, "must not be empty")
	}
	if err := CheckText("BlockedUserAgent", "pattern", u.Pattern, MaxPatternLen); err != nil {
		return err
	}
	switch u.Match {
	case "":
		u.Match = UAContains
	case UAContains, UAExact:
	case UARegex:
		if _, err := uamatch.CheckRegex(u.Pattern); err != nil {
			return invalid("BlockedUserAgent", "pattern", u.Pattern, err.Error())
		}
	default:
		return invalid("BlockedUserAgent", "match", string(u.Match), "must be contains, exact or regex")
	}
	if u.Category == "" {
		u.Category = "bot"
	}
	if !uaCategories[u.Category] {
		return invalid("BlockedUserAgent", "category", u.Category, "must be bot, scraper, spam, attack or custom")
	}
	if u.HitCount < 0 {
		return invalid("BlockedUserAgent", "hit_count", strconv.FormatInt(u.HitCount, 10), "must not be negative")
	}
	return CheckText("BlockedUserAgent", "description", u.Description, MaxDescriptionLen)
}
