package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
)

func TestBlockListExportImport(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		must(t, dsn, "migrate")
		must(t, dsn, "block", "ip", "203.0.113.0/24", "--for", "24h", "--reason", "=HYPERLINK(1)")
		must(t, dsn, "block", "ip", "::ffff:198.51.100.7")
		must(t, dsn, "block", "ua", "sqlmap", "--reason", "attack tool")
		must(t, dsn, "block", "country", "ru")
		must(t, dsn, "block", "email", "Mallory@Example.com")
		must(t, dsn, "block", "domain", "mailinator.com")
		must(t, dsn, "allow", "ip", "192.0.2.0/24")
		must(t, dsn, "allow", "user", "42", "--for", "1h")

		list := must(t, dsn, "rules", "list", "ip")
		for _, want := range []string{"203.0.113.0/24", "198.51.100.7", "=HYPERLINK(1)"} {
			if !strings.Contains(list, want) {
				t.Errorf("rules list ip lacks %q:\n%s", want, list)
			}
		}
		if out := must(t, dsn, "rules", "list", "email"); !strings.Contains(out, "mallory@example.com") {
			t.Errorf("rules list email:\n%s", out)
		}

		csvFile := filepath.Join(t.TempDir(), "ips.csv")
		exported := must(t, dsn, "rules", "export", "ip")
		if !strings.Contains(exported, "'=HYPERLINK(1)") {
			t.Errorf("export did not neutralise the formula:\n%s", exported)
		}
		writeFile(t, csvFile, exported)
		must(t, dsn, "unblock", "ip", "203.0.113.0/24")
		must(t, dsn, "unblock", "ip", "198.51.100.7")
		if out := must(t, dsn, "rules", "list", "ip"); strings.Contains(out, "203.0.113") {
			t.Fatalf("unblock left the rule:\n%s", out)
		}
		must(t, dsn, "rules", "import", "ip", csvFile)
		var rows []struct {
			Network string `json:"network"`
			Reason  string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(must(t, dsn, "rules", "list", "ip", "--json")), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Reason != "=HYPERLINK(1)" && rows[1].Reason != "=HYPERLINK(1)" {
			t.Errorf("after import: %+v", rows)
		}
	})
}

func TestImportWithOneBadRowAppliesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		must(t, dsn, "migrate")
		file := filepath.Join(t.TempDir(), "bad.csv")
		writeFile(t, file, "network,reason\n203.0.113.9,good\n203.0.113.1/24,host bits\n")
		r := warden(t, dsn, "rules", "import", "ip", file)
		if r.code != 1 {
			t.Fatalf("exit %d; want 1\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "row 3 (203.0.113.1/24)") || !strings.Contains(r.stderr, "nothing imported") {
			t.Errorf("stderr does not name the bad row:\n%s", r.stderr)
		}
		if out := must(t, dsn, "rules", "list", "ip"); strings.Contains(out, "203.0.113.9") {
			t.Errorf("the good row was applied:\n%s", out)
		}
		jsonFile := filepath.Join(t.TempDir(), "ok.json")
		writeFile(t, jsonFile, `[{"network":"203.0.113.9","reason":"good"}]`)
		must(t, dsn, "rules", "import", "ip", jsonFile)
		if out := must(t, dsn, "rules", "list", "ip"); !strings.Contains(out, "203.0.113.9") {
			t.Errorf("the JSON import was not applied:\n%s", out)
		}
	})
}

