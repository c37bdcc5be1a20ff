package app

import (
	"crypto/rand"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/metrics"
)

// newAdmin is the admin behind HTTP Basic authentication as "admin", with
// password (a random one, printed, when empty).
func newAdmin(eng *core.Engine, store core.Store, password string, log *slog.Logger) (http.Handler, error) {
	if password == "" {
		password = rand.Text()[:16]
	}
	h, err := admin.New(eng, admin.WithBasicAuth("admin", password), admin.WithStore(store))
	if err != nil {
		return nil, err
	}
	log.Info("admin", "url", "/admin/", "user", "admin", "password", password)
	return h, nil
}

// newMetrics is the /metrics handler: warden's collectors and the Go
// runtime's, on a registry of the app's own.
func newMetrics(eng *core.Engine, rec *metrics.Recorder, db *geo.DB) (http.Handler, error) {
	opts := []metrics.Option{metrics.WithRecorder(rec)}
	if db != nil {
		opts = append(opts, metrics.WithGeoIP(db))
	}
	c, err := metrics.New(eng, opts...)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
