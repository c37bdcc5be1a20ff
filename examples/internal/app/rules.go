package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/geo"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/ruleio"
)

// flagged are the rules the flags ask for, validated.
type flagged struct {
	ips       []rule.BlockedIP
	countries []rule.BlockedCountry
	uas       []rule.BlockedUserAgent
}

// flagRules validates every rule the flags ask for, so that none is
// written when one is wrong.
func flagRules(ips, countries, uas []string) (*flagged, error) {
	f := &flagged{}
	var errs []error
	for _, s := range ips {
		r, err := rule.Normalize(rule.BlockedIP{Network: s, Reason: "-block-ip"})
		if err != nil {
			errs = append(errs, fmt.Errorf("-block-ip %q: %w", s, err))
		}
		f.ips = append(f.ips, r)
	}
	for _, s := range countries {
		r, err := rule.Normalize(rule.BlockedCountry{Code: s, Reason: "-block-country"})
		if err != nil {
			errs = append(errs, fmt.Errorf("-block-country %q: %w", s, err))
		}
		f.countries = append(f.countries, r)
	}
	for _, s := range uas {
		r, err := rule.Normalize(rule.BlockedUserAgent{Pattern: s, Category: "custom", Description: "-block-ua"})
		if err != nil {
			errs = append(errs, fmt.Errorf("-block-ua %q: %w", s, err))
		}
		f.uas = append(f.uas, r)
	}
	return f, errors.Join(errs...)
}

// write puts the rules through eng.Rules(), the way an admin page or the
// CLI writes them.
func (f *flagged) write(ctx context.Context, eng *core.Engine) error {
	rules := eng.Rules()
	for _, r := range f.ips {
		if _, err := rules.BlockedIPs().Put(ctx, r); err != nil {
			return fmt.Errorf("-block-ip %q: %w", r.Network, err)
		}
	}
	for _, r := range f.countries {
		if _, err := rules.BlockedCountries().Put(ctx, r); err != nil {
			return fmt.Errorf("-block-country %q: %w", r.Code, err)
		}
	}
	for _, r := range f.uas {
		if _, err := rules.BlockedUserAgents().Put(ctx, r); err != nil {
			return fmt.Errorf("-block-ua %q: %w", r.Pattern, err)
		}
	}
	return nil
}

// geoFile is the database path names: the file itself, or in a directory
// the first of the usual names, else its first .mmdb file.
func geoFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("-geoip %s: %w (download one: go run ./cmd/warden geoip download --output %s)", path, err, path)
	}
	if !fi.IsDir() {
		return path, nil
	}
	for _, name := range []string{"country.mmdb", "GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb"} {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			return filepath.Join(path, name), nil
		}
	}
	if m, _ := filepath.Glob(filepath.Join(path, "*.mmdb")); len(m) > 0 {
		return m[0], nil
	}
	return "", fmt.Errorf("-geoip %s: no .mmdb file in the directory (download one: go run ./cmd/warden geoip download --output %s)",
		path, filepath.Join(path, "country.mmdb"))
}

// openGeoIP opens the country database and starts its reloads.
func openGeoIP(ctx context.Context, path string, log *slog.Logger) (*geo.DB, error) {
	db, err := geo.Open(path, geo.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("%w (download one: go run ./cmd/warden geoip download --help)", err)
	}
	if err := db.Start(ctx); err != nil { // reloads the file when it changes
		_ = db.Close()
		return nil, err
	}
	st := db.Stats()
	log.Info("geoip", "file", st.Path, "type", st.DatabaseType, "built", st.BuildTime.Format("2006-01-02"))
	return db, nil
}

// logStore logs the store's kind and how many active rules of each kind it
// holds.
func logStore(ctx context.Context, log *slog.Logger, dsn string, eng *core.Engine) {
	kind, _, _ := strings.Cut(dsn, ":")
	r := eng.Rules()
	count := func(n int, err error) any {
		if err != nil {
			return "?"
		}
		return n
	}
	log.Info("store", "kind", kind,
		"blocked_ips", count(active(ctx, r.BlockedIPs())),
		"blocked_countries", count(active(ctx, r.BlockedCountries())),
		"blocked_user_agents", count(active(ctx, r.BlockedUserAgents())),
		"whitelisted_ips", count(active(ctx, r.WhitelistedIPs())),
		"rate_limit_rules", count(active(ctx, r.RateLimitRules())),
		"blocked_domains", count(active(ctx, r.BlockedDomains())))
}

// active counts the active rows of a table, reading them a page at a time.
func active[T rule.Rule](ctx context.Context, t core.Table[T]) (int, error) {
	rows, err := ruleio.ReadAll(ctx, t, core.Query{ActiveOnly: true})
	return len(rows), err
}
