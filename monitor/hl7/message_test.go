package hl7

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// testdata reads an example message of testdata/hl7.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/hl7/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v\n%q", err, s)
	}
	return m
}

// msg joins segments with CR.
func msg(segs ...string) string { return strings.Join(segs, "\r") + "\r" }

const minMSH = `MSH|^~\&|SND|SFAC|RCV|RFAC|20250314102530||ORU^R01^ORU_R01|CTL1|P|2.6`

func TestParseSeparators(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		delims Delimiters
		path   string
		want   string
	}{
		{"default", msg(minMSH, "PID|||ID1^^^H^MR||Doe^Jo"), DefaultDelimiters, "PID-5.2", "Jo"},
		{"hash and dollar", msg(`MSH#$*!@#SND#SFAC#RCV#RFAC#20250314##ORU$R01#C1#P#2.6`, "PID###ID1$$$H$MR##Doe$Jo"),
			Delimiters{'#', '$', '*', '!', '@', 0}, "PID-5.2", "Jo"},
		{"custom escape", msg(`MSH#$*!@#SND#SFAC#RCV#RFAC#20250314##ORU$R01#C1#P#2.6`, "NTE###a!F!b!S!c!E!d"),
			Delimiters{'#', '$', '*', '!', '@', 0}, "NTE-3", "a#b$c!d"},
		{"truncation character", msg(`MSH|^~\&#|SND|SFAC|RCV|RFAC|20250314||ORU^R01|C1|P|2.7`, "PID|||A#B"),
			Delimiters{'|', '^', '~', '\\', '&', '#'}, "PID-3", "A#B"},
		{"MSH-1", msg(minMSH), DefaultDelimiters, "MSH-1", "|"},
		{"MSH-2", msg(minMSH), DefaultDelimiters, "MSH-2", `^~\&`},
		{"MSH-3 is the first field after MSH-2", msg(minMSH), DefaultDelimiters, "MSH-3", "SND"},
		{"MSH-12", msg(minMSH), DefaultDelimiters, "MSH-12", "2.6"},
		{"MSH-9.2", msg(minMSH), DefaultDelimiters, "MSH-9.2", "R01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.in)
			if m.Delims != tc.delims {
				t.Errorf("Delims = %+v, want %+v", m.Delims, tc.delims)
			}
			got, err := m.Get(tc.path)
			if err != nil || got != tc.want {
				t.Errorf("Get(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
		})
	}
}

