package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Message is one notification.
type Message struct {
	// Kind names what the message is about ("auto_block", "report"): a
	// short token of letters, digits and . _ : - (at most 64 bytes). It is
	// required, sent as the webhook's "kind" and the X-Warden-Kind header.
	Kind string
	// Subject is one line (no control characters, at most MaxSubjectBytes).
	Subject string
	// Text is the plain-text body.
	Text string
	// Data is sent as JSON in the webhook body's "data" field; it may be
	// nil. E-mail and the log leave it out of the body.
	Data any
	// To lists e-mail recipients, each one address ("ops@example.com" or
	// "Ops <ops@example.com>"); empty means the SMTP notifier's default.
	// Webhooks ignore it.
	To []string
	// Time is when it happened; zero means when it is sent.
	Time time.Time
}

// Limits of a Message.
const (
	MaxKindBytes    = 64
	MaxSubjectBytes = 900
	MaxRecipients   = 100
)

// Notifier delivers a Message. Notify returns when the message is delivered
// or given up: an error wrapping ErrInvalidMessage, ErrRejected,
// ErrUndelivered or ErrInsecure, or the context's error. Implementations in
// this package are safe for concurrent use and never log a secret.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// Validate reports whether m can be sent, with an error wrapping
// ErrInvalidMessage that names the field and the problem. Every Notifier in
// this package calls it first.
func (m Message) Validate() error {
	if err := validKind(m.Kind); err != nil {
		return err
	}
	switch {
	case strings.ContainsAny(m.Subject, "\r\n"):
		return errorf(ErrInvalidMessage, "notify: Message.Subject %.40q: contains CR or LF (header injection)", m.Subject)
	case hasControl(m.Subject):
		return errorf(ErrInvalidMessage, "notify: Message.Subject %.40q: contains a control character", m.Subject)
	case len(m.Subject) > MaxSubjectBytes:
		return errorf(ErrInvalidMessage, "notify: Message.Subject: %d bytes, at most %d", len(m.Subject), MaxSubjectBytes)
	case len(m.To) > MaxRecipients:
		return errorf(ErrInvalidMessage, "notify: Message.To: %d recipients, at most %d", len(m.To), MaxRecipients)
	}
	for i, to := range m.To {
		if _, err := parseAddress(to); err != nil {
			return errorf(ErrInvalidMessage, "notify: Message.To[%d] %.80q: %v", i, to, err)
		}
	}
	return nil
}

func validKind(k string) error {
	if k == "" {
		return errorf(ErrInvalidMessage, "notify: Message.Kind: empty")
	}
	if len(k) > MaxKindBytes {
		return errorf(ErrInvalidMessage, "notify: Message.Kind: %d bytes, at most %d", len(k), MaxKindBytes)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._:-", c) >= 0) {
			return errorf(ErrInvalidMessage, "notify: Message.Kind %q: only letters, digits and . _ : - are allowed", k)
		}
	}
	return nil
}

// hasControl reports a C0 or C1 control character or DEL, or invalid UTF-8.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// parseAddress parses one e-mail address, refusing CR, LF and lists.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("contains CR or LF (header injection)")
	}
	if hasControl(s) {
		return nil, errors.New("contains a control character")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errors.New("not one e-mail address")
	}
	return a, nil
}

// Slog returns the default Notifier: it logs each message as one
// structured line at level Info (msg "notification", with kind, subject,
// text and, when set, to, time and data). It never fails except for an
// invalid message or a nil logger; it is safe for concurrent use when l is.
func Slog(l *slog.Logger) Notifier { return slogNotifier{l} }

type slogNotifier struct{ l *slog.Logger }

func (s slogNotifier) Notify(ctx context.Context, m Message) error {
	if s.l == nil {
		return errorf(ErrInvalidOption, "notify: Slog: nil logger")
	}
	if err := m.Validate(); err != nil {
		return err
	}
	attrs := []slog.Attr{slog.String("kind", m.Kind), slog.String("subject", m.Subject), slog.String("text", m.Text)}
	if len(m.To) > 0 {
		attrs = append(attrs, slog.Any("to", m.To))
	}
	if !m.Time.IsZero() {
		attrs = append(attrs, slog.Time("at", m.Time))
	}
	if m.Data != nil {
		attrs = append(attrs, slog.Any("data", m.Data))
	}
	s.l.LogAttrs(ctx, slog.LevelInfo, "notification", attrs...)
	return nil
}

// Multi returns a Notifier that sends each message to every one of ns at
// the same time (nil entries are skipped) and returns when all are done,
// with their errors joined. Safe for concurrent use when ns are.
func Multi(ns ...Notifier) Notifier {
	out := make(multi, 0, len(ns))
	for _, n := range ns {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

type multi []Notifier

func (ms multi) Notify(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if len(ms) == 1 {
		return ms[0].Notify(ctx, m)
	}
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, n := range ms {
		wg.Go(func() { errs[i] = n.Notify(ctx, m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
