package feeds

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/wardenkit/warden/core/geo"
)

// GeoIPSource says where DownloadGeoIP gets a country database: either URL,
// or a MaxMind account (AccountID and LicenseKey, with Edition). Its String,
// GoString and LogValue never show LicenseKey, nor URL's query or password.
type GeoIPSource struct {
	// URL is an .mmdb, .mmdb.gz or .tar.gz holding an .mmdb (DB-IP Lite,
	// IPinfo Lite, a mirror); the format is read from the bytes, not the
	// name. It excludes the MaxMind fields.
	URL string
	// Edition is the MaxMind edition ID (default DefaultEdition); see
	// Editions.
	Edition string
	// AccountID is the MaxMind account ID, a number.
	AccountID string
	// LicenseKey is the MaxMind licence key. It is sent to MaxMind only, as
	// HTTP basic authentication; never printed, logged or put in an error.
	LicenseKey string
}

// DefaultEdition is the MaxMind edition downloaded when none is named: the
// free GeoLite2 Country database.
const DefaultEdition = "GeoLite2-Country"

// Editions are the MaxMind edition IDs DownloadGeoIP accepts: the ones with
// country data that core/geo reads.
func Editions() []string {
	return []string{"GeoLite2-Country", "GeoIP2-Country", "GeoLite2-City", "GeoIP2-City", "GeoIP2-Enterprise"}
}

// IsMaxMind reports whether s names a MaxMind account rather than a URL.
func (s GeoIPSource) IsMaxMind() bool { return s.URL == "" }

func (s GeoIPSource) edition() string {
	if s.Edition == "" {
		return DefaultEdition
	}
	return s.Edition
}

// Validate reports what is wrong with s, naming the field (and its value,
// except for LicenseKey).
func (s GeoIPSource) Validate() error {
	if s.URL != "" {
		if s.Edition != "" || s.AccountID != "" || s.LicenseKey != "" {
			return errorf(ErrInvalidSource, "feeds: GeoIPSource: URL excludes Edition, AccountID and LicenseKey")
		}
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errorf(ErrInvalidSource, "feeds: GeoIPSource: URL %q is not an http or https URL", hideURL(s.URL))
		}
		return nil
	}
	if !knownEdition(s.edition()) {
		return errorf(ErrInvalidSource, "feeds: GeoIPSource: Edition %q is not one of %s", s.Edition, strings.Join(Editions(), ", "))
	}
	switch {
	case s.AccountID == "" && s.LicenseKey == "":
		return errorf(ErrInvalidSource, "feeds: GeoIPSource: neither URL nor AccountID and LicenseKey given")
	case s.AccountID == "":
		return errorf(ErrInvalidSource, "feeds: GeoIPSource: AccountID is empty")
	case strings.Trim(s.AccountID, "0123456789") != "" || len(s.AccountID) > 20:
		return errorf(ErrInvalidSource, "feeds: GeoIPSource: AccountID %q is not a number", s.AccountID)
	case s.LicenseKey == "":
		return errorf(ErrInvalidSource, "feeds: GeoIPSource: LicenseKey is empty")
	case strings.IndexFunc(s.LicenseKey, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		return errorf(ErrInvalidSource, "feeds: GeoIPSource: LicenseKey holds a space, control or non-ASCII character")
	}
	return nil
}

func knownEdition(e string) bool {
	for _, k := range Editions() {
		if e == k {
			return true
		}
	}
	return false
}

// String describes s without secrets: the URL without its query and
// password, or "MaxMind EDITION (account ID)".
func (s GeoIPSource) String() string {
	if s.URL != "" {
		return hideURL(s.URL)
	}
	return fmt.Sprintf("MaxMind %s (account %s)", s.edition(), s.AccountID)
}

// GoString is String, so that %#v shows no licence key either.
func (s GeoIPSource) GoString() string { return "feeds.GeoIPSource(" + s.String() + ")" }

// LogValue is String, for log/slog.
func (s GeoIPSource) LogValue() slog.Value { return slog.StringValue(s.String()) }

// hideURL returns u without its user information, query and fragment (a
// query may carry a licence key), for errors and reports.
func hideURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return fmt.Sprintf("(unparsable URL of %d bytes)", len(u))
	}
	return (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String()
}

// GeoIPDatabase describes a country database file.
type GeoIPDatabase struct {
	Path    string    `json:"path"`
	Bytes   int64     `json:"bytes"`
	ModTime time.Time `json:"modified"`
	// Type is the database type of the file's metadata
	// ("GeoLite2-Country", "DBIP-Country-Lite", …).
	Type string `json:"type"`
	// BuildTime is when the publisher built the database.
	BuildTime time.Time `json:"build_time"`
}

