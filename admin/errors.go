package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// httpError is what a client is told about a request that failed: a
// status, a message, and the field and value refused when one was.
type httpError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
	Value  string `json:"value,omitempty"`
}

func (e *httpError) Error() string { return e.Msg }

func errf(status int, format string, args ...any) *httpError {
	return &httpError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// fieldErr is a refused form or JSON field, shaped as core's own.
func fieldErr(typ, field, value, problem string) error {
	return &rule.ValidationError{Type: typ, Field: field, Value: value, Problem: problem}
}

// asHTTP maps an error to what the client sees; system failures are
// logged and reported without their text.
func (s *server) asHTTP(err error) *httpError {
	var he *httpError
	var ve *rule.ValidationError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &ve):
		return &httpError{Status: http.StatusUnprocessableEntity, Msg: ve.Error(), Field: ve.Field, Value: ve.Value}
	case errors.As(err, &mb):
		return errf(http.StatusRequestEntityTooLarge, "the request is too large: at most %d bytes", mb.Limit)
	case errors.Is(err, core.ErrNotFound):
		return errf(http.StatusNotFound, "not found: %v", err)
	case errors.Is(err, core.ErrConflict):
		return errf(http.StatusConflict, "%v", err)
	}
	s.cfg.log.Error("warden admin: request failed", "error", err)
	return errf(http.StatusInternalServerError, "the request failed; the server log says why")
}

// fail answers c with err: JSON under /api/, an HTML page elsewhere.
func (s *server) fail(c *call, err error) {
	he := s.asHTTP(err)
	if c.api {
		writeJSON(c.w, he.Status, he)
		return
	}
	s.render(c, he.Status, "error", "Error", he)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
