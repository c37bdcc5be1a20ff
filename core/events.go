package core

import "net/http"

// RecordEvent queues an application event (SUSPICIOUS_LOGIN, ADMIN_ACTION,
// …) for the security log. It never blocks; it reports false when the queue
// was full and the event was dropped (counted in Stats).
func (e *Engine) RecordEvent(ev Event) bool {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = e.clock.Now()
	}
	return e.events.enqueue(ev)
}

// recordDecision builds the event of a decision and queues it.
func (e *Engine) recordDecision(r *http.Request, d Decision, detailAction, details string) {
	ev := Event{
		CreatedAt:   e.clock.Now(),
		Action:      d.Action,
		Path:        r.URL.Path,
		Method:      r.Method,
		UserAgent:   userAgent(r.Header),
		RuleID:      d.RuleID,
		Details:     details,
		CountryCode: d.Country,
	}
	if r.URL.RawPath != "" { // keep the encoding an attacker used: /heal%74h, not /health
		ev.Path = r.URL.EscapedPath()
	}
	if d.ClientIP.IsValid() {
		ev.IP = d.ClientIP.String()
	}
	if detailAction != "" {
		ev.Details = detailAction
		if details != "" {
			ev.Details += ": " + details
		}
	}
	e.events.enqueue(ev)
}

// countHit adds one to a rule's hit counter.
func (e *Engine) countHit(kind HitKind, id int64) { e.events.countHit(kind, id) }
