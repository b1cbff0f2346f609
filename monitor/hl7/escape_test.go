package hl7

import (
	"math/rand/v2"
	"testing"
)

var customDelims = Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '!', Subcomponent: '@'}

func TestUnescape(t *testing.T) {
	tests := []struct {
		d       Delimiters
		in, out string
	}{
		{DefaultDelimiters, `plain`, `plain`},
		{DefaultDelimiters, `a\F\b`, `a|b`},
		{DefaultDelimiters, `a\S\b`, `a^b`},
		{DefaultDelimiters, `a\T\b`, `a&b`},
		{DefaultDelimiters, `a\R\b`, `a~b`},
		{DefaultDelimiters, `a\E\b`, `a\b`},
		{DefaultDelimiters, `line1\.br\line2`, "line1\nline2"},
		{DefaultDelimiters, `\X0D0A\`, "\r\n"},
		{DefaultDelimiters, `\X41\\X62\`, "Ab"},
		{DefaultDelimiters, `\xC3A9\`, `\xC3A9\`}, // lower-case x is not the hex escape
		{DefaultDelimiters, `\XC3a9\`, "\u00e9"},
		{DefaultDelimiters, `\X4\`, `\X4\`},   // odd number of digits: kept
		{DefaultDelimiters, `\XZZ\`, `\XZZ\`}, // not hex: kept
		{DefaultDelimiters, `\X\`, `\X\`},     // empty: kept
		{DefaultDelimiters, `\H\bold\N\`, `\H\bold\N\`},
		{DefaultDelimiters, `\.sp2\`, `\.sp2\`},
		{DefaultDelimiters, `\Zvendor\`, `\Zvendor\`},
		{DefaultDelimiters, `\\`, `\\`},
		{DefaultDelimiters, `a\F`, `a\F`}, // not closed: kept
		{DefaultDelimiters, `trailing\`, `trailing\`},
		{DefaultDelimiters, `\E\F\E\`, `\F\`},
		{DefaultDelimiters, `\H\\F\`, `\H\|`},
		{customDelims, `a!F!b!S!c!T!d!R!e!E!f`, `a#b$c@d*e!f`},
		{customDelims, `a\F\b`, `a\F\b`}, // backslash is not this message's escape character
		{customDelims, `x!.br!y!X7E!`, "x\ny~"},
	}
	for _, tc := range tests {
		if got := tc.d.UnescapeText(tc.in); got != tc.out {
			t.Errorf("UnescapeText(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		d       Delimiters
		in, out string
	}{
		{DefaultDelimiters, "plain text", "plain text"},
		{DefaultDelimiters, "a|b", `a\F\b`},
		{DefaultDelimiters, "a^b", `a\S\b`},
		{DefaultDelimiters, "a&b", `a\T\b`},
		{DefaultDelimiters, "a~b", `a\R\b`},
		{DefaultDelimiters, `a\b`, `a\E\b`},
		{DefaultDelimiters, "a\nb", `a\.br\b`},
		{DefaultDelimiters, "a\rb", `a\X0D\b`},
		{DefaultDelimiters, "\x0bframe\x1c", `\X0B\frame\X1C\`},
		{DefaultDelimiters, "tab\tkept", "tab\tkept"},
		{DefaultDelimiters, "caf\u00e9", "caf\u00e9"},
		{DefaultDelimiters, "SpO2 < 85% & falling", `SpO2 < 85% \T\ falling`},
		{customDelims, "a#b$c@d*e!f", `a!F!b!S!c!T!d!R!e!E!f`},
		{customDelims, `|^~\&`, `|^~\&`},
	}
	for _, tc := range tests {
		got := tc.d.EscapeText(tc.in)
		if got != tc.out {
			t.Errorf("EscapeText(%q) = %q, want %q", tc.in, got, tc.out)
		}
		if back := tc.d.UnescapeText(got); back != tc.in {
			t.Errorf("UnescapeText(EscapeText(%q)) = %q", tc.in, back)
		}
	}
}

// TestEscapeRoundTripRandom checks UnescapeText(EscapeText(s)) == s on random
// strings dense in separators and control characters.
func TestEscapeRoundTripRandom(t *testing.T) {
	alphabet := []byte("ab|^~\\&#$*!@XF.\r\n\x0b\x1c\x00\t\xff")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, d := range []Delimiters{DefaultDelimiters, customDelims} {
		for i := 0; i < 5000; i++ {
			b := make([]byte, rng.IntN(24))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
			s := string(b)
			enc := d.EscapeText(s)
			if back := d.UnescapeText(enc); back != s {
				t.Fatalf("round trip of %q: %q -> %q", s, enc, back)
			}
			for _, c := range []byte{d.Field, d.Component, d.Repetition, d.Subcomponent, '\r', '\n', StartBlock, EndBlock} {
				for k := 0; k < len(enc); k++ {
					if enc[k] == c {
						t.Fatalf("EscapeText(%q) = %q still holds %q", s, enc, c)
					}
				}
			}
		}
	}
}

// TestEscapeInMessage writes escaped text into a message and reads it back.
func TestEscapeInMessage(t *testing.T) {
	text := "HR > 120 | check leads ^ & ~ \\ done\nsecond line"
	for _, d := range []Delimiters{DefaultDelimiters, customDelims} {
		b := newBuilder(d)
		b.add("MSH").set(9, d.comp("ORU", "R01")).set(10, "1").set(12, "2.6")
		b.add("NTE").set(3, d.comp(text, "second component"))
		m, err := Parse(b.bytes())
		if err != nil {
			t.Fatal(err)
		}
		nte := m.Segment("NTE", 1)
		if got := nte.Component(3, 1); got != text {
			t.Errorf("%c: NTE-3.1 = %q", d.Field, got)
		}
		if got := nte.Component(3, 2); got != "second component" {
			t.Errorf("%c: NTE-3.2 = %q", d.Field, got)
		}
	}
}
