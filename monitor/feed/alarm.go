package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Alarm is one message of the alarm stream: a device-originated alarm, shaped
// like an IHE PCD Alarm Communication Management (ACM) report. A device sends
// one message per transition of an alarm instance (phase start, escalate,
// de-escalate, end) and may repeat its current state (phase continue).
//
//	{"id":"HR-HI-0042","seq":311,"ts":1732400000000,"code":196648,"param":147842,
//	 "priority":"medium","source":"physiological","phase":"start","state":"active",
//	 "value":134,"limit":120,"unit":"/min","text":"HR 134 > 120"}
type Alarm struct {
	ID           string        // device-unique alarm instance id: 1–64 printable ASCII, no spaces (required)
	Seq          uint32        // device sequence number of alarm messages (required)
	TsMs         int64         // time of this transition, Unix ms UTC, 2000..2200 (required)
	Code         uint32        // MDC code of the alarm condition (e.g. 196648 MDC_EVT_HI); 0 = uncoded, Text alone describes it
	Param        uint32        // MDC code of the parameter the alarm is about (e.g. 150456 SpO2); 0 = none
	Priority     AlarmPriority // required
	Source       AlarmSource   // required
	Phase        AlarmPhase    // required
	State        AlarmState    // required; must agree with Phase (Validate)
	Inactivation Inactivation  // optional; "" = none
	Value        *float64      // optional measured value, finite
	Limit        *float64      // optional limit that was crossed, finite
	Unit         string        // optional unit of Value and Limit (UCUM), ≤ 32 characters
	Text         string        // required alarm message, 1–256 characters, one line
}

// AlarmPriority is the alarm's priority (IEC 60601-1-8); none is an
// information signal that is shown but never sounds.
type AlarmPriority string

// AlarmSource tells a physiological alarm (about the patient) from a technical
// one (about the equipment: leads off, probe off, low battery, ...).
type AlarmSource string

// AlarmPhase is the transition a message reports (IHE ACM event phase).
type AlarmPhase string

// AlarmState is whether the alarm condition exists now (IHE ACM alarm state):
// active, or latched (it ended but is held until acknowledged), or inactive.
type AlarmState string

// Inactivation is the alarm's inactivation state at the device (IHE ACM
// inactivation state; IEC 60601-1-8 vocabulary).
type Inactivation string

// The vocabulary of the alarm stream.
const (
	AlarmHigh   AlarmPriority = "high"
	AlarmMedium AlarmPriority = "medium"
	AlarmLow    AlarmPriority = "low"
	AlarmInfo   AlarmPriority = "none" // information signal, no alarm priority

	SourcePhysiological AlarmSource = "physiological"
	SourceTechnical     AlarmSource = "technical"

	PhaseStart      AlarmPhase = "start"
	PhaseContinue   AlarmPhase = "continue"
	PhaseEnd        AlarmPhase = "end"
	PhaseEscalate   AlarmPhase = "escalate"
	PhaseDeEscalate AlarmPhase = "de-escalate"

	StateActive   AlarmState = "active"
	StateLatched  AlarmState = "latched"
	StateInactive AlarmState = "inactive"

	InactivationNone         Inactivation = ""
	InactivationAudioPaused  Inactivation = "audio-paused"
	InactivationAudioOff     Inactivation = "audio-off"
	InactivationAlarmPaused  Inactivation = "alarm-paused"
	InactivationAlarmOff     Inactivation = "alarm-off"
	InactivationAcknowledged Inactivation = "acknowledged"
)

// MDC event codes a device commonly puts in Alarm.Code
// (clinical-reference.md §3).
const (
	MDCEvtHi   uint32 = 196648 // MDC_EVT_HI: value above its high limit
	MDCEvtInop uint32 = 196660 // MDC_EVT_INOP: technical, measurement inoperable
)

// Limits of the string fields of the alarm and event streams.
const (
	MaxIDLen   = 64  // bytes of printable ASCII
	MaxTextLen = 256 // characters
	MaxUnitLen = 32  // characters
)

// Valid reports whether p is a priority of this protocol version.
func (p AlarmPriority) Valid() bool {
	switch p {
	case AlarmHigh, AlarmMedium, AlarmLow, AlarmInfo:
		return true
	}
	return false
}

// Valid reports whether s is a source of this protocol version.
func (s AlarmSource) Valid() bool { return s == SourcePhysiological || s == SourceTechnical }

// Valid reports whether p is a phase of this protocol version.
func (p AlarmPhase) Valid() bool {
	switch p {
	case PhaseStart, PhaseContinue, PhaseEnd, PhaseEscalate, PhaseDeEscalate:
		return true
	}
	return false
}

// Valid reports whether s is an alarm state of this protocol version.
func (s AlarmState) Valid() bool {
	return s == StateActive || s == StateLatched || s == StateInactive
}

// Valid reports whether i is an inactivation state of this protocol version
// (the empty string, none, included).
func (i Inactivation) Valid() bool {
	switch i {
	case InactivationNone, InactivationAudioPaused, InactivationAudioOff,
		InactivationAlarmPaused, InactivationAlarmOff, InactivationAcknowledged:
		return true
	}
	return false
}

