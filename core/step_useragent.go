package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/wardenkit/warden/core/internal/uamatch"
	"github.com/wardenkit/warden/core/rule"
)

// MaxUserAgentLen is how much of a User-Agent the patterns see; a longer one
// follows Settings.OversizeUserAgent.
const MaxUserAgentLen = 8 << 10

// maxRegexPatterns bounds the active regex User-Agent patterns.
const maxRegexPatterns = 50

// stepUserAgent denies a request whose User-Agent matches an active pattern.
func (e *Engine) stepUserAgent(c *checkState) bool {
	s := c.s
	if !s.Settings.UserAgentBlockingEnabled || (s.uaEnforce.Empty() && s.uaReport.Empty()) {
		return false
	}
	ua := userAgent(c.r.Header)
	if ua == "" {
		return false
	}
	if len(ua) > MaxUserAgentLen {
		if s.Settings.OversizeUserAgent != OversizeAllow && e.hit(c, ActionUserAgentBlock, 0, false, "oversize User-Agent") {
			return true
		}
		ua = ua[:MaxUserAgentLen]
	}
	id, ro := s.uaEnforce.Match(ua), false
	if id == 0 && !s.uaReport.Empty() {
		id, ro = s.uaReport.Match(ua), true
	}
	if id == 0 {
		return false
	}
	if c.tr == nil {
		e.countHit(HitUserAgent, id)
	}
	return e.hit(c, ActionUserAgentBlock, id, ro, "")
}

// userAgent is the User-Agent as the patterns see it: every User-Agent line,
// joined with ", " as a proxy joins repeated fields, so a second line cannot
// hide a value from the rules.
func userAgent(h http.Header) string {
	switch v := h["User-Agent"]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		return strings.Join(v, ", ")
	}
}

// loadUserAgents compiles the patterns: enforcing and report-only ones in
// two sets, at most maxRegexPatterns regexes between them.
func (s *snapshot) loadUserAgents(ctx context.Context, st Store) error {
	rows, err := st.BlockedUserAgents().List(ctx, Query{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list blocked user agents: %w", err)
	}
	var enf, rep uamatch.Builder
	for _, r := range rows {
		n, err := rule.Normalize(r)
		if err != nil {
			s.skip("BlockedUserAgent", r.Meta, r.Pattern, err)
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
		case rule.UAExact:
			b.Exact(n.Pattern, n.ID)
		case rule.UAContains:
			b.Contains(n.Pattern, n.ID)
		case rule.UARegex:
			if enf.Regexes()+rep.Regexes() == maxRegexPatterns {
				s.skip("BlockedUserAgent", r.Meta, r.Pattern, fmt.Errorf("more than %d active regex patterns", maxRegexPatterns))
				continue
			}
			if err := b.Regex(n.Pattern, n.ID); err != nil {
				s.skip("BlockedUserAgent", r.Meta, r.Pattern, err)
			}
		}
	}
	if s.uaEnforce, err = enf.Build(); err != nil {
		return fmt.Errorf("compile user-agent patterns: %w", err)
	}
	if s.uaReport, err = rep.Build(); err != nil {
		return fmt.Errorf("compile user-agent patterns: %w", err)
	}
	return nil
}
