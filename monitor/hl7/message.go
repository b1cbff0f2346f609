package hl7

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxMessageSize is the largest message, in bytes, that Parse accepts and
// that the MLLP Reader buffers.
const MaxMessageSize = 1 << 20

// mshMinFields is the number of MSH fields a message must have: up to MSH-12,
// the version ID.
const mshMinFields = 12

// Message is a parsed ER7 message: its separators and its segments in order.
// The first segment is always MSH. Field values are kept as they appear on the
// wire and unescaped when they are read.
type Message struct {
	Delims   Delimiters
	Segments []*Segment
}

// Segment is one segment: a three-character name and numbered fields. Each
// field has repetitions, each repetition components, each component
// subcomponents. Field numbering follows the standard: in MSH, field 1 is the
// field separator and field 2 the encoding characters; in other segments,
// field 1 is the first field after the name.
type Segment struct {
	Name   string
	fields []string // fields[0] is the name; fields[n] the raw text of field n
	d      Delimiters
}

// Parse parses one ER7-encoded message. Segments end with CR, LF or CR LF;
// empty segments at the end are ignored. It fails, with an *Error wrapping one
// of the sentinel errors, when the message is larger than MaxMessageSize, does
// not start with MSH, has invalid or repeated separators, an MSH without
// fields up to MSH-12 or with an empty MSH-9, MSH-10 or MSH-12, a segment name
// that is not three upper-case letters or digits, an empty segment between
// others, or a second MSH or batch/file segment. Bytes that are not valid
// UTF-8 are kept as they are.
func Parse(data []byte) (*Message, error) {
	if len(data) > MaxMessageSize {
		return nil, &Error{Code: CodeInternal, Err: errorf(ErrTooLarge, "%d bytes, limit %d", len(data), MaxMessageSize)}
	}
	s := string(data)
	msh, rest, err := parseMSH(s)
	if err != nil {
		return nil, err
	}
	d := msh.d
	// One allocation for every field of every segment, one for the segments.
	nseg := strings.Count(rest, "\r") + strings.Count(rest, "\n") + 1
	pool := make([]string, 0, strings.Count(rest, string(d.Field))+nseg)
	segs := make([]Segment, 1, nseg+1)
	segs[0] = *msh
	empty := 0 // segment number of the first empty segment not yet followed by a non-empty one
	for n := 2; rest != ""; n++ {
		var line string
		line, rest = nextLine(rest)
		if line == "" {
			if empty == 0 {
				empty = n
			}
			continue
		}
		if empty != 0 {
			return nil, &Error{Code: CodeSegmentSequence, Err: errorf(ErrEmptySegment, "segment %d is empty", empty)}
		}
		if err := checkName(line, d, n); err != nil {
			return nil, err
		}
		start := len(pool)
		pool = append(pool, line[:3])
		if len(line) > 3 {
			pool = splitAppend(pool, line[4:], d.Field)
		}
		segs = append(segs, Segment{Name: line[:3], fields: pool[start:len(pool):len(pool)], d: d})
	}
	m := &Message{Delims: d, Segments: make([]*Segment, len(segs))}
	for i := range segs {
		m.Segments[i] = &segs[i]
	}
	return m, nil
}

// ParseHeader parses only the MSH segment of data and returns a Message that
// holds it alone. It checks the separators like Parse but not the presence of
// the other fields; it is meant to acknowledge (reject) a message that Parse
// refused, echoing its control ID and swapping its applications.
func ParseHeader(data []byte) (*Message, error) {
	if len(data) > MaxMessageSize {
		data = data[:MaxMessageSize]
	}
	line, _ := nextLine(string(data))
	msh, err := parseMSHLine(line)
	if err != nil {
		return nil, err
	}
	return &Message{Delims: msh.d, Segments: []*Segment{msh}}, nil
}

// nextLine splits s after its first segment terminator (CR, LF or CR LF).
func nextLine(s string) (line, rest string) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, ""
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:]
	}
	return s[:i], s[i+1:]
}

