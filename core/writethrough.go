package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/wardenkit/warden/core/rule"
)

// Rules returns write-through tables: a write goes to the store (which bumps
// the version in the same transaction), is announced on the bus, and is
// enforced by this engine before the call returns (bounded by ctx and five
// seconds). Other replicas follow through the bus or the version poll.
func (e *Engine) Rules() Rules { return engineRules{e} }

type engineRules struct{ e *Engine }

func (r engineRules) BlockedIPs() Table[rule.BlockedIP] {
	return &wtable[rule.BlockedIP]{r.e, r.e.store.BlockedIPs(), nil}
}
func (r engineRules) WhitelistedIPs() Table[rule.WhitelistedIP] {
	return &wtable[rule.WhitelistedIP]{r.e, r.e.store.WhitelistedIPs(), nil}
}
func (r engineRules) BlockedCountries() Table[rule.BlockedCountry] {
	return &wtable[rule.BlockedCountry]{r.e, r.e.store.BlockedCountries(), nil}
}
func (r engineRules) AllowedCountries() Table[rule.AllowedCountry] {
	return &wtable[rule.AllowedCountry]{r.e, r.e.store.AllowedCountries(), r.e.checkAllowedChange}
}
func (r engineRules) BlockedUserAgents() Table[rule.BlockedUserAgent] {
	return &wtable[rule.BlockedUserAgent]{r.e, r.e.store.BlockedUserAgents(), r.e.checkUAChange}
}
func (r engineRules) WhitelistedUsers() Table[rule.WhitelistedUser] {
	return &wtable[rule.WhitelistedUser]{r.e, r.e.store.WhitelistedUsers(), nil}
}
func (r engineRules) BlockedEmails() Table[rule.BlockedEmail] {
	return &wtable[rule.BlockedEmail]{r.e, r.e.store.BlockedEmails(), nil}
}
func (r engineRules) BlockedDomains() Table[rule.BlockedDomain] {
	return &wtable[rule.BlockedDomain]{r.e, r.e.store.BlockedDomains(), nil}
}
func (r engineRules) RateLimitRules() Table[rule.RateLimitRule] {
	return &wtable[rule.RateLimitRule]{r.e, r.e.store.RateLimitRules(), nil}
}

// wtable wraps a store table. check, when set, vets a write (put: the new
// row; delete: the key) against the current rules.
type wtable[T rule.Rule] struct {
	e     *Engine
	inner Table[T]
	check func(ctx context.Context, key string, row *T) error
}

func (t *wtable[T]) List(ctx context.Context, q Query) ([]T, error) { return t.inner.List(ctx, q) }

func (t *wtable[T]) Get(ctx context.Context, key string) (T, error) {
	k, err := canonicalKey[T](key)
	if err != nil {
		var zero T
		return zero, t.refused("Get", err)
	}
	return t.inner.Get(ctx, k)
}

// refused wraps a validation error with the operation, in the package's
// error style: "core: Put BlockedIP: invalid BlockedIP.network …".
func (t *wtable[T]) refused(op string, err error) error {
	var zero T
	return fmt.Errorf("core: %s %s: %w", op, typeName(zero), err)
}

func (t *wtable[T]) Put(ctx context.Context, v T) (T, error) {
	n, err := rule.Normalize(v)
	if err != nil {
		var zero T
		return zero, t.refused("Put", err)
	}
	if t.check != nil {
		if err := t.check(ctx, n.Key(), &n); err != nil {
			var zero T
			return zero, t.refused("Put", err)
		}
	}
	row, err := t.inner.Put(ctx, v)
	if err != nil {
		return row, err
	}
	t.e.changed(ctx)
	return row, nil
}

func (t *wtable[T]) Delete(ctx context.Context, key string) error {
	k, err := canonicalKey[T](key)
	if err != nil {
		return t.refused("Delete", err)
	}
	if t.check != nil {
		if err := t.check(ctx, k, nil); err != nil {
			return t.refused("Delete", err)
		}
	}
	if err := t.inner.Delete(ctx, k); err != nil {
		return err
	}
	t.e.changed(ctx)
	return nil
}

