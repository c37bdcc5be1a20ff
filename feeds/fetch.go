package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Fetcher downloads one URL at a time with a conditional GET, a timeout, a
// size limit and a bounded number of redirects. It goes through the
// *http.Client it was given, so the client's proxy, TLS settings and
// transport apply. A Fetcher is safe for concurrent use.
type Fetcher struct {
	client   http.Client // a copy, with CheckRedirect wrapped
	timeout  time.Duration
	maxBytes int64
	progress func(url string, read, total int64)
	ua       string
}

type fetcherConfig struct {
	timeout      time.Duration
	maxBytes     int64
	maxRedirects int
	progress     func(url string, read, total int64)
	ua           string
}

// FetcherOption configures NewFetcher.
type FetcherOption func(*fetcherConfig) error

// Fetcher defaults.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMaxBytes     = 32 << 20 // 32 MiB
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "warden-feeds/1 (+https://github.com/wardenkit/warden)"
)

// WithTimeout bounds each Fetch, body included (default DefaultTimeout). The
// client's own Timeout, if shorter, applies too.
func WithTimeout(d time.Duration) FetcherOption {
	return func(c *fetcherConfig) error {
		if d <= 0 {
			return errorf(ErrInvalidOption, "WithTimeout: %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithMaxBytes bounds a body, after any decompression the transport does
// (default DefaultMaxBytes). A longer body fails with ErrTooLarge.
func WithMaxBytes(n int64) FetcherOption {
	return func(c *fetcherConfig) error {
		if n <= 0 {
			return errorf(ErrInvalidOption, "WithMaxBytes: %d is not positive", n)
		}
		c.maxBytes = n
		return nil
	}
}

// WithMaxRedirects bounds the redirects one Fetch follows (default
// DefaultMaxRedirects; 0 follows none). A redirect from https to http is
// always refused.
func WithMaxRedirects(n int) FetcherOption {
	return func(c *fetcherConfig) error {
		if n < 0 {
			return errorf(ErrInvalidOption, "WithMaxRedirects: %d is negative", n)
		}
		c.maxRedirects = n
		return nil
	}
}

// WithProgress calls fn as a body arrives with the URL (without its
// password), the bytes read so far and the total, or -1 when the server did
// not say. fn runs on the goroutine that called Fetch and must return
// quickly.
func WithProgress(fn func(url string, read, total int64)) FetcherOption {
	return func(c *fetcherConfig) error {
		if fn == nil {
			return errorf(ErrInvalidOption, "WithProgress: nil function")
		}
		c.progress = fn
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default DefaultUserAgent).
func WithUserAgent(ua string) FetcherOption {
	return func(c *fetcherConfig) error {
		if ua == "" {
			return errorf(ErrInvalidOption, "WithUserAgent: empty")
		}
		c.ua = ua
		return nil
	}
}

// NewFetcher returns a Fetcher that uses client (nil means a client on
// http.DefaultTransport, which honours HTTP_PROXY and HTTPS_PROXY). The
// client is copied, not changed: its CheckRedirect, if any, still runs after
// the fetcher's own redirect checks.
func NewFetcher(client *http.Client, opts ...FetcherOption) (*Fetcher, error) {
	cfg := fetcherConfig{timeout: DefaultTimeout, maxBytes: DefaultMaxBytes, maxRedirects: DefaultMaxRedirects, ua: DefaultUserAgent}
	for i, o := range opts {
		if o == nil {
			return nil, errorf(ErrInvalidOption, "feeds: NewFetcher: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("feeds: NewFetcher: %w", err)
		}
	}
	f := &Fetcher{timeout: cfg.timeout, maxBytes: cfg.maxBytes, progress: cfg.progress, ua: cfg.ua}
	if client != nil {
		f.client = *client
	}
	next, max := f.client.CheckRedirect, cfg.maxRedirects
	f.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > max {
			return errorf(ErrRedirect, "more than %d redirects", max)
		}
		if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return errorf(ErrRedirect, "redirect from https to %s refused", req.URL.Scheme)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return f, nil
}

// Validators are what a server sent to identify a version of a body (the
// ETag and Last-Modified response headers); the next request sends them
// back (If-None-Match, If-Modified-Since) and an unchanged body costs a 304.
type Validators struct {
	ETag         string
	LastModified string
}

// IsZero reports whether there is nothing to send back.
func (v Validators) IsZero() bool { return v.ETag == "" && v.LastModified == "" }

// Response is the outcome of a Fetch.
type Response struct {
	// NotModified is true when the server answered 304 to the validators
	// given; Body is then nil and Validators are the ones given.
	NotModified bool
	Body        []byte
	ContentType string
	Validators  Validators
}

// Fetch GETs rawURL, sending prev as a conditional request when it is not
// zero. Any answer but 200, or 304 to a conditional request, is an error
// wrapping ErrHTTPStatus; the error body is not read. Errors name the URL
// without its password.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, prev Validators) (*Response, error) {
	return f.fetch(ctx, rawURL, redact(rawURL), prev, nil)
}

// fetch is Fetch naming the URL name in errors and progress, with prepare,
// when not nil, called on the request before it is sent (to add
// credentials).
func (f *Fetcher) fetch(ctx context.Context, rawURL, name string, prev Validators, prepare func(*http.Request)) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("feeds: GET %s: %w", name, err)
	}
	req.Header.Set("User-Agent", f.ua)
	if prepare != nil {
		prepare(req)
	}
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("feeds: GET %s: %w", name, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && !prev.IsZero():
		return &Response{NotModified: true, Validators: prev}, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &kindError{err: errorf(ErrHTTPStatus, "feeds: GET %s: HTTP status %d", name, resp.StatusCode), kind: ErrUnauthorized}
	case resp.StatusCode != http.StatusOK:
		return nil, errorf(ErrHTTPStatus, "feeds: GET %s: HTTP status %d", name, resp.StatusCode)
	}
	body, err := f.read(resp, name)
	if err != nil {
		return nil, fmt.Errorf("feeds: GET %s: %w", name, err)
	}
	return &Response{
		Body:        body,
		ContentType: resp.Header.Get("Content-Type"),
		Validators:  Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")},
	}, nil
}

// read reads the body, at most maxBytes of it.
func (f *Fetcher) read(resp *http.Response, name string) ([]byte, error) {
	total := resp.ContentLength
	if total > f.maxBytes {
		return nil, errorf(ErrTooLarge, "%d bytes announced, at most %d", total, f.maxBytes)
	}
	var r io.Reader = io.LimitReader(resp.Body, f.maxBytes+1)
	if f.progress != nil {
		r = &progressReader{r: r, fn: func(n int64) { f.progress(name, n, total) }}
	}
	buf := make([]byte, 0, min(max(total, 0)+1, f.maxBytes+1, 1<<20))
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > f.maxBytes {
			return nil, errorf(ErrTooLarge, "body longer than %d bytes", f.maxBytes)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the body after %d bytes: %w", len(buf), err)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

type progressReader struct {
	r    io.Reader
	read int64
	fn   func(read int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.read += int64(n)
		p.fn(p.read)
	}
	return n, err
}

// redact returns u without its password (or a placeholder when it does not
// parse), for errors, logs and reports.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL of " + strconv.Itoa(len(u)) + " bytes)"
	}
	return p.Redacted()
}
