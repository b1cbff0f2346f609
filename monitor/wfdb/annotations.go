package wfdb

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Annotation is one entry of an MIT-format annotation file.
type Annotation struct {
	Sample int64  // sample number (in frames of the record)
	Code   int    // annotation code: 1 N, 5 V, 28 rhythm change ... (see Mnemonic)
	Sub    int    // subtype
	Chan   int    // signal the annotation refers to
	Num    int    // annotator-defined number
	Aux    string // auxiliary text, e.g. "(VT" on a rhythm change
}

// Annotation codes used by the evaluation.
const (
	CodeNormal   = 1
	CodePVC      = 5
	CodeFusion   = 6
	CodeNoise    = 14
	codeNote     = 22
	CodeRhythm   = 28
	CodeVFOn     = 32
	CodeVFOff    = 33
	codeSkip     = 59
	codeNum      = 60
	codeSub      = 61
	codeChan     = 62
	codeAux      = 63
	maxAnnotCode = 49
)

// mnemonics are WFDB's annotation mnemonics by code; "" where none.
var mnemonics = [...]string{
	0: "", 1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S", 10: "E",
	11: "j", 12: "/", 13: "Q", 14: "~", 16: "|", 18: "s", 19: "T", 20: "*", 21: "D",
	22: "\"", 23: "=", 24: "p", 25: "B", 26: "^", 27: "t", 28: "+", 29: "u", 30: "?",
	31: "!", 32: "[", 33: "]", 34: "e", 35: "n", 36: "@", 37: "x", 38: "f", 39: "(", 40: ")", 41: "r",
	maxAnnotCode: "",
}

// Mnemonic is the annotation's one-character WFDB name ("N", "V", "+" ...),
// or "[code]" for a code without one.
func (a Annotation) Mnemonic() string {
	if a.Code >= 0 && a.Code < len(mnemonics) && mnemonics[a.Code] != "" {
		return mnemonics[a.Code]
	}
	return fmt.Sprintf("[%d]", a.Code)
}

// IsBeat reports whether the code is a QRS complex (WFDB's isqrs): normal,
// bundle branch block, aberrant, ventricular, fusion, nodal, atrial,
// supraventricular, escape, paced, unclassified and learning beats.
func IsBeat(code int) bool {
	switch code {
	case 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 38, 41:
		return true
	}
	return false
}

// IsVentricular reports whether the beat code is a ventricular ectopic beat
// (EC57's V class: PVC, R-on-T, ventricular escape).
func IsVentricular(code int) bool { return code == CodePVC || code == 41 || code == 10 }

// ErrAnnotations wraps every malformed-annotation-file error.
var ErrAnnotations = errors.New("wfdb annotations")

// maxAnnotations bounds what one file may hold.
const maxAnnotations = 50_000_000

// ParseAnnotations decodes an MIT-format annotation file: little-endian
// 16-bit words, the code in the top 6 bits and the time since the previous
// annotation in the low 10; SKIP, NUM, SUB, CHN and AUX words modify the
// next annotation (NUM and CHN persist until changed); a zero word ends the
// file. Times are in the file's own ticks: see ParseAnnotationFile.
func ParseAnnotations(b []byte) ([]Annotation, error) {
	a, _, err := ParseAnnotationFile(b)
	return a, err
}

// ParseAnnotationFile is ParseAnnotations that also returns the file's time
// resolution in ticks per second, when the file begins with WFDB's header
// note ("## time resolution: 250"), else 0 (the record's frame rate). The
// header note, and the null annotation WFDB writes after it to step back to
// time 0, are not returned.
func ParseAnnotationFile(b []byte) ([]Annotation, float64, error) {
	var out []Annotation
	var t int64
	res := 0.0
	num, chn := 0, 0
	pending := -1 // the annotation SUB, AUX, NUM and CHN words attach to
	emit := func(code, at int) error {
		if t < 0 || len(out) > 0 && t < out[len(out)-1].Sample {
			return fmt.Errorf("%w: annotation at tick %d out of order at offset %d", ErrAnnotations, t, at)
		}
		if len(out) >= maxAnnotations {
			return fmt.Errorf("%w: more than %d annotations", ErrAnnotations, maxAnnotations)
		}
		out = append(out, Annotation{Sample: t, Code: code, Num: num, Chan: chn})
		pending = len(out) - 1
		return nil
	}
	for i := 0; ; {
		if i+2 > len(b) {
			if i == len(b) {
				return out, res, nil // a file without the end word
			}
			return out, res, fmt.Errorf("%w: odd byte at offset %d", ErrAnnotations, i)
		}
		w := int(b[i]) | int(b[i+1])<<8
		i += 2
		code, val := w>>10, w&0x3ff
		switch code {
		case 0:
			if val == 0 {
				return out, res, nil
			}
			// A null annotation: it moves the time and is not returned.
			t += int64(val)
			pending = -1
		case codeSkip:
			if i+4 > len(b) {
				return out, res, fmt.Errorf("%w: SKIP without its interval at offset %d", ErrAnnotations, i)
			}
			// A signed 32-bit interval in PDP-11 order: high word first.
			hi := int32(uint32(b[i]) | uint32(b[i+1])<<8)
			lo := int32(uint32(b[i+2]) | uint32(b[i+3])<<8)
			t += int64(hi<<16 | lo)
			i += 4
		case codeNum:
			num = int(int8(val))
			if pending >= 0 {
				out[pending].Num = num
			}
		case codeSub:
			if pending >= 0 {
				out[pending].Sub = int(int8(val))
			}
		case codeChan:
			chn = int(uint8(val))
			if pending >= 0 {
				out[pending].Chan = chn
			}
		case codeAux:
			n := val
			if i+n > len(b) {
				return out, res, fmt.Errorf("%w: AUX of %d bytes past the end at offset %d", ErrAnnotations, n, i)
			}
			if pending >= 0 {
				aux := strings.TrimRight(string(b[i:i+n]), "\x00")
				out[pending].Aux = aux
				// WFDB's header: a note at time 0, first in the file.
				if pending == 0 && out[0].Code == codeNote && out[0].Sample == 0 && strings.HasPrefix(aux, "## time resolution: ") {
					if v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(aux, "## time resolution: ")), 64); err == nil && v > 0 && v < 1e9 {
						res = v
						out, pending = out[:0], -1
					}
				}
			}
			i += n + n&1
		default:
			t += int64(val)
			if err := emit(code, i-2); err != nil {
				return out, res, err
			}
		}
	}
}

// ReadAnnotations reads the annotation file at path ("mitdb/100.atr") and
// returns its annotations in samples at fs, the record's frame rate (times
// of a file with its own time resolution are converted).
func ReadAnnotations(path string, fs float64) ([]Annotation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, res, err := ParseAnnotationFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if res > 0 && fs > 0 && res != fs {
		for i := range a {
			a[i].Sample = int64(math.Round(float64(a[i].Sample) * fs / res))
		}
	}
	return a, nil
}

// FormatTime writes a sample number as WFDB's rdann does: [h:]mm:ss.mmm
// from the start of the record, at rate frames per second.
func FormatTime(sample int64, rate float64) string {
	ms := int64(float64(sample)/rate*1000 + 0.5)
	h, m, s, frac := ms/3600000, ms/60000%60, ms/1000%60, ms%1000
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d.%03d", h, m, s, frac)
	}
	return fmt.Sprintf("%d:%02d.%03d", m, s, frac)
}
