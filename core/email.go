package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/wardenkit/warden/core/rule"
)

// CheckEmail decides an e-mail address a sign-up or login handler was
// given: a blocked address (Settings.EmailBlockingEnabled) or an address at
// a blocked domain or any of its sub-domains (Settings.DomainBlockingEnabled)
// is denied with 403 and an EMAIL_BLOCK or DOMAIN_BLOCK event naming the
// address. A malformed address is denied with 400 and Reason
// ReasonInvalidEmail. r, the handler's request, is optional: it gives the
// event its client address, path and User-Agent.
//
// The address is compared normalised: trimmed, case-folded, the domain in
// punycode; with WithEmailProviderRules, "+tags" and Gmail's dots are dropped
// too. The check reads only the snapshot: no database work, and no
// allocation for a well-formed ASCII address. Errors and the fail policy are
// as for Check.
func (e *Engine) CheckEmail(ctx context.Context, r *http.Request, address string) (Decision, error) {
	s := e.snap.Load()
	if s == nil {
		err := e.noSnapshot()
		return e.failPolicy(Decision{}, err), err
	}
	d := Decision{Allowed: true}
	if r != nil {
		d.ClientIP, _ = e.ips.ClientIP(r)
	}
	set := &s.Settings
	if !set.EmailBlockingEnabled && !set.DomainBlockingEnabled {
		return d, nil
	}
	bp := emailBufPool.Get().(*[]byte)
	defer emailBufPool.Put(bp)
	addr, at, ok := e.normalizeEmail((*bp)[:0], address)
	*bp = addr[:0]
	if !ok {
		d.Allowed, d.Status, d.Reason = false, http.StatusBadRequest, ReasonInvalidEmail
		return d, nil
	}
	if a, m, ok := s.matchEmail(addr, at); ok {
		e.emailHit(r, &d, s, a, m, string(addr))
	}
	return d, nil
}

// matchEmail finds the active rule of a normalised address: its own, else
// its domain's, as the settings enable them.
func (s *snapshot) matchEmail(addr []byte, at int) (Action, emailRule, bool) {
	if m, ok := s.emails[string(addr)]; s.Settings.EmailBlockingEnabled && ok {
		return ActionEmailBlock, m, true
	}
	if m, ok := s.blockedDomain(addr[at+1:]); s.Settings.DomainBlockingEnabled && ok {
		return ActionDomainBlock, m, true
	}
	return "", emailRule{}, false
}

// emailRule is one compiled blocked address or domain.
type emailRule struct {
	id         int64
	reportOnly bool
}

var emailBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// emailHit turns d into a denial (or, in report-only mode, records what
// would have been denied).
func (e *Engine) emailHit(r *http.Request, d *Decision, s *snapshot, a Action, m emailRule, addr string) {
	id := m.id
	ev := Event{CreatedAt: e.clock.Now(), Action: a, RuleID: id, UserEmail: addr}
	if s.Settings.ReportOnly || m.reportOnly {
		d.ReportOnly, d.Action, d.RuleID = true, a, id
		ev.Action, ev.Details = ActionWouldBlock, string(a)
	} else {
		d.Allowed, d.Action, d.RuleID, d.Status = false, a, id, http.StatusForbidden
	}
	if r != nil {
		if r.URL != nil {
			ev.Path = r.URL.Path
		}
		ev.Method, ev.UserAgent = r.Method, userAgent(r.Header)
	}
	if d.ClientIP.IsValid() {
		ev.IP = d.ClientIP.String()
	}
	e.events.enqueue(ev)
}

