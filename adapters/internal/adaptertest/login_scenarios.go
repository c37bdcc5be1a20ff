package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenkit/warden/adapters/internal/loginguard"
	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// loginScenarios are the scenarios of RunLogin, by subtest name.
var loginScenarios = []struct {
	name string
	run  func(t *testing.T, mount LoginMount)
}{
	{"smoke_no_whitelist_locks_at_the_5th_failure", loginLocksAtTheFifthFailure},
	{"smoke_whitelisted_user_ip_block_never_locked", loginWhitelistedUserNeverLocked},
	{"smoke_whitelisted_ip_never_locked", loginWhitelistedIPNeverLocked},
	{"smoke_whitelisted_network_ipv6_never_locked", loginWhitelistedNetworkIPv6NeverLocked},
	{"smoke_whitelisted_user_of_other_name_is_locked", loginWhitelistedUserOfOtherNameIsLocked},
	{"whitelisted_user_ip_block_locked_by_default", loginWhitelistedUserLockedByDefault},
	{"locked_json", loginLockedJSON},
	{"retry_after_counts_down_until_the_lock_ends", loginRetryAfterCountsDown},
	{"permanent_lock_has_no_retry_after", loginPermanentLockHasNoRetryAfter},
	{"no_outcome_counts_as_failed_and_warns_once", loginNoOutcomeCountsAsFailed},
	{"outcome_from_status", loginOutcomeFromStatus},
	{"reported_outcome_wins_over_status", loginReportedOutcomeWinsOverStatus},
	{"inferred_success_cannot_apply_the_verdict", loginInferredSuccessCannotApplyVerdict},
	{"success_clears_the_username_not_the_address", loginSuccessClearsUsernameNotAddress},
	{"verdict_and_history", loginVerdictAndHistory},
	{"spoofed_forwarded_for_does_not_change_the_key", loginSpoofedForwardedFor},
	{"counter_down_fail_closed", loginCounterDownFailClosed},
	{"counter_down_fail_open", loginCounterDownFailOpen},
	{"second_outcome_is_an_error", loginSecondOutcomeIsAnError},
	{"no_guard", loginNoGuard},
	{"panic_counts_as_failed", loginPanicCountsAsFailed},
	{"concurrent_attempts_reach_the_handler_at_most_limit_times", loginConcurrentAttempts},
}

// RunLogin runs the LoginGuard scenarios against the application mount
// builds: the reference's 100-attempt smoke test (§5.7) with and without a
// whitelist, the 429 answer (text, JSON, Retry-After until the lock ends),
// outcomes the handler did not report, status-inferred outcomes, what a
// success clears, the client address under the trust model, the fail
// policy, and concurrent attempts. Each scenario is a subtest.
func RunLogin(t *testing.T, mount LoginMount) {
	t.Helper()
	for _, s := range loginScenarios {
		t.Run(s.name, func(t *testing.T) { s.run(t, mount) })
	}
}

// loginLocksAtTheFifthFailure is the reference's smoke test without a
// whitelist: 100 failures lock alice at this address at the 5th, and only
// here.
func loginLocksAtTheFifthFailure(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{})
	for i := 1; i <= 100; i++ {
		w := e.post("alice", "wrong")
		if i <= 5 {
			e.want(w, 401, msgInvalid, fmt.Sprintf("failure %d", i))
			continue
		}
		e.wantLocked(w, retryAfterFullLock, fmt.Sprintf("attempt %d", i))
	}
	e.wantLocked(e.post("alice", Password), retryAfterFullLock, "right password while locked")
	// The lock is on alice at this address; elsewhere she logs in.
	e.want(e.do(loginReq{user: "alice", pw: Password, remote: "198.51.100.1"}), 200, msgWelcome+"1", "other address")
	e.stats(core.LockoutStats{Attempts: 102, Refused: 96, Failed: 5, Succeeded: 1, Lockouts: 1})
	if e.warnings("level=WARN") != 0 {
		t.Fatalf("unexpected warnings: %s", e.log)
	}
}

