package hl7

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func extract(t testing.TB, data []byte) *PCDReport {
	t.Helper()
	m, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r, err := ExtractPCD01(m, nil)
	if err != nil {
		t.Fatalf("ExtractPCD01: %v", err)
	}
	return r
}

// utc returns a copy of r with every time in UTC, so that reports read from
// messages with the same instants compare equal with reflect.DeepEqual.
func utc(r *PCDReport) *PCDReport {
	c := *r
	c.SentAt, c.ObservedAt = c.SentAt.UTC(), c.ObservedAt.UTC()
	c.Observations = append([]Observation(nil), r.Observations...)
	for i := range c.Observations {
		o := &c.Observations[i]
		if !o.Time.IsZero() {
			o.Time = o.Time.UTC()
		}
		if !o.OrderTime.IsZero() {
			o.OrderTime = o.OrderTime.UTC()
		}
	}
	return &c
}

func TestExtractMultiParameter(t *testing.T) {
	r := extract(t, testdata(t, "pcd01_multiparam.hl7"))
	plus1 := time.FixedZone("", 3600)
	sent := time.Date(2025, 3, 14, 10, 25, 30, 0, plus1)
	periodic := time.Date(2025, 3, 14, 10, 25, 28, 0, plus1)
	nibp := time.Date(2025, 3, 14, 10, 22, 15, 0, plus1)
	const eq = "0012345678ABCDEF"

	header := *r
	header.Observations = nil
	wantHeader := PCDReport{
		ControlID: "VGM7W12-0000481", SendingApp: "VGM200", SendingFacility: "NORTHGATE_7W",
		SentAt: sent, MessageType: "ORU", TriggerEvent: "R01", Version: "2.6",
		PatientID: "NG0077341", PatientFamily: "Okafor", PatientGiven: "Adaeze", PatientName: "Adaeze N Okafor",
		PointOfCare: "7W", Room: "712", Bed: "B",
		ObservedAt: sent,
	}
	if !reflect.DeepEqual(utc(&header), utc(&wantHeader)) {
		t.Errorf("header\n got %+v\nwant %+v", header, wantHeader)
	}
	if _, off := r.SentAt.Zone(); off != 3600 {
		t.Errorf("MSH-7 offset %d, want 3600", off)
	}

	num := func(set, code, text, sub, value string, n float64, unitCode, unitText, rng, status string, at time.Time) Observation {
		return Observation{SetID: set, ValueType: "NM", Code: code, Text: text, CodingSystem: "MDC", SubID: sub,
			Value: value, Number: n, Numeric: true, UnitCode: unitCode, UnitText: unitText, UnitSystem: "MDC",
			Range: rng, Abnormal: []string{"N"}, Status: status, Time: at, EquipmentID: eq, OrderTime: sent}
	}
	hr := num("2", "147842", "MDC_ECG_HEART_RATE", "1.1.1.1", "128", 128, "264864", "MDC_DIM_BEAT_PER_MIN", "50-120", "R", periodic)
	hr.Abnormal = []string{"H"}
	want := []Observation{
		{SetID: "1", Code: "69965", Text: "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", CodingSystem: "MDC", SubID: "1.0.0.0",
			Status: "X", EquipmentID: eq, OrderTime: sent},
		hr,
		num("3", "150456", "MDC_PULS_OXIM_SAT_O2", "1.2.1.1", "96", 96, "262688", "MDC_DIM_PERCENT", "90-100", "R", periodic),
		num("4", "149530", "MDC_PULS_OXIM_PULS_RATE", "1.2.1.2", "126", 126, "264864", "MDC_DIM_BEAT_PER_MIN", "50-120", "R", periodic),
		num("5", "150301", "MDC_PRESS_CUFF_SYS", "1.3.1.1", "134", 134, "266016", "MDC_DIM_MMHG", "90-160", "F", nibp),
		num("6", "150302", "MDC_PRESS_CUFF_DIA", "1.3.1.2", "82", 82, "266016", "MDC_DIM_MMHG", "50-90", "F", nibp),
		num("7", "150303", "MDC_PRESS_CUFF_MEAN", "1.3.1.3", "99", 99, "266016", "MDC_DIM_MMHG", "60-110", "F", nibp),
		num("8", "150344", "MDC_TEMP", "1.4.1.1", "37.6", 37.6, "268192", "MDC_DIM_DEGC", "36.0-38.0", "R", periodic),
		num("9", "151562", "MDC_RESP_RATE", "1.5.1.1", "18", 18, "264928", "MDC_DIM_RESP_PER_MIN", "8-30", "R", periodic),
	}
	if len(r.Observations) != len(want) {
		t.Fatalf("%d observations, want %d", len(r.Observations), len(want))
	}
	got := utc(r).Observations
	wantUTC := utc(&PCDReport{Observations: want}).Observations
	for i := range want {
		if !reflect.DeepEqual(got[i], wantUTC[i]) {
			t.Errorf("observation %d\n got %+v\nwant %+v", i, got[i], wantUTC[i])
		}
	}
}

