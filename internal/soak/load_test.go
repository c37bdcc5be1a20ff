package soak

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator: a paced stream of requests to each replica (perRate
// a second, from a bounded pool of workers), login traffic beside it, and
// a recorder of every answer by replica, phase and class of request.

const (
	replicas    = 3
	perRate     = 200 // requests a second to each replica
	workers     = 32  // requests in flight to one replica at most
	reqTimeout  = 5 * time.Second
	hotEvery    = 20  // one paced request in 20 comes from the hot address: 10/s per replica
	scanEvery   = 100 // one in 100 carries the blocked User-Agent: 2/s per replica
	normalAgent = "Mozilla/5.0 (X11; Linux x86_64) soak"
)

type phase int32

const (
	steady phase = iota
	faults
	recovery
	phases
)

func (p phase) String() string { return [...]string{"steady", "faults", "recovery"}[p] }

// class is the kind of request, which tells what its answer should be.
type class int

const (
	background class = iota // GET / from many private addresses: never denied
	hot                     // GET / from one address far above the shared rate limit
	scanner                 // GET / with the blocked User-Agent: 403, then auto-blocked (403)
	probe                   // GET /probe from a rule round's address: 404, or 403 while blocked
	brute                   // POST /login with a wrong password for a victim account
	legit                   // POST /login as demo with the right password
	wrong                   // POST /login with a wrong password, once per user
	classes
)

func (c class) String() string {
	return [...]string{"background", "hot", "scanner", "probe", "brute", "legit", "wrong"}[c]
}

// recorder counts answers: status 0 is a transport error or timeout.
type recorder struct {
	cur atomic.Int32 // the phase now

	mu      sync.Mutex
	status  [replicas][phases][classes]map[int]int
	lat     [replicas][phases][]time.Duration // background requests only
	shed    [replicas]int                     // paced requests not sent: every worker busy
	hotSpan [2]time.Time                      // first and last hot request answered in the steady phase
}

func newRecorder() *recorder {
	r := &recorder{}
	for i := range r.status {
		for p := range r.status[i] {
			for c := range r.status[i][p] {
				r.status[i][p][c] = map[int]int{}
			}
		}
	}
	return r
}

func (r *recorder) phase() phase { return phase(r.cur.Load()) }

func (r *recorder) add(rep int, c class, status int, d time.Duration, at time.Time) {
	p := r.phase()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status[rep][p][c][status]++
	if c == background && status != 0 {
		r.lat[rep][p] = append(r.lat[rep][p], d)
	}
	if c == hot && p == steady {
		if r.hotSpan[0].IsZero() {
			r.hotSpan[0] = at
		}
		r.hotSpan[1] = at
	}
}

// count sums the answers with status s (any status when s < 0) of class c
// in the phases given (all when none), over every replica.
func (r *recorder) count(c class, s int, ps ...phase) int {
	if len(ps) == 0 {
		ps = []phase{steady, faults, recovery}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for rep := range replicas {
		for _, p := range ps {
			for st, k := range r.status[rep][p][c] {
				if s < 0 || st == s {
					n += k
				}
			}
		}
	}
	return n
}

// percentile of the background latencies of one replica and phase.
func (r *recorder) percentile(rep int, p phase, q float64) time.Duration {
	r.mu.Lock()
	l := slices.Clone(r.lat[rep][p])
	r.mu.Unlock()
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// client sends the soak's requests, each from the address it claims in
// X-Forwarded-For (the replicas trust the loopback proxy).
type client struct {
	http  *http.Client
	bases []string // http://host:port of each replica
	rec   *recorder
}

func newClient(bases []string, rec *recorder) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: workers + 16, DisableCompression: true}
	return &client{http: &http.Client{Transport: tr, Timeout: reqTimeout}, bases: bases, rec: rec}
}

// do sends one request to replica rep and records its answer.
func (c *client) do(rep int, cl class, method, path, ip, ua string, form url.Values) int {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.bases[rep]+path, body)
	if err != nil {
		panic(err) // a bug in the test
	}
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", ua)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	status := 0
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		status = resp.StatusCode
	}
	c.rec.add(rep, cl, status, time.Since(start), start)
	return status
}

