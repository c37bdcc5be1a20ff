package core

import (
	"slices"
	"strconv"
	"strings"
)

// DefaultAutoBlockWeights is Settings.AutoBlockWeights of a new
// installation: the denials an attack tool draws count, a legitimate
// user's blocked e-mail or suspicious login does not.
const DefaultAutoBlockWeights = "LOCKOUT=1,RATE_LIMIT=1,USER_AGENT_BLOCK=1"

// weighable are the actions a weight may be given, in weights order.
// AUTO_BLOCK_*, WOULD_BLOCK, FAIL_POLICY and ADMIN_ACTION never count.
var weighable = [...]Action{
	ActionUserAgentBlock, ActionRateLimit, ActionLockout, ActionIPBlock, ActionCountryBlock,
	ActionCountryWhitelistBlock, ActionEmailBlock, ActionDomainBlock, ActionNoClientIP, ActionSuspiciousLogin,
}

// weights are the parsed AutoBlockWeights, indexed like weighable.
type weights [len(weighable)]int32

// weightIndex is a's index in weighable, -1 when it never counts.
func weightIndex(a Action) int {
	switch a {
	case ActionUserAgentBlock:
		return 0
	case ActionRateLimit:
		return 1
	case ActionLockout:
		return 2
	case ActionIPBlock:
		return 3
	case ActionCountryBlock:
		return 4
	case ActionCountryWhitelistBlock:
		return 5
	case ActionEmailBlock:
		return 6
	case ActionDomainBlock:
		return 7
	case ActionNoClientIP:
		return 8
	case ActionSuspiciousLogin:
		return 9
	}
	return -1
}

// of is the weight of action a.
func (w *weights) of(a Action) int64 {
	if i := weightIndex(a); i >= 0 {
		return int64(w[i])
	}
	return 0
}

// parseWeights reads "ACTION=n,…" (n from 0 to 1000, each action once).
func parseWeights(s string) (weights, error) {
	var w weights
	seen := map[Action]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, num, ok := strings.Cut(part, "=")
		a := Action(strings.ToUpper(strings.TrimSpace(name)))
		n, err := strconv.Atoi(strings.TrimSpace(num))
		i := weightIndex(a)
		switch {
		case !ok || err != nil || n < 0 || n > 1000:
			return w, invalid("Settings", "auto_block_weights", s, "want ACTION=n pairs with n from 0 to 1000, e.g. "+DefaultAutoBlockWeights)
		case i < 0:
			return w, invalid("Settings", "auto_block_weights", s, string(a)+" cannot be weighed; one of "+weighableNames())
		case seen[a]:
			return w, invalid("Settings", "auto_block_weights", s, string(a)+" given twice")
		}
		seen[a] = true
		w[i] = int32(n)
	}
	return w, nil
}

func weighableNames() string {
	names := make([]string, len(weighable))
	for i, a := range weighable {
		names[i] = string(a)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// String is the canonical form: non-zero weights, sorted by action.
func (w *weights) String() string {
	var parts []string
	for i, n := range w {
		if n != 0 {
			parts = append(parts, string(weighable[i])+"="+strconv.Itoa(int(n)))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// normalizeAutoBlock checks the auto-blocking fields that depend on each
// other and puts the weights in canonical form.
func (s *Settings) normalizeAutoBlock() error {
	const t = "Settings"
	w, err := parseWeights(s.AutoBlockWeights)
	if err != nil {
		return err
	}
	s.AutoBlockWeights = w.String()
	if s.AutoBlockIPDurationHours > s.AutoBlockMaxDurationHours {
		return invalid(t, "auto_block_max_duration_hours", strconv.Itoa(s.AutoBlockMaxDurationHours),
			"must be at least auto_block_ip_duration_hours ("+strconv.Itoa(s.AutoBlockIPDurationHours)+")")
	}
	if keep := s.RetentionDays * 24; keep > 0 {
		for _, f := range []struct {
			name  string
			hours int
		}{{"auto_block_ip_window_hours", s.AutoBlockIPWindowHours}, {"auto_block_country_window_hours", s.AutoBlockCountryWindowHours}} {
			if f.hours > keep {
				return invalid(t, f.name, strconv.Itoa(f.hours), "longer than retention_days ("+strconv.Itoa(s.RetentionDays)+
					" days): the events it counts would be deleted first; shorten it or keep events longer")
			}
		}
	}
	return nil
}
