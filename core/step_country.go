package core

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/wardenkit/warden/core/rule"
)

// countryEntry is one compiled blocked country.
type countryEntry struct {
	id         int64
	reportOnly bool
}

// stepCountry applies block mode and allow-list mode. It is skipped when no
// country rule is active. Unknown countries pass in block mode and are denied
// in allow-list mode; internal addresses use Settings.InternalCountry.
func (e *Engine) stepCountry(c *checkState) bool {
	s := c.s
	if !(s.blockActive || s.allowActive) || c.ex == rule.ExemptGeoBlock {
		return false
	}
	ro := s.Settings.ReportOnlyCountryAllowList
	code, known := e.country(s, c.d.ClientIP)
	if !known {
		// Unknown country: denied in allow-list mode; "-" is an internal
		// address that passes.
		return s.allowActive && code != "-" && e.hit(c, ActionCountryWhitelistBlock, 0, ro, "unknown country")
	}
	c.d.Country = code
	i := countryIndex(code)
	if b := s.countryBlocked[i]; s.blockActive && b.id != 0 && e.hit(c, ActionCountryBlock, b.id, b.reportOnly, "") {
		return true
	}
	return s.allowActive && s.countryAllowed[i] == 0 && e.hit(c, ActionCountryWhitelistBlock, 0, ro, "")
}

// country resolves ip's country for the country step. known is false for an
// unknown country; the code "-" with known false means an internal address
// that passes the step.
func (e *Engine) country(s *snapshot, ip netip.Addr) (code string, known bool) {
	if internalAddr(ip) {
		if s.Settings.InternalCountry == "" {
			return "-", false
		}
		return s.Settings.InternalCountry, true
	}
	if e.cfg.geo == nil {
		return "", false
	}
	code, ok := e.cfg.geo.Country(ip)
	if !ok || countryIndex(code) < 0 {
		return "", false
	}
	if code[0] >= 'a' || code[1] >= 'a' {
		code, _ = rule.NormalizeCountry(code)
	}
	return code, true
}

// loadCountries compiles blocked and allowed countries into two arrays
// indexed by code, and decides which modes are active.
func (s *snapshot) loadCountries(ctx context.Context, st Store) error {
	q := Query{ActiveOnly: true}
	blocked, err := st.BlockedCountries().List(ctx, q)
	if err != nil {
		return fmt.Errorf("list blocked countries: %w", err)
	}
	for _, r := range blocked {
		i := countryIndex(r.Code)
		if _, ok := rule.NormalizeCountry(r.Code); !ok || i < 0 {
			s.skip("BlockedCountry", r.Meta, r.Code, errNotCountry)
			continue
		}
		if r.IsActive() {
			s.countryBlocked[i] = countryEntry{id: r.ID, reportOnly: r.ReportOnly}
			s.blockActive = true
		}
	}
	allowed, err := st.AllowedCountries().List(ctx, q)
	if err != nil {
		return fmt.Errorf("list allowed countries: %w", err)
	}
	nAllowed := 0
	for _, r := range allowed {
		i := countryIndex(r.Code)
		if _, ok := rule.NormalizeCountry(r.Code); !ok || i < 0 {
			s.skip("AllowedCountry", r.Meta, r.Code, errNotCountry)
			continue
		}
		if r.IsActive() {
			s.countryAllowed[i] = r.ID
			nAllowed++
		}
	}
	set := &s.Settings
	s.blockActive = s.blockActive && set.CountryBlockingEnabled
	s.allowActive = set.CountryAllowListMode && nAllowed > 0
	if set.CountryAllowListMode && nAllowed == 0 {
		s.skip("Settings", rule.Meta{ID: 1}, "country_allow_list_mode", fmt.Errorf("allow-list mode with no active allowed country; the allow-list step is off"))
	}
	return nil
}

var errNotCountry = fmt.Errorf("not an ISO 3166-1 alpha-2 code")