func (c *client) login(rep int, cl class, ip, user, password string) int {
	return c.do(rep, cl, http.MethodPost, "/login", ip, normalAgent, url.Values{"username": {user}, "password": {password}})
}

// addrs hands out addresses: private ones for ordinary clients (never
// auto-blocked) and distinct public ones from 198.18.0.0/15 (the
// benchmarking range) for the addresses a check follows, fresh on every
// run so that counters a previous run left in Redis cannot matter.
type addrs struct {
	mu   sync.Mutex
	used map[netip.Addr]bool
}

func (a *addrs) private() string {
	return netip.AddrFrom4([4]byte{10, byte(rand.IntN(256)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))}).String()
}

func (a *addrs) public() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used == nil {
		a.used = map[netip.Addr]bool{}
	}
	for {
		n := rand.IntN(1 << 17)
		ip := netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
		if !a.used[ip] && n&0xff != 0 && n&0xff != 255 {
			a.used[ip] = true
			return ip.String()
		}
	}
}

// pace sends perRate requests a second to replica rep until ctx ends: one
// in hotEvery from hotIP, one in scanEvery with the scanner's User-Agent,
// the rest from random private addresses: at most perRate a second for as
// long as ctx lasts, each bounded by reqTimeout, and never more than
// workers at once (a request that finds them all busy is not sent, and
// counted as shed). It returns when every request sent has been answered.
func (c *client) pace(ctx context.Context, rep int, ips *addrs, hotIP, scanIP, scanUA string) {
	jobs := make(chan func(), workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				j()
			}
		})
	}
	defer func() { close(jobs); wg.Wait() }()
	tick := time.NewTicker(time.Second / perRate)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var job func()
		switch {
		case i%hotEvery == 0:
			job = func() { c.do(rep, hot, http.MethodGet, "/", hotIP, normalAgent, nil) }
		case i%scanEvery == 1:
			job = func() { c.do(rep, scanner, http.MethodGet, "/", scanIP, scanUA, nil) }
		default:
			ip := ips.private()
			job = func() { c.do(rep, background, http.MethodGet, "/", ip, normalAgent, nil) }
		}
		select {
		case jobs <- job:
		default:
			c.rec.mu.Lock()
			c.rec.shed[rep]++
			c.rec.mu.Unlock()
		}
	}
}

// logins signs demo in with the right password and one new user a time
// with a wrong one, each from a private address, 4 a second in turn over
// the replicas, until ctx ends.
func (c *client) logins(ctx context.Context, ips *addrs, run, demoPassword string) {
	demoIPs := []string{ips.private(), ips.private(), ips.private()}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if i%2 == 0 {
			c.login(i%replicas, legit, demoIPs[i%len(demoIPs)], "demo", demoPassword)
		} else {
			c.login(i%replicas, wrong, ips.private(), "user-"+run+"-"+strconv.Itoa(i), "not-the-password")
		}
	}
}

// bruteForce tries attempts wrong passwords at once on each victim account,
// spread over the replicas, each victim from an address of its own. It
// returns the answers per victim.
func (c *client) bruteForce(ctx context.Context, ips *addrs, victims []string, attempts int) map[string]map[int]int {
	out := map[string]map[int]int{}
	var mu sync.Mutex
	for v, name := range victims {
		if ctx.Err() != nil {
			break
		}
		ip := ips.public()
		var wg sync.WaitGroup
		for j := range attempts {
			wg.Go(func() {
				s := c.login((v+j)%replicas, brute, ip, name, "guess-"+strconv.Itoa(j))
				mu.Lock()
				if out[name] == nil {
					out[name] = map[int]int{}
				}
				out[name][s]++
				mu.Unlock()
			})
		}
		wg.Wait()
		time.Sleep(100 * time.Millisecond)
	}
	return out
}
