package soak

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// dbCounts is what the events table holds at the end.
type dbCounts struct {
	rows, events map[string]int64 // rows and events (sum of count) by action
	foldRows     int64            // rows that fold a source's denials of one second
	lockouts     map[string]int64 // LOCKOUT events by account
	scanner      map[string]int64 // events of the scanner's address by action
}

func (s *soak) countEvents(ctx context.Context) dbCounts {
	c := dbCounts{rows: map[string]int64{}, events: map[string]int64{}, lockouts: map[string]int64{}, scanner: map[string]int64{}}
	db := s.store.DB()
	query := func(dst map[string]int64, q string, args ...any) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			s.t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n, sum int64
			if err := rows.Scan(&k, &n, &sum); err != nil {
				s.t.Fatal(err)
			}
			if dst == nil {
				c.rows[k], c.events[k] = n, sum
			} else {
				dst[k] = sum
			}
		}
		if err := rows.Err(); err != nil {
			s.t.Fatal(err)
		}
	}
	const table = "security_security_log"
	query(nil, "SELECT action, COUNT(*), COALESCE(SUM(count), 0) FROM "+table+" GROUP BY action")
	query(c.lockouts, "SELECT user_email, COUNT(*), SUM(count) FROM "+table+" WHERE action = 'LOCKOUT' GROUP BY user_email")
	query(c.scanner, "SELECT action, COUNT(*), SUM(count) FROM "+table+" WHERE ip_address = ? GROUP BY action", s.scanIP)
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE details LIKE 'folded:%'").Scan(&c.foldRows); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// sum adds a metric over the replicas (name with its labels, as written).
func (s *soak) sum(name string) float64 {
	var n float64
	for _, m := range s.final {
		n += m[name]
	}
	return n
}

// report prints the run's table.
func (s *soak) report(out io.Writer) {
	w := tabwriter.NewWriter(out, 2, 8, 2, ' ', tabwriter.AlignRight)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	fmt.Fprintf(out, "\n=== soak: %d replicas of examples/gin, %d requests/s each; PostgreSQL through a pausable proxy; Redis Cluster %s\n",
		replicas, perRate, strings.Join(s.cluster.addrs, ","))
	fmt.Fprintf(out, "    %s: steady %s, faults %s, recovery %s; faults hit master %s (the bus channel's); the scheduler's lease is on %s\n\n",
		s.d, s.phase[steady], s.phase[faults], s.phase[recovery], s.target, s.leaseOwner)
	p("replica\trequests\t2xx\t401\t403\t404\t429\t503\terrors\tshed\tp50/p99 steady\tp50/p99 faults\tp50/p99 recovery\t")
	for i := range replicas {
		st := s.statuses(i)
		p("%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t", i, st[-1], st[200], st[401], st[403], st[404], st[429], st[503], st[0],
			s.rec.shed[i], s.lat(i, steady), s.lat(i, faults), s.lat(i, recovery))
	}
	_ = w.Flush()

	fmt.Fprintln(out, "\ndenials by action: decisions (the replicas' /metrics) and events stored (rows, events)")
	p("action\tdecisions\trows\tevents\t")
	for _, a := range s.actions() {
		if d := s.sum(`warden_decisions_total{decision="deny",kind="` + a + `"}`); d == 0 && s.db.rows[a] == 0 {
			continue
		}
		p("%s\t%.0f\t%d\t%d\t", a, s.sum(`warden_decisions_total{decision="deny",kind="`+a+`"}`), s.db.rows[a], s.db.events[a])
	}
	_ = w.Flush()

	fmt.Fprintln(out, "\nrule propagation: from the write's return to enforced on all three (p50 / max of the rounds)")
	p("phase\trounds\tblock p50\tblock max\tunblock p50\tunblock max\tfailed\t")
	for ph := range phases {
		b, u, failed := s.propagation(ph)
		p("%s\t%d\t%s\t%s\t%s\t%s\t%d\t", ph, len(b), pct(b, 0.5), pct(b, 1), pct(u, 0.5), pct(u, 1), failed)
	}
	_ = w.Flush()

	fmt.Fprintln(out, "\nevents (sums over the replicas' /metrics at the end; the database after they stopped)")
	p("queued\twritten (rows)\tcoalesced\tfolded\tdropped\trejected\tcritical overflow\tstored rows\tstored events\t")
	p("%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t", s.sum("warden_events_queued"), s.sum("warden_events_written_total"),
		s.sum("warden_events_coalesced_total"), s.sum("warden_events_folded_total"), s.sum("warden_events_dropped_total"),
		s.sum("warden_events_rejected_total"), s.sum("warden_events_critical_overflow_total"), total(s.db.rows), total(s.db.events))
	_ = w.Flush()

	fmt.Fprintln(out, "\nfail policies (the replicas' /metrics): trips (Check or attempt counter), limiter failures (each a FAIL_POLICY event), attempt counter errors")
	p("replica\ttrips\tlimiter\tcounter\t")
	for i := range replicas {
		m := s.final[i]
		p("%d\t%.0f\t%.0f\t%.0f\t", i, m["warden_fail_policy_trips_total"], m["warden_limiter_failures_total"], m["warden_lockout_counter_errors_total"])
	}
	_ = w.Flush()
	for ph := range phases {
		fmt.Fprintf(out, "  %-8s logins answered 503 (or timed out): legit %d (%d) of %d, wrong %d (%d) of %d, brute %d (%d) of %d\n", ph,
			s.rec.count(legit, 503, ph), s.rec.count(legit, 0, ph), s.rec.count(legit, -1, ph),
			s.rec.count(wrong, 503, ph), s.rec.count(wrong, 0, ph), s.rec.count(wrong, -1, ph),
			s.rec.count(brute, 503, ph), s.rec.count(brute, 0, ph), s.rec.count(brute, -1, ph))
	}
	s.reportChecks(out)
}