func TestParseTerminators(t *testing.T) {
	segs := []string{minMSH, "PID|||ID1", "PV1||I|7W^1^A"}
	for name, in := range map[string]string{
		"CR":             strings.Join(segs, "\r"),
		"LF":             strings.Join(segs, "\n"),
		"CRLF":           strings.Join(segs, "\r\n"),
		"mixed":          segs[0] + "\r\n" + segs[1] + "\n" + segs[2] + "\r",
		"trailing empty": strings.Join(segs, "\r") + "\r\r\n\n\r",
	} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, in)
			if len(m.Segments) != 3 {
				t.Fatalf("%d segments, want 3", len(m.Segments))
			}
			for i, want := range []string{"MSH", "PID", "PV1"} {
				if m.Segments[i].Name != want {
					t.Errorf("segment %d = %s, want %s", i, m.Segments[i].Name, want)
				}
			}
			if v := m.Segments[2].Component(3, 3); v != "A" {
				t.Errorf("PV1-3.3 = %q", v)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		code ErrorCode
	}{
		{"empty", "", ErrNoMSH, CodeSegmentSequence},
		{"not MSH", msg("PID|||1", minMSH), ErrNoMSH, CodeSegmentSequence},
		{"batch header", msg("BHS|^~\\&|X", minMSH), ErrNoMSH, CodeSegmentSequence},
		{"lower-case msh", msg(strings.Replace(minMSH, "MSH", "msh", 1)), ErrNoMSH, CodeSegmentSequence},
		{"only MSH", "MSH", ErrDelimiters, CodeRequiredField},
		{"no encoding characters", "MSH|", ErrDelimiters, CodeRequiredField},
		{"three encoding characters", `MSH|^~\|A|B`, ErrDelimiters, CodeRequiredField},
		{"six encoding characters", `MSH|^~\&#!|A|B`, ErrDelimiters, CodeRequiredField},
		{"duplicate separator", `MSH|^~\^|A|B|C|D|E||ORU^R01|1|P|2.6`, ErrDelimiters, CodeDataType},
		{"field separator in MSH-2", `MSH|^|\&|A`, ErrDelimiters, CodeRequiredField},
		{"alphanumeric separator", `MSH|^~\A|A|B|C|D|E||ORU^R01|1|P|2.6`, ErrDelimiters, CodeDataType},
		{"space separator", `MSH ^~\& A B C D E  ORU^R01 1 P 2.6`, ErrDelimiters, CodeDataType},
		{"CR as field separator", "MSH\r^~\\&", ErrDelimiters, CodeRequiredField},
		{"short MSH", `MSH|^~\&|A|B|C|D|20250101||ORU^R01|1|P`, ErrShortMSH, CodeRequiredField},
		{"empty MSH-9", `MSH|^~\&|A|B|C|D|20250101|||1|P|2.6`, ErrMissingField, CodeRequiredField},
		{"empty MSH-10", `MSH|^~\&|A|B|C|D|20250101||ORU^R01||P|2.6`, ErrMissingField, CodeRequiredField},
		{"empty MSH-12", `MSH|^~\&|A|B|C|D|20250101||ORU^R01|1|P|`, ErrMissingField, CodeRequiredField},
		{"segment name too long", msg(minMSH, "PIDX|1"), ErrSegmentName, CodeSegmentSequence},
		{"segment name too short", msg(minMSH, "PI"), ErrSegmentName, CodeSegmentSequence},
		{"segment name lower case", msg(minMSH, "pid|1"), ErrSegmentName, CodeSegmentSequence},
		{"segment name punctuation", msg(minMSH, "P-D|1"), ErrSegmentName, CodeSegmentSequence},
		{"empty segment in the middle", minMSH + "\r\rPID|1\r", ErrEmptySegment, CodeSegmentSequence},
		{"second MSH", msg(minMSH, "PID|1", minMSH), ErrUnsupported, CodeSegmentSequence},
		{"batch trailer", msg(minMSH, "BTS|1"), ErrUnsupported, CodeSegmentSequence},
		{"too large", minMSH + "\rNTE|||" + strings.Repeat("x", MaxMessageSize), ErrTooLarge, CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %d segments", len(m.Segments))
			}
			if m != nil {
				t.Error("a message was returned with the error")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %q", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if e.Code != tc.code {
				t.Errorf("code %d, want %d (%v)", e.Code, tc.code, err)
			}
			if !strings.HasPrefix(err.Error(), "hl7: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestParseKeepsInvalidUTF8(t *testing.T) {
	m := mustParse(t, msg(minMSH, "NTE|||caf\xe9 \xff\xfe"))
	if v := m.Segment("NTE", 1).Field(3); v != "caf\xe9 \xff\xfe" {
		t.Errorf("NTE-3 = %q", v)
	}
}

func TestParseMaxSizeAccepted(t *testing.T) {
	head := minMSH + "\rNTE|||"
	body := strings.Repeat("x", MaxMessageSize-len(head))
	m := mustParse(t, head+body)
	if n := len(m.Segment("NTE", 1).Field(3)); n != len(body) {
		t.Errorf("NTE-3 has %d bytes", n)
	}
}

func TestStructure(t *testing.T) {
	m := mustParse(t, msg(minMSH,
		`PID|1||ID1^^^HOSP&1.2.3&ISO^MR~ID2^^^OTHER^PI||Doe^Jane^Q||||||||||||||`,
		`OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|97|262688^MDC_DIM_PERCENT^MDC||L~PM~SP|||F`,
		`NTE`,
	))
	pid := m.Segment("PID", 1)
	obx := m.Segment("OBX", 1)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"PID fields", pid.NumFields(), 19},
		{"PID-3 repetitions", pid.Repetitions(3), 2},
		{"PID-3(1) components", pid.Components(3, 1), 5},
		{"PID-3(1).4 subcomponents", pid.Subcomponents(3, 1, 4), 3},
		{"PID-3(1).4.2", pid.Value(3, 1, 4, 2), "1.2.3"},
		{"PID-3(1).4 first subcomponent", pid.Component(3, 4), "HOSP"},
		{"PID-3(2).1", pid.Value(3, 2, 1, 1), "ID2"},
		{"PID-3(2).5", pid.Value(3, 2, 5, 1), "PI"},
		{"PID-3(3) absent", pid.Value(3, 3, 1, 1), ""},
		{"PID-3.9 absent", pid.Component(3, 9), ""},
		{"PID-3 raw", pid.Raw(3), "ID1^^^HOSP&1.2.3&ISO^MR~ID2^^^OTHER^PI"},
		{"PID-5 field is the first component", pid.Field(5), "Doe"},
		{"PID-99 absent", pid.Field(99), ""},
		{"PID-0 is the name", pid.Field(0), "PID"},
		{"PID-19 empty", pid.Repetitions(19), 0},
		{"negative field", pid.Value(-1, 1, 1, 1), ""},
		{"zero repetition", pid.Value(3, 0, 1, 1), ""},
		{"OBX-8 repetitions", obx.Repetitions(8), 3},
		{"OBX-8(3)", obx.Value(8, 3, 1, 1), "SP"},
		{"NTE without fields", m.Segment("NTE", 1).NumFields(), 0},
		{"MSH-1 repetitions", m.Segments[0].Repetitions(1), 1},
		{"MSH-2 components", m.Segments[0].Components(2, 1), 1},
		{"MSH-2 value", m.Segments[0].Value(2, 1, 1, 1), `^~\&`},
		{"MSH-2 second component", m.Segments[0].Value(2, 1, 2, 1), ""},
		{"absent segment", m.Segment("PV1", 1) == nil, true},
		{"second PID absent", m.Segment("PID", 2) == nil, true},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	if code, ev, st := m.Type(); code != "ORU" || ev != "R01" || st != "ORU_R01" {
		t.Errorf("Type = %s %s %s", code, ev, st)
	}
	if id := m.ControlID(); id != "CTL1" {
		t.Errorf("ControlID = %q", id)
	}
}

