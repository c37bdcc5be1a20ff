package ginwarden_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

// BenchmarkGin serves GET / on a hello route in-process, without and with
// the middleware (every check active; see adaptertest.BenchEngine). The
// throughput ratio is bare ns/op divided by warden ns/op (performance budget target
// ≥ 0.90). The loopback_ variants send the same request over a keep-alive
// loopback connection, net/http's work included.
func BenchmarkGin(b *testing.B) {
	eng := adaptertest.BenchEngine(b)
	hello := func(c *gin.Context) { c.String(http.StatusOK, "hello world") }
	bare, with := gin.New(), gin.New()
	bare.GET("/", hello)
	with.Use(ginwarden.Middleware(eng))
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
