package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core/geo"
)

// maxGeoIPBytes bounds a download and what it decompresses to.
const maxGeoIPBytes = 256 << 20

func geoipCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "geoip",
		Short:   "Fetch the country database (.mmdb) the engine reads",
		Example: "  warden geoip download --url https://example.org/country.mmdb.gz --output country.mmdb",
	}
	var src, output string
	var timeout time.Duration
	dl := &cobra.Command{
		Use:   "download --url URL [--output FILE]",
		Short: "Download a country database and replace FILE atomically",
		Long: `download fetches an .mmdb, an .mmdb.gz or a .tar.gz holding an .mmdb (the
format is read from the bytes, not the name), checks that core/geo can read
countries from it, and only then replaces FILE: a temporary file in the same
directory is written, synced and renamed over it, so an engine watching FILE
reloads it without a restart. A failed or refused download, or a file that is
not a country database, leaves FILE as it was and exits 1. Downloads are
limited to 256 MiB. The URL is never printed with its query or password.`,
		Example: `  warden geoip download --url https://download.db-ip.com/free/dbip-country-lite-2026-01.mmdb.gz --output country.mmdb
  go run ./examples/gin -geoip country.mmdb`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if src == "" {
				return usagef("--url is required")
			}
			u, err := url.Parse(src)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return usagef("--url must be an http or https URL")
			}
			n, err := downloadGeoIP(cmd.Context(), u, output, timeout)
			if err != nil {
				return fmt.Errorf("%s left unchanged: %w", output, err)
			}
			a.say("wrote %s (%d bytes) from %s://%s%s", output, n, u.Scheme, u.Host, u.Path)
			return nil
		},
	}
	dl.Flags().StringVar(&src, "url", "", "where to download from (.mmdb, .mmdb.gz or .tar.gz)")
	dl.Flags().StringVar(&output, "output", "country.mmdb", "the database file to replace")
	dl.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	cmd.AddCommand(dl)
	return cmd
}

// downloadGeoIP fetches u, extracts and validates the database and
// replaces output with it; it returns the database's size.
func downloadGeoIP(ctx context.Context, u *url.URL, output string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := fetch(ctx, u)
	if err != nil {
		return 0, err
	}
	db, err := extractMMDB(body)
	if err != nil {
		return 0, err
	}
	if _, err := geo.OpenBytes(db); err != nil {
		return 0, fmt.Errorf("the download is not a country database (%v); check the URL", err)
	}
	return len(db), replaceFile(output, db)
}

func fetch(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "warden-cli")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a licence key
		}
		return nil, fmt.Errorf("download failed: %v; check the URL and the network", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("download refused (HTTP %d); check the account ID and licence key", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("download refused (HTTP %d); check the URL", resp.StatusCode)
	}
	return readLimited(resp.Body, "download")
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxGeoIPBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s cut short: %v; try again", what, err)
	}
	if len(b) > maxGeoIPBytes {
		return nil, fmt.Errorf("%s larger than %d MiB; is the URL right?", what, maxGeoIPBytes>>20)
	}
	return b, nil
}

// extractMMDB returns the database in b: b itself, b gunzipped, or the
// first .mmdb file of a gzipped tar.
func extractMMDB(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the download is not valid gzip (%v); check the URL", err)
	}
	raw, err := readLimited(zr, "decompressed database")
	if err != nil {
		return nil, err
	}
	if len(raw) < 262 || string(raw[257:262]) != "ustar" {
		return raw, nil
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, errors.New("the archive holds no .mmdb file; check the URL or edition")
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(h.Name, ".mmdb") {
			return readLimited(tr, "database in the archive")
		}
	}
}

// replaceFile writes b to a temporary file beside path, syncs it and
// renames it over path, so a reader sees the old file or the new one.
func replaceFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %v", dir, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %v (is the disk full?)", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
