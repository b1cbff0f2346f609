package hl7

import (
	"strings"
	"unicode/utf8"
)

// builder assembles a message from raw (already escaped) field values.
type builder struct {
	m Message
}

func newBuilder(d Delimiters) *builder {
	return &builder{m: Message{Delims: d}}
}

// add appends a segment and returns it; an MSH starts with MSH-1 and MSH-2 set.
func (b *builder) add(name string) *Segment {
	s := &Segment{Name: name, fields: []string{name}, d: b.m.Delims}
	if name == "MSH" {
		s.fields = append(s.fields, string(b.m.Delims.Field), b.m.Delims.EncodingCharacters())
	}
	b.m.Segments = append(b.m.Segments, s)
	return s
}

func (b *builder) bytes() []byte { return b.m.Bytes() }

// set stores the raw text of field n, adding empty fields before it as needed.
func (s *Segment) set(n int, raw string) *Segment {
	for len(s.fields) <= n {
		s.fields = append(s.fields, "")
	}
	s.fields[n] = raw
	return s
}

// comp escapes each part and joins them as components, dropping trailing
// empty ones.
func (d Delimiters) comp(parts ...string) string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = d.EscapeText(p)
	}
	return strings.Join(esc, string(d.Component))
}

// reps joins already-encoded values as repetitions, dropping empty ones.
func (d Delimiters) reps(values ...string) string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, string(d.Repetition))
}

// truncate shortens s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
