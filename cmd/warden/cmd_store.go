package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/feeds"
)

func migrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database tables",
		Long: `migrate applies every migration the database lacks; running it again does
nothing. Run it before the first start and after upgrading warden.`,
		Example: "  warden migrate\n  warden migrate --dsn postgres://warden@db.internal/warden",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			a.say("database is up to date")
			return nil
		},
	}
}

func listsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "lists",
		Short:   "Keep the disposable-domain and bad-bot lists current",
		Example: "  warden lists sync\n  warden lists sync --bots-only",
	}
	var domainsOnly, botsOnly, force bool
	var src sources
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Download the lists and apply them",
		Long: `sync downloads the disposable e-mail domain list and applies the bad-bot
list (built in), each all or nothing; --domains-only and --bots-only pick one.
A list whose settings switch is off (sync_disposable_domains, sync_bad_bots)
is skipped. A sync that would deactivate more than half the synced rows is
refused unless --force. Each download shows a progress bar with bytes and
rate when run in a terminal, one line otherwise; a list that has not changed
since the last sync (HTTP 304) is not downloaded.`,
		Example: `  warden lists sync
  warden lists sync --domains-only
  warden lists sync --bots-only --bot-url https://lists.example.org/bad-bots.txt`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if domainsOnly && botsOnly {
				return usagef("--domains-only and --bots-only exclude each other")
			}
			req := feeds.Request{Force: force}
			switch {
			case domainsOnly:
				req.Kinds = feeds.Domains
			case botsOnly:
				req.Kinds = feeds.Bots
			}
			return syncLists(cmd, a, req, src)
		},
	}
	sync.Flags().BoolVar(&domainsOnly, "domains-only", false, "sync the disposable-domain list only")
	sync.Flags().BoolVar(&botsOnly, "bots-only", false, "sync the bad-bot list only")
	sync.Flags().BoolVar(&force, "force", false, "apply even a list that drops many entries; download in full")
	sync.Flags().StringSliceVar(&src.domains, "domain-url", nil, "disposable-domain list URL (default: the disposable-email-domains project); repeatable")
	sync.Flags().StringSliceVar(&src.bots, "bot-url", nil, "bad-bot list URL added to the built-in list; repeatable")
	cmd.AddCommand(sync)
	return cmd
}

// sources are the list URLs given on the command line.
type sources struct{ domains, bots []string }

func (s sources) options() []feeds.Option {
	var opts []feeds.Option
	if len(s.domains) > 0 {
		opts = append(opts, feeds.WithDomainURLs(s.domains...))
	}
	if len(s.bots) > 0 {
		opts = append(opts, feeds.WithBotURLs(s.bots...))
	}
	return opts
}

func syncLists(cmd *cobra.Command, a *app, req feeds.Request, src sources) error {
	if _, err := a.engine(cmd.Context()); err != nil {
		return err
	}
	p := newProgress(a, false)
	fetcher, err := feeds.NewFetcher(nil, feeds.WithProgress(p.update))
	if err != nil {
		return err
	}
	opts := src.options()
	if a.bus != nil {
		opts = append(opts, feeds.WithBus(a.bus))
	}
	syncer, err := feeds.New(a.store, fetcher, opts...)
	if err != nil {
		return usageError{err}
	}
	rep, err := syncer.Sync(cmd.Context(), req)
	p.done()
	for _, k := range []struct {
		name string
		r    feeds.KindReport
	}{{"disposable domains", rep.Domains}, {"bad bots", rep.Bots}} {
		a.say("%s: %s (added %d, reactivated %d, deactivated %d)", k.name, k.r.Status, k.r.Added, k.r.Reactivated, k.r.Deactivated)
	}
	if rep.Changed() {
		a.admin(fmt.Sprintf("lists sync: domains %s +%d/-%d, bots %s +%d/-%d", rep.Domains.Status, rep.Domains.Added,
			rep.Domains.Deactivated, rep.Bots.Status, rep.Bots.Added, rep.Bots.Deactivated))
	}
	return err
}

func eventsCmd(a *app) *cobra.Command {
	var q core.EventQuery
	var since time.Duration
	var action string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List security events, newest first",
		Example: `  warden events --since 1h
  warden events --action ADMIN_ACTION --json
  warden events --ip 203.0.113.7 --limit 20`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if since < 0 {
				return usagef("--since must be positive")
			}
			if since > 0 {
				q.Since = time.Now().Add(-since)
			}
			q.Action = core.Action(strings.ToUpper(action))
			st, _, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			evs, err := st.Events(cmd.Context(), q)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.stdout, evs)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTION\tIP\tCOUNT\tPATH\tDETAILS")
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", when(e.CreatedAt), e.Action, e.IP, e.Count, oneLine(e.Path), oneLine(e.Details))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().DurationVar(&since, "since", 0, "only events of the last DURATION (e.g. 1h, 30m)")
	cmd.Flags().StringVar(&action, "action", "", "only this action (IP_BLOCK, RATE_LIMIT, LOCKOUT, ADMIN_ACTION, …)")
	cmd.Flags().StringVar(&q.IP, "ip", "", "only events of this address")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "at most this many (up to 10000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
