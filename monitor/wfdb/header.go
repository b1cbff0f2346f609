// Package wfdb reads PhysioNet WFDB records: the header (.hea), the signal
// files in formats 212, 16, 61, 80 and 160 (including the MATLAB v4 .mat
// files written as format "16+24"), and MIT-format annotation files (.atr,
// .qrs ...). It is what the replay device and the evaluation commands read
// real recordings with; it does no I/O beyond the files it is handed.
//
// A header names the record, its number of signals, its frame rate and
// length, then one line per signal:
//
//	100 2 360 650000                               record nsig fs nframes
//	100.dat 212 200 11 1024 995 -22131 0 MLII      file format gain res zero init cksum bsize desc
//	03700181.dat 212x4 2963.77/mV 12 0 67 ...      x4: 4 samples of this signal per frame
//	03700181.dat 212 12.84(-1605)/mmHg 12 0 ...    gain(baseline)/units
//	03700181.dat 212:4 2000 12 0 -304 ...          :4: the signal is skewed 4 frames late
//	v131l.mat 16+24 9218/mV 16 0 2679 ...          +24: the samples start 24 bytes in
//
// Physical value = (adu − baseline) / gain; the baseline is the ADC zero when
// the header gives none, the gain 200 when it gives 0 (uncalibrated), and
// the units mV when it gives none. Lines may end in CRLF or LF; '#' starts
// a comment. A sample that the format marks "not measured" (−2048 in 212,
// −32768 in 16, −128 in 80) reads as Invalid.
package wfdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Invalid is the value of a sample the recording marks as not measured.
const Invalid = -32768

// DefaultGain is the gain assumed for a signal whose header gives 0.
const DefaultGain = 200

// Signal describes one signal of a record.
type Signal struct {
	File            string  // signal file name, relative to the header
	Format          int     // storage format: 16, 61, 80, 160 or 212
	SamplesPerFrame int     // samples of this signal in each frame (≥ 1)
	Skew            int     // frames the signal is recorded late
	Offset          int64   // bytes before the first sample in the file
	Gain            float64 // ADC units per physical unit
	Baseline        int     // ADC value of physical zero
	Units           string  // physical units ("mV", "mmHg", "NU" ...)
	ADCRes          int     // ADC resolution in bits (0: not given)
	ADCZero         int     // ADC value at the middle of the range
	InitValue       int     // first sample's value (a checksum aid)
	Checksum        int     // 16-bit sum of all samples (as given)
	BlockSize       int
	Description     string // lead or signal name: "MLII", "II", "PLETH" ...
	uncalibrated    bool
}

// Uncalibrated reports whether the header gave no gain (0), so Gain is
// DefaultGain and physical values are nominal.
func (s Signal) Uncalibrated() bool { return s.uncalibrated }

// Header is a parsed .hea file.
type Header struct {
	Record    string
	FrameRate float64 // frames per second; a signal's rate is FrameRate × SamplesPerFrame
	Frames    int64   // frames in the record (0: not given, read to the end of the files)
	BaseTime  string  // as written, e.g. "17:27:45" (may be empty)
	BaseDate  string  // as written, e.g. "15/08/1994" (may be empty)
	Signals   []Signal
	Comments  []string // comment lines, without the '#'
}

// Rate is signal i's sampling rate in Hz.
func (h *Header) Rate(i int) float64 {
	return h.FrameRate * float64(h.Signals[i].SamplesPerFrame)
}

// Duration is the record's length in seconds (0 when the header does not
// say).
func (h *Header) Duration() float64 {
	if h.FrameRate <= 0 {
		return 0
	}
	return float64(h.Frames) / h.FrameRate
}

// ErrHeader wraps every malformed-header error.
var ErrHeader = errors.New("wfdb header")

func headerErr(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrHeader, line, fmt.Sprintf(format, args...))
}

// maxSignals bounds what a header may declare, so a corrupt count cannot
// ask for absurd allocations.
const maxSignals = 256

// ParseHeader reads a single-segment header. Multi-segment records
// ("name/nseg") are reported as unsupported.
func ParseHeader(r io.Reader) (*Header, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	h := &Header{}
	nsig := -1
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		trim := strings.TrimSpace(line)
		if trim == "" {
			continue
		}
		if strings.HasPrefix(trim, "#") {
			h.Comments = append(h.Comments, strings.TrimPrefix(trim, "#"))
			continue
		}
		if nsig < 0 {
			n, err := h.parseRecordLine(lineNo, trim)
			if err != nil {
				return nil, err
			}
			nsig = n
			continue
		}
		if len(h.Signals) == nsig {
			// Lines after the signals that are not comments: WFDB ignores
			// "info" strings only as comments, so be strict.
			return nil, headerErr(lineNo, "more signal lines than the %d declared", nsig)
		}
		s, err := parseSignalLine(lineNo, trim)
		if err != nil {
			return nil, err
		}
		h.Signals = append(h.Signals, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if nsig < 0 {
		return nil, fmt.Errorf("%w: no record line", ErrHeader)
	}
	if len(h.Signals) != nsig {
		return nil, fmt.Errorf("%w: %d signal lines, the record line declares %d", ErrHeader, len(h.Signals), nsig)
	}
	return h, nil
}

func (h *Header) parseRecordLine(lineNo int, line string) (int, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, headerErr(lineNo, "record line %q: want at least a name and a number of signals", line)
	}
	if strings.Contains(f[0], "/") {
		return 0, headerErr(lineNo, "multi-segment record %q is not supported", f[0])
	}
	h.Record = f[0]
	nsig, err := strconv.Atoi(f[1])
	if err != nil || nsig < 0 || nsig > maxSignals {
		return 0, headerErr(lineNo, "number of signals %q: want 0 to %d", f[1], maxSignals)
	}
	h.FrameRate = 250 // WFDB's default when the header gives none
	if len(f) > 2 {
		// fs[/counterfreq[(base)]]
		fs := f[2]
		if i := strings.IndexByte(fs, '/'); i >= 0 {
			fs = fs[:i]
		}
		v, err := strconv.ParseFloat(fs, 64)
		if err != nil || !(v > 0) || v > 1e7 {
			return 0, headerErr(lineNo, "sampling frequency %q", f[2])
		}
		h.FrameRate = v
	}
	if len(f) > 3 {
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || n < 0 {
			return 0, headerErr(lineNo, "number of samples %q", f[3])
		}
		h.Frames = n
	}
	if len(f) > 4 {
		h.BaseTime = f[4]
	}
	if len(f) > 5 {
		h.BaseDate = f[5]
	}
	return nsig, nil
}

