package metrics

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
)

// Option configures New. Options validate their arguments: a bad one makes
// New return an error wrapping ErrInvalidOption that names the option and
// the value.
type Option func(*config) error

type config struct {
	rec    *Recorder
	geo    GeoIPStats
	now    func() time.Time
	labels map[string]string
}

// GeoIPStats is what the collector reads of a country database: *geo.DB
// has it.
type GeoIPStats interface {
	Stats() geo.Stats
}

// WithRecorder adds the decision counters and the sampled check latency
// of r, the Recorder given to the engine with core.WithCheckObserver.
// Without it the collector reports only what the engine's Stats hold.
func WithRecorder(r *Recorder) Option {
	return func(c *config) error {
		if r == nil {
			return invalid("WithRecorder: nil recorder")
		}
		c.rec = r
		return nil
	}
}

// WithGeoIP adds the country database's build age, build time and reload
// counters (db is usually the *geo.DB given to core.WithCountryLookup).
func WithGeoIP(db GeoIPStats) Option {
	return func(c *config) error {
		if db == nil {
			return invalid("WithGeoIP: nil database")
		}
		c.geo = db
		return nil
	}
}

// WithClock sets the clock the GeoIP build age is measured by (default: the
// system clock). The snapshot age is the engine's, by the engine's clock.
func WithClock(clk core.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return invalid("WithClock: nil clock")
		}
		c.now = clk.Now
		return nil
	}
}

// labelName is a Prometheus label name; names starting "__" are reserved.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// WithConstLabels adds labels with fixed values to every metric, to tell
// apart the engines of one process registered on one registry
// (WithConstLabels(map[string]string{"engine": "api"})). The names decision,
// kind and le are the collector's own.
func WithConstLabels(labels map[string]string) Option {
	return func(c *config) error {
		for name, v := range labels {
			switch {
			case !labelName.MatchString(name) || strings.HasPrefix(name, "__"):
				return invalid("WithConstLabels: %q is not a label name", name)
			case name == "decision" || name == "kind" || name == "le":
				return invalid("WithConstLabels: label %q is the collector's own", name)
			case !utf8.ValidString(v):
				return invalid("WithConstLabels: label %s: value %q is not valid UTF-8", name, v)
			}
		}
		c.labels = make(map[string]string, len(labels))
		for k, v := range labels {
			c.labels[k] = v
		}
		return nil
	}
}