// reportChecks prints the figures the checks judge.
func (s *soak) reportChecks(out io.Writer) {
	allowed, span, want := s.shared()
	fmt.Fprintf(out, "\nshared rate limit (steady): %d of %d hot requests allowed in %s; %d/s with burst %d allows %.0f (±%d)\n",
		allowed, s.rec.count(hot, -1, steady), span.Round(time.Millisecond), limitRate, limitBurst, want, limitBurst)
	for _, ph := range []phase{steady, recovery} {
		lo, hi, n := s.checked(ph)
		fmt.Fprintf(out, "brute force (%s): %d victims × %d attempts at once over the replicas: %d–%d reached the password check per account (max_login_attempts %d)\n",
			ph, n, attempts, lo, hi, maxLogins)
	}
	fmt.Fprintf(out, "scanner %s: events by action %v\n", s.scanIP, s.db.scanner)
	fmt.Fprintln(out, "\nscheduled jobs (every", jobEvery, "under an elector): runs per tick across the replicas")
	for _, j := range []string{"sweep", "expiry", "retention"} {
		ticks := s.ticks(j)
		var parts []string
		for _, tk := range ticks {
			parts = append(parts, fmt.Sprintf("%s:%d%s", tk.at.Format("15:04"), len(tk.runs), tk.by()))
		}
		fmt.Fprintf(out, "  %-9s %s\n", j, strings.Join(parts, "  "))
	}
	fmt.Fprintln(out, "\ntimeline")
	for _, n := range s.notes {
		fmt.Fprintln(out, "  "+n)
	}
	fmt.Fprintln(out)
}

// statuses counts one replica's answers over every phase and class by
// status; -1 holds the total.
func (s *soak) statuses(rep int) map[int]int {
	out := map[int]int{}
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	for ph := range phases {
		for c := range classes {
			for st, n := range s.rec.status[rep][ph][c] {
				k := st
				if st >= 200 && st < 300 {
					k = 200
				}
				out[k] += n
				out[-1] += n
			}
		}
	}
	return out
}

func (s *soak) lat(rep int, ph phase) string {
	return ms(s.rec.percentile(rep, ph, 0.5)) + " / " + ms(s.rec.percentile(rep, ph, 0.99))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// actions lists the actions seen in decisions or events, sorted.
func (s *soak) actions() []string {
	seen := map[string]bool{}
	for k := range s.db.rows {
		seen[k] = true
	}
	for _, m := range s.final {
		for k := range m {
			if a, ok := strings.CutPrefix(k, `warden_decisions_total{decision="deny",kind="`); ok {
				seen[strings.TrimSuffix(a, `"}`)] = true
			}
		}
	}
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// propagation returns the slowest replica's block and unblock times of the
// rounds written in phase ph, and how many rounds failed.
func (s *soak) propagation(ph phase) (block, unblock []time.Duration, failed int) {
	for _, r := range s.rounds {
		if r.ph != ph {
			continue
		}
		b, u := slowest(r.block), slowest(r.unblock)
		if r.blockErr != nil || r.delErr != nil || b < 0 || u < 0 {
			failed++
			continue
		}
		block, unblock = append(block, b), append(unblock, u)
	}
	return block, unblock, failed
}

func pct(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "-"
	}
	ds = slices.Sorted(slices.Values(ds))
	return ms(ds[min(len(ds)-1, int(q*float64(len(ds))))])
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
