package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// maxKeyRunes is where Text cuts a long key (a path) with "…".
	maxKeyRunes = 60
	// maxHourLines is the longest period, in hours, whose every hour Text
	// lists; a longer one gets its busiest hours instead.
	maxHourLines = 48
	busiestHours = 10
	barWidth     = 30
)

// Text renders r as plain text for a terminal or an e-mail body: the
// period, the totals, then one section per list. Keys that hold control
// characters, invalid UTF-8 or bidirectional controls (a path is chosen by
// whoever sent the request) are shown quoted with Go escapes, so no key can
// start a line of its own or reorder the text around it; keys longer than
// 60 characters are cut with "…".
func (r *Report) Text() string {
	var b strings.Builder
	p := r.Period
	fmt.Fprintf(&b, "warden security report\n%s to %s (%s)\n\n",
		p.Since.UTC().Format(time.DateTime+" MST"), p.Until.UTC().Format(time.DateTime+" MST"), span(p.Until.Sub(p.Since)))
	table(&b, "", []Count{
		{"Events", r.Total},
		{"Rate-limit denials", r.RateLimitDenials},
		{"Lockouts", r.Lockouts},
		{"Suspicious logins", r.SuspiciousLogins},
		{"New auto-blocked IPs", r.AutoBlocks.IPs},
		{"New auto-blocked countries", r.AutoBlocks.Countries},
	})
	table(&b, "Events by action", r.ByAction)
	table(&b, "Top IPs", r.TopIPs)
	table(&b, "Top countries", r.TopCountries)
	table(&b, "Busiest paths", r.TopPaths)
	table(&b, "Auto-blocked IPs", r.AutoBlocks.TopIPs)
	table(&b, "Auto-blocked countries", r.AutoBlocks.TopCountries)
	r.hours(&b)
	return b.String()
}

// table writes a titled list, keys left and counts right-aligned.
func table(b *strings.Builder, title string, rows []Count) {
	if title != "" {
		b.WriteString("\n" + title + "\n")
	}
	if len(rows) == 0 {
		b.WriteString("  (none)\n")
		return
	}
	keys, nums := make([]string, len(rows)), make([]string, len(rows))
	kw, nw := 0, 0
	for i, c := range rows {
		keys[i], nums[i] = shown(c.Key), num(c.Count)
		kw, nw = max(kw, utf8.RuneCountInString(keys[i])), max(nw, len(nums[i]))
	}
	for i := range rows {
		fmt.Fprintf(b, "  %s%s  %*s\n", keys[i], strings.Repeat(" ", kw-utf8.RuneCountInString(keys[i])), nw, nums[i])
	}
}

// hours writes the events per hour with a bar each, or the busiest hours
// of a period longer than maxHourLines.
func (r *Report) hours(b *strings.Builder) {
	hs := r.PerHour
	title := "Events per hour (UTC)"
	if len(hs) > maxHourLines {
		hs = slices.DeleteFunc(slices.Clone(hs), func(h HourCount) bool { return h.Count == 0 })
		slices.SortStableFunc(hs, func(a, b HourCount) int { return cmp.Compare(b.Count, a.Count) })
		hs, title = hs[:min(len(hs), busiestHours)], "Busiest hours (UTC)"
	}
	b.WriteString("\n" + title + "\n")
	if len(hs) == 0 {
		b.WriteString("  (none)\n")
		return
	}
	var most int64
	nw := 0
	for _, h := range hs {
		most, nw = max(most, h.Count), max(nw, len(num(h.Count)))
	}
	for _, h := range hs {
		bar := 0
		if most > 0 {
			bar = int((h.Count*barWidth + most - 1) / most)
		}
		line := fmt.Sprintf("  %s  %*s  %s", h.Hour.UTC().Format("2006-01-02 15:04"), nw, num(h.Count), strings.Repeat("#", bar))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

// shown makes a key safe to print on one line and cuts it to maxKeyRunes.
func shown(k string) string {
	if k == "" {
		return `""`
	}
	for _, c := range k {
		if c == utf8.RuneError || !unicode.IsGraphic(c) || unicode.Is(unicode.Bidi_Control, c) {
			k = strconv.QuoteToGraphic(k)
			break
		}
	}
	if utf8.RuneCountInString(k) > maxKeyRunes {
		k = string([]rune(k)[:maxKeyRunes-1]) + "…"
	}
	return k
}

// num writes n with a comma between thousands: 1,234,567.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// span writes a period's length: whole hours as "24h", else Duration's form.
func span(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}
