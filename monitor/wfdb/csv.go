package wfdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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
