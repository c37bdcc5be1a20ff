package admin

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// The event log and the login history: read-only, newest first, paged by
// ID (BeforeID). Filters the store queries cannot express (severity,
// suspicious) are applied here over batches, at most maxScan rows a page.

// page is one page of a log.
type page[T any] struct {
	Items   []T
	Next    int64 // the "before" of the next page; 0 when this is the last
	Scanned int
	Capped  bool
}

// scanNewest reads rows newest first from fetch until the page is full,
// the log ends or maxScan rows were read.
func scanNewest[T any](fetch func(before int64, limit int) ([]T, error), id func(T) int64, keep func(T) bool, before int64, limit int) (page[T], error) {
	var p page[T]
	batch := limit + 1
	if keep != nil {
		batch = scanBatch
	}
	for {
		rows, err := fetch(before, batch)
		if err != nil {
			return p, err
		}
		for _, r := range rows {
			p.Scanned++
			before = id(r)
			if keep != nil && !keep(r) {
				continue
			}
			if len(p.Items) == limit {
				p.Next = id(p.Items[limit-1])
				return p, nil
			}
			p.Items = append(p.Items, r)
		}
		if len(rows) < batch || before <= 1 {
			return p, nil
		}
		if p.Scanned >= maxScan {
			p.Capped, p.Next = true, before
			return p, nil
		}
	}
}

// logQuery is the filters of a log page, read from the URL.
type logQuery struct {
	Action, Severity, IP, Country, User, Suspicious string
	Since, Until                                    string // as typed (datetime-local, UTC)
	since, until                                    time.Time
	Before                                          int64
	Limit                                           int
}

// parseLogQuery reads and checks the filters.
func parseLogQuery(v url.Values) (logQuery, error) {
	q := logQuery{Limit: defaultLimit}
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	q.Action, q.Severity, q.IP, q.Country = strings.ToUpper(get("action")), strings.ToLower(get("severity")), get("ip"), strings.ToUpper(get("country"))
	q.User, q.Suspicious, q.Since, q.Until = get("user"), get("suspicious"), get("since"), get("until")
	var err error
	if q.Before, err = parseID(get("before"), "before"); err != nil {
		return q, err
	}
	if s := get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 || q.Limit > maxLimit {
			return q, errf(http.StatusBadRequest, "bad limit %q: a number from 1 to %d", s, maxLimit)
		}
	}
	switch {
	case q.Action != "" && !slices.Contains(actions, core.Action(q.Action)):
		return q, errf(http.StatusBadRequest, "unknown action %q: want one of %s", q.Action, joinActions())
	case q.Severity != "" && !slices.Contains(severities, q.Severity):
		return q, errf(http.StatusBadRequest, "unknown severity %q: want low, medium, high or critical", q.Severity)
	case q.Suspicious != "" && q.Suspicious != "yes" && q.Suspicious != "no":
		return q, errf(http.StatusBadRequest, "bad suspicious filter %q: want yes or no", q.Suspicious)
	case len(q.User) > rule.MaxUserIDLen:
		return q, errf(http.StatusBadRequest, "the user is too long: at most %d characters", rule.MaxUserIDLen)
	}
	if q.IP != "" {
		a, err := netip.ParseAddr(q.IP)
		if err != nil {
			return q, errf(http.StatusBadRequest, "bad ip %q: want an address such as 203.0.113.7", q.IP)
		}
		q.IP = a.Unmap().String()
	}
	if _, ok := rule.NormalizeCountry(q.Country); q.Country != "" && !ok {
		return q, errf(http.StatusBadRequest, "bad country %q: want an ISO 3166-1 alpha-2 code", q.Country)
	}
	if q.since, err = parseFormTime(q.Since); err != nil {
		return q, errf(http.StatusBadRequest, "bad since %q: want 2006-01-02T15:04 (UTC) or RFC 3339", q.Since)
	}
	if q.until, err = parseFormTime(q.Until); err != nil {
		return q, errf(http.StatusBadRequest, "bad until %q: want 2006-01-02T15:04 (UTC) or RFC 3339", q.Until)
	}
	return q, nil
}

// values is q as URL parameters, without the page's start.
func (q logQuery) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"action": q.Action, "severity": q.Severity, "ip": q.IP, "country": q.Country,
		"user": q.User, "suspicious": q.Suspicious, "since": q.Since, "until": q.Until} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if q.Limit != defaultLimit {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

var (
	actions = []core.Action{core.ActionCountryBlock, core.ActionCountryWhitelistBlock, core.ActionIPBlock, core.ActionEmailBlock,
		core.ActionDomainBlock, core.ActionUserAgentBlock, core.ActionRateLimit, core.ActionLockout, core.ActionSuspiciousLogin,
		core.ActionAutoBlockIP, core.ActionAutoBlockCountry, core.ActionAdmin, core.ActionWouldBlock, core.ActionFailPolicy, core.ActionNoClientIP}
	severities = []string{"low", "medium", "high", "critical"}
)

func joinActions() string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// events reads one page of the event log.
func (s *server) events(ctx context.Context, q logQuery) (page[core.Event], error) {
	if s.cfg.store == nil {
		return page[core.Event]{}, errNoStore
	}
	eq := core.EventQuery{Action: core.Action(q.Action), IP: q.IP, Country: q.Country, Since: q.since, Until: q.until}
	fetch := func(before int64, limit int) ([]core.Event, error) {
		eq.BeforeID, eq.Limit = before, limit
		return s.cfg.store.Events(ctx, eq)
	}
	var keep func(core.Event) bool
	if q.Severity != "" {
		keep = func(e core.Event) bool { return string(e.Severity) == q.Severity }
	}
	p, err := scanNewest(fetch, func(e core.Event) int64 { return e.ID }, keep, q.Before, q.Limit)
	if err == nil && len(p.Items) == 0 && q.Before > 0 && !p.Capped {
		return p, errf(http.StatusNotFound, "past the end: no events before id %d match", q.Before)
	}
	return p, err
}

// logins reads one page of the login history.
func (s *server) logins(ctx context.Context, q logQuery) (page[core.LoginRecord], error) {
	if s.cfg.store == nil {
		return page[core.LoginRecord]{}, errNoStore
	}
	lq := core.LoginQuery{UserID: q.User, IP: q.IP, Since: q.since, Until: q.until}
	fetch := func(before int64, limit int) ([]core.LoginRecord, error) {
		lq.BeforeID, lq.Limit = before, limit
		return s.cfg.store.Logins(ctx, lq)
	}
	var keep func(core.LoginRecord) bool
	if q.Suspicious != "" || q.Country != "" {
		keep = func(r core.LoginRecord) bool {
			return (q.Suspicious == "" || r.Suspicious == (q.Suspicious == "yes")) && (q.Country == "" || r.CountryCode == q.Country)
		}
	}
	p, err := scanNewest(fetch, func(r core.LoginRecord) int64 { return r.ID }, keep, q.Before, q.Limit)
	if err == nil && len(p.Items) == 0 && q.Before > 0 && !p.Capped {
		return p, errf(http.StatusNotFound, "past the end: no logins before id %d match", q.Before)
	}
	return p, err
}

var errNoStore = errf(http.StatusNotImplemented, "this admin was started without admin.WithStore: the event log and the login history are not available")
