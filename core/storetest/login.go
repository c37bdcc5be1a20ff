package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// runLogin runs the conformance tests of LockoutStore and LoginHistoryStore.
func runLogin(t *testing.T, newStore func(t *testing.T) core.Store) {
	t.Run("Lockouts", func(t *testing.T) { testLockouts(t, newStore(t)) })
	t.Run("LockoutRelease", func(t *testing.T) { testLockoutRelease(t, newStore(t)) })
	t.Run("LockoutValidate", func(t *testing.T) { testLockoutValidate(t, newStore(t)) })
	t.Run("LoginHistory", func(t *testing.T) { testLoginHistory(t, newStore(t)) })
	t.Run("LoginTraits", func(t *testing.T) { testLoginTraits(t, newStore(t)) })
	t.Run("LoginValidate", func(t *testing.T) { testLoginValidate(t, newStore(t)) })
}

var loginBase = time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)

func testLockouts(t *testing.T, s core.Store) {
	c := ctx(t)
	loc := time.FixedZone("X", -7*3600)
	long := strings.Repeat("é", core.MaxUsernameLen)
	recs := []core.LockoutRecord{
		{Username: "alice", IP: "192.0.2.1", Scope: core.LockoutByUserAndIP, Failures: 5, Limit: 5, LockedAt: loginBase.In(loc), Until: loginBase.Add(15 * time.Minute).In(loc)},
		{IP: "192.0.2.1", Scope: core.LockoutByIP, Failures: 50, Limit: 50, LockedAt: loginBase.Add(time.Minute)},
		{Username: "bob", Scope: core.LockoutByUser, Failures: 5, Limit: 5, LockedAt: loginBase.Add(2 * time.Minute)},
		{Username: long, IP: "2001:db8:1:2::/64", Scope: core.LockoutByUserAndIP, Failures: 6, Limit: 5, LockedAt: loginBase.Add(3 * time.Minute)},
	}
	var ids []int64
	for _, r := range recs {
		got, err := s.AppendLockout(c, r)
		if err != nil {
			t.Fatalf("AppendLockout(%+v): %v", r, err)
		}
		if got.ID == 0 || (len(ids) > 0 && got.ID <= ids[len(ids)-1]) {
			t.Fatalf("AppendLockout IDs not increasing: %d after %v", got.ID, ids)
		}
		ids = append(ids, got.ID)
	}
	all, err := s.Lockouts(c, core.LockoutQuery{})
	if err != nil || len(all) != 4 {
		t.Fatalf("Lockouts = %d rows, %v; want 4", len(all), err)
	}
	if all[0].ID != ids[3] || all[3].ID != ids[0] {
		t.Fatalf("Lockouts not newest first: %v", []int64{all[0].ID, all[1].ID, all[2].ID, all[3].ID})
	}
	first := all[3]
	if first.Username != "alice" || first.IP != "192.0.2.1" || first.Scope != core.LockoutByUserAndIP || first.Failures != 5 || first.Limit != 5 {
		t.Fatalf("fields not kept: %+v", first)
	}
	if !first.LockedAt.Equal(loginBase) || first.LockedAt.Location() != time.UTC || !first.Until.Equal(loginBase.Add(15*time.Minute)) || first.Until.Location() != time.UTC {
		t.Fatalf("times not kept in UTC: locked %v until %v", first.LockedAt, first.Until)
	}
	if !all[1].Until.IsZero() || !all[1].ReleasedAt.IsZero() {
		t.Fatalf("zero times not kept zero: %+v", all[1])
	}
	if all[0].Username != long || all[0].IP != "2001:db8:1:2::/64" {
		t.Fatalf("150-rune username or IPv6 network not kept: %q %q", all[0].Username, all[0].IP)
	}
	byUser, _ := s.Lockouts(c, core.LockoutQuery{Username: "alice"})
	byIP, _ := s.Lockouts(c, core.LockoutQuery{IP: "192.0.2.1"})
	if len(byUser) != 1 || len(byIP) != 2 || byIP[0].Scope != core.LockoutByIP {
		t.Fatalf("filters: by user %d rows, by ip %d rows (%+v); want 1 and 2", len(byUser), len(byIP), byIP)
	}
	page, _ := s.Lockouts(c, core.LockoutQuery{Limit: 2})
	next, _ := s.Lockouts(c, core.LockoutQuery{Limit: 2, BeforeID: page[1].ID})
	if len(page) != 2 || len(next) != 2 || next[0].ID != ids[1] {
		t.Fatalf("pages: %+v then %+v", page, next)
	}
	n, err := s.DeleteLockoutsBefore(c, loginBase.Add(2*time.Minute), 1)
	if err != nil || n != 1 {
		t.Fatalf("DeleteLockoutsBefore batch 1 = %d, %v; want 1", n, err)
	}
	n, _ = s.DeleteLockoutsBefore(c, loginBase.Add(2*time.Minute), 0)
	if n != 1 {
		t.Fatalf("second DeleteLockoutsBefore = %d, want 1", n)
	}
	if left, _ := s.Lockouts(c, core.LockoutQuery{}); len(left) != 2 {
		t.Fatalf("left %d records, want 2", len(left))
	}
	v0, _ := s.Version(c)
	if _, err := s.AppendLockout(c, recs[0]); err != nil {
		t.Fatal(err)
	}
	if v1, _ := s.Version(c); v1 != v0 {
		t.Fatalf("AppendLockout bumped the version (%d -> %d)", v0, v1)
	}
}

