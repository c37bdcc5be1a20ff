package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
)

func testSettings(t *testing.T, s core.Store) {
	c := ctx(t)
	got, err := s.Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	want := core.DefaultSettings()
	got.UpdatedAt = time.Time{}
	if got != want {
		t.Fatalf("empty store settings = %+v, want defaults", got)
	}
	set := core.DefaultSettings()
	set.MaxLoginAttempts = 7
	set.LockoutCooloffMinutes = 30
	set.AttemptExpiry = true
	set.CountryAllowListMode = true
	set.ReportOnly = true
	set.ReportOnlyCountryAllowList = true
	set.IPBlockingEnabled = false
	set.InternalCountry = "de"
	set.OversizeUserAgent = core.OversizeAllow
	set.NotificationEmail = "ops@example.com"
	set.LastSyncAt = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC) // not PutSettings' to write
	if _, err := s.PutSettings(c, set); err != nil {
		t.Fatal(err)
	}
	got, err = s.Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.IsZero() {
		t.Fatal("UpdatedAt not set")
	}
	got.UpdatedAt = time.Time{}
	set.InternalCountry = "DE"
	if !got.LastSyncAt.IsZero() {
		t.Fatalf("PutSettings wrote LastSyncAt %v; only SetLastSyncAt may", got.LastSyncAt)
	}
	got.LastSyncAt = set.LastSyncAt
	if got != set {
		t.Fatalf("settings round trip:\n got %+v\nwant %+v", got, set)
	}
	bad := got
	bad.MaxLoginAttempts = 0
	if _, err := s.PutSettings(c, bad); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("max_login_attempts 0: %v, want ErrInvalid", err)
	}
	bad = got
	bad.LockoutCooloffMinutes, bad.AttemptExpiry = 0, true
	if _, err := s.PutSettings(c, bad); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("expiry without cooloff: %v, want ErrInvalid", err)
	}
	if again, _ := s.Settings(c); again.MaxLoginAttempts != 7 {
		t.Fatalf("a refused write changed the settings: %+v", again)
	}
}

// testSettingsConflict: a write carries the UpdatedAt it read and is
// refused when another write came between, so no change is undone.
func testSettingsConflict(t *testing.T, s core.Store) {
	c := ctx(t)
	first, err := s.Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	a, b := first, first // two admins read the same settings
	a.MaxLoginAttempts = 8
	stored, err := s.PutSettings(c, a)
	if err != nil {
		t.Fatalf("first write: %v", err)
	}
	if !stored.UpdatedAt.After(first.UpdatedAt) {
		t.Fatalf("UpdatedAt %v did not move past %v", stored.UpdatedAt, first.UpdatedAt)
	}
	b.ReportOnly = true
	v0 := version(t, s)
	if _, err := s.PutSettings(c, b); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("a write over a stale read: %v, want ErrConflict", err)
	}
	got, _ := s.Settings(c)
	if got.MaxLoginAttempts != 8 || got.ReportOnly || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Fatalf("a refused write changed the settings: %+v", got)
	}
	if v := version(t, s); v != v0 {
		t.Fatalf("a refused write moved the version from %d to %d", v0, v)
	}
	// Written over what it read, the second admin's change goes through.
	got.ReportOnly = true
	again, err := s.PutSettings(c, got)
	if err != nil || !again.ReportOnly || again.MaxLoginAttempts != 8 {
		t.Fatalf("write over a fresh read = %+v, %v", again, err)
	}
	if _, err := s.PutSettings(c, got); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("the same read written twice: %v, want ErrConflict", err)
	}

	// Racing writers over one read: exactly one wins.
	base, _ := s.Settings(c)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			w := base
			w.MaxCountriesPerDay = 10 + i
			_, errs[i] = s.PutSettings(c, w)
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("writers %d and %d both wrote over the same read", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, core.ErrConflict):
			t.Fatalf("writer %d: %v, want ErrConflict or success", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer won")
	}
	if got, _ := s.Settings(c); got.MaxCountriesPerDay != 10+won {
		t.Fatalf("stored max_countries_per_day %d, want the winner's %d", got.MaxCountriesPerDay, 10+won)
	}
}
