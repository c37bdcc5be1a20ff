package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/notify"
)

const smtpPassword = "pa55-w0rd-never-shown"

func newSMTP(t *testing.T, cfg notify.SMTPConfig, opts ...notify.Option) (*notify.SMTP, *sleeps) {
	t.Helper()
	s := &sleeps{}
	n, err := notify.NewSMTP(cfg, append([]notify.Option{notify.WithSleep(s.sleep), notify.WithTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return n, s
}

// tlsConfig is the usual test configuration: the server's certificate
// trusted, credentials set, one default recipient.
func tlsConfig(srv *smtpServer) notify.SMTPConfig {
	return notify.SMTPConfig{
		Addr: srv.addr(), From: "Warden Alerts <warden@example.com>", To: []string{"ops@example.com"},
		Username: "warden", Password: smtpPassword, TLSConfig: &tls.Config{RootCAs: srv.roots()},
	}
}

func TestSMTPSendsOverSTARTTLS(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1")
	n, _ := newSMTP(t, tlsConfig(srv))
	m := notify.Message{
		Kind: "auto_block", Subject: "Blocage automatique : 203.0.113.7 — Zürich, et une ligne assez longue pour être pliée",
		Text: "Bloqué: 203.0.113.7\n.a line starting with a dot\n" + strings.Repeat("long line ", 20) + "\n",
		Time: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	sessions := srv.all()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(sessions))
	}
	sess := sessions[0]
	if !sess.TLS || sess.AuthUser != "warden" || sess.From != "warden@example.com" || !slices.Equal(sess.Rcpts, []string{"ops@example.com"}) {
		t.Errorf("session = %+v", sess)
	}
	if i, j := slices.Index(sess.Commands, "STARTTLS"), slices.Index(sess.Commands, "AUTH"); i < 0 || j < i {
		t.Errorf("commands %v: want AUTH after STARTTLS", sess.Commands)
	}
	msg, err := mail.ReadMessage(strings.NewReader(sess.Data))
	if err != nil {
		t.Fatalf("message %q: %v", sess.Data, err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, m.Subject)
	}
	from, _ := msg.Header.AddressList("From")
	to, _ := msg.Header.AddressList("To")
	if len(from) != 1 || from[0].Name != "Warden Alerts" || from[0].Address != "warden@example.com" ||
		len(to) != 1 || to[0].Address != "ops@example.com" {
		t.Errorf("From %v, To %v", from, to)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(m.Time) {
		t.Errorf("Date = %v (%v), want %v", d, err, m.Time)
	}
	for k, want := range map[string]string{
		"Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
		"Mime-Version": "1.0", "X-Warden-Kind": "auto_block",
	} {
		if got := msg.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil || strings.ReplaceAll(string(body), "\r\n", "\n") != m.Text {
		t.Errorf("body = %q (%v), want %q", body, err, m.Text)
	}
	for _, line := range strings.Split(sess.Data, "\n") {
		if len(line) > 78 && !strings.Contains(line, "=?") {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
	if st := n.Stats(); st != (notify.DeliveryStats{Sent: 1}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestSMTPMessageRecipientsReplaceDefault(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1")
	n, _ := newSMTP(t, tlsConfig(srv))
	m := notify.Message{Kind: "report", Subject: "daily report", Text: "ok", To: []string{"a@example.com", "Bé <b@example.org>"}}
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	sess := srv.all()[0]
	if !slices.Equal(sess.Rcpts, []string{"a@example.com", "b@example.org"}) {
		t.Errorf("RCPT %v", sess.Rcpts)
	}
	msg, err := mail.ReadMessage(strings.NewReader(sess.Data))
	if err != nil {
		t.Fatal(err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Bé" || to[1].Address != "b@example.org" {
		t.Errorf("To = %v (%v)", to, err)
	}
}

func TestSMTPRefusesWithoutSTARTTLS(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1", noTLS) // a server, or a man in the middle, that strips STARTTLS
	cfg := tlsConfig(srv)
	n, s := newSMTP(t, cfg)
	err := n.Notify(context.Background(), blockMsg)
	if !errors.Is(err, notify.ErrInsecure) || !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "SMTPConfig.Insecure") {
		t.Fatalf("err = %v", err)
	}
	sessions := srv.all()
	if len(sessions) != 1 || len(s.waits()) != 0 {
		t.Errorf("%d sessions, %d waits: a refusal is not retried", len(sessions), len(s.waits()))
	}
	for _, c := range sessions[0].Commands {
		if c == "AUTH" || c == "MAIL" {
			t.Errorf("commands %v: nothing may be sent without TLS", sessions[0].Commands)
		}
	}
	if st := n.Stats(); st != (notify.DeliveryStats{Failed: 1}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestSMTPInsecureNeverSendsCredentialsInClear(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.2", noTLS) // loopback, but not a name net/smtp treats as localhost
	cfg := tlsConfig(srv)
	cfg.Insecure = true
	n, _ := newSMTP(t, cfg)
	err := n.Notify(context.Background(), blockMsg)
	if !errors.Is(err, notify.ErrInsecure) {
		t.Fatalf("err = %v, want ErrInsecure", err)
	}
	if sess := srv.all()[0]; sess.AuthPass != "" || slices.Contains(sess.Commands, "AUTH") {
		t.Errorf("credentials sent in clear: %+v", sess)
	}
}

func TestSMTPInsecureWithoutTLS(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		creds      bool
	}{
		{"no_credentials", "127.0.0.2", false},
		{"credentials_to_localhost", "127.0.0.1", true}, // as net/smtp allows
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []func(*smtpServer){noTLS}
			if !tc.creds {
				opts = append(opts, noAuth)
			}
			srv := newSMTPServer(t, tc.host, opts...)
			cfg := tlsConfig(srv)
			cfg.Insecure = true
			if !tc.creds {
				cfg.Username, cfg.Password = "", ""
			}
			n, _ := newSMTP(t, cfg)
			if err := n.Notify(context.Background(), blockMsg); err != nil {
				t.Fatal(err)
			}
			sess := srv.all()[0]
			if sess.TLS || sess.Data == "" || (sess.AuthUser != "") != tc.creds {
				t.Errorf("session = %+v", sess)
			}
		})
	}
}

func TestSMTPRefusesHeaderInjection(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1")
	n, _ := newSMTP(t, tlsConfig(srv))
	for name, m := range map[string]notify.Message{
		"subject_crlf_bcc":   {Kind: "k", Subject: "hello\r\nBcc: victim@example.net"},
		"subject_lf":         {Kind: "k", Subject: "hello\nX-Evil: 1"},
		"subject_cr":         {Kind: "k", Subject: "hello\rX-Evil: 1"},
		"to_crlf":            {Kind: "k", Subject: "s", To: []string{"ops@example.com\r\nBcc: victim@example.net"}},
		"to_two_addresses":   {Kind: "k", Subject: "s", To: []string{"ops@example.com, victim@example.net"}},
		"kind_crlf":          {Kind: "k\r\nBcc: victim@example.net", Subject: "s"},
		"subject_nul":        {Kind: "k", Subject: "a\x00b"},
		"subject_too_long":   {Kind: "k", Subject: strings.Repeat("x", notify.MaxSubjectBytes+1)},
		"too_many_receivers": {Kind: "k", To: slices.Repeat([]string{"a@example.com"}, notify.MaxRecipients+1)},
	} {
		err := n.Notify(context.Background(), m)
		if !errors.Is(err, notify.ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
	if len(srv.all()) != 0 {
		t.Errorf("%d connections for invalid messages, want 0", len(srv.all()))
	}
	if err := n.Notify(context.Background(), notify.Message{Kind: "k", Subject: "hello\r\nBcc: x@example.net"}); err == nil ||
		!strings.Contains(err.Error(), "Message.Subject") || !strings.Contains(err.Error(), "CR or LF") {
		t.Errorf("err = %v: want it to name Message.Subject and CR or LF", err)
	}
}

func TestSMTPRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int // connections greeted with 421
		sessions int
		is       error
		stats    notify.DeliveryStats
	}{
		{"recovers", 2, 3, nil, notify.DeliveryStats{Sent: 1, Retried: 2}},
		{"gives_up", 100, 4, notify.ErrUndelivered, notify.DeliveryStats{Retried: 3, Failed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, "127.0.0.1", func(s *smtpServer) {
				s.greet = func(n int) string {
					if n < tc.failures {
						return "421 4.3.2 try again later"
					}
					return "220 test.example ESMTP"
				}
			})
			n, s := newSMTP(t, tlsConfig(srv))
			err := n.Notify(context.Background(), blockMsg)
			if !errors.Is(err, tc.is) || (tc.is == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if tc.is != nil && !strings.Contains(err.Error(), "notify: smtp: send via "+srv.addr()+": 421 \"4.3.2 try again later\" after 4 attempts") {
				t.Errorf("err = %v", err)
			}
			if len(srv.all()) != tc.sessions || len(s.waits()) != tc.sessions-1 {
				t.Errorf("%d sessions, waits %v", len(srv.all()), s.waits())
			}
			if st := n.Stats(); st != tc.stats {
				t.Errorf("Stats = %+v, want %+v", st, tc.stats)
			}
		})
	}
}

func TestSMTPPermanentFailuresNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(*smtpServer)
		config func(*notify.SMTPConfig)
		want   string
	}{
		{"recipient_refused", func(s *smtpServer) { s.rcptCode = "550 5.1.1 no such user" }, nil, `RCPT TO ops@example.com: 550 "5.1.1 no such user"`},
		{"wrong_password", nil, func(c *notify.SMTPConfig) { c.Password = "wrong-" + smtpPassword }, `AUTH PLAIN: 535 "5.7.8 authentication failed"`},
		{"untrusted_certificate", nil, func(c *notify.SMTPConfig) { c.TLSConfig = nil }, "STARTTLS: tls: failed to verify certificate"},
		{"no_auth_offered", noAuth, nil, "does not offer AUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*smtpServer)
			if tc.server != nil {
				opts = append(opts, tc.server)
			}
			srv := newSMTPServer(t, "127.0.0.1", opts...)
			cfg := tlsConfig(srv)
			if tc.config != nil {
				tc.config(&cfg)
			}
			n, s := newSMTP(t, cfg)
			err := n.Notify(context.Background(), blockMsg)
			if !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrRejected with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), smtpPassword) {
				t.Errorf("error %q shows the password", err)
			}
			if len(srv.all()) != 1 || len(s.waits()) != 0 {
				t.Errorf("%d sessions, waits %v: want no retry", len(srv.all()), s.waits())
			}
			if sess := srv.all()[0]; tc.name == "untrusted_certificate" && sess.AuthPass != "" {
				t.Error("password sent to a server whose certificate did not verify")
			}
		})
	}
}

func TestSMTPTimeoutOnSilentServer(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1", func(s *smtpServer) {
		s.greet = func(int) string { return "" } // accepts, then says nothing
	})
	n, err := notify.NewSMTP(tlsConfig(srv), notify.WithTimeout(30*time.Millisecond), notify.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), blockMsg)
	if !errors.Is(err, notify.ErrUndelivered) || !strings.Contains(err.Error(), "no answer within 30ms after 1 attempt") {
		t.Fatalf("err = %v", err)
	}
}

