// Command everycheck serves a hello route with every warden check on, for
// the wrk comparison in ../../run.sh:
//
//	go run ./cmd/everycheck -mmdb /tmp/warden-bench-country.mmdb -stack gin-warden
//
// -stack picks what sits in front of the route: gin (bare), gin-warden,
// gin-ulule (ulule/limiter's Gin middleware over its memory store), echo
// (bare) or echo-warden. The warden engine holds the load: 100,000
// blocked IPs, 1,000 blocked networks, 500 User-Agent patterns (10 regexes),
// 50 blocked countries over the -mmdb country database, 20 rate-limit rules
// (one matching "/", never exhausted) and 127.0.0.0/8 as a trusted proxy, so
// the client is read from X-Forwarded-For. -mmdb is generated with
// mmdbwriter when the file does not exist (about 250,000 networks; once).
// The rules sit where a production service keeps them: in a SQL store
// (-store, a SQLite file through bunstore, as the example app runs; filled
// once, about 30 s, and reused). The engine enforces them from its in-memory
// snapshot either way; -store mem keeps them in a memstore instead, whose
// 100,000 rows (17 MB of strings and structs) the garbage collector then
// marks on every cycle, about 1 µs per request at 75,000 requests/s.
// -pprof serves net/http/pprof on another address for profiles under load.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/ulule/limiter/v3"
	ulgin "github.com/ulule/limiter/v3/drivers/middleware/gin"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address")
	stack := flag.String("stack", "gin-warden", "gin, gin-warden, gin-ulule, echo or echo-warden")
	mmdb := flag.String("mmdb", "/tmp/warden-bench-country.mmdb", "country database (generated when missing)")
	store := flag.String("store", "/tmp/warden-bench-rules.db", "rule store: a SQLite file (filled when it holds no rules) or mem (a memstore)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	flag.Parse()
	if err := ensureMMDB(*mmdb); err != nil {
		log.Fatal(err)
	}
	if *stack == "gen" {
		if *store != "mem" {
			st, err := openStore(context.Background(), *store)
			if err != nil {
				log.Fatal(err)
			}
			_ = st.(io.Closer).Close()
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var h http.Handler
	switch *stack {
	case "gin", "gin-warden", "gin-ulule":
		h = ginServer(ctx, *stack, *mmdb, *store)
	case "echo", "echo-warden":
		h = echoServer(ctx, *stack, *mmdb, *store)
	default:
		log.Fatalf("everycheck: -stack %q: want gin, gin-warden, gin-ulule, echo or echo-warden", *stack)
	}
	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }()
	}
	srv := &http.Server{Addr: *addr, Handler: h}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	fmt.Printf("listening on http://%s (%s)\n", *addr, *stack)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func ginServer(ctx context.Context, stack, mmdb, store string) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	switch stack {
	case "gin-warden":
		r.Use(ginwarden.Middleware(mustEngine(ctx, mmdb, store)))
	case "gin-ulule":
		lim := limiter.New(memory.NewStore(), limiter.Rate{Period: 1e9, Limit: 1_000_000_000}, limiter.WithTrustForwardHeader(true))
		r.Use(ulgin.NewMiddleware(lim))
	}
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "hello") })
	return r
}

func echoServer(ctx context.Context, stack, mmdb, store string) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if stack == "echo-warden" {
		e.Use(echowarden.Middleware(mustEngine(ctx, mmdb, store)))
	}
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	return e
}

// clientCountry is the country of the client wrk sends in X-Forwarded-For
// (run.sh: 81.2.69.160); it is never among the blocked ones.
const clientCountry = "GB"

var blockedCountries = []string{"AF", "AL", "DZ", "AO", "AR", "AM", "AZ", "BH", "BD", "BY", "KH", "CN", "CO", "CU", "EG", "ET",
	"GE", "GH", "IR", "IQ", "KZ", "KE", "KP", "KW", "LB", "LY", "MY", "MA", "MM", "NG", "OM", "PK", "PS", "PH", "QA", "RO",
	"RU", "SA", "RS", "SD", "SY", "TH", "TN", "TR", "UA", "AE", "VE", "VN", "YE", "ZW"}

