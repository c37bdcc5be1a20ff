package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// core may depend on the standard library, bart, golang.org/x/text,
// golang.org/x/net/idna and warden's own packages, nothing else: frameworks,
// databases, Redis, gocron, Prometheus and GeoIP libraries live in the
// adapters and the other top-level packages.
func TestCoreDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/wardenkit/warden/core").CombinedOutput()
	if err != nil {
		t.Fatalf("go list failed: %v\n%s", err, out)
	}
	allowed := []string{
		"github.com/wardenkit/warden/",
		"github.com/gaissmai/bart",
		"golang.org/x/text/",
		"golang.org/x/net/idna",
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed no dependency, not even core itself")
	}
	for _, dep := range deps {
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(dep+"/", a) || strings.HasPrefix(dep, a) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("core depends on %s, which is not on the allow-list", dep)
		}
	}
}
