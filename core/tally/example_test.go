package tally_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core/tally"
)

func Example() {
	m, _ := tally.NewMemory(0)
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	for range 3 {
		m.Add(ctx, now, []tally.Inc{{Key: "ip:203.0.113.9", N: 2, Window: time.Hour}})
	}
	sums, _ := m.Add(ctx, now.Add(30*time.Minute), []tally.Inc{{Key: "ip:203.0.113.9", Window: time.Hour}})
	fmt.Println("in the last hour:", sums[0])
	sums, _ = m.Add(ctx, now.Add(time.Hour), []tally.Inc{{Key: "ip:203.0.113.9", Window: time.Hour}})
	fmt.Println("an hour later:", sums[0])
	// Output:
	// in the last hour: 6
	// an hour later: 0
}
