package wfdb

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Record is a header with its signals read into memory.
type Record struct {
	*Header
	// Samples holds each signal's samples in ADC units, Invalid where the
	// recording marks a sample as not measured. Signal i has
	// Frames × SamplesPerFrame samples.
	Samples [][]int32
}

// ErrSignals wraps every error about the content of a signal file.
var ErrSignals = errors.New("wfdb signals")

// maxFileBytes bounds one signal file read into memory.
const maxFileBytes = 1 << 30

// Read reads the record named by path: a header file ("100.hea") or the
// record path without the extension ("mitdb/100"). Signal files are looked
// for beside the header.
func Read(path string) (*Record, error) {
	if !strings.HasSuffix(path, ".hea") {
		path += ".hea"
	}
	h, err := ReadHeader(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	files := map[string][]byte{}
	for _, s := range h.Signals {
		if _, ok := files[s.File]; ok {
			continue
		}
		p := filepath.Join(dir, s.File)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", h.Record, err)
		}
		if st.Size() > maxFileBytes {
			return nil, fmt.Errorf("record %s: %s is %d bytes, more than the %d read into memory", h.Record, s.File, st.Size(), maxFileBytes)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", h.Record, err)
		}
		files[s.File] = b
	}
	samples, err := Decode(h, func(name string) []byte { return files[name] })
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", h.Record, err)
	}
	return &Record{Header: h, Samples: samples}, nil
}

// Decode splits the signal files' bytes into per-signal samples. file
// returns the content of a signal file by its name in the header. When the
// header gives no length, the shortest file decides it, and h.Frames is set.
func Decode(h *Header, file func(name string) []byte) ([][]int32, error) {
	groups, err := groupSignals(h)
	if err != nil {
		return nil, err
	}
	// Frames available in each file.
	frames := h.Frames
	for _, g := range groups {
		data := file(h.Signals[g.first].File)
		off := h.Signals[g.first].Offset
		if off > int64(len(data)) {
			return nil, fmt.Errorf("%w: %s: byte offset %d past its %d bytes", ErrSignals, h.Signals[g.first].File, off, len(data))
		}
		n := int64(samplesIn(g.format, int64(len(data))-off)) / int64(g.perFrame)
		switch {
		case h.Frames == 0 && (frames == 0 || n < frames):
			frames = n
		case h.Frames > 0 && n < h.Frames:
			return nil, fmt.Errorf("%w: %s holds %d frames, the header says %d", ErrSignals, h.Signals[g.first].File, n, h.Frames)
		}
	}
	if frames*int64(len(h.Signals)) > maxFileBytes {
		return nil, fmt.Errorf("%w: %d frames of %d signals is more than this reader holds", ErrSignals, frames, len(h.Signals))
	}
	h.Frames = frames
	out := make([][]int32, len(h.Signals))
	for i, s := range h.Signals {
		out[i] = make([]int32, frames*int64(s.SamplesPerFrame))
	}
	for _, g := range groups {
		data := file(h.Signals[g.first].File)[h.Signals[g.first].Offset:]
		raw := make([]int32, frames*int64(g.perFrame))
		decodeSamples(g.format, data, raw)
		// Interleaved: each frame holds spf samples of each signal in turn.
		pos := 0
		for f := int64(0); f < frames; f++ {
			for i := g.first; i < g.end; i++ {
				spf := int64(h.Signals[i].SamplesPerFrame)
				copy(out[i][f*spf:(f+1)*spf], raw[pos:pos+int(spf)])
				pos += int(spf)
			}
		}
	}
	for i, s := range h.Signals {
		if s.Skew == 0 {
			continue
		}
		// A skewed signal's sample for frame f was stored in frame f+skew.
		k := min(int64(s.Skew)*int64(s.SamplesPerFrame), int64(len(out[i])))
		copy(out[i], out[i][k:])
		for j := int64(len(out[i])) - k; j < int64(len(out[i])); j++ {
			out[i][j] = Invalid
		}
	}
	return out, nil
}

type group struct {
	first, end int // signals [first, end) share a file
	format     int
	perFrame   int // samples per frame over the group
}

// groupSignals checks that the signals of each file are listed together and
// share one format.
func groupSignals(h *Header) ([]group, error) {
	var gs []group
	seen := map[string]bool{}
	for i, s := range h.Signals {
		if len(gs) > 0 && h.Signals[gs[len(gs)-1].first].File == s.File {
			g := &gs[len(gs)-1]
			if s.Format != g.format {
				return nil, fmt.Errorf("%w: signals %d and %d share %s in formats %d and %d", ErrSignals, g.first, i, s.File, g.format, s.Format)
			}
			g.end = i + 1
			g.perFrame += s.SamplesPerFrame
			continue
		}
		if seen[s.File] {
			return nil, fmt.Errorf("%w: the signals of %s are not listed together", ErrSignals, s.File)
		}
		seen[s.File] = true
		gs = append(gs, group{first: i, end: i + 1, format: s.Format, perFrame: s.SamplesPerFrame})
	}
	return gs, nil
}

// samplesIn is the number of whole samples n bytes of a format hold.
func samplesIn(format int, n int64) int64 {
	switch format {
	case 212:
		return n / 3 * 2
	case 80:
		return n
	default:
		return n / 2
	}
}

// decodeSamples fills out from data, which holds at least len(out) samples.
func decodeSamples(format int, data []byte, out []int32) {
	switch format {
	case 212:
		// Two 12-bit two's-complement samples in three bytes: the low byte
		// of the first, a byte whose low nibble is the first's high bits
		// and whose high nibble is the second's, the low byte of the second.
		for i := 0; i < len(out); i += 2 {
			b := data[i/2*3:]
			v := int32(b[0]) | int32(b[1]&0x0f)<<8
			out[i] = sign12(v)
			if i+1 < len(out) {
				out[i+1] = sign12(int32(b[2]) | int32(b[1]&0xf0)<<4)
			}
		}
	case 16:
		for i := range out {
			v := int32(int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8))
			if v == -32768 {
				v = Invalid
			}
			out[i] = v
		}
	case 61:
		for i := range out {
			v := int32(int16(uint16(data[2*i+1]) | uint16(data[2*i])<<8))
			if v == -32768 {
				v = Invalid
			}
			out[i] = v
		}
	case 160:
		for i := range out {
			v := int32(uint16(data[2*i])|uint16(data[2*i+1])<<8) - 32768
			if v == -32768 {
				v = Invalid
			}
			out[i] = v
		}
	case 80:
		for i := range out {
			v := int32(data[i]) - 128
			if v == -128 {
				v = Invalid
			}
			out[i] = v
		}
	}
}

func sign12(v int32) int32 {
	if v&0x800 != 0 {
		v -= 0x1000
	}
	if v == -2048 {
		return Invalid
	}
	return v
}

// Physical converts signal i's samples to physical units (Signals[i].Units),
// NaN where a sample is Invalid.
func (r *Record) Physical(i int) []float64 {
	s := r.Signals[i]
	out := make([]float64, len(r.Samples[i]))
	for k, v := range r.Samples[i] {
		if v == Invalid {
			out[k] = math.NaN()
			continue
		}
		out[k] = float64(int(v)-s.Baseline) / s.Gain
	}
	return out
}

// Find returns the index of the first signal whose description is one of
// names (case-insensitive), or -1.
func (h *Header) Find(names ...string) int {
	for i, s := range h.Signals {
		for _, n := range names {
			if strings.EqualFold(s.Description, n) {
				return i
			}
		}
	}
	return -1
}
