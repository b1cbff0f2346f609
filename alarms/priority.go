// Package alarms is Vigil's alarm domain, shaped by IEC 60601-1-8: priorities,
// physiological and technical conditions, states (acknowledged, audio paused,
// latched) and escalation. It never imports fyne, paho or database/sql.
//
// Priority is the vocabulary the rest of the station (tile colours, message
// prefixes) speaks; Engine is the state machine of one station's alarms, its
// transition table in Engine's documentation.
package alarms

import (
	"fmt"
	"strings"
)

// Priority of an alarm condition (clinical-reference.md §1).
type Priority int

// Priorities, in increasing urgency. None is "no alarm".
const (
	None Priority = iota
	Low
	Medium
	High
)

// String is the priority's name.
func (p Priority) String() string {
	switch p {
	case None:
		return "none"
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// Prefix is the text marker shown with an alarm message, so priority never
// depends on colour alone: "***" high, "**" medium, "*" low.
func (p Priority) Prefix() string {
	switch p {
	case High:
		return "***"
	case Medium:
		return "**"
	case Low:
		return "*"
	}
	return ""
}

// PriorityOfText reads the priority back from a text that starts with its
// Prefix (an alarm's journalled detail); None when there is none.
func PriorityOfText(text string) Priority {
	for _, p := range []Priority{High, Medium, Low} {
		if strings.HasPrefix(text, p.Prefix()) {
			return p
		}
	}
	return None
}

// FlashHz is the visual flashing frequency: high 2 Hz, medium 0.5 Hz (both
// 50 % duty, within the standard's 1.4–2.8 Hz and 0.4–0.8 Hz), low steady.
func (p Priority) FlashHz() float64 {
	switch p {
	case High:
		return 2
	case Medium:
		return 0.5
	}
	return 0
}