func parseSignalLine(lineNo int, line string) (Signal, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return Signal{}, headerErr(lineNo, "signal line %q: want a file name and a format", line)
	}
	s := Signal{File: f[0], SamplesPerFrame: 1, Units: "mV", Gain: DefaultGain}
	if s.File == "~" || filepath.IsAbs(s.File) || slices.Contains(strings.FieldsFunc(s.File, isSep), "..") {
		// "~" is a signal with no file; a path out of the record's folder
		// is not followed.
		return Signal{}, headerErr(lineNo, "signal file %q: want a file beside the header", s.File)
	}
	if err := parseFormat(f[1], &s); err != nil {
		return Signal{}, headerErr(lineNo, "format %q: %v", f[1], err)
	}
	baselineGiven := false
	if len(f) > 2 {
		g := f[2]
		if i := strings.IndexByte(g, '/'); i >= 0 {
			s.Units = g[i+1:]
			g = g[:i]
		}
		if i := strings.IndexByte(g, '('); i >= 0 {
			j := strings.IndexByte(g, ')')
			if j < i {
				return Signal{}, headerErr(lineNo, "gain %q: unclosed baseline", f[2])
			}
			b, err := strconv.Atoi(g[i+1 : j])
			if err != nil {
				return Signal{}, headerErr(lineNo, "baseline in %q", f[2])
			}
			s.Baseline, baselineGiven = b, true
			g = g[:i]
		}
		v, err := strconv.ParseFloat(g, 64)
		if err != nil || v < 0 || v != v || v > 1e12 {
			return Signal{}, headerErr(lineNo, "gain %q", f[2])
		}
		if v == 0 {
			s.uncalibrated = true
		} else {
			s.Gain = v
		}
	} else {
		s.uncalibrated = true
	}
	ints := []*int{&s.ADCRes, &s.ADCZero, &s.InitValue, &s.Checksum, &s.BlockSize}
	names := []string{"ADC resolution", "ADC zero", "initial value", "checksum", "block size"}
	for k, p := range ints {
		if len(f) <= 3+k {
			break
		}
		v, err := strconv.Atoi(f[3+k])
		if err != nil {
			return Signal{}, headerErr(lineNo, "%s %q", names[k], f[3+k])
		}
		*p = v
	}
	if len(f) > 8 {
		// The description is the rest of the line, spaces included.
		s.Description = descriptionAfter(line, 8)
	}
	if !baselineGiven {
		s.Baseline = s.ADCZero
	}
	return s, nil
}

func isSep(r rune) bool { return r == '/' || r == '\\' }

// descriptionAfter returns line from its n-th whitespace-separated field on.
func descriptionAfter(line string, n int) string {
	rest := line
	for range n {
		rest = strings.TrimLeft(rest, " \t")
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			return ""
		}
		rest = rest[i:]
	}
	return strings.TrimSpace(rest)
}

// parseFormat reads "212", "212x4", "212:4", "16+24" and their combinations
// (format, then x spf, : skew, + offset, in that order).
func parseFormat(spec string, s *Signal) error {
	num := func(str string) (int64, string, error) {
		i := 0
		for i < len(str) && (str[i] >= '0' && str[i] <= '9' || i == 0 && str[i] == '-') {
			i++
		}
		if i == 0 {
			return 0, str, errors.New("number expected")
		}
		v, err := strconv.ParseInt(str[:i], 10, 64)
		return v, str[i:], err
	}
	v, rest, err := num(spec)
	if err != nil {
		return err
	}
	switch v {
	case 16, 61, 80, 160, 212:
		s.Format = int(v)
	default:
		return fmt.Errorf("storage format %d is not supported (16, 61, 80, 160, 212 are)", v)
	}
	for rest != "" {
		c := rest[0]
		v, rest, err = num(rest[1:])
		if err != nil {
			return err
		}
		switch c {
		case 'x':
			if v < 1 || v > 1000 {
				return fmt.Errorf("samples per frame %d", v)
			}
			s.SamplesPerFrame = int(v)
		case ':':
			if v < 0 || v > 1<<20 {
				return fmt.Errorf("skew %d", v)
			}
			s.Skew = int(v)
		case '+':
			if v < 0 {
				return fmt.Errorf("byte offset %d", v)
			}
			s.Offset = v
		default:
			return fmt.Errorf("unexpected %q", c)
		}
	}
	return nil
}

// ReadHeader parses the header file at path.
func ReadHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ParseHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
