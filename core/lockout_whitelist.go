package core

import (
	"context"
	"net/netip"
	"time"

	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// account returns the key an attempt's username is counted by, and the user
// ID to look whitelists up by. With a UserLookup that resolves the name, both
// are the user's ID ("uid:" + ID as the key), so a username and its e-mail
// address share one counter. Otherwise the key is the username's skeleton
// (NormalizeUsername) and the user ID the username as typed.
func (l *Lockout) account(ctx context.Context, raw string) (key, userID string) {
	if l.lookup != nil && raw != "" {
		if id, ok := l.lookup(ctx, raw); ok && id != "" {
			return cutRunes("uid:"+textutil.Clean(id, rule.MaxUserIDLen), MaxUsernameLen), id
		}
	}
	return NormalizeUsername(raw), raw
}

// whitelist effects on an attempt.
const (
	noEffect = iota
	bypass
	raiseLimit
)

// whitelistEffect applies the WhitelistPolicy to an attempt from ip for
// userID (raw: the username as typed, also tried as a user ID when there is
// no lookup).
func (l *Lockout) whitelistEffect(s *snapshot, now time.Time, ip netip.Addr, userID, raw string) int {
	if s == nil {
		return noEffect
	}
	ipWhite := false
	if ip.IsValid() {
		_, ipWhite = s.white.Lookup(ip)
	}
	ns := now.UnixNano()
	ex := s.exemption(userID, ns)
	if ex == "" && l.lookup == nil && raw != "" {
		ex = s.exemption(NormalizeUsername(raw), ns)
	}
	switch l.whitelist {
	case WhitelistBypass:
		if ipWhite || ex != "" {
			return bypass
		}
	case WhitelistRaisesLimit:
		if ipWhite || ex == rule.ExemptAll {
			return raiseLimit
		}
	default:
		if ipWhite {
			return bypass
		}
		if ex == rule.ExemptAll {
			return raiseLimit
		}
	}
	return noEffect
}
