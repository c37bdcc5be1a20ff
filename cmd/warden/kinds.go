package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/ruleio"
)

// writeOpts are the flags of block and allow.
type writeOpts struct {
	forDur time.Duration
	reason string
	match  string
	force  bool
	actor  string // CreatedBy of allow rules
}

// kindOps is what the commands do with one rule kind.
type kindOps interface {
	put(ctx context.Context, t core.Rules, value string, o writeOpts) (string, error)
	remove(ctx context.Context, t core.Rules, value string) (string, error)
	list(ctx context.Context, t core.Rules, w io.Writer, asJSON bool) error
	export(ctx context.Context, t core.Rules, w io.Writer, f ruleio.Format) error
	importRows(ctx context.Context, t core.Rules, r io.Reader, f ruleio.Format) (int, error)
	count(ctx context.Context, t core.Rules) (int, error)
}

// kind implements kindOps for the rule type T.
type kind[T rule.Rule] struct {
	table func(core.Rules) core.Table[T]
	make  func(value string, o writeOpts) (T, error)
	cols  string         // header of the list table
	row   func(T) string // one line of it, tab-separated
}

func (k kind[T]) put(ctx context.Context, t core.Rules, value string, o writeOpts) (string, error) {
	v, err := k.make(value, o)
	if err != nil {
		return "", err
	}
	got, err := k.table(t).Put(ctx, v)
	if err != nil {
		return "", err
	}
	return got.Key(), nil
}

func (k kind[T]) remove(ctx context.Context, t core.Rules, value string) (string, error) {
	tb := k.table(t)
	if err := tb.Delete(ctx, value); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return "", fmt.Errorf("no rule %q; see: warden rules list", value)
		}
		return "", err
	}
	return value, nil
}

func (k kind[T]) all(ctx context.Context, t core.Rules) ([]T, error) {
	return ruleio.ReadAll(ctx, k.table(t), core.Query{})
}

func (k kind[T]) count(ctx context.Context, t core.Rules) (int, error) {
	rows, err := k.all(ctx, t)
	return len(rows), err
}