var botNames = []string{"ahrefsbot", "semrushbot", "mj12bot", "dotbot", "blexbot", "serpstatbot", "seekportbot", "zgrab",
	"masscan", "nuclei", "sqlmap", "nikto", "nmap", "libwww-perl", "scrapy", "ccbot", "bytespider", "gptbot", "chatgpt-user",
	"claudebot", "anthropic-ai", "petalbot", "yandexbot", "baiduspider", "dataforseobot", "megaindex", "barkrowler"}

func mustEngine(ctx context.Context, mmdb, store string) *core.Engine {
	eng, err := engine(ctx, mmdb, store)
	if err != nil {
		log.Fatal(err)
	}
	return eng
}

// openStore opens the rule store: "mem" is a memstore filled now; any other
// value is a SQLite file (bunstore, as the example app runs), filled once
// when it holds no rules yet and reused by later runs.
func openStore(ctx context.Context, store string) (core.Store, error) {
	if store == "mem" {
		st := memstore.New()
		return st, fill(ctx, st)
	}
	st, err := bunstore.Open(ctx, "sqlite:file:"+store, bunstore.WithAutoMigrate())
	if err != nil {
		return nil, err
	}
	rows, err := st.BlockedIPs().List(ctx, core.Query{Limit: 1})
	if err != nil || len(rows) > 0 {
		return st, err
	}
	start := time.Now()
	if err := fill(ctx, st); err != nil {
		_ = st.Close()
		_ = os.Remove(store) // half-filled: build it again next time
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "everycheck: filled %s in %v\n", store, time.Since(start).Round(time.Millisecond))
	return st, nil
}

// fill stores the rules (the DESIGN §9 load).
func fill(ctx context.Context, st core.Rules) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{byte(100 + rng.IntN(100)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		if i%10 == 0 {
			var b [16]byte
			b[0], b[1] = 0x2a, 0x0f
			for j := 2; j < 16; j++ {
				b[j] = byte(rng.IntN(256))
			}
			a = netip.AddrFrom16(b)
		}
		if _, err := st.BlockedIPs().Put(ctx, rule.BlockedIP{Network: a.String(), Reason: "bench"}); err != nil {
			return err
		}
	}
	for range 1_000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(100 + rng.IntN(100)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0}), 24)
		if _, err := st.BlockedIPs().Put(ctx, rule.BlockedIP{Network: p.String()}); err != nil {
			return err
		}
	}
	for i := range 500 {
		u := rule.BlockedUserAgent{Pattern: fmt.Sprintf("%s-%d", botNames[i%len(botNames)], i)}
		if i < len(botNames) {
			u.Pattern = botNames[i]
		}
		if i >= 490 {
			u = rule.BlockedUserAgent{Pattern: fmt.Sprintf(`evil%d/\d+\.\d+`, i), Match: rule.UARegex}
		}
		if _, err := st.BlockedUserAgents().Put(ctx, u); err != nil {
			return err
		}
	}
	for _, c := range blockedCountries {
		if _, err := st.BlockedCountries().Put(ctx, rule.BlockedCountry{Code: c}); err != nil {
			return err
		}
	}
	for i := range 20 {
		p := fmt.Sprintf("/api/v%d/*", i)
		if i == 0 {
			p = "/"
		}
		if _, err := st.RateLimitRules().Put(ctx, rule.RateLimitRule{Name: fmt.Sprint("r", i), PathPattern: p, Rate: "1000000000/s"}); err != nil {
			return err
		}
	}
	return nil
}

// engine builds the every-check engine over the store.
func engine(ctx context.Context, mmdb, store string) (*core.Engine, error) {
	st, err := openStore(ctx, store)
	if err != nil {
		return nil, err
	}
	db, err := geo.Open(mmdb)
	if err != nil {
		return nil, err
	}
	eng, err := core.New(st, core.WithCountryLookup(db),
		core.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return eng, eng.Start(ctx)
}