func TestGet(t *testing.T) {
	m := mustParse(t, msg(minMSH,
		`PID|||ID1^^^HOSP&1.2.3&ISO^MR~ID2||O\S\Brien^Pat`,
		`OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72`,
		`OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|97||90-100|L~PM`,
	))
	tests := []struct{ path, want string }{
		{"PID-3", "ID1"},
		{"PID-3.1", "ID1"},
		{"PID-3.4", "HOSP"},
		{"PID-3.4.2", "1.2.3"},
		{"PID-3(2)", "ID2"},
		{"PID-3(2).1", "ID2"},
		{"PID-5", "O^Brien"},
		{"PID-5.2", "Pat"},
		{"OBX-5", "72"},
		{"OBX(1)-5", "72"},
		{"OBX(2)-5", "97"},
		{"OBX(2)-8(2)", "PM"},
		{"OBX(3)-5", ""},
		{"PV1-3", ""},
		{"MSH-1", "|"},
		{"MSH-2", `^~\&`},
		{"MSH-10", "CTL1"},
	}
	for _, tc := range tests {
		got, err := m.Get(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Get(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "PID", "PID3", "pid-3", "PID-", "PID-0", "PID-x", "PID(0)-3", "PID(1-3",
		"PID-3(", "PID-3()", "PID-3.", "PID-3.0", "PID-3.1.", "PID-3.1.1.1", "PID-3x", "PID-3.1x", "PID-99999999"} {
		if _, err := m.Get(bad); !errors.Is(err, ErrPath) {
			t.Errorf("Get(%q) error = %v, want ErrPath", bad, err)
		}
	}
}

func TestParseHeader(t *testing.T) {
	// The message is refused (bad segment name) but its header is readable.
	in := msg(minMSH, "PID|||1", "bad segment")
	if _, err := Parse([]byte(in)); err == nil {
		t.Fatal("Parse accepted a bad segment")
	}
	h, err := ParseHeader([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Segments) != 1 || h.ControlID() != "CTL1" {
		t.Errorf("ParseHeader: %d segments, control ID %q", len(h.Segments), h.ControlID())
	}
	// A short MSH is enough for ParseHeader.
	if h, err := ParseHeader([]byte(`MSH|^~\&|DEV|||||||C9`)); err != nil || h.ControlID() != "C9" {
		t.Errorf("short header: %v, %v", h, err)
	}
	for _, bad := range []string{"", "PID|1", "MSH|^~", "MSH|^^\\&|"} {
		if _, err := ParseHeader([]byte(bad)); err == nil {
			t.Errorf("ParseHeader(%q) succeeded", bad)
		}
	}
}

// sameStructure reports the first difference between two messages' segments
// and fields, or "".
func sameStructure(a, b *Message) string {
	if a.Delims != b.Delims {
		return "delimiters differ"
	}
	if len(a.Segments) != len(b.Segments) {
		return "segment counts differ"
	}
	for i := range a.Segments {
		sa, sb := a.Segments[i], b.Segments[i]
		if sa.Name != sb.Name || !reflect.DeepEqual(sa.fields, sb.fields) {
			return "segment " + sa.Name + " differs"
		}
	}
	return ""
}

func TestBytesRoundTrip(t *testing.T) {
	for _, name := range []string{"pcd01_multiparam.hl7", "pcd01_custom_separators.hl7", "pcd01_local_codes.hl7"} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, string(testdata(t, name)))
			out := m.Bytes()
			m2, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameStructure(m, m2); d != "" {
				t.Error(d)
			}
			// With CR terminators the encoding is the input itself.
			in := strings.NewReplacer("\r\n", "\r", "\n", "\r").Replace(string(testdata(t, name)))
			if string(out) != in {
				t.Errorf("Bytes differs from the input:\n%q\n%q", out, in)
			}
		})
	}
}
