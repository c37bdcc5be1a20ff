package clientip_test

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/wardenkit/warden/core/clientip"
)

func Example() {
	r, err := clientip.New(
		clientip.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Behind two trusted proxies; the client tried to spoof 6.6.6.6.
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	req.RemoteAddr = "10.0.0.3:443"
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.1")
	fmt.Println(r.ClientIP(req))

	// An untrusted peer: its X-Forwarded-For is ignored.
	req.RemoteAddr = "198.51.100.9:5555"
	fmt.Println(r.ClientIP(req))

	// Junk where a trusted proxy's entry should be: no client IP.
	req.RemoteAddr = "10.0.0.3:443"
	req.Header.Set("X-Forwarded-For", "203.0.113.7, not-an-ip")
	fmt.Println(r.ClientIP(req))

	// Output:
	// 203.0.113.7 true
	// 198.51.100.9 true
	// invalid IP false
}

func ExampleWithTrustedHops() {
	// One load balancer whose addresses are not published.
	r, _ := clientip.New(clientip.WithTrustedHops(1))
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	req.RemoteAddr = "100.64.7.1:443"
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.7")
	fmt.Println(r.ClientIP(req))
	// Output: 203.0.113.7 true
}

func ExampleWithHeader() {
	r, _ := clientip.New(
		clientip.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
		clientip.WithHeader("Forwarded"),
	)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	req.RemoteAddr = "10.0.0.3:443"
	req.Header.Set("Forwarded", `for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.1`)
	fmt.Println(r.ClientIP(req))
	// Output: 2001:db8:cafe::17 true
}

func ExampleParse() {
	for _, s := range []string{"203.0.113.7:80", "[::ffff:203.0.113.7]:443", "fe80::1%eth0", "unknown"} {
		fmt.Println(clientip.Parse(s))
	}
	// Output:
	// 203.0.113.7 true
	// 203.0.113.7 true
	// invalid IP false
	// invalid IP false
}
