package ratelimit_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/wardenkit/warden/core/ratelimit"
)

// A GCRA counter whose TAT has passed is the same as no counter, so a full
// Memory drops those before it refuses a new key: "full" means that many
// keys are in debt at once. These tests fill a Memory to its cap, move the
// clock, and check who gets in.

// floodKey is the i-th key of a flood of distinct clients of one rule.
func floodKey(rule int64, i int, l ratelimit.Limit) ratelimit.Key {
	return ratelimit.Key{Rule: rule, IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Limit: l}
}

// model is the expected state of each key, kept with the pure GCRA.
type model map[ratelimit.Key]int64

// allow sends one request for k through m and checks its Result against the
// model, which it updates.
func (md model) allow(t *testing.T, m *ratelimit.Memory, now time.Time, keys ...ratelimit.Key) error {
	t.Helper()
	rs, err := m.Allow(now, keys, nil)
	if err != nil {
		return err
	}
	next := map[ratelimit.Key]int64{}
	allowed := true
	for i, k := range keys {
		tat, ok := next[k]
		if !ok {
			tat = md[k]
		}
		newTAT, want := ratelimit.GCRA(tat, now.UnixNano(), k.Limit)
		if rs[i].Allowed != want.Allowed || (want.Allowed && (rs[i].Remaining != want.Remaining || rs[i].ResetAfter != want.ResetAfter)) ||
			(!want.Allowed && rs[i].RetryAfter != want.RetryAfter) {
			t.Fatalf("key %v (rule %d): %+v, want %+v", k.IP, k.Rule, rs[i], want)
		}
		next[k] = newTAT
		allowed = allowed && want.Allowed
	}
	if allowed {
		for k, tat := range next {
			md[k] = tat
		}
	}
	return nil
}

func wantFull(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, ratelimit.ErrFull) {
		t.Fatalf("%s: err %v, want ErrFull", what, err)
	}
}

// The cap filled by a flood that then went idle: every new key is admitted,
// in place of an idle one, and counted exactly; once the cap holds only keys
// in debt, the next one is refused.
func TestFullOfIdleKeysAdmitsNewKeys(t *testing.T) {
	const maxKeys = 256
	clk := &fixedClock{}
	clk.t.Store(t0)
	m := newMemory(t, ratelimit.WithShards(1), ratelimit.WithMaxKeys(maxKeys), ratelimit.WithClock(clk))
	l := mustParse(t, "3/m") // one every 20 s, 3 at once
	md := model{}
	for i := range maxKeys {
		if err := md.allow(t, m, clk.Now(), floodKey(1, i, l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := md.allow(t, m, clk.Now(), floodKey(1, maxKeys, l)); err == nil {
		t.Fatal("the flood went past the cap")
	}
	clk.t.Add(int64(20 * time.Second)) // every TAT has passed (TAT == now is idle)

	for i := range maxKeys {
		k := floodKey(2, i, l)
		for range 4 { // 3 allowed, the 4th denied: counted as a new client
			if err := md.allow(t, m, clk.Now(), k); err != nil {
				t.Fatalf("new key %d with the cap full of idle keys: %v", i, err)
			}
		}
	}
	if st := m.Stats(); st.Keys != maxKeys || st.Swept != maxKeys || st.Overflows != 1 {
		t.Fatalf("Stats %+v; want %d keys, %d swept, 1 overflow", st, maxKeys, maxKeys)
	}
	// Now every counter is in debt: the cap is really full.
	_, err := m.Allow(clk.Now(), []ratelimit.Key{floodKey(1, 0, l)}, nil)
	wantFull(t, err, "a returning idle client with the cap full of keys in debt")
}

// The cap full of keys in debt: new keys are refused, one by one or with a
// stored key, and every key in debt keeps its state to the nanosecond.
func TestFullOfKeysInDebtRefusesNewKeys(t *testing.T) {
	const maxKeys = 64
	clk := &fixedClock{}
	clk.t.Store(t0)
	m := newMemory(t, ratelimit.WithShards(1), ratelimit.WithMaxKeys(maxKeys), ratelimit.WithClock(clk))
	l := mustParse(t, "5/m") // one every 12 s, 5 at once
	md := model{}
	var live []ratelimit.Key
	for i := range maxKeys {
		k := floodKey(1, i, l)
		live = append(live, k)
		for range i%5 + 1 {
			if err := md.allow(t, m, clk.Now(), k); err != nil {
				t.Fatal(err)
			}
		}
	}
	clk.t.Add(int64(12*time.Second) - 1) // the least used key is 1 ns from idle
	for i := range 1000 {
		_, err := m.Allow(clk.Now(), []ratelimit.Key{floodKey(2, i, l)}, nil)
		wantFull(t, err, "new key")
	}
	_, err := m.Allow(clk.Now(), []ratelimit.Key{live[3], floodKey(3, 0, l)}, nil)
	wantFull(t, err, "a stored key with a new one")
	if st := m.Stats(); st.Keys != maxKeys || st.Swept != 0 || st.Overflows != 1001 {
		t.Fatalf("Stats %+v; want %d keys, none swept, 1001 overflows", st, maxKeys)
	}
	for _, k := range live { // the model still knows each TAT: none was reset
		if err := md.allow(t, m, clk.Now(), k); err != nil {
			t.Fatal(err)
		}
	}
}

// Half the keys renewed before the other half went idle: only the idle half
// makes room, whether a request brings one new key or two, and the renewed
// keys (filed for eviction at their first TAT) keep their state.
func TestFullEvictsOnlyIdleKeys(t *testing.T) {
	for _, perRequest := range []int{1, 2} {
		t.Run(map[int]string{1: "one_new_key_per_request", 2: "two_new_keys_per_request"}[perRequest], func(t *testing.T) {
			const maxKeys = 100
			m := newMemory(t, ratelimit.WithShards(1), ratelimit.WithMaxKeys(maxKeys))
			l := mustParse(t, "2/s") // one every 500 ms, 2 at once
			md := model{}
			for i := range maxKeys {
				if err := md.allow(t, m, now0, floodKey(1, i, l)); err != nil { // TAT +500 ms
					t.Fatal(err)
				}
			}
			for i := 0; i < maxKeys; i += 2 {
				if err := md.allow(t, m, now0.Add(400*time.Millisecond), floodKey(1, i, l)); err != nil { // TAT +1 s
					t.Fatal(err)
				}
			}
			now := now0.Add(600 * time.Millisecond) // odd keys idle, even keys in debt
			admitted := 0
			for i := 0; ; i += perRequest {
				keys := []ratelimit.Key{floodKey(2, i, l), floodKey(2, i+1, l)}[:perRequest]
				if err := md.allow(t, m, now, keys...); err != nil {
					wantFull(t, err, "new keys")
					break
				}
				admitted += perRequest
			}
			if admitted != maxKeys/2 {
				t.Fatalf("%d new keys admitted, want %d (one per idle key)", admitted, maxKeys/2)
			}
			if st := m.Stats(); st.Keys != maxKeys || st.Swept != maxKeys/2 || st.Overflows != 1 {
				t.Fatalf("Stats %+v", st)
			}
			for i := 0; i < maxKeys; i += 2 {
				if err := md.allow(t, m, now, floodKey(1, i, l)); err != nil {
					t.Fatalf("renewed key %d: %v", i, err)
				}
			}
		})
	}
}
