package ruleio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

// Neutralize returns s as a spreadsheet shows it but never runs it: with a
// leading single quote when s starts with =, +, -, @, a tab, a carriage
// return or a single quote (the last so that Import's unquoting is
// lossless).
func Neutralize(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r'", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// unneutralize undoes Neutralize.
func unneutralize(s string) string { return strings.TrimPrefix(s, "'") }

func writeCSV[T rule.Rule](w io.Writer, rows []T) error {
	fs := fieldsOf(reflect.TypeFor[T]())
	cw := csv.NewWriter(w)
	rec := make([]string, len(fs))
	for i, f := range fs {
		rec[i] = f.name
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("ruleio: write csv: %w", err)
	}
	for _, r := range rows {
		rv := reflect.ValueOf(r)
		for i, f := range fs {
			rec[i] = cell(rv.FieldByIndex(f.index))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("ruleio: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ruleio: write csv: %w", err)
	}
	return nil
}

func cell(v reflect.Value) string {
	if t, ok := v.Interface().(time.Time); ok {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10)
	default:
		return Neutralize(v.String())
	}
}

func readCSV[T rule.Rule](data []byte) ([]parsed[T], error) {
	cr := csv.NewReader(bytes.NewReader(data))
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: no CSV header row: %v", ErrFormat, err)
	}
	cols, err := columns(reflect.TypeFor[T](), header)
	if err != nil {
		return nil, err
	}
	var out []parsed[T]
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if len(out) == MaxRows {
			return nil, fmt.Errorf("%w: more than %d rows; split the file", ErrFormat, MaxRows)
		}
		line, _ := cr.FieldPos(0)
		p := parsed[T]{line: line}
		p.err = fromRecord(&p.v, cols, rec)
		out = append(out, p)
	}
}

// columns maps each header cell to its field; nil for created_at and
// updated_at, which are ignored.
func columns(t reflect.Type, header []string) ([]*field, error) {
	fs := fieldsOf(t)
	cols := make([]*field, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "created_at" || h == "updated_at" {
			continue
		}
		for j := range fs {
			if fs[j].name == h {
				cols[i] = &fs[j]
			}
		}
		if cols[i] == nil {
			return nil, fmt.Errorf("%w: unknown column %q for %s", ErrFormat, h, t.Name())
		}
	}
	return cols, nil
}

func fromRecord[T rule.Rule](dst *T, cols []*field, rec []string) error {
	rv := reflect.ValueOf(dst).Elem()
	for i, f := range cols {
		if f == nil {
			continue
		}
		if err := setCell(rv.FieldByIndex(f.index), rec[i]); err != nil {
			return fmt.Errorf("column %s: %w", f.name, err)
		}
	}
	return nil
}

// setCell stores s in v; text is kept as written (a User-Agent pattern may
// hold spaces), other cells are trimmed.
func setCell(v reflect.Value, s string) error {
	if v.Kind() == reflect.String {
		v.SetString(unneutralize(s))
		return nil
	}
	s = strings.TrimSpace(s)
	if v.Type() == timeType {
		if s == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time (2026-01-02T15:04:05Z)", s)
		}
		v.Set(reflect.ValueOf(t.UTC()))
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if s == "" {
			return nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}
