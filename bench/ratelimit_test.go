package bench

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/wardenkit/warden/core/ratelimit"
)

// rates: "allow" keeps every call under the limit, "deny" exhausts the key
// after its first call.
var rates = []struct {
	name  string
	n     int64
	per   time.Duration
	allow bool
}{
	{"allow", 1_000_000_000, time.Second, true},
	{"deny", 1, time.Hour, false},
}

const manyKeys = 4096

func addrs() []netip.Addr {
	out := make([]netip.Addr, manyKeys)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	return out
}

func BenchmarkWarden(b *testing.B) {
	for _, rate := range rates {
		l := ratelimit.Limit{N: rate.n, Period: rate.per}
		b.Run("single/"+rate.name, func(b *testing.B) {
			m, err := ratelimit.NewMemory()
			if err != nil {
				b.Fatal(err)
			}
			keys := []ratelimit.Key{{Rule: 1, IP: netip.MustParseAddr("203.0.113.7"), Limit: l}}
			dst := make([]ratelimit.Result, 0, 1)
			b.ReportAllocs()
			for b.Loop() {
				dst, err = m.Allow(time.Now(), keys, dst[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
			if dst[0].Allowed != rate.allow {
				b.Fatalf("Allowed %v", dst[0].Allowed)
			}
		})
		b.Run("parallel/"+rate.name, func(b *testing.B) {
			m, err := ratelimit.NewMemory()
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]ratelimit.Key, manyKeys)
			for i, ip := range addrs() {
				keys[i] = ratelimit.Key{Rule: 1, IP: ip, Limit: l}
			}
			var seq atomic.Uint32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(1)) * 1009
				dst := make([]ratelimit.Result, 0, 1)
				for pb.Next() {
					i++
					k := i % manyKeys
					var err error
					if dst, err = m.Allow(time.Now(), keys[k:k+1], dst[:0]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkUlule(b *testing.B) {
	ctx := context.Background()
	for _, rate := range rates {
		r := limiter.Rate{Period: rate.per, Limit: rate.n}
		b.Run("single/"+rate.name, func(b *testing.B) {
			lim := limiter.New(memory.NewStore(), r)
			var c limiter.Context
			var err error
			b.ReportAllocs()
			for b.Loop() {
				c, err = lim.Get(ctx, "203.0.113.7")
				if err != nil {
					b.Fatal(err)
				}
			}
			if c.Reached == rate.allow {
				b.Fatalf("Reached %v", c.Reached)
			}
		})
		b.Run("parallel/"+rate.name, func(b *testing.B) {
			lim := limiter.New(memory.NewStore(), r)
			keys := make([]string, manyKeys)
			for i, ip := range addrs() {
				keys[i] = "1:" + ip.String()
			}
			var seq atomic.Uint32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(1)) * 1009
				for pb.Next() {
					i++
					if _, err := lim.Get(ctx, keys[i%manyKeys]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
