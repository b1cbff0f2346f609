package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// NumFrame is one decoded numerics message.
//
//	{"ts":1732400000000,"seq":17,"values":{"HR":{"v":72,"unit":"bpm"},
//	 "150456":{"v":97},"RR":{"v":null},"TEMP":{"v":36.9,"valid":false}}}
//
// A value is *no value* when it is null, "NaN", -32768, or has "valid":false.
// Zero is a value (heart rate 0 in asystole is real).
type NumFrame struct {
	TsMs   int64
	Seq    uint32
	Values []Numeric // sorted by Code
}

// Numeric is one parameter's value. Valid false means no value.
type Numeric struct {
	Code  uint32
	Value float64
	Valid bool
	Unit  string
}

type numWire struct {
	Ts     *int64                  `json:"ts"`
	Seq    uint32                  `json:"seq"`
	Values map[string]numValueWire `json:"values"`
}

type numValueWire struct {
	V     json.RawMessage `json:"v"`
	Unit  string          `json:"unit,omitempty"`
	Valid *bool           `json:"valid,omitempty"`
}

// DecodeNum decodes and validates a numerics message. The plain shape that
// devices send is read by a small hand-written scanner; anything unusual is
// left to encoding/json, which has the last word on what is valid.
func DecodeNum(b []byte) (NumFrame, error) {
	var buf [16]numEntry
	if ts, seq, entries, ok := decodeNumFast(b, buf[:0]); ok {
		return buildNum(ts, seq, entries)
	}
	return decodeNumSlow(b)
}

// decodeNumSlow decodes with encoding/json: one strict decoder for the whole
// message, so unknown fields inside the value objects are refused too.
func decodeNumSlow(b []byte) (NumFrame, error) {
	var w numWire
	if err := strictUnmarshal(b, &w); err != nil {
		return NumFrame{}, fmt.Errorf("%w: numerics: %v", ErrInvalid, err)
	}
	if w.Ts == nil {
		return NumFrame{}, fmt.Errorf("%w: numerics: missing ts", ErrInvalid)
	}
	entries := make([]numEntry, 0, len(w.Values))
	for k, v := range w.Values {
		entries = append(entries, numEntry{k, v})
	}
	return buildNum(*w.Ts, w.Seq, entries)
}

// buildNum validates the members of a numerics message and builds the frame.
func buildNum(ts int64, seq uint32, entries []numEntry) (NumFrame, error) {
	if ts < minStartMs || ts > maxStartMs {
		return NumFrame{}, fmt.Errorf("%w: numerics: ts %d out of range", ErrInvalid, ts)
	}
	if len(entries) == 0 || len(entries) > 256 {
		return NumFrame{}, fmt.Errorf("%w: numerics: %d values", ErrInvalid, len(entries))
	}
	f := NumFrame{TsMs: ts, Seq: seq, Values: make([]Numeric, 0, len(entries))}
	for _, e := range entries {
		key, vw := e.key, e.w
		code, ok := ParseCode(key)
		if !ok {
			return NumFrame{}, fmt.Errorf("%w: numerics: unknown parameter %q", ErrInvalid, key)
		}
		v, valid, err := parseValue(vw.V)
		if err != nil {
			return NumFrame{}, fmt.Errorf("%w: numerics: %s: %v", ErrInvalid, key, err)
		}
		if vw.Valid != nil && !*vw.Valid {
			valid = false
		}
		if !valid {
			v = math.NaN()
		}
		f.Values = append(f.Values, Numeric{Code: code, Value: v, Valid: valid, Unit: vw.Unit})
	}
	slices.SortFunc(f.Values, func(a, b Numeric) int { return int(a.Code) - int(b.Code) })
	for i := 1; i < len(f.Values); i++ {
		if f.Values[i].Code == f.Values[i-1].Code {
			return NumFrame{}, fmt.Errorf("%w: numerics: parameter %d given twice", ErrInvalid, f.Values[i].Code)
		}
	}
	return f, nil
}

// parseValue reads a numeric value: a JSON number, null, or the string "NaN".
func parseValue(raw json.RawMessage) (v float64, valid bool, err error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return 0, false, nil
	case raw[0] == '"':
		s, err := strconv.Unquote(string(raw))
		if err != nil || (s != "NaN" && s != "nan") {
			return 0, false, fmt.Errorf("value %s is not a number", raw)
		}
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false, fmt.Errorf("value %s is not a number", raw)
	}
	if v == InvalidSample {
		return 0, false, nil
	}
	return v, true, nil
}

