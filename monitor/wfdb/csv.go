package wfdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ErrCSV wraps every malformed-CSV error.
var ErrCSV = errors.New("csv recording")

// maxCSVValues bounds a one-column file read into memory.
const maxCSVValues = 100_000_000

// ParseColumn reads a waveform stored as one value per line (the form of the
// AAMI EC13 test waveforms): blank lines and lines starting with '#' are
// skipped; "NaN" or an empty field reads as NaN.
func ParseColumn(r io.Reader) ([]float64, error) {
	sc := bufio.NewScanner(r)
	var out []float64
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(strings.TrimRight(sc.Text(), "\r"))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if i := strings.IndexByte(s, ','); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %q is not a number", ErrCSV, line, s)
		}
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: line %d: infinite value", ErrCSV, line)
		}
		if len(out) >= maxCSVValues {
			return nil, fmt.Errorf("%w: more than %d values", ErrCSV, maxCSVValues)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSV, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no values", ErrCSV)
	}
	return out, nil
}

// ReadColumn reads a one-value-per-line file.
func ReadColumn(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := ParseColumn(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Table is a CSV recording with a header row of column names, the first
// usually the time ("Time [s], HR, PULSE, RESP, SpO2" in BIDMC's numerics,
// "Time [s], RESP, PLETH, V, AVR, II" in its signals). "NaN" or an empty
// field reads as NaN.
type Table struct {
	Names []string    // column names without units: "Time", "HR" ...
	Units []string    // the bracketed units, "" where none: "s", ""
	Cols  [][]float64 // Cols[c][row]
}

// ParseTable reads a table.
func ParseTable(r io.Reader) (*Table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	t := &Table{}
	total := 0
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(s) == "" {
			continue
		}
		fields := strings.Split(s, ",")
		if t.Names == nil {
			for _, f := range fields {
				name, unit := strings.TrimSpace(f), ""
				if i := strings.IndexByte(name, '['); i >= 0 && strings.HasSuffix(name, "]") {
					name, unit = strings.TrimSpace(name[:i]), name[i+1:len(name)-1]
				}
				t.Names, t.Units = append(t.Names, name), append(t.Units, unit)
			}
			t.Cols = make([][]float64, len(t.Names))
			continue
		}
		if len(fields) != len(t.Names) {
			return nil, fmt.Errorf("%w: line %d has %d fields, the header %d", ErrCSV, line, len(fields), len(t.Names))
		}
		if total += len(fields); total > maxCSVValues {
			return nil, fmt.Errorf("%w: more than %d values", ErrCSV, maxCSVValues)
		}
		for c, f := range fields {
			f = strings.TrimSpace(f)
			v := math.NaN()
			if f != "" && !strings.EqualFold(f, "nan") {
				x, err := strconv.ParseFloat(f, 64)
				if err != nil || math.IsInf(x, 0) {
					return nil, fmt.Errorf("%w: line %d, column %s: %q is not a number", ErrCSV, line, t.Names[c], f)
				}
				v = x
			}
			t.Cols[c] = append(t.Cols[c], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSV, err)
	}
	if t.Names == nil || len(t.Cols[0]) == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrCSV)
	}
	return t, nil
}

// ReadTable reads the table at path.
func ReadTable(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ParseTable(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Column returns the named column (case-insensitive), or nil.
func (t *Table) Column(name string) []float64 {
	for i, n := range t.Names {
		if strings.EqualFold(n, name) {
			return t.Cols[i]
		}
	}
	return nil
}

// Rate is the sampling rate the first column's times give (rows per second
// over the median step), or 0 when the first column is not a time in
// seconds.
func (t *Table) Rate() float64 {
	if !strings.EqualFold(t.Names[0], "time") || t.Units[0] != "s" || len(t.Cols[0]) < 2 {
		return 0
	}
	x := t.Cols[0]
	steps := make([]float64, 0, min(len(x)-1, 1000))
	for i := 1; i < len(x) && len(steps) < cap(steps); i++ {
		steps = append(steps, x[i]-x[i-1])
	}
	slices.Sort(steps)
	if s := steps[len(steps)/2]; s > 0 {
		return math.Round(1/s*1000) / 1000
	}
	return 0
}