func TestExtractCustomSeparatorsSameAsDefault(t *testing.T) {
	a := extract(t, testdata(t, "pcd01_multiparam.hl7"))
	m, err := Parse(testdata(t, "pcd01_custom_separators.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Delims != customDelims {
		t.Errorf("Delims = %+v", m.Delims)
	}
	b, err := ExtractPCD01(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(utc(a), utc(b)) {
		t.Errorf("reports differ\n%+v\n%+v", a, b)
	}
	// The order note uses the message's own escape character.
	note, _ := m.Get("NTE-3")
	if want := "Probe re-sited at 10:20 # pleth quality good $ nurse JT"; note != want {
		t.Errorf("NTE-3 = %q, want %q", note, want)
	}
}

func TestExtractLocalCodes(t *testing.T) {
	r := extract(t, testdata(t, "pcd01_local_codes.hl7"))
	minus5 := time.FixedZone("", -5*3600)
	at := time.Date(2025, 3, 14, 11, 0, 0, 0, minus5)
	if r.PatientID != "NG0091120" || r.PatientName != "Sven Lindqvist" || r.PointOfCare != "ICU" || r.Room != "3" || r.Bed != "2" {
		t.Errorf("patient/location: %+v", r)
	}
	if !r.ObservedAt.Equal(at) || !r.SentAt.Equal(at.Add(5*time.Second)) {
		t.Errorf("times: observed %v sent %v", r.ObservedAt, r.SentAt)
	}
	if len(r.Observations) != 4 {
		t.Fatalf("%d observations, want 4: %+v", len(r.Observations), r.Observations)
	}
	local := r.Observations[1]
	if local.Code != "ACM-4417" || local.Text != "PVC rate" || local.CodingSystem != "99ACM" ||
		!local.Numeric || local.Number != 4 || local.UnitCode != "{events}/min" || local.UnitSystem != "UCUM" {
		t.Errorf("local code: %+v", local)
	}
	unknown := r.Observations[2]
	if unknown.Code != "192999" || unknown.Text != "MDC_XX_UNLISTED_INDEX" || unknown.CodingSystem != "MDC" ||
		unknown.Number != 42.5 || unknown.UnitText != "MDC_DIM_DIMLESS" || unknown.SubID != "1.6.1.1" {
		t.Errorf("unknown MDC code: %+v", unknown)
	}
	text := r.Observations[3]
	if text.ValueType != "ST" || text.Value != "5-lead & ST analysis on" || text.Numeric {
		t.Errorf("ST value: %+v", text)
	}
	for _, o := range r.Observations {
		if o.EquipmentID != "00A0B1FFFE224466" || !o.Time.Equal(at) {
			t.Errorf("OBX %s: equipment %q time %v", o.SetID, o.EquipmentID, o.Time)
		}
	}
}

// pcd joins an ORU^R01 header and the given segments.
func pcd(segs ...string) []byte {
	return []byte(msg(append([]string{`MSH|^~\&|DEV|WARD|VIGIL|HOSP|20250314102530+0100||ORU^R01^ORU_R01|C1|P|2.6`}, segs...)...))
}

const (
	obr  = "OBR|1|||182777000^monitoring of patient^SCT|||20250314102530+0100"
	obx1 = "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
	obx2 = "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||R"
)

func TestExtractAllowedOrders(t *testing.T) {
	tests := []struct {
		name string
		segs []string
		obs  int
	}{
		{"no PID or PV1", []string{obr, obx1}, 1},
		{"PID without PV1", []string{"PID|||P1", obr, obx1}, 1},
		{"OBR without OBX", []string{"PID|||P1", obr}, 0},
		{"SFT after MSH", []string{"SFT|Acme^L|1.0|Mon|1", "SFT|Acme^L|1.1|Mod|2", "PID|||P1", obr, obx1}, 1},
		{"full patient group", []string{"PID|||P1", "PD1", "NTE|1||patient note", "NK1|1|Doe^Kin", "PV1||I|7W^1^A", "PV2", obr, obx1}, 1},
		{"ORC before OBR", []string{"PID|||P1", "PV1||I|7W", "ORC|RE", obr, obx1}, 1},
		{"order details", []string{obr, "NTE|1||order note", "TQ1|1", "TQ2|1", "TQ1|2", "CTD|1", obx1, "NTE|1||obs note", "NTE|2||more", obx2}, 2},
		{"several orders", []string{"PID|||P1", obr, obx1, "ORC|RE", strings.Replace(obr, "OBR|1", "OBR|2", 1), obx2, obx2}, 3},
		{"OBR directly after OBR", []string{obr, obr, obx1}, 1},
		{"Z-segments anywhere", []string{"ZAA|1", "PID|||P1", "ZBB|2", obr, "ZCC|3", obx1, "ZDD|4"}, 1},
		{"PRT", []string{"PID|||P1", "PRT|1", "PV1||I", "PRT|2", "ORC|RE", "PRT|3", obr, "PRT|4", obx1, "PRT|5"}, 1},
		{"FT1 and CTI after OBX", []string{obr, obx1, "FT1|1", "CTI|1", obr, obx2}, 2},
		{"specimen observations ignored", []string{obr, obx1, "SPM|1", "OBX|9|ST|x^specimen^L||ok||||||F", "SPM|2", obr, obx2}, 2},
		{"DSC at the end", []string{obr, obx1, "DSC|cont"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := extract(t, pcd(tc.segs...))
			if len(r.Observations) != tc.obs {
				t.Errorf("%d observations, want %d", len(r.Observations), tc.obs)
			}
		})
	}
	// Missing optional segments leave the fields empty.
	r := extract(t, pcd(obr, obx1))
	if r.PatientID != "" || r.PatientName != "" || r.PointOfCare != "" || r.Bed != "" {
		t.Errorf("patient fields without PID/PV1: %+v", r)
	}
}

func TestExtractSegmentOrderErrors(t *testing.T) {
	tests := []struct {
		name string
		segs []string
		seg  string
		seq  int
	}{
		{"no OBR", []string{"PID|||P1"}, "OBR", 0},
		{"OBX before OBR", []string{"PID|||P1", obx1, obr}, "OBX", 1},
		{"PV1 without PID", []string{"PV1||I|7W", obr, obx1}, "PV1", 1},
		{"PID after OBR", []string{obr, obx1, "PID|||P1"}, "PID", 1},
		{"second patient", []string{"PID|||P1", obr, obx1, "PID|||P2", obr}, "PID", 2},
		{"second PID in the header", []string{"PID|||P1", "PID|||P2", obr}, "PID", 2},
		{"NK1 before PID", []string{"NK1|1", "PID|||P1", obr}, "NK1", 1},
		{"SFT after PID", []string{"PID|||P1", "SFT|x", obr}, "SFT", 1},
		{"NTE after MSH", []string{"NTE|1||x", obr}, "NTE", 1},
		{"NTE after PV1", []string{"PID|||P1", "PV1||I", "NTE|1||x", obr}, "NTE", 1},
		{"PV2 without PV1", []string{"PID|||P1", "PV2", obr}, "PV2", 1},
		{"TQ1 after OBX", []string{obr, obx1, "TQ1|1"}, "TQ1", 1},
		{"TQ2 without TQ1", []string{obr, "TQ2|1", obx1}, "TQ2", 1},
		{"ORC at the end", []string{obr, obx1, "ORC|RE"}, "ORC", 1},
		{"ORC twice", []string{"ORC|RE", "ORC|RE", obr}, "ORC", 2},
		{"OBX after FT1", []string{obr, obx1, "FT1|1", obx2}, "OBX", 2},
		{"segment after DSC", []string{obr, obx1, "DSC|x", obx2}, "OBX", 2},
		{"DSC before OBR", []string{"DSC|x", obr}, "DSC", 1},
		{"foreign segment", []string{"EVN|A01", obr}, "EVN", 1},
		{"MSA in an ORU", []string{obr, obx1, "MSA|AA|1"}, "MSA", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(pcd(tc.segs...))
			if err != nil {
				t.Fatal(err)
			}
			r, err := ExtractPCD01(m, nil)
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if r != nil {
				t.Error("a report was returned with the error")
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrSequence) {
				t.Fatalf("error %v is not a sequence *Error", err)
			}
			if e.Segment != tc.seg || e.Sequence != tc.seq || e.Code != CodeSegmentSequence {
				t.Errorf("error at %s #%d code %d, want %s #%d code 100: %v", e.Segment, e.Sequence, e.Code, tc.seg, tc.seq, err)
			}
		})
	}
}

func TestExtractNumbers(t *testing.T) {
	obx := func(value string) []byte {
		return pcd(obr, obx1, "OBX|7|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|"+value+"|262688^MDC_DIM_PERCENT^MDC|||||R")
	}
	valid := map[string]float64{
		"96": 96, "-1.5": -1.5, "+3": 3, ".5": 0.5, "5.": 5, "0012": 12, "37.60": 37.6, "0": 0, "-0.001": -0.001,
	}
	for in, want := range valid {
		r := extract(t, obx(in))
		o := r.Observations[1]
		if !o.Numeric || o.Number != want || o.Value != in {
			t.Errorf("%q: %+v", in, o)
		}
	}
	invalid := []string{"96%", "1e3", "1E3", " 96", "96 ", "1.2.3", "NaN", "Inf", "-", "+", ".", "1,5", "0x1F", "--1",
		"9-6", `9\S\6`, "96^1", "96~97", "1" + strings.Repeat("0", 400)}
	for _, in := range invalid {
		m, err := Parse(obx(in))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ExtractPCD01(m, nil)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNumber) {
			t.Errorf("%q: error %v, want ErrNumber", in, err)
			continue
		}
		if e.Segment != "OBX" || e.Sequence != 2 || e.Field != 5 || e.SetID != "7" || e.Code != CodeDataType {
			t.Errorf("%q: error located at %+v", in, e)
		}
		if !strings.Contains(err.Error(), "set ID 7") || !strings.Contains(err.Error(), "OBX-5") {
			t.Errorf("%q: message %q does not name OBX-5 and set ID 7", in, err)
		}
	}
	// An empty NM value (e.g. status X) is not a number and not an error.
	r := extract(t, pcd(obr, "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1||262688^MDC_DIM_PERCENT^MDC|||||X"))
	if o := r.Observations[0]; o.Numeric || o.Number != 0 {
		t.Errorf("empty NM: %+v", o)
	}
	// A value that is not declared NM is never parsed.
	r = extract(t, pcd(obr, "OBX|1|ST|0^note^L|1|96%||||||F"))
	if o := r.Observations[0]; o.Numeric || o.Value != "96%" {
		t.Errorf("ST: %+v", o)
	}
	if math.IsNaN(r.Observations[0].Number) {
		t.Error("NaN")
	}
}

