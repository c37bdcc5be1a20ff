package feeds

import (
	"bytes"
	"encoding/json"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/wardenkit/warden/internal/textutil"
)

// Limits of the list parser.
const (
	// MaxLineBytes bounds one line of a plain-text list (and one JSON
	// string); a longer one is a parse error.
	MaxLineBytes = 1024
	// maxSamples bounds the LineErrors kept per source.
	maxSamples = 10
)

// LineError is a line of a list that was not used: a parse error (not a
// domain, binary junk, a line too long) or a rejected entry (a public
// suffix, a protected domain, a pattern that would block common clients, a
// regex rule validation refuses).
type LineError struct {
	Line    int    `json:"line"`    // 1-based line, or element of a JSON array
	Text    string `json:"text"`    // the entry, cleaned and cut to 80 bytes
	Problem string `json:"problem"` // why it was not used
}

// item is one entry of a list before validation.
type item struct {
	line  int
	text  string
	regex bool // a crawler-user-agents object: its pattern is a regex
}

// splitList cuts a body into items: a JSON array (of strings, or of objects
// with a "pattern" field) or plain text, one entry per line, "#" starting a
// comment. An HTML page, a JSON value that is not an array and an empty body
// are refused as a whole (ErrNotList); a bad line or element is a LineError.
func splitList(body []byte, contentType string) (items []item, bad []LineError, err error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	trimmed := bytes.TrimSpace(body)
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case len(trimmed) == 0:
		return nil, nil, errorf(ErrNotList, "empty body")
	case mt == "text/html" || mt == "application/xhtml+xml" || trimmed[0] == '<':
		return nil, nil, errorf(ErrNotList, "an HTML or XML page, not a list")
	case trimmed[0] == '[':
		return splitJSON(trimmed)
	case trimmed[0] == '{':
		return nil, nil, errorf(ErrNotList, "a JSON object, not an array")
	}
	n := 0
	for len(body) > 0 {
		n++
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		if len(line) > MaxLineBytes {
			bad = append(bad, lineError(n, string(line[:64]), "line longer than 1024 bytes"))
			continue
		}
		text, ok := cleanLine(line)
		if !ok {
			bad = append(bad, lineError(n, string(line), "not text (control characters or invalid UTF-8)"))
			continue
		}
		if text != "" {
			items = append(items, item{line: n, text: text})
		}
	}
	return items, bad, nil
}

// cleanLine drops a comment ("#" at the start or after a space) and the
// spaces around the entry. It reports false for a line that is not text.
func cleanLine(line []byte) (string, bool) {
	if !utf8.Valid(line) {
		return "", false
	}
	s := strings.TrimSpace(string(line))
	if i := strings.IndexByte(s, '#'); i == 0 {
		return "", true
	} else if i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		s = strings.TrimSpace(s[:i])
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return "", false
		}
	}
	return s, true
}

// splitJSON reads a JSON array of strings or of objects with a "pattern".
func splitJSON(body []byte) ([]item, []LineError, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, nil, errorf(ErrNotList, "invalid JSON: %v", err)
	}
	items := make([]item, 0, len(elems))
	var bad []LineError
	for i, raw := range elems {
		var s string
		var obj struct {
			Pattern *string `json:"pattern"`
		}
		switch {
		case json.Unmarshal(raw, &s) == nil:
			items = append(items, item{line: i + 1, text: strings.TrimSpace(s)})
		case json.Unmarshal(raw, &obj) == nil && obj.Pattern != nil:
			items = append(items, item{line: i + 1, text: *obj.Pattern, regex: true})
		default:
			bad = append(bad, lineError(i+1, string(raw), "not a string or an object with a pattern"))
			continue
		}
		if it := items[len(items)-1]; len(it.text) > MaxLineBytes || it.text == "" {
			items = items[:len(items)-1]
			bad = append(bad, lineError(i+1, it.text, "empty or longer than 1024 bytes"))
		}
	}
	return items, bad, nil
}

func lineError(line int, text, problem string) LineError {
	return LineError{Line: line, Text: textutil.Truncate(textutil.Clean(textutil.Truncate(text, 320), 0), 80), Problem: problem}
}

// tally counts what a source's lines gave and keeps the first samples.
type tally struct {
	parseErrors, rejected int
	samples               []LineError
}

func (t *tally) bad(e LineError)    { t.parseErrors++; t.sample(e) }
func (t *tally) reject(e LineError) { t.rejected++; t.sample(e) }
func (t *tally) sample(e LineError) {
	if len(t.samples) < maxSamples {
		t.samples = append(t.samples, e)
	}
}

// check refuses a list as a whole when it has no usable entry, or when more
// than maxInvalid of its lines could not be read: a page of something else.
func (t *tally) check(entries int, maxInvalid float64) error {
	total := entries + t.parseErrors + t.rejected
	if entries == 0 {
		return errorf(ErrNotList, "no usable entry in %d lines", total)
	}
	if float64(t.parseErrors) > maxInvalid*float64(total) {
		return errorf(ErrNotList, "%d of %d lines are not entries (at most %.0f%% may be)", t.parseErrors, total, 100*maxInvalid)
	}
	return nil
}