// loginWhitelistedNeverLocked is the reference's smoke test with a
// whitelist: once setup has run, 100 failures of user from remote are never
// locked nor counted, and the right password logs in as id. opts go to the
// engine after the user lookup.
func loginWhitelistedNeverLocked(t *testing.T, mount LoginMount, user, remote, id string, setup func(e *loginEnv) error, opts ...core.Option) {
	e := newLoginEnv(t, mount, loginSetup{opts: append([]core.Option{userLookup}, opts...)})
	if err := setup(e); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		e.want(e.do(loginReq{user: user, pw: "wrong", remote: remote}), 401, msgInvalid, fmt.Sprintf("failure %d", i))
	}
	e.want(e.do(loginReq{user: user, pw: Password, remote: remote}), 200, msgWelcome+id, "right password after 100 failures")
	if n := e.counter.Len(); n != 0 {
		t.Fatalf("whitelisted failures recorded: %d counter keys", n)
	}
	e.stats(core.LockoutStats{Attempts: 101, Bypassed: 101, Failed: 100, Succeeded: 1})
}

// loginWhitelistedUserNeverLocked: boss (ID 42) has an ip_block exemption,
// and the engine opts into the reference's WhitelistBypass, under which any
// whitelisted user bypasses login protection.
func loginWhitelistedUserNeverLocked(t *testing.T, mount LoginMount) {
	loginWhitelistedNeverLocked(t, mount, "boss", "203.0.113.7", "42", whitelistBoss, bypassPolicy)
}

var bypassPolicy = core.WithWhitelistPolicy(core.WhitelistBypass)

// whitelistBoss gives boss (ID 42) an ip_block exemption.
func whitelistBoss(e *loginEnv) error {
	_, err := e.eng.Rules().WhitelistedUsers().Put(e.ctx(), rule.WhitelistedUser{UserID: "42", Exemption: rule.ExemptIPBlock})
	return err
}

// loginWhitelistedUserLockedByDefault checks the default WhitelistStandard:
// a user exemption other than "all" does not touch login protection, since
// the attacker types the username.
func loginWhitelistedUserLockedByDefault(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{userLookup}})
	if err := whitelistBoss(e); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		e.want(e.post("boss", "wrong"), 401, msgInvalid, "failure")
	}
	e.wantLocked(e.post("boss", Password), retryAfterFullLock, "ip_block exemption under WhitelistStandard")
	e.stats(core.LockoutStats{Attempts: 6, Refused: 1, Failed: 5, Lockouts: 1})
}

// loginWhitelistedIPNeverLocked: the client's address is whitelisted.
func loginWhitelistedIPNeverLocked(t *testing.T, mount LoginMount) {
	loginWhitelistedNeverLocked(t, mount, "alice", "203.0.113.7", "1", func(e *loginEnv) error {
		_, err := e.eng.Rules().WhitelistedIPs().Put(e.ctx(), rule.WhitelistedIP{Network: "203.0.113.7"})
		return err
	})
}

// loginWhitelistedNetworkIPv6NeverLocked: the client's IPv6 network is
// whitelisted.
func loginWhitelistedNetworkIPv6NeverLocked(t *testing.T, mount LoginMount) {
	loginWhitelistedNeverLocked(t, mount, "carol", "2001:db8::7", "7", func(e *loginEnv) error {
		_, err := e.eng.Rules().WhitelistedIPs().Put(e.ctx(), rule.WhitelistedIP{Network: "2001:db8::/32"})
		return err
	})
}

// loginWhitelistedUserOfOtherNameIsLocked checks that whitelisting one user
// does not spare another, even under WhitelistBypass.
func loginWhitelistedUserOfOtherNameIsLocked(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{userLookup, bypassPolicy}})
	if err := whitelistBoss(e); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure")
	}
	e.wantLocked(e.post("alice", Password), retryAfterFullLock, "alice is not whitelisted")
}

// loginLockedJSON checks the 429 answer in JSON, and in text when Accept
// prefers HTML.
func loginLockedJSON(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{})
	for range 5 {
		e.post("alice", "wrong")
	}
	w := e.do(loginReq{user: "alice", pw: "wrong", header: map[string]string{"Accept": "application/json"}})
	e.want(w, 429, `{"error":"Too many login attempts","status":429}`, "JSON")
	if got, want := w.Result().Header, lockedHeader("application/json", retryAfterFullLock); !equalHeader(got, want) {
		t.Fatalf("headers\n got %v\nwant %v", got, want)
	}
	w = e.do(loginReq{user: "alice", pw: "wrong", header: map[string]string{"Accept": "text/html,application/json"}})
	e.wantLocked(w, retryAfterFullLock, "HTML first")
}