// phaseAllows reports which states a message of each phase may carry: an alarm
// starts active; it escalates or de-escalates while active; it ends inactive,
// or latched when the device holds it until acknowledged; a repeat of the
// current state (continue) is active or latched.
func phaseAllows(p AlarmPhase, s AlarmState) bool {
	switch p {
	case PhaseStart, PhaseEscalate, PhaseDeEscalate:
		return s == StateActive
	case PhaseContinue:
		return s == StateActive || s == StateLatched
	case PhaseEnd:
		return s == StateInactive || s == StateLatched
	}
	return false
}

type alarmWire struct {
	ID           *string  `json:"id"`
	Seq          *uint32  `json:"seq"`
	Ts           *int64   `json:"ts"`
	Code         uint32   `json:"code,omitempty"`
	Param        uint32   `json:"param,omitempty"`
	Priority     string   `json:"priority"`
	Source       string   `json:"source"`
	Phase        string   `json:"phase"`
	State        string   `json:"state"`
	Inactivation string   `json:"inactivation,omitempty"`
	Value        *float64 `json:"value,omitempty"`
	Limit        *float64 `json:"limit,omitempty"`
	Unit         string   `json:"unit,omitempty"`
	Text         string   `json:"text"`
}

var alarmMembers = []string{"id", "seq", "ts", "code", "param", "priority", "source", "phase",
	"state", "inactivation", "value", "limit", "unit", "text"}

// DecodeAlarm decodes and validates an alarm message. Errors wrap ErrInvalid.
func DecodeAlarm(b []byte) (Alarm, error) {
	var w alarmWire
	if err := strictObject(b, &w, alarmMembers); err != nil {
		return Alarm{}, fmt.Errorf("%w: alarm: %v", ErrInvalid, err)
	}
	if w.ID == nil || w.Seq == nil || w.Ts == nil {
		return Alarm{}, fmt.Errorf("%w: alarm: id, seq and ts are required", ErrInvalid)
	}
	a := Alarm{
		ID: *w.ID, Seq: *w.Seq, TsMs: *w.Ts, Code: w.Code, Param: w.Param,
		Priority: AlarmPriority(w.Priority), Source: AlarmSource(w.Source),
		Phase: AlarmPhase(w.Phase), State: AlarmState(w.State), Inactivation: Inactivation(w.Inactivation),
		Value: w.Value, Limit: w.Limit, Unit: w.Unit, Text: w.Text,
	}
	if err := a.Validate(); err != nil {
		return Alarm{}, err
	}
	return a, nil
}

// Validate checks a against the rules of the alarm stream; DecodeAlarm
// returns only alarms that pass. Errors wrap ErrInvalid.
func (a *Alarm) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: alarm: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case !validID(a.ID):
		return bad("id %q: want 1-%d printable ASCII characters without spaces", a.ID, MaxIDLen)
	case a.TsMs < minStartMs || a.TsMs > maxStartMs:
		return bad("ts %d out of range", a.TsMs)
	case !a.Priority.Valid():
		return bad("priority %q: want high, medium, low or none", a.Priority)
	case !a.Source.Valid():
		return bad("source %q: want physiological or technical", a.Source)
	case !a.Phase.Valid():
		return bad("phase %q: want start, continue, end, escalate or de-escalate", a.Phase)
	case !a.State.Valid():
		return bad("state %q: want active, latched or inactive", a.State)
	case !phaseAllows(a.Phase, a.State):
		return bad("state %q contradicts phase %q", a.State, a.Phase)
	case !a.Inactivation.Valid():
		return bad("inactivation %q: want audio-paused, audio-off, alarm-paused, alarm-off, acknowledged or none", a.Inactivation)
	case a.Value != nil && !finite(*a.Value):
		return bad("value %v is not a finite number", *a.Value)
	case a.Limit != nil && !finite(*a.Limit):
		return bad("limit %v is not a finite number", *a.Limit)
	case !validText(a.Unit, 0, MaxUnitLen):
		return bad("unit: want at most %d printable characters", MaxUnitLen)
	case !validText(a.Text, 1, MaxTextLen) || strings.TrimSpace(a.Text) == "":
		return bad("text: want 1-%d printable characters on one line, not all blank", MaxTextLen)
	}
	return nil
}

// EncodeAlarm encodes an alarm message. It does not validate a; see Validate.
func EncodeAlarm(a Alarm) []byte {
	return mustMarshal(alarmWire{
		ID: &a.ID, Seq: &a.Seq, Ts: &a.TsMs, Code: a.Code, Param: a.Param,
		Priority: string(a.Priority), Source: string(a.Source), Phase: string(a.Phase),
		State: string(a.State), Inactivation: string(a.Inactivation),
		Value: a.Value, Limit: a.Limit, Unit: a.Unit, Text: a.Text,
	})
}

