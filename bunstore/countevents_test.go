package bunstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core"
)

// TestCountEventsByHourBeforePostgres14 checks the hour grouping that
// servers without date_bin get (date_trunc in UTC) against the default one,
// on events around hour boundaries and before the year 2000.
func TestCountEventsByHourBeforePostgres14(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if b.name != "postgres" {
			t.Skip("PostgreSQL only")
		}
		ctx := testCtx(t)
		s := newStore(t, b)
		var evs []core.Event
		for _, at := range []time.Time{
			time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 2, 5, 59, 59, 999999000, time.UTC),
			time.Date(2026, 12, 2, 11, 45, 0, 0, time.FixedZone("IST", 5*3600+1800)), // 06:15 UTC
		} {
			evs = append(evs, core.Event{CreatedAt: at, IP: "192.0.2.1", Action: core.ActionIPBlock, Count: 2})
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		want := []core.GroupCount{
			{Key: "2026-12-02T05:00:00Z", Count: 4},
			{Key: "1999-12-31T23:00:00Z", Count: 2},
			{Key: "2000-01-01T00:00:00Z", Count: 2},
			{Key: "2026-12-02T06:00:00Z", Count: 2},
		}
		wantAction := make([]core.GroupCount, len(want))
		for i, g := range want {
			wantAction[i] = core.GroupCount{Key: g.Key + " IP_BLOCK", Count: g.Count}
		}
		for _, v := range []int{150000, 130000} {
			bunstore.SetPostgresVersion(s, v)
			got, err := s.CountEvents(ctx, core.CountQuery{GroupBy: core.GroupByHour})
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("server version %d: CountEvents by hour = %v, %v; want %v", v, got, err, want)
			}
			got, err = s.CountEvents(ctx, core.CountQuery{GroupBy: core.GroupByHourAction})
			if err != nil || !slices.Equal(got, wantAction) {
				t.Errorf("server version %d: CountEvents by hour and action = %v, %v; want %v", v, got, err, wantAction)
			}
		}
	})
}
