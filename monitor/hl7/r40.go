package hl7

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// AlarmPriority is an IHE ACM alarm priority, sent in OBX-8 of the event
// identification and in the alarm priority OBX.
type AlarmPriority string

// AlarmSource is an IHE ACM alert type, sent in OBX-8 after the priority and
// in the alert type OBX.
type AlarmSource string

// AlarmPhase is an IHE ACM event phase.
type AlarmPhase string

// AlarmState is an IHE ACM alarm state.
type AlarmState string

// AlarmInactivation is an IHE ACM alarm inactivation state.
type AlarmInactivation string

// The IHE ACM vocabulary.
const (
	PriorityHigh   AlarmPriority = "PH"
	PriorityMedium AlarmPriority = "PM"
	PriorityLow    AlarmPriority = "PL"
	PriorityNone   AlarmPriority = "PN" // information signal, no alarm priority

	SourcePhysiological AlarmSource = "SP"
	SourceTechnical     AlarmSource = "ST"
	SourceAdvisory      AlarmSource = "SA"

	PhaseStart      AlarmPhase = "start"
	PhaseContinue   AlarmPhase = "continue"
	PhaseEnd        AlarmPhase = "end"
	PhaseEscalate   AlarmPhase = "escalate"
	PhaseDeEscalate AlarmPhase = "de-escalate"

	StateActive   AlarmState = "active"
	StateInactive AlarmState = "inactive"
	StateLatched  AlarmState = "latched"

	InactivationEnabled      AlarmInactivation = "enabled" // no inactivation
	InactivationAudioPaused  AlarmInactivation = "audio-paused"
	InactivationAudioOff     AlarmInactivation = "audio-off"
	InactivationAlarmPaused  AlarmInactivation = "alarm-paused"
	InactivationAlarmOff     AlarmInactivation = "alarm-off"
	InactivationAcknowledged AlarmInactivation = "alert-acknowledged"
)

// MDC codes of the ORU^R40 structure (IEEE 11073-10101, as used by IHE ACM).
const (
	MDCEvtAlarm              = "196616" // MDC_EVT_ALARM, OBR-4 of an alarm report
	MDCAttrAlertSource       = "68480"  // MDC_ATTR_ALERT_SOURCE
	MDCAttrEventPhase        = "68481"  // MDC_ATTR_EVENT_PHASE
	MDCAttrAlarmState        = "68482"  // MDC_ATTR_ALARM_STATE
	MDCAttrAlarmInactivation = "68483"  // MDC_ATTR_ALARM_INACTIVATION_STATE
	MDCAttrAlarmPriority     = "68484"  // MDC_ATTR_ALARM_PRIORITY
	MDCAttrAlertType         = "68485"  // MDC_ATTR_ALERT_TYPE
)

const (
	profileACM        = "IHE_PCD_ACM_001"
	profileACMOID     = "1.3.6.1.4.1.19376.1.6.4.4"
	defaultSourcePath = "1.0.0.0"
	mdcSystem         = "MDC"
	r40Version        = "2.6"
	eui64             = "EUI-64"
	maxAlarmText      = 1024
	maxAlarmIDLen     = 199 // EI.1 and MSH-10 limits of v2.6
)

// Coded is a coded element (CWE): identifier, text and coding system, e.g.
// {"196648", "MDC_EVT_HI", "MDC"}.
type Coded struct {
	Code, Text, System string
}

func (c Coded) empty() bool { return c.Code == "" && c.Text == "" && c.System == "" }

func (c Coded) encode(d Delimiters) string { return d.comp(c.Code, c.Text, c.System) }

