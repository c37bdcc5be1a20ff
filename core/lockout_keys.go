package core

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wardenkit/warden/internal/textutil"
	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// MaxUsernameLen is the length, in runes, usernames are cut to.
const MaxUsernameLen = 150

// LockoutKey names a counter that login attempts are judged by.
type LockoutKey string

const (
	// LockoutByUserAndIP counts failures per username and client address
	// (IPv6 grouped by the engine's prefix). Limit: max_login_attempts. A
	// source past its username caps counts new usernames on its
	// LockoutBySource key instead (WithLoginSourceCaps).
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
	if k == LockoutByIP || k == LockoutBySource {
		return 10
	}
	return 1
}

// valid reports whether k may appear in a lockout record.
func (k LockoutKey) valid() bool {
	return k == LockoutByUserAndIP || k == LockoutByIP || k == LockoutByUser || k == LockoutBySource
}

func (k LockoutKey) hasUser() bool { return k == LockoutByUserAndIP || k == LockoutByUser }
func (k LockoutKey) hasIP() bool   { return k != LockoutByUser }

// WhitelistPolicy decides what a whitelisted IP or user means for lockouts.
type WhitelistPolicy int

const (
	// WhitelistStandard (the default): an attempt from an active
	// WhitelistedIP or network bypasses the lockout, since an attacker
	// cannot choose the address. An attempt for a user with an active
	// WhitelistedUser row of exemption "all" gets 10 × the limits, its
	// failures recorded; other exemption types never touch login protection.
	WhitelistStandard WhitelistPolicy = iota
	// WhitelistBypass is the original's behaviour: an attempt from a
	// whitelisted address, or for a user with any active WhitelistedUser
	// row, is never counted or locked. Its risk: the attacker types the
	// username, so every whitelisted account can be guessed without limit.
	WhitelistBypass
	// WhitelistRaisesLimit: nothing bypasses; whitelisted addresses and
	// users with exemption "all" get 10 × the limits.
	WhitelistRaisesLimit
)

// String is the policy's name.
func (p WhitelistPolicy) String() string {
	switch p {
	case WhitelistStandard:
		return "standard"
	case WhitelistBypass:
		return "bypass"
	case WhitelistRaisesLimit:
		return "raises_limit"
	}
	return fmt.Sprintf("WhitelistPolicy(%d)", int(p))
}

// NormalizeUsername is the account key of a username when no UserLookup
// resolves it: a skeleton that every spelling a case- and
// accent-insensitive database collation logs in as one account shares.
// Invalid UTF-8 becomes U+FFFD; control characters are removed; the text is
// NFKC-normalised (full-width letters become ASCII), case-folded, stripped
// of accents (nonspacing marks) and of default-ignorable code points such as
// U+200B, trimmed, and cut to MaxUsernameLen runes. "ÁDMİN", "ａｄｍｉｎ" and
// "adm\u200bin" all become "admin". Merging more than a collation does only
// makes the lock stricter. It never fails; work is bounded whatever the
// input's size.
func NormalizeUsername(s string) string {
	s = cleanUsername(s)
	if textutil.IsASCII(s) {
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFKC, cases.Fold(), norm.NFD,
		runes.Remove(runes.Predicate(ignorable)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = strings.ToLower(s)
	}
	return cutRunes(strings.TrimFunc(out, unicode.IsSpace), MaxUsernameLen)
}

// ignorable reports runes a collation ignores: nonspacing marks (accents
// after NFD), format characters (zero-width spaces and joiners, the soft
// hyphen, BOM), variation selectors and other default-ignorable code points.
func ignorable(r rune) bool {
	return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Variation_Selector, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return strings.TrimRightFunc(s[:j], unicode.IsSpace)
		}
		i++
	}
	return s
}

// cleanUsername is the username as handed to the application's user
// lookup: invalid UTF-8 replaced by U+FFFD, control characters removed,
// white space trimmed, cut to MaxUsernameLen runes, case kept (usernames
// may be case-sensitive). It reads at most 4 KiB of s.
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
	case LockoutBySource:
		return "src:{" + ipGroup + "}"
	default:
		return "u:{" + userHash(username) + "}"
	}
}
