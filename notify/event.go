package notify

import (
	"strings"

	"github.com/wardenkit/warden/core"
)

// EventItem turns a core event into a batch item: the line reads
// "AUTO_BLOCK_IP 203.0.113.7 (CN): 40 denials in 10m" (country and details
// when set) and Data is the event itself, whose JSON field names are the
// event log's.
func EventItem(e core.Event) Item {
	var b strings.Builder
	b.WriteString(string(e.Action))
	if e.IP != "" {
		b.WriteString(" ")
		b.WriteString(e.IP)
	}
	if e.CountryCode != "" {
		b.WriteString(" (")
		b.WriteString(e.CountryCode)
		b.WriteString(")")
	}
	if e.Details != "" {
		b.WriteString(": ")
		b.WriteString(e.Details)
	}
	return Item{Time: e.CreatedAt, Line: b.String(), Data: e}
}