// Alarm is one alarm transition to report with BuildR40 (IHE PCD-04 "Report
// Alert", ORU^R40).
type Alarm struct {
	ControlID string // MSH-10, unique per message (required)
	ID        string // alarm instance identifier, OBR-3.1; the same for every transition of one alarm (required)

	SendingApp        string // MSH-3.1 and OBR-3.2; DefaultApplication when empty
	SendingFacility   string // MSH-4.1
	ReceivingApp      string // MSH-5.1
	ReceivingFacility string // MSH-6.1

	PatientID     string // PID-3.1, when known
	PatientFamily string // PID-5.1
	PatientGiven  string // PID-5.2

	PointOfCare, Room, Bed string // PV1-3.1, PV1-3.2, PV1-3.3

	Event  Coded    // the alarm condition, OBX-3 of the event identification (required), e.g. {"196648", "MDC_EVT_HI", "MDC"}
	Param  Coded    // the measured parameter, e.g. {"150456", "MDC_PULS_OXIM_SAT_O2", "MDC"}; empty for none
	Value  *float64 // the measured value (finite), sent as NM with Unit and Limits; nil for none
	Unit   Coded    // unit of Value, e.g. {"262688", "MDC_DIM_PERCENT", "MDC"}
	Limits string   // alarm limits as a reference range (OBX-7), e.g. "90-100"

	Priority     AlarmPriority     // required
	Source       AlarmSource       // required
	Phase        AlarmPhase        // required
	State        AlarmState        // required
	Inactivation AlarmInactivation // InactivationEnabled when empty
	Text         string            // alarm text shown to the caregiver (required)
	Time         time.Time         // time of the transition (required)

	DeviceID   string // EUI-64 of the source device, OBX-18 of every OBX
	SourcePath string // containment path of the source (MDS.VMD.channel.metric), "1.0.0.0" when empty
}

// validate checks the alarm before it is encoded.
func (a *Alarm) validate() error {
	bad := func(format string, args ...any) error { return errorf(ErrAlarm, format, args...) }
	switch {
	case a.ControlID == "":
		return bad("control ID is empty")
	case len(a.ControlID) > maxAlarmIDLen:
		return bad("control ID longer than %d bytes", maxAlarmIDLen)
	case a.ID == "":
		return bad("alarm ID is empty")
	case len(a.ID) > maxAlarmIDLen:
		return bad("alarm ID longer than %d bytes", maxAlarmIDLen)
	case a.Event.Code == "":
		return bad("event code is empty")
	case a.Text == "":
		return bad("text is empty")
	case len(a.Text) > maxAlarmText:
		return bad("text longer than %d bytes", maxAlarmText)
	case a.Time.IsZero() || a.Time.Year() < 1 || a.Time.Year() > 9999:
		return bad("time %v is missing or out of range", a.Time)
	case a.Value != nil && (math.IsNaN(*a.Value) || math.IsInf(*a.Value, 0)):
		return bad("value %v is not finite", *a.Value)
	case a.Value != nil && a.Param.Code == "":
		return bad("a value needs the parameter code")
	}
	switch a.Priority {
	case PriorityHigh, PriorityMedium, PriorityLow, PriorityNone:
	default:
		return bad("priority %q, want PH, PM, PL or PN", a.Priority)
	}
	switch a.Source {
	case SourcePhysiological, SourceTechnical, SourceAdvisory:
	default:
		return bad("source %q, want SP, ST or SA", a.Source)
	}
	switch a.Phase {
	case PhaseStart, PhaseContinue, PhaseEnd, PhaseEscalate, PhaseDeEscalate:
	default:
		return bad("phase %q", a.Phase)
	}
	switch a.State {
	case StateActive, StateInactive, StateLatched:
	default:
		return bad("state %q", a.State)
	}
	switch a.Inactivation {
	case "", InactivationEnabled, InactivationAudioPaused, InactivationAudioOff,
		InactivationAlarmPaused, InactivationAlarmOff, InactivationAcknowledged:
	default:
		return bad("inactivation state %q", a.Inactivation)
	}
	if a.SourcePath != "" {
		parts := strings.Split(a.SourcePath, ".")
		if len(parts) != 4 {
			return bad("source path %q: want four dot-separated numbers", a.SourcePath)
		}
		for _, p := range parts {
			if p == "" || len(p) > 9 || !allDigits(p) {
				return bad("source path %q: want four dot-separated numbers", a.SourcePath)
			}
		}
	}
	return nil
}

