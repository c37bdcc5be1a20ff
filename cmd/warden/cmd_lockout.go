package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core"
)

func unlockCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock user NAME | unlock ip ADDR",
		Short: "Release a login lockout of a username or an address",
		Long: `unlock resets the login counters of a username (every address it was
locked with) or of an address (or the IPv6 network "warden locked" lists) and
marks their lockout records released. Running applications drop their
in-process counters when they see the release (at once with
WARDEN_REDIS_URL, otherwise at their next poll).`,
		Example: "  warden unlock user alice\n  warden unlock ip 203.0.113.7\n  warden unlock ip 2001:db8:1:2::/64",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := core.UnlockRequest{By: a.who()}
			switch args[0] {
			case "user":
				req.Username = args[1]
			case "ip":
				req.IP = args[1]
			default:
				return usagef("unknown kind %q: want user or ip", args[0])
			}
			eng, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			n, err := eng.Lockout().Unlock(cmd.Context(), req)
			if err != nil {
				return err
			}
			if n == 0 {
				a.say("%s %s was not locked (counters reset anyway)", args[0], args[1])
			} else {
				a.say("unlocked %s %s: %d lockout records released", args[0], args[1], n)
			}
			a.admin(fmt.Sprintf("unlock %s %s (%d records released)", args[0], args[1], n))
			return nil
		},
	}
}

func lockedCmd(a *app) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "locked",
		Short: "List who is locked out now, and until when",
		Long: `locked lists the lockouts in force. With WARDEN_REDIS_URL it asks the
shared counters, so the list is exact. Without it the applications' counters
live in their own processes: locked then lists the lockout records not yet
released whose end is still ahead (or that last until unlocked); a lock that
lapsed early (a success after a settings change) may still be listed.`,
		Example: "  warden locked\n  warden locked --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			recs, err := lockedNow(cmd.Context(), a, eng, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.stdout, recs)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tIP\tSCOPE\tFAILURES\tLOCKED_AT\tUNTIL")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Username, r.IP, r.Scope, r.Failures, when(r.LockedAt), until(r.Until))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many")
	return cmd
}

// lockedNow asks the shared counters when there are some (Redis), and
// reads the unreleased records otherwise.
func lockedNow(ctx context.Context, a *app, eng *core.Engine, limit int) ([]core.LockoutRecord, error) {
	if a.bus != nil {
		return eng.Lockout().ListLocked(ctx, limit)
	}
	recs, err := eng.Lockout().Records(ctx, core.LockoutQuery{Unreleased: true, Limit: limit})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := recs[:0]
	seen := map[string]bool{}
	for _, r := range recs { // newest first: keep each counter's newest record
		k := string(r.Scope) + "\x00" + r.Username + "\x00" + r.IP
		if !seen[k] && (r.Until.IsZero() || r.Until.After(now)) {
			out = append(out, r)
		}
		seen[k] = true
	}
	return out, nil
}

func until(t time.Time) string {
	if t.IsZero() {
		return "until unlocked"
	}
	return when(t)
}
