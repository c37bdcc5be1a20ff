package core

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"net/netip"

	"github.com/gaissmai/bart"
	"github.com/wardenkit/warden/core/rule"
)

// The blocked-IP step, the whitelist and user exemptions: their compiled form
// in the snapshot and their lookups.

// ipEntry is one compiled blocked network.
type ipEntry struct {
	id         int64
	expires    int64 // unix nanoseconds; 0 = never
	parent     int32 // nearest blocked network that contains this one; -1 none
	reportOnly bool
}

// userEntry is one compiled user exemption.
type userEntry struct {
	id        int64
	exemption rule.Exemption
	expires   int64
}

// stepBlockedIP denies a client inside an active blocked network.
func (e *Engine) stepBlockedIP(c *checkState) bool {
	if !c.s.Settings.IPBlockingEnabled || c.ex == rule.ExemptIPBlock {
		return false
	}
	id, ro, hit := c.s.blockedIP(c.d.ClientIP, c.ns)
	return hit && e.hit(c, ActionIPBlock, id, ro, "")
}

// blockedIP returns the rule that blocks ip at now: the most specific active
// enforcing rule, else the most specific active report-only rule.
func (s *snapshot) blockedIP(ip netip.Addr, now int64) (id int64, reportOnly, ok bool) {
	i, found := s.lookupBlocked(ip)
	if !found {
		return 0, false, false
	}
	var report int64
	for ; i >= 0; i = s.blockedIx[i].parent {
		e := &s.blockedIx[i]
		if !live(e.expires, now) {
			continue
		}
		if !e.reportOnly {
			return e.id, false, true
		}
		if report == 0 {
			report = e.id
		}
	}
	return report, true, report != 0
}

// lookupBlocked is the most specific blocked network holding ip: a host
// rule (in hosts4 or hosts6) before the networks in the prefix table.
func (s *snapshot) lookupBlocked(ip netip.Addr) (int32, bool) {
	if ip.Is4() {
		if i, ok := s.hosts4[ip4Key(ip)]; ok {
			return i, true
		}
	} else if i, ok := s.hosts6[ip.As16()]; ok {
		return i, true
	}
	return s.blocked.Lookup(ip)
}

// blockedSupernets yields every blocked network holding ip, most specific
// first, for Explain.
func (s *snapshot) blockedSupernets(ip netip.Addr) iter.Seq2[netip.Prefix, int32] {
	return func(yield func(netip.Prefix, int32) bool) {
		host := netip.PrefixFrom(ip, ip.BitLen())
		if i, ok := s.hosts4[ip4Key(ip)]; ok && ip.Is4() && !yield(host, i) {
			return
		}
		if i, ok := s.hosts6[ip.As16()]; ok && !ip.Is4() && !yield(host, i) {
			return
		}
		for p, i := range s.blocked.Supernets(host) {
			if !yield(p, i) {
				return
			}
		}
	}
}

// ip4Key is an IPv4 address as the key of hosts4.
func ip4Key(ip netip.Addr) uint32 {
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:])
}

// addHost files a host rule (a /32 or /128) in hosts4 or hosts6 and reports
// the index of an earlier rule for the same address, if any.
func (s *snapshot) addHost(a netip.Addr, i int32) (old int32, dup bool) {
	if a.Is4() {
		if old, dup = s.hosts4[ip4Key(a)]; !dup {
			s.hosts4[ip4Key(a)] = i
		}
		return old, dup
	}
	if old, dup = s.hosts6[a.As16()]; !dup {
		s.hosts6[a.As16()] = i
	}
	return old, dup
}

// exemption is the active exemption of a user at now, "" when none.
func (s *snapshot) exemption(userID string, now int64) rule.Exemption {
	if userID == "" || len(s.users) == 0 {
		return ""
	}
	u, ok := s.users[userID]
	if !ok || !live(u.expires, now) {
		return ""
	}
	return u.exemption
}

// loadBlockedIPs compiles the blocked networks: hosts in two maps free of
// pointers (the garbage collector does not scan them), wider networks in a
// prefix table. Each network is linked to the nearest blocked network around
// it, so an expired host never hides an active network that contains it.
func (s *snapshot) loadBlockedIPs(ctx context.Context, st Store) error {
	rows, err := st.BlockedIPs().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list blocked ips: %w", err)
	}
	s.blocked = new(bart.Table[int32])
	s.hosts4, s.hosts6 = map[uint32]int32{}, map[[16]byte]int32{}
	s.blockedIx = make([]ipEntry, 0, len(rows))
	prefixes := make([]netip.Prefix, 0, len(rows))
	for _, r := range rows {
		if !r.IsActive() {
			continue
		}
		p, err := rule.ParseNetwork(r.Network)
		if err != nil {
			s.skip("BlockedIP", r.Meta, r.Network, err)
			continue
		}
		e, i := ipEntry{id: r.ID, expires: expiry(r.ExpiresAt), parent: -1, reportOnly: r.ReportOnly}, int32(len(s.blockedIx))
		old, dup := int32(0), false
		if p.IsSingleIP() {
			old, dup = s.addHost(p.Addr(), i)
		} else if old, dup = s.blocked.Get(p); !dup {
			s.blocked.Insert(p, i)
		}
		if dup { // two rows for one network: keep the longer-lived
			if o := &s.blockedIx[old]; o.expires != 0 && (e.expires == 0 || e.expires > o.expires) {
				*o = e
			}
			continue
		}
		s.blockedIx = append(s.blockedIx, e)
		prefixes = append(prefixes, p)
	}
	for i, p := range prefixes {
		if p.Bits() == 0 {
			continue
		}
		if _, parent, ok := s.blocked.LookupPrefixLPM(netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked()); ok {
			s.blockedIx[i].parent = parent
		}
	}
	return nil
}

// loadWhitelist compiles the whitelisted networks.
func (s *snapshot) loadWhitelist(ctx context.Context, st Store) error {
	rows, err := st.WhitelistedIPs().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list whitelisted ips: %w", err)
	}
	s.white = new(bart.Table[int64])
	for _, r := range rows {
		p, err := rule.ParseNetwork(r.Network)
		if err != nil {
			s.skip("WhitelistedIP", r.Meta, r.Network, err)
			continue
		}
		if r.IsActive() {
			s.white.Insert(p, r.ID)
		}
	}
	return nil
}

// loadUsers compiles the user exemptions.
func (s *snapshot) loadUsers(ctx context.Context, st Store) error {
	rows, err := st.WhitelistedUsers().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list whitelisted users: %w", err)
	}
	s.users = make(map[string]userEntry, len(rows))
	for _, r := range rows {
		n, err := rule.Normalize(r)
		if err != nil {
			s.skip("WhitelistedUser", r.Meta, r.UserID, err)
			continue
		}
		if n.IsActive() {
			s.users[n.UserID] = userEntry{id: n.ID, exemption: n.Exemption, expires: expiry(n.ExpiresAt)}
		}
	}
	return nil
}
