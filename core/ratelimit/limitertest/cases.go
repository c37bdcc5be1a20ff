package limitertest

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// From idle exactly the burst passes at once; the next request is denied
// with RetryAfter one interval, and a denied request consumes nothing.
func testBurst(h *tester) {
	for _, c := range []struct {
		name string
		l    ratelimit.Limit
	}{{"10/h", tenPerHour}, {"100/h;burst=5", burst5}, {"1/d", onePerDay}} {
		k := ipKey(1, ip1, c.l)
		iv, b := c.l.Interval(), c.l.EffectiveBurst()
		for i := range b {
			r := h.allow(k)[0]
			what := label("%s: request %d of the burst", c.name, i+1)
			h.allowed(what, r)
			h.remaining(what, r.Remaining, b-1-i, iv)
			h.duration(what+": ResetAfter", r.ResetAfter, time.Duration(i+1)*iv)
		}
		for i := range 2 {
			r := h.allow(k)[0]
			what := label("%s: request %d after the burst", c.name, i+1)
			h.denied(what, r)
			h.duration(what+": RetryAfter", r.RetryAfter, iv)
			h.duration(what+": ResetAfter", r.ResetAfter, time.Duration(b)*iv)
		}
	}
}

// Sustained, one request passes per interval: a denied request passes once
// its RetryAfter has gone by, and not before.
func testSustained(h *tester) {
	k := ipKey(1, ip1, twentyPerS) // burst 1, one every 50 ms
	iv := twentyPerS.Interval()
	last := time.Now() // when the last allowed request was sent
	h.allowed("first request", h.allow(k)[0])
	for i := range 3 {
		sent := time.Now()
		r := h.allow(k)[0]
		if r.Allowed {
			// On its own clock a limiter may have seen an interval go by.
			if !h.own || sent.Sub(last) < iv {
				h.Fatalf("round %d: a second request within one interval was allowed: %+v", i, r)
			}
			last = sent
			continue
		}
		if r.RetryAfter <= 0 || r.RetryAfter > iv {
			h.Fatalf("round %d: RetryAfter %v, want (0, %v]", i, r.RetryAfter, iv)
		}
		if !h.own && r.RetryAfter != iv {
			h.Fatalf("round %d: RetryAfter %v, want %v", i, r.RetryAfter, iv)
		}
		h.advance(r.RetryAfter)
		last = time.Now()
		h.allowed(label("round %d: after waiting RetryAfter", i), h.allow(k)[0])
	}
	if h.own {
		return // the exact count below needs 10 s of the limiter's clock
	}
	// 10/s with a burst of 2, a request every 10 ms for 10 s: the burst at
	// once, then one every 100 ms.
	k = ipKey(2, ip1, tenPerSec)
	var got, want []time.Duration
	want = append(want, 0, 10*time.Millisecond)
	for d := 100 * time.Millisecond; d <= 10*time.Second; d += 100 * time.Millisecond {
		want = append(want, d)
	}
	start := h.now
	for range 1001 {
		if h.allow(k)[0].Allowed {
			got = append(got, h.now.Sub(start))
		}
		h.advance(10 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		h.Fatalf("10/s;burst=2 over 10 s: %d allowed at %v\nwant %d at %v", len(got), got, len(want), want)
	}
}

// A request denied by one key consumes from none, whatever the order of its
// keys; once the denying key conforms again, every key consumes.
func testAllOrNothing(h *tester) {
	tight, wide := ipKey(1, ip1, onePerHour), ipKey(2, ip1, fivePerH)
	h.allowed("the tight key alone", h.allow(tight)[0])
	for i, keys := range [][]ratelimit.Key{{tight, wide}, {wide, tight}, {tight, wide}} {
		rs := h.allow(keys...)
		t, w := rs[0], rs[1]
		if keys[0] != tight {
			t, w = w, t
		}
		what := label("denied request %d", i+1)
		h.denied(what+": tight key", t)
		h.duration(what+": tight key RetryAfter", t.RetryAfter, time.Hour)
		// The wide key conforms. Whether its Remaining counts this request
		// as made is the limiter's choice; it must not be consumed.
		if !w.Allowed || w.Remaining < 4 || w.Remaining > 5 {
			h.Fatalf("%s: wide key %+v, want allowed with 4 or 5 remaining", what, w)
		}
	}
	r := h.allow(wide)[0]
	h.allowed("the wide key alone", r)
	h.remaining("the wide key alone, after 3 denied requests", r.Remaining, 4, fivePerH.Interval())
	if h.own {
		return
	}
	h.advance(time.Hour)
	rs := h.allow(tight, wide)
	h.allowed("an hour later: tight key", rs[0])
	h.allowed("an hour later: wide key", rs[1])
	h.remaining("an hour later: wide key", rs[1].Remaining, 4, fivePerH.Interval())
}

// Counters are kept apart by rule, address, value and limit.
func testIsolated(h *tester) {
	base := ipKey(1, ip1, onePerHour)
	h.allowed("base key", h.allow(base)[0])
	h.denied("base key again", h.allow(base)[0])
	others := []struct {
		name string
		k    ratelimit.Key
	}{
		{"other rule", ipKey(2, ip1, onePerHour)},
		{"other IPv4 address", ipKey(1, ip2, onePerHour)},
		{"IPv6 address", ipKey(1, ip6, onePerHour)},
		{"value, no address", ratelimit.Key{Rule: 1, Value: "user-1", Limit: onePerHour}},
		{"address and value", ratelimit.Key{Rule: 1, IP: ip1, Value: "user-1", Limit: onePerHour}},
		{"other value", ratelimit.Key{Rule: 1, Value: "user-2", Limit: onePerHour}},
		{"other N", ipKey(1, ip1, ratelimit.Limit{N: 2, Period: time.Hour})},
		{"other period", ipKey(1, ip1, onePerDay)},
		{"burst written out", ipKey(1, ip1, ratelimit.Limit{N: 1, Period: time.Hour, Burst: 1})},
	}
	for _, o := range others {
		r := h.allow(o.k)[0]
		h.allowed(o.name, r)
		h.remaining(o.name, r.Remaining, o.k.Limit.EffectiveBurst()-1, o.k.Limit.Interval())
	}
	h.denied("base key after the others", h.allow(base)[0])
	for _, o := range others {
		if o.k.Limit.EffectiveBurst() == 1 {
			h.denied(o.name+", second request", h.allow(o.k)[0])
		}
	}
}

// Remaining counts the requests that would pass now; ResetAfter is the time
// until the full burst is back, and both follow the clock.
func testRemaining(h *tester) {
	k := ipKey(1, ip1, fourPerH) // one every 15 min
	iv := fourPerH.Interval()
	r := h.allow(k)[0]
	h.remaining("1st request", r.Remaining, 3, iv)
	h.duration("1st request: ResetAfter", r.ResetAfter, iv)
	r = h.allow(k)[0]
	h.remaining("2nd request", r.Remaining, 2, iv)
	h.duration("2nd request: ResetAfter", r.ResetAfter, 2*iv)
	if h.own {
		return // minutes must pass; SustainedRate covers the clock
	}
	h.advance(iv)
	r = h.allow(k)[0]
	h.remaining("one interval later", r.Remaining, 2, iv)
	h.duration("one interval later: ResetAfter", r.ResetAfter, 2*iv)
	h.advance(time.Hour)
	r = h.allow(k)[0]
	h.remaining("an hour later", r.Remaining, 3, iv)
	h.duration("an hour later: ResetAfter", r.ResetAfter, iv)
	for range 3 {
		h.allow(k)
	}
	r = h.allow(k)[0]
	h.denied("after the burst", r)
	h.duration("after the burst: RetryAfter", r.RetryAfter, iv)
	h.duration("after the burst: ResetAfter", r.ResetAfter, 4*iv)
	h.advance(iv - 1)
	r = h.allow(k)[0]
	h.denied("1 ns before the interval", r)
	h.duration("1 ns before the interval: RetryAfter", r.RetryAfter, 1)
	h.advance(1)
	r = h.allow(k)[0]
	h.allowed("at the interval", r)
	h.remaining("at the interval", r.Remaining, 0, iv)
	h.duration("at the interval: ResetAfter", r.ResetAfter, 4*iv)
}

// 100 concurrent requests on one idle key: exactly the burst passes.
func testConcurrentBurst(h *tester) {
	for _, l := range []ratelimit.Limit{tenPerHour, burst20, onePerDay} {
		k := ipKey(1, ip1, l)
		n := h.concurrently(100, func(int) []ratelimit.Key { return []ratelimit.Key{k} })
		if n != l.EffectiveBurst() {
			h.Fatalf("%v: %d of 100 concurrent requests allowed, want exactly %d", l, n, l.EffectiveBurst())
		}
	}
}

// 100 concurrent requests matching two keys, in either order: the stricter
// admits its burst, and the other consumes exactly those.
func testConcurrentAllOrNothing(h *tester) {
	strict := ipKey(1, ip1, fivePerH)
	loose := ratelimit.Key{Rule: 2, Value: "user-42", Limit: fiftyPerH}
	n := h.concurrently(100, func(i int) []ratelimit.Key {
		if i%2 == 1 {
			return []ratelimit.Key{loose, strict}
		}
		return []ratelimit.Key{strict, loose}
	})
	if n != 5 {
		h.Fatalf("%d of 100 concurrent requests allowed, want exactly 5", n)
	}
	r := h.allow(loose)[0]
	h.allowed("the loose key alone", r)
	h.remaining("the loose key alone", r.Remaining, 50-5-1, fiftyPerH.Interval())
}

// concurrently sends n requests at once, request i on keys(i), and returns
// how many were allowed.
func (h *tester) concurrently(n int, keys func(i int) []ratelimit.Key) int64 {
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	now := h.clock()
	for i := range n {
		wg.Go(func() {
			<-start
			ks := keys(i)
			rs, err := h.l.Allow(h.ctx, now, ks, nil)
			if err != nil {
				h.Error(err)
				return
			}
			if len(rs) != len(ks) {
				h.Errorf("%d results for %d keys", len(rs), len(ks))
				return
			}
			for _, r := range rs {
				if !r.Allowed {
					return
				}
			}
			allowed.Add(1)
		})
	}
	close(start)
	wg.Wait()
	if h.Failed() {
		h.FailNow()
	}
	return allowed.Load()
}

// Allow appends one result per key, in order, after what dst holds; with no
// keys it returns dst as it was.
func testAppends(h *tester) {
	keys := []ratelimit.Key{ipKey(1, ip1, tenPerHour), ipKey(2, ip1, fivePerH), ipKey(3, ip1, fourPerH)}
	dst := make([]ratelimit.Result, 1, 8)
	dst[0].Remaining = -7
	rs, err := h.l.Allow(h.ctx, h.clock(), keys, dst)
	if err != nil {
		h.Fatal(err)
	}
	if len(rs) != 4 || rs[0].Remaining != -7 {
		h.Fatalf("Allow with dst holding one result: %+v", rs)
	}
	for i, want := range []int64{9, 4, 3} {
		if r := rs[i+1]; !r.Allowed || r.Limit != keys[i].Limit {
			h.Fatalf("result %d: %+v, want allowed with the key's limit", i, r)
		}
		h.remaining(label("key %d", i), rs[i+1].Remaining, want, keys[i].Limit.Interval())
	}
	rs, err = h.l.Allow(h.ctx, h.clock(), nil, dst[:1])
	if err != nil || len(rs) != 1 || rs[0].Remaining != -7 {
		h.Fatalf("Allow without keys = %+v, %v; want dst as it was", rs, err)
	}
}