// parseMSH parses the first segment of s, which must be a complete MSH, and
// returns it with the text that follows it.
func parseMSH(s string) (*Segment, string, error) {
	line, rest := nextLine(s)
	seg, err := parseMSHLine(line)
	if err != nil {
		return nil, "", err
	}
	if len(seg.fields) <= mshMinFields {
		return nil, "", &Error{Segment: "MSH", Sequence: 1, Code: CodeRequiredField,
			Err: errorf(ErrShortMSH, "%d fields, at least %d needed (up to MSH-12)", len(seg.fields)-1, mshMinFields)}
	}
	for _, f := range [...]struct {
		n    int
		name string
	}{{9, "message type"}, {10, "message control ID"}, {12, "version ID"}} {
		if seg.fields[f.n] == "" {
			return nil, "", &Error{Segment: "MSH", Sequence: 1, Field: f.n, Code: CodeRequiredField,
				Err: errorf(ErrMissingField, "MSH-%d %s is empty", f.n, f.name)}
		}
	}
	return seg, rest, nil
}

// parseMSHLine parses an MSH segment, given without its terminator.
func parseMSHLine(line string) (*Segment, error) {
	if !strings.HasPrefix(line, "MSH") {
		name := line
		if len(name) > 3 {
			name = name[:3]
		}
		detail := fmt.Sprintf("first segment is %q", name)
		switch name {
		case "FHS", "BHS":
			detail += " (batch and file messages are not supported)"
		}
		return nil, &Error{Code: CodeSegmentSequence, Err: errorf(ErrNoMSH, "%s", detail)}
	}
	if len(line) < 4 {
		return nil, &Error{Segment: "MSH", Sequence: 1, Field: 1, Code: CodeRequiredField,
			Err: errorf(ErrDelimiters, "MSH-1 field separator missing")}
	}
	fs := line[3]
	rest := line[4:]
	enc := rest
	if i := strings.IndexByte(rest, fs); i >= 0 {
		enc = rest[:i]
	}
	if len(enc) != 4 && len(enc) != 5 {
		return nil, &Error{Segment: "MSH", Sequence: 1, Field: 2, Code: CodeRequiredField,
			Err: errorf(ErrDelimiters, "MSH-2 encoding characters %q: want 4 or 5 characters", enc)}
	}
	d := Delimiters{Field: fs, Component: enc[0], Repetition: enc[1], Escape: enc[2], Subcomponent: enc[3]}
	if len(enc) == 5 {
		d.Truncation = enc[4]
	}
	if err := d.validate(); err != nil {
		return nil, &Error{Segment: "MSH", Sequence: 1, Field: 2, Code: CodeDataType, Err: err}
	}
	fields := []string{"MSH", line[3:4], enc}
	if rest = rest[len(enc):]; rest != "" {
		fields = splitAppend(fields, rest[1:], fs)
	}
	return &Segment{Name: "MSH", fields: fields, d: d}, nil
}

// checkName validates the name of the n-th segment (line is its text).
func checkName(line string, d Delimiters, n int) error {
	bad := len(line) < 3 || len(line) > 3 && line[3] != d.Field
	for i := 0; !bad && i < 3; i++ {
		c := line[i]
		bad = !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	}
	if bad {
		name := line
		if i := strings.IndexByte(name, d.Field); i >= 0 {
			name = name[:i]
		}
		if len(name) > 16 {
			name = name[:16] + "..."
		}
		return &Error{Code: CodeSegmentSequence,
			Err: errorf(ErrSegmentName, "segment %d: %q is not three upper-case letters or digits", n, name)}
	}
	switch name := line[:3]; name {
	case "MSH", "FHS", "BHS", "BTS", "FTS":
		return &Error{Segment: name, Code: CodeSegmentSequence,
			Err: errorf(ErrUnsupported, "segment %d: %s inside a message (batch and file messages are not supported)", n, name)}
	}
	return nil
}

