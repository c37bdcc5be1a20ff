package ginwarden_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
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

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginwarden.Middleware(eng))
	r.GET("/", func(c *gin.Context) {
		d, _ := ginwarden.DecisionFrom(c)
		c.String(http.StatusOK, "hello %s", d.ClientIP)
	})

	for _, peer := range []string{"198.51.100.1:4000", "203.0.113.7:4000"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = peer
		req.Header.Set("X-Forwarded-For", "192.0.2.1") // ignored: no proxy is trusted
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body)
	}
	// Output:
	// 200 hello 198.51.100.1
	// 403 Access denied
}

// A custom denial page; the middleware aborts the chain after it.
func ExampleWithDenyHandler() {
	ctx := context.Background()
	eng, _ := core.New(memstore.New())
	_ = eng.Start(ctx)
	defer eng.Close(ctx)
	_, _ = eng.Rules().BlockedUserAgents().Put(ctx, rule.BlockedUserAgent{Pattern: "sqlmap"})

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginwarden.Middleware(eng,
		ginwarden.WithDenyHandler(func(c *gin.Context, d core.Decision) {
			c.JSON(d.Status, gin.H{"blocked": d.Message(), "why": d.Action})
		}),
		ginwarden.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == "/metrics" })))
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "hello") })

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "198.51.100.1:4000"
	req.Header.Set("User-Agent", "sqlmap/1.8")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body)
	// Output:
	// 403 {"blocked":"Access denied","why":"USER_AGENT_BLOCK"}
}