func TestSMTPNoRecipient(t *testing.T) {
	srv := newSMTPServer(t, "127.0.0.1")
	cfg := tlsConfig(srv)
	cfg.To = nil
	n, _ := newSMTP(t, cfg)
	if err := n.Notify(context.Background(), blockMsg); !errors.Is(err, notify.ErrInvalidMessage) || !strings.Contains(err.Error(), "no recipient") {
		t.Errorf("err = %v", err)
	}
}

func TestNewSMTPRefuses(t *testing.T) {
	ok := notify.SMTPConfig{Addr: "smtp.example.com:587", From: "warden@example.com"}
	for _, tc := range []struct {
		name string
		edit func(*notify.SMTPConfig)
		opts []notify.Option
		want string
	}{
		{"addr_without_port", func(c *notify.SMTPConfig) { c.Addr = "smtp.example.com" }, nil, `SMTPConfig.Addr "smtp.example.com": not host:port`},
		{"addr_bad_port", func(c *notify.SMTPConfig) { c.Addr = "smtp.example.com:smtp" }, nil, "not host:port"},
		{"from_missing", func(c *notify.SMTPConfig) { c.From = "" }, nil, "SMTPConfig.From"},
		{"from_crlf", func(c *notify.SMTPConfig) { c.From = "w@example.com\r\nBcc: v@example.net" }, nil, "CR or LF"},
		{"to_invalid", func(c *notify.SMTPConfig) { c.To = []string{"ops@example.com", "nobody"} }, nil, `SMTPConfig.To[1] "nobody"`},
		{"password_without_user", func(c *notify.SMTPConfig) { c.Password = smtpPassword }, nil, "Password is set without a Username"},
		{"password_crlf", func(c *notify.SMTPConfig) { c.Username, c.Password = "u", smtpPassword+"\r\n" }, nil, "Password contains NUL, CR or LF"},
		{"local_name_space", func(c *notify.SMTPConfig) { c.LocalName = "a b" }, nil, "SMTPConfig.LocalName"},
		{"webhook_option", func(*notify.SMTPConfig) {}, []notify.Option{notify.WithSecret("x")}, "WithSecret does not apply to an SMTP notifier"},
		{"batcher_option", func(*notify.SMTPConfig) {}, []notify.Option{notify.WithMaxItems(5)}, "WithMaxItems does not apply to an SMTP notifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := notify.NewSMTP(cfg, tc.opts...)
			if !errors.Is(err, notify.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidOption with %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), smtpPassword) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
