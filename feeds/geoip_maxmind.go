package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
)

// fetchGeoIP downloads what src names, conditionally on prev: the URL, or
// MaxMind's tar.gz of the edition, checked against its published SHA-256.
// Errors name URLs without query or password and never the licence key.
func fetchGeoIP(ctx context.Context, cfg *geoipConfig, src GeoIPSource, prev Validators) (*Response, error) {
	opts := []FetcherOption{WithTimeout(cfg.timeout), WithMaxBytes(cfg.maxBytes)}
	if cfg.progress != nil {
		fn := cfg.progress
		opts = append(opts, WithProgress(func(_ string, read, total int64) { fn(read, total) }))
	}
	f, err := NewFetcher(cfg.client, opts...)
	if err != nil {
		return nil, err
	}
	if !src.IsMaxMind() {
		return f.fetch(ctx, src.URL, hideURL(src.URL), prev, nil)
	}
	// https://dev.maxmind.com/geoip/updating-databases/#directly-downloading-databases:
	// basic authentication with the account ID and licence key; the answer
	// is a redirect to a presigned URL on another host, to which Go's client
	// does not forward the Authorization header.
	base := cfg.maxmindURL + "/" + url.PathEscape(src.edition()) + "/download"
	auth := func(r *http.Request) { r.SetBasicAuth(src.AccountID, src.LicenseKey) }
	resp, err := f.fetch(ctx, base+"?suffix=tar.gz", base, prev, auth)
	if err != nil || resp.NotModified {
		return resp, err
	}
	sf, err := NewFetcher(cfg.client, WithTimeout(cfg.timeout), WithMaxBytes(4<<10))
	if err != nil {
		return nil, err
	}
	sumResp, err := sf.fetch(ctx, base+"?suffix=tar.gz.sha256", base+" (SHA-256)", Validators{}, auth)
	if err != nil {
		return nil, err
	}
	want, ok := parseSHA256(sumResp.Body)
	if !ok {
		return nil, errorf(ErrChecksum, "feeds: GET %s (SHA-256): not a SHA-256 line", hideURL(base))
	}
	sum := sha256.Sum256(resp.Body)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, errorf(ErrChecksum, "feeds: GET %s: the download's SHA-256 is %s, MaxMind publishes %s", hideURL(base), got, want)
	}
	return resp, nil
}

// parseSHA256 reads "<64 hex digits>  <file name>", the format of MaxMind's
// .sha256 files (and of sha256sum), returning the digits in lower case.
func parseSHA256(b []byte) (string, bool) {
	fields := strings.Fields(string(b))
	if len(fields) == 0 || len(fields) > 2 || len(fields[0]) != sha256.Size*2 {
		return "", false
	}
	h := strings.ToLower(fields[0])
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	return h, true
}
