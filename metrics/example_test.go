package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/metrics"
)

func Example() {
	ctx := context.Background()
	rec := metrics.NewRecorder()
	eng, err := core.New(memstore.New(), core.WithCheckObserver(rec), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := eng.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close(ctx)
	if _, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24"}); err != nil {
		fmt.Println(err)
		return
	}

	c, err := metrics.New(eng, metrics.WithRecorder(rec))
	if err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	for _, ip := range []string{"198.51.100.1", "198.51.100.2", "203.0.113.9"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = ip + ":4000"
		d, _ := eng.Check(ctx, core.Request{HTTP: r})
		fmt.Println(ip, d.Allowed)
	}

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "warden_decisions_total") && !strings.HasSuffix(line, " 0") {
			fmt.Println(line)
		}
	}
	// Output:
	// 198.51.100.1 true
	// 198.51.100.2 true
	// 203.0.113.9 false
	// warden_decisions_total{decision="allow",kind="none"} 2
	// warden_decisions_total{decision="deny",kind="IP_BLOCK"} 1
}

func ExampleWithConstLabels() {
	reg := prometheus.NewRegistry()
	for _, name := range []string{"public", "admin"} {
		eng, err := core.New(memstore.New(), core.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			fmt.Println(err)
			return
		}
		c, err := metrics.New(eng, metrics.WithConstLabels(map[string]string{"engine": name}))
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := reg.Register(c); err != nil {
			fmt.Println(err)
			return
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		if mf.GetName() == "warden_ready" {
			for _, m := range mf.GetMetric() {
				fmt.Println(m.GetLabel()[0].GetValue(), m.GetGauge().GetValue())
			}
		}
	}
	// Output:
	// admin 0
	// public 0
}
