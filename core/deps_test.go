package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// core must stay free of frameworks, databases, Redis, gocron and GeoIP
// libraries (DESIGN §2): those live in adapters and sub-packages.
func TestCoreDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/wardenkit/warden/core").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v: %s", err, out)
	}
	forbidden := []string{"gin-gonic", "labstack/echo", "uptrace/bun", "redis/go-redis", "go-co-op/gocron",
		"oschwald/geoip2", "oschwald/maxminddb", "database/sql", "jackc/pgx", "go-sql-driver"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.Contains(dep, f) {
				t.Errorf("core depends on %s", dep)
			}
		}
	}
}
