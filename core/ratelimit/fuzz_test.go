package ratelimit_test

import (
	"testing"

	"github.com/wardenkit/warden/core/ratelimit"
)

// FuzzParse: Parse never panics, and what it accepts validates, round-trips
// through String, and behaves under GCRA.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"10/s", "100/m;burst=20", "1000/d", "5/h", "0/m", "-1/m", "1/x", "",
		"1/m;burst=0", "1/m;burst=-1", "1000000000/s;burst=1000000000",
		"99999999999999999999/m", "1/d;burst=36500", "1/m;", "1/m;burst=2;x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ratelimit.Parse(s)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("Parse(%q) = %+v which does not validate: %v", s, l, err)
		}
		again, err := ratelimit.Parse(l.String())
		if err != nil || again != l {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, l.String(), again, err)
		}
		if l.Interval() <= 0 {
			t.Fatalf("Interval(%q) = %v", s, l.Interval())
		}
		const now = int64(1_900_000_000) * 1e9
		tat, r := ratelimit.GCRA(0, now, l)
		if !r.Allowed || tat != now+int64(l.Interval()) || r.Remaining != l.EffectiveBurst()-1 {
			t.Fatalf("%q from idle: tat %d, %+v", s, tat, r)
		}
	})
}
