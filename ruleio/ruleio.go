package ruleio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// Format is an encoding of a rule list.
type Format string

// The formats Export and Import accept.
const (
	CSV  Format = "csv"
	JSON Format = "json"
)

// Limits on what Import reads.
const (
	MaxInputBytes = 16 << 20 // 16 MiB
	MaxRows       = 100_000
)

// ErrFormat is wrapped by errors about the input as a whole (unknown
// format, too large, not CSV or JSON, unknown column).
var ErrFormat = errors.New("ruleio: bad input")

// RowError is one refused row: Row is the 1-based line of a CSV file (the
// header is line 1) or the 1-based position in a JSON array.
type RowError struct {
	Row int
	Key string // the row's key as written, when it could be read
	Err error
}

func (e RowError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("row %d (%s): %v", e.Row, e.Key, e.Err)
	}
	return fmt.Sprintf("row %d: %v", e.Row, e.Err)
}

// ImportError lists every refused row; when Import returns it, it returns
// no rows.
type ImportError struct {
	Rows []RowError
}

func (e *ImportError) Error() string {
	msg := make([]string, 0, min(len(e.Rows), 5))
	for i, r := range e.Rows {
		if i == 5 {
			msg = append(msg, fmt.Sprintf("and %d more", len(e.Rows)-5))
			break
		}
		msg = append(msg, r.Error())
	}
	return fmt.Sprintf("ruleio: %d invalid rows, nothing imported: %s", len(e.Rows), strings.Join(msg, "; "))
}

// Unwrap makes errors.Is(err, rule.ErrInvalid) true.
func (e *ImportError) Unwrap() error { return rule.ErrInvalid }

// Export writes rows in format f. Times are written in UTC.
func Export[T rule.Rule](w io.Writer, f Format, rows []T) error {
	switch f {
	case CSV:
		return writeCSV(w, rows)
	case JSON:
		out := make([]T, len(rows))
		for i, r := range rows {
			out[i] = utcTimes(r)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return fmt.Errorf("%w: unknown format %q (want csv or json)", ErrFormat, f)
}

// Import reads rows in format f, validates and normalises each with
// rule.Normalize and refuses keys that appear twice. It returns every row,
// or an *ImportError naming each bad row, or an error wrapping ErrFormat.
func Import[T rule.Rule](r io.Reader, f Format) ([]T, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ruleio: read: %w", err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes; split the file", ErrFormat, MaxInputBytes)
	}
	var rows []parsed[T]
	switch f {
	case CSV:
		rows, err = readCSV[T](data)
	case JSON:
		rows, err = readJSON[T](data)
	default:
		err = fmt.Errorf("%w: unknown format %q (want csv or json)", ErrFormat, f)
	}
	if err != nil {
		return nil, err
	}
	return check(rows)
}

// parsed is a row as read, before validation; err is a decoding error.
type parsed[T rule.Rule] struct {
	line int
	v    T
	err  error
}

func check[T rule.Rule](rows []parsed[T]) ([]T, error) {
	var bad []RowError
	out := make([]T, 0, len(rows))
	seen := make(map[string]int, len(rows))
	for _, p := range rows {
		if p.err != nil {
			bad = append(bad, RowError{Row: p.line, Err: p.err})
			continue
		}
		n, err := rule.Normalize(rule.ApplyMeta(p.v, rule.Meta{}))
		if err != nil {
			bad = append(bad, RowError{Row: p.line, Key: p.v.Key(), Err: err})
			continue
		}
		if first, dup := seen[n.Key()]; dup {
			bad = append(bad, RowError{Row: p.line, Key: n.Key(), Err: fmt.Errorf("same key as row %d", first)})
			continue
		}
		seen[n.Key()] = p.line
		out = append(out, n)
	}
	if len(bad) > 0 {
		return nil, &ImportError{Rows: bad}
	}
	return out, nil
}

func readJSON[T rule.Rule](data []byte) ([]parsed[T], error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON array of rules: %v", ErrFormat, err)
	}
	if len(raw) > MaxRows {
		return nil, fmt.Errorf("%w: more than %d rows; split the file", ErrFormat, MaxRows)
	}
	out := make([]parsed[T], len(raw))
	for i, m := range raw {
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.DisallowUnknownFields()
		out[i].line = i + 1
		out[i].err = dec.Decode(&out[i].v)
	}
	return out, nil
}

var timeType = reflect.TypeFor[time.Time]()

// utcTimes returns v with every time.Time field in UTC.
func utcTimes[T rule.Rule](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	for _, f := range fieldsOf(rv.Type()) {
		if fv := rv.FieldByIndex(f.index); f.typ == timeType {
			fv.Set(reflect.ValueOf(fv.Interface().(time.Time).UTC()))
		}
	}
	return v
}

// field is one exported, json-tagged field of a rule type.
type field struct {
	name  string
	index []int
	typ   reflect.Type
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists t's json-tagged fields in declaration order, Meta's
// created_at and updated_at last and its id left out.
func fieldsOf(t reflect.Type) []field {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]field)
	}
	var own, meta []field
	for _, sf := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous || !sf.IsExported() || name == "" || name == "-" || name == "id" {
			continue
		}
		f := field{name: name, index: sf.Index, typ: sf.Type}
		if len(sf.Index) > 1 {
			meta = append(meta, f)
		} else {
			own = append(own, f)
		}
	}
	fs := append(own, meta...)
	fieldCache.Store(t, fs)
	return fs
}
