package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/metrics"
)

// App is what an example's router is built from.
type App struct {
	Engine  *core.Engine
	Pages   *Pages       // the login and sign-up pages and the demo account
	Admin   http.Handler // the admin, to mount at /admin (behind a password)
	Metrics http.Handler // Prometheus metrics, to serve at /metrics
}

// list is a flag that may be repeated and takes comma-separated values.
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

// Run parses the flags, opens the store, starts the engine, writes the rules
// the flags ask for through eng.Rules() (the way an admin page or the CLI
// writes them), asks build for the application's handler, and serves it
// until ctx ends; then it shuts the server down and closes the engine, which
// flushes the queued security events. It prints "listening on http://ADDR"
// once the listener is open.
func Run(ctx context.Context, name string, args []string, stdout io.Writer, build func(*App) http.Handler) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", ":8080", "listen address")
	geoPath := fs.String("geoip", "", "optional country database: an .mmdb `file` or a directory holding one, for -block-country")
	dsn := fs.String("dsn", DSN(), "store: sqlite:file:PATH, postgres://… or mysql://… (env WARDEN_DSN)")
	redisURL := fs.String("redis", RedisURL(), "optional redis:// URL shared by replicas (env WARDEN_REDIS_URL)")
	poll := fs.Duration("poll", 2*time.Second, "how often to look for changes made elsewhere (the warden command, replicas without Redis)")
	demoPassword := fs.String("demo-password", "", "password of the demo account (default: random, printed at start-up)")
	adminPassword := fs.String("admin-password", "", "password of the admin at /admin, user admin (default: random, printed at start-up)")
	var blockIPs, blockCountries, blockUAs, trusted list
	fs.Var(&blockIPs, "block-ip", "IP or CIDR network to block (repeatable, or comma-separated)")
	fs.Var(&blockCountries, "block-country", "ISO country code to block, e.g. RU (needs -geoip)")
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
	// Every flag is checked before anything is opened or written: a bad
	// value leaves the store as it was.
	rules, err := flagRules(blockIPs, blockCountries, blockUAs)
	if err != nil {
		return err
	}
	var proxies []netip.Prefix
	for _, s := range trusted {
		p, err := rule.ParseNetwork(s)
		if err != nil {
			return fmt.Errorf("-trust-proxy %q: %w", s, err)
		}
		proxies = append(proxies, p)
	}
	if *geoPath != "" {
		if *geoPath, err = geoFile(*geoPath); err != nil {
			return err
		}
	}
	if len(blockCountries) > 0 && *geoPath == "" {
		return errors.New("-block-country needs -geoip: without a country database no request has a country (download one: go run ./cmd/warden geoip download --help)")
	}

	store, storeOpts, elector, closeStore, err := Open(ctx, *dsn, *redisURL)
	if err != nil {
		return err
	}
	defer closeStore()
	notices, err := autoBlockNotices(ctx, log)
	if err != nil {
		return err
	}
	defer notices.close()
	rec := metrics.NewRecorder() // decisions and a sampled check latency, for /metrics
	opts := append([]core.Option{core.WithLogger(log), core.WithAutoBlockHook(notices.add), core.WithPollInterval(*poll),
		core.WithCheckObserver(rec)}, storeOpts...)
	if len(proxies) > 0 {
		opts = append(opts, core.WithTrustedProxies(proxies...))
		log.Info("trusted proxies", "cidrs", fmt.Sprint(proxies))
	} else {
		log.Info("trusted proxies", "cidrs", "none: the TCP peer is the client (-trust-proxy CIDR behind a reverse proxy)")
	}
	var geoDB *geo.DB
	if *geoPath != "" {
		if geoDB, err = openGeoIP(ctx, *geoPath, log); err != nil {
			return err
		}
		defer geoDB.Close()
		opts = append(opts, core.WithCountryLookup(geoDB))
	} else {
		log.Info("geoip", "file", "none", "hint", "country rules need one: go run ./cmd/warden geoip download --help")
	}
	if u, err := url.Parse(*redisURL); err == nil && *redisURL != "" { // Open has parsed it; Host has no password
		log.Info("redis", "scheme", u.Scheme, "hosts", u.Host, "shares", "bus, rate limits, login and auto-block counters, scheduler leader")
	} else {
		log.Info("redis", "addr", "none", "counters", "in process")
	}

	eng, err := core.New(store, opts...)
	if err != nil {
		return err
	}
	notices.eng.Store(eng)
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := eng.Close(cctx)
		st := eng.Stats()
		log.Info("shutdown", "events_written", st.EventsWritten, "events_dropped", st.EventsDropped, "error", err)
	}()
	stopJobs, err := startScheduler(ctx, eng, store, elector, notices.n, log)
	if err != nil {
		return err
	}
	defer stopJobs()
	if err := rules.write(ctx, eng); err != nil {
		return err
	}
	logStore(ctx, log, *dsn, eng)
	a := &App{Engine: eng, Pages: NewPages(*demoPassword)}
	log.Info("demo account", "user", DemoUser, "password", a.Pages.Password(), "login", "/login")
	if a.Admin, err = newAdmin(eng, store, *adminPassword, log); err != nil {
		return err
	}
	if a.Metrics, err = newMetrics(eng, rec, geoDB); err != nil {
		return err
	}
	return serve(ctx, *addr, build(a), stdout, log)
}

func serve(ctx context.Context, addr string, h http.Handler, stdout io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("listening on http://" + ln.Addr().String())
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
