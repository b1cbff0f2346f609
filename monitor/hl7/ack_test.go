package hl7

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var ackTime = time.Date(2025, 3, 14, 10, 25, 31, 0, time.FixedZone("", 3600))

func TestACKAccept(t *testing.T) {
	m := mustParse(t, string(testdata(t, "pcd01_multiparam.hl7")))
	got := string(BuildACK(m, Ack{Time: ackTime}))
	want := msg(
		`MSH|^~\&|VIGIL|NORTHGATE|VGM200^0012345678ABCDEF^EUI-64|NORTHGATE_7W|20250314102531+0100||ACK^R01^ACK|ACKVGM7W12-0000481|P|2.6`,
		`MSA|AA|VGM7W12-0000481`,
	)
	if got != want {
		t.Errorf("ACK\n got %q\nwant %q", got, want)
	}
	ack := mustParse(t, got)
	for path, want := range map[string]string{
		"MSH-3": "VIGIL", "MSH-4": "NORTHGATE", "MSH-5": "VGM200", "MSH-5.2": "0012345678ABCDEF", "MSH-6": "NORTHGATE_7W",
		"MSH-9.1": "ACK", "MSH-9.2": "R01", "MSH-9.3": "ACK", "MSA-1": "AA", "MSA-2": "VGM7W12-0000481",
	} {
		if v, _ := ack.Get(path); v != want {
			t.Errorf("%s = %q, want %q", path, v, want)
		}
	}
	if ack.Segment("ERR", 1) != nil {
		t.Error("AA with an ERR segment")
	}
}

func TestACKError(t *testing.T) {
	m := mustParse(t, string(testdata(t, "bad_nm.hl7")))
	_, cause := ExtractPCD01(m, nil)
	if cause == nil {
		t.Fatal("bad_nm.hl7 was accepted")
	}
	wrapped := fmt.Errorf("ingest: %w", cause)
	got := string(BuildACK(m, Ack{Err: wrapped, Time: ackTime, ControlID: "A1"}))
	want := msg(
		`MSH|^~\&|VIGIL|NORTHGATE|VGM200^0012345678ABCDEF^EUI-64|NORTHGATE_7W|20250314102531+0100||ACK^R01^ACK|A1|P|2.6`,
		`MSA|AE|VGM7W12-0000481`,
		`ERR||OBX^3^5|102^Data type error^HL70357|E||||ingest: hl7: OBX-5 (OBX #3, set ID 3): invalid number: "96%"`,
	)
	if got != want {
		t.Errorf("ACK\n got %q\nwant %q", got, want)
	}
}

func TestACKCodes(t *testing.T) {
	m := mustParse(t, string(testdata(t, "pcd01_multiparam.hl7")))
	tests := []struct {
		name     string
		ack      Ack
		code     string
		errCode  string
		location string
	}{
		{"plain error", Ack{Err: errors.New("database down")}, "AE", "207", ""},
		{"explicit AR", Ack{Code: AckReject, Err: errors.New("busy")}, "AR", "207", ""},
		{"explicit AE without reason", Ack{Code: AckError}, "AE", "207", ""},
		{"unsupported type", Ack{Err: &Error{Segment: "MSH", Sequence: 1, Field: 9, Code: CodeUnsupportedType, Err: ErrMessageType}}, "AR", "200", "MSH^1^9"},
		{"unsupported event", Ack{Err: &Error{Segment: "MSH", Sequence: 1, Field: 9, Code: CodeUnsupportedEvent, Err: ErrMessageType}}, "AR", "201", "MSH^1^9"},
		{"sequence", Ack{Err: &Error{Segment: "OBX", Sequence: 1, Code: CodeSegmentSequence, Err: ErrSequence}}, "AE", "100", "OBX^1"},
		{"no OBR", Ack{Err: &Error{Segment: "OBR", Code: CodeSegmentSequence, Err: ErrSequence}}, "AE", "100", "OBR"},
		{"no location", Ack{Err: &Error{Code: CodeRequiredField, Err: ErrMissingField}}, "AE", "101", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack := mustParse(t, string(BuildACK(m, tc.ack)))
			if v, _ := ack.Get("MSA-1"); v != tc.code {
				t.Errorf("MSA-1 = %q, want %q", v, tc.code)
			}
			err := ack.Segment("ERR", 1)
			if err == nil {
				t.Fatal("no ERR segment")
			}
			if v := err.Component(3, 1); v != tc.errCode {
				t.Errorf("ERR-3.1 = %q, want %q", v, tc.errCode)
			}
			if v := err.Component(3, 3); v != "HL70357" {
				t.Errorf("ERR-3.3 = %q", v)
			}
			if v := err.Raw(2); v != tc.location {
				t.Errorf("ERR-2 = %q, want %q", v, tc.location)
			}
			if v := err.Field(4); v != "E" {
				t.Errorf("ERR-4 = %q", v)
			}
			if tc.ack.Err != nil && err.Field(8) != tc.ack.Err.Error() {
				t.Errorf("ERR-8 = %q", err.Field(8))
			}
		})
	}
}

