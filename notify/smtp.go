package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core"
)

// SMTPConfig says where and as whom the SMTP notifier sends. The password
// is never logged or put in an error; read it from the environment, never
// from the database.
type SMTPConfig struct {
	// Addr is the submission server's host:port ("smtp.example.com:587").
	Addr string
	// From is the sender, "warden@example.com" or "Warden <warden@example.com>".
	From string
	// To lists the recipients of a Message whose To is empty.
	To []string
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN, only over TLS (or to localhost, as net/smtp allows).
	Username, Password string
	// TLSConfig is used for STARTTLS (nil: the system's roots). Its
	// ServerName defaults to Addr's host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// Insecure allows sending without TLS to a server that does not offer
	// STARTTLS; credentials are still never sent in clear except to
	// localhost. When the server offers STARTTLS it is used, and the
	// certificate is verified, whatever Insecure says.
	Insecure bool
	// LocalName is the name given in EHLO (default "localhost").
	LocalName string
}

// SMTP sends each message as a plain-text e-mail through one submission
// server, over STARTTLS unless SMTPConfig.Insecure allows otherwise. A
// network error, a timeout and an SMTP 4xx reply are retried; a 5xx reply,
// a certificate that does not verify and a server without STARTTLS are
// refusals. Message.Data is not sent. An SMTP is safe for concurrent use;
// each Notify opens its own connection.
type SMTP struct {
	addr, host         string
	from               *mail.Address
	to                 []*mail.Address
	username, password string
	tls                *tls.Config
	insecure           bool
	localName          string
	timeout            time.Duration
	clock              core.Clock
	retrier
}

var _ Notifier = (*SMTP)(nil)

// NewSMTP checks cfg and returns an SMTP notifier. It connects to nothing.
// Options: WithTimeout, WithRetries, WithBackoff, WithSleep, WithClock,
// WithLogger.
func NewSMTP(cfg SMTPConfig, opts ...Option) (*SMTP, error) {
	s, err := newSMTP(cfg)
	if err != nil {
		return nil, err
	}
	c := newConfig(forSMTP, DefaultSMTPTimeout)
	if err := c.apply("NewSMTP", opts); err != nil {
		return nil, err
	}
	s.timeout, s.clock, s.retrier = c.timeout, c.clock, newRetrier("smtp", &c)
	return s, nil
}

func newSMTP(cfg SMTPConfig) (*SMTP, error) {
	bad := func(field, value, problem string) error {
		return errorf(ErrInvalidOption, "notify: NewSMTP: SMTPConfig.%s %.80q: %s", field, value, problem)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
		return nil, bad("Addr", cfg.Addr, "not host:port")
	}
	s := &SMTP{addr: cfg.Addr, host: host, username: cfg.Username, password: cfg.Password, insecure: cfg.Insecure, localName: cfg.LocalName}
	if s.from, err = parseAddress(cfg.From); err != nil {
		return nil, bad("From", cfg.From, err.Error())
	}
	if len(cfg.To) > MaxRecipients {
		return nil, bad("To", strconv.Itoa(len(cfg.To)), fmt.Sprintf("more than %d recipients", MaxRecipients))
	}
	for i, t := range cfg.To {
		a, err := parseAddress(t)
		if err != nil {
			return nil, bad(fmt.Sprintf("To[%d]", i), t, err.Error())
		}
		s.to = append(s.to, a)
	}
	switch {
	case cfg.Password != "" && cfg.Username == "":
		return nil, errorf(ErrInvalidOption, "notify: NewSMTP: SMTPConfig.Password is set without a Username")
	case hasControl(cfg.Username):
		return nil, bad("Username", cfg.Username, "contains a control character")
	case strings.ContainsAny(cfg.Password, "\x00\r\n"):
		return nil, errorf(ErrInvalidOption, "notify: NewSMTP: SMTPConfig.Password contains NUL, CR or LF")
	case s.localName == "":
		s.localName = "localhost"
	case hasControl(s.localName) || strings.ContainsAny(s.localName, " \t"):
		return nil, bad("LocalName", s.localName, "not a host name")
	}
	s.tls = &tls.Config{}
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = host
	}
	s.tls.MinVersion = max(s.tls.MinVersion, tls.VersionTLS12)
	return s, nil
}

