package httpwarden_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/wardenkit/warden/adapters/httpwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func TestCheckEmail(t *testing.T) {
	adaptertest.RunEmail(t, func(t testing.TB, eng *core.Engine) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
			if ok, _ := httpwarden.CheckEmail(w, r, eng, r.PostFormValue("email")); !ok {
				return
			}
			_, _ = io.WriteString(w, adaptertest.Welcome)
		})
		return mux
	})
}