func TestACKGarbage(t *testing.T) {
	garbage := []byte("\x00\x01 this is not HL7 | at all ^~\\&")
	_, cause := Parse(garbage)
	if cause == nil {
		t.Fatal("garbage parsed")
	}
	h, _ := ParseHeader(garbage)
	out := BuildACK(h, Ack{Err: cause, Time: ackTime, Facility: "WARD7"})
	ack := mustParse(t, string(out))
	for path, want := range map[string]string{
		"MSH-3": "VIGIL", "MSH-4": "WARD7", "MSH-5": "", "MSH-6": "", "MSH-9": "ACK", "MSH-9.2": "R01",
		"MSH-11": "P", "MSH-12": "2.6", "MSA-1": "AR", "MSA-2": "", "ERR-3.1": "100", "ERR-2": "",
		"ERR-8": `hl7: message does not start with MSH: first segment is "\x00\x01 "`,
	} {
		if v, _ := ack.Get(path); v != want {
			t.Errorf("%s = %q, want %q", path, v, want)
		}
	}
	if id := ack.ControlID(); !strings.HasPrefix(id, "ACK2025031409253") {
		t.Errorf("control ID %q", id)
	}
	// The ACK itself is safe to frame.
	if strings.ContainsAny(string(out), "\x00\x01\x0b\x1c\n") {
		t.Errorf("ACK holds control characters: %q", out)
	}
}

func TestACKForRefusedMessageWithReadableHeader(t *testing.T) {
	in := []byte(msg(`MSH#$*!@#MON#W7#VIGIL#H#20250314##ORU$R01$ORU_R01#X42#P#2.5`, "PID###1", "B@D"))
	_, cause := Parse(in)
	h, err := ParseHeader(in)
	if cause == nil || err != nil {
		t.Fatal(cause, err)
	}
	out := string(BuildACK(h, Ack{Code: AckReject, Err: cause, Time: ackTime}))
	want := msg(
		`MSH#$*!@#VIGIL#H#MON#W7#20250314102531+0100##ACK$R01$ACK#ACKX42#P#2.5`,
		`MSA#AR#X42`,
		`ERR###100$Segment sequence error$HL70357#E####hl7: invalid segment name: segment 3: "B!T!D" is not three upper-case letters or digits`,
	)
	if out != want {
		t.Errorf("ACK\n got %q\nwant %q", out, want)
	}
	ack := mustParse(t, out)
	if v, _ := ack.Get("ERR-8"); !strings.Contains(v, `"B@D"`) {
		t.Errorf("ERR-8 = %q", v)
	}
}

func TestACKEscapesReason(t *testing.T) {
	m := mustParse(t, string(testdata(t, "pcd01_multiparam.hl7")))
	reason := "bad | field ^ with & all ~ separators \\ and\na second line\r"
	out := BuildACK(m, Ack{Err: errors.New(reason), Time: ackTime})
	ack := mustParse(t, string(out))
	if len(ack.Segments) != 3 {
		t.Fatalf("%d segments: %q", len(ack.Segments), out)
	}
	if v, _ := ack.Get("ERR-8"); v != reason {
		t.Errorf("ERR-8 = %q", v)
	}
	long := strings.Repeat("é", 1000)
	ack = mustParse(t, string(BuildACK(m, Ack{Err: errors.New(long)})))
	if v, _ := ack.Get("ERR-8"); len(v) > maxReasonLen+3 || !strings.HasSuffix(v, "é...") {
		t.Errorf("long reason not truncated on a character boundary: %d bytes, ends %q", len(v), v[len(v)-8:])
	}
}

func TestACKEchoesOriginal(t *testing.T) {
	// Trigger, processing ID, version, separators and truncation character come from the original.
	m := mustParse(t, msg(`MSH|^~\&#|DEV^EUI^EUI-64|WARD|STATION|HOSP|20250314||ORU^R40^ORU_R40|ALRM1|T|2.7`))
	out := string(BuildACK(m, Ack{Time: ackTime}))
	want := msg(`MSH|^~\&#|STATION|HOSP|DEV^EUI^EUI-64|WARD|20250314102531+0100||ACK^R40^ACK|ACKALRM1|T|2.7`, `MSA|AA|ALRM1`)
	if out != want {
		t.Errorf("ACK\n got %q\nwant %q", out, want)
	}
	// A nil message is rejected with defaults.
	ack := mustParse(t, string(BuildACK(nil, Ack{Time: ackTime})))
	if v, _ := ack.Get("MSA-1"); v != "AR" {
		t.Errorf("nil original: MSA-1 %q", v)
	}
}

func TestACKLeavesOutHugeFields(t *testing.T) {
	huge := strings.Repeat("A", MaxMessageSize-200)
	m := mustParse(t, msg(`MSH|^~\&|`+huge+`|W|V|H|20250314||ORU^R01|C7|P|2.6`, obr))
	out := BuildACK(m, Ack{Err: errors.New("x"), Time: ackTime})
	if len(out) > 1024 {
		t.Fatalf("ACK of %d bytes", len(out))
	}
	ack := mustParse(t, string(out))
	if v, _ := ack.Get("MSH-5"); v != "" {
		t.Errorf("MSH-5 copied: %d bytes", len(v))
	}
	if v, _ := ack.Get("MSA-2"); v != "C7" {
		t.Errorf("MSA-2 = %q", v)
	}
}
