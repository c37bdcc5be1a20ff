package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wardenkit/warden/notify"
)

func TestMessageValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    notify.Message
		want string // "" for valid
	}{
		{"minimal", notify.Message{Kind: "report"}, ""},
		{"full", notify.Message{Kind: "auto_block:ip", Subject: "Blocage — Zürich", Text: "any\r\ntext\x00", To: []string{"Ops <ops@example.com>"}}, ""},
		{"no_kind", notify.Message{Subject: "s"}, "Message.Kind: empty"},
		{"kind_with_space", notify.Message{Kind: "auto block"}, `Message.Kind "auto block"`},
		{"kind_too_long", notify.Message{Kind: strings.Repeat("k", notify.MaxKindBytes+1)}, "Message.Kind: 65 bytes"},
		{"subject_crlf", notify.Message{Kind: "k", Subject: "a\r\nBcc: v@example.net"}, "Message.Subject \"a\\r\\nBcc: v@example.net\": contains CR or LF (header injection)"},
		{"subject_tab", notify.Message{Kind: "k", Subject: "a\tb"}, "contains a control character"},
		{"subject_c1_control", notify.Message{Kind: "k", Subject: "a\u0085b"}, "contains a control character"},
		{"subject_invalid_utf8", notify.Message{Kind: "k", Subject: "a\xffb"}, "contains a control character"},
		{"to_not_address", notify.Message{Kind: "k", To: []string{"ops"}}, `Message.To[0] "ops": not one e-mail address`},
		{"to_list", notify.Message{Kind: "k", To: []string{"a@example.com", "a@example.com; b@example.com"}}, "Message.To[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, notify.ErrInvalidMessage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidMessage with %q", err, tc.want)
			}
		})
	}
}

func TestSlogLogsOneLine(t *testing.T) {
	var buf bytes.Buffer
	n := notify.Slog(slog.New(slog.NewJSONHandler(&buf, nil)))
	m := notify.Message{Kind: "auto_block", Subject: "s", Text: "t", To: []string{"ops@example.com"}, Data: map[string]int{"n": 3}, Time: t0}
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("log %q: want one line", buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["level"] != "INFO" || got["msg"] != "notification" || got["kind"] != "auto_block" || got["subject"] != "s" ||
		got["text"] != "t" || got["at"] != t0.Format("2006-01-02T15:04:05Z07:00") {
		t.Errorf("log = %v", got)
	}
	if d, _ := got["data"].(map[string]any); d["n"] != 3.0 {
		t.Errorf("data = %v", got["data"])
	}
	if err := n.Notify(context.Background(), notify.Message{}); !errors.Is(err, notify.ErrInvalidMessage) {
		t.Errorf("empty message: err = %v", err)
	}
	if err := notify.Slog(nil).Notify(context.Background(), m); err == nil {
		t.Error("a nil logger logs nothing and must say so")
	}
}

// countingNotifier counts calls and fails when err is set.
type countingNotifier struct {
	calls atomic.Int32
	err   error
}

func (c *countingNotifier) Notify(context.Context, notify.Message) error {
	c.calls.Add(1)
	return c.err
}

func TestMultiSendsToAllAndJoinsErrors(t *testing.T) {
	errA, errB := errors.New("a down"), errors.New("b down")
	a, b, ok := &countingNotifier{err: errA}, &countingNotifier{err: errB}, &countingNotifier{}
	m := notify.Multi(a, nil, ok, b)
	err := m.Notify(context.Background(), blockMsg)
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Errorf("err = %v, want both errors", err)
	}
	if a.calls.Load() != 1 || b.calls.Load() != 1 || ok.calls.Load() != 1 {
		t.Errorf("calls %d %d %d, want 1 each: one failure must not stop the others", a.calls.Load(), ok.calls.Load(), b.calls.Load())
	}
	if err := notify.Multi(ok).Notify(context.Background(), blockMsg); err != nil {
		t.Errorf("one notifier: %v", err)
	}
	if err := notify.Multi().Notify(context.Background(), blockMsg); err != nil {
		t.Errorf("no notifier: %v", err)
	}
	if err := m.Notify(context.Background(), notify.Message{}); !errors.Is(err, notify.ErrInvalidMessage) || ok.calls.Load() != 2 {
		t.Errorf("invalid message: err = %v, %d calls", err, ok.calls.Load())
	}
}
