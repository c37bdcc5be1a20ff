package ratelimit_test

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// The benchmarks use a limit high enough that the allow path is measured;
// BenchmarkAllow/deny measures an exhausted key.

func BenchmarkGCRA(b *testing.B) {
	b.ReportAllocs()
	l := ratelimit.Limit{N: 1e9, Period: time.Second}
	var tat int64
	for i := range b.N {
		tat, _ = ratelimit.GCRA(tat, t0+int64(i), l)
	}
}

func BenchmarkAllow(b *testing.B) {
	high := ratelimit.Limit{N: 1e9, Period: time.Minute}
	b.Run("single_key", func(b *testing.B) {
		m := newMemory(b)
		keys := []ratelimit.Key{{Rule: 1, IP: netip.MustParseAddr("2001:db8:1:2::"), Limit: high}}
		dst := make([]ratelimit.Result, 0, 1)
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = m.Allow(now0, keys, dst[:0])
		}
		if !dst[0].Allowed {
			b.Fatal("denied")
		}
	})
	b.Run("single_key_deny", func(b *testing.B) {
		m := newMemory(b)
		keys := []ratelimit.Key{{Rule: 1, IP: netip.MustParseAddr("192.0.2.1"), Limit: ratelimit.Limit{N: 1, Period: time.Minute}}}
		dst := make([]ratelimit.Result, 0, 1)
		m.Allow(now0, keys, dst)
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = m.Allow(now0, keys, dst[:0])
		}
		if dst[0].Allowed {
			b.Fatal("allowed")
		}
	})
	b.Run("three_keys", func(b *testing.B) {
		m := newMemory(b)
		ip := netip.MustParseAddr("192.0.2.1")
		keys := []ratelimit.Key{
			{Rule: 1, IP: ip, Limit: high},
			{Rule: 2, IP: ip, Value: "user-1234", Limit: high},
			{Rule: 3, Value: "api-key-abcdef", Limit: high},
		}
		dst := make([]ratelimit.Result, 0, 3)
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = m.Allow(now0, keys, dst[:0])
		}
		if !dst[0].Allowed {
			b.Fatal("denied")
		}
	})
	// A flood of unique keys at a full shard of 16,384 (the default cap's
	// share): each new key takes the place of the one that just went idle.
	b.Run("new_key_at_full_shard", func(b *testing.B) {
		const n = 1 << 14
		m := newMemory(b, ratelimit.WithShards(1), ratelimit.WithMaxKeys(n))
		l := ratelimit.Limit{N: 1, Period: time.Second}
		step := (time.Second + n - 1) / n
		key := func(i int) []ratelimit.Key {
			return []ratelimit.Key{{Rule: 1, IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Limit: l}}
		}
		dst := make([]ratelimit.Result, 0, 1)
		i := 0
		for ; i < n; i++ {
			dst, _ = m.Allow(now0.Add(time.Duration(i)*step), key(i), dst[:0])
		}
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if dst, err = m.Allow(now0.Add(time.Duration(i)*step), key(i), dst[:0]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel_many_keys", func(b *testing.B) {
		m := newMemory(b)
		const n = 1 << 14
		keys := make([]ratelimit.Key, n)
		for i := range keys {
			keys[i] = ratelimit.Key{Rule: 1, IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Limit: high}
			m.Allow(now0, keys[i:i+1], nil)
		}
		var seq atomic.Uint32
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1) * 7919)
			dst := make([]ratelimit.Result, 0, 1)
			for pb.Next() {
				i++
				dst, _ = m.Allow(now0, keys[i%n:i%n+1], dst[:0])
			}
		})
	})
}
