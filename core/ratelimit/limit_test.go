package ratelimit_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

func TestParse(t *testing.T) {
	day := 24 * time.Hour
	good := []struct {
		name string
		in   string
		want ratelimit.Limit
	}{
		{"per_second", "10/s", ratelimit.Limit{N: 10, Period: time.Second}},
		{"per_minute", "100/m", ratelimit.Limit{N: 100, Period: time.Minute}},
		{"per_hour", "5/h", ratelimit.Limit{N: 5, Period: time.Hour}},
		{"per_day", "1000/d", ratelimit.Limit{N: 1000, Period: day}},
		{"burst", "100/m;burst=20", ratelimit.Limit{N: 100, Period: time.Minute, Burst: 20}},
		{"burst_above_n", "1/s;burst=50", ratelimit.Limit{N: 1, Period: time.Second, Burst: 50}},
		{"burst_equal_n_kept", "7/m;burst=7", ratelimit.Limit{N: 7, Period: time.Minute, Burst: 7}},
		{"max_n", "1000000000/s", ratelimit.Limit{N: 1e9, Period: time.Second}},
		{"max_n_per_day", "1000000000/d", ratelimit.Limit{N: 1e9, Period: day}},
		{"max_burst", "1000000000/s;burst=1000000000", ratelimit.Limit{N: 1e9, Period: time.Second, Burst: 1e9}},
		{"leading_zeros", "010/m", ratelimit.Limit{N: 10, Period: time.Minute}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ratelimit.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			again, err := ratelimit.Parse(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip %q -> %q -> %+v, %v", tc.in, got.String(), again, err)
			}
		})
	}

	bad := []struct{ name, in string }{
		{"empty", ""},
		{"zero_n", "0/m"},
		{"negative_n", "-1/m"},
		{"plus_sign", "+1/m"},
		{"unknown_unit", "1/x"},
		{"unit_word", "1/min"},
		{"unit_upper", "1/M"},
		{"no_unit", "1/"},
		{"no_slash", "100"},
		{"no_n", "/m"},
		{"spaces", " 1/m"},
		{"inner_space", "1 /m"},
		{"float", "1.5/m"},
		{"exponent", "1e3/m"},
		{"hex", "0x10/m"},
		{"n_over_max", "1000000001/m"},
		{"n_huge", "99999999999999999999/m"},
		{"n_int64_wrap", "9223372036854775808/s"},
		{"burst_zero", "1/m;burst=0"},
		{"burst_negative", "1/m;burst=-1"},
		{"burst_empty", "1/m;burst="},
		{"burst_over_max", "1/m;burst=1000000001"},
		{"burst_huge", "1/m;burst=99999999999999999999"},
		{"burst_window_over_100_years", "1/d;burst=40000"},
		{"unknown_param", "1/m;foo=1"},
		{"burst_upper", "1/m;BURST=2"},
		{"trailing_semicolon", "1/m;"},
		{"two_params", "1/m;burst=2;burst=3"},
		{"double_slash", "1/m/s"},
		{"nul", "1/m\x00"},
		{"long", strings.Repeat("1", 100) + "/m"},
		{"non_utf8", "\xff/m"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ratelimit.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.in, l)
			}
			if !errors.Is(err, ratelimit.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "ratelimit: Parse ") {
				t.Errorf("error %q: want prefix %q", err, "ratelimit: Parse ")
			}
			if l != (ratelimit.Limit{}) {
				t.Errorf("Parse(%q) returned %+v with the error", tc.in, l)
			}
		})
	}
}

func TestParseErrorNamesInput(t *testing.T) {
	_, err := ratelimit.Parse("0/m")
	if err == nil || err.Error() != `ratelimit: Parse "0/m": N must be a decimal number from 1 to 1000000000` {
		t.Fatalf("got %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		l    ratelimit.Limit
		ok   bool
	}{
		{"zero_value", ratelimit.Limit{}, false},
		{"ok", ratelimit.Limit{N: 3, Period: time.Second}, true},
		{"burst_zero_means_n", ratelimit.Limit{N: 3, Period: time.Second, Burst: 0}, true},
		{"negative_n", ratelimit.Limit{N: -1, Period: time.Second}, false},
		{"n_over_max", ratelimit.Limit{N: ratelimit.MaxN + 1, Period: time.Second}, false},
		{"odd_period", ratelimit.Limit{N: 3, Period: 10 * time.Second}, false},
		{"negative_period", ratelimit.Limit{N: 3, Period: -time.Second}, false},
		{"negative_burst", ratelimit.Limit{N: 3, Period: time.Second, Burst: -1}, false},
		{"burst_over_max", ratelimit.Limit{N: 3, Period: time.Second, Burst: ratelimit.MaxN + 1}, false},
		{"window_over_max", ratelimit.Limit{N: 1, Period: 24 * time.Hour, Burst: 36501}, false},
		{"window_at_max", ratelimit.Limit{N: 1, Period: 24 * time.Hour, Burst: 36500}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tc.l, err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ratelimit.ErrInvalid) {
					t.Errorf("%v does not wrap ErrInvalid", err)
				}
				if tc.l.Interval() != 0 {
					t.Errorf("Interval of an invalid limit = %v, want 0", tc.l.Interval())
				}
			}
		})
	}
}

func TestInterval(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"1/s", time.Second},
		{"10/s", 100 * time.Millisecond},
		{"100/m", 600 * time.Millisecond},
		{"1000/d", 86400 * time.Second / 1000},
		{"7/d", 12342857142858}, // 86400e9/7 = 12342857142857.14…, rounded up
		{"3/s", 333333334},
		{"1000000000/s", 1},
		{"600000000/s", 2},
	}
	for _, tc := range tests {
		l, err := ratelimit.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Interval(); got != tc.want {
			t.Errorf("Interval(%s) = %d, want %d", tc.in, got, tc.want)
		}
		// Never looser than the limit: N intervals cover at least a period.
		if got := l.Interval() * time.Duration(l.N); got < l.Period {
			t.Errorf("%s: N×Interval = %v < Period", tc.in, got)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		l    ratelimit.Limit
		want string
	}{
		{ratelimit.Limit{N: 100, Period: time.Minute}, "100/m"},
		{ratelimit.Limit{N: 100, Period: time.Minute, Burst: 20}, "100/m;burst=20"},
		{ratelimit.Limit{N: 5, Period: 24 * time.Hour}, "5/d"},
		{ratelimit.Limit{N: 5, Period: time.Hour}, "5/h"},
		{ratelimit.Limit{N: 5, Period: time.Second, Burst: 5}, "5/s;burst=5"},
		{ratelimit.Limit{N: 5, Period: 10 * time.Second}, "5/10s"}, // invalid, still readable
	}
	for _, tc := range tests {
		if got := tc.l.String(); got != tc.want {
			t.Errorf("String(%+v) = %q, want %q", tc.l, got, tc.want)
		}
	}
}
