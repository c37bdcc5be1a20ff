package notify

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Errors read "notify: Op: problem"; they
// never contain a webhook secret, an SMTP password or a webhook URL's path
// or query (which often carry a token).
var (
	// ErrInvalidOption is wrapped by a constructor's error for a nil option,
	// an option given a value it refuses, an option that does not apply to
	// the thing being built, or an SMTPConfig field it refuses.
	ErrInvalidOption = errors.New("notify: invalid option")
	// ErrInvalidMessage is wrapped when a Message is refused before any
	// delivery is tried: no Kind, CR or LF in the Subject (header
	// injection), a recipient that is not one e-mail address, Data that
	// cannot be encoded as JSON. Such a message is never retried.
	ErrInvalidMessage = errors.New("notify: invalid message")
	// ErrRejected is wrapped when the receiver refused the message in a way
	// a retry cannot fix: an HTTP 4xx other than 408 and 429, a redirect,
	// an SMTP 5xx reply, a certificate that does not verify.
	ErrRejected = errors.New("notify: rejected")
	// ErrUndelivered is wrapped when every attempt failed for a reason that
	// might pass (a network error, a timeout, HTTP 5xx or 429, SMTP 4xx):
	// the message is dropped and counted in Stats().Failed.
	ErrUndelivered = errors.New("notify: not delivered")
	// ErrInsecure is wrapped when the SMTP notifier refuses to go on without
	// TLS: the server does not offer STARTTLS and SMTPConfig.Insecure is not
	// set, or credentials would cross an unencrypted connection.
	ErrInsecure = errors.New("notify: refused without TLS")
)

// kindError reads as err and matches kind too with errors.Is, so that a
// message need not repeat the text of its sentinel.
type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// errorf is fmt.Errorf whose result errors.Is also matches to kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{err: fmt.Errorf(format, args...), kind: kind}
}
