package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/ruleio"
)

func blockCmd(a *app) *cobra.Command {
	var o writeOpts
	cmd := &cobra.Command{
		Use:   "block ip|ua|country|email|domain VALUE",
		Short: "Block an address or network, a User-Agent, a country, an e-mail address or a domain",
		Long: `block adds a rule, or updates the rule with the same key (it is re-enabled).
--for applies to ip only: the block lapses after that long.
A network broader than /8 (IPv4) or /16 (IPv6) needs --force.`,
		Example: `  warden block ip 203.0.113.7 --for 24h --reason "scanner"
  warden block ip 2001:db8::/48
  warden block ua sqlmap --reason "attack tool"
  warden block ua '^python-requests/' --match regex
  warden block country RU
  warden block email mallory@example.com
  warden block domain mailinator.com`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0], blockKinds...)
			if err != nil {
				return err
			}
			if o.forDur != 0 && args[0] != "ip" {
				return usagef("--for applies to block ip only")
			}
			if o.match != "" && args[0] != "ua" {
				return usagef("--match applies to block ua only")
			}
			return write(cmd, a, "block "+args[0], func(r ruleWriter) (string, error) {
				return k.put(cmd.Context(), r, args[1], o)
			})
		},
	}
	cmd.Flags().DurationVar(&o.forDur, "for", 0, "ip only: lift the block after this long (e.g. 30m, 24h); default permanent")
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, stored with the rule")
	cmd.Flags().StringVar(&o.match, "match", "", "ua only: contains (default), exact or regex")
	cmd.Flags().BoolVar(&o.force, "force", false, "ip only: allow a network broader than /8 or /16")
	return cmd
}

func unblockCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "unblock ip|ua|country|email|domain VALUE",
		Short: "Remove a block rule (the row is deleted)",
		Long: `unblock deletes the rule whose key is VALUE (written as block takes it: an
address, a CIDR network, a pattern, a country code, an address or a domain).
The rule is deleted, not disabled; its hit count goes with it. A rule a list
sync added comes back at the next sync unless the list drops it.`,
		Example: `  warden unblock ip 203.0.113.7
  warden unblock country ru
  warden unblock ua sqlmap`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0], blockKinds...)
			if err != nil {
				return err
			}
			return write(cmd, a, "unblock "+args[0], func(r ruleWriter) (string, error) {
				return k.remove(cmd.Context(), r, args[1])
			})
		},
	}
}

func allowCmd(a *app) *cobra.Command {
	var o writeOpts
	cmd := &cobra.Command{
		Use:   "allow ip|user VALUE",
		Short: "Whitelist an address or network, or exempt a user from every check",
		Long: `allow ip lets an address or network bypass every check (networks broader
than /8 or /32 need --force). allow user exempts an authenticated user ID (as
your application passes it) from every check; --for makes it lapse.`,
		Example: `  warden allow ip 198.51.100.0/24 --reason office
  warden allow user 42 --for 2h --reason "support session"`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := lookupKind(args[0], allowKinds...); err != nil {
				return err
			}
			if o.forDur != 0 && args[0] != "user" {
				return usagef("--for applies to allow user only")
			}
			o.actor = a.who()
			k := kinds["allow-"+args[0]]
			return write(cmd, a, "allow "+args[0], func(r ruleWriter) (string, error) {
				return k.put(cmd.Context(), r, args[1], o)
			})
		},
	}
	cmd.Flags().DurationVar(&o.forDur, "for", 0, "user only: lift the exemption after this long; default permanent")
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, stored with the rule")
	cmd.Flags().BoolVar(&o.force, "force", false, "ip only: allow a network broader than /8 (IPv4) or /32 (IPv6)")
	return cmd
}

func unallowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "unallow ip|user VALUE",
		Short:   "Remove a whitelist entry (the row is deleted)",
		Example: "  warden unallow ip 198.51.100.0/24\n  warden unallow user 42",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := lookupKind(args[0], allowKinds...); err != nil {
				return err
			}
			k := kinds["allow-"+args[0]]
			return write(cmd, a, "unallow "+args[0], func(r ruleWriter) (string, error) {
				return k.remove(cmd.Context(), r, args[1])
			})
		},
	}
}

func rulesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, export and import rules of one kind",
		Long: `KIND is one of: ` + strings.Join(ruleKinds, ", ") + `.
The CSV and JSON formats are ruleio's: field names are the rule types' json
names, times RFC 3339 in UTC; CSV cells that a spreadsheet would run as a
formula are written with a leading single quote.`,
		Example: `  warden rules list ip
  warden rules export domain --format csv > domains.csv
  warden rules import domain domains.csv`,
	}
	cmd.AddCommand(rulesListCmd(a), rulesExportCmd(a), rulesImportCmd(a))
	return cmd
}

func rulesListCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list KIND",
		Short:   "List the rules of one kind",
		Example: "  warden rules list ip\n  warden rules list ua --json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0], ruleKinds...)
			if err != nil {
				return err
			}
			st, _, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			return k.list(cmd.Context(), st, a.stdout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the export format)")
	return cmd
}

func rulesExportCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "export KIND",
		Short:   "Write every rule of one kind to stdout as CSV or JSON",
		Example: "  warden rules export ip > ips.csv\n  warden rules export ua --format json > uas.json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0], ruleKinds...)
			if err != nil {
				return err
			}
			f, err := parseFormat(format)
			if err != nil {
				return err
			}
			st, _, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			return k.export(cmd.Context(), st, a.stdout, f)
		},
	}
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	return cmd
}

func rulesImportCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "import KIND FILE",
		Short: "Add or update rules of one kind from a CSV or JSON file",
		Long: `import reads FILE ("-" for stdin), validates every row and writes nothing
when any row is invalid: it prints each bad row and exits 1. Rows whose key
exists are updated; no rule is deleted. The format follows the file's
extension (.json is JSON, anything else CSV) unless --format says.`,
		Example: "  warden rules import ip blocked.csv\n  warden rules import domain domains.json",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0], ruleKinds...)
			if err != nil {
				return err
			}
			if format == "" {
				format = "csv"
				if strings.EqualFold(filepath.Ext(args[1]), ".json") {
					format = "json"
				}
			}
			f, err := parseFormat(format)
			if err != nil {
				return err
			}
			return importFile(cmd, a, k, args, f)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv or json (default: from the file's extension)")
	return cmd
}

func importFile(cmd *cobra.Command, a *app, k kindOps, args []string, f ruleio.Format) error {
	in := cmd.InOrStdin()
	if args[1] != "-" {
		fh, err := os.Open(args[1])
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", args[1], err)
		}
		defer fh.Close()
		in = fh
	}
	return write(cmd, a, "import "+args[0], func(r ruleWriter) (string, error) {
		n, err := k.importRows(cmd.Context(), r, in, f)
		if ie, ok := asImportError(err); ok {
			for _, re := range ie.Rows {
				fmt.Fprintf(a.stderr, "%s: %v\n", args[1], re)
			}
			return "", fmt.Errorf("%d invalid rows in %s, nothing imported; fix them and import again", len(ie.Rows), args[1])
		}
		if n == 0 && err != nil {
			return "", err
		}
		return fmt.Sprintf("%d rules from %s", n, filepath.Base(args[1])), err
	})
}

func parseFormat(s string) (ruleio.Format, error) {
	switch f := ruleio.Format(strings.ToLower(s)); f {
	case ruleio.CSV, ruleio.JSON:
		return f, nil
	}
	return "", usagef("unknown format %q: want csv or json", s)
}