// Event is one message of the event stream: a point event with no duration,
// such as a nurse call.
//
//	{"id":"CALL-0007","seq":12,"ts":1732400000000,"kind":"nurse_call","text":"bathroom"}
type Event struct {
	ID   string    // device-unique event id: 1–64 printable ASCII, no spaces (required)
	Seq  uint32    // device sequence number of event messages (required)
	TsMs int64     // time of the event, Unix ms UTC, 2000..2200 (required)
	Kind EventKind // required
	Text string    // optional note, ≤ 256 characters, one line
}

// EventKind is what happened.
type EventKind string

// The kinds of the event stream.
const (
	EventNurseCall       EventKind = "nurse_call"        // the patient called for a nurse
	EventNurseCallCancel EventKind = "nurse_call_cancel" // the call was cancelled (at the bed or by staff)
	EventStaffPresent    EventKind = "staff_present"     // staff registered presence at the bed
	EventButton          EventKind = "button"            // the device's marker/event button was pressed
	EventFall            EventKind = "fall"              // a fall was detected
)

// Valid reports whether k is an event kind of this protocol version.
func (k EventKind) Valid() bool {
	switch k {
	case EventNurseCall, EventNurseCallCancel, EventStaffPresent, EventButton, EventFall:
		return true
	}
	return false
}

type eventWire struct {
	ID   *string `json:"id"`
	Seq  *uint32 `json:"seq"`
	Ts   *int64  `json:"ts"`
	Kind string  `json:"kind"`
	Text string  `json:"text,omitempty"`
}

var eventMembers = []string{"id", "seq", "ts", "kind", "text"}

// DecodeEvent decodes and validates an event message. Errors wrap ErrInvalid.
func DecodeEvent(b []byte) (Event, error) {
	var w eventWire
	if err := strictObject(b, &w, eventMembers); err != nil {
		return Event{}, fmt.Errorf("%w: event: %v", ErrInvalid, err)
	}
	if w.ID == nil || w.Seq == nil || w.Ts == nil {
		return Event{}, fmt.Errorf("%w: event: id, seq and ts are required", ErrInvalid)
	}
	e := Event{ID: *w.ID, Seq: *w.Seq, TsMs: *w.Ts, Kind: EventKind(w.Kind), Text: w.Text}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// Validate checks e against the rules of the event stream; DecodeEvent
// returns only events that pass. Errors wrap ErrInvalid.
func (e *Event) Validate() error {
	switch {
	case !validID(e.ID):
		return fmt.Errorf("%w: event: id %q: want 1-%d printable ASCII characters without spaces", ErrInvalid, e.ID, MaxIDLen)
	case e.TsMs < minStartMs || e.TsMs > maxStartMs:
		return fmt.Errorf("%w: event: ts %d out of range", ErrInvalid, e.TsMs)
	case !e.Kind.Valid():
		return fmt.Errorf("%w: event: kind %q: want nurse_call, nurse_call_cancel, staff_present, button or fall", ErrInvalid, e.Kind)
	case !validText(e.Text, 0, MaxTextLen):
		return fmt.Errorf("%w: event: text: want at most %d printable characters on one line", ErrInvalid, MaxTextLen)
	}
	return nil
}

// EncodeEvent encodes an event message. It does not validate e; see Validate.
func EncodeEvent(e Event) []byte {
	return mustMarshal(eventWire{ID: &e.ID, Seq: &e.Seq, Ts: &e.TsMs, Kind: string(e.Kind), Text: e.Text})
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validID: 1..MaxIDLen bytes of printable ASCII other than space.
func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// validText: lo..hi characters of valid UTF-8 with no control characters
// (so no line breaks).
func validText(s string, lo, hi int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	if n < lo || n > hi {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' // line and paragraph separators
	}) < 0
}

// mustMarshal encodes v as compact JSON, leaving <, > and & as they are (an
// alarm text reads "HR 134 > 120", not "HR 134 \u003e 120").
func mustMarshal(v any) []byte {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		panic(err) // plain types only; cannot fail
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// strictObject decodes a JSON object into v (unknown members rejected, see
// strictUnmarshal), then checks what encoding/json lets through: member names
// must match exactly (encoding/json matches them case-insensitively) and each
// may appear only once (encoding/json keeps the last).
func strictObject(b []byte, v any, members []string) error {
	if err := strictUnmarshal(b, v); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	var seen uint64 // members has at most 64 names
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		k := -1
		for i, m := range members {
			if m == name {
				k = i
				break
			}
		}
		if k < 0 {
			return fmt.Errorf("unknown member %q (names are lower case)", name)
		}
		if seen&(1<<k) != 0 {
			return fmt.Errorf("member %q given twice", name)
		}
		seen |= 1 << k
		// Every member of these messages is a scalar (strictUnmarshal has
		// checked the types), so its value is exactly one token.
		if t, err = d.Token(); err != nil {
			return err
		}
		if _, ok := t.(json.Delim); ok {
			return fmt.Errorf("member %q is not a scalar", name)
		}
	}
	return nil
}
