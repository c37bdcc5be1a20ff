package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/report"
)

// exampleStore holds a few events of the night of 1 December 2026.
func exampleStore() core.EventStore {
	st := memstore.New()
	at := func(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, time.UTC) }
	_ = st.AppendEvents(context.Background(), []core.Event{
		{CreatedAt: at(0, 5), IP: "203.0.113.7", CountryCode: "NL", Action: core.ActionRateLimit, Path: "/login", Count: 40},
		{CreatedAt: at(0, 6), IP: "203.0.113.7", CountryCode: "NL", Action: core.ActionLockout, Path: "/login"},
		{CreatedAt: at(0, 7), IP: "203.0.113.7", CountryCode: "NL", Action: core.ActionAutoBlockIP},
		{CreatedAt: at(1, 30), IP: "198.51.100.2", CountryCode: "US", Action: core.ActionUserAgentBlock, Path: "/wp-admin/", Count: 3},
		{CreatedAt: at(2, 15), IP: "192.0.2.9", Action: core.ActionSuspiciousLogin, Path: "/login"},
	})
	return st
}

func Example() {
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r, err := report.Build(context.Background(), exampleStore(), since, since.Add(3*time.Hour), report.WithTop(3))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r.Text())
	// Output:
	// warden security report
	// 2026-12-01 00:00:00 UTC to 2026-12-01 03:00:00 UTC (3h)
	//
	//   Events                      46
	//   Rate-limit denials          40
	//   Lockouts                     1
	//   Suspicious logins            1
	//   New auto-blocked IPs         1
	//   New auto-blocked countries   0
	//
	// Events by action
	//   RATE_LIMIT        40
	//   USER_AGENT_BLOCK   3
	//   AUTO_BLOCK_IP      1
	//   LOCKOUT            1
	//   SUSPICIOUS_LOGIN   1
	//
	// Top IPs
	//   203.0.113.7   42
	//   198.51.100.2   3
	//   192.0.2.9      1
	//
	// Top countries
	//   NL  42
	//   US   3
	//
	// Busiest paths
	//   /login      42
	//   /wp-admin/   3
	//
	// Auto-blocked IPs
	//   203.0.113.7  1
	//
	// Auto-blocked countries
	//   (none)
	//
	// Events per hour (UTC)
	//   2026-12-01 00:00  42  ##############################
	//   2026-12-01 01:00   3  ###
	//   2026-12-01 02:00   1  #
}

func ExampleReport_json() {
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r, err := report.Build(context.Background(), exampleStore(), since, since.Add(time.Hour), report.WithTop(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {
	//   "period": {
	//     "since": "2026-12-01T00:00:00Z",
	//     "until": "2026-12-01T01:00:00Z"
	//   },
	//   "total": 42,
	//   "by_action": [
	//     {
	//       "key": "RATE_LIMIT",
	//       "count": 40
	//     },
	//     {
	//       "key": "AUTO_BLOCK_IP",
	//       "count": 1
	//     },
	//     {
	//       "key": "LOCKOUT",
	//       "count": 1
	//     }
	//   ],
	//   "top_ips": [
	//     {
	//       "key": "203.0.113.7",
	//       "count": 42
	//     }
	//   ],
	//   "top_countries": [
	//     {
	//       "key": "NL",
	//       "count": 42
	//     }
	//   ],
	//   "top_paths": [
	//     {
	//       "key": "/login",
	//       "count": 41
	//     }
	//   ],
	//   "auto_blocks": {
	//     "ips": 1,
	//     "countries": 0,
	//     "top_ips": [
	//       {
	//         "key": "203.0.113.7",
	//         "count": 1
	//       }
	//     ],
	//     "top_countries": []
	//   },
	//   "suspicious_logins": 0,
	//   "rate_limit_denials": 40,
	//   "lockouts": 1,
	//   "per_hour": [
	//     {
	//       "hour": "2026-12-01T00:00:00Z",
	//       "count": 42
	//     }
	//   ]
	// }
}
