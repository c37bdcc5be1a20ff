package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/tally"
	"github.com/wardenkit/warden/core/tally/tallytest"
	"github.com/wardenkit/warden/redisstore"
)

// On the Cluster each key of an Add is a script call of its own, on its
// slot's master. (The suite's few keys hash with the random prefix, so
// where they land varies: TestTallyOnClusterSpreads checks the spread.)
func TestTallyConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tallytest.Run(t, func(t *testing.T) tally.Counter {
			rdb := b.client(t)
			p := prefix()
			cleanPrefix(t, rdb, p)
			s, err := redisstore.New(rdb, redisstore.WithPrefix(p))
			if err != nil {
				t.Fatal(err)
			}
			return s.Tally()
		})
	})
}

// Every replica sees the sum of all their additions, and one Add of many
// keys is one round trip. A flushed script cache is loaded again.
func TestTallyShared(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cs := b.clients(t, 3)
		p := prefix()
		cleanPrefix(t, cs[0], p)
		now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
		var sum int64
		for i, c := range cs {
			s, _ := redisstore.New(c, redisstore.WithPrefix(p))
			if i == 1 {
				if err := c.ScriptFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Tally().Add(ctx, now, []tally.Inc{{Key: "ip:192.0.2.1", N: int64(i + 1), Window: time.Hour}, {Key: "cc:RU", N: 1, Window: 24 * time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			sum += int64(i + 1)
			if got[0] != sum || got[1] != int64(i+1) {
				t.Fatalf("replica %d: %v, want [%d %d]", i, got, sum, i+1)
			}
		}
	})
}
