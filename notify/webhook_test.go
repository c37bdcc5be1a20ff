package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenkit/warden/notify"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// recorder is a webhook receiver answering with the statuses in order
// (the last one repeats) and keeping every request.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	headers  []http.Header
	bodies   [][]byte
	extra    func(w http.ResponseWriter, n int)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.bodies)
	rc.bodies = append(rc.bodies, body)
	rc.headers = append(rc.headers, r.Header.Clone())
	status := rc.statuses[min(n, len(rc.statuses)-1)]
	rc.mu.Unlock()
	if rc.extra != nil {
		rc.extra(w, n)
	}
	w.WriteHeader(status)
}

func (rc *recorder) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func newReceiver(t *testing.T, statuses ...int) (*recorder, *httptest.Server) {
	t.Helper()
	rc := &recorder{statuses: statuses}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func newWebhook(t *testing.T, url string, opts ...notify.Option) (*notify.Webhook, *sleeps) {
	t.Helper()
	s := &sleeps{}
	w, err := notify.NewWebhook(url, append([]notify.Option{notify.WithSleep(s.sleep), notify.WithClock(fixedClock{t0})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return w, s
}

var blockMsg = notify.Message{
	Kind: "auto_block", Subject: "warden: 1 auto-block", Text: "203.0.113.7 blocked\n",
	Data: map[string]any{"ip": "203.0.113.7", "country": "CN"}, Time: t0.Add(-time.Minute),
}

func TestWebhookBodyHeadersAndSignature(t *testing.T) {
	rc, srv := newReceiver(t, http.StatusNoContent)
	secret := "s3cret-0123456789abcdef0123456789"
	w, _ := newWebhook(t, srv.URL+"/hook", notify.WithSecret(secret))
	if err := w.Notify(context.Background(), blockMsg); err != nil {
		t.Fatal(err)
	}
	body, h := rc.bodies[0], rc.headers[0]
	var got struct {
		ID, Kind, Subject, Text string
		Time                    time.Time
		SentAt                  time.Time `json:"sent_at"`
		Data                    map[string]string
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.Kind != "auto_block" || got.Subject != blockMsg.Subject || got.Text != blockMsg.Text ||
		!got.Time.Equal(blockMsg.Time) || !got.SentAt.Equal(t0) || got.Data["ip"] != "203.0.113.7" || got.Data["country"] != "CN" {
		t.Errorf("body = %s", body)
	}
	if got.ID == "" || h.Get(notify.HeaderDelivery) != got.ID {
		t.Errorf("id %q, %s %q", got.ID, notify.HeaderDelivery, h.Get(notify.HeaderDelivery))
	}
	if h.Get("Content-Type") != "application/json" || h.Get(notify.HeaderKind) != "auto_block" ||
		h.Get(notify.HeaderTimestamp) != strconv.FormatInt(t0.Unix(), 10) {
		t.Errorf("headers = %v", h)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	sig := h.Get(notify.HeaderSignature)
	if sig != want {
		t.Errorf("signature %q, want %q", sig, want)
	}
	if !notify.VerifySignature([]byte(secret), body, sig) {
		t.Error("VerifySignature refuses the right signature")
	}
	tampered := []byte(strings.Replace(string(body), "203.0.113.7", "203.0.113.8", 1))
	for name, ok := range map[string]bool{
		"tampered body": notify.VerifySignature([]byte(secret), tampered, sig),
		"wrong secret":  notify.VerifySignature([]byte("other"), body, sig),
		"no prefix":     notify.VerifySignature([]byte(secret), body, strings.TrimPrefix(sig, "sha256=")),
		"not hex":       notify.VerifySignature([]byte(secret), body, "sha256=zz"),
	} {
		if ok {
			t.Errorf("VerifySignature accepts a %s", name)
		}
	}
	if s := w.Stats(); s != (notify.DeliveryStats{Sent: 1}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestWebhookUnsignedAndNilData(t *testing.T) {
	rc, srv := newReceiver(t, http.StatusOK)
	w, _ := newWebhook(t, srv.URL)
	if err := w.Notify(context.Background(), notify.Message{Kind: "report", Subject: "daily"}); err != nil {
		t.Fatal(err)
	}
	if sig := rc.headers[0].Get(notify.HeaderSignature); sig != "" {
		t.Errorf("signature %q without a secret", sig)
	}
	var got map[string]any
	if err := json.Unmarshal(rc.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if v, ok := got["data"]; !ok || v != nil {
		t.Errorf("data = %v, %v; want null", v, ok)
	}
	if got["time"] != t0.Format(time.RFC3339) {
		t.Errorf("time = %v, want the clock's %v", got["time"], t0)
	}
}

func TestWebhookRetriesThenSucceeds(t *testing.T) {
	rc, srv := newReceiver(t, 500, 502, 200)
	w, s := newWebhook(t, srv.URL, notify.WithBackoff(time.Second, time.Minute))
	if err := w.Notify(context.Background(), blockMsg); err != nil {
		t.Fatal(err)
	}
	if rc.requests() != 3 {
		t.Fatalf("%d requests, want 3", rc.requests())
	}
	ids := map[string]bool{}
	for _, h := range rc.headers {
		ids[h.Get(notify.HeaderDelivery)] = true
	}
	if len(ids) != 1 {
		t.Errorf("delivery ids %v: want one id for every retry", ids)
	}
	waits := s.waits()
	if len(waits) != 2 || waits[0] < 500*time.Millisecond || waits[0] > time.Second ||
		waits[1] < time.Second || waits[1] > 2*time.Second {
		t.Errorf("waits %v: want about 1s then about 2s (jitter up to half)", waits)
	}
	if st := w.Stats(); st != (notify.DeliveryStats{Sent: 1, Retried: 2}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestWebhookStatusHandling(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		requests int
		is       error
	}{
		{"bad_request_not_retried", 400, 1, notify.ErrRejected},
		{"unauthorized_not_retried", 401, 1, notify.ErrRejected},
		{"not_found_not_retried", 404, 1, notify.ErrRejected},
		{"redirect_not_followed", 302, 1, notify.ErrRejected},
		{"server_error_retried", 500, 4, notify.ErrUndelivered},
		{"request_timeout_retried", 408, 4, notify.ErrUndelivered},
		{"too_many_requests_retried", 429, 4, notify.ErrUndelivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, srv := newReceiver(t, tc.status)
			var followed atomic.Bool
			rc.extra = func(w http.ResponseWriter, _ int) { w.Header().Set("Location", "/elsewhere") }
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					followed.Store(true)
				}
				rc.ServeHTTP(w, r)
			})
			w, _ := newWebhook(t, srv.URL+"/hook")
			err := w.Notify(context.Background(), blockMsg)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if rc.requests() != tc.requests || followed.Load() {
				t.Errorf("%d requests (redirect followed: %v), want %d", rc.requests(), followed.Load(), tc.requests)
			}
			want := notify.DeliveryStats{Retried: uint64(tc.requests - 1), Failed: 1}
			if st := w.Stats(); st != want {
				t.Errorf("Stats = %+v, want %+v", st, want)
			}
		})
	}
}

func TestWebhookGivesUpWithCount(t *testing.T) {
	rc, srv := newReceiver(t, 500)
	w, s := newWebhook(t, srv.URL+"/services/T000/B000/XXXXTOKEN?key=abc")
	for range 2 {
		err := w.Notify(context.Background(), blockMsg)
		want := "notify: webhook: POST " + srv.URL + "/…: HTTP 500 after 4 attempts"
		if err == nil || err.Error() != want || !errors.Is(err, notify.ErrUndelivered) {
			t.Fatalf("err = %v\nwant  %s", err, want)
		}
	}
	if rc.requests() != 8 || len(s.waits()) != 6 {
		t.Errorf("%d requests and %d waits, want 8 and 6", rc.requests(), len(s.waits()))
	}
	for _, d := range s.waits() {
		if d <= 0 || d > notify.DefaultMaxBackoff {
			t.Errorf("wait %v outside (0, %v]", d, notify.DefaultMaxBackoff)
		}
	}
	if st := w.Stats(); st != (notify.DeliveryStats{Retried: 6, Failed: 2}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
	}{
		{"seconds", 429, "7", 7 * time.Second},
		{"http_date", 503, t0.Add(12 * time.Second).Format(http.TimeFormat), 12 * time.Second},
		{"bounded_by_max_backoff", 429, "3600", 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, srv := newReceiver(t, tc.status, 200)
			rc.extra = func(w http.ResponseWriter, n int) {
				if n == 0 {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
			}
			w, s := newWebhook(t, srv.URL, notify.WithBackoff(time.Second, 20*time.Second))
			if err := w.Notify(context.Background(), blockMsg); err != nil {
				t.Fatal(err)
			}
			if waits := s.waits(); len(waits) != 1 || waits[0] != tc.want {
				t.Errorf("waits %v, want [%v]", waits, tc.want)
			}
		})
	}
}

func TestWebhookTimeoutOnHangingServer(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	w, _ := newWebhook(t, srv.URL, notify.WithTimeout(20*time.Millisecond), notify.WithRetries(1))
	err := w.Notify(context.Background(), blockMsg)
	if !errors.Is(err, notify.ErrUndelivered) || !strings.Contains(err.Error(), "no answer within 20ms after 2 attempts") {
		t.Fatalf("err = %v", err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if st := w.Stats(); st != (notify.DeliveryStats{Retried: 1, Failed: 1}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestWebhookUnreachableKeepsTokenOutOfErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hooks/SECRET-PATH-TOKEN?token=QUERYTOKEN"
	srv.Close() // nothing listens now: connection refused
	w, s := newWebhook(t, url, notify.WithSecret("the-webhook-secret"), notify.WithRetries(2))
	err := w.Notify(context.Background(), blockMsg)
	if !errors.Is(err, notify.ErrUndelivered) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	for _, secret := range []string{"SECRET-PATH-TOKEN", "QUERYTOKEN", "the-webhook-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows %q", err, secret)
		}
	}
	if len(s.waits()) != 2 || w.Stats().Failed != 1 {
		t.Errorf("waits %v, stats %+v", s.waits(), w.Stats())
	}
}

func TestWebhookContextEndsDuringBackoff(t *testing.T) {
	rc, srv := newReceiver(t, 500)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := notify.NewWebhook(srv.URL, notify.WithSleep(func(context.Context, time.Duration) error {
		cancel()
		return context.Canceled
	}))
	if err != nil {
		t.Fatal(err)
	}
	err = w.Notify(ctx, blockMsg)
	if !errors.Is(err, context.Canceled) || errors.Is(err, notify.ErrUndelivered) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rc.requests() != 1 || w.Stats().Failed != 1 {
		t.Errorf("%d requests, stats %+v", rc.requests(), w.Stats())
	}
}

func TestWebhookRefusesInvalidMessages(t *testing.T) {
	rc, srv := newReceiver(t, 200)
	w, _ := newWebhook(t, srv.URL)
	for name, m := range map[string]notify.Message{
		"no_kind":           {Subject: "x"},
		"subject_crlf":      {Kind: "k", Subject: "hi\r\nBcc: victim@example.com"},
		"data_not_json":     {Kind: "k", Data: make(chan int)},
		"recipient_is_list": {Kind: "k", To: []string{"a@example.com, b@example.com"}},
	} {
		if err := w.Notify(context.Background(), m); !errors.Is(err, notify.ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
	if rc.requests() != 0 || w.Stats().Failed != 4 {
		t.Errorf("%d requests, stats %+v", rc.requests(), w.Stats())
	}
}

func TestNewWebhookRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		opts      []notify.Option
		want      string
	}{
		{"ftp_url", "ftp://example.com/x", nil, `URL "ftp://example.com/…": not an http or https URL`},
		{"no_host", "http://", nil, "not an http or https URL"},
		{"relative", "/hook", nil, "not an http or https URL"},
		{"empty_secret", "https://example.com", []notify.Option{notify.WithSecret("")}, "WithSecret: empty secret"},
		{"negative_retries", "https://example.com", []notify.Option{notify.WithRetries(-1)}, "WithRetries: -1"},
		{"backoff_above_max", "https://example.com", []notify.Option{notify.WithBackoff(time.Minute, time.Second)}, "WithBackoff"},
		{"zero_timeout", "https://example.com", []notify.Option{notify.WithTimeout(0)}, "WithTimeout: 0s is not positive"},
		{"batcher_option", "https://example.com", []notify.Option{notify.WithInterval(time.Second)}, "WithInterval does not apply to a Webhook"},
		{"nil_option", "https://example.com", []notify.Option{nil}, "option 0 is nil"},
		{"nil_client", "https://example.com", []notify.Option{notify.WithHTTPClient(nil)}, "WithHTTPClient: nil client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.NewWebhook(tc.url, tc.opts...)
			if !errors.Is(err, notify.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidOption with %q", err, tc.want)
			}
		})
	}
}