func testLockoutRelease(t *testing.T, s core.Store) {
	c := ctx(t)
	var ids []int64
	for i := range 3 {
		r, err := s.AppendLockout(c, core.LockoutRecord{Username: "carol", IP: fmt.Sprintf("198.51.100.%d", i+1), Scope: core.LockoutByUserAndIP,
			Failures: 5, Limit: 5, LockedAt: loginBase.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	at := loginBase.Add(time.Hour).In(time.FixedZone("Y", 3600))
	v0, err := s.Version(c)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.ReleaseLockouts(c, []int64{ids[0], ids[2], 999_999}, at, "admin")
	if err != nil || n != 2 {
		t.Fatalf("ReleaseLockouts = %d, %v; want 2", n, err)
	}
	if v1, err := s.Version(c); err != nil || v1 <= v0 {
		t.Fatalf("version after a release = %d, %v; want above %d (other engines must learn of the unlock)", v1, err, v0)
	}
	since, _ := s.Lockouts(c, core.LockoutQuery{ReleasedSince: at})
	if len(since) != 2 {
		t.Fatalf("ReleasedSince = %d rows, want the 2 released", len(since))
	}
	if later, _ := s.Lockouts(c, core.LockoutQuery{ReleasedSince: at.Add(time.Second)}); len(later) != 0 {
		t.Fatalf("ReleasedSince after the release = %d rows, want 0", len(later))
	}
	n, err = s.ReleaseLockouts(c, ids, at.Add(time.Minute), "other")
	if err != nil || n != 1 {
		t.Fatalf("second ReleaseLockouts = %d, %v; want 1 (only the unreleased row)", n, err)
	}
	open, _ := s.Lockouts(c, core.LockoutQuery{Unreleased: true})
	if len(open) != 0 {
		t.Fatalf("unreleased = %+v, want none", open)
	}
	all, _ := s.Lockouts(c, core.LockoutQuery{Username: "carol"})
	if len(all) != 3 {
		t.Fatalf("all = %d rows", len(all))
	}
	got := all[2] // ids[0]
	if got.ID != ids[0] || !got.ReleasedAt.Equal(at) || got.ReleasedAt.Location() != time.UTC || got.ReleasedBy != "admin" {
		t.Fatalf("released row = %+v; want released at %v by admin (a second release must not overwrite)", got, at.UTC())
	}
	if all[1].ReleasedBy != "other" {
		t.Fatalf("row %d released by %q, want other", all[1].ID, all[1].ReleasedBy)
	}
	if n, err := s.ReleaseLockouts(c, nil, at, ""); err != nil || n != 0 {
		t.Fatalf("ReleaseLockouts(no ids) = %d, %v", n, err)
	}
}

func testLockoutValidate(t *testing.T, s core.Store) {
	c := ctx(t)
	bad := map[string]core.LockoutRecord{
		"no_scope":        {Username: "a", LockedAt: loginBase},
		"unknown_scope":   {Username: "a", Scope: "x", LockedAt: loginBase},
		"no_locked_at":    {Username: "a", IP: "192.0.2.1", Scope: core.LockoutByUserAndIP},
		"nul_username":    {Username: "a\x00b", IP: "192.0.2.1", Scope: core.LockoutByUserAndIP, LockedAt: loginBase},
		"bad_utf8":        {Username: "a\xffb", IP: "192.0.2.1", Scope: core.LockoutByUserAndIP, LockedAt: loginBase},
		"username_151":    {Username: strings.Repeat("a", 151), IP: "192.0.2.1", Scope: core.LockoutByUserAndIP, LockedAt: loginBase},
		"ip_scope_user":   {Username: "a", IP: "192.0.2.1", Scope: core.LockoutByIP, LockedAt: loginBase},
		"negative_counts": {Username: "a", IP: "192.0.2.1", Scope: core.LockoutByUserAndIP, Failures: -1, LockedAt: loginBase},
	}
	for name, r := range bad {
		if _, err := s.AppendLockout(c, r); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: AppendLockout = %v, want ErrInvalid", name, err)
		}
	}
	if l, _ := s.Lockouts(c, core.LockoutQuery{}); len(l) != 0 {
		t.Fatalf("refused records were stored: %+v", l)
	}
}

func login(user, ip, country, browser, os string, at time.Time) core.LoginRecord {
	return core.LoginRecord{CreatedAt: at, UserID: user, IP: ip, CountryCode: country, UserAgent: "ua " + browser,
		Device: "desktop", Browser: browser, OS: os}
}

func testLoginHistory(t *testing.T, s core.Store) {
	c := ctx(t)
	loc := time.FixedZone("Z", 9*3600)
	r := core.LoginRecord{CreatedAt: loginBase.In(loc), UserID: "u1", IP: "2001:db8::1", CountryCode: "FR",
		UserAgent: strings.Repeat("x", core.MaxLoginUserAgentLen), Device: "mobile", Browser: "Firefox", OS: "Android",
		Suspicious: true, Reasons: strings.Repeat("r", core.MaxLoginReasonsLen), SessionKey: "sess"}
	got, err := s.AppendLogin(c, r)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 {
		t.Fatal("no ID")
	}
	for i := 1; i <= 5; i++ {
		if _, err := s.AppendLogin(c, login("u1", "192.0.2.1", "DE", "Chrome", "Linux", loginBase.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	// Older than the first, appended last: ordering is by time, not by ID.
	if _, err := s.AppendLogin(c, login("u1", "192.0.2.9", "", "", "", loginBase.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendLogin(c, login("u2", "192.0.2.1", "US", "Safari", "macOS", loginBase)); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Logins(c, core.LoginQuery{UserID: "u1", Limit: 100})
	if err != nil || len(rows) != 7 {
		t.Fatalf("Logins(u1) = %d rows, %v; want 7", len(rows), err)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].CreatedAt.After(rows[i-1].CreatedAt) {
			t.Fatalf("not newest first at %d: %v after %v", i, rows[i].CreatedAt, rows[i-1].CreatedAt)
		}
	}
	if rows[6].IP != "192.0.2.9" {
		t.Fatalf("oldest row = %+v, want the one created an hour before", rows[6])
	}
	kept := rows[5]
	if kept.ID != got.ID || kept.IP != r.IP || kept.CountryCode != "FR" || kept.UserAgent != r.UserAgent || kept.Device != "mobile" ||
		kept.Browser != "Firefox" || kept.OS != "Android" || !kept.Suspicious || kept.Reasons != r.Reasons || kept.SessionKey != "sess" {
		t.Fatalf("fields not kept: %+v", kept)
	}
	if !kept.CreatedAt.Equal(loginBase) || kept.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want %v in UTC", kept.CreatedAt, loginBase)
	}
	lim, _ := s.Logins(c, core.LoginQuery{UserID: "u1", Limit: 2})
	if len(lim) != 2 || lim[0].CreatedAt != loginBase.Add(5*time.Minute) {
		t.Fatalf("Limit 2 = %+v", lim)
	}
	win, _ := s.Logins(c, core.LoginQuery{UserID: "u1", Since: loginBase.Add(2 * time.Minute), Until: loginBase.Add(4 * time.Minute)})
	if len(win) != 2 {
		t.Fatalf("window [2m,4m) = %d rows, want 2", len(win))
	}
	byIP, _ := s.Logins(c, core.LoginQuery{IP: "192.0.2.1"})
	if len(byIP) != 6 {
		t.Fatalf("by IP = %d rows, want 6", len(byIP))
	}
	n, err := s.DeleteLoginsBefore(c, loginBase.Add(3*time.Minute), 2)
	if err != nil || n != 2 {
		t.Fatalf("DeleteLoginsBefore batch 2 = %d, %v", n, err)
	}
	n, _ = s.DeleteLoginsBefore(c, loginBase.Add(3*time.Minute), 0)
	if n != 3 {
		t.Fatalf("second DeleteLoginsBefore = %d, want 3", n)
	}
	if left, _ := s.Logins(c, core.LoginQuery{Limit: 100}); len(left) != 3 {
		t.Fatalf("left %d rows, want 3", len(left))
	}
}

func testLoginTraits(t *testing.T, s core.Store) {
	c := ctx(t)
	tr, err := s.LoginTraits(c, "nobody", 10, loginBase)
	if err != nil || tr.Logins != 0 || len(tr.Countries)+len(tr.IPs)+len(tr.Devices)+len(tr.CountriesSince) != 0 {
		t.Fatalf("traits of a user without logins = %+v, %v", tr, err)
	}
	// Oldest to newest: FR, "" (unknown), DE, US, US. The window starts at
	// the third row.
	rows := []core.LoginRecord{
		login("u", "192.0.2.1", "FR", "Firefox", "Linux", loginBase),
		login("u", "192.0.2.2", "", "", "", loginBase.Add(time.Hour)),
		login("u", "192.0.2.3", "DE", "Chrome", "Windows", loginBase.Add(2*time.Hour)),
		login("u", "192.0.2.3", "US", "Chrome", "Windows", loginBase.Add(3*time.Hour)),
		login("u", "192.0.2.4", "US", "Safari", "iOS", loginBase.Add(4*time.Hour)),
		login("other", "203.0.113.1", "CN", "Edge", "Windows", loginBase.Add(4*time.Hour)),
	}
	for _, r := range rows {
		if _, err := s.AppendLogin(c, r); err != nil {
			t.Fatal(err)
		}
	}
	sorted := func(l []string) []string { l = slices.Clone(l); slices.Sort(l); return l }
	tr, err = s.LoginTraits(c, "u", 3, loginBase.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Logins != 3 {
		t.Fatalf("Logins = %d, want 3 (recent bounds it)", tr.Logins)
	}
	if got := sorted(tr.Countries); !slices.Equal(got, []string{"DE", "US"}) {
		t.Fatalf("Countries of the 3 newest = %v, want [DE US]", got)
	}
	if got := sorted(tr.IPs); !slices.Equal(got, []string{"192.0.2.3", "192.0.2.4"}) {
		t.Fatalf("IPs of the 3 newest = %v", got)
	}
	if got := sorted(tr.Devices); !slices.Equal(got, []string{"Chrome/Windows", "Safari/iOS"}) {
		t.Fatalf("Devices of the 3 newest = %v", got)
	}
	if got := sorted(tr.CountriesSince); !slices.Equal(got, []string{"DE", "US"}) {
		t.Fatalf("CountriesSince = %v, want [DE US]", got)
	}
	tr, _ = s.LoginTraits(c, "u", 100, loginBase.Add(-time.Hour))
	if tr.Logins != 5 || !slices.Equal(sorted(tr.Countries), []string{"DE", "FR", "US"}) ||
		!slices.Equal(sorted(tr.CountriesSince), []string{"DE", "FR", "US"}) || len(tr.Devices) != 3 {
		t.Fatalf("all rows: %+v; want 5 logins, countries DE FR US (no empty value), 3 devices", tr)
	}
}

func testLoginValidate(t *testing.T, s core.Store) {
	c := ctx(t)
	ok := login("u", "192.0.2.1", "FR", "Chrome", "Linux", loginBase)
	bad := map[string]func(*core.LoginRecord){
		"no_user":       func(r *core.LoginRecord) { r.UserID = "" },
		"no_time":       func(r *core.LoginRecord) { r.CreatedAt = time.Time{} },
		"nul_ua":        func(r *core.LoginRecord) { r.UserAgent = "a\x00b" },
		"bad_utf8":      func(r *core.LoginRecord) { r.Browser = "\xff" },
		"long_reasons":  func(r *core.LoginRecord) { r.Reasons = strings.Repeat("r", core.MaxLoginReasonsLen+1) },
		"long_ua":       func(r *core.LoginRecord) { r.UserAgent = strings.Repeat("u", core.MaxLoginUserAgentLen+1) },
		"country_3":     func(r *core.LoginRecord) { r.CountryCode = "FRA" },
		"long_session":  func(r *core.LoginRecord) { r.SessionKey = strings.Repeat("s", core.MaxSessionKeyLen+1) },
		"user_id_151":   func(r *core.LoginRecord) { r.UserID = strings.Repeat("1", rule.MaxUserIDLen+1) },
		"ip_too_long":   func(r *core.LoginRecord) { r.IP = strings.Repeat("1", core.MaxLoginIPLen+1) },
		"blank_user_id": func(r *core.LoginRecord) { r.UserID = "   " },
	}
	for name, f := range bad {
		r := ok
		f(&r)
		if _, err := s.AppendLogin(c, r); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: AppendLogin = %v, want ErrInvalid", name, err)
		}
		if _, err := s.AppendLogin(c, r.Clean()); err == nil && (name == "no_user" || name == "no_time" || name == "blank_user_id") {
			t.Errorf("%s: Clean made an unstorable record storable", name)
		}
	}
	var n int
	if l, _ := s.Logins(c, core.LoginQuery{Limit: 1000}); len(l) > 0 {
		n = len(l)
	}
	// Only the cleaned versions of fixable records were stored.
	if n != len(bad)-3 {
		t.Fatalf("stored %d rows, want %d (the cleaned fixable ones)", n, len(bad)-3)
	}
}
