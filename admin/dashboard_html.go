package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wardenkit/warden/core"
)

type dashData struct {
	F        *dashFigures
	Chart    chart
	Warnings []string
	Health   []kv
	Age      string
}

type kv struct{ K, V string }

// chart is the server-rendered SVG of events per hour by action.
type chart struct {
	W, H   int
	Bars   []bar
	Labels []label
	Legend []series
	Max    int64
}

type bar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

type label struct {
	X, Y   int
	Text   string
	Anchor string
}

// Chart geometry, in SVG units.
const (
	chartW, chartH         = 744, 220
	plotLeft, plotTop      = 48, 10
	plotBottom, plotHeight = 190, 180
)

// chartOf stacks each hour's counts, the busiest action at the bottom.
func chartOf(f *dashFigures) chart {
	c := chart{W: chartW, H: chartH, Legend: f.Series}
	for h := range f.Hours {
		var sum int64
		for _, s := range f.Series {
			sum += s.Counts[h]
		}
		c.Max = max(c.Max, sum)
	}
	slot := (chartW - plotLeft) / max(len(f.Hours), 1)
	for h, t := range f.Hours {
		x, y := plotLeft+h*slot+2, plotBottom
		for _, s := range f.Series {
			n := s.Counts[h]
			if n <= 0 || c.Max == 0 {
				continue
			}
			ht := max(int(n*plotHeight/c.Max), 1)
			y -= ht
			c.Bars = append(c.Bars, bar{X: x, Y: y, W: slot - 4, H: ht, Class: s.Class, Title: fmt.Sprintf("%s %s: %d", t.Format("15:04"), s.Name, n)})
		}
		if h%3 == 0 {
			c.Labels = append(c.Labels, label{X: x + (slot-4)/2, Y: chartH - 6, Text: t.Format("15h"), Anchor: "middle"})
		}
	}
	c.Labels = append(c.Labels, label{X: plotLeft - 6, Y: plotTop + 8, Text: strconv.FormatInt(c.Max, 10), Anchor: "end"},
		label{X: plotLeft - 6, Y: plotBottom, Text: "0", Anchor: "end"})
	return c
}

// health is the engine's figures as the page lists them.
func health(st core.Stats, ready bool) []kv {
	return []kv{
		{"Ready", strconv.FormatBool(ready)},
		{"Rules version", strconv.FormatInt(st.SnapshotVersion, 10)},
		{"Rules loaded", when(st.SnapshotBuiltAt) + " (" + st.SnapshotAge.Round(time.Second).String() + " ago)"},
		{"Reloads (failed)", fmt.Sprintf("%d (%d)", st.Rebuilds, st.RebuildErrors)},
		{"Events queued / written / dropped", fmt.Sprintf("%d / %d / %d", st.EventsQueued, st.EventsWritten, st.EventsDropped)},
		{"Events coalesced / folded", fmt.Sprintf("%d / %d", st.EventsCoalesced, st.EventsFolded)},
		{"Fail-policy trips", strconv.FormatInt(st.FailPolicyTrips, 10)},
		{"Rate limiter failures", strconv.FormatInt(st.LimiterFailures, 10)},
		{"Auto-blocked IPs / countries", fmt.Sprintf("%d / %d", st.AutoBlock.IPsBlocked, st.AutoBlock.CountriesBlocked)},
	}
}

// dashboard gathers the page's data: cached figures, live warnings.
func (s *server) dashboard(c *call) (dashData, error) {
	f, err := s.figures(c.r.Context(), c.r.URL.Query().Get("fresh") == "1")
	if err != nil {
		return dashData{}, err
	}
	set, err := s.eng.Settings(c.r.Context())
	if err != nil {
		return dashData{}, err
	}
	st := s.eng.Stats()
	d := dashData{F: f, Chart: chartOf(f), Warnings: warnings(set, st, s.cfg.store != nil), Health: health(st, s.eng.Ready())}
	if f.GeoIP != "" {
		d.Warnings = append(d.Warnings, f.GeoIP)
	}
	d.Age = s.cfg.clock.Now().Sub(f.ReadAt).Round(time.Second).String()
	return d, nil
}

func dashboardHTML(s *server, c *call) {
	d, err := s.dashboard(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "dashboard", "Dashboard", d)
}

func dashboardAPI(s *server, c *call) {
	d, err := s.dashboard(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := d.F
	series := map[string][]int64{}
	for _, s := range f.Series {
		series[s.Name] = s.Counts
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"since": f.Since, "until": f.Until, "total": f.Total, "by_action": groups(f.ByAction),
		"hours": f.Hours, "per_hour": series, "top_ips": groups(f.TopIPs), "top_countries": groups(f.TopCountries),
		"top_paths": groups(f.TopPaths), "rules": f.Rules, "locked": f.Locked, "warnings": d.Warnings,
		"stats": s.eng.Stats(), "read_at": f.ReadAt,
	})
}

type groupJSON struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

func groups(g []core.GroupCount) []groupJSON {
	out := make([]groupJSON, len(g))
	for i, x := range g {
		out[i] = groupJSON{x.Key, x.Count}
	}
	return out
}
