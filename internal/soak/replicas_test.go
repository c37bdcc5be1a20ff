package soak

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The replicas: processes of the gin example, their output kept line by
// line for the checks (panics, scheduler runs), their /metrics read.

// build compiles the packages (import paths) into dir and returns the
// binaries' paths, in order.
func build(t *testing.T, dir string, pkgs ...string) []string {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	var out []string
	for _, p := range pkgs {
		bin := filepath.Join(dir, filepath.Base(p))
		cmd := exec.Command("go", "build", "-o", bin, p)
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, b)
		}
		out = append(out, bin)
	}
	return out
}

// replica is one running process of the example.
type replica struct {
	n    int
	cmd  *exec.Cmd
	base string // http://host:port

	mu    sync.Mutex
	lines []string
	done  chan struct{} // closed when the output ends
}

// startReplica starts bin with args and env and waits for its
// "listening on http://…" line.
func startReplica(t *testing.T, n int, bin string, args, env []string) *replica {
	t.Helper()
	r := &replica{n: n, done: make(chan struct{})}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = append(os.Environ(), env...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = pw, pw // one pipe: the lines keep their order
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("replica %d: %v", n, err)
	}
	_ = pw.Close()
	addr := make(chan string, 1)
	go r.scan(pr, addr)
	t.Cleanup(func() { r.stop(10 * time.Second) })
	select {
	case a := <-addr:
		r.base = a
	case <-r.done:
		t.Fatalf("replica %d exited before listening:\n%s", n, r.tail(30))
	case <-time.After(60 * time.Second):
		t.Fatalf("replica %d: no 'listening on' line within 60 s:\n%s", n, r.tail(30))
	}
	return r
}

func (r *replica) scan(rd io.ReadCloser, addr chan<- string) {
	defer close(r.done)
	defer rd.Close()
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		r.mu.Lock()
		r.lines = append(r.lines, line)
		r.mu.Unlock()
		if i := strings.Index(line, "listening on http://"); i >= 0 && addr != nil {
			addr <- strings.TrimRight(line[i+len("listening on "):], `"`)
			addr = nil
		}
	}
}

// stop sends SIGTERM and waits up to limit for the process to exit (then
// kills it); it returns the process's exit error. Calling it again returns
// the first result.
func (r *replica) stop(limit time.Duration) error {
	if r.cmd.ProcessState != nil {
		if r.cmd.ProcessState.Success() {
			return nil
		}
		return fmt.Errorf("replica %d: %s", r.n, r.cmd.ProcessState)
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		<-r.done
		if err != nil {
			return fmt.Errorf("replica %d: %w", r.n, err)
		}
		return nil
	case <-time.After(limit):
		_ = r.cmd.Process.Kill()
		<-exited
		return fmt.Errorf("replica %d: still running %s after SIGTERM; killed", r.n, limit)
	}
}

// output returns a copy of the lines printed so far.
func (r *replica) output() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *replica) tail(n int) string {
	l := r.output()
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// grep returns the lines that contain any of the words.
func (r *replica) grep(words ...string) []string {
	var out []string
	for _, l := range r.output() {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// metrics reads the replica's /metrics: each series (name and labels as
// written) with its value.
func (r *replica) metrics(c *http.Client) (map[string]float64, error) {
	resp, err := c.Get(r.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("replica %d: GET /metrics: %s", r.n, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "warden_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// jobRun is one run of a scheduled job, from a replica's log.
type jobRun struct {
	replica int
	job     string
	at      time.Time
	outcome string // done, failed or panicked
}

var jobLine = regexp.MustCompile(`^time=(\S+) level=\w+ msg="scheduler: job (done|failed|panicked)" job=(\w+)`)

// jobRuns parses the scheduler's lines of the replica's log.
func (r *replica) jobRuns() []jobRun {
	var out []jobRun
	for _, l := range r.output() {
		m := jobLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		out = append(out, jobRun{replica: r.n, job: m[3], at: at, outcome: m[2]})
	}
	return out
}
