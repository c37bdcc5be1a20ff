package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/feeds"
)

// status is what warden status reports.
type status struct {
	Store        string         `json:"store"`
	Version      int64          `json:"version"`
	Redis        bool           `json:"redis"`
	Rules        map[string]int `json:"rules"`
	Locked       int            `json:"locked"`
	Settings     core.Settings  `json:"settings"`
	InvalidRules int            `json:"invalid_rules"`
	GeoIP        geoipStatus    `json:"geoip"`
}

// geoipStatus describes the country database file, when one is configured
// (--geoip, WARDEN_GEOIP, or a country.mmdb in the working directory).
type geoipStatus struct {
	Configured bool      `json:"configured"`
	Path       string    `json:"path,omitempty"`
	Modified   time.Time `json:"modified,omitzero"`
	AgeSeconds int64     `json:"age_seconds,omitempty"`
	Type       string    `json:"type,omitempty"`
	BuildTime  time.Time `json:"build_time,omitzero"`
	Error      string    `json:"error,omitempty"`
}

func readGeoIPStatus(a *app, now time.Time) geoipStatus {
	path := a.geoip
	if path == "" {
		if _, err := os.Stat(defaultGeoIP); err != nil {
			return geoipStatus{}
		}
		path = defaultGeoIP
	}
	gs := geoipStatus{Configured: true, Path: path}
	db, err := feeds.StatGeoIP(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		gs.Error = path + " does not exist (warden geoip download --output " + path + ")"
		return gs
	case err != nil:
		gs.Error = err.Error()
		return gs
	}
	gs.Modified, gs.Type, gs.BuildTime = db.ModTime.UTC(), db.Type, db.BuildTime
	gs.AgeSeconds = int64(max(now.Sub(db.ModTime), 0).Seconds())
	return gs
}

func (g geoipStatus) String() string {
	switch {
	case !g.Configured:
		return "not configured (--geoip or WARDEN_GEOIP; warden geoip download)"
	case g.Error != "":
		return g.Error
	}
	return fmt.Sprintf("%s, %s built %s, file %s old", g.Path, g.Type, g.BuildTime.Format(time.DateOnly), age(time.Duration(g.AgeSeconds)*time.Second))
}

// age is d in days and hours, hours and minutes, or seconds.
func age(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func statusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the store, rule counts, lockouts, the main settings and the GeoIP file",
		Long: `status shows the database (--dsn, WARDEN_DSN), whether a Redis bus is used,
the number of rules of each kind, the accounts and addresses locked now, the
main settings, the last list sync, and the country database: its path, the
database type and build date from its metadata, and the age of the file
(its modification time, which geoip download sets to the server's
Last-Modified). The file is --geoip or WARDEN_GEOIP, or country.mmdb when it
exists in the working directory.`,
		Example: `  warden status
  warden status --json
  WARDEN_GEOIP=/var/lib/warden/country.mmdb warden status`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := readStatus(cmd.Context(), a)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.stdout, st)
			}
			printStatus(a, st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func readStatus(ctx context.Context, a *app) (status, error) {
	eng, err := a.engine(ctx)
	if err != nil {
		return status{}, err
	}
	scheme, _, _ := strings.Cut(a.dsn, ":")
	st := status{Store: scheme, Redis: a.bus != nil, Rules: map[string]int{}}
	if st.Version, err = a.store.Version(ctx); err != nil {
		return st, err
	}
	for _, name := range ruleKinds {
		n, err := kinds[name].count(ctx, a.store)
		if err != nil {
			return st, err
		}
		st.Rules[name] = n
	}
	locked, err := eng.Lockout().ListLocked(ctx, 10_000)
	if err != nil {
		return st, err
	}
	st.Locked = len(locked)
	if st.Settings, err = eng.Settings(ctx); err != nil {
		return st, err
	}
	st.InvalidRules = len(eng.Stats().InvalidRows)
	st.GeoIP = readGeoIPStatus(a, time.Now())
	return st, nil
}

func printStatus(a *app, st status) {
	a.say("store:         %s (version %d)%s", st.Store, st.Version, map[bool]string{true: ", Redis bus", false: ""}[st.Redis])
	for _, name := range ruleKinds {
		a.say("%-14s %d", name+":", st.Rules[name])
	}
	a.say("locked now:    %d", st.Locked)
	s := st.Settings
	a.say("report only:   %v", s.ReportOnly)
	a.say("blocking:      ip %v, user agent %v, country %v, e-mail %v, domain %v",
		s.IPBlockingEnabled, s.UserAgentBlockingEnabled, s.CountryBlockingEnabled, s.EmailBlockingEnabled, s.DomainBlockingEnabled)
	a.say("login:         %d attempts, cool-off %d min", s.MaxLoginAttempts, s.LockoutCooloffMinutes)
	a.say("last sync:     %s", when(s.LastSyncAt))
	a.say("geoip:         %s", st.GeoIP)
	if st.InvalidRules > 0 {
		a.say("invalid rules: %d stored rows fail validation and are not enforced", st.InvalidRules)
	}
}
