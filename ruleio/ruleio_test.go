package ruleio_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/ruleio"
)

func TestRoundTrip(t *testing.T) {
	exp := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	in := []rule.BlockedIP{
		{Network: "203.0.113.0/24", Reason: "=HYPERLINK(\"http://x\")", ExpiresAt: exp},
		{Network: "2001:db8::1", Reason: "'quoted", Disabled: true, BlockCount: 7},
		{Network: "198.51.100.9", Reason: "-1+2", ReportOnly: true},
	}
	for _, f := range []ruleio.Format{ruleio.CSV, ruleio.JSON} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := ruleio.Export(&buf, f, in); err != nil {
				t.Fatal(err)
			}
			if f == ruleio.CSV && !strings.Contains(buf.String(), `"'=HYPERLINK(""http://x"")"`) {
				t.Errorf("formula not neutralised:\n%s", buf.String())
			}
			if !strings.Contains(buf.String(), "2026-03-04T04:06:07Z") {
				t.Errorf("time not in UTC RFC 3339:\n%s", buf.String())
			}
			out, err := ruleio.Import[rule.BlockedIP](&buf, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in) {
				t.Fatalf("got %d rows; want %d", len(out), len(in))
			}
			for i := range in {
				want, _ := rule.Normalize(in[i])
				if got := out[i]; got.Key() != want.Key() || got.Reason != want.Reason || !got.ExpiresAt.Equal(want.ExpiresAt) ||
					got.Disabled != want.Disabled || got.ReportOnly != want.ReportOnly || got.BlockCount != want.BlockCount {
					t.Errorf("row %d: got %+v; want %+v", i, got, want)
				}
			}
		})
	}
}

func TestNeutralize(t *testing.T) {
	for _, s := range []string{"=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'x"} {
		if got := ruleio.Neutralize(s); got != "'"+s {
			t.Errorf("Neutralize(%q) = %q", s, got)
		}
	}
	if got := ruleio.Neutralize("curl"); got != "curl" {
		t.Errorf("Neutralize(curl) = %q", got)
	}
}

func TestImportRefusesEveryBadRow(t *testing.T) {
	tests := map[string]struct {
		format  ruleio.Format
		input   string
		badRows []int
	}{
		"csv_host_bits_and_dup": {ruleio.CSV,
			"network,reason\n203.0.113.9,ok\n203.0.113.1/24,host bits\n203.0.113.9,again\n",
			[]int{3, 4}},
		"csv_bad_time":     {ruleio.CSV, "network,expires_at\n203.0.113.9,tomorrow\n", []int{2}},
		"csv_the_internet": {ruleio.CSV, "network\n0.0.0.0/0\n", []int{2}},
		"json_unknown_field_and_bad_ip": {ruleio.JSON,
			`[{"network":"203.0.113.9","admin":true},{"network":"300.1.1.1"},{"network":"192.0.2.1"}]`,
			[]int{1, 2}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rows, err := ruleio.Import[rule.BlockedIP](strings.NewReader(tc.input), tc.format)
			var ie *ruleio.ImportError
			if !errors.As(err, &ie) || rows != nil {
				t.Fatalf("got %v, %v; want an ImportError and no rows", rows, err)
			}
			if !errors.Is(err, rule.ErrInvalid) {
				t.Errorf("%v does not wrap rule.ErrInvalid", err)
			}
			var got []int
			for _, r := range ie.Rows {
				got = append(got, r.Row)
			}
			if len(got) != len(tc.badRows) {
				t.Fatalf("bad rows %v; want %v (%v)", got, tc.badRows, err)
			}
			for i := range got {
				if got[i] != tc.badRows[i] {
					t.Fatalf("bad rows %v; want %v (%v)", got, tc.badRows, err)
				}
			}
		})
	}
}

func TestImportRefusesTheWholeInput(t *testing.T) {
	tests := map[string]struct {
		format ruleio.Format
		input  string
	}{
		"unknown_column":  {ruleio.CSV, "network,password\n203.0.113.9,x\n"},
		"ragged_row":      {ruleio.CSV, "network,reason\n203.0.113.9\n"},
		"json_not_array":  {ruleio.JSON, `{"network":"203.0.113.9"}`},
		"unknown_format":  {"xml", "<x/>"},
		"over_size_limit": {ruleio.CSV, "network\n" + strings.Repeat("203.0.113.9\n", ruleio.MaxInputBytes/12+1)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ruleio.Import[rule.BlockedIP](strings.NewReader(tc.input), tc.format)
			if !errors.Is(err, ruleio.ErrFormat) {
				t.Fatalf("got %v; want ErrFormat", err)
			}
		})
	}
}

func TestEveryKindRoundTrips(t *testing.T) {
	check := func(t *testing.T, name string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	check(t, "ua", roundTrip(rule.BlockedUserAgent{Pattern: " -sqlmap ", Match: rule.UAContains, Category: "attack"}))
	check(t, "country", roundTrip(rule.BlockedCountry{Code: "fr", Reason: "+test"}))
	check(t, "email", roundTrip(rule.BlockedEmail{Email: "Mallory@Example.COM"}))
	check(t, "domain", roundTrip(rule.BlockedDomain{Domain: "mailinator.com", Type: "disposable"}))
	check(t, "allow-ip", roundTrip(rule.WhitelistedIP{Network: "10.0.0.0/8", Description: "office"}))
	check(t, "allow-user", roundTrip(rule.WhitelistedUser{UserID: "42", Exemption: rule.ExemptRateLimit}))
}

func roundTrip[T rule.Rule](v T) error {
	want, err := rule.Normalize(v)
	if err != nil {
		return err
	}
	for _, f := range []ruleio.Format{ruleio.CSV, ruleio.JSON} {
		var buf bytes.Buffer
		if err := ruleio.Export(&buf, f, []T{want}); err != nil {
			return err
		}
		got, err := ruleio.Import[T](&buf, f)
		if err != nil {
			return err
		}
		if len(got) != 1 || any(got[0]) != any(want) {
			return errors.New(string(f) + ": round trip changed the row")
		}
	}
	return nil
}