// loginRetryAfterCountsDown checks that Retry-After counts down (rounded up)
// until the lock ends, and that refusals do not extend it.
func loginRetryAfterCountsDown(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{})
	for range 5 {
		e.post("alice", "wrong")
	}
	e.wantLocked(e.post("alice", "wrong"), "900", "at once")
	e.clock.Add(10 * time.Minute)
	e.wantLocked(e.post("alice", Password), "300", "after 10 minutes") // refusals do not extend the lock
	e.clock.Add(4*time.Minute + 59*time.Second + 500*time.Millisecond)
	e.wantLocked(e.post("alice", Password), "1", "half a second before the end") // rounded up
	e.clock.Add(500 * time.Millisecond)
	e.want(e.post("alice", Password), 200, msgWelcome+"1", "after the cool-off")
}

// loginPermanentLockHasNoRetryAfter checks that a lock without cool-off has
// no Retry-After and ends with Unlock.
func loginPermanentLockHasNoRetryAfter(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{})
	e.settings(func(s *core.Settings) { s.LockoutCooloffMinutes = 0; s.MaxLoginAttempts = 3 })
	for range 3 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure")
	}
	e.clock.Add(48 * time.Hour)
	e.wantLocked(e.post("alice", Password), "", "two days later")
	if _, err := e.lo.Unlock(e.ctx(), core.UnlockRequest{Username: "alice", IP: "203.0.113.7"}); err != nil {
		t.Fatal(err)
	}
	e.want(e.post("alice", Password), 200, msgWelcome+"1", "after Unlock")
}

// loginNoOutcomeCountsAsFailed checks that unreported attempts count as
// failed and log one warning.
func loginNoOutcomeCountsAsFailed(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{handle: silentLogin})
	for range 4 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "silent failure")
	}
	e.want(e.post("alice", Password), 200, "welcome", "silent success") // still a failure: the 5th
	e.wantLocked(e.post("alice", Password), retryAfterFullLock, "after 5 unreported attempts")
	e.stats(core.LockoutStats{Attempts: 6, Refused: 1, Failed: 5, Lockouts: 1})
	if n := e.warnings(noOutcomeWarning); n != 1 || e.warnings("level=WARN") != 1 {
		t.Fatalf("%d warnings about the missing outcome, want 1:\n%s", n, e.log)
	}
	if !strings.Contains(e.log.String(), "path=/login") || !strings.Contains(e.log.String(), "LoginFailed or LoginSucceeded") {
		t.Fatalf("warning lacks the path or the advice: %s", e.log)
	}
}

// loginOutcomeFromStatus checks WithOutcomeFromStatus: a 200 is a success
// that clears the username's failures, and nothing is logged.
func loginOutcomeFromStatus(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{handle: silentLogin, fromStatus: func(code int) bool { return code == http.StatusOK }})
	for range 4 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure")
	}
	e.want(e.post("alice", Password), 200, "welcome", "success") // clears alice's failures
	for range 5 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure after the success")
	}
	e.wantLocked(e.post("alice", Password), retryAfterFullLock, "5 failures after the success")
	e.stats(core.LockoutStats{Attempts: 11, Refused: 1, Failed: 9, Succeeded: 1, Lockouts: 1})
	if e.log.String() != "" {
		t.Fatalf("warnings with WithOutcomeFromStatus: %s", e.log)
	}
}

// loginReportedOutcomeWinsOverStatus checks that LoginFailed wins over a
// status the mapping calls a success.
func loginReportedOutcomeWinsOverStatus(t *testing.T, mount LoginMount) {
	// The handler reports a failure but answers 200, which the mapping
	// calls a success.
	handle := func(w http.ResponseWriter, _ *http.Request, rep Report) {
		if err := rep.Failed(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write([]byte("form again"))
	}
	e := newLoginEnv(t, mount, loginSetup{handle: handle, fromStatus: func(code int) bool { return code == http.StatusOK }})
	for range 5 {
		e.want(e.post("alice", "wrong"), 200, "form again", "reported failure")
	}
	e.wantLocked(e.post("alice", "wrong"), retryAfterFullLock, "after 5 reported failures")
}

// loginInferredSuccessCannotApplyVerdict checks the warning about a verdict
// an inferred success could not apply.
func loginInferredSuccessCannotApplyVerdict(t *testing.T, mount LoginMount) {
	hook := core.WithLoginHook(func(context.Context, core.LoginInfo) (core.LoginVerdict, error) {
		return core.LoginRefuse, nil
	})
	e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{hook}, handle: silentLogin, fromStatus: func(code int) bool { return code == 200 }})
	e.want(e.post("alice", Password), 200, "welcome", "inferred success")
	if e.warnings(notAppliedWarning) != 1 || e.warnings("verdict=refuse") != 1 {
		t.Fatalf("no warning about the verdict: %s", e.log)
	}
}