func (k kind[T]) list(ctx context.Context, t core.Rules, w io.Writer, asJSON bool) error {
	rows, err := k.all(ctx, t)
	if err != nil {
		return err
	}
	if asJSON {
		return ruleio.Export(w, ruleio.JSON, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, k.cols)
	for _, r := range rows {
		fmt.Fprintln(tw, k.row(r))
	}
	return tw.Flush()
}

func (k kind[T]) export(ctx context.Context, t core.Rules, w io.Writer, f ruleio.Format) error {
	rows, err := k.all(ctx, t)
	if err != nil {
		return err
	}
	return ruleio.Export(w, f, rows)
}

// importRows validates every row first and writes nothing unless all are
// valid; then it puts them one by one (a store failure part-way leaves the
// rows before it written).
func (k kind[T]) importRows(ctx context.Context, t core.Rules, r io.Reader, f ruleio.Format) (int, error) {
	rows, err := ruleio.Import[T](r, f)
	if err != nil {
		return 0, err
	}
	tb := k.table(t)
	for i, v := range rows {
		if _, err := tb.Put(ctx, v); err != nil {
			return i, fmt.Errorf("row with key %q: %w (%d rows before it were imported)", v.Key(), err, i)
		}
	}
	return len(rows), nil
}

// kinds are the rule kinds by their command-line name.
var kinds = map[string]kindOps{
	"ip": kind[rule.BlockedIP]{
		table: core.Rules.BlockedIPs,
		make: func(v string, o writeOpts) (rule.BlockedIP, error) {
			r := rule.BlockedIP{Network: v, Reason: o.reason, Force: o.force}
			if o.forDur > 0 {
				r.ExpiresAt = time.Now().Add(o.forDur).UTC()
			}
			return r, nil
		},
		cols: "NETWORK\tACTIVE\tEXPIRES\tREASON",
		row: func(r rule.BlockedIP) string {
			return fmt.Sprintf("%s\t%v\t%s\t%s", r.Network, r.IsActive(), when(r.ExpiresAt), oneLine(r.Reason))
		},
	},
	"ua": kind[rule.BlockedUserAgent]{
		table: core.Rules.BlockedUserAgents,
		make: func(v string, o writeOpts) (rule.BlockedUserAgent, error) {
			return rule.BlockedUserAgent{Pattern: v, Match: rule.UAMatch(o.match), Category: "custom", Description: o.reason}, nil
		},
		cols: "PATTERN\tMATCH\tACTIVE\tDESCRIPTION",
		row: func(r rule.BlockedUserAgent) string {
			return fmt.Sprintf("%s\t%s\t%v\t%s", oneLine(r.Pattern), r.Match, r.IsActive(), oneLine(r.Description))
		},
	},
	"country": kind[rule.BlockedCountry]{
		table: core.Rules.BlockedCountries,
		make: func(v string, o writeOpts) (rule.BlockedCountry, error) {
			return rule.BlockedCountry{Code: v, Reason: o.reason}, nil
		},
		cols: "CODE\tACTIVE\tREASON",
		row: func(r rule.BlockedCountry) string {
			return fmt.Sprintf("%s\t%v\t%s", r.Code, r.IsActive(), oneLine(r.Reason))
		},
	},
	"email": kind[rule.BlockedEmail]{
		table: core.Rules.BlockedEmails,
		make: func(v string, o writeOpts) (rule.BlockedEmail, error) {
			return rule.BlockedEmail{Email: v, Reason: o.reason}, nil
		},
		cols: "EMAIL\tACTIVE\tREASON",
		row: func(r rule.BlockedEmail) string {
			return fmt.Sprintf("%s\t%v\t%s", r.Email, r.IsActive(), oneLine(r.Reason))
		},
	},
	"domain": kind[rule.BlockedDomain]{
		table: core.Rules.BlockedDomains,
		make: func(v string, o writeOpts) (rule.BlockedDomain, error) {
			return rule.BlockedDomain{Domain: v, Type: "custom", Reason: o.reason}, nil
		},
		cols: "DOMAIN\tTYPE\tACTIVE\tSYNCED\tREASON",
		row: func(r rule.BlockedDomain) string {
			return fmt.Sprintf("%s\t%s\t%v\t%v\t%s", r.Domain, r.Type, r.IsActive(), r.AutoSynced, oneLine(r.Reason))
		},
	},
	"allow-ip": kind[rule.WhitelistedIP]{
		table: core.Rules.WhitelistedIPs,
		make: func(v string, o writeOpts) (rule.WhitelistedIP, error) {
			return rule.WhitelistedIP{Network: v, Description: o.reason, Force: o.force, CreatedBy: o.actor}, nil
		},
		cols: "NETWORK\tACTIVE\tCREATED_BY\tDESCRIPTION",
		row: func(r rule.WhitelistedIP) string {
			return fmt.Sprintf("%s\t%v\t%s\t%s", r.Network, r.IsActive(), r.CreatedBy, oneLine(r.Description))
		},
	},
	"allow-user": kind[rule.WhitelistedUser]{
		table: core.Rules.WhitelistedUsers,
		make: func(v string, o writeOpts) (rule.WhitelistedUser, error) {
			r := rule.WhitelistedUser{UserID: v, Reason: o.reason, CreatedBy: o.actor}
			if o.forDur > 0 {
				r.ExpiresAt = time.Now().Add(o.forDur).UTC()
			}
			return r, nil
		},
		cols: "USER_ID\tEXEMPTION\tACTIVE\tEXPIRES\tREASON",
		row: func(r rule.WhitelistedUser) string {
			return fmt.Sprintf("%s\t%s\t%v\t%s\t%s", r.UserID, r.Exemption, r.IsActive(), when(r.ExpiresAt), oneLine(r.Reason))
		},
	},
}

// lookupKind returns the kind named name among allowed, or a usage error.
func lookupKind(name string, allowed ...string) (kindOps, error) {
	if !slices.Contains(allowed, name) {
		return nil, usagef("unknown kind %q: want one of %s", name, strings.Join(allowed, ", "))
	}
	return kinds[name], nil
}

var (
	blockKinds = []string{"ip", "ua", "country", "email", "domain"}
	allowKinds = []string{"ip", "user"}
	ruleKinds  = []string{"ip", "ua", "country", "email", "domain", "allow-ip", "allow-user"}
)

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine keeps a table to one line per row.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
