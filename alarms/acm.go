package alarms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The station-to-station alarm state message, published retained at QoS 1
// on vigil/v1/<ward>/alarms/<bed>/<id> (docs/feed-protocol.md). Its fields
// follow the IHE ACM alarm report (id, phase, state, inactivation state),
// extended with what another station needs to merge it: who acknowledged
// where, the escalation level, responsibility accepted or rejected.
type stateWire struct {
	ID           string   `json:"id"`
	Bed          string   `json:"bed"`
	Code         string   `json:"code"`
	Key          string   `json:"key"`
	Priority     string   `json:"priority"`
	Source       string   `json:"source"`
	Origin       string   `json:"origin"`
	Phase        string   `json:"phase"`
	State        string   `json:"state"`
	Inactivation string   `json:"inactivation"`
	Value        *float64 `json:"value"`
	Limit        *float64 `json:"limit"`
	Message      string   `json:"message"`
	Onset        int64    `json:"onset"`
	Updated      int64    `json:"updated"`
	By           string   `json:"by"`
	Station      string   `json:"station"`
	Latching     bool     `json:"latching"`
	AckedBy      string   `json:"acked_by,omitempty"`
	AckedRole    string   `json:"acked_role,omitempty"`
	AckedAt      string   `json:"acked_at,omitempty"`
	Escalation   int      `json:"escalation"`
	EscalatedAt  int64    `json:"escalated_at,omitempty"`
	AcceptedBy   string   `json:"accepted_by,omitempty"`
	AcceptedRole string   `json:"accepted_role,omitempty"`
	RejectedBy   []string `json:"rejected_by,omitempty"`
}

// ErrState is wrapped by DecodeState for a message it refuses.
var ErrState = errors.New("invalid alarm state message")

// StateTopic is the topic of an alarm's state.
func StateTopic(root, ward string, a Alarm) string {
	return root + "/" + ward + "/alarms/" + a.Bed + "/" + a.ID
}

