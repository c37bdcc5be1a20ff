package soak

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// check judges the run; each failure names what a user would have seen.
func (s *soak) check() {
	t := s.t
	if n := int(s.cyclesDone.Load()); n != s.cycles {
		t.Errorf("%d of %d fault cycles ran to their end", n, s.cycles)
	}
	s.checkAnswers()
	// Rule changes reach every replica within a second, but while faults
	// are injected (the bus or PostgreSQL unavailable) within the limit.
	for _, r := range s.rounds {
		b, u := slowest(r.block), slowest(r.unblock)
		switch {
		case r.blockErr != nil || r.delErr != nil:
			t.Errorf("round %s (%s, %s): the write failed: %v %v", r.ip, r.via, r.ph, r.blockErr, r.delErr)
		case b < 0 || u < 0:
			t.Errorf("round %s (%s, %s): not enforced everywhere within %s: block %v, unblock %v", r.ip, r.via, r.ph, awaitLimit, r.block, r.unblock)
		case r.ph != faults && (b > time.Second || u > time.Second):
			t.Errorf("round %s (%s, %s): enforced on all three after block %s, unblock %s; want ≤ 1s", r.ip, r.via, r.ph, b, u)
		}
	}
	// The shared rate limit holds across the replicas.
	if allowed, span, want := s.shared(); math.Abs(float64(allowed)-want) > limitBurst || span < 10*time.Second {
		t.Errorf("shared limit: %d hot requests allowed in %s, want %.0f ± %d", allowed, span, want, limitBurst)
	}
	// Exactly max_login_attempts reach the password check per account.
	for _, ph := range []phase{steady, recovery} {
		for name, st := range s.brute[ph] {
			if st[401] != maxLogins || st[401]+st[429]+st[403] != attempts {
				t.Errorf("brute force (%s) on %s: answers %v; want %d × 401 and the rest 429 (or 403)", ph, name, st, maxLogins)
			}
			if s.db.lockouts[name] != 1 {
				t.Errorf("brute force (%s) on %s: %d LOCKOUT events stored, want 1", ph, name, s.db.lockouts[name])
			}
		}
		if _, _, n := s.checked(ph); n != victims {
			t.Errorf("brute force (%s): %d of %d victims attacked", ph, n, victims)
		}
	}
	// The scanner's User-Agent is blocked, then its address auto-blocked once.
	if s.db.scanner["AUTO_BLOCK_IP"] != 1 || s.db.scanner["USER_AGENT_BLOCK"] < 10 {
		t.Errorf("scanner %s: events %v; want USER_AGENT_BLOCK ≥ 10 and one AUTO_BLOCK_IP", s.scanIP, s.db.scanner)
	}
	s.checkEvents()
	s.checkProcesses()
	s.checkJobs()
}

// checkAnswers: every answer is the one its class of request calls for.
// Logins may be answered 503 while faults are injected (the lockout's fail
// policy is closed); nothing else may fail or time out, in any phase: a
// successful login waits for its login history (core.LoginMonitor) at most
// WithLoginHistoryWait, also while PostgreSQL stalls.
func (s *soak) checkAnswers() {
	allowed := map[class][]int{background: {200}, hot: {200, 429}, scanner: {403}, probe: {403, 404},
		brute: {401, 429, 403}, legit: {200}, wrong: {401}}
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	for rep := range replicas {
		for ph := range phases {
			for c := range classes {
				for st, n := range s.rec.status[rep][ph][c] {
					ok := slices.Contains(allowed[c], st) || (ph == faults && st == 503 && c >= brute)
					if !ok {
						s.t.Errorf("replica %d, %s, %s requests: %d answered %s", rep, ph, c, n, statusName(st))
					}
				}
			}
		}
		if s.rec.shed[rep] > 0 {
			s.t.Logf("replica %d: %d paced requests not sent (every worker busy: the replica or this machine fell behind)", rep, s.rec.shed[rep])
		}
	}
}

func statusName(st int) string {
	if st == 0 {
		return "with a transport error or a timeout of " + reqTimeout.String()
	}
	return fmt.Sprint(st)
}

