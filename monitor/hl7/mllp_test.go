package hl7

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

func TestMLLPRoundTrip(t *testing.T) {
	msgs := [][]byte{
		testdata(t, "pcd01_multiparam.hl7"),
		testdata(t, "pcd01_local_codes.hl7"),
		{},
		[]byte("MSH|^~\\&|x"),
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range map[string]io.Reader{
		"whole":          bytes.NewReader(buf.Bytes()),
		"one byte reads": iotest.OneByteReader(bytes.NewReader(buf.Bytes())),
		"small bufio":    bufio.NewReaderSize(bytes.NewReader(buf.Bytes()), 16),
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src)
			for i, want := range msgs {
				got, err := r.ReadMessage()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("message %d: got %q, want %q", i, got, want)
				}
			}
			if _, err := r.ReadMessage(); err != io.EOF {
				t.Errorf("after the last frame: %v, want io.EOF", err)
			}
			if r.Skipped() != 0 {
				t.Errorf("skipped %d", r.Skipped())
			}
		})
	}
}

func TestMLLPGarbageBeforeStart(t *testing.T) {
	in := "  \r\n\x00garbage" + frame("MSH|A") + "\n\n" + frame("MSH|B") + "tail"
	r := NewReader(strings.NewReader(in))
	for _, want := range []string{"MSH|A", "MSH|B"} {
		got, err := r.ReadMessage()
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Errorf("trailing garbage: %v, want io.EOF", err)
	}
	if want := int64(len("  \r\n\x00garbage") + 2 + len("tail")); r.Skipped() != want {
		t.Errorf("skipped %d, want %d", r.Skipped(), want)
	}
}

func TestMLLPErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		next string // message read by the following call, "" for io.EOF
	}{
		{"EOF mid-frame", "\x0bMSH|A", ErrFrameTruncated, ""},
		{"EOF after start block", "\x0b", ErrFrameTruncated, ""},
		{"EOF after end block", "\x0bMSH|A\x1c", ErrFrameTruncated, ""},
		{"start block inside frame", "\x0bMSH|A\x0bMSH|B\x1c\r", ErrFrameStart, "MSH|B"},
		{"end block without CR", "\x0bMSH|A\x1cX" + frame("MSH|B"), ErrFrameEnd, "MSH|B"},
		{"end block followed by start", "\x0bMSH|A\x1c" + frame("MSH|B"), ErrFrameEnd, "MSH|B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in))
			got, err := r.ReadMessage()
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("got %q, %v; want %v", got, err, tc.want)
			}
			if tc.want == ErrFrameTruncated && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%v does not wrap io.ErrUnexpectedEOF", err)
			}
			got, err = r.ReadMessage()
			if tc.next == "" {
				if err != io.EOF {
					t.Errorf("next: %q, %v; want io.EOF", got, err)
				}
			} else if err != nil || string(got) != tc.next {
				t.Errorf("next: %q, %v; want %q", got, err, tc.next)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless yields the same byte for ever.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestMLLPOversize(t *testing.T) {
	// Exactly MaxMessageSize is accepted.
	exact := strings.Repeat("x", MaxMessageSize)
	r := NewReader(strings.NewReader(frame(exact)))
	if got, err := r.ReadMessage(); err != nil || len(got) != MaxMessageSize {
		t.Fatalf("exact size: %d bytes, %v", len(got), err)
	}

	// One byte more is refused, the rest of the frame skipped, the next frame read.
	big := strings.Repeat("y", MaxMessageSize+1)
	r = NewReader(strings.NewReader(frame(big) + frame("MSH|next")))
	if got, err := r.ReadMessage(); !errors.Is(err, ErrTooLarge) || got != nil {
		t.Fatalf("oversize: %d bytes, %v", len(got), err)
	}
	if got, err := r.ReadMessage(); err != nil || string(got) != "MSH|next" {
		t.Fatalf("after oversize: %q, %v", got, err)
	}
	if r.Skipped() != int64(len(big)+2) {
		t.Errorf("skipped %d, want %d", r.Skipped(), len(big)+2)
	}

	// An endless frame fails without reading (or buffering) much past the limit.
	cr := &countingReader{r: io.MultiReader(strings.NewReader("\x0b"), endless('z'))}
	r = NewReader(cr)
	if _, err := r.ReadMessage(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless frame: %v", err)
	}
	if cr.n > MaxMessageSize+2*4096 {
		t.Errorf("read %d bytes for a %d limit", cr.n, MaxMessageSize)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteMessage(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMessage(&buf, []byte("MSH|x\r")); err != nil || buf.String() != "\x0bMSH|x\r\x1c\r" {
		t.Errorf("frame %q, %v", buf.String(), err)
	}
	for _, bad := range []string{"a\x0bb", "a\x1cb"} {
		if err := WriteMessage(&buf, []byte(bad)); !errors.Is(err, ErrFrameContent) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := WriteMessage(&buf, make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	if err := WriteMessage(failingWriter{}, []byte("MSH")); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("write error: %v", err)
	}
}

func TestMLLPReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader("\x0bMSH|A"), iotest.ErrReader(boom)))
	if _, err := r.ReadMessage(); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
	r = NewReader(iotest.ErrReader(boom))
	if _, err := r.ReadMessage(); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}

func TestMLLPOversizeResync(t *testing.T) {
	tests := []struct {
		name, in, next string
		skipped        int64
	}{
		{"next start block", "\x0b" + strings.Repeat("a", 20) + frame("MSH|B"), "MSH|B", 20},
		{"end block without CR", "\x0b" + strings.Repeat("a", 20) + "\x1c" + frame("MSH|B"), "MSH|B", 21},
		{"EOF in the oversize frame", "\x0b" + strings.Repeat("a", 20), "", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(iotest.HalfReader(strings.NewReader(tc.in)))
			r.limit = 8
			if _, err := r.ReadMessage(); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("first read: %v", err)
			}
			got, err := r.ReadMessage()
			if tc.next == "" {
				if err != io.EOF {
					t.Fatalf("second read: %q, %v; want io.EOF", got, err)
				}
			} else if err != nil || string(got) != tc.next {
				t.Fatalf("second read: %q, %v; want %q", got, err, tc.next)
			}
			if r.Skipped() != tc.skipped {
				t.Errorf("skipped %d, want %d", r.Skipped(), tc.skipped)
			}
		})
	}
}