// EncodeNum encodes a numerics message with numeric MDC keys.
func EncodeNum(f NumFrame) []byte {
	vals := make(map[string]numValueWire, len(f.Values))
	for _, n := range f.Values {
		w := numValueWire{Unit: n.Unit, V: json.RawMessage("null")}
		if n.Valid && !math.IsNaN(n.Value) && !math.IsInf(n.Value, 0) {
			w.V = strconv.AppendFloat(nil, n.Value, 'f', -1, 64)
		} else {
			f := false
			w.Valid = &f
		}
		vals[strconv.FormatUint(uint64(n.Code), 10)] = w
	}
	ts := f.TsMs
	b, err := json.Marshal(struct {
		Ts     *int64                  `json:"ts"`
		Seq    uint32                  `json:"seq"`
		Values map[string]numValueWire `json:"values"`
	}{&ts, f.Seq, vals})
	if err != nil {
		panic(err) // only plain types: cannot fail
	}
	return b
}

// Status is a device's retained status message, also published as its MQTT
// Last Will with Online false so that a vanished device reads offline.
type Status struct {
	Device  string   `json:"device"`
	Model   string   `json:"model,omitempty"`
	Online  bool     `json:"online"`
	Battery *float64 `json:"battery,omitempty"` // percent; absent on mains power
	Patient string   `json:"patient,omitempty"` // name as admitted at the bedside device
	// PatientID is the patient's identifier (MRN) as admitted at the
	// device, for a publisher that keeps names off the broker (vigil hl7
	// sends it instead of the name); compared with the admission's MRN.
	PatientID string   `json:"patient_id,omitempty"`
	LeadsOff  []uint32 `json:"leads_off,omitempty"`
	ProbeOff  []uint32 `json:"probe_off,omitempty"`
	// Waves false says the device sends no waveforms (numerics only, as an
	// HL7 monitor through vigil hl7): its bed is not NO DATA for the lack
	// of them. Absent: it does.
	Waves *bool `json:"waves,omitempty"`
	// Names are what the device calls numerics sent under codes of the
	// private partition (1024 << 16 and up), which no table knows:
	// decimal code → name, ≤ 64 entries of ≤ 64 bytes.
	Names map[string]string `json:"names,omitempty"`
	TsMs  int64             `json:"ts,omitempty"`
}

// PrivatePartition is the first code of 11073's private partition (1024),
// where a gateway puts a device's own codes that name no MDC code.
const PrivatePartition uint32 = 1024 << 16

// DecodeStatus decodes and validates a status message.
func DecodeStatus(b []byte) (Status, error) {
	// ts is optional: the outer Ts (shallower, so it takes "ts" from the
	// embedded Status) tells an explicit 0 from an absent ts.
	var w struct {
		Status
		Ts *int64 `json:"ts"`
	}
	if err := strictUnmarshal(b, &w); err != nil {
		return Status{}, fmt.Errorf("%w: status: %v", ErrInvalid, err)
	}
	s := w.Status
	if w.Ts != nil {
		if *w.Ts < minStartMs || *w.Ts > maxStartMs {
			return Status{}, fmt.Errorf("%w: status: ts %d out of range", ErrInvalid, *w.Ts)
		}
		s.TsMs = *w.Ts
	}
	if s.Device == "" || len(s.Device) > 128 || len(s.Model) > 128 || len(s.Patient) > 128 || len(s.PatientID) > 64 {
		return Status{}, fmt.Errorf("%w: status: device id missing or a field too long", ErrInvalid)
	}
	if s.Battery != nil && (math.IsNaN(*s.Battery) || *s.Battery < 0 || *s.Battery > 100) {
		return Status{}, fmt.Errorf("%w: status: battery %v%% out of range", ErrInvalid, *s.Battery)
	}
	if len(s.LeadsOff) > MaxChannels || len(s.ProbeOff) > MaxChannels {
		return Status{}, fmt.Errorf("%w: status: too many channels listed", ErrInvalid)
	}
	if len(s.Names) > 64 {
		return Status{}, fmt.Errorf("%w: status: %d names, at most 64", ErrInvalid, len(s.Names))
	}
	for k, v := range s.Names {
		c, err := strconv.ParseUint(k, 10, 32)
		if err != nil || uint32(c) < PrivatePartition || v == "" || len(v) > 64 {
			return Status{}, fmt.Errorf("%w: status: name %q for %q: want a private-partition code and 1-64 bytes", ErrInvalid, v, k)
		}
	}
	return s, nil
}

// EncodeStatus encodes a status message.
func EncodeStatus(s Status) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}
