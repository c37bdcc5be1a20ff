package admin

import (
	"reflect"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// kindSpec is how one rule kind is listed, filtered, searched and edited:
// the reference's Django admin columns (§9) written as data.
type kindSpec struct {
	Slug     string // in URLs: /rules/{slug}
	Title    string // "Blocked IPs"
	Singular string // "blocked IP"
	Type     string // the Go type, as core's errors name it
	Columns  []column
	Fields   []field
	Filters  []filter
	Search   []string // json fields the search box looks in
	// CreatedBy: the kind has created_by, set to the actor when added.
	CreatedBy bool
	// status is the badge of a row, when the kind has one.
	status func(v reflect.Value, idx map[string][]int, now time.Time) badge
	idx    map[string][]int // json name -> field index
}

// column is one list column: a json field, or "status" for the badge.
type column struct {
	Name, Label string
	Show        string // "", "short" (40 characters), "expires", "toggle"
}

// filter is one list filter: "active", a bool field (yes/no), a choice
// of values, or free text (no options) compared exactly.
type filter struct {
	Name, Label string
	Options     []string
}

type badge struct{ Text, Class string }

var (
	yesNo        = []string{"yes", "no"}
	activeFilter = filter{"active", "Active", yesNo}
	activeField  = field{Name: "disabled", Param: "active", Label: "Active", Type: ftBool, Invert: true}
	reportField  = field{Name: "report_only", Label: "Report only", Type: ftBool, Help: "record WOULD_BLOCK and let the request through"}
	methods      = []string{"ALL", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)

// kindList is every rule kind, in the navigation's order.
var kindList = []kindOps{
	kind[rule.BlockedIP]{table: core.Rules.BlockedIPs, s: &kindSpec{
		Slug: "blocked-ips", Title: "Blocked IPs", Singular: "blocked IP", Type: "BlockedIP",
		Columns: []column{{"network", "Network", ""}, {"disabled", "Active", "toggle"}, {"status", "Status", ""},
			{"auto_blocked", "Auto", ""}, {"country_code", "Country", ""}, {"expires_at", "Expires", "expires"},
			{"block_count", "Blocks", ""}, {"reason", "Reason", "short"}},
		Fields: []field{{Name: "network", Label: "Network", Type: ftText, Key: true, Help: "an address or a CIDR network"},
			{Name: "reason", Label: "Reason", Type: ftTextarea}, {Name: "expires_at", Label: "Expires (UTC)", Type: ftTime, Help: "empty: never"},
			{Name: "country_code", Label: "Country", Type: ftText}, reportField, activeField,
			{Name: "force", Label: "Force", Type: ftBool, Help: "allow a network broader than /8 (IPv4) or /16 (IPv6)"}},
		Filters: []filter{activeFilter, {"auto_blocked", "Auto-blocked", yesNo}, {"report_only", "Report only", yesNo}, {"country_code", "Country", nil}},
		Search:  []string{"network", "reason"},
		status:  blockedIPStatus,
	}},
	kind[rule.WhitelistedIP]{table: core.Rules.WhitelistedIPs, s: &kindSpec{
		Slug: "whitelisted-ips", Title: "Whitelisted IPs", Singular: "whitelisted IP", Type: "WhitelistedIP", CreatedBy: true,
		Columns: []column{{"network", "Network", ""}, {"description", "Description", "short"}, {"disabled", "Active", "toggle"},
			{"created_by", "Created by", ""}, {"created_at", "Created", ""}},
		Fields: []field{{Name: "network", Label: "Network", Type: ftText, Key: true}, {Name: "description", Label: "Description", Type: ftText},
			activeField, {Name: "force", Label: "Force", Type: ftBool, Help: "allow a network broader than /8 (IPv4) or /32 (IPv6)"}},
		Filters: []filter{activeFilter},
		Search:  []string{"network", "description"},
	}},
	kind[rule.BlockedCountry]{table: core.Rules.BlockedCountries, s: &kindSpec{
		Slug: "blocked-countries", Title: "Blocked countries", Singular: "blocked country", Type: "BlockedCountry",
		Columns: []column{{"code", "Code", ""}, {"name", "Name", ""}, {"disabled", "Active", "toggle"}, {"auto_blocked", "Auto", ""},
			{"attack_count", "Attacks", ""}, {"created_at", "Created", ""}},
		Fields: []field{{Name: "code", Label: "Code", Type: ftText, Key: true, Help: "ISO 3166-1 alpha-2"}, {Name: "name", Label: "Name", Type: ftText},
			{Name: "reason", Label: "Reason", Type: ftTextarea}, reportField, activeField},
		Filters: []filter{activeFilter, {"auto_blocked", "Auto-blocked", yesNo}},
		Search:  []string{"code", "name", "reason"},
	}},
	kind[rule.AllowedCountry]{table: core.Rules.AllowedCountries, s: &kindSpec{
		Slug: "allowed-countries", Title: "Allowed countries", Singular: "allowed country", Type: "AllowedCountry",
		Columns: []column{{"code", "Code", ""}, {"name", "Name", ""}, {"disabled", "Active", "toggle"}, {"created_at", "Created", ""}},
		Fields:  []field{{Name: "code", Label: "Code", Type: ftText, Key: true, Help: "ISO 3166-1 alpha-2"}, {Name: "name", Label: "Name", Type: ftText}, activeField},
		Filters: []filter{activeFilter},
		Search:  []string{"code", "name"},
	}},
	kind[rule.BlockedUserAgent]{table: core.Rules.BlockedUserAgents, s: &kindSpec{
		Slug: "blocked-user-agents", Title: "Blocked User-Agents", Singular: "blocked User-Agent", Type: "BlockedUserAgent",
		Columns: []column{{"pattern", "Pattern", "short"}, {"match", "Match", ""}, {"category", "Category", ""}, {"disabled", "Active", "toggle"},
			{"hit_count", "Hits", ""}, {"auto_synced", "Synced", ""}},
		Fields: []field{{Name: "pattern", Label: "Pattern", Type: ftText, Key: true},
			{Name: "match", Label: "Match", Type: ftSelect, Options: []string{"contains", "exact", "regex"}},
			{Name: "category", Label: "Category", Type: ftSelect, Options: []string{"bot", "scraper", "spam", "attack", "custom"}},
			{Name: "description", Label: "Description", Type: ftText}, reportField, activeField},
		Filters: []filter{activeFilter, {"auto_synced", "Synced", yesNo}, {"category", "Category", []string{"bot", "scraper", "spam", "attack", "custom"}},
			{"match", "Match", []string{"contains", "exact", "regex"}}},
		Search: []string{"pattern", "description"},
	}},
	kind[rule.WhitelistedUser]{table: core.Rules.WhitelistedUsers, s: &kindSpec{
		Slug: "whitelisted-users", Title: "Whitelisted users", Singular: "whitelisted user", Type: "WhitelistedUser", CreatedBy: true,
		Columns: []column{{"user_id", "User", ""}, {"exemption", "Exemption", ""}, {"status", "Status", ""}, {"disabled", "Active", "toggle"},
			{"expires_at", "Expires", "expires"}, {"created_at", "Created", ""}},
		Fields: []field{{Name: "user_id", Label: "User ID", Type: ftText, Key: true},
			{Name: "exemption", Label: "Exemption", Type: ftSelect, Options: []string{"all", "ip_block", "geo_block", "rate_limit"}},
			{Name: "reason", Label: "Reason", Type: ftTextarea}, {Name: "expires_at", Label: "Expires (UTC)", Type: ftTime, Help: "empty: never"}, activeField},
		Filters: []filter{activeFilter, {"exemption", "Exemption", []string{"all", "ip_block", "geo_block", "rate_limit"}}},
		Search:  []string{"user_id", "reason"},
		status:  userStatus,
	}},
	kind[rule.BlockedEmail]{table: core.Rules.BlockedEmails, s: &kindSpec{
		Slug: "blocked-emails", Title: "Blocked e-mails", Singular: "blocked e-mail", Type: "BlockedEmail",
		Columns: []column{{"status", "", ""}, {"email", "E-mail", ""}, {"disabled", "Active", "toggle"}, {"auto_blocked", "Auto", ""},
			{"reason", "Reason", "short"}, {"created_at", "Created", ""}},
		Fields:  []field{{Name: "email", Label: "E-mail", Type: ftText, Key: true}, {Name: "reason", Label: "Reason", Type: ftTextarea}, reportField, activeField},
		Filters: []filter{activeFilter, {"auto_blocked", "Auto-blocked", yesNo}},
		Search:  []string{"email", "reason"},
		status:  emailStatus,
	}},
	kind[rule.BlockedDomain]{table: core.Rules.BlockedDomains, s: &kindSpec{
		Slug: "blocked-domains", Title: "Blocked domains", Singular: "blocked domain", Type: "BlockedDomain",
		Columns: []column{{"domain", "Domain", ""}, {"type", "Type", ""}, {"disabled", "Active", "toggle"}, {"auto_synced", "Synced", ""},
			{"created_at", "Created", ""}},
		Fields: []field{{Name: "domain", Label: "Domain", Type: ftText, Key: true, Help: "its sub-domains are blocked too"},
			{Name: "type", Label: "Type", Type: ftSelect, Options: []string{"disposable", "spam", "competitor", "custom"}},
			{Name: "reason", Label: "Reason", Type: ftTextarea}, reportField, activeField},
		Filters: []filter{activeFilter, {"auto_synced", "Synced", yesNo}, {"type", "Type", []string{"disposable", "spam", "competitor", "custom"}}},
		Search:  []string{"domain", "reason"},
	}},
	kind[rule.RateLimitRule]{table: core.Rules.RateLimitRules, s: &kindSpec{
		Slug: "rate-limits", Title: "Rate limits", Singular: "rate-limit rule", Type: "RateLimitRule",
		Columns: []column{{"name", "Name", ""}, {"path_pattern", "Path", ""}, {"method", "Method", ""}, {"rate", "Rate", ""},
			{"key_by", "Key", ""}, {"disabled", "Active", "toggle"}, {"hit_count", "Hits", ""}},
		Fields: []field{{Name: "name", Label: "Name", Type: ftText}, {Name: "path_pattern", Label: "Path", Type: ftText, Key: true, Help: `an exact path, or a prefix ending in "*"`},
			{Name: "method", Label: "Method", Type: ftSelect, Options: methods, Key: true},
			{Name: "rate", Label: "Rate", Type: ftText, Help: "N/s, N/m, N/h or N/d"}, {Name: "burst", Label: "Burst", Type: ftInt, Help: "0: N"},
			{Name: "key_by", Label: "Key by", Type: ftText, Help: "ip, user, user_or_ip or header:NAME"}, reportField, activeField},
		Filters: []filter{activeFilter, {"method", "Method", methods}, {"rate", "Rate", nil}},
		Search:  []string{"name", "path_pattern"},
	}},
}

// kindBySlug finds a kind by its URL name.
func kindBySlug(slug string) (kindOps, bool) {
	for _, k := range kindList {
		if k.spec().Slug == slug {
			return k, true
		}
	}
	return nil, false
}

func init() {
	for _, k := range kindList {
		s := k.spec()
		s.idx = jsonIndex(k.blank().v.Type())
	}
}

func fieldOf(v reflect.Value, idx map[string][]int, name string) reflect.Value {
	return v.FieldByIndex(idx[name])
}

// blockedIPStatus is the reference's badge: Expired, else Auto (even when
// inactive), else Blocked, else Inactive.
func blockedIPStatus(v reflect.Value, idx map[string][]int, now time.Time) badge {
	exp := fieldOf(v, idx, "expires_at").Interface().(time.Time)
	switch {
	case !exp.IsZero() && now.After(exp):
		return badge{"Expired", "b-orange"}
	case fieldOf(v, idx, "auto_blocked").Bool():
		return badge{"Auto", "b-purple"}
	case !fieldOf(v, idx, "disabled").Bool():
		return badge{"Blocked", "b-red"}
	}
	return badge{"Inactive", "b-grey"}
}

func userStatus(v reflect.Value, idx map[string][]int, now time.Time) badge {
	exp := fieldOf(v, idx, "expires_at").Interface().(time.Time)
	switch {
	case fieldOf(v, idx, "disabled").Bool():
		return badge{"Inactive", "b-red"}
	case !exp.IsZero() && now.After(exp):
		return badge{"Expired", "b-orange"}
	}
	return badge{"Active", "b-green"}
}

func emailStatus(v reflect.Value, idx map[string][]int, _ time.Time) badge {
	if fieldOf(v, idx, "auto_blocked").Bool() {
		return badge{"AUTO", "b-red"}
	}
	return badge{"BLOCK", "b-red"}
}
