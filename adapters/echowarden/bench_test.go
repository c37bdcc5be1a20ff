package echowarden_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

// BenchmarkEcho serves GET / on a hello route in-process, without and with
// the middleware (every check active; see adaptertest.BenchEngine). The
// throughput ratio is bare ns/op divided by warden ns/op (performance budget target
// ≥ 0.90). The loopback_ variants send the same request over a keep-alive
// loopback connection, net/http's work included.
func BenchmarkEcho(b *testing.B) {
	eng := adaptertest.BenchEngine(b)
	hello := func(c echo.Context) error { return c.String(http.StatusOK, "hello world") }
	bare, with := echo.New(), echo.New()
	bare.GET("/", hello)
	with.Use(echowarden.Middleware(eng))
	with.GET("/", hello)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"warden", with}} {
		b.Run("loopback_"+bc.name, func(b *testing.B) { adaptertest.BenchLoopback(b, bc.h) })
		b.Run(bc.name, func(b *testing.B) {
			r, w := adaptertest.BenchRequest(), &adaptertest.DiscardWriter{}
			b.ReportAllocs()
			for b.Loop() {
				w.Reset()
				bc.h.ServeHTTP(w, r)
			}
			if w.Status != http.StatusOK {
				b.Fatalf("status %d", w.Status)
			}
		})
	}
	b.Run("check_only", func(b *testing.B) {
		r := adaptertest.BenchRequest()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = eng.Check(context.Background(), core.Request{HTTP: r})
		}
	})
}
