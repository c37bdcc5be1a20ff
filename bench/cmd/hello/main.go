// Command hello serves Gin's hello route with or without warden, for the
// wrk comparison in ../../wrk.sh:
//
//	go run ./cmd/hello -addr 127.0.0.1:18081 -warden=true
//
// With -warden the engine holds 10,000 blocked IPs, 100 networks, 100
// User-Agent patterns and 20 rate-limit rules (none matching the hello
// route's client), in memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	on := flag.Bool("warden", true, "put the warden middleware in front of the route")
	prof := flag.String("cpuprofile", "", "write a CPU profile to `file`")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if *on {
		eng, err := engine(ctx)
		if err != nil {
			log.Fatal(err)
		}
		defer eng.Close(context.Background())
		r.Use(ginwarden.Middleware(eng))
	}
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "hello") })
	srv := &http.Server{Addr: *addr, Handler: r}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	fmt.Printf("listening on http://%s (warden=%v)\n", *addr, *on)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func engine(ctx context.Context) (*core.Engine, error) {
	st := memstore.New()
	for i := range 10_000 {
		a := netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
		if _, err := st.BlockedIPs().Put(ctx, rule.BlockedIP{Network: a.String()}); err != nil {
			return nil, err
		}
	}
	for i := range 100 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{101, byte(i), 0, 0}), 16)
		if _, err := st.BlockedIPs().Put(ctx, rule.BlockedIP{Network: p.String()}); err != nil {
			return nil, err
		}
	}
	for i := range 100 {
		if _, err := st.BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: fmt.Sprintf("badbot-%d", i)}); err != nil {
			return nil, err
		}
	}
	for i := range 20 {
		if _, err := st.RateLimitRules().Put(ctx, rule.RateLimitRule{Name: fmt.Sprint("r", i), PathPattern: fmt.Sprintf("/api/v%d/*", i), Rate: "100/s"}); err != nil {
			return nil, err
		}
	}
	eng, err := core.New(st, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return eng, eng.Start(ctx)
}
