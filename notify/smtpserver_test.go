package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small SMTP server on loopback: EHLO, STARTTLS, AUTH
// PLAIN, MAIL, RCPT, DATA, QUIT. It keeps a record of every session.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	cert     tls.Certificate
	offerTLS bool
	user     string // AUTH PLAIN is offered when set
	pass     string
	greet    func(n int) string // the greeting of connection n (0-based); default 220
	rcptCode string             // the reply to RCPT when set, e.g. "550 5.1.1 no such user"

	mu       sync.Mutex
	sessions []*smtpSession
	wg       sync.WaitGroup
}

type smtpSession struct {
	TLS      bool
	AuthUser string   // the user of a successful AUTH
	AuthPass string   // the password the client sent, whatever the outcome
	Commands []string // verbs in order, with "(tls)" after STARTTLS
	From     string
	Rcpts    []string
	Data     string
}

// newSMTPServer starts a server offering STARTTLS and AUTH PLAIN for
// warden/smtpPassword, changed by opts before it serves.
func newSMTPServer(t *testing.T, host string, opts ...func(*smtpServer)) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	s := &smtpServer{t: t, ln: ln, cert: selfSigned(t), offerTLS: true, user: "warden", pass: smtpPassword}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	s.wg.Go(s.serve)
	return s
}

func noTLS(s *smtpServer)  { s.offerTLS = false }
func noAuth(s *smtpServer) { s.user = "" }

func (s *smtpServer) addr() string { return s.ln.Addr().String() }

// roots trusts the server's certificate.
func (s *smtpServer) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.cert.Leaf)
	return pool
}

func (s *smtpServer) all() []*smtpSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*smtpSession(nil), s.sessions...)
}

func (s *smtpServer) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		sess := &smtpSession{}
		n := len(s.sessions)
		s.sessions = append(s.sessions, sess)
		s.mu.Unlock()
		s.wg.Go(func() {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			s.handle(conn, n, sess)
		})
	}
}

func (s *smtpServer) handle(conn net.Conn, n int, sess *smtpSession) {
	greeting := "220 test.example ESMTP"
	if s.greet != nil {
		greeting = s.greet(n)
	}
	if greeting == "" { // hang: say nothing until the client gives up
		_, _ = bufio.NewReader(conn).ReadByte()
		return
	}
	tp := textproto.NewConn(conn)
	_ = tp.PrintfLine("%s", greeting)
	if !strings.HasPrefix(greeting, "220") {
		return
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.mu.Lock()
		sess.Commands = append(sess.Commands, verb)
		s.mu.Unlock()
		switch verb {
		case "EHLO":
			s.ehlo(tp, sess)
		case "STARTTLS":
			if !s.offerTLS || sess.TLS {
				_ = tp.PrintfLine("502 5.5.1 not offered")
				continue
			}
			_ = tp.PrintfLine("220 2.0.0 go ahead")
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			s.mu.Lock()
			sess.TLS = true
			s.mu.Unlock()
			tp = textproto.NewConn(tc)
		case "AUTH":
			s.auth(tp, sess, arg)
		case "MAIL":
			s.mu.Lock()
			sess.From = between(arg, "<", ">")
			s.mu.Unlock()
			_ = tp.PrintfLine("250 2.1.0 ok")
		case "RCPT":
			if s.rcptCode != "" {
				_ = tp.PrintfLine("%s", s.rcptCode)
				continue
			}
			s.mu.Lock()
			sess.Rcpts = append(sess.Rcpts, between(arg, "<", ">"))
			s.mu.Unlock()
			_ = tp.PrintfLine("250 2.1.5 ok")
		case "DATA":
			_ = tp.PrintfLine("354 end with .")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			sess.Data = string(data)
			s.mu.Unlock()
			_ = tp.PrintfLine("250 2.0.0 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 2.0.0 bye")
			return
		case "RSET", "NOOP", "HELO":
			_ = tp.PrintfLine("250 ok")
		default:
			_ = tp.PrintfLine("502 5.5.2 unknown command")
		}
	}
}

func (s *smtpServer) ehlo(tp *textproto.Conn, sess *smtpSession) {
	lines := []string{"test.example"}
	if s.offerTLS && !sess.TLS {
		lines = append(lines, "STARTTLS")
	}
	if s.user != "" {
		lines = append(lines, "AUTH PLAIN")
	}
	lines = append(lines, "8BITMIME")
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		_ = tp.PrintfLine("250%s%s", sep, l)
	}
}

func (s *smtpServer) auth(tp *textproto.Conn, sess *smtpSession, arg string) {
	mech, resp, _ := strings.Cut(arg, " ")
	if s.user == "" || !strings.EqualFold(mech, "PLAIN") {
		_ = tp.PrintfLine("504 5.5.4 mechanism not supported")
		return
	}
	if resp == "" {
		_ = tp.PrintfLine("334 ")
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		resp = line
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 {
		_ = tp.PrintfLine("501 5.5.2 bad response")
		return
	}
	s.mu.Lock()
	sess.AuthPass = parts[2]
	ok := parts[1] == s.user && parts[2] == s.pass
	if ok {
		sess.AuthUser = parts[1]
	}
	s.mu.Unlock()
	if !ok {
		_ = tp.PrintfLine("535 5.7.8 authentication failed")
		return
	}
	_ = tp.PrintfLine("235 2.7.0 authenticated")
}

func between(s, open, close string) string {
	_, s, _ = strings.Cut(s, open)
	s, _, _ = strings.Cut(s, close)
	return s
}

// selfSigned makes a certificate for 127.0.0.1, 127.0.0.2 and localhost.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")},
		DNSNames:     []string{"localhost"},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
