package soak

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// Rule rounds: a block of a fresh address written through the writer (or,
// one round in three, the warden command), then deleted; after each write,
// every replica is asked every 20 ms until it enforces the change.

// round is one block and unblock, with how long each replica took to
// enforce each after the write returned (-1: not within awaitLimit).
type round struct {
	ph               phase
	via              string // writer or cli
	ip               string
	block, unblock   [replicas]time.Duration
	blockErr, delErr error
}

const awaitLimit = 30 * time.Second

// slowest is the longest of the replicas' times (-1 when one never did).
func slowest(ds [replicas]time.Duration) time.Duration {
	if slices.Contains(ds[:], -1) {
		return -1
	}
	return slices.Max(ds[:])
}

// roundsUntil runs rounds 2 s apart until ctx ends.
func (s *soak) roundsUntil(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		via := "writer"
		if i%3 == 2 {
			via = "cli"
		}
		r := s.round(ctx, via)
		if ctx.Err() != nil && r.unblock == [replicas]time.Duration{} {
			return // cut short by the end of the run
		}
		s.mu.Lock()
		s.rounds = append(s.rounds, r)
		s.mu.Unlock()
		sleepUntil(ctx, time.Now().Add(2*time.Second))
	}
}

func (s *soak) round(ctx context.Context, via string) round {
	r := round{ph: s.rec.phase(), via: via, ip: s.ips.public()}
	key, err := s.block(ctx, via, r.ip)
	if err != nil {
		r.blockErr = err
		return r
	}
	r.block = s.await(ctx, r.ip, http.StatusForbidden)
	if r.delErr = s.unblock(ctx, via, key); r.delErr == nil {
		r.unblock = s.await(ctx, r.ip, http.StatusNotFound)
	}
	return r
}

func (s *soak) block(ctx context.Context, via, ip string) (string, error) {
	if via == "cli" {
		out, err := s.warden(ctx, "block", "ip", ip, "--reason", "soak")
		if err != nil {
			return "", fmt.Errorf("warden block ip: %v: %s", err, out)
		}
		return ip, nil
	}
	b, err := s.writer.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: ip, Reason: "soak"})
	return b.Key(), err
}

func (s *soak) unblock(ctx context.Context, via, key string) error {
	if via == "cli" {
		if out, err := s.warden(ctx, "unblock", "ip", key); err != nil {
			return fmt.Errorf("warden unblock ip: %v: %s", err, out)
		}
		return nil
	}
	return s.writer.Rules().BlockedIPs().Delete(ctx, key)
}

// await asks every replica for /probe from ip until it answers want, and
// returns how long each took from now.
func (s *soak) await(ctx context.Context, ip string, want int) [replicas]time.Duration {
	var out [replicas]time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			out[i] = -1
			for time.Since(start) < awaitLimit && ctx.Err() == nil {
				if s.cl.do(i, probe, http.MethodGet, "/probe", ip, normalAgent, nil) == want {
					out[i] = time.Since(start)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return out
}
