package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// run executes the command line args and returns the exit status: 0
// success, 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newApp(stdout, stderr)
	root := newRoot(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	a.close()
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") {
		if !strings.Contains(msg, "--help") {
			msg += " (see: " + cmd.CommandPath() + " --help)"
		}
		fmt.Fprintf(stderr, "warden: %s\n", msg)
		return 2
	}
	fmt.Fprintf(stderr, "warden: %s\n", msg)
	return 1
}

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "warden",
		Short: "Manage a warden installation: rules, lockouts, lists, events, settings",
		Long: `warden manages the rules, lockouts, synced lists, events and settings that
warden's middleware enforces. It works on the database named by --dsn or
WARDEN_DSN; with WARDEN_REDIS_URL set, running replicas learn of each write at
once (otherwise at their next version poll). Every write is recorded as an
ADMIN_ACTION event naming --actor or the OS user. The country database file
is --geoip or WARDEN_GEOIP (default country.mmdb): geoip download replaces it,
status reports its age.

Exit status: 0 success, 1 failure, 2 usage error.`,
		Example: `  warden migrate
  warden block ip 203.0.113.0/24 --for 24h --reason "credential stuffing"
  WARDEN_DSN=postgres://warden@db/warden warden unlock user alice
  MAXMIND_ACCOUNT_ID=123456 MAXMIND_LICENSE_KEY=… warden geoip download
  warden status --geoip /var/lib/warden/country.mmdb`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	dsn := os.Getenv("WARDEN_DSN")
	if dsn == "" {
		dsn = defaultDSN
	}
	root.PersistentFlags().StringVar(&a.dsn, "dsn", dsn, "database: sqlite:file:PATH, postgres://…, mysql://… (env WARDEN_DSN)")
	root.PersistentFlags().StringVar(&a.actor, "actor", "", "name recorded in ADMIN_ACTION events (default: the OS user)")
	root.PersistentFlags().StringVar(&a.geoip, "geoip", os.Getenv("WARDEN_GEOIP"), "country database file for geoip download and status (env WARDEN_GEOIP; default "+defaultGeoIP+")")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(parents(migrateCmd(a), blockCmd(a), unblockCmd(a), allowCmd(a), unallowCmd(a),
		unlockCmd(a), lockedCmd(a), rulesCmd(a), listsCmd(a), eventsCmd(a), statusCmd(a), settingsCmd(a), geoipCmd(a))...)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d arguments, got %d: %s", cmd.CommandPath(), n, len(args), cmd.Use)
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs with a usage error.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s takes %d to %d arguments, got %d: %s", cmd.CommandPath(), lo, hi, len(args), cmd.Use)
		}
		return nil
	}
}

// parents makes each command that only groups others refuse to run without
// a known subcommand: a usage error instead of help and exit 0.
func parents(cmds ...*cobra.Command) []*cobra.Command {
	for _, c := range cmds {
		if c.Runnable() || !c.HasSubCommands() {
			continue
		}
		c.RunE = func(cmd *cobra.Command, args []string) error {
			var names []string
			for _, s := range cmd.Commands() {
				names = append(names, s.Name())
			}
			if len(args) > 0 {
				return usagef("unknown command %q for %s: want %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
			}
			return usagef("%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
		}
	}
	return cmds
}
