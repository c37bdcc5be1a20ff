// Command echo is an Echo application protected by warden; it takes the
// same flags as examples/gin:
//
//	go run ./examples/echo -block-ip 203.0.113.0/24 -block-ua sqlmap -trust-proxy 10.0.0.0/8
//
// Rules are stored in warden.db (or -dsn / WARDEN_DSN) and written through
// eng.Rules() after eng.Start. SIGINT or SIGTERM shuts down gracefully and flushes the
// security events.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/examples/internal/appstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo example:", err)
		os.Exit(1)
	}
}

type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// run serves until ctx ends. It prints "listening on http://ADDR" once the
// listener is open.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", ":8080", "listen address")
	geoPath := fs.String("geoip", "", "optional GeoLite2/GeoIP2 Country .mmdb `file`, for -block-country")
	dsn := fs.String("dsn", appstore.DSN(), "store: sqlite:file:PATH, postgres://… or mysql://… (env WARDEN_DSN)")
	redisURL := fs.String("redis", appstore.RedisURL(), "optional redis:// URL shared by replicas (env WARDEN_REDIS_URL)")
	var blockIPs, blockCountries, blockUAs, trusted list
	fs.Var(&blockIPs, "block-ip", "IP or CIDR network to block (repeatable, or comma-separated)")
	fs.Var(&blockCountries, "block-country", "ISO country code to block (needs -geoip)")
	fs.Var(&blockUAs, "block-ua", "User-Agent substring to block, case-insensitive")
	fs.Var(&trusted, "trust-proxy", "CIDR of a reverse proxy whose X-Forwarded-For is believed")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))
	store, storeOpts, closeStore, err := appstore.Open(ctx, *dsn, *redisURL)
	if err != nil {
		return err
	}
	defer closeStore()
	opts := append([]core.Option{core.WithLogger(log)}, storeOpts...)
	for _, s := range trusted {
		p, err := core.ParseNetwork(s)
		if err != nil {
			return fmt.Errorf("-trust-proxy %q: %w", s, err)
		}
		opts = append(opts, core.WithTrustedProxies(p))
	}
	if *geoPath != "" {
		db, err := geo.Open(*geoPath, geo.WithLogger(log))
		if err != nil {
			return err
		}
		if err := db.Start(ctx); err != nil {
			return err
		}
		defer db.Close()
		opts = append(opts, core.WithCountryLookup(db))
	} else if len(blockCountries) > 0 {
		return errors.New("-block-country needs -geoip")
	}

	eng, err := core.New(store, opts...)
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = eng.Close(cctx) // flushes queued security events
	}()
	rules := eng.Rules()
	for _, s := range blockIPs {
		if _, err := rules.BlockedIPs().Put(ctx, core.BlockedIP{Network: s, Reason: "-block-ip"}); err != nil {
			return fmt.Errorf("-block-ip %q: %w", s, err)
		}
	}
	for _, s := range blockCountries {
		if _, err := rules.BlockedCountries().Put(ctx, core.BlockedCountry{Code: s}); err != nil {
			return fmt.Errorf("-block-country %q: %w", s, err)
		}
	}
	for _, s := range blockUAs {
		if _, err := rules.BlockedUserAgents().Put(ctx, core.BlockedUserAgent{Pattern: s, Category: "custom"}); err != nil {
			return fmt.Errorf("-block-ua %q: %w", s, err)
		}
	}

	// Authentication, when there is one, goes first: e.Use(auth, mw), with
	// echowarden.WithUser reading the user it found.
	mw, err := echowarden.Middleware(eng)
	if err != nil {
		return err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(mw)
	e.GET("/", func(c echo.Context) error {
		d, _ := echowarden.DecisionFrom(c)
		return c.String(http.StatusOK, "hello "+d.ClientIP.String()+"\n")
	})
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
