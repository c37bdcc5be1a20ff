package ratelimit_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

func ExampleParse() {
	l, err := ratelimit.Parse("100/m;burst=20")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.N, l.Period, l.EffectiveBurst(), l.Interval(), l)

	_, err = ratelimit.Parse("0/m")
	fmt.Println(err)
	// Output:
	// 100 1m0s 20 600ms 100/m;burst=20
	// ratelimit: Parse "0/m": N must be a decimal number from 1 to 1000000000
}

func ExampleGCRA() {
	l, _ := ratelimit.Parse("2/s")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var tat int64 // idle
	for i := range 3 {
		var r ratelimit.Result
		tat, r = ratelimit.GCRA(tat, now, l)
		fmt.Println(i+1, r.Allowed, r.Remaining, r.RetryAfter, ratelimit.RetryAfterSeconds(r.RetryAfter))
	}
	// Output:
	// 1 true 1 0s 0
	// 2 true 0 0s 0
	// 3 false 0 500ms 1
}

func ExampleMemory_Allow() {
	m, err := ratelimit.NewMemory()
	if err != nil {
		fmt.Println(err)
		return
	}
	perIP, _ := ratelimit.Parse("2/m")
	perUser, _ := ratelimit.Parse("100/h")
	ip := netip.MustParseAddr("203.0.113.9")
	keys := []ratelimit.Key{
		{Rule: 1, IP: ip, Limit: perIP},
		{Rule: 2, Value: "user-42", Limit: perUser},
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var res []ratelimit.Result
	for i := range 3 {
		res, err = m.Allow(now, keys, res[:0])
		if err != nil {
			fmt.Println(err) // ErrFull or bad input: apply the fail policy
			return
		}
		allowed := res[0].Allowed && res[1].Allowed
		fmt.Println(i+1, allowed, res[0].Remaining, res[1].Remaining)
	}
	// Output:
	// 1 true 1 99
	// 2 true 0 98
	// 3 false 0 98
}