// checkEvents: every event the replicas accepted is stored, and every
// denial the load generator saw is an event, unless counted as dropped.
func (s *soak) checkEvents() {
	t := s.t
	dropped := s.sum("warden_events_dropped_total") + s.sum("warden_events_rejected_total")
	if q := s.sum("warden_events_queued"); q != 0 {
		t.Errorf("events: %.0f still queued 30 s after the load stopped", q)
	}
	accepted := s.sum("warden_events_written_total") + s.sum("warden_events_coalesced_total") + s.sum("warden_events_folded_total") - float64(s.db.foldRows)
	stored := float64(total(s.db.events) - s.db.events["ADMIN_ACTION"]) // the warden command's own
	if stored != accepted && (stored > accepted || accepted-stored > dropped) {
		t.Errorf("events: %.0f stored, the replicas accepted %.0f (written + coalesced + folded − folded rows) and dropped %.0f", stored, accepted, dropped)
	}
	seen := 0
	for c := range classes {
		seen += s.rec.count(c, 403)
		if c < brute {
			seen += s.rec.count(c, 429) // a locked login's 429 is not an event
		}
	}
	denials := s.db.events["IP_BLOCK"] + s.db.events["USER_AGENT_BLOCK"] + s.db.events["RATE_LIMIT"]
	if float64(seen)-float64(denials) > dropped || int64(seen) < denials {
		t.Errorf("events: the load generator was denied %d times (403, or 429 by the rate limit); %d denial events stored, %.0f dropped", seen, denials, dropped)
	}
}

// checkProcesses: the replicas exited cleanly and printed no panic.
func (s *soak) checkProcesses() {
	for i, r := range s.reps {
		if s.exits[i] != nil {
			s.t.Errorf("replica %d did not exit cleanly: %v\n%s", i, s.exits[i], r.tail(20))
		}
		if bad := r.grep("panic", "fatal error", "DATA RACE"); len(bad) > 0 {
			s.t.Errorf("replica %d printed %d lines about a panic or a fatal error, first: %s", i, len(bad), bad[0])
		}
	}
}

// tick is one scheduled time of a job and the runs it had.
type tick struct {
	at   time.Time
	runs []jobRun
}

func (k tick) by() string {
	var rs []string
	for _, r := range k.runs {
		rs = append(rs, fmt.Sprintf("r%d", r.replica))
	}
	if len(rs) == 0 {
		return ""
	}
	return "(" + strings.Join(rs, ",") + ")"
}

// ticks lists the job's scheduled times from the first run (the replicas
// were all up by then) to the end of the run, with the runs of each.
func (s *soak) ticks(job string) []tick {
	var runs []jobRun
	for _, r := range s.runs {
		if r.job == job {
			runs = append(runs, r)
		}
	}
	end := s.faultT[1].Add(s.phase[recovery])
	first := s.faultT[0].Add(-s.phase[steady]).Truncate(jobEvery).Add(jobEvery)
	var out []tick
	for at := first; at.Before(end); at = at.Add(jobEvery) {
		k := tick{at: at}
		for _, r := range runs {
			if !r.at.Before(at) && r.at.Before(at.Add(jobEvery)) {
				k.runs = append(k.runs, r)
			}
		}
		out = append(out, k)
	}
	return out
}

// checkJobs: each job ran once per tick across the replicas; a tick while
// faults were injected may be skipped (no replica held the lease), never
// run twice.
func (s *soak) checkJobs() {
	for _, j := range []string{"sweep", "expiry", "retention"} {
		ticks := s.ticks(j)
		if len(ticks) == 0 {
			s.t.Errorf("job %s: no tick in the run", j)
		}
		for _, k := range ticks {
			inFaults := !k.at.Before(s.faultT[0]) && k.at.Before(s.faultT[1])
			if len(k.runs) > 1 || (len(k.runs) == 0 && !inFaults) {
				s.t.Errorf("job %s, tick %s: %d runs %s, want 1", j, k.at.Format(time.TimeOnly), len(k.runs), k.by())
			}
			for _, r := range k.runs {
				if r.outcome != "done" {
					s.t.Errorf("job %s, tick %s: %s on replica %d", j, k.at.Format(time.TimeOnly), r.outcome, r.replica)
				}
			}
		}
	}
}

// shared is what the hot address was allowed in the steady phase, over
// how long, and what the limit allows in that time.
func (s *soak) shared() (allowed int, span time.Duration, want float64) {
	allowed = s.rec.count(hot, 200, steady)
	s.rec.mu.Lock()
	span = s.rec.hotSpan[1].Sub(s.rec.hotSpan[0])
	s.rec.mu.Unlock()
	return allowed, span, limitBurst + span.Seconds()*limitRate
}

// checked is the fewest and most answers per account of the brute force in
// phase ph that reached the password check (401), and the accounts tried.
func (s *soak) checked(ph phase) (lo, hi, n int) {
	lo = math.MaxInt
	for _, st := range s.brute[ph] {
		lo, hi = min(lo, st[401]), max(hi, st[401])
	}
	if len(s.brute[ph]) == 0 {
		lo = 0
	}
	return lo, hi, len(s.brute[ph])
}
