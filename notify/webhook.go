package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core"
)

// Headers of a webhook request.
const (
	HeaderSignature = "X-Warden-Signature" // "sha256=" + hex HMAC-SHA256 of the body, with WithSecret
	HeaderTimestamp = "X-Warden-Timestamp" // Unix seconds when the attempt was made (the body's sent_at)
	HeaderDelivery  = "X-Warden-Delivery"  // the body's id, the same on every retry
	HeaderKind      = "X-Warden-Kind"      // the message's Kind
)

// Webhook posts each message as JSON to one URL. A Webhook is safe for
// concurrent use.
//
// The body is one object:
//
//	{"id":"…","kind":"auto_block","subject":"…","text":"…",
//	 "time":"2026-01-02T15:04:05Z","sent_at":"2026-01-02T15:04:06Z","data":{…}}
//
// id is random and the same on every retry of one message (deduplicate on
// it); sent_at is when this attempt was made, so a receiver that checks the
// signature can also refuse a body older than a few minutes (a replay).
// A 2xx answer is delivery. A network error, a timeout, 408, 429 and 5xx
// are retried (Retry-After is honoured, bounded by the longest backoff);
// any other answer, a redirect included, is a refusal and is not retried.
type Webhook struct {
	url     string
	shown   string // scheme://host and "/…": the path and query may hold a token
	client  http.Client
	secret  []byte
	timeout time.Duration
	clock   core.Clock
	retrier
}

// NewWebhook returns a Webhook posting to rawURL, an http or https URL.
// Options: WithSecret, WithTimeout, WithRetries, WithBackoff, WithSleep,
// WithHTTPClient, WithClock, WithLogger. Over plain http anyone on the path
// can read the messages; the signature only proves who sent them.
func NewWebhook(rawURL string, opts ...Option) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errorf(ErrInvalidOption, "notify: NewWebhook: URL %q: not an http or https URL", redactURL(rawURL))
	}
	cfg := newConfig(forWebhook, DefaultWebhookTimeout)
	if err := cfg.apply("NewWebhook", opts); err != nil {
		return nil, err
	}
	w := &Webhook{url: rawURL, shown: displayURL(u), timeout: cfg.timeout, clock: cfg.clock, retrier: newRetrier("webhook", &cfg)}
	if cfg.client != nil {
		w.client = *cfg.client
	}
	w.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.secret != "" {
		w.secret = []byte(cfg.secret)
	}
	return w, nil
}

var _ Notifier = (*Webhook)(nil)

// Stats counts the messages sent, retried and dropped.
func (w *Webhook) Stats() DeliveryStats { return w.stats() }

type webhookBody struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Subject string          `json:"subject"`
	Text    string          `json:"text"`
	Time    time.Time       `json:"time"`
	SentAt  time.Time       `json:"sent_at"`
	Data    json.RawMessage `json:"data"`
}

// Notify posts m, retrying as the type's comment says. The error names the
// URL as scheme://host/… and never holds the secret.
func (w *Webhook) Notify(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		w.failed.Add(1)
		return err
	}
	data, err := json.Marshal(m.Data)
	if err != nil {
		w.failed.Add(1)
		return errorf(ErrInvalidMessage, "notify: webhook: Message.Data: %v", err)
	}
	if m.Time.IsZero() {
		m.Time = w.clock.Now()
	}
	b := webhookBody{ID: rand.Text(), Kind: m.Kind, Subject: m.Subject, Text: m.Text, Time: m.Time.UTC(), Data: data}
	return w.run(ctx, "POST "+w.shown, func(ctx context.Context) *attemptError { return w.attempt(ctx, &b) })
}

// attempt makes one POST of b.
func (w *Webhook) attempt(ctx context.Context, b *webhookBody) *attemptError {
	now := w.clock.Now()
	b.SentAt = now.UTC()
	body, err := json.Marshal(b)
	if err != nil { // cannot happen: Data is already JSON
		return &attemptError{err: err, permanent: true}
	}
	actx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{err: errors.New("cannot build the request"), permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "warden-notify/1")
	req.Header.Set(HeaderKind, b.Kind)
	req.Header.Set(HeaderDelivery, b.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if w.secret != nil {
		req.Header.Set(HeaderSignature, sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return &attemptError{err: w.transportError(ctx, actx, err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return statusError(resp, now)
}

// transportError strips the URL that *url.Error carries (its path may hold
// a token) and names a per-attempt timeout.
func (w *Webhook) transportError(ctx, actx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v", w.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusError judges an answer: nil for 2xx, retryable for 408, 429 and
// 5xx, a refusal otherwise.
func statusError(resp *http.Response, now time.Time) *attemptError {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code >= 300 && code < 400:
		return &attemptError{err: fmt.Errorf("HTTP %d (redirects are not followed)", code), permanent: true}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return &attemptError{err: fmt.Errorf("HTTP %d", code), retryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	default:
		return &attemptError{err: fmt.Errorf("HTTP %d", code), permanent: true}
	}
}

// retryAfter reads a Retry-After value: seconds or an HTTP date. Zero
// when absent, unreadable or past.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sign returns the X-Warden-Signature value of body under secret:
// "sha256=" and the hex HMAC-SHA256.
func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports, in constant time, whether signature (the
// X-Warden-Signature header) is the signature of body under secret. A
// receiver should also check the body's sent_at and skip an id it has
// seen.
func VerifySignature(secret, body []byte, signature string) bool {
	hexSum, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// displayURL is u as errors and logs show it: scheme and host, and "/…"
// for any path or query.
func displayURL(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

// redactURL shows an unparsable URL without what may be a secret.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return displayURL(u)
	}
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
