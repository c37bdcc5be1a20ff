package uaparse_test

import (
	"fmt"

	"github.com/wardenkit/warden/core/uaparse"
)

func Example() {
	for _, h := range []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"python-requests/2.31.0",
		"",
	} {
		u := uaparse.Parse(h)
		fmt.Printf("%-7s %q\n", u.Device, u.Family())
	}
	// Output:
	// mobile  "Chrome/iOS"
	// tablet  "Chrome/Android"
	// desktop "Chrome/ChromeOS"
	// bot     "/"
	// unknown "/"
}
