package core

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/gaissmai/bart"

	"github.com/wardenkit/warden/core/internal/acmatch"
)

// Limits of User-Agent matching.
const (
	MaxUserAgentLen = 8 << 10 // contains/exact patterns see this much
	regexWindow     = 1 << 10 // regex patterns see this much
)

// InvalidRow is a stored row the snapshot skipped because it failed
// validation (hand-written SQL, a regex the engine refuses).
type InvalidRow struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
	Key  string `json:"key"`
	Err  string `json:"error"`
}

// Snapshot is an immutable, compiled view of every active rule and the
// settings, swapped atomically on each rebuild. Expiry is judged at decision
// time, so a snapshot never goes stale as the clock advances.
type Snapshot struct {
	Version  int64
	BuiltAt  time.Time
	Settings Settings
	Invalid  []InvalidRow

	blocked   *bart.Table[int32] // prefix -> index into blockedRow
	blockedIx []ipEntry
	white     *bart.Table[int64] // prefix -> rule ID

	users map[string]userEntry

	countryBlocked [676]countryEntry
	countryAllowed [676]int64 // rule ID, 0 = not allowed
	blockActive    bool       // block mode has at least one active row
	allowActive    bool       // allow-list mode is on and has rows

	uaEnforce, uaReport uaSet

	rates rateSet
}

type ipEntry struct {
	id         int64
	expires    int64 // unix nanoseconds; 0 = never
	parent     int32 // nearest blocked network that contains this one; -1 none
	reportOnly bool
}

type userEntry struct {
	id        int64
	exemption Exemption
	expires   int64
}

type countryEntry struct {
	id         int64
	reportOnly bool
}