// blockedDomain looks domain and each parent domain up ("a.b.example",
// "b.example", "example").
func (s *snapshot) blockedDomain(domain []byte) (emailRule, bool) {
	for {
		if m, ok := s.domains[string(domain)]; ok {
			return m, true
		}
		i := indexByte(domain, '.')
		if i < 0 {
			return emailRule{}, false
		}
		domain = domain[i+1:]
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// normalizeEmail writes the normalised address into buf and returns it with
// the index of its "@". A well-formed ASCII address is checked and
// lower-cased here without allocating; anything else goes through
// rule.NormalizeEmail.
func (e *Engine) normalizeEmail(buf []byte, address string) (addr []byte, at int, ok bool) {
	a := strings.TrimSpace(address)
	at = strings.IndexByte(a, '@')
	if at <= 0 || at > 64 || len(a) > rule.MaxEmailLen || !asciiAddress(a, at) {
		n, ok := rule.NormalizeEmail(address)
		if !ok {
			return nil, 0, false
		}
		a, at = n, strings.IndexByte(n, '@')
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	if buf[len(buf)-1] == '.' {
		buf = buf[:len(buf)-1]
	}
	if e.cfg.emailProviderRules {
		local := providerLocal(buf[:at], buf[at+1:])
		if len(local) < at { // move "@domain" up behind the shorter local part
			n := copy(buf[len(local):], buf[at:])
			buf, at = buf[:len(local)+n], len(local)
		}
	}
	return buf, at, true
}

// asciiAddress reports whether a (with its "@" at at) is a plain ASCII
// address: a dot-atom local part and a domain of at least two labels of
// letters, digits, hyphens and underscores. Anything else (quoted local
// parts, non-ASCII) takes the slow path.
func asciiAddress(a string, at int) bool {
	local, dom := a[:at], strings.TrimSuffix(a[at+1:], ".")
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c >= 0x80 || !(isAlnum(c) || c == '.' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
			return false
		}
	}
	labels, start := 0, 0
	for i := 0; i <= len(dom); i++ {
		if i < len(dom) && dom[i] != '.' {
			if c := dom[i]; !(isAlnum(c) || c == '-' || c == '_') {
				return false
			}
			continue
		}
		l := dom[start:i]
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	return labels >= 2 && len(dom) <= rule.MaxDomainLen
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// providerLocal applies the address rules of large providers: "+tags" are
// dropped at providers that deliver them to the same mailbox, and Gmail
// ignores dots.
func providerLocal(local, domain []byte) []byte {
	switch string(domain) {
	case "gmail.com", "googlemail.com":
		local = cutTag(local)
		out := local[:0]
		for _, c := range local {
			if c != '.' {
				out = append(out, c)
			}
		}
		return out
	case "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com", "protonmail.com", "proton.me", "fastmail.com", "yahoo.com":
		return cutTag(local)
	}
	return local
}

func cutTag(local []byte) []byte {
	if i := indexByte(local, '+'); i > 0 {
		return local[:i]
	}
	return local
}

// loadEmails compiles the blocked addresses and domains.
func (s *snapshot) loadEmails(ctx context.Context, st Store) error {
	providerRules := s.emailProviderRules
	emails, err := st.BlockedEmails().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list blocked emails: %w", err)
	}
	s.emails = make(map[string]emailRule, len(emails))
	for _, r := range emails {
		n, err := rule.Normalize(r)
		if err != nil {
			s.skip("BlockedEmail", r.Meta, r.Email, err)
			continue
		}
		if !n.IsActive() {
			continue
		}
		key := n.Email
		if providerRules {
			at := strings.IndexByte(key, '@')
			key = string(providerLocal([]byte(key[:at]), []byte(key[at+1:]))) + key[at:]
		}
		s.emails[key] = emailRule{id: n.ID, reportOnly: n.ReportOnly}
	}
	domains, err := st.BlockedDomains().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list blocked domains: %w", err)
	}
	s.domains = make(map[string]emailRule, len(domains))
	for _, r := range domains {
		n, err := rule.Normalize(r)
		if err != nil {
			s.skip("BlockedDomain", r.Meta, r.Domain, err)
			continue
		}
		if n.IsActive() {
			s.domains[n.Domain] = emailRule{id: n.ID, reportOnly: n.ReportOnly}
		}
	}
	return nil
}
