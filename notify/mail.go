package notify

import (
	"bytes"
	"encoding/base64"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// compose writes m as an RFC 5322 message: encoded headers (mail.Address
// encodes names; encodeSubject the subject), folded at 78 columns where a
// space allows, and a quoted-printable UTF-8 body. m has
// been validated (no CR, LF or control character in a header value).
func compose(from *mail.Address, to []*mail.Address, m Message, id string) []byte {
	var b bytes.Buffer
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = a.String()
	}
	writeHeader(&b, "From", from.String())
	writeHeader(&b, "To", strings.Join(rcpts, ", "))
	writeHeader(&b, "Subject", encodeSubject(m.Subject))
	writeHeader(&b, "Date", m.Time.Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", "<"+id+"@"+domainOf(from.Address)+">")
	writeHeader(&b, "MIME-Version", "1.0")
	writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
	writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
	writeHeader(&b, HeaderKind, m.Kind)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ToValidUTF8(m.Text, "\uFFFD"))) // writes to a bytes.Buffer cannot fail
	_ = qp.Close()
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// writeHeader writes "name: value" and CRLF, folding before a space where
// a line would pass 78 characters. An encoded word or an address longer
// than that stays whole on its own line (RFC 5322 allows up to 998).
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(":")
	col := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		switch {
		case i > 0 && word != "" && col+1+len(word) > 78 && col > 1:
			b.WriteString("\r\n ")
			col = 1
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	b.WriteString("\r\n")
}

// encodeSubject returns s as it is when it is ASCII and holds no "=?",
// else as RFC 2047 encoded words ("=?utf-8?b?…?=") of up to 45 bytes
// each, cut on rune boundaries and separated by spaces, so that a reader
// decodes exactly s.
func encodeSubject(s string) string {
	if !strings.Contains(s, "=?") && isASCII(s) {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := min(len(s), 45)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}
