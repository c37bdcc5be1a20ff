package admin

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// fieldType is how a field is shown in a form and parsed from one.
type fieldType string

const (
	ftText     fieldType = "text"
	ftTextarea fieldType = "textarea"
	ftBool     fieldType = "bool"
	ftSelect   fieldType = "select"
	ftTime     fieldType = "time"
	ftInt      fieldType = "int"
)

// field is one form field, named by the rule's (or the settings') json tag.
type field struct {
	Name    string
	Label   string
	Type    fieldType
	Options []string // for ftSelect
	Key     bool     // part of the rule's key: fixed once the rule exists
	Invert  bool     // a checkbox meaning the opposite of the stored bool ("Active" for disabled)
	Param   string   // the form's name for the field, when not Name
	Help    string
}

// Form is the field's name in a form.
func (f field) Form() string {
	if f.Param != "" {
		return f.Param
	}
	return f.Name
}

// formTime is the datetime-local form of a time, read and written in UTC.
const formTime = "2006-01-02T15:04"

var timeType = reflect.TypeFor[time.Time]()

// jsonIndex maps the json names of t's fields (embedded ones included) to
// their indexes.
func jsonIndex(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = f.Index
		}
	}
	return m
}

// formValue is the value of f in v as a form shows it.
func formValue(v reflect.Value, f field) string {
	switch x := v.Interface().(type) {
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(formTime)
	case bool:
		return strconv.FormatBool(x != f.Invert)
	}
	if v.CanInt() {
		return strconv.FormatInt(v.Int(), 10)
	}
	return v.String()
}

// setForm sets f of the struct dst (addressable) from a form. A checkbox
// absent from the form is false. typ names the kind in errors.
func setForm(dst reflect.Value, idx []int, f field, form url.Values, typ string) error {
	v := dst.FieldByIndex(idx)
	raw := form.Get(f.Form())
	switch {
	case f.Type == ftBool:
		on := raw == "on" || raw == "true" || raw == "1" || raw == "yes"
		v.SetBool(on != f.Invert)
	case v.Type() == timeType:
		t, err := parseFormTime(raw)
		if err != nil {
			return fieldErr(typ, f.Name, raw, "must be a date and time (2006-01-02T15:04, UTC) or RFC 3339")
		}
		v.Set(reflect.ValueOf(t))
	case v.CanInt():
		raw = strings.TrimSpace(raw)
		if raw == "" {
			raw = "0"
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return fieldErr(typ, f.Name, raw, "must be a whole number")
		}
		v.SetInt(n)
	default:
		v.SetString(raw)
	}
	return nil
}

// parseFormTime reads a datetime-local value (UTC) or RFC 3339; "" is zero.
func parseFormTime(raw string) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{formTime, "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, raw, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, strconv.ErrSyntax
}
