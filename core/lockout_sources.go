package core

import (
	"net/netip"
	"sync"
	"time"
)

// Bounds on what one source can make the login counters hold. An attacker
// who varies the username from one address (or across the addresses of one
// network) would otherwise create a counter per username and fill memory, or
// the attempt counter's key cap, for everyone.
//
// Each source is tracked twice: by its address (IPv6: its /64) and by its
// network (IPv4 /24, IPv6 /48). Up to defaultSourceUsernames usernames per
// address and defaultNetworkUsernames per network are counted as usual; past
// either cap, a username not already tracked there counts on one overflow
// key for that network or address (scope LockoutBySource), limit 10 × L, so
// the attacker locks themselves out while known users keep their own
// counters (see WithLoginSourceCaps).
const (
	defaultSourceUsernames  = 20
	defaultNetworkUsernames = 200
	// maxTrackedUsernames bounds the tracker as a whole. When it is full and
	// nothing has expired, new usernames count on their network's overflow
	// key, which a network that holds nothing has free.
	maxTrackedUsernames = 1_000_000
)

// LockoutBySource is the overflow counter of a source that tried more
// usernames than its cap (see WithLoginSourceCaps); limit 10 ×
// max_login_attempts. It appears in lockout records; it cannot be chosen
// with WithLockoutKeys.
const LockoutBySource LockoutKey = "source"

// sourceTracker remembers which usernames each address and network tried
// within the failure window. It is safe for concurrent use.
type sourceTracker struct {
	mu         sync.Mutex
	caps       [2]int // per address, per network
	maxEntries int
	groups     stampSets[string, string] // group -> accounts
	overflows  int64                     // attempts counted on an overflow key
}

// stats reports the usernames tracked and the attempts that overflowed.
func (s *sourceTracker) stats() (tracked int, overflows int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups.entries, s.overflows
}

func newSourceTracker(perAddress, perNetwork int) *sourceTracker {
	return &sourceTracker{caps: [2]int{perAddress, perNetwork}, maxEntries: maxTrackedUsernames}
}

// networkGroup is the wider group of an address: IPv4 /24, IPv6 /48 (NAT64
// by its embedded IPv4 address), as text.
func networkGroup(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	g := limitIP(a.Unmap().WithZone(""), 64)
	bits := 48
	if g.Is4() {
		bits = 24
	}
	p, _ := g.Prefix(bits)
	return p.String()
}

// track notes that account was tried from the address group narrow and the
// network group wide at now, and returns the group whose overflow key the
// attempt must count on instead of its own username key ("" when none).
// Entries older than window are forgotten.
func (s *sourceTracker) track(narrow, wide, account string, now time.Time, window time.Duration) string {
	if narrow == "" || account == "" {
		return ""
	}
	ns, exp := now.UnixNano(), now.Add(-window).UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	// The network first: a username it does not admit is tracked nowhere,
	// so one network holds at most its cap whatever its addresses do.
	if wide != "" && !s.admit("n:"+wide, account, ns, exp, s.caps[1]) {
		s.overflows++
		return wide
	}
	if !s.admit("a:"+narrow, account, ns, exp, s.caps[0]) {
		s.overflows++
		return narrow
	}
	return ""
}

// admit tracks account in group g unless g is at its cap (or the tracker is
// full; it is swept at most once a minute) after expired entries are
// dropped; it reports whether account is tracked there.
func (s *sourceTracker) admit(g, account string, now, expired int64, limit int) bool {
	return s.groups.admit(g, account, now, expired, limit, s.maxEntries, time.Minute)
}
