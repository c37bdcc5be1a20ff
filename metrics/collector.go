package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardenkit/warden/core"
)

// Collector is a prometheus.Collector over an engine: its Stats, its
// lockout's and login monitor's counters, and optionally a Recorder's
// decisions and a country database's age. Everything is read when the
// registry gathers, so the request path pays nothing for it.
//
// A Collector is safe for concurrent use (a registry may gather from several
// goroutines). It holds no goroutine and needs no Close.
type Collector struct {
	eng   *core.Engine
	cfg   config
	stats []statDesc // one per series read from the engine
	// optional series
	snapshotAge, decisions, latency             *prometheus.Desc
	geoAge, geoBuilt, geoReloads, geoReloadErrs *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// statDesc is one series read from a reading.
type statDesc struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	get  func(*reading) float64
}

// reading is what one gather reads from the engine.
type reading struct {
	st    core.Stats
	lo    core.LockoutStats
	lm    core.LoginMonitorStats
	ready bool
}

// New returns the collector of eng's metrics; register it on a registry
// (reg.MustRegister(c)). It reads eng only when gathered. A nil engine
// returns ErrNilEngine.
func New(eng *core.Engine, opts ...Option) (*Collector, error) {
	if eng == nil {
		return nil, ErrNilEngine
	}
	c := &Collector{eng: eng, cfg: config{now: time.Now}}
	for i, o := range opts {
		if o == nil {
			return nil, invalid("New: option %d is nil", i)
		}
		if err := o(&c.cfg); err != nil {
			return nil, err
		}
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("warden_"+name, help, labels, c.cfg.labels)
	}
	for _, s := range engineStats {
		c.stats = append(c.stats, statDesc{desc: desc(s.name, s.help), typ: s.typ, get: s.get})
	}
	c.snapshotAge = desc("snapshot_age_seconds", "Time since the rule snapshot in use was built (absent before the first).")
	if c.cfg.rec != nil {
		c.decisions = desc("decisions_total", "Checks decided, by decision (allow, report_only, deny) and kind (the core Action or Reason; none when no rule matched).", "decision", "kind")
		c.latency = desc("check_duration_seconds", "Time Check took, for one Check in 64 chosen at random.")
	}
	if c.cfg.geo != nil {
		c.geoAge = desc("geoip_build_age_seconds", "Time since the country database in use was built (its build_epoch).")
		c.geoBuilt = desc("geoip_build_timestamp_seconds", "When the country database in use was built, in Unix seconds.")
		c.geoReloads = desc("geoip_reloads_total", "Country database files loaded after the first.")
		c.geoReloadErrs = desc("geoip_reload_errors_total", "Country database files refused on reload; the previous one stayed in use.")
	}
	return c, nil
}

// Describe sends the descriptors of every series the collector can report.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.stats {
		ch <- s.desc
	}
	for _, d := range []*prometheus.Desc{c.snapshotAge, c.decisions, c.latency, c.geoAge, c.geoBuilt, c.geoReloads, c.geoReloadErrs} {
		if d != nil {
			ch <- d
		}
	}
}

// Collect reads the engine (and the recorder and database) and sends the
// series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r := reading{st: c.eng.Stats(), ready: c.eng.Ready()}
	if lo := c.eng.Lockout(); lo != nil {
		r.lo = lo.Stats()
	}
	if lm := c.eng.LoginMonitor(); lm != nil {
		r.lm = lm.Stats()
	}
	for _, s := range c.stats {
		ch <- constMetric(s.desc, s.typ, s.get(&r))
	}
	if !r.st.SnapshotBuiltAt.IsZero() {
		ch <- constMetric(c.snapshotAge, prometheus.GaugeValue, r.st.SnapshotAge.Seconds())
	}
	if c.cfg.rec != nil {
		c.collectRecorder(ch)
	}
	if c.cfg.geo != nil {
		c.collectGeo(ch)
	}
}

func (c *Collector) collectRecorder(ch chan<- prometheus.Metric) {
	t := c.cfg.rec.read()
	for i, s := range slots {
		ch <- constMetric(c.decisions, prometheus.CounterValue, float64(t.decisions[i]), s.decision, s.kind)
	}
	ch <- c.latencyMetric(&t)
}

// latencyMetric is the check latency histogram of t.
func (c *Collector) latencyMetric(t *totals) prometheus.Metric {
	var count uint64
	buckets := make(map[float64]uint64, len(latencyBounds))
	for i, b := range latencyBounds {
		count += t.buckets[i]
		buckets[float64(b)/1e9] = count
	}
	count += t.buckets[len(latencyBounds)]
	m, err := prometheus.NewConstHistogram(c.latency, count, float64(t.sumNanos)/1e9, buckets)
	if err != nil {
		return prometheus.NewInvalidMetric(c.latency, err)
	}
	return m
}

func (c *Collector) collectGeo(ch chan<- prometheus.Metric) {
	st := c.cfg.geo.Stats()
	if !st.BuildTime.IsZero() {
		ch <- constMetric(c.geoAge, prometheus.GaugeValue, c.cfg.now().Sub(st.BuildTime).Seconds())
		ch <- constMetric(c.geoBuilt, prometheus.GaugeValue, float64(st.BuildTime.UnixNano())/1e9)
	}
	ch <- constMetric(c.geoReloads, prometheus.CounterValue, float64(st.Reloads))
	ch <- constMetric(c.geoReloadErrs, prometheus.CounterValue, float64(st.ReloadErrors))
}

// constMetric is prometheus.MustNewConstMetric without the panic: an error
// (which only a bug in this package can cause) is reported to the registry.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
