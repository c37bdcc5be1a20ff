package notify

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestComposeFoldsAndEncodesHeaders(t *testing.T) {
	from, _ := mail.ParseAddress("Wärden <warden@example.com>")
	to, _ := mail.ParseAddress("ops@example.com")
	for _, subject := range []string{
		"short",
		strings.Repeat("word ", 40) + "end",                    // ASCII, folded at spaces
		strings.Repeat("mot accentué ", 30),                    // encoded words, folded between them
		"two  spaces   kept " + strings.Repeat("x", 120),       // a word longer than a line
		"=?utf-8?q?looks_encoded?= but is plain text, " + "ok", // encoded, so it reads back as typed
	} {
		raw := compose(from, []*mail.Address{to}, Message{Kind: "k", Subject: subject, Text: "a\nb\r\nc", Time: time.Unix(0, 0)}, "id")
		head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no blank line after the headers: %q", raw)
		}
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.ContainsAny(line, "\r\n") || len(line) > 998 || strings.TrimSpace(line) == "" {
				t.Errorf("header line %q", line)
			}
			if len(line) > 78 && strings.Count(line, " ") > 1 {
				t.Errorf("header line of %d characters not folded: %q", len(line), line)
			}
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var dec mime.WordDecoder
		if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
			t.Errorf("Subject reads back as %q (%v), want %q", got, err, subject)
		}
		if string(body) != "a\r\nb\r\nc\r\n" {
			t.Errorf("body %q, want CRLF line ends", body)
		}
	}
}