func expiry(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// live reports whether an expiry stamp still applies at now. A block applies
// up to and including its expiry instant.
func live(expires, now int64) bool { return expires == 0 || now <= expires }

// blockedIP returns the rule that blocks ip at now: the most specific active
// enforcing rule, else the most specific active report-only rule.
func (s *Snapshot) blockedIP(ip netip.Addr, now int64) (id int64, reportOnly, ok bool) {
	i, found := s.blocked.Lookup(ip)
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

func (s *Snapshot) exemption(userID string, now int64) Exemption {
	if userID == "" || len(s.users) == 0 {
		return ""
	}
	u, ok := s.users[userID]
	if !ok || !live(u.expires, now) {
		return ""
	}
	return u.exemption
}

// uaSet is one compiled group of User-Agent patterns. Contains patterns and
// one required literal of each regex share one Aho-Corasick automaton, so a
// User-Agent that matches nothing costs one pass over its bytes; a regex runs
// only when its literal was seen (or always, if it has none).
type uaSet struct {
	exact     map[string]int64 // lower-cased pattern -> rule ID
	ac        *acmatch.Matcher // contains patterns, then regex literals
	cIDs      []int64          // rule ID per contains pattern
	litRegex  [][]int          // regexes per literal (AC index - len(cIDs))
	res       []*regexp.Regexp
	reIDs     []int64
	always    *regexp.Regexp // alternation of the regexes with no literal
	alwaysIdx []int
}

func (u *uaSet) empty() bool {
	return len(u.exact) == 0 && len(u.cIDs) == 0 && len(u.reIDs) == 0
}

// match returns the rule ID of a pattern that matches ua (at most
// MaxUserAgentLen bytes), 0 if none. Regexes see the first regexWindow bytes.
func (u *uaSet) match(ua string) int64 {
	if len(u.exact) > 0 {
		bp := uaBufPool.Get().(*[]byte)
		lower := lowerASCII(*bp, ua)
		id, ok := u.exact[string(lower)]
		*bp = lower
		uaBufPool.Put(bp)
		if ok {
			return id
		}
	}
	w := ua[:min(len(ua), regexWindow)]
	var found int64
	// The automaton folds ASCII case itself; it only reads the bytes.
	u.ac.Scan(unsafe.Slice(unsafe.StringData(ua), len(ua)), func(p int) bool {
		if p < len(u.cIDs) {
			found = u.cIDs[p]
			return true
		}
		for _, ri := range u.litRegex[p-len(u.cIDs)] {
			if u.res[ri].MatchString(w) {
				found = u.reIDs[ri]
				return true
			}
		}
		return false
	})
	if found != 0 || u.always == nil || !u.always.MatchString(w) {
		return found
	}
	for _, ri := range u.alwaysIdx {
		if u.res[ri].MatchString(w) {
			return u.reIDs[ri]
		}
	}
	return 0
}

type uaBuilder struct {
	exact    map[string]int64
	patterns []string
	cIDs     []int64
	reSrc    []string
	res      []*regexp.Regexp
	reIDs    []int64
}

func (b *uaBuilder) build() (uaSet, error) {
	s := uaSet{exact: b.exact, cIDs: b.cIDs, res: b.res, reIDs: b.reIDs}
	patterns := b.patterns
	litIndex := map[string]int{}
	var always []string
	for i, src := range b.reSrc {
		lit := requiredLiteral(src)
		if lit == "" {
			always = append(always, src)
			s.alwaysIdx = append(s.alwaysIdx, i)
			continue
		}
		j, ok := litIndex[lit]
		if !ok {
			j = len(s.litRegex)
			litIndex[lit] = j
			s.litRegex = append(s.litRegex, nil)
			patterns = append(patterns, lit)
		}
		s.litRegex[j] = append(s.litRegex[j], i)
	}
	m, err := acmatch.BuildFold(patterns)
	if err != nil {
		return s, err
	}
	s.ac = m
	if len(always) > 0 {
		s.always, err = regexp.Compile("(?i)(?:" + strings.Join(always, ")|(?:") + ")")
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// requiredLiteral returns a lower-cased ASCII string of at least two bytes
// that every match of the case-insensitive regex src contains, or "" when it
// cannot find one.
func requiredLiteral(src string) string {
	re, err := syntax.Parse(src, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return ""
	}
	lit := mustLiteral(re.Simplify())
	for i := 0; i < len(lit); i++ {
		if lit[i] >= 0x80 {
			return ""
		}
	}
	if len(lit) < 2 {
		return ""
	}
	return string(lowerASCII(nil, lit))
}

// mustLiteral returns the longest literal string every match of re contains.
func mustLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return mustLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return mustLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		best, run := "", ""
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run += string(sub.Rune)
				if len(run) > len(best) {
					best = run
				}
				continue
			}
			run = ""
			if l := mustLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

// loadSnapshot reads every active row and compiles a snapshot. A store error
// fails the load; a row that fails validation is skipped and reported.
func loadSnapshot(ctx context.Context, st Store, now time.Time) (*Snapshot, error) {
	version, err := st.Version(ctx) // before the reads: a concurrent write bumps past it
	if err != nil {
		return nil, fmt.Errorf("read version: %w", err)
	}
	settings, err := st.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	s := &Snapshot{Version: version, BuiltAt: now, blocked: new(bart.Table[int32]), white: new(bart.Table[int64]), users: map[string]userEntry{}}
	if settings, err = NormalizeSettings(settings); err != nil {
		s.Invalid = append(s.Invalid, InvalidRow{Kind: "Settings", ID: 1, Err: err.Error()})
		settings = DefaultSettings()
	}
	s.Settings = settings
	q := Query{ActiveOnly: true}
	bad := func(kind string, m Meta, key string, err error) {
		s.Invalid = append(s.Invalid, InvalidRow{Kind: kind, ID: m.ID, Key: key, Err: err.Error()})
	}

	blocked, err := st.BlockedIPs().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list blocked ips: %w", err)
	}
	s.blockedIx = make([]ipEntry, 0, len(blocked))
	prefixes := make([]netip.Prefix, 0, len(blocked))
	for _, r := range blocked {
		if !r.IsActive() {
			continue
		}
		p, err := ParseNetwork(r.Network)
		if err != nil {
			bad("BlockedIP", r.Meta, r.Network, err)
			continue
		}
		e := ipEntry{id: r.ID, expires: expiry(r.ExpiresAt), parent: -1, reportOnly: r.ReportOnly}
		if old, dup := s.blocked.Get(p); dup { // two rows for one network: keep the longer-lived
			if o := &s.blockedIx[old]; o.expires != 0 && (e.expires == 0 || e.expires > o.expires) {
				*o = e
			}
			continue
		}
		s.blocked.Insert(p, int32(len(s.blockedIx)))
		s.blockedIx = append(s.blockedIx, e)
		prefixes = append(prefixes, p)
	}
	// Link each prefix to the nearest blocked network around it, so an expired
	// host never hides an active network that contains it.
	for i, p := range prefixes {
		if p.Bits() == 0 {
			continue
		}
		if _, parent, ok := s.blocked.LookupPrefixLPM(netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked()); ok {
			s.blockedIx[i].parent = parent
		}
	}

	white, err := st.WhitelistedIPs().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list whitelisted ips: %w", err)
	}
	for _, r := range white {
		p, err := ParseNetwork(r.Network)
		if err != nil {
			bad("WhitelistedIP", r.Meta, r.Network, err)
			continue
		}
		if r.IsActive() {
			s.white.Insert(p, r.ID)
		}
	}

	users, err := st.WhitelistedUsers().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list whitelisted users: %w", err)
	}
	for _, r := range users {
		n, err := Normalize(r)
		if err != nil {
			bad("WhitelistedUser", r.Meta, r.UserID, err)
			continue
		}
		if n.IsActive() {
			s.users[n.UserID] = userEntry{id: n.ID, exemption: n.Exemption, expires: expiry(n.ExpiresAt)}
		}
	}

	countries, err := st.BlockedCountries().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list blocked countries: %w", err)
	}
	for _, r := range countries {
		i := countryIndex(r.Code)
		if _, ok := NormalizeCountry(r.Code); !ok || i < 0 {
			bad("BlockedCountry", r.Meta, r.Code, fmt.Errorf("not an ISO 3166-1 alpha-2 code"))
			continue
		}
		if r.IsActive() {
			s.countryBlocked[i] = countryEntry{id: r.ID, reportOnly: r.ReportOnly}
			s.blockActive = true
		}
	}
	allowed, err := st.AllowedCountries().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list allowed countries: %w", err)
	}
	nAllowed := 0
	for _, r := range allowed {
		i := countryIndex(r.Code)
		if _, ok := NormalizeCountry(r.Code); !ok || i < 0 {
			bad("AllowedCountry", r.Meta, r.Code, fmt.Errorf("not an ISO 3166-1 alpha-2 code"))
			continue
		}
		if r.IsActive() {
			s.countryAllowed[i] = r.ID
			nAllowed++
		}
	}
	s.blockActive = s.blockActive && settings.CountryBlockingEnabled
	s.allowActive = settings.CountryAllowListMode && nAllowed > 0
	if settings.CountryAllowListMode && nAllowed == 0 {
		bad("Settings", Meta{ID: 1}, "country_allow_list_mode", fmt.Errorf("allow-list mode with no active allowed country; the allow-list step is off"))
	}

	uas, err := st.BlockedUserAgents().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list blocked user agents: %w", err)
	}
	var enf, rep uaBuilder
	enf.exact, rep.exact = map[string]int64{}, map[string]int64{}
	nRegex := 0
	for _, r := range uas {
		n, err := Normalize(r)
		if err != nil {
			bad("BlockedUserAgent", r.Meta, r.Pattern, err)
			continue
		}
		if !n.IsActive() {
			continue
		}
		b := &enf
		if n.ReportOnly {
			b = &rep
		}
		switch n.Match {
		case UAExact:
			k := string(lowerASCII(nil, n.Pattern))
			if _, dup := b.exact[k]; !dup {
				b.exact[k] = n.ID
			}
		case UAContains:
			b.patterns = append(b.patterns, n.Pattern) // BuildFold folds case
			b.cIDs = append(b.cIDs, n.ID)
		case UARegex:
			if nRegex == maxRegexPatterns {
				bad("BlockedUserAgent", r.Meta, r.Pattern, fmt.Errorf("more than %d active regex patterns", maxRegexPatterns))
				continue
			}
			re, err := regexp.Compile("(?i)" + n.Pattern)
			if err != nil {
				bad("BlockedUserAgent", r.Meta, r.Pattern, err)
				continue
			}
			nRegex++
			b.reSrc = append(b.reSrc, n.Pattern)
			b.res = append(b.res, re)
			b.reIDs = append(b.reIDs, n.ID)
		}
	}
	if s.uaEnforce, err = enf.build(); err != nil {
		return nil, fmt.Errorf("compile user-agent patterns: %w", err)
	}
	if s.uaReport, err = rep.build(); err != nil {
		return nil, fmt.Errorf("compile user-agent patterns: %w", err)
	}

	rules, err := st.RateLimitRules().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list rate limit rules: %w", err)
	}
	var active []RateLimitRule
	for _, r := range rules {
		n, err := Normalize(r)
		if err != nil {
			bad("RateLimitRule", r.Meta, r.Key(), err)
			continue
		}
		if n.IsActive() {
			active = append(active, n)
		}
	}
	s.rates = compileRates(active, bad)
	return s, nil
}

var uaBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// lowerASCII writes the ASCII-lower-cased src into dst[:0] and returns it.
// Non-ASCII bytes are copied unchanged; patterns are lower-cased the same way,
// so both sides always agree.
func lowerASCII(dst []byte, src string) []byte {
	dst = dst[:0]
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
