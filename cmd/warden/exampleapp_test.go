package main

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cross-process unlock, end to end: the example app (built and run as
// its own process on a SQLite file, in-process login counters, no Redis)
// locks the demo account after five wrong passwords; `warden unlock user
// demo` on the same file releases it, and the app lets the right password in
// again within its version poll.
func TestUnlockReleasesTheExampleAppsLock(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example app")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gin-example")
	build := exec.Command("go", "build", "-o", bin, "./examples/gin")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/gin: %v\n%s", err, out)
	}
	dsn := "sqlite:file:" + filepath.Join(dir, "warden.db")
	base := startExample(t, bin, "-addr", "127.0.0.1:0", "-redis", "", "-dsn", dsn, "-demo-password", "right", "-poll", "200ms")

	login := func(password string) int {
		t.Helper()
		res, err := http.PostForm(base+"/login", url.Values{"username": {"demo"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for range 5 {
		if code := login("wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d, want 401", code)
		}
	}
	if code := login("right"); code != http.StatusTooManyRequests {
		t.Fatalf("after five failures: %d, want 429", code)
	}
	deadline := time.Now().Add(5 * time.Second) // the app stores its lockout record in the background
	for !strings.Contains(must(t, dsn, "locked"), "demo") {
		if time.Now().After(deadline) {
			t.Fatal("warden locked never listed demo")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := must(t, dsn, "unlock", "user", "demo"); !strings.Contains(out, "released") {
		t.Fatalf("unlock: %s", out)
	}
	start := time.Now()
	for login("right") != http.StatusOK {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("demo still locked %v after the command's unlock", time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the app let demo in %v after the unlock", time.Since(start).Round(time.Millisecond))
}

// startExample runs the example binary and returns its base URL; it is
// stopped with SIGINT when the test ends and must exit 0.
func startExample(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on http://([^\s"]+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Errorf("the example app did not exit cleanly: %v", err)
		}
		cancel()
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the example app is not listening after 30 s")
	}
	return ""
}
