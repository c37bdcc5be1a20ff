package core

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUsernameLen is the length, in runes, usernames are cut to.
const MaxUsernameLen = 150

// LockoutKey names a counter that login attempts are judged by.
type LockoutKey string

const (
	// LockoutByUserAndIP counts failures per username and client address
	// (IPv6 grouped by the engine's prefix). Limit: max_login_attempts.
	LockoutByUserAndIP LockoutKey = "user_ip"
	// LockoutByIP counts failures per client address, whatever the
	// username: it stops password spraying. Limit: 10 × max_login_attempts.
	LockoutByIP LockoutKey = "ip"
	// LockoutByUser counts failures per username, from any address. It stops
	// a distributed attack on one account, and lets anyone lock any account
	// whose username they know, so it is opt-in. Limit: max_login_attempts.
	LockoutByUser LockoutKey = "user"
)

// DefaultLockoutKeys are the keys used without WithLockoutKeys: username and
// address, and address alone.
func DefaultLockoutKeys() []LockoutKey { return []LockoutKey{LockoutByUserAndIP, LockoutByIP} }

// factor is the key's limit as a multiple of max_login_attempts.
func (k LockoutKey) factor() int {
	if k == LockoutByIP {
		return 10
	}
	return 1
}

func (k LockoutKey) valid() bool {
	return k == LockoutByUserAndIP || k == LockoutByIP || k == LockoutByUser
}

func (k LockoutKey) hasUser() bool { return k != LockoutByIP }
func (k LockoutKey) hasIP() bool   { return k != LockoutByUser }

// WhitelistPolicy decides what a whitelisted IP or user means for lockouts.
type WhitelistPolicy int

const (
	// WhitelistBypass (the default, the seed's behaviour): an attempt from an
	// active WhitelistedIP, or for a username whose user has an active,
	// unexpired WhitelistedUser row of any exemption type, is never locked
	// and records nothing. It also allows unlimited guessing of exactly the
	// accounts that were whitelisted.
	WhitelistBypass WhitelistPolicy = iota
	// WhitelistRaisesLimit multiplies the limits of whitelisted attempts by
	// 10 and records their failures: the stricter, documented choice.
	WhitelistRaisesLimit
)

func (p WhitelistPolicy) String() string {
	switch p {
	case WhitelistBypass:
		return "bypass"
	case WhitelistRaisesLimit:
		return "raises_limit"
	}
	return fmt.Sprintf("WhitelistPolicy(%d)", int(p))
}

// NormalizeUsername is the form usernames are counted, stored and compared
// in: invalid UTF-8 replaced by U+FFFD, NUL and other control characters
// removed, surrounding white space trimmed, lower-cased, cut to
// MaxUsernameLen runes. It never fails; an empty result is a valid username.
// Work and memory are bounded whatever the input's size.
func NormalizeUsername(s string) string {
	s = strings.ToLower(cleanUsername(s))
	// Lower-casing may lengthen a string ("İ" becomes "i̇"): cut again.
	if utf8.RuneCountInString(s) > MaxUsernameLen {
		n := 0
		for i := range s {
			if n == MaxUsernameLen {
				s = s[:i]
				break
			}
			n++
		}
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// cleanUsername is NormalizeUsername without lower-casing: the form handed
// to the application's user lookup, whose usernames may be case-sensitive.
// It reads at most 4 KiB of s.
func cleanUsername(s string) string {
	if len(s) > 4<<10 {
		s = s[:4<<10]
	}
	var b strings.Builder
	n := 0
	for _, r := range s { // ranging yields U+FFFD for each invalid byte
		if n == MaxUsernameLen {
			break
		}
		if unicode.IsControl(r) || (n == 0 && unicode.IsSpace(r)) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimRightFunc(b.String(), unicode.IsSpace)
}

// groupIP is the text an address is counted by: IPv4 as is, NAT64 as its
// embedded IPv4 address, other IPv6 addresses as their /bits network (the
// grouping of limitIP, written out). It is "" for an invalid address.
func groupIP(a netip.Addr, bits int) string {
	if !a.IsValid() {
		return ""
	}
	g := limitIP(a.Unmap().WithZone(""), bits)
	if g.Is4() {
		return g.String()
	}
	return formatNetwork(netip.PrefixFrom(g, bits))
}

// userHash is the username as it appears in counter keys: 32 hex digits of
// its SHA-256, so keys stay short and carry no personal data.
func userHash(username string) string {
	h := sha256.Sum256([]byte(username))
	return hex.EncodeToString(h[:16])
}

// counterKey builds the counter key of one scope. ipGroup "" (no client
// address) is written "-". The part in braces is the Redis Cluster hash tag:
// the address for the address-bound keys, so they share a slot.
func counterKey(scope LockoutKey, username, ipGroup string) string {
	if ipGroup == "" {
		ipGroup = "-"
	}
	switch scope {
	case LockoutByUserAndIP:
		return "ui:{" + ipGroup + "}:" + userHash(username)
	case LockoutByIP:
		return "ip:{" + ipGroup + "}"
	default:
		return "u:{" + userHash(username) + "}"
	}
}
