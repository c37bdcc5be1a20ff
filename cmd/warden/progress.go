package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows downloads: a bar with bytes and rate on stderr when stdout
// and stderr are terminals, otherwise one line per download on stdout once
// it ends (none with --json, whose output is the result alone). Errors stay
// alone on stderr, so cron's ">/dev/null" mails failures only. Its update
// method has the shape of feeds.WithProgress. It is not safe for concurrent
// use (the feeds call it from the downloading goroutine).
type progress struct {
	w     io.Writer // nil: show nothing
	tty   bool
	now   func() time.Time
	name  string // the download in flight, "" when none
	start time.Time
	read  int64
	bar   *progressbar.ProgressBar
}

func newProgress(a *app, asJSON bool) *progress {
	p := &progress{now: time.Now}
	switch {
	case isTerminal(a.stdout) && isTerminal(a.stderr):
		p.w, p.tty = a.stderr, true
	case !asJSON:
		p.w = a.stdout
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update records that read of total bytes (-1: unknown) of rawURL have
// arrived; a new URL ends the previous download's display.
func (p *progress) update(rawURL string, read, total int64) {
	if p.w == nil {
		return
	}
	if name := shortURL(rawURL); name != p.name {
		p.done()
		p.name, p.start = name, p.now()
		if p.tty {
			p.bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(name),
				progressbar.OptionShowBytes(true), // bytes and rate
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(20),
				progressbar.OptionThrottle(65*time.Millisecond),
				progressbar.OptionSpinnerType(14),
				progressbar.OptionUseIECUnits(true),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
			)
		}
	}
	p.read = read
	if p.bar != nil {
		_ = p.bar.Set64(read)
	}
}

// done ends the display of the download in flight, if any: the bar stays
// as it is, or the quiet line is printed.
func (p *progress) done() {
	if p.name == "" {
		return
	}
	if p.bar != nil {
		if !p.bar.IsFinished() {
			_ = p.bar.Exit()
		}
		p.bar = nil
	} else {
		d := p.now().Sub(p.start)
		rate := ""
		if s := d.Seconds(); s > 0 {
			rate = fmt.Sprintf(" (%s/s)", bytesIEC(int64(float64(p.read)/s)))
		}
		took := d.Round(time.Millisecond)
		if took == 0 {
			took = d.Round(time.Microsecond)
		}
		fmt.Fprintf(p.w, "downloaded %s: %s in %s%s\n", p.name, bytesIEC(p.read), took, rate)
	}
	p.name = ""
}

// shortURL is rawURL without password, query or fragment (a query may hold
// a key); a name that is not a URL is kept.
func shortURL(rawURL string) string {
	if !strings.Contains(rawURL, "://") {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(a URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// bytesIEC is n in B, KiB, MiB or GiB.
func bytesIEC(n int64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
}
