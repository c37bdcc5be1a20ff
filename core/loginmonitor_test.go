package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

var monitorGeo = fakeGeo{
	netip.MustParsePrefix("1.0.0.0/8"):     "CN",
	netip.MustParsePrefix("2.0.0.0/8"):     "RU",
	netip.MustParsePrefix("3.0.0.0/8"):     "US",
	netip.MustParsePrefix("4.0.0.0/8"):     "DE",
	netip.MustParsePrefix("5.0.0.0/8"):     "FR",
	netip.MustParsePrefix("2001:db8::/32"): "FR",
}

const (
	chromeLinux    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
	firefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	safariIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

type monitorEnv struct {
	*env
	m *core.LoginMonitor
}

func newMonitorEnv(t *testing.T, opts ...core.Option) *monitorEnv {
	e := newEnv(t, append([]core.Option{core.WithCountryLookup(monitorGeo)}, opts...)...)
	return &monitorEnv{env: e, m: e.eng.LoginMonitor()}
}

// sync waits until the monitor's queued login records are stored.
func (e *monitorEnv) sync() {
	e.t.Helper()
	if !core.SyncLoginHistory(e.m) {
		e.t.Fatal("login records still queued after 10 s")
	}
}

// login observes a login and returns the row it stored.
func (e *monitorEnv) login(user, ip, ua string) core.LoginRecord {
	e.t.Helper()
	v, err := e.m.Observe(e.ctx(), core.Login{UserID: user, IP: netip.MustParseAddr(ip), UserAgent: ua})
	if err != nil || v != core.LoginAllow {
		e.t.Fatalf("Observe = %v, %v", v, err)
	}
	e.sync()
	rows, err := e.store.Logins(e.ctx(), core.LoginQuery{UserID: user, Limit: 1})
	if err != nil || len(rows) != 1 {
		e.t.Fatalf("no login row stored: %v", err)
	}
	return rows[0]
}

func TestLoginMonitorNewCountry(t *testing.T) {
	e := newMonitorEnv(t)
	first := e.login("u1", "1.1.1.1", chromeLinux)
	if first.Suspicious || first.Reasons != "" {
		t.Fatalf("first login flagged: %+v (reference §12.3.12)", first)
	}
	if first.CountryCode != "CN" || first.IP != "1.1.1.1" || first.Device != "desktop" || first.Browser != "Chrome" || first.OS != "Linux" || first.UserAgent != chromeLinux {
		t.Fatalf("row = %+v", first)
	}
	e.clock.Add(time.Hour)
	if r := e.login("u1", "1.9.9.9", chromeLinux); r.Suspicious {
		t.Fatalf("known country flagged: %+v", r)
	}
	e.clock.Add(time.Hour)
	r := e.login("u1", "2.2.2.2", chromeLinux)
	if !r.Suspicious || r.Reasons != "New country: RU" {
		t.Fatalf("new country: %+v", r)
	}
	// Another user's history does not count.
	if r := e.login("u2", "2.2.2.2", chromeLinux); r.Suspicious {
		t.Fatalf("u2's first login flagged: %+v", r)
	}
	// Unknown country (no GeoIP answer) is never "new".
	e.clock.Add(time.Hour)
	if r := e.login("u1", "9.9.9.9", chromeLinux); r.Suspicious || r.CountryCode != "" {
		t.Fatalf("unknown country: %+v", r)
	}
	evs := e.events()
	var sus []core.Event
	for _, ev := range evs {
		if ev.Action == core.ActionSuspiciousLogin {
			sus = append(sus, ev)
		}
	}
	if len(sus) != 1 || sus[0].Severity != core.SeverityHigh || sus[0].IP != "2.2.2.2" || sus[0].CountryCode != "RU" ||
		sus[0].Details != "New country: RU" || sus[0].Method != http.MethodPost {
		t.Fatalf("SUSPICIOUS_LOGIN events = %+v", sus)
	}
	if st := e.m.Stats(); st.Observed != 5 || st.Suspicious != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestLoginMonitorNewIPAndDevice(t *testing.T) {
	e := newMonitorEnv(t)
	e.settings(func(s *core.Settings) { s.AlertOnNewIP = true; s.AlertOnNewCountry = false })
	if r := e.login("u", "3.1.1.1", chromeLinux); r.Suspicious {
		t.Fatalf("first login: %+v", r)
	}
	cases := []struct {
		name, ip, ua, want string
	}{
		{"same_ip_same_device", "3.1.1.1", chromeLinux, ""},
		{"new_ip", "3.1.1.2", chromeLinux, "New IP: 3.1.1.2"},
		{"new_device", "3.1.1.1", firefoxWindows, "New device: Firefox/Windows"},
		{"both", "3.1.1.3", safariIPhone, "New IP: 3.1.1.3; New device: Safari/iOS"},
		{"known_again", "3.1.1.2", firefoxWindows, ""},
		{"ipv6_first_in_its_64", "2001:db8:1:2::10", chromeLinux, "New IP: 2001:db8:1:2::10"},
		{"ipv6_privacy_address_same_64", "2001:db8:1:2:abcd::99", chromeLinux, ""},
		{"unknown_device_not_new", "3.1.1.1", "", ""},
		{"unparsable_ua_not_new", "3.1.1.1", "curl-like-thing/1.0", ""},
	}
	for _, c := range cases {
		e.clock.Add(time.Minute)
		if r := e.login("u", c.ip, c.ua); r.Reasons != c.want || r.Suspicious != (c.want != "") {
			t.Errorf("%s: reasons %q, want %q", c.name, r.Reasons, c.want)
		}
	}

	t.Run("new_device_rule_off", func(t *testing.T) {
		e := newMonitorEnv(t, core.WithNewDeviceAlert(false))
		e.login("u", "3.1.1.1", chromeLinux)
		if r := e.login("u", "3.1.1.1", safariIPhone); r.Suspicious {
			t.Fatalf("new device flagged with the rule off: %+v", r)
		}
	})
}

func TestLoginMonitorCountriesInRolling24h(t *testing.T) {
	e := newMonitorEnv(t)
	e.settings(func(s *core.Settings) { s.AlertOnNewCountry = false; s.MaxCountriesPerDay = 3 })
	steps := []struct {
		after time.Duration
		ip    string
		want  string
	}{
		{0, "1.1.1.1", ""},                                                 // CN
		{time.Hour, "10.0.0.1", ""},                                        // internal, no country: not counted
		{time.Hour, "2.2.2.2", ""},                                         // RU
		{time.Hour, "3.3.3.3", ""},                                         // US: 3 countries, not more than 3
		{time.Hour, "2.2.2.3", ""},                                         // RU again: still 3
		{time.Hour, "4.4.4.4", "Countries in 24 h: 4"},                     // DE: the 4th, this login included
		{20*time.Hour + 30*time.Minute, "5.5.5.5", "Countries in 24 h: 4"}, // +24h30m: CN left; RU US DE + FR
		{4 * time.Hour, "5.5.5.6", ""},                                     // +29h30m: only FR (at +25h30m) is left
	}
	for i, s := range steps {
		e.clock.Add(s.after)
		if r := e.login("u", s.ip, chromeLinux); r.Reasons != s.want {
			t.Fatalf("step %d (%s): reasons %q, want %q", i, s.ip, r.Reasons, s.want)
		}
	}

	t.Run("across_midnight", func(t *testing.T) {
		// The reference counted calendar days; a rolling window does not
		// reset at midnight.
		e := newMonitorEnv(t)
		e.settings(func(s *core.Settings) { s.AlertOnNewCountry = false; s.MaxCountriesPerDay = 1 })
		e.clock.Add(11*time.Hour + 30*time.Minute) // 23:30
		e.login("u", "1.1.1.1", chromeLinux)
		e.clock.Add(time.Hour) // 00:30 the next day
		if r := e.login("u", "2.2.2.2", chromeLinux); r.Reasons != "Countries in 24 h: 2" {
			t.Fatalf("reasons %q", r.Reasons)
		}
	})
	t.Run("first_login_alone_is_not_too_many", func(t *testing.T) {
		e := newMonitorEnv(t)
		e.settings(func(s *core.Settings) { s.MaxCountriesPerDay = 1 })
		if r := e.login("u", "1.1.1.1", chromeLinux); r.Suspicious {
			t.Fatalf("%+v", r)
		}
	})
}

func TestLoginMonitorHook(t *testing.T) {
	var seen []core.LoginInfo
	hook := core.WithLoginHook(func(_ context.Context, info core.LoginInfo) (core.LoginVerdict, error) {
		seen = append(seen, info)
		switch {
		case info.UserID == "banned":
			return core.LoginRefuse, nil
		case info.UserID == "broken":
			return core.LoginAllow, errors.New("hook down")
		case info.Suspicious:
			return core.LoginRequireSecondFactor, nil
		}
		return core.LoginAllow, nil
	})
	e := newMonitorEnv(t, hook)
	obs := func(user, ip string) (core.LoginVerdict, error) {
		return e.m.Observe(e.ctx(), core.Login{UserID: user, Username: "Name-" + user, IP: netip.MustParseAddr(ip), UserAgent: firefoxWindows, SessionKey: "s-" + user})
	}
	if v, err := obs("u", "1.1.1.1"); v != core.LoginAllow || err != nil {
		t.Fatalf("first login: %v, %v", v, err)
	}
	e.clock.Add(time.Minute)
	if v, err := obs("u", "2.2.2.2"); v != core.LoginRequireSecondFactor || err != nil {
		t.Fatalf("suspicious login: %v, %v; want a second factor", v, err)
	}
	info := seen[1]
	if info.UserID != "u" || info.Username != "name-u" || info.IP != netip.MustParseAddr("2.2.2.2") || info.Country != "RU" ||
		info.Browser != "Firefox" || info.OS != "Windows" || info.Device != "desktop" || info.FirstLogin || !info.Suspicious ||
		!slices.Equal(info.Reasons, []string{"New country: RU"}) || !info.Time.Equal(e.clock.Now()) {
		t.Fatalf("LoginInfo = %+v", info)
	}
	if !seen[0].FirstLogin {
		t.Fatal("first login not marked FirstLogin")
	}
	if v, err := obs("banned", "1.1.1.1"); v != core.LoginRefuse || err != nil {
		t.Fatalf("refused: %v, %v", v, err)
	}
	if v, err := obs("broken", "1.1.1.1"); v != core.LoginRefuse || err == nil {
		t.Fatalf("hook error: %v, %v; want refuse and the error", v, err)
	}
	e.sync()
	rows, _ := e.store.Logins(e.ctx(), core.LoginQuery{Limit: 100})
	var users []string
	for _, r := range rows {
		users = append(users, r.UserID+"/"+r.SessionKey)
	}
	if want := []string{"u/s-u", "u/s-u"}; !slices.Equal(users, want) {
		t.Fatalf("rows %v, want %v (refused logins are not logins)", users, want)
	}
	if st := e.m.Stats(); st.Refused != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLoginMonitorHistoryDisabled(t *testing.T) {
	called := 0
	e := newMonitorEnv(t, core.WithLoginHook(func(_ context.Context, info core.LoginInfo) (core.LoginVerdict, error) {
		called++
		if info.Suspicious || !info.FirstLogin {
			t.Errorf("info with history off: %+v", info)
		}
		return core.LoginAllow, nil
	}))
	e.settings(func(s *core.Settings) { s.LoginHistoryEnabled = false })
	for _, ip := range []string{"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"} {
		if _, err := e.m.Observe(e.ctx(), core.Login{UserID: "u", IP: netip.MustParseAddr(ip)}); err != nil {
			t.Fatal(err)
		}
	}
	e.sync()
	if rows, _ := e.store.Logins(e.ctx(), core.LoginQuery{}); len(rows) != 0 {
		t.Fatalf("history off, rows stored: %d", len(rows))
	}
	if called != 5 {
		t.Fatalf("hook called %d times, want 5", called)
	}
	if n := countEvents(e.events(), core.ActionSuspiciousLogin); n != 0 {
		t.Fatalf("%d SUSPICIOUS_LOGIN events with history off", n)
	}
}

// traitsDown is a store whose login history reads and writes fail.
type traitsDown struct{ *memstore.Store }

func (traitsDown) LoginTraits(context.Context, string, int, time.Time) (core.LoginTraits, error) {
	return core.LoginTraits{}, errors.New("history down")
}

func (traitsDown) AppendLogin(context.Context, core.LoginRecord) (core.LoginRecord, error) {
	return core.LoginRecord{}, errors.New("history down")
}

func TestLoginMonitorStoreDown(t *testing.T) {
	eng, err := core.New(traitsDown{memstore.New()}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	v, err := eng.LoginMonitor().Observe(context.Background(), core.Login{UserID: "u", IP: netip.MustParseAddr("1.1.1.1")})
	if v != core.LoginAllow || err != nil {
		t.Fatalf("Observe with the history store down = %v, %v; a login must not fail for it", v, err)
	}
	core.SyncLoginHistory(eng.LoginMonitor())
	if st := eng.LoginMonitor().Stats(); st.StoreErrors != 2 {
		t.Fatalf("stats %+v; want the read and the write counted", st)
	}
}

func TestLoginMonitorInput(t *testing.T) {
	e := newMonitorEnv(t, core.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	r := httptest.NewRequest(http.MethodPost, "http://example.com/login", nil)
	r.RemoteAddr = "10.1.1.1:1234"
	r.Header.Set("X-Forwarded-For", "5.5.5.5")
	r.Header.Set("User-Agent", safariIPhone)
	if _, err := e.m.Observe(e.ctx(), core.Login{UserID: "u", HTTP: r}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	rows, _ := e.store.Logins(e.ctx(), core.LoginQuery{UserID: "u"})
	if len(rows) != 1 || rows[0].IP != "5.5.5.5" || rows[0].CountryCode != "FR" || rows[0].Device != "mobile" || rows[0].OS != "iOS" {
		t.Fatalf("rows = %+v", rows)
	}
	// Bad input is cleaned, never refused.
	huge := strings.Repeat("\xff\x00ua", 10_000)
	if _, err := e.m.Observe(e.ctx(), core.Login{UserID: strings.Repeat("i", 500) + "\x00", UserAgent: huge, SessionKey: strings.Repeat("k", 1000)}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	rows, _ = e.store.Logins(e.ctx(), core.LoginQuery{Limit: 10})
	if len(rows) != 2 || len([]rune(rows[0].UserID)) != rule.MaxUserIDLen || len([]rune(rows[0].UserAgent)) != core.MaxLoginUserAgentLen || rows[0].IP != "" {
		t.Fatalf("cleaned row = %d rows; %+v", len(rows), rows[0])
	}
	// No user ID: nothing to track.
	if v, err := e.m.Observe(e.ctx(), core.Login{IP: netip.MustParseAddr("1.1.1.1")}); v != core.LoginAllow || err != nil {
		t.Fatal(v, err)
	}
	e.sync()
	if rows, _ = e.store.Logins(e.ctx(), core.LoginQuery{Limit: 10}); len(rows) != 2 {
		t.Fatalf("a login without user ID was stored")
	}
}

// Lockout.Succeed feeds the monitor, whitelisted or not.
func TestLockoutSucceedFeedsMonitor(t *testing.T) {
	e := newLoginEnv(t, core.WithCountryLookup(monitorGeo), core.WithLoginHook(func(_ context.Context, info core.LoginInfo) (core.LoginVerdict, error) {
		if info.Suspicious {
			return core.LoginRequireSecondFactor, nil
		}
		return core.LoginAllow, nil
	}))
	r := httptest.NewRequest(http.MethodPost, "http://example.com/login", nil)
	r.RemoteAddr = "1.2.3.4:999"
	r.Header.Set("User-Agent", chromeLinux)
	tk, err := e.lo.Begin(e.ctx(), core.Attempt{Username: "Alice", HTTP: r})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.lo.Succeed(e.ctx(), tk, core.Success{UserID: "7", SessionKey: "abc"}); v != core.LoginAllow || err != nil {
		t.Fatalf("Succeed = %v, %v", v, err)
	}
	put(e.env, e.eng.Rules().WhitelistedIPs(), rule.WhitelistedIP{Network: "2.0.0.0/8"})
	tk = e.begin("alice", "2.3.4.5")
	if !tk.Bypassed() {
		t.Fatal("not bypassed")
	}
	if v, _ := e.lo.Succeed(e.ctx(), tk, core.Success{UserID: "7"}); v != core.LoginRequireSecondFactor {
		t.Fatalf("new country through a whitelisted IP: %v; whitelisting has no influence on login tracking", v)
	}
	core.SyncLoginHistory(e.eng.LoginMonitor())
	rows, _ := e.store.Logins(e.ctx(), core.LoginQuery{UserID: "7"})
	if len(rows) != 2 || rows[1].SessionKey != "abc" || rows[1].IP != "1.2.3.4" || rows[1].Browser != "Chrome" || rows[0].Reasons != "New country: RU" {
		t.Fatalf("rows = %+v", rows)
	}
	evs := e.events()
	for _, ev := range evs {
		if ev.Action == core.ActionSuspiciousLogin && ev.UserEmail != "alice" {
			t.Fatalf("event = %+v", ev)
		}
	}
}
