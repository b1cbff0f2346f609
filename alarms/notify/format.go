package notify

import (
	"fmt"
	"strings"

	"github.com/vigil-station/vigil/alarms"
)

const (
	clock = "15:04:05" // wall-clock format of notification bodies

	titleBeds = 3  // beds named in a summary's title
	bodyBeds  = 12 // beds named in a summary's body
)

// where names the note's bed as it appears in a title: "Bed 05", or
// "Station" for station-wide conditions (no bed).
func where(bed string) string {
	if bed == "" {
		return "Station"
	}
	return "Bed " + bed
}

// Title is the notification title of one note: "Bed 05 — *** SpO2 84 < 90",
// or "ESCALATED Bed 05 — *** SpO2 84 < 90" for an escalation.
func (n Note) Title() string {
	if n.Advisory {
		return where(n.Bed) + " — ADVISORY " + n.Text
	}
	t := where(n.Bed) + " — " + n.Text
	if n.Escalated {
		t = "ESCALATED " + t
	}
	return t
}

// Body is the notification body of one note: when, and what to do.
func (n Note) Body() string {
	at := n.At.Format(clock)
	if n.Advisory {
		body := at + " · advisory, not an alarm"
		if n.Detail != "" {
			body += ": " + n.Detail
		}
		return body + "."
	}
	act := "Go to bed " + n.Bed + " now and acknowledge it."
	if n.Bed == "" {
		act = "Check the central station now."
	}
	if n.Escalated {
		to := ""
		if n.Detail != "" {
			to = " " + n.Detail
		}
		return fmt.Sprintf("%s · escalated%s: %s priority, not acknowledged. %s", at, to, n.Priority, act)
	}
	if n.Priority == alarms.Medium {
		act = strings.Replace(act, " now ", " promptly ", 1)
	}
	return fmt.Sprintf("%s · new %s priority alarm. %s", at, n.Priority, act)
}

// summary is the one notification standing for notes held back by the rate
// limit (sorted by precedence) plus extra notes that did not fit the pending
// list at all: "*** +41 more alarms: Bed 03, Bed 07, Bed 12, …".
func summary(held []Note, extra int) (title, body string) {
	total := len(held) + extra
	top := alarms.Medium
	var high, medium, escalated int
	beds := make([]string, 0, len(held))
	seen := make(map[string]bool, len(held))
	since := held[0].At
	for _, n := range held {
		if n.Priority > top {
			top = n.Priority
		}
		if n.Priority == alarms.High {
			high++
		} else {
			medium++
		}
		if n.Escalated {
			escalated++
		}
		if n.At.Before(since) {
			since = n.At
		}
		if !seen[n.Bed] {
			seen[n.Bed] = true
			beds = append(beds, where(n.Bed))
		}
	}

	noun := "alarms"
	if total == 1 {
		noun = "alarm"
	}
	title = fmt.Sprintf("%s +%d more %s: %s", top.Prefix(), total, noun, list(beds, titleBeds, false))

	var b strings.Builder
	b.WriteString(list(beds, bodyBeds, true))
	fmt.Fprintf(&b, ". Held back since %s: %d high, %d medium", since.Format(clock), high, medium)
	if escalated > 0 {
		fmt.Fprintf(&b, " (%d escalated)", escalated)
	}
	if extra > 0 {
		fmt.Fprintf(&b, ", %d more not itemised", extra)
	}
	b.WriteString(". See the central station.")
	return title, b.String()
}

// list joins up to max names, then either "…" or, when counted, "and N more
// beds".
func list(names []string, max int, counted bool) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	head := strings.Join(names[:max], ", ")
	if !counted {
		return head + ", …"
	}
	rest := len(names) - max
	if rest == 1 {
		return head + " and 1 more bed"
	}
	return fmt.Sprintf("%s and %d more beds", head, rest)
}
