package hl7

import (
	"strings"
)

// Delimiters are a message's separator characters, read from MSH-1 and MSH-2.
type Delimiters struct {
	Field        byte // MSH-1, usually '|'
	Component    byte // usually '^'
	Repetition   byte // usually '~'
	Escape       byte // usually '\'
	Subcomponent byte // usually '&'
	Truncation   byte // v2.7 truncation character, usually '#'; 0 when MSH-2 has only four characters
}

// DefaultDelimiters are the separators recommended by HL7: |^~\&.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// EncodingCharacters is the text of MSH-2: component, repetition, escape and
// subcomponent characters, followed by the truncation character if any.
func (d Delimiters) EncodingCharacters() string {
	b := []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		b = append(b, d.Truncation)
	}
	return string(b)
}

// validate checks that every separator is a printable, non-alphanumeric
// ASCII character and that no two are the same.
func (d Delimiters) validate() error {
	seps := []byte{d.Field, d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		seps = append(seps, d.Truncation)
	}
	for i, c := range seps {
		if c <= ' ' || c >= 0x7f || isAlnum(c) {
			return errorf(ErrDelimiters, "separator %q is not a printable punctuation character", c)
		}
		for _, o := range seps[:i] {
			if o == c {
				return errorf(ErrDelimiters, "separator %q used twice", c)
			}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// UnescapeText decodes the escape sequences of a field value:
//
//	\F\ field separator      \S\ component separator   \T\ subcomponent separator
//	\R\ repetition separator \E\ escape character      \.br\ line break (LF)
//	\Xhh...\ bytes given in hexadecimal (an even number of hex digits)
//
// written with the message's own escape and separator characters. Other
// sequences (formatting such as \H\ or \.sp\, character-set switches, \Z..\)
// and malformed ones are kept literally, as is an escape character without a
// closing one.
func (d Delimiters) UnescapeText(s string) string {
	if strings.IndexByte(s, d.Escape) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, d.Escape)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		j := strings.IndexByte(s, d.Escape)
		if j < 0 {
			// No closing escape character: keep the rest as it is.
			b.WriteByte(d.Escape)
			b.WriteString(s)
			return b.String()
		}
		seq := s[:j]
		if d.decode(&b, seq) {
			s = s[j+1:]
			continue
		}
		// Unknown sequence (formatting, character set, local escapes):
		// keep it whole, delimiters included.
		b.WriteByte(d.Escape)
		b.WriteString(seq)
		b.WriteByte(d.Escape)
		s = s[j+1:]
	}
}

// decode writes the meaning of one escape sequence (the text between the
// escape characters) and reports whether it was understood.
func (d Delimiters) decode(b *strings.Builder, seq string) bool {
	switch seq {
	case "F":
		b.WriteByte(d.Field)
	case "S":
		b.WriteByte(d.Component)
	case "T":
		b.WriteByte(d.Subcomponent)
	case "R":
		b.WriteByte(d.Repetition)
	case "E":
		b.WriteByte(d.Escape)
	case ".br":
		b.WriteByte('\n')
	default:
		if len(seq) < 3 || seq[0] != 'X' || len(seq)%2 != 1 {
			return false
		}
		hex := seq[1:]
		for i := 0; i < len(hex); i++ {
			if unhex(hex[i]) < 0 {
				return false
			}
		}
		for i := 0; i < len(hex); i += 2 {
			b.WriteByte(byte(unhex(hex[i])<<4 | unhex(hex[i+1])))
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// EscapeText encodes text so that it can be placed in a field, component or
// subcomponent: separators and the escape character become \F\ \S\ \T\ \R\ \E\,
// a line feed becomes \.br\ and other control characters (carriage return,
// the MLLP block characters, ...) except tab become \Xhh\. UnescapeText(EscapeText(s))
// == s for every s.
func (d Delimiters) EscapeText(s string) string {
	if !d.needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		var code string
		switch {
		case c == d.Field:
			code = "F"
		case c == d.Component:
			code = "S"
		case c == d.Subcomponent:
			code = "T"
		case c == d.Repetition:
			code = "R"
		case c == d.Escape:
			code = "E"
		case c == '\n':
			code = ".br"
		case c < 0x20 && c != '\t' || c == 0x7f:
			const digits = "0123456789ABCDEF"
			code = string([]byte{'X', digits[c>>4], digits[c&0xf]})
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(d.Escape)
		b.WriteString(code)
		b.WriteByte(d.Escape)
	}
	return b.String()
}

func (d Delimiters) needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f || c == d.Field || c == d.Component ||
			c == d.Subcomponent || c == d.Repetition || c == d.Escape {
			return true
		}
	}
	return false
}