// Stats counts the messages sent, retried and dropped.
func (s *SMTP) Stats() DeliveryStats { return s.stats() }

// Notify sends m to m.To, or to SMTPConfig.To when m.To is empty,
// retrying as the type's comment says. Every attempt sends the same
// message (one Message-ID), so a receiver can tell a retry from a new one.
func (s *SMTP) Notify(ctx context.Context, m Message) error {
	to, err := s.recipients(m)
	if err != nil {
		s.failed.Add(1)
		return err
	}
	if m.Time.IsZero() {
		m.Time = s.clock.Now()
	}
	msg := compose(s.from, to, m, rand.Text())
	return s.run(ctx, "send via "+s.addr, func(ctx context.Context) *attemptError {
		return s.attempt(ctx, to, msg)
	})
}

func (s *SMTP) recipients(m Message) ([]*mail.Address, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if len(m.To) == 0 {
		if len(s.to) == 0 {
			return nil, errorf(ErrInvalidMessage, "notify: smtp: no recipient: Message.To and SMTPConfig.To are empty")
		}
		return s.to, nil
	}
	to := make([]*mail.Address, len(m.To))
	for i, t := range m.To {
		to[i], _ = parseAddress(t) // Validate parsed it
	}
	return to, nil
}

// attempt runs one SMTP session, bounded by the timeout and by ctx.
func (s *SMTP) attempt(ctx context.Context, to []*mail.Address, msg []byte) *attemptError {
	actx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(actx, "tcp", s.addr)
	if err == nil {
		defer conn.Close()
		deadline, _ := actx.Deadline()
		_ = conn.SetDeadline(deadline)
		stop := context.AfterFunc(actx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
		err = s.session(conn, to, msg)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && (errors.Is(actx.Err(), context.DeadlineExceeded) || isTimeout(err)) {
		// The connection's deadline is the attempt's: its timeout may fire
		// before the context's.
		return &attemptError{err: fmt.Errorf("no answer within %v", s.timeout)}
	}
	return &attemptError{err: err, permanent: permanentSMTP(err)}
}

// session speaks SMTP on conn: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA.
func (s *SMTP) session(conn net.Conn, to []*mail.Address, msg []byte) error {
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(s.localName); err != nil {
		return err
	}
	secure := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		secure = true
	} else if !s.insecure {
		return errorf(ErrInsecure, "the server does not offer STARTTLS (set SMTPConfig.Insecure to send without TLS)")
	}
	if s.username != "" {
		if err := s.auth(c, secure); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// auth sends AUTH PLAIN, never in clear except to localhost.
func (s *SMTP) auth(c *smtp.Client, secure bool) error {
	if !secure && !isLocalhost(s.host) {
		return errorf(ErrInsecure, "credentials are not sent without TLS (only to localhost)")
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		return errorf(ErrRejected, "the server does not offer AUTH (remove SMTPConfig.Username, or check Addr)")
	}
	if err := c.Auth(smtp.PlainAuth("", s.username, s.password, s.host)); err != nil {
		return fmt.Errorf("AUTH PLAIN: %w", err)
	}
	return nil
}

func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// permanentSMTP reports whether a retry cannot help: a 5xx reply, a
// refusal of ours, a certificate that does not verify.
func permanentSMTP(err error) bool {
	var tpe *textproto.Error
	var cve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &tpe):
		return tpe.Code >= 500
	case errors.Is(err, ErrInsecure), errors.Is(err, ErrRejected), errors.As(err, &cve):
		return true
	}
	return false
}
