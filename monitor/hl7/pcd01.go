package hl7

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Observation is one OBX segment of a PCD-01 message.
type Observation struct {
	SetID        string    // OBX-1
	ValueType    string    // OBX-2: NM, ST, CWE, ...; empty for the device hierarchy (MDS, VMD, channel) segments
	Code         string    // OBX-3.1, e.g. "150456"
	Text         string    // OBX-3.2, e.g. "MDC_PULS_OXIM_SAT_O2"
	CodingSystem string    // OBX-3.3, e.g. "MDC", or a local system such as "99ACME"
	SubID        string    // OBX-4, the containment path, e.g. "1.2.1.1"
	Value        string    // OBX-5, unescaped first component of the first repetition
	Number       float64   // OBX-5 as a number, when ValueType is NM and OBX-5 is not empty
	Numeric      bool      // Number holds a value
	UnitCode     string    // OBX-6.1, e.g. "262688"
	UnitText     string    // OBX-6.2, e.g. "MDC_DIM_PERCENT"
	UnitSystem   string    // OBX-6.3, e.g. "MDC"
	Range        string    // OBX-7 reference range (alarm limits), e.g. "90-100"
	Abnormal     []string  // OBX-8, every non-empty repetition, e.g. ["H"] or ["L", "PM"]
	Status       string    // OBX-11: F, R, X, ...
	Time         time.Time // OBX-14; zero when absent
	EquipmentID  string    // OBX-18.1 of the first repetition, e.g. an EUI-64 "0012345678ABCDEF"
	OrderTime    time.Time // OBR-7 of the OBR this observation belongs to
}

// PCDReport is the content of an IHE PCD-01 "Communicate PCD Data" message
// (ORU^R01): the sender, the patient and location when given, and every
// observation.
type PCDReport struct {
	ControlID       string    // MSH-10
	SendingApp      string    // MSH-3.1
	SendingFacility string    // MSH-4.1
	SentAt          time.Time // MSH-7; zero when absent
	MessageType     string    // MSH-9.1, "ORU"
	TriggerEvent    string    // MSH-9.2, "R01"
	Version         string    // MSH-12.1, e.g. "2.6"

	PatientID     string // PID-3.1 of the first identifier
	PatientFamily string // PID-5.1
	PatientGiven  string // PID-5.2
	PatientName   string // PID-5 as "Given Middle Family"

	PointOfCare string // PV1-3.1
	Room        string // PV1-3.2
	Bed         string // PV1-3.3

	ObservedAt   time.Time // OBR-7 of the first OBR
	Observations []Observation
}

// ExtractPCD01 reads an IHE PCD-01 ORU^R01 message. Timestamps without an
// offset are read in loc (UTC when nil).
//
// The segments must follow the ORU^R01 structure: MSH, optional SFT, an
// optional patient (PID, then PD1, NTE, NK1, and PV1 with PV2), then one or
// more orders, each an optional ORC, an OBR, optional NTE, TQ1/TQ2 and CTD,
// and its OBX segments each followed by optional NTE; FT1, CTI, SPM (with its
// own OBX, ignored), PRT and a final DSC are allowed where the standard puts
// them, Z-segments anywhere. Segments other than MSH, PID, PV1, OBR and OBX
// are skipped. One patient per message: a second PID is refused.
//
// It fails with an *Error naming the segment and field when the message is
// not ORU^R01, a segment is out of place, OBR-7 or OBX-11 is empty, OBX-5 of
// an NM observation is not a number, or a timestamp is malformed. On error no
// report is returned: the caller should reject the whole message.
func ExtractPCD01(m *Message, loc *time.Location) (*PCDReport, error) {
	h := m.msh()
	if h == nil {
		return nil, &Error{Code: CodeSegmentSequence, Err: ErrNoMSH}
	}
	code, event, structure := m.Type()
	typeErr := func(c ErrorCode) error {
		return &Error{Segment: "MSH", Sequence: 1, Field: 9, Code: c,
			Err: errorf(ErrMessageType, "%q, want ORU^R01", h.Raw(9))}
	}
	switch {
	case code != "ORU":
		return nil, typeErr(CodeUnsupportedType)
	case event != "R01":
		return nil, typeErr(CodeUnsupportedEvent)
	case structure != "" && structure != "ORU_R01":
		return nil, typeErr(CodeUnsupportedType)
	}
	r := &PCDReport{
		ControlID:       h.Field(10),
		SendingApp:      h.Field(3),
		SendingFacility: h.Field(4),
		MessageType:     code,
		TriggerEvent:    event,
		Version:         h.Field(12),
	}
	var err error
	if r.SentAt, err = optTime(h, 7, 1, "", loc); err != nil {
		return nil, err
	}

	x := extractor{r: r, loc: loc, seen: map[string]int{}}
	for _, s := range m.Segments[1:] {
		if err := x.segment(s); err != nil {
			return nil, err
		}
	}
	switch {
	case x.orders == 0:
		return nil, &Error{Segment: "OBR", Code: CodeSegmentSequence, Err: errorf(ErrSequence, "no OBR segment")}
	case x.state == stOrc:
		return nil, &Error{Segment: "ORC", Sequence: x.seen["ORC"], Code: CodeSegmentSequence,
			Err: errorf(ErrSequence, "ORC not followed by OBR")}
	}
	return r, nil
}

