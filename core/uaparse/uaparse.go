package uaparse

import "strings"

// Device classes reported in UserAgent.Device.
const (
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceDesktop = "desktop"
	DeviceBot     = "bot"
	DeviceUnknown = "unknown"
)

// Browser families reported in UserAgent.Browser. Anything else is "".
const (
	BrowserEdge    = "Edge"
	BrowserOpera   = "Opera"
	BrowserSamsung = "Samsung Internet"
	BrowserChrome  = "Chrome"
	BrowserFirefox = "Firefox"
	BrowserSafari  = "Safari"
)

// Operating systems reported in UserAgent.OS. Anything else is "". iPadOS is
// reported as OSiOS.
const (
	OSiOS      = "iOS"
	OSAndroid  = "Android"
	OSChromeOS = "ChromeOS"
	OSWindows  = "Windows"
	OSmacOS    = "macOS"
	OSLinux    = "Linux"
)

// UserAgent is what Parse makes of a User-Agent header. The strings are
// always one of the package's constants when it comes from Parse.
type UserAgent struct {
	Device  string // DeviceMobile, DeviceTablet, DeviceDesktop, DeviceBot or DeviceUnknown
	Browser string // a Browser* constant, "" when not recognised
	OS      string // an OS* constant, "" when not recognised
}

// Parse classifies a User-Agent header value. It never fails: an empty or
// all-blank value gives {Device: "unknown"}, a value in which nothing is
// recognised gives {Device: "unknown"} too, and a bot keeps the browser and
// OS it claims. Matching is ASCII case-insensitive and runs in time linear in
// len(ua); Parse does not allocate. See the package documentation for the
// rules.
func Parse(ua string) UserAgent {
	if strings.TrimSpace(ua) == "" {
		return UserAgent{Device: DeviceUnknown}
	}
	f := scan(ua)

	// iPadOS in "desktop website" mode claims to be a Mac. Only an iOS build
	// token or an iOS-only browser gives it away.
	ipadDesktop := f&fMacintosh != 0 && f&(fMobileSlash|fIOSApp) != 0 &&
		f&(fIPhone|fIPad|fIPod|fAndroid) == 0

	var u UserAgent
	switch {
	case f&fEdge != 0:
		u.Browser = BrowserEdge
	case f&fOpera != 0:
		u.Browser = BrowserOpera
	case f&fSamsung != 0:
		u.Browser = BrowserSamsung
	case f&fChrome != 0:
		u.Browser = BrowserChrome
	case f&fFirefox != 0:
		u.Browser = BrowserFirefox
	case f&fSafari != 0:
		u.Browser = BrowserSafari
	}

	switch {
	case f&fCrOS != 0:
		u.OS = OSChromeOS
	case f&(fIPhone|fIPad|fIPod) != 0 || ipadDesktop:
		u.OS = OSiOS
	case f&fAndroid != 0:
		u.OS = OSAndroid
	case f&fWindows != 0:
		u.OS = OSWindows
	case f&fMac != 0:
		u.OS = OSmacOS
	case f&fLinux != 0:
		u.OS = OSLinux
	}

	mobile := f&(fMobi|fOperaMini) != 0
	switch {
	case f&fBot != 0:
		u.Device = DeviceBot
	case f&fIPad != 0 || ipadDesktop:
		u.Device = DeviceTablet
	case f&(fIPhone|fIPod) != 0:
		u.Device = DeviceMobile
	case f&fAndroid != 0:
		// Google asks phone browsers to send "Mobile"; Android without it is
		// a tablet (or a TV, a Chromebook app, ...), which is closer than
		// "mobile".
		if f&fTablet != 0 || !mobile {
			u.Device = DeviceTablet
		} else {
			u.Device = DeviceMobile
		}
	case mobile:
		if f&fTablet != 0 {
			u.Device = DeviceTablet
		} else {
			u.Device = DeviceMobile
		}
	case u.Browser != "" || u.OS != "":
		u.Device = DeviceDesktop
	default:
		u.Device = DeviceUnknown
	}
	return u
}

// Family is Browser + "/" + OS, e.g. "Chrome/Windows", "Safari/iOS" or "/"
// when neither is known. It leaves out versions and the device class, so it
// stays the same across browser updates and is meant as the coarse key of a
// "new device" check. For values produced by Parse it does not allocate.
func (u UserAgent) Family() string {
	b, o := browserIndex(u.Browser), osIndex(u.OS)
	if b < 0 || o < 0 {
		return u.Browser + "/" + u.OS
	}
	return families[b][o]
}

var (
	browsers = [...]string{"", BrowserEdge, BrowserOpera, BrowserSamsung, BrowserChrome, BrowserFirefox, BrowserSafari}
	systems  = [...]string{"", OSiOS, OSAndroid, OSChromeOS, OSWindows, OSmacOS, OSLinux}
	families [len(browsers)][len(systems)]string
)

func init() {
	for i, b := range browsers {
		for j, o := range systems {
			families[i][j] = b + "/" + o
		}
	}
}

func browserIndex(b string) int {
	for i, s := range browsers {
		if s == b {
			return i
		}
	}
	return -1
}

func osIndex(o string) int {
	for i, s := range systems {
		if s == o {
			return i
		}
	}
	return -1
}
