package bunstore

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// cutStrings cuts every string column of every row type to its column's
// length, on a rune boundary, and cleans NUL bytes and invalid UTF-8.
func TestCutStrings(t *testing.T) {
	s, err := Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows := []any{&blockedIPRow{}, &whitelistedIPRow{}, &blockedCountryRow{}, &allowedCountryRow{},
		&blockedUserAgentRow{}, &whitelistedUserRow{}, &blockedEmailRow{}, &blockedDomainRow{}, &rateLimitRuleRow{},
		&settingsRow{}, &eventRow{}, &lockoutRow{}, &loginRow{}}
	long := "\x00\xff" + strings.Repeat("ß", 3000)
	for _, r := range rows {
		v := reflect.ValueOf(r).Elem()
		tbl := s.db.Table(v.Type())
		limits, ok := columnLimits[tbl.Name]
		if !ok {
			t.Fatalf("%s: no column limits", tbl.Name)
		}
		for _, f := range tbl.Fields {
			if fv := f.Value(v); fv.Kind() == reflect.String {
				fv.SetString(long)
			}
		}
		s.cutStrings(r)
		n := 0
		for _, f := range tbl.Fields {
			fv := f.Value(v)
			if fv.Kind() != reflect.String {
				continue
			}
			n++
			got, max := fv.String(), limits[f.Name]
			if max == 0 {
				t.Errorf("%s.%s has no limit", tbl.Name, f.Name)
				continue
			}
			if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || utf8.RuneCountInString(got) != max ||
				!strings.HasPrefix(got, "\uFFFD") {
				t.Errorf("%s.%s = %d runes (valid %v), want %d cleaned runes", tbl.Name, f.Name,
					utf8.RuneCountInString(got), utf8.ValidString(got), max)
			}
		}
		if n != len(limits) {
			t.Errorf("%s: %d string columns, %d limits", tbl.Name, n, len(limits))
		}
	}
}