// BuildR40 encodes an alarm transition as an IHE PCD-04 ORU^R40 message,
// version 2.6, with the default separators:
//
//	MSH  ORU^R40^ORU_R40, control ID, message profile IHE_PCD_ACM_001
//	PID  patient identifier and name when known
//	PV1  point of care ^ room ^ bed
//	OBR  alarm identifier (OBR-3), 196616^MDC_EVT_ALARM^MDC, time (OBR-7)
//	OBX  facet 1, event identification: OBX-3 the event code, OBX-5 the alarm
//	     text, OBX-8 the priority and alert type (PH~SP), OBX-14 the time
//	OBX  facet 2, source identification: the parameter with its value, unit
//	     and limits (NM), or 68480^MDC_ATTR_ALERT_SOURCE^MDC naming the
//	     parameter (CWE); only when Param is set
//	OBX  facet 3, event phase (68481^MDC_ATTR_EVENT_PHASE^MDC)
//	OBX  facet 4, alarm state (68482^MDC_ATTR_ALARM_STATE^MDC)
//	OBX  facet 5, inactivation state (68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC)
//	OBX  facet 6, alarm priority (68484^MDC_ATTR_ALARM_PRIORITY^MDC)
//	OBX  facet 7, alert type (68485^MDC_ATTR_ALERT_TYPE^MDC)
//
// OBX-4 of each OBX is the source path followed by the facet number
// (1.0.0.0.1 ... 1.0.0.0.7), which ties the OBX segments of the alarm
// together. All free text is escaped. It fails, wrapping ErrAlarm, when a
// required field is missing or a value is outside the vocabulary.
func BuildR40(a Alarm) ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("hl7: build ORU^R40: %w", err)
	}
	d := DefaultDelimiters
	app := a.SendingApp
	if app == "" {
		app = DefaultApplication
	}
	path := a.SourcePath
	if path == "" {
		path = defaultSourcePath
	}
	inact := a.Inactivation
	if inact == "" {
		inact = InactivationEnabled
	}
	when := FormatTime(a.Time)
	equipment := ""
	if a.DeviceID != "" {
		id := d.EscapeText(a.DeviceID)
		equipment = id + string(d.Component) + string(d.Component) + id + string(d.Component) + eui64
	}

	b := newBuilder(d)
	b.add("MSH").
		set(3, d.comp(app)).set(4, d.comp(a.SendingFacility)).
		set(5, d.comp(a.ReceivingApp)).set(6, d.comp(a.ReceivingFacility)).
		set(7, when).
		set(9, d.comp("ORU", "R40", "ORU_R40")).
		set(10, d.EscapeText(a.ControlID)).
		set(11, "P").
		set(12, r40Version).
		set(15, "AL").
		set(16, "NE").
		set(18, "UNICODE UTF-8").
		set(21, d.comp(profileACM, "IHE PCD", profileACMOID, "ISO"))
	pid := b.add("PID")
	if a.PatientID != "" {
		pid.set(3, d.comp(a.PatientID, "", "", "", "PI"))
	}
	if a.PatientFamily != "" || a.PatientGiven != "" {
		pid.set(5, d.comp(a.PatientFamily, a.PatientGiven, "", "", "", "", "L"))
	}
	b.add("PV1").set(2, "I").set(3, d.comp(a.PointOfCare, a.Room, a.Bed))
	b.add("OBR").
		set(1, "1").
		set(3, d.comp(a.ID, app)).
		set(4, d.comp(MDCEvtAlarm, "MDC_EVT_ALARM", mdcSystem)).
		set(7, when)

	setID := 0
	obx := func(facet int, valueType string, id Coded, value string) *Segment {
		setID++
		s := b.add("OBX").
			set(1, strconv.Itoa(setID)).
			set(2, valueType).
			set(3, id.encode(d)).
			set(4, path+"."+strconv.Itoa(facet)).
			set(5, value).
			set(11, "F")
		if equipment != "" {
			s.set(18, equipment)
		}
		return s
	}
	obx(1, "ST", a.Event, d.EscapeText(a.Text)).
		set(8, d.reps(string(a.Priority), string(a.Source))).
		set(14, when)
	if !a.Param.empty() {
		if a.Value != nil {
			s := obx(2, "NM", a.Param, strconv.FormatFloat(*a.Value, 'f', -1, 64))
			s.set(6, a.Unit.encode(d)).set(7, d.EscapeText(a.Limits))
		} else {
			obx(2, "CWE", Coded{MDCAttrAlertSource, "MDC_ATTR_ALERT_SOURCE", mdcSystem}, a.Param.encode(d))
		}
	}
	obx(3, "ST", Coded{MDCAttrEventPhase, "MDC_ATTR_EVENT_PHASE", mdcSystem}, string(a.Phase))
	obx(4, "ST", Coded{MDCAttrAlarmState, "MDC_ATTR_ALARM_STATE", mdcSystem}, string(a.State))
	obx(5, "ST", Coded{MDCAttrAlarmInactivation, "MDC_ATTR_ALARM_INACTIVATION_STATE", mdcSystem}, string(inact))
	obx(6, "ST", Coded{MDCAttrAlarmPriority, "MDC_ATTR_ALARM_PRIORITY", mdcSystem}, string(a.Priority))
	obx(7, "ST", Coded{MDCAttrAlertType, "MDC_ATTR_ALERT_TYPE", mdcSystem}, string(a.Source))
	return b.bytes(), nil
}
