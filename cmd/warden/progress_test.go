package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressQuietLine(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &progress{w: &buf, now: func() time.Time { return now }}
	p.update("https://user:pw@lists.example/a.txt?token=secret", 1024, 4096)
	now = now.Add(time.Second)
	p.update("https://user:pw@lists.example/a.txt?token=secret", 4096, 4096)
	p.update("https://lists.example/b.txt", 10, -1) // ends the first
	now = now.Add(2 * time.Second)
	p.done()
	p.done() // nothing in flight: nothing printed
	want := "downloaded https://lists.example/a.txt: 4.0 KiB in 1s (4.0 KiB/s)\n" +
		"downloaded https://lists.example/b.txt: 10 B in 2s (5 B/s)\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// On a terminal the bar shows the bytes so far, the total and a rate.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, now: time.Now}
	p.update("MaxMind GeoLite2-Country", 3<<20, 6<<20)
	p.update("MaxMind GeoLite2-Country", 6<<20, 6<<20)
	p.done()
	out := buf.String()
	for _, want := range []string{"MaxMind GeoLite2-Country", "100%", "6.0/6.0 MiB", "B/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("the bar does not end its line: %q", out)
	}
}

// Nothing at all with --json off a terminal.
func TestProgressSilentForJSON(t *testing.T) {
	var out, errb bytes.Buffer
	p := newProgress(newApp(&out, &errb), true)
	p.update("https://lists.example/a.txt", 10, 10)
	p.done()
	if out.Len()+errb.Len() != 0 {
		t.Errorf("printed %q %q", out.String(), errb.String())
	}
}
