package echowarden_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/wardenkit/warden/adapters/echowarden"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func Example() {
	ctx := context.Background()
	eng, err := core.New(memstore.New())
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)
	if _, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner"}); err != nil {
		panic(err)
	}

	e := echo.New()
	e.Use(echowarden.Middleware(eng))
	e.GET("/", func(c echo.Context) error {
		d, _ := echowarden.DecisionFrom(c)
		return c.String(http.StatusOK, "hello "+d.ClientIP.String())
	})

	for _, peer := range []string{"198.51.100.1:4000", "203.0.113.7:4000"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = peer
		req.Header.Set("X-Real-IP", "192.0.2.1") // ignored: no proxy is trusted
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body)
	}
	// Output:
	// 200 hello 198.51.100.1
	// 403 Access denied
}

// A denial handed to Echo's error handler.
func ExampleWithDenyHandler() {
	ctx := context.Background()
	eng, _ := core.New(memstore.New())
	_ = eng.Start(ctx)
	defer eng.Close(ctx)
	_, _ = eng.Rules().BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: "sqlmap"})

	e := echo.New()
	e.Use(echowarden.Middleware(eng,
		echowarden.WithDenyHandler(func(c echo.Context, d core.Decision) error {
			return echo.NewHTTPError(d.Status, d.Message())
		}),
		echowarden.WithSkipper(func(c echo.Context) bool { return c.Path() == "/metrics" })))
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "198.51.100.1:4000"
	req.Header.Set("User-Agent", "sqlmap/1.8")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// 403 {"message":"Access denied"}
}