// loginSuccessClearsUsernameNotAddress checks that a success clears the
// username's failures but not the address's (limit 10 × 5 against spraying).
func loginSuccessClearsUsernameNotAddress(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{})
	// Username and address: 4 failures, a success, 4 failures: no lock.
	for range 4 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure before the success")
	}
	e.want(e.post("alice", Password), 200, msgWelcome+"1", "success")
	for range 4 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "failure after the success")
	}
	e.want(e.post("alice", "wrong"), 401, msgInvalid, "5th failure since the success")
	e.wantLocked(e.post("alice", Password), retryAfterFullLock, "locked")

	// The address alone (limit 10 × 5): spraying 49 usernames, then a
	// valid login, then one more failure locks the address for everyone.
	spray := loginReq{pw: "wrong", remote: "198.51.100.9"}
	for i := range 49 {
		spray.user = fmt.Sprintf("user%02d", i)
		e.want(e.do(spray), 401, msgInvalid, "spray "+spray.user)
	}
	e.want(e.do(loginReq{user: "carol", pw: Password, remote: "198.51.100.9"}), 200, msgWelcome+"7", "valid login amid the spray")
	spray.user = "user49"
	e.want(e.do(spray), 401, msgInvalid, "50th failure of the address")
	e.wantLocked(e.do(loginReq{user: "carol", pw: Password, remote: "198.51.100.9"}), retryAfterFullLock, "address locked")
	e.want(e.do(loginReq{user: "carol", pw: Password, remote: "198.51.100.10"}), 200, msgWelcome+"7", "other address")
}

// loginVerdictAndHistory checks that the LoginMonitor's verdict reaches the
// handler and the login history records the session.
func loginVerdictAndHistory(t *testing.T, mount LoginMount) {
	hook := core.WithLoginHook(func(_ context.Context, info core.LoginInfo) (core.LoginVerdict, error) {
		switch info.UserID {
		case "42":
			return core.LoginRequireSecondFactor, nil
		case "7":
			return core.LoginAllow, errors.New("hook broke")
		}
		return core.LoginAllow, nil
	})
	// A login waits for its history row at most WithLoginHistoryWait (300 ms
	// by default) and then leaves it to the writer; a long wait makes the
	// row certain to be stored when the login returns, however busy the
	// machine (the store here always answers).
	wait := core.WithLoginHistoryWait(10 * time.Second)
	e := newLoginEnv(t, mount, loginSetup{opts: []core.Option{hook, wait}})
	e.want(e.post("alice", Password), 200, msgWelcome+"1", "allowed")
	e.want(e.post("boss", Password), 202, msgSecond, "second factor")
	e.want(e.post("carol", Password), 403, msgRefused, "hook error refuses")
	recs, err := e.store.Logins(e.ctx(), core.LoginQuery{UserID: "1"})
	if err != nil || len(recs) != 1 || recs[0].SessionKey != "sess-1" || recs[0].IP != "203.0.113.7" || recs[0].UserAgent != UserAgent {
		t.Fatalf("login history = %+v, %v", recs, err)
	}
}

