package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/feeds"
)

// defaultGeoIP is the database file used when neither --geoip nor
// WARDEN_GEOIP names one.
const defaultGeoIP = "country.mmdb"

// geoipFlags are the options of geoip download.
type geoipFlags struct {
	url, edition, accountID, licenseKey, output, maxmindURL string
	timeout                                                 time.Duration
	asJSON                                                  bool
}

func geoipCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "geoip",
		Short: "Fetch the country database (.mmdb) the engine reads",
		Example: `  MAXMIND_ACCOUNT_ID=123456 MAXMIND_LICENSE_KEY=… warden geoip download
  warden geoip download --url https://download.db-ip.com/free/dbip-country-lite-2026-01.mmdb.gz`,
	}
	var f geoipFlags
	dl := &cobra.Command{
		Use:   "download [--edition E] [--account-id ID] [--license-key KEY] [--url URL] [--output FILE]",
		Short: "Download a country database and replace FILE atomically",
		Long: `download fetches a country database and replaces FILE with it.

From MaxMind (the default): the account ID and licence key come from
MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY, or --account-id and --license-key,
which override them (prefer the environment: a flag's value is visible to
other users in the process list). The edition is GeoLite2-Country (free)
unless --edition names GeoIP2-Country, GeoLite2-City, GeoIP2-City or
GeoIP2-Enterprise. The tar.gz is checked against the SHA-256 MaxMind
publishes. The licence key is never printed.

From any URL (--url, which excludes the MaxMind flags): an .mmdb, .mmdb.gz or
.tar.gz holding an .mmdb (DB-IP Lite, IPinfo Lite, a mirror); the format is
read from the bytes. The URL's query and password are never printed.

The request is conditional on FILE's modification time, which is set to the
server's Last-Modified: when the database has not changed, nothing is
downloaded or written. A new database is validated with core/geo, written to
a temporary file beside FILE, synced and renamed over it, so a running engine
watching FILE reloads it without a restart. A refused or failed download, a
checksum mismatch, a file that is not a country database or a full disk
leaves FILE as it was and exits 1. Downloads are limited to 256 MiB.

FILE is --output, or --geoip / WARDEN_GEOIP, or country.mmdb.`,
		Example: `  # MaxMind GeoLite2 Country (free account: https://www.maxmind.com/en/geolite2/signup)
  export MAXMIND_ACCOUNT_ID=123456 MAXMIND_LICENSE_KEY=…
  warden geoip download --output /var/lib/warden/country.mmdb
  warden geoip download --edition GeoIP2-Country --json

  # DB-IP Lite, no account (CC BY 4.0)
  warden geoip download --url https://download.db-ip.com/free/dbip-country-lite-2026-01.mmdb.gz
  go run ./examples/gin -geoip country.mmdb

  # daily, from cron (errors alone go to stderr, so cron mails failures only)
  0 4 * * * warden geoip download --output /var/lib/warden/country.mmdb >/dev/null`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := f.source(cmd)
			if err != nil {
				return err
			}
			return downloadGeoIP(cmd.Context(), a, src, f)
		},
	}
	fl := dl.Flags()
	fl.StringVar(&f.url, "url", "", "download from this URL (.mmdb, .mmdb.gz or .tar.gz) instead of MaxMind")
	fl.StringVar(&f.edition, "edition", "", "MaxMind edition (default "+feeds.DefaultEdition+"): "+strings.Join(feeds.Editions(), ", "))
	fl.StringVar(&f.accountID, "account-id", "", "MaxMind account ID (env MAXMIND_ACCOUNT_ID)")
	fl.StringVar(&f.licenseKey, "license-key", "", "MaxMind licence key (env MAXMIND_LICENSE_KEY, preferred)")
	fl.StringVar(&f.output, "output", "", "the database file to replace (default: --geoip, WARDEN_GEOIP or "+defaultGeoIP+")")
	fl.DurationVar(&f.timeout, "timeout", feeds.DefaultGeoIPTimeout, "give up after this long")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.StringVar(&f.maxmindURL, "maxmind-url", feeds.DefaultMaxMindURL, "base of MaxMind's download endpoint (a mirror)")
	_ = fl.MarkHidden("maxmind-url")
	cmd.AddCommand(dl)
	return cmd
}

