package acmatch

import (
	"strings"
	"testing"
)

func TestScanAtReportsEnds(t *testing.T) {
	m, err := BuildFold([]string{"bot", "sqlmap", "ab"})
	if err != nil {
		t.Fatal(err)
	}
	text := "xxBOT ab sqlmap bot"
	var got []string
	m.ScanAt([]byte(text), func(p, end int) bool {
		lit := []string{"bot", "sqlmap", "ab"}[p]
		got = append(got, strings.ToLower(text[end-len(lit):end]))
		return false
	})
	want := "bot ab sqlmap bot"
	if strings.Join(got, " ") != want {
		t.Fatalf("occurrences %q, want %q", strings.Join(got, " "), want)
	}
	if n := testing.AllocsPerRun(100, func() { m.ScanAt([]byte(text), func(int, int) bool { return false }) }); n != 0 {
		t.Fatalf("ScanAt allocates %v times", n)
	}
}