// canonicalKey turns a key as a user may write it ("::ffff:1.2.3.4", "fr",
// " Bob@Example.com ") into the key the store holds.
func canonicalKey[T rule.Rule](key string) (string, error) {
	var zero T
	switch any(zero).(type) {
	case rule.BlockedIP, rule.WhitelistedIP:
		p, err := rule.ParseNetwork(key)
		if err != nil {
			return "", invalid(typeName(zero), "network", key, err.Error())
		}
		return formatNetwork(p), nil
	case rule.BlockedCountry, rule.AllowedCountry:
		c, ok := rule.NormalizeCountry(key)
		if !ok {
			return "", invalid(typeName(zero), "code", key, "not an ISO 3166-1 alpha-2 code")
		}
		return c, nil
	case rule.BlockedEmail:
		a, ok := rule.NormalizeEmail(key)
		if !ok {
			return "", invalid("BlockedEmail", "email", key, "not an e-mail address")
		}
		return a, nil
	case rule.BlockedDomain:
		d, ok := rule.NormalizeDomain(key)
		if !ok {
			return "", invalid("BlockedDomain", "domain", key, "not a domain name")
		}
		return d, nil
	case rule.RateLimitRule:
		m, p, ok := strings.Cut(strings.TrimSpace(key), " ")
		if !ok {
			return "", invalid("RateLimitRule", "key", key, `want "METHOD /path"`)
		}
		return strings.ToUpper(m) + " " + p, nil
	}
	return key, nil
}

// checkAllowedChange refuses to remove or disable the last allowed country
// while allow-list mode is on: that would deny every request.
func (e *Engine) checkAllowedChange(ctx context.Context, key string, row *rule.AllowedCountry) error {
	if row != nil && row.IsActive() {
		return nil
	}
	set, err := e.store.Settings(ctx)
	if err != nil || !set.CountryAllowListMode {
		return err
	}
	rows, err := e.store.AllowedCountries().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.IsActive() && r.Code != key {
			return nil
		}
	}
	return invalid("AllowedCountry", "code", key, "the last allowed country cannot be removed while country allow-list mode is on")
}

// checkUAChange refuses a regex pattern beyond the limit of active ones.
func (e *Engine) checkUAChange(ctx context.Context, key string, row *rule.BlockedUserAgent) error {
	if row == nil || row.Match != rule.UARegex || !row.IsActive() {
		return nil
	}
	rows, err := e.store.BlockedUserAgents().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return err
	}
	n := 0
	for _, r := range rows {
		if r.IsActive() && r.Match == rule.UARegex && r.Pattern != key {
			n++
		}
	}
	if n >= maxRegexPatterns {
		return invalid("BlockedUserAgent", "pattern", key, fmt.Sprintf("at most %d active regex patterns", maxRegexPatterns))
	}
	return nil
}

// Settings returns the settings of the current snapshot, or the store's when
// none is loaded.
func (e *Engine) Settings(ctx context.Context) (Settings, error) {
	if s := e.snap.Load(); s != nil {
		return s.Settings, nil
	}
	return e.store.Settings(ctx)
}

// PutSettings validates and stores s, then propagates it like a rule write.
// s.UpdatedAt must be the value read: a write over a change made since
// then fails with ErrConflict.
// Country allow-list mode is refused without a CountryLookup or without an
// active allowed country.
func (e *Engine) PutSettings(ctx context.Context, s Settings) (Settings, error) {
	s, err := NormalizeSettings(s)
	if err != nil {
		return Settings{}, err
	}
	if s.CountryAllowListMode {
		if e.cfg.geo == nil {
			return Settings{}, invalid("Settings", "country_allow_list_mode", "true", "needs a CountryLookup (core.WithCountryLookup)")
		}
		rows, err := e.store.AllowedCountries().List(ctx, Query{ActiveOnly: true, Limit: 1})
		if err != nil {
			return Settings{}, err
		}
		if len(rows) == 0 {
			return Settings{}, invalid("Settings", "country_allow_list_mode", "true", "add an allowed country first")
		}
	}
	out, err := e.store.PutSettings(ctx, s)
	if err != nil {
		return out, err
	}
	e.changed(ctx)
	return out, nil
}

func typeName(v any) string { return strings.TrimPrefix(fmt.Sprintf("%T", v), "rule.") }
