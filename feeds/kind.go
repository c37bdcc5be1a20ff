package feeds

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/internal/textutil"
)

// kind is one list a Syncer keeps: where its entries come from and how
// they are read and stored.
type kind[T rule.Rule] struct {
	name    string // for errors and logs: "disposable domains", "bad bots"
	urls    []string
	builtin []T // entries of the built-in source, nil for none
	// entry turns an item of source into a row; problem is why it cannot
	// be used (rejected tells a refusal from a parse error).
	entry  func(it item, source string) (row T, problem string, rejected bool)
	table  core.Table[T]
	marked func(context.Context) ([]string, error)
	apply  func(ctx context.Context, add []T, reactivate, deactivate []string) (int, int, int, error)
}

const builtinSource = "builtin"

func (s *Syncer) domainKind() *kind[rule.BlockedDomain] {
	return &kind[rule.BlockedDomain]{
		name: "disposable domains", urls: s.cfg.domainURLs,
		entry: func(it item, source string) (rule.BlockedDomain, string, bool) {
			if it.regex {
				return rule.BlockedDomain{}, "an object, not a domain name", false
			}
			d, ok := rule.NormalizeDomain(strings.TrimPrefix(strings.TrimPrefix(it.text, "*."), "."))
			if !ok {
				return rule.BlockedDomain{}, "not a domain name", false
			}
			if p := s.cfg.domains.problem(d); p != "" {
				return rule.BlockedDomain{}, p, true
			}
			return rule.BlockedDomain{Domain: d, Type: "disposable", Reason: "synced from " + source, AutoSynced: true}, "", false
		},
		table: s.store.BlockedDomains(), marked: s.store.SyncDisabledDomains, apply: s.store.ApplyDomainSync,
	}
}

func (s *Syncer) botKind() *kind[rule.BlockedUserAgent] {
	k := &kind[rule.BlockedUserAgent]{
		name: "bad bots", urls: s.cfg.botURLs,
		entry: func(it item, source string) (rule.BlockedUserAgent, string, bool) {
			m := rule.UAContains
			if it.regex {
				m = rule.UARegex
			}
			u, err := rule.Normalize(rule.BlockedUserAgent{Pattern: it.text, Match: m, Category: "bot",
				Description: textutil.Truncate("synced from "+source, rule.MaxDescriptionLen), AutoSynced: true})
			if err != nil {
				var ve *rule.ValidationError
				if errors.As(err, &ve) {
					return u, "refused by rule validation: " + ve.Problem, it.regex
				}
				return u, err.Error(), it.regex
			}
			if p := s.cfg.uas.problem(u); p != "" {
				return u, p, true
			}
			return u, "", false
		},
		table: s.store.BlockedUserAgents(), marked: s.store.SyncDisabledUserAgents, apply: s.store.ApplyUserAgentSync,
	}
	if s.cfg.builtinBots {
		k.builtin = BuiltinBots()
	}
	return k
}

// entry is a usable entry of a list and the source it was first seen in.
type entry[T rule.Rule] struct {
	row T
	src int
}

// runKind syncs one kind and reports; it never returns half-applied work.
func runKind[T rule.Rule](ctx context.Context, s *Syncer, k *kind[T], force bool) KindReport {
	rep, err := syncKind(ctx, s, k, force)
	if err != nil {
		rep.Status, rep.Err = StatusFailed, fmt.Errorf("feeds: Sync %s: %w", k.name, err)
		rep.Counts = Counts{} // nothing changed; a plan's counts would mislead
		for i := range rep.Sources {
			rep.Sources[i].Counts = Counts{}
		}
		s.cfg.log.Warn("feeds: list sync failed, nothing changed", "kind", k.name, "error", err)
		return rep
	}
	s.cfg.log.Info("feeds: list sync", "kind", k.name, "status", rep.Status, "added", rep.Added,
		"reactivated", rep.Reactivated, "deactivated", rep.Deactivated, "unchanged", rep.Unchanged, "skipped", rep.Skipped)
	return rep
}

func syncKind[T rule.Rule](ctx context.Context, s *Syncer, k *kind[T], force bool) (KindReport, error) {
	var rep KindReport
	dl, err := download(ctx, s, k, force)
	rep.Sources = dl.reports
	if err != nil {
		return rep, err
	}
	if dl.unchanged {
		rep.Status = StatusUnchanged
		return rep, nil
	}
	entries, err := parseAll(s, k, dl)
	if err != nil {
		return rep, err
	}
	st, err := readState(ctx, k)
	if err != nil {
		return rep, err
	}
	p := makePlan(entries, st, dl.reports)
	if err := s.checkShrink(len(p.deactivate), st.activeSynced, force); err != nil {
		return rep, err
	}
	var a, r, d int
	if len(p.add)+len(p.reactivate)+len(p.deactivate) > 0 {
		if a, r, d, err = k.apply(ctx, p.add, p.reactivate, p.deactivate); err != nil {
			return rep, err
		}
	}
	// What the plan meant to add or reactivate and the store did not: an
	// operator wrote those rows meanwhile, so they are theirs.
	rep.Counts = Counts{Added: a, Reactivated: r, Deactivated: d, Unchanged: p.unchanged,
		Skipped: p.skipped + len(p.add) - a + len(p.reactivate) - r}
	s.saveValidators(ctx, k.urls, dl)
	rep.Status = StatusApplied
	if len(k.urls) == 0 && !rep.changed() {
		rep.Status = StatusUnchanged // the built-in list, already stored
	}
	return rep, nil
}
