package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/notify"
)

// The default notifier logs each message as one structured line.
func ExampleSlog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // no time, so the output is stable
			}
			return a
		},
	}))
	n := notify.Slog(logger)
	err := n.Notify(context.Background(), notify.Message{
		Kind: "auto_block", Subject: "warden: 1 auto-block", Text: "AUTO_BLOCK_IP 203.0.113.7 (CN)",
	})
	fmt.Println(err)
	// Output:
	// level=INFO msg=notification kind=auto_block subject="warden: 1 auto-block" text="AUTO_BLOCK_IP 203.0.113.7 (CN)"
	// <nil>
}

// printer is a Notifier that prints what it is given.
type printer struct{}

func (printer) Notify(_ context.Context, m notify.Message) error {
	fmt.Printf("%s\n%s", m.Subject, m.Text)
	return nil
}

// A Batcher turns a burst of auto-block events into one message per
// minute. Here Close sends the pending batch at once.
func ExampleBatcher() {
	ctx := context.Background()
	b, err := notify.NewBatcher(printer{},
		notify.WithInterval(time.Minute),
		notify.WithEnabled(func() bool { return true }), // e.g. eng's Settings.NotifyOnAutoBlock
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.AddEvent(core.Event{Action: core.ActionAutoBlockIP, IP: "203.0.113.7", CountryCode: "CN", Details: "40 denials in 10m", CreatedAt: at})
	b.Add(notify.Item{Time: at.Add(time.Second), Line: "AUTO_BLOCK_IP 198.51.100.9"})
	if err := b.Close(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", b.Stats())
	// Output:
	// warden: 2 auto-blocks
	// 2026-01-02T03:04:05Z  AUTO_BLOCK_IP 203.0.113.7 (CN): 40 denials in 10m
	// 2026-01-02T03:04:06Z  AUTO_BLOCK_IP 198.51.100.9
	// {Added:2 Dropped:0 Suppressed:0 Sent:1 Failed:0}
}

// A webhook receiver checks the signature of the raw body before it
// trusts anything in it.
func ExampleNewWebhook() {
	secret := []byte("0123456789abcdef0123456789abcdef") // from the environment in real use
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		ok := notify.VerifySignature(secret, body, r.Header.Get(notify.HeaderSignature))
		fmt.Println("signature verified:", ok, "kind:", r.Header.Get(notify.HeaderKind))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	wh, err := notify.NewWebhook(receiver.URL+"/warden", notify.WithSecret(string(secret)), notify.WithTimeout(5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = wh.Notify(context.Background(), notify.Message{Kind: "report", Subject: "daily report", Data: map[string]int{"blocked": 12}})
	fmt.Println(err, wh.Stats().Sent)
	// Output:
	// signature verified: true kind: report
	// <nil> 1
}

// The SMTP notifier for the daily report, sent to the settings'
// notification_email. (Not run: it needs a mail server.)
func ExampleNewSMTP() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	mailer, err := notify.NewSMTP(notify.SMTPConfig{
		Addr:     "smtp.example.com:587",
		From:     "Warden <warden@example.com>",
		Username: "warden",
		Password: os.Getenv("WARDEN_SMTP_PASSWORD"), // never stored in the database
	}, notify.WithTimeout(30*time.Second), notify.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	n := notify.Multi(notify.Slog(logger), mailer)
	_ = n.Notify(context.Background(), notify.Message{
		Kind: "report", Subject: "warden daily report", Text: "12 IPs blocked", To: []string{"ops@example.com"},
	})
}