// loginSpoofedForwardedFor checks that forwarding headers count only from a
// trusted proxy.
func loginSpoofedForwardedFor(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{opts: behindProxy})
	for i := range 5 {
		q := loginReq{user: "alice", pw: "wrong", header: map[string]string{"X-Forwarded-For": fmt.Sprintf("192.0.2.%d", i+1)}}
		e.want(e.do(q), 401, msgInvalid, "failure with a spoofed header")
	}
	e.wantLocked(e.do(loginReq{user: "alice", pw: Password, header: map[string]string{"X-Forwarded-For": "192.0.2.99"}}),
		retryAfterFullLock, "new spoofed address")
	// From a trusted proxy the forwarded address is the client.
	viaProxy := func(client, pw string) *httptest.ResponseRecorder {
		return e.do(loginReq{user: "alice", pw: pw, remote: "10.0.0.1", header: map[string]string{"X-Forwarded-For": client}})
	}
	for range 5 {
		e.want(viaProxy("198.51.100.1", "wrong"), 401, msgInvalid, "failure via the proxy")
	}
	e.wantLocked(viaProxy("198.51.100.1", Password), retryAfterFullLock, "client behind the proxy locked")
	e.want(viaProxy("198.51.100.2", Password), 200, msgWelcome+"1", "other client behind the proxy")
}

// loginCounterDownFailClosed checks the 503 answer, with the safety headers,
// when the counter fails and the fail policy is closed.
func loginCounterDownFailClosed(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{counter: downCounter{}})
	w := e.post("alice", Password)
	e.want(w, 503, "Service unavailable", "counter down")
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("503 without the safety headers: %v", w.Header())
	}
}

// loginCounterDownFailOpen checks that a failed counter lets attempts through
// under FailOpen.
func loginCounterDownFailOpen(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{counter: downCounter{}, opts: []core.Option{core.WithLockoutFailPolicy(core.FailOpen)}})
	for range 10 {
		e.want(e.post("alice", "wrong"), 401, msgInvalid, "unguarded failure")
	}
	e.want(e.post("alice", Password), 200, msgWelcome+"1", "unguarded success")
}

// loginSecondOutcomeIsAnError checks that only the first outcome counts and
// later ones wrap core.ErrTicketUsed.
func loginSecondOutcomeIsAnError(t *testing.T, mount LoginMount) {
	handle := func(w http.ResponseWriter, _ *http.Request, rep Report) {
		first := rep.Failed()
		second := rep.Failed()
		_, err := rep.Succeeded("1", "")
		fmt.Fprintf(w, "%v %t %t", first, errors.Is(second, core.ErrTicketUsed), errors.Is(err, core.ErrTicketUsed))
	}
	e := newLoginEnv(t, mount, loginSetup{handle: handle})
	e.want(e.post("alice", Password), 200, "<nil> true true", "outcomes")
	e.stats(core.LockoutStats{Attempts: 1, Failed: 1})
}

// loginNoGuard checks LoginFailed and LoginSucceeded on a route without a
// guard.
func loginNoGuard(t *testing.T, mount LoginMount) {
	handle := func(w http.ResponseWriter, _ *http.Request, rep Report) {
		errF := rep.Failed()
		v, errS := rep.Succeeded("1", "")
		fmt.Fprintf(w, "%t %t %v", errors.Is(errF, loginguard.ErrNoGuard), errors.Is(errS, loginguard.ErrNoGuard), v)
	}
	e := newLoginEnv(t, mount, loginSetup{handle: handle})
	e.want(e.do(loginReq{target: "/unguarded", user: "alice", pw: Password}), 200, "true true refuse", "unguarded route")
}

// loginPanicCountsAsFailed checks that a panicking handler's attempt counts
// as failed, the panic goes on, and nothing is logged.
func loginPanicCountsAsFailed(t *testing.T, mount LoginMount) {
	handle := func(http.ResponseWriter, *http.Request, Report) { panic("boom") }
	e := newLoginEnv(t, mount, loginSetup{handle: handle})
	for range 5 {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic did not reach the caller")
				}
			}()
			e.post("alice", Password)
		}()
	}
	e.stats(core.LockoutStats{Attempts: 5, Failed: 5, Lockouts: 1})
	if e.log.String() != "" {
		t.Fatalf("a panic logged: %s", e.log)
	}
}

// loginConcurrentAttempts checks that 40 concurrent attempts reach the
// handler at most the limit's 5 times.
func loginConcurrentAttempts(t *testing.T, mount LoginMount) {
	e := newLoginEnv(t, mount, loginSetup{})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			w := e.post("alice", "wrong")
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[401] != 5 || codes[429] != 35 || len(codes) != 2 {
		t.Fatalf("answers %v; want 5 × 401 and 35 × 429", codes)
	}
}