func TestSettings(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		must(t, dsn, "migrate")
		if out := must(t, dsn, "settings", "get", "max_login_attempts"); strings.TrimSpace(out) != "5" {
			t.Errorf("default max_login_attempts = %q", out)
		}
		must(t, dsn, "settings", "set", "max_login_attempts", "9")
		if out := must(t, dsn, "settings", "get", "max_login_attempts"); strings.TrimSpace(out) != "9" {
			t.Errorf("after set: %q", out)
		}
		tests := map[string]struct {
			args []string
			code int
			msg  string
		}{
			"unknown_key":       {[]string{"settings", "set", "max_logins", "3"}, 2, `unknown setting "max_logins"`},
			"not_a_number":      {[]string{"settings", "set", "max_login_attempts", "many"}, 2, "takes a whole number"},
			"out_of_range":      {[]string{"settings", "set", "max_login_attempts", "1000"}, 1, "must be between 1 and 100"},
			"read_only":         {[]string{"settings", "set", "updated_at", "x"}, 2, "kept by warden"},
			"get_unknown":       {[]string{"settings", "get", "nope"}, 2, `unknown setting "nope"`},
			"block_unknown":     {[]string{"block", "planet", "mars"}, 2, `unknown kind "planet"`},
			"block_no_value":    {[]string{"block", "ip"}, 2, "takes 2 arguments"},
			"block_host_bits":   {[]string{"block", "ip", "203.0.113.1/24"}, 1, "did you mean 203.0.113.0/24"},
			"block_the_world":   {[]string{"block", "ip", "0.0.0.0/0"}, 1, "force"},
			"for_on_country":    {[]string{"block", "country", "fr", "--for", "1h"}, 2, "--for applies to block ip only"},
			"unblock_missing":   {[]string{"unblock", "ip", "192.0.2.99"}, 1, "no rule"},
			"unknown_command":   {[]string{"frobnicate"}, 2, "unknown command"},
			"unknown_flag":      {[]string{"events", "--bogus"}, 2, "unknown flag"},
			"unknown_sub":       {[]string{"rules", "frob"}, 2, `unknown command "frob" for warden rules`},
			"no_sub":            {[]string{"settings"}, 2, "warden settings needs a command"},
			"import_no_file":    {[]string{"rules", "import", "ip", "/nonexistent.csv"}, 1, "cannot read"},
			"export_bad_format": {[]string{"rules", "export", "ip", "--format", "xml"}, 2, "want csv or json"},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				r := warden(t, dsn, tc.args...)
				if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
					t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.msg)
				}
				if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
					t.Errorf("error is %d lines; want one:\n%s", n+1, r.stderr)
				}
			})
		}
		if out := must(t, dsn, "settings", "get", "max_login_attempts"); strings.TrimSpace(out) != "9" {
			t.Errorf("a refused set changed the value: %q", out)
		}
	})
}

func TestEventsListAdminActions(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		must(t, dsn, "migrate")
		must(t, dsn, "block", "ip", "203.0.113.7", "--reason", "scanner")
		must(t, dsn, "settings", "set", "report_only", "true")
		var evs []core.Event
		if err := json.Unmarshal([]byte(must(t, dsn, "events", "--action", "admin_action", "--since", "1h", "--json")), &evs); err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, e := range evs {
			if e.Action != core.ActionAdmin {
				t.Errorf("event %+v is not ADMIN_ACTION", e)
			}
			details = append(details, e.Details)
		}
		all := strings.Join(details, "\n")
		for _, want := range []string{"block ip 203.0.113.7 (by tester", "settings set report_only true (was false) (by tester"} {
			if !strings.Contains(all, want) {
				t.Errorf("events lack %q:\n%s", want, all)
			}
		}
		if out := must(t, dsn, "events", "--ip", "198.51.100.1"); strings.Contains(out, "ADMIN_ACTION") {
			t.Errorf("--ip did not filter:\n%s", out)
		}
	})
}

func TestStatusAndHelp(t *testing.T) {
	dsn := backends()[0].newDSN(t)
	must(t, dsn, "migrate")
	must(t, dsn, "block", "country", "FR")
	if out := must(t, dsn, "status"); !strings.Contains(out, "country:       1") {
		t.Errorf("status:\n%s", out)
	}
	for _, args := range [][]string{{"--help"}, {"block", "--help"}, {"rules", "import", "--help"}, {"unlock", "--help"}, {"settings", "set", "--help"}} {
		if out := must(t, dsn, args...); !strings.Contains(out, "Examples:") {
			t.Errorf("warden %s has no examples:\n%s", strings.Join(args, " "), out)
		}
	}
	if out := must(t, dsn, "completion", "bash"); !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash:\n%.200s", out)
	}
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
