package httpwarden_test

import (
	"net/http"
	"testing"

	"github.com/wardenkit/warden/adapters/httpwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t testing.TB, eng *core.Engine, userHeader string) http.Handler {
		mw := httpwarden.Middleware(eng, httpwarden.WithUser(func(r *http.Request) string { return r.Header.Get(userHeader) }))
		return mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, ok := httpwarden.DecisionFrom(r)
			adaptertest.Hello(w, d, ok)
		}))
	})
}
