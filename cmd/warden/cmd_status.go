package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core"
)

// status is what warden status reports.
type status struct {
	Store        string         `json:"store"`
	Version      int64          `json:"version"`
	Redis        bool           `json:"redis"`
	Rules        map[string]int `json:"rules"`
	Locked       int            `json:"locked"`
	Settings     core.Settings  `json:"settings"`
	InvalidRules int            `json:"invalid_rules"`
}

func statusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show the store, rule counts, lockouts and the main settings",
		Example: "  warden status\n  warden status --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := readStatus(cmd.Context(), a)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.stdout, st)
			}
			printStatus(a, st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func readStatus(ctx context.Context, a *app) (status, error) {
	eng, err := a.engine(ctx)
	if err != nil {
		return status{}, err
	}
	scheme, _, _ := strings.Cut(a.dsn, ":")
	st := status{Store: scheme, Redis: a.bus != nil, Rules: map[string]int{}}
	if st.Version, err = a.store.Version(ctx); err != nil {
		return st, err
	}
	for _, name := range ruleKinds {
		n, err := kinds[name].count(ctx, a.store)
		if err != nil {
			return st, err
		}
		st.Rules[name] = n
	}
	locked, err := eng.Lockout().ListLocked(ctx, 10_000)
	if err != nil {
		return st, err
	}
	st.Locked = len(locked)
	if st.Settings, err = eng.Settings(ctx); err != nil {
		return st, err
	}
	st.InvalidRules = len(eng.Stats().InvalidRows)
	return st, nil
}

func printStatus(a *app, st status) {
	a.say("store:         %s (version %d)%s", st.Store, st.Version, map[bool]string{true: ", Redis bus", false: ""}[st.Redis])
	for _, name := range ruleKinds {
		a.say("%-14s %d", name+":", st.Rules[name])
	}
	a.say("locked now:    %d", st.Locked)
	s := st.Settings
	a.say("report only:   %v", s.ReportOnly)
	a.say("blocking:      ip %v, user agent %v, country %v, e-mail %v, domain %v",
		s.IPBlockingEnabled, s.UserAgentBlockingEnabled, s.CountryBlockingEnabled, s.EmailBlockingEnabled, s.DomainBlockingEnabled)
	a.say("login:         %d attempts, cool-off %d min", s.MaxLoginAttempts, s.LockoutCooloffMinutes)
	a.say("last sync:     %s", when(s.LastSyncAt))
	if st.InvalidRules > 0 {
		a.say("invalid rules: %d stored rows fail validation and are not enforced", st.InvalidRules)
	}
}