// StatGeoIP reads the database at path and validates it as core/geo does
// (geo.OpenBytes). It reads at most DefaultGeoIPMaxBytes; an error wraps
// ErrNotDatabase when the file is there but not a country database.
func StatGeoIP(path string) (GeoIPDatabase, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return GeoIPDatabase{}, fmt.Errorf("feeds: StatGeoIP: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > DefaultGeoIPMaxBytes {
		return GeoIPDatabase{}, errorf(ErrNotDatabase, "feeds: StatGeoIP %s: not a regular file of at most %d bytes", path, DefaultGeoIPMaxBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return GeoIPDatabase{}, fmt.Errorf("feeds: StatGeoIP: %w", err)
	}
	d, err := inspect(b)
	if err != nil {
		return GeoIPDatabase{}, fmt.Errorf("feeds: StatGeoIP %s: %w", path, err)
	}
	d.Path, d.ModTime = path, fi.ModTime()
	return d, nil
}

// inspect validates b with core/geo and reads its metadata.
func inspect(b []byte) (GeoIPDatabase, error) {
	if _, err := geo.OpenBytes(b); err != nil {
		if t := strings.TrimSpace(string(b[:min(len(b), 512)])); strings.HasPrefix(t, "<") {
			return GeoIPDatabase{}, errorf(ErrNotDatabase, "an HTML or XML page, not a database")
		}
		return GeoIPDatabase{}, &kindError{err: err, kind: ErrNotDatabase}
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil { // geo accepted it, so this does not happen
		return GeoIPDatabase{}, &kindError{err: err, kind: ErrNotDatabase}
	}
	return GeoIPDatabase{Bytes: int64(len(b)), Type: r.Metadata.DatabaseType, BuildTime: r.Metadata.BuildTime().UTC()}, nil
}

// GeoIPResult is the outcome of DownloadGeoIP.
type GeoIPResult struct {
	// Source is the GeoIPSource's String: no secrets.
	Source string `json:"source"`
	// Unchanged is true when the server answered 304 to the conditional
	// request made from the file's modification time: nothing was written.
	Unchanged bool `json:"unchanged"`
	// Downloaded is the number of bytes transferred (0 when Unchanged).
	Downloaded int64 `json:"downloaded_bytes"`
	// Database describes the file at the output path now: the new one, or
	// the old one when Unchanged.
	Database GeoIPDatabase `json:"database"`
}

// GeoIP download defaults.
const (
	DefaultGeoIPTimeout  = 5 * time.Minute
	DefaultGeoIPMaxBytes = 256 << 20 // 256 MiB, of the download and of what it decompresses to
	DefaultMaxMindURL    = "https://download.maxmind.com/geoip/databases"
)

type geoipConfig struct {
	client     *http.Client
	timeout    time.Duration
	maxBytes   int64
	progress   func(read, total int64)
	maxmindURL string
	createTemp func(dir, pattern string) (tempFile, error) // os.CreateTemp; replaced by tests
}

// GeoIPOption configures DownloadGeoIP.
type GeoIPOption func(*geoipConfig) error

// WithGeoIPClient sends the requests through c (default: a client on
// http.DefaultTransport, which honours HTTP_PROXY and HTTPS_PROXY).
func WithGeoIPClient(c *http.Client) GeoIPOption {
	return func(cfg *geoipConfig) error {
		if c == nil {
			return errorf(ErrInvalidOption, "WithGeoIPClient: nil client")
		}
		cfg.client = c
		return nil
	}
}

// WithGeoIPTimeout bounds the whole download, checksum included (default
// DefaultGeoIPTimeout).
func WithGeoIPTimeout(d time.Duration) GeoIPOption {
	return func(cfg *geoipConfig) error {
		if d <= 0 {
			return errorf(ErrInvalidOption, "WithGeoIPTimeout: %v is not positive", d)
		}
		cfg.timeout = d
		return nil
	}
}

// WithGeoIPMaxBytes bounds the download and, separately, what it
// decompresses to (default DefaultGeoIPMaxBytes). More fails with
// ErrTooLarge.
func WithGeoIPMaxBytes(n int64) GeoIPOption {
	return func(cfg *geoipConfig) error {
		if n <= 0 {
			return errorf(ErrInvalidOption, "WithGeoIPMaxBytes: %d is not positive", n)
		}
		cfg.maxBytes = n
		return nil
	}
}

// WithGeoIPProgress calls fn as the database arrives with the bytes read so
// far and the total, or -1 when the server did not say. fn runs on the
// goroutine that called DownloadGeoIP and must return quickly.
func WithGeoIPProgress(fn func(read, total int64)) GeoIPOption {
	return func(cfg *geoipConfig) error {
		if fn == nil {
			return errorf(ErrInvalidOption, "WithGeoIPProgress: nil function")
		}
		cfg.progress = fn
		return nil
	}
}

// WithMaxMindURL replaces DefaultMaxMindURL, the base of MaxMind's download
// endpoint ({base}/{edition}/download?suffix=tar.gz), for a mirror that
// imitates it or a test server.
func WithMaxMindURL(base string) GeoIPOption {
	return func(cfg *geoipConfig) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			return errorf(ErrInvalidOption, "WithMaxMindURL: %q is not an http or https URL without query or password", hideURL(base))
		}
		cfg.maxmindURL = strings.TrimSuffix(base, "/")
		return nil
	}
}

