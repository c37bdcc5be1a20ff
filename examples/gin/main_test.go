package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenkit/warden/examples/internal/smoketest"
)

func TestSmoke(t *testing.T) {
	base := smoketest.Start(t, run, "-block-ip", "127.0.0.2, 198.51.100.0/24", "-block-ip", "127.0.0.3/32", "-block-ua", "EvilBot")

	smoketest.Expect(t, "allowed", 200, "hello 127.0.0.1", "127.0.0.1", base+"/")
	smoketest.Expect(t, "-block-ip address", 403, "Access denied", "127.0.0.2", base+"/")
	smoketest.Expect(t, "-block-ip repeated", 403, "Access denied", "127.0.0.3", base+"/")
	smoketest.Expect(t, "-block-ua", 403, "Access denied", "127.0.0.1", base+"/", "User-Agent", "Mozilla/5.0 (compatible; evilbot/2.1)")
	smoketest.Expect(t, "json denial", 403, `{"error":"Access denied","status":403}`, "127.0.0.2", base+"/", "Accept", "application/json")
	smoketest.Expect(t, "/health from a blocked address", 200, "ok", "127.0.0.2", base+"/health")
	smoketest.Expect(t, "X-Forwarded-For from an untrusted peer", 200, "hello 127.0.0.1", "127.0.0.1", base+"/", "X-Forwarded-For", "127.0.0.9")
}

func TestTrustProxy(t *testing.T) {
	base := smoketest.Start(t, run, "-trust-proxy", "127.0.0.4/32", "-block-ip", "127.0.0.2")
	smoketest.Expect(t, "blocked client behind the proxy", 403, "Access denied", "127.0.0.4", base+"/", "X-Forwarded-For", "127.0.0.2")
	smoketest.Expect(t, "spoofed left-most X-Forwarded-For", 200, "hello 127.0.0.7", "127.0.0.4", base+"/", "X-Forwarded-For", "127.0.0.2, 127.0.0.7")
	smoketest.Expect(t, "untrusted peer", 200, "hello 127.0.0.1", "127.0.0.1", base+"/", "X-Forwarded-For", "127.0.0.9")
}

func TestGeoIP(t *testing.T) {
	path := smoketest.WriteMMDB(t, map[string]string{"81.0.0.0/8": "FR", "3.0.0.0/8": "US"})
	base := smoketest.Start(t, run, "-trust-proxy", "127.0.0.1/32", "-geoip", path, "-block-country", "fr")
	smoketest.Expect(t, "blocked country", 403, "Access denied from your region", "127.0.0.1", base+"/", "X-Forwarded-For", "81.2.69.142")
	smoketest.Expect(t, "other country", 200, "hello 3.3.3.3", "127.0.0.1", base+"/", "X-Forwarded-For", "3.3.3.3")
}

func TestBadFlags(t *testing.T) { smoketest.CheckBadFlags(t, run) }

// Rules written with the flags are stored in the SQLite file: started again
// without flags, the app still blocks.
func TestRulesSurviveRestart(t *testing.T) {
	dsn := "sqlite:file:" + filepath.Join(t.TempDir(), "warden.db")
	t.Run("with_flags", func(t *testing.T) {
		base := smoketest.Start(t, run, "-dsn", dsn, "-block-ip", "127.0.0.2")
		smoketest.Expect(t, "blocked", 403, "Access denied", "127.0.0.2", base+"/")
	})
	t.Run("restarted_without_flags", func(t *testing.T) {
		base := smoketest.Start(t, run, "-dsn", dsn)
		smoketest.Expect(t, "still blocked", 403, "Access denied", "127.0.0.2", base+"/")
		smoketest.Expect(t, "others allowed", 200, "hello 127.0.0.1", "127.0.0.1", base+"/")
	})
}

func TestBadDSN(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-redis", "", "-dsn", "postgres://u:secret@127.0.0.1:1/x?connect_timeout=1"}, io.Discard)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable database: %v (must fail and never show the password)", err)
	}
}

// A refused flag stores nothing (the good flags of that run included).
func TestBadFlagsWriteNothing(t *testing.T) { smoketest.CheckBadFlagsWriteNothing(t, run) }

func TestLoginAndSignupPages(t *testing.T) { smoketest.CheckPages(t, run) }

func TestAdminAndMetrics(t *testing.T) { smoketest.CheckAdminAndMetrics(t, run) }

// -geoip takes a directory holding the database too; an empty one is
// refused with a hint.
func TestGeoIPDirectory(t *testing.T) {
	path := smoketest.WriteMMDB(t, map[string]string{"81.0.0.0/8": "FR"})
	base := smoketest.Start(t, run, "-trust-proxy", "127.0.0.1/32", "-geoip", filepath.Dir(path), "-block-country", "FR")
	smoketest.Expect(t, "blocked country", 403, "Access denied from your region", "127.0.0.1", base+"/", "X-Forwarded-For", "81.2.69.142")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-redis", "", "-geoip", t.TempDir()}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "geoip download") {
		t.Fatalf("empty directory: %v", err)
	}
}
