package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher sends the script calls of one Attempts. At most calls round
// trips are in flight at once; the steps that arrive meanwhile wait and
// share the next round trip, up to size steps in one pipeline. A quiet
// counter thus sends each step alone at once, and a burst of logins costs
// Redis and the client a few round trips rather than one each, which is
// what keeps a burst within its deadline (each step is still its own script
// call, atomic as before).
//
// A step whose caller left before it was sent is dropped. A round trip
// whose steps have all passed their deadline no longer counts toward calls
// (another may start), but keeps its guard slot until go-redis gives up.
type batcher struct {
	g     *guard
	rdb   redis.UniversalClient
	st    *counters
	calls int
	size  int

	mu       sync.Mutex
	queue    []*pending
	inflight int // round trips in flight and not yet past their deadline
}

// pending is one step: its script call and where its result goes.
type pending struct {
	ctx      context.Context // the caller's
	deadline time.Time
	keys     []string
	args     []any
	left     atomic.Bool // the caller returned: do not send
	done     chan stepResult
}

type stepResult struct {
	raw []int64
	err error
}

// exec sends one script call with the others waiting, and returns its
// reply. It gives up when ctx ends (errAbandoned), or after patience when
// Redis has sent no reply at all since the call was made, to it or to any
// other call of the Store (errNoProgress): a call queued behind a burst
// waits as long as the burst is being answered. keys and args are the
// batcher's from now on.
func (q *batcher) exec(ctx context.Context, patience time.Duration, keys []string, args []any) ([]int64, error) {
	deadline, ok := ctx.Deadline()
	if !ok { // not reached: steps run under a deadline
		deadline = time.Now().Add(DefaultLoginMaxWait)
	}
	p := &pending{ctx: ctx, deadline: deadline, keys: keys, args: args, done: make(chan stepResult, 1)}
	start := q.g.now()
	q.submit(p)
	wait := time.NewTimer(patience)
	defer wait.Stop()
	var err error
	select {
	case r := <-p.done:
		return r.raw, r.err
	case <-ctx.Done():
		err = errAbandoned
	case <-wait.C:
		if q.g.replied.Load() < start {
			err = errNoProgress
			break
		}
		select { // Redis answers: wait on, up to the deadline
		case r := <-p.done:
			return r.raw, r.err
		case <-ctx.Done():
			err = errAbandoned
		}
	}
	p.left.Store(true)
	select {
	case r := <-p.done:
		return r.raw, r.err
	default:
		return nil, err
	}
}

func (q *batcher) submit(p *pending) {
	q.mu.Lock()
	if len(q.queue) >= 4*q.size { // callers that left: drop them
		q.queue = compact(q.queue)
	}
	q.queue = append(q.queue, p)
	start := q.inflight < q.calls
	if start {
		q.inflight++
	}
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

func compact(queue []*pending) []*pending {
	kept := queue[:0]
	for _, p := range queue {
		if !p.left.Load() {
			kept = append(kept, p)
		}
	}
	clear(queue[len(kept):])
	return kept
}

// next takes the steps of the next round trip; none ends the run.
func (q *batcher) next() []*pending {
	q.mu.Lock()
	defer q.mu.Unlock()
	var batch []*pending
	n := 0
	for ; n < len(q.queue) && len(batch) < q.size; n++ {
		if p := q.queue[n]; !p.left.Load() {
			batch = append(batch, p)
		}
	}
	clear(q.queue[:n])
	q.queue = q.queue[n:]
	if len(q.queue) == 0 {
		q.queue = nil
	}
	if len(batch) == 0 {
		q.inflight--
	}
	return batch
}

// release lets another round trip start in place of one past its
// deadline.
func (q *batcher) release() {
	q.mu.Lock()
	q.inflight--
	start := len(q.queue) > 0 && q.inflight < q.calls
	if start {
		q.inflight++
	}
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

// run sends round trips while steps wait.
func (q *batcher) run() {
	for {
		batch := q.next()
		if len(batch) == 0 || q.send(batch) {
			return
		}
	}
}

// send makes one round trip for batch, under the latest of its deadlines,
// and delivers each step's result. It reports whether the round trip was
// abandoned (release has then run).
func (q *batcher) send(batch []*pending) (abandoned bool) {
	deadline := batch[0].deadline
	for _, p := range batch[1:] {
		if p.deadline.After(deadline) {
			deadline = p.deadline
		}
	}
	// The first caller's values (tracing) go with the call; not its
	// cancellation, which must not cut the others short.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(batch[0].ctx), deadline)
	defer cancel()
	if !q.g.acquire(ctx) {
		for _, p := range batch {
			p.done <- stepResult{err: errAbandoned}
		}
		return false
	}
	q.st.calls.Add(int64(len(batch)))
	q.st.roundTrips.Add(1)
	c := q.g.begin(ctx, q.release)
	res := q.call(ctx, batch)
	heard := false
	for _, r := range res {
		heard = heard || isReply(r.err)
	}
	abandoned = q.g.end(c, heard)
	for i, p := range batch {
		p.done <- res[i]
	}
	return abandoned
}

// call runs the steps of batch: one script call alone, else one pipeline
// (and, for the steps whose script the server lost, a SCRIPT LOAD and a
// second pipeline).
func (q *batcher) call(ctx context.Context, batch []*pending) []stepResult {
	res := make([]stepResult, len(batch))
	if len(batch) == 1 {
		res[0].raw, res[0].err = attemptScript.Run(ctx, q.rdb, batch[0].keys, batch[0].args...).Int64Slice()
		return res
	}
	todo := make([]int, len(batch))
	for i := range todo {
		todo[i] = i
	}
	for try := 0; ; try++ {
		cmds := make([]*redis.Cmd, len(todo))
		_, err := q.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for j, i := range todo {
				cmds[j] = attemptScript.EvalSha(ctx, pl, batch[i].keys, batch[i].args...)
			}
			return nil
		})
		var lost []int
		for j, i := range todo {
			res[i].raw, res[i].err = cmds[j].Int64Slice()
			if res[i].err != nil && redis.HasErrorPrefix(res[i].err, "NOSCRIPT") {
				lost = append(lost, i)
			}
		}
		if len(lost) == 0 || try > 0 {
			return res
		}
		if err = attemptScript.Load(ctx, q.rdb).Err(); err != nil {
			for _, i := range lost {
				res[i].err = err
			}
			return res
		}
		todo = lost
	}
}
