// Package notify delivers warden's notifications: auto-blocks as they
// happen (batched) and the daily report.
//
//	wh, err := notify.NewWebhook(url, notify.WithSecret(os.Getenv("WARDEN_WEBHOOK_SECRET")), notify.WithLogger(logger))
//	mailer, err := notify.NewSMTP(notify.SMTPConfig{Addr: "smtp.example.com:587", From: "warden@example.com",
//		Username: "warden", Password: os.Getenv("WARDEN_SMTP_PASSWORD")})
//	n := notify.Multi(notify.Slog(logger), wh, mailer)
//
//	on := func() bool { s, err := eng.Settings(ctx); return err == nil && s.NotifyOnAutoBlock } // the snapshot's
//	autoBlocks, err := notify.NewBatcher(n, notify.WithEnabled(on), notify.WithLogger(logger))
//	err = autoBlocks.Start(ctx)
//	defer autoBlocks.Close(ctx)              // sends what is pending
//	autoBlocks.AddEvent(event)               // an AUTO_BLOCK_IP event; never waits
//
//	err = n.Notify(ctx, notify.Message{Kind: "report", Subject: "warden daily report", Text: report,
//		To: []string{s.NotificationEmail}}) // when set; empty To means SMTPConfig.To
//
// # Notifiers
//
// A Notifier delivers one Message. Slog, the default, logs it as one
// line. Webhook posts it as JSON, signed with HMAC-SHA256 when given a
// secret. SMTP mails it as plain text through a submission server. Multi
// sends to several at once.
//
// Webhook and SMTP try each message up to 1+WithRetries times (default 4),
// waiting WithBackoff between attempts (1 s doubling to at most 30 s, less
// up to half at random; a webhook's Retry-After replaces the wait, cut to
// the same bound), each attempt bounded by WithTimeout. Only failures that
// might pass are retried: a network error, a timeout, HTTP 408, 429 and
// 5xx, SMTP 4xx. A refusal (another HTTP 4xx, a redirect, SMTP 5xx, a
// certificate that does not verify) ends delivery at once. A message
// given up is counted in Stats().Failed and the error says why and after
// how many attempts ("notify: webhook: POST https://hooks.example/…: HTTP
// 500 after 4 attempts"); Notify returns when the message is delivered or
// given up, so call it off the request path: the Batcher and a scheduler
// job are the places.
//
// # Batching
//
// A Batcher gathers items (one line and optional data each) into at most
// one message per interval (default a minute): the first item of a batch
// starts the interval, the message goes when it ends. Add never waits for
// a delivery; a full batch (WithMaxItems) drops further items and counts
// them, and the message says how many were left out. WithEnabled is asked
// when a batch is due, so turning Settings.NotifyOnAutoBlock off stops
// messages at once, without restarting anything. A failed delivery is
// logged and counted, and its items are lost: notifications are best
// effort, the event log is the record.
//
// # Security
//
// The webhook secret and the SMTP password are options, never logged and
// never in an error; a webhook URL is shown as scheme://host/…, since its
// path or query often is a token. The webhook body carries a random id
// (the same on every retry) and sent_at, both under the signature:
// receivers should check the signature over the raw body in constant time
// (VerifySignature), refuse an old sent_at and skip an id they have seen.
// Redirects are not followed. Over plain http the messages can be read on
// the way.
//
// The SMTP notifier requires STARTTLS and verifies the certificate; it
// refuses to send anything to a server that does not offer it (as a man in
// the middle stripping STARTTLS would make it look) unless
// SMTPConfig.Insecure is set, and even then sends credentials only over
// TLS or to localhost. Subjects are RFC 2047 encoded and recipients parsed
// as single addresses; CR or LF in a subject, a recipient or the sender is
// refused with ErrInvalidMessage or ErrInvalidOption, never written into a
// header.
//
// # Concurrency
//
// Slog, Multi, Webhook, SMTP and Batcher values are safe for concurrent
// use. Only Batcher runs a goroutine: from Start until Close or the end of
// Start's context.
package notify
