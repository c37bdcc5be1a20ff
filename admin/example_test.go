package admin_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wardenkit/warden/admin"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
)

// The admin mounted under /admin of a net/http mux, behind Basic
// authentication, blocking an address through its JSON API.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	eng, err := core.New(store, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)

	h, err := admin.New(eng, admin.WithBasicAuth("admin", "correct horse"), admin.WithStore(store))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, _ := http.Get(srv.URL + "/admin/")
	res.Body.Close()
	fmt.Println("without credentials:", res.StatusCode)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/api/rules/blocked-ips", strings.NewReader(`{"network":"203.0.113.0/24","reason":"scanner"}`))
	req.SetBasicAuth("admin", "correct horse")
	res, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println("block:", res.StatusCode, strings.Contains(string(body), `"network": "203.0.113.0/24"`))

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.7:1234"
	d, _ := eng.Check(ctx, core.Request{HTTP: r})
	fmt.Println("203.0.113.7 allowed:", d.Allowed)
	// Output:
	// without credentials: 401
	// block: 201 true
	// 203.0.113.7 allowed: false
}

// An authoriser that trusts the application's own session, with a
// read-only role for auditors.
func ExampleWithAuthorizer() {
	eng, _ := core.New(memstore.New())
	session := func(r *http.Request) (user, role string) { // the application's
		c, err := r.Cookie("session")
		if err != nil {
			return "", ""
		}
		return c.Value, map[string]string{"carol": "auditor"}[c.Value]
	}
	h, err := admin.New(eng,
		admin.WithAuthorizer(func(r *http.Request) (string, bool) {
			user, _ := session(r)
			return user, user != ""
		}),
		admin.WithReadOnly(func(r *http.Request) bool {
			_, role := session(r)
			return role == "auditor"
		}))
	fmt.Println(h != nil, err)
	// Output: true <nil>
}
