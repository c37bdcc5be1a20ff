package admin

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

type openAPIDocT struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDocT {
	t.Helper()
	var doc openAPIDocT
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	return doc
}

// Every /api/ route is documented, and every documented operation routed.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	routed := map[string]bool{}
	for _, r := range routes() {
		if !strings.HasPrefix(r.path, "/api/") {
			continue
		}
		op := strings.ToLower(r.method) + " " + r.path
		routed[op] = true
		if _, ok := doc.Paths[r.path][strings.ToLower(r.method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", r.method, r.path)
		}
	}
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options"}
	n := 0
	for path, ops := range doc.Paths {
		for m := range ops {
			if !slices.Contains(methods, m) {
				continue // "parameters"
			}
			n++
			if !routed[m+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not routed", strings.ToUpper(m), path)
			}
		}
	}
	if n != len(routed) || n < 15 {
		t.Errorf("%d documented operations, %d routed", n, len(routed))
	}
}

// The schemas of the rules and settings are the types' JSON fields.
func TestOpenAPISchemasMatchTheTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"BlockedIP": reflect.TypeFor[rule.BlockedIP](), "WhitelistedIP": reflect.TypeFor[rule.WhitelistedIP](),
		"BlockedCountry": reflect.TypeFor[rule.BlockedCountry](), "AllowedCountry": reflect.TypeFor[rule.AllowedCountry](),
		"BlockedUserAgent": reflect.TypeFor[rule.BlockedUserAgent](), "WhitelistedUser": reflect.TypeFor[rule.WhitelistedUser](),
		"BlockedEmail": reflect.TypeFor[rule.BlockedEmail](), "BlockedDomain": reflect.TypeFor[rule.BlockedDomain](),
		"RateLimitRule": reflect.TypeFor[rule.RateLimitRule](), "Settings": reflect.TypeFor[core.Settings](),
		"LockoutRecord": reflect.TypeFor[core.LockoutRecord](), "LoginRecord": reflect.TypeFor[core.LoginRecord](),
		"Event": reflect.TypeFor[core.Event](), "Step": reflect.TypeFor[core.Step](),
	} {
		want := slices.Sorted(func(yield func(string) bool) {
			for k := range jsonIndex(typ) {
				if !yield(k) {
					return
				}
			}
		})
		var got []string
		for k := range doc.Components.Schemas[name].Properties {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has %v; the type has %v", name, got, want)
		}
	}
}
