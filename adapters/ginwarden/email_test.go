package ginwarden_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func TestCheckEmail(t *testing.T) {
	adaptertest.RunEmail(t, func(t testing.TB, eng *core.Engine) http.Handler {
		r := gin.New()
		r.POST("/signup", func(c *gin.Context) {
			if ok, _ := ginwarden.CheckEmail(c, eng, c.PostForm("email")); !ok {
				return
			}
			c.String(http.StatusOK, adaptertest.Welcome)
		})
		return r
	})
}