func optional(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// EncodeState encodes an alarm as the station-to-station message.
func EncodeState(a Alarm) ([]byte, error) {
	w := stateWire{ID: a.ID, Bed: a.Bed, Code: a.Code, Key: a.Key, Priority: a.Priority.String(), Message: a.Message,
		Onset: ms(a.Onset), Updated: ms(a.Updated), By: a.By, Station: a.Station, Latching: a.Latching,
		AckedBy: a.AckedBy, AckedAt: a.AckedAt, Escalation: a.Escalation, EscalatedAt: ms(a.EscalatedAt),
		AcceptedBy: a.AcceptedBy, RejectedBy: a.RejectedBy, Value: optional(a.Value), Limit: optional(a.Limit)}
	if a.AckedBy != "" {
		w.AckedRole = a.AckedRole.String()
	}
	if a.AcceptedBy != "" {
		w.AcceptedRole = a.AcceptedRole.String()
	}
	w.Source, w.Origin = "physiological", "station"
	switch a.Source {
	case Technical:
		w.Source = "technical"
	case Device:
		w.Origin = "device"
	case DeviceTechnical:
		w.Source, w.Origin = "technical", "device"
	}
	w.Phase, w.State, w.Inactivation = ACM(a)
	if err := w.check(); err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// ACM is an alarm's IHE ACM phase (start, continue, escalate, end), state
// (active, latched, inactive) and inactivation state ("acknowledged",
// "audio-paused" or none) at its latest change.
func ACM(a Alarm) (phase, state, inactivation string) {
	switch {
	case a.Resolved:
		phase, state = "end", "inactive"
	case a.Ended:
		phase, state = "continue", "latched"
	case a.Escalation > 0 && a.EscalatedAt.Equal(a.Updated):
		phase, state = "escalate", "active"
	case a.Onset.Equal(a.Updated):
		phase, state = "start", "active"
	default:
		phase, state = "continue", "active"
	}
	switch {
	case a.Acked:
		inactivation = "acknowledged"
	case a.AudioPaused.After(a.Updated):
		inactivation = "audio-paused"
	}
	return phase, state, inactivation
}

// topicSafe: 1–128 characters, letters, digits and - _ . only, so that an
// id or bed can be a topic level.
func topicSafe(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

func printable(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

const (
	minMs = 946684800000  // 2000-01-01
	maxMs = 7258118400000 // 2200-01-01
)

func (w *stateWire) check() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: %s", ErrState, fmt.Sprintf(f, a...)) }
	switch {
	case !topicSafe(w.ID, 128):
		return bad("id %q: 1-128 letters, digits, '-', '_' or '.'", w.ID)
	case !topicSafe(w.Bed, 32):
		return bad("bed %q: 1-32 letters, digits, '-', '_' or '.'", w.Bed)
	case !printable(w.Code, 80) || w.Code == "":
		return bad("code: 1-80 printable characters")
	case !printable(w.Key, 200) || !strings.HasPrefix(w.Key, w.Bed+"/"):
		return bad("key %q: the bed, '/', then at most 200 printable characters", w.Key)
	case w.Message == "" || !printable(w.Message, 256):
		return bad("message: 1-256 printable characters")
	case !printable(w.By, 64) || !printable(w.AckedBy, 64) || !printable(w.AcceptedBy, 64):
		return bad("user names: at most 64 printable characters")
	case !topicSafe(w.Station, 64) || (w.AckedAt != "" && !topicSafe(w.AckedAt, 64)):
		return bad("station %q: 1-64 letters, digits, '-', '_' or '.'", w.Station)
	case w.Onset < minMs || w.Onset > maxMs || w.Updated < minMs || w.Updated > maxMs ||
		(w.EscalatedAt != 0 && (w.EscalatedAt < minMs || w.EscalatedAt > maxMs)):
		return bad("times must be Unix ms between 2000 and 2200")
	case w.Escalation < 0 || w.Escalation > 2:
		return bad("escalation %d: 0, 1 or 2", w.Escalation)
	case len(w.AckedRole) > 16 || len(w.AcceptedRole) > 16:
		return bad("roles: at most 16 characters")
	case len(w.RejectedBy) > 32:
		return bad("rejected_by: at most 32 names")
	}
	for _, v := range []*float64{w.Value, w.Limit} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return bad("value and limit must be finite")
		}
	}
	for _, r := range w.RejectedBy {
		if r == "" || !printable(r, 64) {
			return bad("rejected_by: names of 1-64 printable characters")
		}
	}
	ok := map[string][]string{
		"priority":     {"high", "medium", "low"},
		"source":       {"physiological", "technical"},
		"origin":       {"station", "device"},
		"phase":        {"start", "continue", "escalate", "end"},
		"state":        {"active", "latched", "inactive"},
		"inactivation": {"", "acknowledged", "audio-paused"},
	}
	for field, v := range map[string]string{"priority": w.Priority, "source": w.Source, "origin": w.Origin,
		"phase": w.Phase, "state": w.State, "inactivation": w.Inactivation} {
		if !slices.Contains(ok[field], v) {
			return bad("%s %q: one of %s", field, v, strings.Join(ok[field], ", "))
		}
	}
	if (w.Phase == "end") != (w.State == "inactive") {
		return bad("phase %q does not agree with state %q", w.Phase, w.State)
	}
	return nil
}

// NoRole is the role of an action whose message names none: it may do nothing.
const NoRole Role = -1

func wireRole(s string) Role {
	r, err := ParseRole(s)
	if err != nil {
		return NoRole
	}
	return r
}

// DecodeState decodes and validates another station's alarm state message.
func DecodeState(b []byte) (Alarm, error) {
	var w stateWire
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return Alarm{}, fmt.Errorf("%w: %v", ErrState, err)
	}
	if d.More() {
		return Alarm{}, fmt.Errorf("%w: trailing data", ErrState)
	}
	if err := w.check(); err != nil {
		return Alarm{}, err
	}
	a := Alarm{ID: w.ID, Onset: time.UnixMilli(w.Onset), Updated: time.UnixMilli(w.Updated), By: w.By, Station: w.Station,
		Ended: w.State == "latched", Resolved: w.State == "inactive", Acked: w.Inactivation == "acknowledged",
		AckedBy: w.AckedBy, AckedAt: w.AckedAt, Escalation: w.Escalation, AcceptedBy: w.AcceptedBy, RejectedBy: w.RejectedBy}
	if w.EscalatedAt != 0 {
		a.EscalatedAt = time.UnixMilli(w.EscalatedAt)
	}
	if w.AckedBy != "" {
		a.AckedRole = wireRole(w.AckedRole)
	}
	if w.AcceptedBy != "" {
		a.AcceptedRole = wireRole(w.AcceptedRole)
	}
	a.Condition = Condition{Key: w.Key, Bed: w.Bed, Code: w.Code, Message: w.Message,
		Latching: w.Latching, Value: math.NaN(), Limit: math.NaN()}
	if w.Value != nil {
		a.Value = *w.Value
	}
	if w.Limit != nil {
		a.Limit = *w.Limit
	}
	switch w.Priority {
	case "high":
		a.Priority = High
	case "medium":
		a.Priority = Medium
	default:
		a.Priority = Low
	}
	switch {
	case w.Origin == "device" && w.Source == "technical":
		a.Source = DeviceTechnical
	case w.Origin == "device":
		a.Source = Device
	case w.Source == "technical":
		a.Source = Technical
	}
	return a, nil
}