// splitAppend appends the pieces of s separated by sep to dst.
func splitAppend(dst []string, s string, sep byte) []string {
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}

// piece returns the i-th (1-based) piece of s separated by sep, and whether it exists.
func piece(s string, sep byte, i int) (string, bool) {
	if i < 1 {
		return "", false
	}
	for ; i > 1; i-- {
		j := strings.IndexByte(s, sep)
		if j < 0 {
			return "", false
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, sep); j >= 0 {
		s = s[:j]
	}
	return s, true
}

// count returns the number of pieces of s separated by sep; 0 when s is empty.
func count(s string, sep byte) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, string(sep)) + 1
}

// NumFields returns the number of the last field present in the segment.
func (s *Segment) NumFields() int { return len(s.fields) - 1 }

// Raw returns field n as it appears in the message: escape sequences, and
// every repetition, component and subcomponent with their separators. Raw(0)
// is the segment name; a field that is absent is empty.
func (s *Segment) Raw(n int) string {
	if n < 0 || n >= len(s.fields) {
		return ""
	}
	return s.fields[n]
}

// isLiteral reports whether field n is MSH-1 or MSH-2, which hold separators
// and are never split or unescaped.
func (s *Segment) isLiteral(n int) bool { return s.Name == "MSH" && (n == 1 || n == 2) }

// Value returns the unescaped text of subcomponent sub of component comp of
// repetition rep of field n, all numbered from 1; empty if absent. MSH-1 and
// MSH-2 are returned verbatim. The HL7 null value "" is returned as the two
// quote characters.
func (s *Segment) Value(n, rep, comp, sub int) string {
	if n < 0 || n >= len(s.fields) {
		return ""
	}
	raw := s.fields[n]
	if n == 0 || s.isLiteral(n) {
		if rep == 1 && comp == 1 && sub == 1 {
			return raw
		}
		return ""
	}
	v, ok := piece(raw, s.d.Repetition, rep)
	if ok {
		v, ok = piece(v, s.d.Component, comp)
	}
	if ok {
		v, ok = piece(v, s.d.Subcomponent, sub)
	}
	if !ok {
		return ""
	}
	return s.d.UnescapeText(v)
}

// Field returns the simple value of field n: the unescaped first subcomponent
// of the first component of its first repetition. Use Value or Raw for the
// rest of a composite field.
func (s *Segment) Field(n int) string { return s.Value(n, 1, 1, 1) }

// Component returns the unescaped first subcomponent of component c of the
// first repetition of field n.
func (s *Segment) Component(n, c int) string { return s.Value(n, 1, c, 1) }

// Repetitions returns the number of repetitions of field n (0 when empty).
func (s *Segment) Repetitions(n int) int {
	raw := s.Raw(n)
	if n == 0 || s.isLiteral(n) {
		if raw == "" {
			return 0
		}
		return 1
	}
	return count(raw, s.d.Repetition)
}

// Components returns the number of components of repetition rep of field n.
func (s *Segment) Components(n, rep int) int {
	if n == 0 || s.isLiteral(n) {
		return s.Repetitions(n)
	}
	r, _ := piece(s.Raw(n), s.d.Repetition, rep)
	return count(r, s.d.Component)
}

// Subcomponents returns the number of subcomponents of component comp of
// repetition rep of field n.
func (s *Segment) Subcomponents(n, rep, comp int) int {
	if n == 0 || s.isLiteral(n) {
		return s.Repetitions(n)
	}
	r, _ := piece(s.Raw(n), s.d.Repetition, rep)
	c, _ := piece(r, s.d.Component, comp)
	return count(c, s.d.Subcomponent)
}

// Segment returns the occ-th (1-based) segment named name, or nil.
func (m *Message) Segment(name string, occ int) *Segment {
	for _, s := range m.Segments {
		if s.Name == name {
			if occ--; occ == 0 {
				return s
			}
		}
	}
	return nil
}

