package core

import (
	"context"
	"fmt"
	"time"

	"github.com/gaissmai/bart"

	"github.com/wardenkit/warden/core/internal/uamatch"
	"github.com/wardenkit/warden/core/rule"
)

// InvalidRow is a stored row the snapshot skipped because it failed
// validation (hand-written SQL, a regex the engine refuses). Stats lists them.
type InvalidRow struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
	Key  string `json:"key"`
	Err  string `json:"error"`
}

// snapshot is an immutable, compiled view of every active rule and the
// settings, swapped atomically on each rebuild. Expiry is judged at decision
// time, so a snapshot never goes stale as the clock advances. Each step file
// (step_*.go) holds the load function of its rule kinds.
type snapshot struct {
	Version  int64
	BuiltAt  time.Time
	Settings Settings
	Invalid  []InvalidRow

	blocked   *bart.Table[int32] // network (not a host) -> index into blockedIx
	hosts4    map[uint32]int32   // blocked IPv4 host -> index into blockedIx
	hosts6    map[[16]byte]int32 // blocked IPv6 host -> index into blockedIx
	blockedIx []ipEntry
	white     *bart.Table[int64] // prefix -> rule ID

	users map[string]userEntry

	countryBlocked [676]countryEntry
	countryAllowed [676]int64 // rule ID, 0 = not allowed
	blockActive    bool       // block mode has at least one active row
	allowActive    bool       // allow-list mode is on and has rows

	uaEnforce, uaReport *uamatch.Set

	rates rateSet

	emails             map[string]emailRule // normalised address
	domains            map[string]emailRule // punycode domain
	emailProviderRules bool                 // emails keyed with WithEmailProviderRules applied

	weights weights // Settings.AutoBlockWeights, parsed
}

// loadSnapshot reads every active row and compiles a snapshot. A store error
// fails the load; a row that fails validation is skipped and reported.
func loadSnapshot(ctx context.Context, st Store, now time.Time, providerRules bool) (*snapshot, error) {
	version, err := st.Version(ctx) // before the reads: a concurrent write bumps past it
	if err != nil {
		return nil, fmt.Errorf("read version: %w", err)
	}
	settings, err := st.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	s := &snapshot{Version: version, BuiltAt: now, emailProviderRules: providerRules}
	if settings, err = NormalizeSettings(settings); err != nil {
		s.Invalid = append(s.Invalid, InvalidRow{Kind: "Settings", ID: 1, Err: err.Error()})
		settings = DefaultSettings()
	}
	s.Settings = settings
	s.weights, _ = parseWeights(settings.AutoBlockWeights) // valid: normalised above
	for _, load := range []func(context.Context, Store) error{
		s.loadBlockedIPs, s.loadWhitelist, s.loadUsers, s.loadCountries, s.loadUserAgents, s.loadRates, s.loadEmails,
	} {
		if err := load(ctx, st); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// skip reports a row that failed validation.
func (s *snapshot) skip(kind string, m rule.Meta, key string, err error) {
	s.Invalid = append(s.Invalid, InvalidRow{Kind: kind, ID: m.ID, Key: key, Err: err.Error()})
}

func expiry(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// live reports whether an expiry stamp still applies at now. A block applies
// up to and including its expiry instant.
func live(expires, now int64) bool { return expires == 0 || now <= expires }