// Positions in the ORU^R01 structure.
const (
	stHeader   = iota // after MSH and SFT
	stPatient         // after PID, PD1, NK1 or a patient NTE
	stVisit           // after PV1 or PV2
	stOrc             // after ORC: OBR must follow
	stOrder           // after OBR, an order NTE, TQ1, TQ2 or CTD
	stObs             // after OBX or an observation NTE
	stAfterObs        // after FT1 or CTI
	stSpecimen        // after SPM or a specimen OBX
	stEnd             // after DSC
)

type extractor struct {
	r         *PCDReport
	loc       *time.Location
	state     int
	seen      map[string]int // occurrences of each segment name so far
	orders    int
	orderTime time.Time
}

func (x *extractor) segment(s *Segment) error {
	x.seen[s.Name]++
	seq := x.seen[s.Name]
	misplaced := func(why string) error {
		return &Error{Segment: s.Name, Sequence: seq, Code: CodeSegmentSequence, Err: errorf(ErrSequence, "%s %s", s.Name, why)}
	}
	if x.state == stEnd {
		return misplaced("after DSC")
	}
	if s.Name[0] == 'Z' {
		return nil // local segments are allowed anywhere and ignored
	}
	st := x.state
	inOrder := st == stOrder || st == stObs || st == stAfterObs || st == stSpecimen
	switch s.Name {
	case "SFT", "UAC":
		if st != stHeader {
			return misplaced("after the message header")
		}
	case "PID":
		if x.seen["PID"] > 1 {
			return misplaced("repeated: one patient per message is supported")
		}
		if st != stHeader {
			return misplaced("after an order or observation")
		}
		x.state = stPatient
		x.patient(s)
	case "PD1", "NK1":
		if st != stPatient {
			return misplaced("outside the patient group (must follow PID)")
		}
	case "PV1":
		if st != stPatient {
			return misplaced("without a preceding PID")
		}
		x.state = stVisit
		x.r.PointOfCare, x.r.Room, x.r.Bed = s.Component(3, 1), s.Component(3, 2), s.Component(3, 3)
	case "PV2":
		if st != stVisit || x.seen["PV2"] > 1 {
			return misplaced("must follow PV1 once")
		}
	case "NTE":
		if st != stPatient && st != stOrder && st != stObs {
			return misplaced("not after PID, OBR or OBX")
		}
	case "PRT":
		if st == stHeader || st == stAfterObs || st == stSpecimen {
			return misplaced("not after a patient, visit, order or observation")
		}
	case "ORC":
		if st == stOrc {
			return misplaced("following another ORC")
		}
		x.state = stOrc
	case "OBR":
		x.state = stOrder
		return x.order(s, seq)
	case "TQ1", "TQ2", "CTD":
		if st != stOrder {
			return misplaced("not between OBR and its first OBX")
		}
		if s.Name == "TQ2" && x.seen["TQ1"] == 0 {
			return misplaced("without TQ1")
		}
	case "OBX":
		switch st {
		case stOrder, stObs:
			x.state = stObs
			return x.observation(s, seq)
		case stSpecimen:
			return nil // a specimen observation, not a device measurement
		}
		return misplaced("not after an OBR")
	case "FT1", "CTI":
		if !inOrder || st == stSpecimen {
			return misplaced("not after an OBR or OBX")
		}
		x.state = stAfterObs
	case "SPM":
		if !inOrder {
			return misplaced("not after an OBR")
		}
		x.state = stSpecimen
	case "DSC":
		if x.orders == 0 || st == stOrc {
			return misplaced("before any OBR")
		}
		x.state = stEnd
	default:
		return misplaced("is not part of an ORU^R01 message")
	}
	return nil
}

