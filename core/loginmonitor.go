package core

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/uaparse"
	"github.com/wardenkit/warden/internal/textutil"
)

// LoginMonitor records successful logins and flags the suspicious ones.
// Lockout.Succeed calls it; applications without a Lockout call Observe.
//
// When Settings.LoginHistoryEnabled, each login is compared with a bounded
// summary of the user's earlier logins and stored as a LoginRecord; a login
// is suspicious, and records a SUSPICIOUS_LOGIN event, for any of: a new
// country ("New country: FR", Settings.AlertOnNewCountry), a new IP or IPv6
// network ("New IP: …", Settings.AlertOnNewIP), a new browser and OS family
// ("New device: Firefox/Linux", WithNewDeviceAlert), or more distinct
// countries in the rolling 24 hours than Settings.MaxCountriesPerDay. A
// user's first login is never new-anything. The LoginHook, if any, then
// decides the verdict. A login waits for the store at most
// WithLoginHistoryWait; a read that misses it skips the rules, a write stays
// queued.
//
// A LoginMonitor is safe for concurrent use.
type LoginMonitor struct {
	d         *loginDeps
	hook      LoginHook
	newDevice bool
	wait      time.Duration  // the longest a login waits for its history
	reads     chan struct{}  // traits reads in flight
	hist      *historyWriter // stores the records

	observed, suspicious, refused, errs, skipped atomic.Int64
}

// loginTraitsRecent is how many of a user's newest logins the novelty rules
// compare a login with.
const loginTraitsRecent = 200

// Login is a successful password check, as Observe sees it.
type Login struct {
	UserID     string     // required for history; without it only the hook runs
	Username   string     // optional, for the event
	IP         netip.Addr // when invalid, resolved from HTTP
	HTTP       *http.Request
	UserAgent  string // when HTTP is nil
	SessionKey string
}

// LoginVerdict is what the application should do with a login.
type LoginVerdict int

const (
	LoginAllow               LoginVerdict = iota // issue the session
	LoginRequireSecondFactor                     // ask for a second factor first
	LoginRefuse                                  // do not log the user in
)

// String is the verdict's name.
func (v LoginVerdict) String() string {
	switch v {
	case LoginAllow:
		return "allow"
	case LoginRequireSecondFactor:
		return "require_second_factor"
	case LoginRefuse:
		return "refuse"
	}
	return fmt.Sprintf("LoginVerdict(%d)", int(v))
}

// LoginInfo is what the LoginHook is told about a login.
type LoginInfo struct {
	Time       time.Time
	UserID     string
	Username   string
	IP         netip.Addr
	Country    string
	UserAgent  string
	Device     string // uaparse device class
	Browser    string
	OS         string
	FirstLogin bool // no earlier login is recorded (or history is off)
	Suspicious bool
	Reasons    []string
}

// LoginHook decides a login before the session is issued. An error refuses
// the login (Observe and Succeed return LoginRefuse and the error).
type LoginHook func(ctx context.Context, info LoginInfo) (LoginVerdict, error)

// LoginMonitorStats are a LoginMonitor's counters since New.
type LoginMonitorStats struct {
	Observed       int64 `json:"observed"`
	Suspicious     int64 `json:"suspicious"`
	Refused        int64 `json:"refused"`         // by the hook
	StoreErrors    int64 `json:"store_errors"`    // history reads or writes that failed
	RulesSkipped   int64 `json:"rules_skipped"`   // logins judged without history: read failed or too slow
	HistoryQueued  int64 `json:"history_queued"`  // records waiting to be stored
	HistoryWritten int64 `json:"history_written"` // records stored
	HistoryDropped int64 `json:"history_dropped"` // records lost: queue full, store refused, Close's deadline
}

// Stats reports the monitor's counters.
func (m *LoginMonitor) Stats() LoginMonitorStats {
	h := m.hist
	h.mu.Lock()
	queued := h.n
	h.mu.Unlock()
	return LoginMonitorStats{Observed: m.observed.Load(), Suspicious: m.suspicious.Load(), Refused: m.refused.Load(),
		StoreErrors: m.errs.Load() + h.failed.Load(), RulesSkipped: m.skipped.Load(),
		HistoryQueued: int64(queued), HistoryWritten: h.written.Load(), HistoryDropped: h.dropped.Load()}
}

// Observe records a successful login, applies the anomaly rules and returns
// the hook's verdict (LoginAllow without a hook).
func (m *LoginMonitor) Observe(ctx context.Context, l Login) (LoginVerdict, error) {
	path, method := "", ""
	if r := l.HTTP; r != nil {
		if !l.IP.IsValid() {
			if ip, ok := m.d.clientIP(r); ok {
				l.IP = ip
			}
		}
		if r.URL != nil {
			path = r.URL.Path
		}
		method = r.Method
		if l.UserAgent == "" {
			l.UserAgent = r.Header.Get("User-Agent")
		}
	}
	return m.observe(ctx, l, path, method)
}