func TestExtractBadNMExample(t *testing.T) {
	m, err := Parse(testdata(t, "bad_nm.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ExtractPCD01(m, nil)
	var e *Error
	if r != nil || !errors.As(err, &e) || !errors.Is(err, ErrNumber) {
		t.Fatalf("got %v, %v", r, err)
	}
	if e.SetID != "3" || e.Location() != "OBX^3^5" || e.Code != CodeDataType {
		t.Errorf("error %+v, location %q", e, e.Location())
	}
	if want := `hl7: OBX-5 (OBX #3, set ID 3): invalid number: "96%"`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestExtractBadTimestampExample(t *testing.T) {
	m, err := Parse(testdata(t, "bad_timestamp.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ExtractPCD01(m, nil)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrTime) {
		t.Fatalf("error %v", err)
	}
	if e.Segment != "OBX" || e.Field != 14 || e.SetID != "4" || !strings.Contains(err.Error(), "hour 25") {
		t.Errorf("error %+v: %v", e, err)
	}
}

func TestNoMSHExample(t *testing.T) {
	_, err := Parse(testdata(t, "no_msh.hl7"))
	if !errors.Is(err, ErrNoMSH) || !strings.Contains(err.Error(), `"PID"`) {
		t.Errorf("error %v", err)
	}
}

func TestExtractFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		want  error
		seg   string
		field int
		code  ErrorCode
	}{
		{"bad MSH-7", []byte(msg(`MSH|^~\&|D|W|V|H|2025031410253||ORU^R01|C1|P|2.6`, obr)), ErrTime, "MSH", 7, CodeDataType},
		{"bad OBR-7", pcd("OBR|1|||x^y^L|||20251314"), ErrTime, "OBR", 7, CodeDataType},
		{"empty OBR-7", pcd("OBR|1|||x^y^L"), ErrMissingField, "OBR", 7, CodeRequiredField},
		{"bad OBX-14", pcd(obr, "OBX|1|NM|1^a^MDC|1|5||||||R|||20250314102530+01"), ErrTime, "OBX", 14, CodeDataType},
		{"empty OBX-11", pcd(obr, "OBX|1|NM|1^a^MDC|1|5"), ErrMissingField, "OBX", 11, CodeRequiredField},
		{"unknown OBX-2", pcd(obr, "OBX|1|QQ|1^a^MDC|1|5||||||R"), ErrValueType, "OBX", 2, CodeTableValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ExtractPCD01(m, nil)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if e.Segment != tc.seg || e.Field != tc.field || e.Code != tc.code {
				t.Errorf("error %+v", e)
			}
		})
	}
}

func TestExtractRejectsOtherTypes(t *testing.T) {
	tests := []struct {
		msh  string
		code ErrorCode
	}{
		{`MSH|^~\&|A|B|C|D|20250314||ADT^A01^ADT_A01|1|P|2.6`, CodeUnsupportedType},
		{`MSH|^~\&|A|B|C|D|20250314||ACK^R01^ACK|1|P|2.6`, CodeUnsupportedType},
		{`MSH|^~\&|A|B|C|D|20250314||ORU^R40^ORU_R40|1|P|2.6`, CodeUnsupportedEvent},
		{`MSH|^~\&|A|B|C|D|20250314||ORU|1|P|2.6`, CodeUnsupportedEvent},
		{`MSH|^~\&|A|B|C|D|20250314||ORU^R01^ORU_R30|1|P|2.6`, CodeUnsupportedType},
		{`MSH|^~\&|A|B|C|D|20250314||oru^r01|1|P|2.6`, CodeUnsupportedType},
	}
	for _, tc := range tests {
		m := mustParse(t, msg(tc.msh, obr, obx1))
		r, err := ExtractPCD01(m, nil)
		var e *Error
		if r != nil || !errors.As(err, &e) || !errors.Is(err, ErrMessageType) {
			t.Errorf("%s: %v, %v", tc.msh, r, err)
			continue
		}
		if e.Code != tc.code || e.Location() != "MSH^1^9" {
			t.Errorf("%s: code %d location %q", tc.msh, e.Code, e.Location())
		}
	}
	// ORU^R01 without the structure component is accepted.
	m := mustParse(t, msg(`MSH|^~\&|A|B|C|D|20250314||ORU^R01|1|P|2.5`, obr))
	if _, err := ExtractPCD01(m, nil); err != nil {
		t.Error(err)
	}
	if _, err := ExtractPCD01(&Message{}, nil); !errors.Is(err, ErrNoMSH) {
		t.Errorf("empty message: %v", err)
	}
}

func TestExtractDetails(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	m := mustParse(t, string(pcd(
		"PID|||P1~P2||Smith^John",
		"OBR|1|||x^y^L|||202503141025",
		`OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|81|262688^MDC_DIM_PERCENT^MDC|90-100|LL~~PH~ |||R|||20250314102500||||EUI1^^EUI1^EUI-64~OTHER`,
		`OBX|2|CWE|196648^MDC_EVT_HI^MDC|1.0.0.0.1|196648^MDC_EVT_HI^MDC||||||F`,
		`OBX|3|ST|0^text^L|1|line one\.br\line two \F\ end||||||F`,
	)))
	r, err := ExtractPCD01(m, paris)
	if err != nil {
		t.Fatal(err)
	}
	if r.PatientID != "P1" || r.PatientName != "John Smith" {
		t.Errorf("patient %q %q", r.PatientID, r.PatientName)
	}
	if want := time.Date(2025, 3, 14, 10, 25, 0, 0, paris); !r.ObservedAt.Equal(want) {
		t.Errorf("OBR-7 without offset read as %v, want %v", r.ObservedAt, want)
	}
	o := r.Observations[0]
	if !reflect.DeepEqual(o.Abnormal, []string{"LL", "PH", " "}) || o.EquipmentID != "EUI1" || o.Range != "90-100" {
		t.Errorf("OBX 1: %+v", o)
	}
	if want := time.Date(2025, 3, 14, 10, 25, 0, 0, paris); !o.Time.Equal(want) || !o.OrderTime.Equal(want) {
		t.Errorf("OBX-14 %v, order time %v", o.Time, o.OrderTime)
	}
	if c := r.Observations[1]; c.Value != "196648" || c.Numeric {
		t.Errorf("CWE value %+v", c)
	}
	if v := r.Observations[2].Value; v != "line one\nline two | end" {
		t.Errorf("ST value %q", v)
	}
	if !r.Observations[2].Time.IsZero() {
		t.Error("absent OBX-14 is not zero")
	}
}