func (x *extractor) patient(s *Segment) {
	r := x.r
	r.PatientID = s.Field(3)
	r.PatientFamily = s.Component(5, 1)
	r.PatientGiven = s.Component(5, 2)
	var parts []string
	for _, p := range []string{r.PatientGiven, s.Component(5, 3), r.PatientFamily} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	r.PatientName = strings.Join(parts, " ")
}

func (x *extractor) order(s *Segment, seq int) error {
	x.orders++
	setID := s.Field(1)
	if s.Raw(7) == "" {
		return &Error{Segment: "OBR", Sequence: seq, Field: 7, SetID: setID, Code: CodeRequiredField,
			Err: errorf(ErrMissingField, "OBR-7 observation date/time is empty")}
	}
	t, err := optTime(s, 7, seq, setID, x.loc)
	if err != nil {
		return err
	}
	x.orderTime = t
	if x.orders == 1 {
		x.r.ObservedAt = t
	}
	return nil
}

func (x *extractor) observation(s *Segment, seq int) error {
	o := Observation{
		SetID:        s.Field(1),
		ValueType:    s.Field(2),
		Code:         s.Component(3, 1),
		Text:         s.Component(3, 2),
		CodingSystem: s.Component(3, 3),
		SubID:        s.Field(4),
		Value:        s.Field(5),
		UnitCode:     s.Component(6, 1),
		UnitText:     s.Component(6, 2),
		UnitSystem:   s.Component(6, 3),
		Range:        s.Field(7),
		Status:       s.Field(11),
		EquipmentID:  s.Field(18),
		OrderTime:    x.orderTime,
	}
	fail := func(field int, code ErrorCode, err error) error {
		return &Error{Segment: "OBX", Sequence: seq, Field: field, SetID: o.SetID, Code: code, Err: err}
	}
	if o.ValueType != "" && !dataTypes[o.ValueType] {
		return fail(2, CodeTableValue, errorf(ErrValueType, "%q", o.ValueType))
	}
	if o.Status == "" {
		return fail(11, CodeRequiredField, errorf(ErrMissingField, "OBX-11 observation result status is empty"))
	}
	for i := 1; i <= s.Repetitions(8); i++ {
		if f := s.Value(8, i, 1, 1); f != "" {
			o.Abnormal = append(o.Abnormal, f)
		}
	}
	if o.ValueType == "NM" && s.Raw(5) != "" {
		if s.Repetitions(5) > 1 || s.Components(5, 1) > 1 {
			return fail(5, CodeDataType, errorf(ErrNumber, "%q: NM holds a single number", s.Raw(5)))
		}
		v, err := parseNM(o.Value)
		if err != nil {
			return fail(5, CodeDataType, err)
		}
		o.Number, o.Numeric = v, true
	}
	t, err := optTime(s, 14, seq, o.SetID, x.loc)
	if err != nil {
		return err
	}
	o.Time = t
	x.r.Observations = append(x.r.Observations, o)
	return nil
}

// optTime parses field n of s as a timestamp; zero when the field is empty.
func optTime(s *Segment, n, seq int, setID string, loc *time.Location) (time.Time, error) {
	v := s.Field(n)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := ParseTime(v, loc)
	if err != nil {
		return time.Time{}, &Error{Segment: s.Name, Sequence: seq, Field: n, SetID: setID, Code: CodeDataType, Err: err}
	}
	return t, nil
}

// parseNM parses an HL7 NM value: an optional sign, digits and at most one
// decimal point, no exponent, no spaces.
func parseNM(s string) (float64, error) {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		case (c == '+' || c == '-') && i == 0:
		default:
			return 0, errorf(ErrNumber, "%q", s)
		}
	}
	if digits == 0 || dots > 1 {
		return 0, errorf(ErrNumber, "%q", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return 0, errorf(ErrNumber, "%q: %v", s, err)
	}
	return v, nil
}

// dataTypes are the HL7 v2 data types (table 0125 and its later additions)
// accepted in OBX-2.
var dataTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`AD CE CF CK CN CNE CP CWE CX DR DT DTM ED FT ID IS MA
		MO NA NM NR PN RP SN ST TM TN TS TX XAD XCN XON XPN XTN`) {
		m[t] = true
	}
	return m
}()