// DownloadGeoIP downloads the country database src names and replaces the
// file at output with it, so that a core/geo DB watching output reloads it.
//
// When output holds a database core/geo reads, the request is conditional
// (If-Modified-Since its modification time) and a 304 answer returns a
// result with Unchanged set, writing nothing. Otherwise the download (a
// MaxMind tar.gz is checked against the SHA-256 MaxMind publishes beside
// it) is decompressed, validated with core/geo and written to a temporary
// file in output's directory, which is synced, given the response's
// Last-Modified as modification time, and renamed over output; the
// directory is synced too. On any error — refused (ErrUnauthorized, with
// ErrHTTPStatus), ErrChecksum, ErrNotDatabase, ErrTooLarge, ErrWriteFile
// (a full disk), a timeout — output is left as it was and no temporary file
// remains. Errors never hold the licence key or the URL's query.
//
// DownloadGeoIP starts no goroutine and is safe to call concurrently for
// different outputs; two calls for the same output both succeed, the later
// rename winning.
func DownloadGeoIP(ctx context.Context, src GeoIPSource, output string, opts ...GeoIPOption) (GeoIPResult, error) {
	cfg := geoipConfig{client: &http.Client{}, timeout: DefaultGeoIPTimeout, maxBytes: DefaultGeoIPMaxBytes,
		maxmindURL: DefaultMaxMindURL, createTemp: osCreateTemp}
	for i, o := range opts {
		if o == nil {
			return GeoIPResult{}, errorf(ErrInvalidOption, "feeds: DownloadGeoIP: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return GeoIPResult{}, fmt.Errorf("feeds: DownloadGeoIP: %w", err)
		}
	}
	if err := src.Validate(); err != nil {
		return GeoIPResult{}, err
	}
	if output == "" {
		return GeoIPResult{}, errorf(ErrInvalidOption, "feeds: DownloadGeoIP: empty output path")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	res := GeoIPResult{Source: src.String()}
	var prev Validators
	old, err := StatGeoIP(output)
	if err == nil {
		prev.LastModified = old.ModTime.UTC().Format(http.TimeFormat)
	}
	dl, err := fetchGeoIP(ctx, &cfg, src, prev)
	if err != nil {
		return res, err // "feeds: GET URL: problem"
	}
	if dl.NotModified {
		res.Unchanged, res.Database = true, old
		return res, nil
	}
	res.Downloaded = int64(len(dl.Body))
	db, err := extractMMDB(dl.Body, cfg.maxBytes)
	if err != nil {
		return res, fmt.Errorf("feeds: DownloadGeoIP %s: %w", src, err)
	}
	info, err := inspect(db)
	if err != nil {
		return res, fmt.Errorf("feeds: DownloadGeoIP %s: %w", src, err)
	}
	if src.IsMaxMind() && info.Type != src.edition() {
		return res, errorf(ErrNotDatabase, "feeds: DownloadGeoIP %s: the archive holds a %q database", src, info.Type)
	}
	mtime, _ := http.ParseTime(dl.Validators.LastModified)
	if err := replaceFile(&cfg, output, db, mtime); err != nil {
		return res, fmt.Errorf("feeds: DownloadGeoIP: %w", err)
	}
	res.Database = info
	res.Database.Path = output
	if fi, err := os.Stat(output); err == nil {
		res.Database.ModTime = fi.ModTime()
	}
	return res, nil
}