// msh returns the header segment; nil for an empty Message.
func (m *Message) msh() *Segment {
	if m == nil || len(m.Segments) == 0 || m.Segments[0].Name != "MSH" {
		return nil
	}
	return m.Segments[0]
}

// ControlID returns MSH-10, the message control ID.
func (m *Message) ControlID() string {
	if h := m.msh(); h != nil {
		return h.Field(10)
	}
	return ""
}

// Type returns the message code, trigger event and message structure of
// MSH-9, e.g. "ORU", "R01", "ORU_R01".
func (m *Message) Type() (code, event, structure string) {
	if h := m.msh(); h != nil {
		return h.Component(9, 1), h.Component(9, 2), h.Component(9, 3)
	}
	return "", "", ""
}

// Get returns the value at path, written SEG[(occ)]-F[(rep)][.C[.S]]: segment
// name, optional 1-based occurrence of the segment, field number, optional
// repetition, component and subcomponent. "PID-3.1", "OBX(2)-5", "OBX-8(2)",
// "PID-3.4.2". Without a component it returns the first one, like Field. An
// absent value is empty; a malformed path is an error wrapping ErrPath.
func (m *Message) Get(path string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("hl7: %w %q: %s", ErrPath, path, why)
	}
	if len(path) < 5 {
		return bad("too short")
	}
	name := path[:3]
	for i := 0; i < 3; i++ {
		if c := name[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return bad("segment name is not three upper-case letters or digits")
		}
	}
	p := path[3:]
	occ, p, ok := parenNumber(p)
	if !ok {
		return bad("bad segment occurrence")
	}
	if p == "" || p[0] != '-' {
		return bad("missing '-' after the segment")
	}
	field, p, ok := number(p[1:])
	if !ok {
		return bad("bad field number")
	}
	rep, p, ok := parenNumber(p)
	if !ok {
		return bad("bad repetition")
	}
	comp, sub := 1, 1
	if p != "" {
		if p[0] != '.' {
			return bad("unexpected text after the field")
		}
		if comp, p, ok = number(p[1:]); !ok {
			return bad("bad component")
		}
	}
	if p != "" {
		if p[0] != '.' {
			return bad("unexpected text after the component")
		}
		if sub, p, ok = number(p[1:]); !ok || p != "" {
			return bad("bad subcomponent")
		}
	}
	seg := m.Segment(name, occ)
	if seg == nil {
		return "", nil
	}
	return seg.Value(field, rep, comp, sub), nil
}

// number reads a positive decimal number at the start of s.
func number(s string) (int, string, bool) {
	i := 0
	for i < len(s) && i < 7 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 1 {
		return 0, s, false
	}
	return n, s[i:], true
}

// parenNumber reads an optional "(n)" at the start of s; 1 when absent.
func parenNumber(s string) (int, string, bool) {
	if s == "" || s[0] != '(' {
		return 1, s, true
	}
	n, rest, ok := number(s[1:])
	if !ok || rest == "" || rest[0] != ')' {
		return 0, s, false
	}
	return n, rest[1:], true
}

// Bytes encodes the message in ER7, each segment followed by a carriage
// return. For a parsed message, Parse(m.Bytes()) has the same segments and
// fields.
func (m *Message) Bytes() []byte {
	n := 0
	for _, s := range m.Segments {
		for _, f := range s.fields {
			n += len(f) + 1
		}
	}
	b := make([]byte, 0, n)
	for _, s := range m.Segments {
		b = append(b, s.Name...)
		for i := 1; i < len(s.fields); i++ {
			if s.Name == "MSH" && i <= 2 {
				b = append(b, s.fields[i]...) // MSH-1 is the separator itself
				continue
			}
			b = append(b, s.d.Field)
			b = append(b, s.fields[i]...)
		}
		b = append(b, '\r')
	}
	return b
}
