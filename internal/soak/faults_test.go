package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The faults: a TCP proxy in front of PostgreSQL that can hold every byte
// (the replicas connect through it), and a Redis Cluster master paused
// with DEBUG SLEEP, then shut down and restarted with its own
// configuration (its nodes.conf gives it its slots back, empty: the
// cluster runs without persistence).

// pgProxy forwards connections to target; while paused it accepts and
// reads but forwards nothing, so queries wait as on a stalled network.
type pgProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	closed bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

func (p *pgProxy) addr() string { return p.ln.Addr().String() }

func (p *pgProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = in.Close()
			_ = out.Close()
			return
		}
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(out, in) })
		p.wg.Go(func() { p.pipe(in, out) })
	}
}

// pipe copies src to dst, holding each chunk while the proxy is paused.
func (p *pgProxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.paused && !p.closed {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *pgProxy) setPaused(v bool) {
	p.mu.Lock()
	p.paused = v
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pgProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}

// cluster reaches the masters of the Redis Cluster one by one.
type cluster struct {
	addrs []string
}

func (c *cluster) node(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 10 * time.Second, MaxRetries: -1})
}

// ownerOf returns the address of the master that holds key's slot.
func (c *cluster) ownerOf(ctx context.Context, key string) (string, error) {
	rdb := c.node(c.addrs[0])
	defer rdb.Close()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", err
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("no master holds slot %d of %q", slot, key)
}

// healthy reports whether every master answers with cluster_state:ok.
func (c *cluster) healthy(ctx context.Context) error {
	for _, a := range c.addrs {
		rdb := c.node(a)
		info, err := rdb.ClusterInfo(ctx).Result()
		rdb.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state is not ok", a)
		}
	}
	return nil
}

// waitHealthy waits up to limit for healthy.
func (c *cluster) waitHealthy(ctx context.Context, limit time.Duration) error {
	end := time.Now().Add(limit)
	for {
		err := c.healthy(ctx)
		if err == nil || time.Now().After(end) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pause makes the master at addr sleep for d (DEBUG SLEEP): it answers
// nothing meanwhile, nor does it leave the cluster.
func (c *cluster) pause(ctx context.Context, addr string, d time.Duration) error {
	rdb := c.node(addr)
	defer rdb.Close()
	return rdb.Do(ctx, "DEBUG", "SLEEP", fmt.Sprintf("%.1f", d.Seconds())).Err()
}

// startArgs reads the configuration the master at addr runs with, as the
// command line that starts it again.
func (c *cluster) startArgs(ctx context.Context, addr string) ([]string, error) {
	rdb := c.node(addr)
	defer rdb.Close()
	args := []string{"--cluster-enabled", "yes", "--daemonize", "yes"}
	for _, p := range []string{"port", "bind", "dir", "cluster-config-file", "logfile", "pidfile", "dbfilename",
		"cluster-node-timeout", "cluster-require-full-coverage", "enable-debug-command", "save", "appendonly"} {
		m, err := rdb.ConfigGet(ctx, p).Result()
		if err != nil {
			return nil, fmt.Errorf("CONFIG GET %s: %w", p, err)
		}
		v, ok := m[p]
		if !ok {
			return nil, fmt.Errorf("CONFIG GET %s: no value", p)
		}
		args = append(args, "--"+p, v)
	}
	return args, nil
}

// shutdown stops the master at addr without saving and waits until it no
// longer answers.
func (c *cluster) shutdown(ctx context.Context, addr string) error {
	rdb := c.node(addr)
	defer rdb.Close()
	if err := rdb.Do(ctx, "SHUTDOWN", "NOSAVE").Err(); err != nil && !isClosed(err) {
		return fmt.Errorf("SHUTDOWN NOSAVE: %w", err)
	}
	for range 100 {
		if rdb.Ping(ctx).Err() != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("still answering 10 s after SHUTDOWN NOSAVE")
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || strings.Contains(err.Error(), "closed") || strings.Contains(err.Error(), "reset")
}

// start starts redis-server with args and waits for it to answer.
func (c *cluster) start(ctx context.Context, addr string, args []string) error {
	if out, err := exec.CommandContext(ctx, "redis-server", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-server %s: %v: %s", strings.Join(args, " "), err, out)
	}
	rdb := c.node(addr)
	defer rdb.Close()
	for range 100 {
		if rdb.Ping(ctx).Err() == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s does not answer 10 s after its restart", addr)
}

// faultCycle runs one cycle of faults from start (40 s): the master at
// target paused 2 s at +2 s, shut down at +8 s and restarted at +18 s (10
// s down, less than the cluster's node timeout, so no one marks it failed);
// PostgreSQL paused from +24 s to +32 s. note records what happened when.
func (s *soak) faultCycle(ctx context.Context, start time.Time, target string) {
	at := func(off time.Duration) {
		select {
		case <-time.After(time.Until(start.Add(off))):
		case <-ctx.Done():
		}
	}
	at(2 * time.Second)
	s.note("Redis master %s: DEBUG SLEEP 2", target)
	go func() {
		if err := s.cluster.pause(ctx, target, 2*time.Second); err != nil {
			s.note("DEBUG SLEEP: %v", err)
		}
	}()
	at(8 * time.Second)
	args, err := s.cluster.startArgs(ctx, target)
	if err != nil {
		s.t.Errorf("reading the configuration of %s: %v", target, err)
		return
	}
	s.masterArgs = args
	s.note("Redis master %s: SHUTDOWN NOSAVE", target)
	s.masterDown.Store(true)
	if err := s.cluster.shutdown(ctx, target); err != nil {
		s.t.Errorf("stopping %s: %v", target, err)
	}
	at(18 * time.Second)
	s.restartMaster(ctx, target, args)
	at(24 * time.Second)
	s.note("PostgreSQL: proxy paused")
	s.proxy.setPaused(true)
	at(32 * time.Second)
	s.proxy.setPaused(false)
	s.note("PostgreSQL: proxy resumed")
	at(faultCycleLen)
	if ctx.Err() == nil {
		s.cyclesDone.Add(1)
	}
}

const faultCycleLen = 40 * time.Second

// restartMaster starts the master again and waits for the cluster to be
// healthy; the test's cleanup calls it too should the test end while the
// master is down.
func (s *soak) restartMaster(ctx context.Context, target string, args []string) {
	if !s.masterDown.Load() {
		return
	}
	if err := s.cluster.start(ctx, target, args); err != nil {
		s.t.Errorf("restarting %s: %v", target, err)
		return
	}
	s.masterDown.Store(false)
	t0 := time.Now()
	if err := s.cluster.waitHealthy(ctx, 30*time.Second); err != nil {
		s.t.Errorf("Redis Cluster after restarting %s: %v", target, err)
		return
	}
	s.note("Redis master %s: restarted; cluster_state ok %s later", target, time.Since(t0).Round(time.Millisecond))
}