// source builds the download's source from the flags and the environment;
// a conflict or a missing credential is a usage error.
func (f *geoipFlags) source(cmd *cobra.Command) (feeds.GeoIPSource, error) {
	var maxFlags []string
	for _, n := range []string{"edition", "account-id", "license-key"} {
		if cmd.Flags().Changed(n) {
			maxFlags = append(maxFlags, "--"+n)
		}
	}
	if f.url != "" {
		if len(maxFlags) > 0 {
			return feeds.GeoIPSource{}, usagef("--url excludes %s: download from a URL or from MaxMind", strings.Join(maxFlags, ", "))
		}
		src := feeds.GeoIPSource{URL: f.url}
		if err := src.Validate(); err != nil {
			return src, usagef("--url must be an http or https URL")
		}
		return src, nil
	}
	src := feeds.GeoIPSource{
		Edition:    f.edition,
		AccountID:  strings.TrimSpace(flagOrEnv(f.accountID, "MAXMIND_ACCOUNT_ID")),
		LicenseKey: strings.TrimSpace(flagOrEnv(f.licenseKey, "MAXMIND_LICENSE_KEY")),
	}
	if src.AccountID == "" || src.LicenseKey == "" {
		return src, usagef("give --url URL, or a MaxMind account: set MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY (or --account-id and --license-key)")
	}
	if err := src.Validate(); err != nil {
		msg := strings.NewReplacer("feeds: GeoIPSource: ", "", "Edition", "--edition", "AccountID", "the account ID",
			"LicenseKey", "the licence key").Replace(err.Error())
		return src, usagef("%s", msg)
	}
	return src, nil
}

func flagOrEnv(flag, env string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(env)
}

func downloadGeoIP(ctx context.Context, a *app, src feeds.GeoIPSource, f geoipFlags) error {
	output := f.output
	if output == "" {
		output = a.geoipPath()
	}
	p := newProgress(a, f.asJSON)
	label := shortURL(src.URL)
	if src.IsMaxMind() {
		label = "MaxMind " + src.Edition
		if src.Edition == "" {
			label += feeds.DefaultEdition
		}
	}
	res, err := feeds.DownloadGeoIP(ctx, src, output,
		feeds.WithGeoIPTimeout(f.timeout),
		feeds.WithMaxMindURL(f.maxmindURL),
		feeds.WithGeoIPProgress(func(read, total int64) { p.update(label, read, total) }))
	p.done()
	if err != nil {
		return fmt.Errorf("%s left unchanged: %w; %s", output, err, geoipHint(err, src, output))
	}
	if f.asJSON {
		return printJSON(a.stdout, res)
	}
	db := res.Database
	if res.Unchanged {
		a.say("%s is up to date: %s built %s", output, db.Type, db.BuildTime.Format(time.DateOnly))
		return nil
	}
	a.say("wrote %s: %s built %s, %s (from %s)", output, db.Type, db.BuildTime.Format(time.DateOnly), bytesIEC(db.Bytes), res.Source)
	return nil
}

// geoipHint says what to do about a failed download.
func geoipHint(err error, src feeds.GeoIPSource, output string) string {
	switch {
	case errors.Is(err, feeds.ErrUnauthorized) && src.IsMaxMind():
		return "check MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY, and that the account may download this edition"
	case errors.Is(err, feeds.ErrUnauthorized):
		return "the server refused the URL: check it (a signed or keyed URL may have expired)"
	case errors.Is(err, feeds.ErrChecksum):
		return "the download was damaged or altered on the way: try again later"
	case errors.Is(err, feeds.ErrNotDatabase) && src.IsMaxMind():
		return "check --edition: it must name a database with countries"
	case errors.Is(err, feeds.ErrNotDatabase):
		return "check the URL: it must give a country database"
	case errors.Is(err, feeds.ErrTooLarge):
		return "is the URL right? A country database is far smaller"
	case errors.Is(err, feeds.ErrWriteFile):
		return "check that " + filepath.Dir(output) + " is writable and the disk has space"
	case errors.Is(err, context.DeadlineExceeded):
		return "try again, or give more --timeout"
	case errors.Is(err, feeds.ErrHTTPStatus) && src.IsMaxMind():
		return "try again later"
	case errors.Is(err, feeds.ErrHTTPStatus):
		return "check the URL"
	case src.IsMaxMind():
		return "check the network (and HTTPS_PROXY, if you use a proxy)"
	}
	return "check the URL and the network"
}

// geoipPath is the database file: --geoip, WARDEN_GEOIP or country.mmdb.
func (a *app) geoipPath() string {
	if a.geoip != "" {
		return a.geoip
	}
	return defaultGeoIP
}
