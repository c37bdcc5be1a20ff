package ginwarden_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wardenkit/warden/adapters/ginwarden"
	"github.com/wardenkit/warden/adapters/internal/adaptertest"
	"github.com/wardenkit/warden/core"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t testing.TB, eng *core.Engine, userHeader string) http.Handler {
		r := gin.New()
		r.Use(ginwarden.Middleware(eng, ginwarden.WithUser(func(c *gin.Context) string { return c.GetHeader(userHeader) })))
		r.Any("/*path", func(c *gin.Context) {
			d, ok := ginwarden.DecisionFrom(c)
			adaptertest.Hello(c.Writer, d, ok)
		})
		return r
	})
}
