package admin

import (
	"net/http"
	"strconv"

	"github.com/wardenkit/warden/core"
)

type logData[T any] struct {
	Query      logQuery
	Page       page[T]
	NextLink   string
	FirstLink  string
	Actions    []core.Action
	Severities []string
}

// links fills the first and next page links of a log at path.
func (d *logData[T]) links(c *call, path string) {
	v := d.Query.values()
	d.FirstLink = c.base + path + "?" + v.Encode()
	if d.Page.Next > 0 {
		v.Set("before", strconv.FormatInt(d.Page.Next, 10))
		d.NextLink = c.base + path + "?" + v.Encode()
	}
}

type eventRow struct {
	core.Event
	Badge string
}

// actionClass is the badge colour of an action, as the reference colours
// them.
func actionClass(a core.Action) string {
	switch a {
	case core.ActionCountryBlock, core.ActionCountryWhitelistBlock:
		return "b-orange"
	case core.ActionIPBlock, core.ActionLockout, core.ActionAutoBlockIP, core.ActionAutoBlockCountry:
		return "b-red"
	case core.ActionEmailBlock:
		return "b-purple"
	case core.ActionRateLimit:
		return "b-blue"
	case core.ActionSuspiciousLogin:
		return "b-yellow"
	}
	return "b-grey"
}

func eventsHTML(s *server, c *call) {
	q, err := parseLogQuery(c.r.URL.Query())
	var p page[core.Event]
	if err == nil {
		p, err = s.events(c.r.Context(), q)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	d := logData[eventRow]{Query: q, Actions: actions, Severities: severities}
	d.Page = page[eventRow]{Next: p.Next, Scanned: p.Scanned, Capped: p.Capped}
	for _, e := range p.Items {
		d.Page.Items = append(d.Page.Items, eventRow{Event: e, Badge: actionClass(e.Action)})
	}
	d.links(c, "events")
	s.render(c, http.StatusOK, "events", "Event log", d)
}

func eventsAPI(s *server, c *call) {
	q, err := parseLogQuery(c.r.URL.Query())
	var p page[core.Event]
	if err == nil {
		p, err = s.events(c.r.Context(), q)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if p.Items == nil {
		p.Items = []core.Event{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"events": p.Items, "next": p.Next, "scanned": p.Scanned, "capped": p.Capped})
}

func loginsHTML(s *server, c *call) {
	q, err := parseLogQuery(c.r.URL.Query())
	var p page[core.LoginRecord]
	if err == nil {
		p, err = s.logins(c.r.Context(), q)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	d := logData[core.LoginRecord]{Query: q, Page: p}
	d.links(c, "logins")
	s.render(c, http.StatusOK, "logins", "Login history", d)
}

func loginsAPI(s *server, c *call) {
	q, err := parseLogQuery(c.r.URL.Query())
	var p page[core.LoginRecord]
	if err == nil {
		p, err = s.logins(c.r.Context(), q)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if p.Items == nil {
		p.Items = []core.LoginRecord{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"logins": p.Items, "next": p.Next, "scanned": p.Scanned, "capped": p.Capped})
}