func (m *LoginMonitor) observe(ctx context.Context, l Login, path, method string) (LoginVerdict, error) {
	m.observed.Add(1)
	d := m.d
	now := d.clock.Now()
	s, set := d.settings()
	ip := l.IP.Unmap().WithZone("")
	ua := uaparse.Parse(textutil.Truncate(l.UserAgent, MaxUserAgentLen))
	rec := LoginRecord{
		CreatedAt: now, UserID: l.UserID, CountryCode: d.country(s, ip), UserAgent: l.UserAgent,
		Device: ua.Device, Browser: ua.Browser, OS: ua.OS, SessionKey: l.SessionKey,
	}
	if ip.IsValid() {
		rec.IP = ip.String()
	}
	rec = rec.Clean()
	info := LoginInfo{Time: now, UserID: rec.UserID, Username: NormalizeUsername(l.Username), IP: ip, Country: rec.CountryCode,
		UserAgent: rec.UserAgent, Device: rec.Device, Browser: rec.Browser, OS: rec.OS, FirstLogin: true}

	track := set.LoginHistoryEnabled && strings.TrimSpace(rec.UserID) != ""
	hctx := ctx
	if track {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, m.wait) // all the time the history may take from this login
		defer cancel()
		m.judge(hctx, &set, &rec, &info)
	}

	verdict := LoginAllow
	var hookErr error
	if m.hook != nil {
		verdict, hookErr = m.hook(ctx, info)
		if hookErr != nil {
			verdict, hookErr = LoginRefuse, fmt.Errorf("core: login hook: %w", hookErr)
		}
		if verdict < LoginAllow || verdict > LoginRefuse {
			verdict = LoginRefuse
		}
		if verdict == LoginRefuse {
			m.refused.Add(1)
		}
	}
	if track && verdict != LoginRefuse {
		m.hist.put(hctx, rec, d.running())
	}
	if info.Suspicious {
		m.suspicious.Add(1)
		if method == "" {
			method = http.MethodPost
		}
		d.events.enqueue(Event{
			CreatedAt: now, IP: rec.IP, CountryCode: rec.CountryCode, Action: ActionSuspiciousLogin,
			Path: path, Method: method, UserAgent: l.UserAgent, UserEmail: info.Username, Details: rec.Reasons,
		})
		d.log.Warn("warden: suspicious login", "user_id", rec.UserID, "ip", rec.IP, "reasons", rec.Reasons)
	}
	return verdict, hookErr
}

// judge applies the anomaly rules to rec, reading the user's traits within
// ctx; when they cannot be read, the rules are skipped and the login is not
// suspicious.
func (m *LoginMonitor) judge(ctx context.Context, set *Settings, rec *LoginRecord, info *LoginInfo) {
	tr, err := m.traits(ctx, rec.UserID, info.Time)
	if err != nil {
		m.errs.Add(1)
		m.skipped.Add(1)
		m.d.log.Warn("warden: login history not read; anomaly rules skipped", "user_id", rec.UserID, "error", err)
	} else {
		info.FirstLogin = tr.Logins == 0
		info.Reasons = m.rules(set, rec, tr, info.FirstLogin)
	}
	info.Suspicious = len(info.Reasons) > 0
	rec.Suspicious = info.Suspicious
	rec.Reasons = textutil.Clean(strings.Join(info.Reasons, "; "), MaxLoginReasonsLen)
}

// rules returns the reasons a login is suspicious, in a fixed order.
func (m *LoginMonitor) rules(set *Settings, rec *LoginRecord, tr LoginTraits, first bool) []string {
	var reasons []string
	if !first && set.AlertOnNewCountry && rec.CountryCode != "" && !slices.Contains(tr.Countries, rec.CountryCode) {
		reasons = append(reasons, "New country: "+rec.CountryCode)
	}
	if !first && set.AlertOnNewIP && rec.IP != "" && !m.seenIP(tr.IPs, rec.IP) {
		reasons = append(reasons, "New IP: "+rec.IP)
	}
	if fam := rec.DeviceFamily(); !first && m.newDevice && fam != "" && !slices.Contains(tr.Devices, fam) {
		reasons = append(reasons, "New device: "+fam)
	}
	if set.MaxCountriesPerDay > 0 {
		n := len(tr.CountriesSince)
		if rec.CountryCode != "" && !slices.Contains(tr.CountriesSince, rec.CountryCode) {
			n++
		}
		if n > set.MaxCountriesPerDay {
			reasons = append(reasons, fmt.Sprintf("Countries in 24 h: %d", n))
		}
	}
	return reasons
}

// seenIP reports whether ip is among seen, IPv6 compared by the engine's
// prefix (privacy addresses change daily within one network).
func (m *LoginMonitor) seenIP(seen []string, ip string) bool {
	if slices.Contains(seen, ip) {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return false
	}
	g := groupIP(a, m.d.ipv6Prefix)
	for _, s := range seen {
		if b, err := netip.ParseAddr(s); err == nil && b.Is6() && groupIP(b, m.d.ipv6Prefix) == g {
			return true
		}
	}
	return false
}
