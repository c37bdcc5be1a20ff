package main

import (
	"testing"

	"github.com/wardenkit/warden/examples/internal/smoketest"
)

func TestSmoke(t *testing.T) {
	base := smoketest.Start(t, run, "-block-ip", "127.0.0.2,127.0.0.3", "-block-ua", "EvilBot")
	smoketest.Expect(t, "allowed", 200, "hello 127.0.0.1", "127.0.0.1", base+"/")
	smoketest.Expect(t, "-block-ip", 403, "Access denied", "127.0.0.2", base+"/")
	smoketest.Expect(t, "-block-ip list", 403, "Access denied", "127.0.0.3", base+"/")
	smoketest.Expect(t, "-block-ua", 403, "Access denied", "127.0.0.1", base+"/", "User-Agent", "evilbot/2.1")
	smoketest.Expect(t, "/health from a blocked address", 200, "ok", "127.0.0.2", base+"/health")
}

func TestTrustProxyAndGeoIP(t *testing.T) {
	path := smoketest.WriteMMDB(t, map[string]string{"81.0.0.0/8": "FR"})
	base := smoketest.Start(t, run, "-trust-proxy", "127.0.0.4", "-geoip", path, "-block-country", "FR")
	smoketest.Expect(t, "blocked country behind the proxy", 403, "Access denied from your region", "127.0.0.4", base+"/", "X-Forwarded-For", "81.2.69.142")
	smoketest.Expect(t, "spoofed left-most X-Forwarded-For", 200, "hello 127.0.0.7", "127.0.0.4", base+"/", "X-Forwarded-For", "81.2.69.142, 127.0.0.7")
	smoketest.Expect(t, "untrusted peer", 200, "hello 127.0.0.1", "127.0.0.1", base+"/", "X-Forwarded-For", "81.2.69.142")
}

func TestBadFlags(t *testing.T) { smoketest.CheckBadFlags(t, run) }

// A refused flag stores nothing (the good flags of that run included).
func TestBadFlagsWriteNothing(t *testing.T) { smoketest.CheckBadFlagsWriteNothing(t, run) }

func TestLoginAndSignupPages(t *testing.T) { smoketest.CheckPages(t, run) }

func TestAdminAndMetrics(t *testing.T) { smoketest.CheckAdminAndMetrics(t, run) }
