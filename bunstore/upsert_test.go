package bunstore_test

import (
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// Every kind upserts on its own key (the rate-limit rule on two columns):
// a second Put of the same key, disabled, then a third, active, keep one
// row with the first ID and created_at, and reactivate it.
func TestUpsertEveryKind(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore(t, b)
		upsertKind(t, s.BlockedIPs(), rule.BlockedIP{Network: "2001:db8::/48"}, func(v *rule.BlockedIP) { v.Disabled = true })
		upsertKind(t, s.WhitelistedIPs(), rule.WhitelistedIP{Network: "10.0.0.0/8"}, func(v *rule.WhitelistedIP) { v.Disabled = true })
		upsertKind(t, s.BlockedCountries(), rule.BlockedCountry{Code: "RU"}, func(v *rule.BlockedCountry) { v.Disabled = true })
		upsertKind(t, s.AllowedCountries(), rule.AllowedCountry{Code: "FR"}, func(v *rule.AllowedCountry) { v.Disabled = true })
		upsertKind(t, s.BlockedUserAgents(), rule.BlockedUserAgent{Pattern: "BadBot"}, func(v *rule.BlockedUserAgent) { v.Disabled = true })
		upsertKind(t, s.WhitelistedUsers(), rule.WhitelistedUser{UserID: "u-1"}, func(v *rule.WhitelistedUser) { v.Disabled = true })
		upsertKind(t, s.BlockedEmails(), rule.BlockedEmail{Email: "a@b.example"}, func(v *rule.BlockedEmail) { v.Disabled = true })
		upsertKind(t, s.BlockedDomains(), rule.BlockedDomain{Domain: "b.example"}, func(v *rule.BlockedDomain) { v.Disabled = true })
		upsertKind(t, s.RateLimitRules(), rule.RateLimitRule{Name: "login", PathPattern: "/login", Method: "POST", Rate: "5/m"},
			func(v *rule.RateLimitRule) { v.Disabled = true })
		// Same path, other method: another row.
		other, err := s.RateLimitRules().Put(testCtx(t), rule.RateLimitRule{Name: "login get", PathPattern: "/login", Method: "GET", Rate: "50/m"})
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := s.RateLimitRules().List(testCtx(t), core.Query{}); len(l) != 2 || other.Key() != "GET /login" {
			t.Fatalf("rate-limit rules: %d rows, key %q; want 2 rows", len(l), other.Key())
		}
		if err := s.RateLimitRules().Delete(testCtx(t), "POST /login"); err != nil {
			t.Fatal(err)
		}
		if g, err := s.RateLimitRules().Get(testCtx(t), "GET /login"); err != nil || g.ID != other.ID {
			t.Fatalf("Get(GET /login) after deleting POST /login = %+v, %v", g, err)
		}
		// Keys are compared exactly: case and trailing spaces matter.
		for _, p := range []string{"badbot", "BadBot "} {
			if _, err := s.BlockedUserAgents().Put(testCtx(t), rule.BlockedUserAgent{Pattern: p}); err != nil {
				t.Fatal(err)
			}
		}
		if l, _ := s.BlockedUserAgents().List(testCtx(t), core.Query{}); len(l) != 3 {
			t.Fatalf("user-agent patterns BadBot, badbot and \"BadBot \" made %d rows, want 3", len(l))
		}
	})
}

func upsertKind[T rule.Rule](t *testing.T, tbl core.Table[T], v T, disable func(*T)) {
	t.Helper()
	ctx := testCtx(t)
	first, err := tbl.Put(ctx, v)
	if err != nil {
		t.Fatalf("Put %T: %v", v, err)
	}
	off := v
	disable(&off)
	if got, err := tbl.Put(ctx, off); err != nil || got.IsActive() || got.GetMeta().ID != first.GetMeta().ID {
		t.Fatalf("disabling %T: %+v, %v", v, got, err)
	}
	again, err := tbl.Put(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetMeta().ID != first.GetMeta().ID || !again.IsActive() || !again.GetMeta().CreatedAt.Equal(first.GetMeta().CreatedAt) {
		t.Fatalf("%T re-put = %+v; want ID %d, active, created %v", v, again.GetMeta(), first.GetMeta().ID, first.GetMeta().CreatedAt)
	}
	if l, _ := tbl.List(ctx, core.Query{}); len(l) != 1 {
		t.Fatalf("%T: %d rows after three Puts of one key", v, len(l))
	}
}
