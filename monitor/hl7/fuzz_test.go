package hl7

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// seedMessages adds the example messages, and variants of them, to a corpus.
func seedMessages(f *testing.F, add func([]byte)) {
	files, err := filepath.Glob("../../testdata/hl7/*.hl7")
	if err != nil || len(files) == 0 {
		f.Fatalf("no example messages: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
	r40, err := BuildR40(spo2Alarm())
	if err != nil {
		f.Fatal(err)
	}
	add(r40)
	add(BuildACK(nil, Ack{Err: ErrNoMSH, Time: ackTime}))
	add([]byte(msg(`MSH|^~\&#|A|B|C|D|20250314||ORU^R01|1|P|2.7`, obr, `OBX|1|NM|1^a^MDC|1|\X41\||||||R`)))
	add([]byte(msg(minMSH, "PID|||1", "PV1||I|W^1^A", obr, obx1, "NTE|1||\\.br\\ \\E\\", "DSC|1")))
}

func FuzzParse(f *testing.F) {
	seedMessages(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		h, herr := ParseHeader(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("parse error %T is not an *Error: %v", err, err)
			}
			if m != nil {
				t.Fatal("message returned with an error")
			}
			checkACK(t, h, Ack{Err: err})
			return
		}
		if herr != nil {
			t.Fatalf("Parse accepted what ParseHeader refused: %v", herr)
		}
		if h.ControlID() != m.ControlID() {
			t.Fatalf("ParseHeader control ID %q, Parse %q", h.ControlID(), m.ControlID())
		}

		// Re-encoding gives the same structure.
		m2, err := Parse(m.Bytes())
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v\n%q", err, m.Bytes())
		}
		if d := sameStructure(m, m2); d != "" {
			t.Fatalf("re-encoded message differs: %s", d)
		}

		// Every accessor copes with every position.
		for _, s := range m.Segments {
			for n := -1; n <= s.NumFields()+1; n++ {
				reps := s.Repetitions(n)
				for rep := 0; rep <= reps+1 && rep < 4; rep++ {
					comps := s.Components(n, rep)
					for c := 0; c <= comps+1 && c < 6; c++ {
						subs := s.Subcomponents(n, rep, c)
						for sub := 0; sub <= subs+1 && sub < 4; sub++ {
							_ = s.Value(n, rep, c, sub)
						}
					}
				}
				_ = s.Raw(n)
			}
		}
		for _, p := range []string{"MSH-9.2", "PID-3(2).4.2", "OBX(3)-5", "OBX-8(2)", "PV1-3.3"} {
			if _, err := m.Get(p); err != nil {
				t.Fatalf("Get(%q): %v", p, err)
			}
		}

		// Extraction either succeeds or fails with a located error; the
		// acknowledgement is valid either way.
		r, err := ExtractPCD01(m, time.UTC)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || r != nil {
				t.Fatalf("extract error %T %v with report %v", err, err, r)
			}
		} else {
			for _, o := range r.Observations {
				if o.Numeric && o.ValueType != "NM" {
					t.Fatalf("numeric value for type %q", o.ValueType)
				}
			}
		}
		checkACK(t, m, Ack{Err: err})
		checkACK(t, m, Ack{})
	})
}

// checkACK builds the acknowledgement of orig and checks that it parses and
// echoes the control ID.
func checkACK(t *testing.T, orig *Message, a Ack) {
	t.Helper()
	out := BuildACK(orig, a)
	ack, err := Parse(out)
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, out)
	}
	if got, want := ack.Segment("MSA", 1).Field(2), orig.ControlID(); got != want && len(want) <= maxCopyLen {
		t.Fatalf("MSA-2 %q, want %q", got, want)
	}
	if a.Err == nil && orig != nil {
		if v := ack.Segment("MSA", 1).Field(1); v != "AA" {
			t.Fatalf("MSA-1 %q for an accepted message", v)
		}
	}
	if bytes.ContainsAny(out, "\x0b\x1c\n") {
		t.Fatalf("ACK holds a framing character: %q", out)
	}
}

func FuzzMLLPRead(f *testing.F) {
	seedMessages(f, func(b []byte) {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, b); err == nil {
			f.Add(buf.Bytes())
		}
	})
	f.Add([]byte("junk\x0bMSH|A\x1c\r\x0bMSH|B\x0bMSH|C\x1cX\x0b\x1c\r\x0b"))
	f.Add([]byte("\x0b" + string(bytes.Repeat([]byte("x"), 40)) + "\x1c\r\x0bshort\x1c\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, limit := range []int{MaxMessageSize, 32} {
			r := NewReader(bytes.NewReader(data))
			r.limit = limit
			var total int64
			for calls := 0; ; calls++ {
				if calls > len(data)+2 {
					t.Fatalf("no progress after %d calls", calls)
				}
				m, err := r.ReadMessage()
				if err == io.EOF {
					break
				}
				if err != nil {
					if m != nil {
						t.Fatal("message returned with an error")
					}
					if errors.Is(err, ErrFrameTruncated) {
						if _, err := r.ReadMessage(); err != io.EOF {
							t.Fatalf("after a truncated frame: %v", err)
						}
						break
					}
					continue
				}
				if len(m) > limit || len(m) > MaxMessageSize {
					t.Fatalf("message of %d bytes, limit %d", len(m), limit)
				}
				if bytes.IndexByte(m, StartBlock) >= 0 || bytes.IndexByte(m, EndBlock) >= 0 {
					t.Fatalf("block character in message %q", m)
				}
				total += int64(len(m)) + 3
				// A frame read back after writing it is the same.
				var buf bytes.Buffer
				if err := WriteMessage(&buf, m); err != nil {
					t.Fatal(err)
				}
				again, err := NewReader(&buf).ReadMessage()
				if err != nil || !bytes.Equal(again, m) {
					t.Fatalf("round trip: %q, %v", again, err)
				}
			}
			if total+r.Skipped() > int64(len(data)) {
				t.Fatalf("messages (%d) and skipped bytes (%d) exceed the input (%d)", total, r.Skipped(), len(data))
			}
		}
	})
}
