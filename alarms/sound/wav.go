package sound

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrFormat is wrapped by ReadWAV for input that is not a 16-bit mono PCM
// WAV file.
var ErrFormat = errors.New("not a 16-bit mono PCM WAV file")

// WriteWAV writes pcm as a 16-bit mono PCM WAV file at rate samples per
// second.
func WriteWAV(w io.Writer, pcm []int16, rate int) error {
	if rate <= 0 || rate > math.MaxInt32 {
		return fmt.Errorf("write WAV: sample rate %d is out of range", rate)
	}
	data := 2 * uint64(len(pcm))
	if data > math.MaxUint32-36 {
		return fmt.Errorf("write WAV: %d samples do not fit in one file", len(pcm))
	}
	var h [44]byte
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(36+data))
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)             // fmt chunk size
	le.PutUint16(h[20:], 1)              // PCM
	le.PutUint16(h[22:], 1)              // mono
	le.PutUint32(h[24:], uint32(rate))   // samples per second
	le.PutUint32(h[28:], uint32(2*rate)) // bytes per second
	le.PutUint16(h[32:], 2)              // bytes per frame
	le.PutUint16(h[34:], 16)             // bits per sample
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(data))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("write WAV header: %w", err)
	}
	if err := binary.Write(w, le, pcm); err != nil {
		return fmt.Errorf("write WAV samples: %w", err)
	}
	return nil
}

// ReadWAV reads a 16-bit mono PCM WAV file: its samples and sample rate.
// Chunks other than "fmt " and "data" are skipped.
func ReadWAV(r io.Reader) (pcm []int16, rate int, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("read WAV: %w", err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("read WAV: no RIFF/WAVE header: %w", ErrFormat)
	}
	le := binary.LittleEndian
	var (
		haveFmt bool
		data    []byte
	)
	for rest := b[12:]; len(rest) > 0; {
		if len(rest) < 8 {
			return nil, 0, fmt.Errorf("read WAV: truncated chunk header: %w", ErrFormat)
		}
		id, size := string(rest[0:4]), uint64(le.Uint32(rest[4:8]))
		rest = rest[8:]
		if size > uint64(len(rest)) {
			return nil, 0, fmt.Errorf("read WAV: chunk %q of %d bytes is truncated: %w", id, size, ErrFormat)
		}
		body := rest[:size]
		rest = rest[size:]
		if size%2 == 1 && len(rest) > 0 {
			rest = rest[1:] // chunks are padded to an even size
		}
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, fmt.Errorf("read WAV: fmt chunk of %d bytes is too short: %w", len(body), ErrFormat)
			}
			format, channels := le.Uint16(body[0:]), le.Uint16(body[2:])
			sr, bits := le.Uint32(body[4:]), le.Uint16(body[14:])
			if format != 1 || channels != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("read WAV: format %d, %d channels, %d bits: %w", format, channels, bits, ErrFormat)
			}
			if sr == 0 || sr > math.MaxInt32 {
				return nil, 0, fmt.Errorf("read WAV: sample rate %d is invalid: %w", sr, ErrFormat)
			}
			rate, haveFmt = int(sr), true
		case "data":
			if data != nil {
				return nil, 0, fmt.Errorf("read WAV: more than one data chunk: %w", ErrFormat)
			}
			if len(body)%2 != 0 {
				return nil, 0, fmt.Errorf("read WAV: data chunk of %d bytes is not whole samples: %w", len(body), ErrFormat)
			}
			data = body
		}
	}
	if !haveFmt || data == nil {
		return nil, 0, fmt.Errorf("read WAV: fmt or data chunk missing: %w", ErrFormat)
	}
	pcm = make([]int16, len(data)/2)
	for i := range pcm {
		pcm[i] = int16(le.Uint16(data[2*i:]))
	}
	return pcm, rate, nil
}

// ReadWAVFile reads the WAV file at path with ReadWAV.
func ReadWAVFile(path string) (pcm []int16, rate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read WAV file: %w", err)
	}
	defer f.Close()
	pcm, rate, err = ReadWAV(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, rate, nil
}

// WAVSink writes every burst it plays as a numbered WAV file in a directory,
// 000001-high.wav, 000002-medium.wav … Numbering continues after the highest
// number already in the directory, so a restart never overwrites a file.
type WAVSink struct {
	dir string

	mu     sync.Mutex
	seq    int
	closed bool
}

var _ Sink = (*WAVSink)(nil)

// NewWAVSink creates dir if needed and returns a sink that writes into it.
func NewWAVSink(dir string) (*WAVSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open WAV output directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open WAV output directory: %w", err)
	}
	s := &WAVSink{dir: dir}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "-")
		if !ok || !strings.HasSuffix(e.Name(), ".wav") {
			continue
		}
		if n, err := strconv.Atoi(num); err == nil && n > s.seq {
			s.seq = n
		}
	}
	return s, nil
}

// Dir is the directory the sink writes into.
func (s *WAVSink) Dir() string { return s.dir }

func (s *WAVSink) String() string { return "wav:" + s.dir }

// Play writes pcm to the next numbered file, named after name.
func (s *WAVSink) Play(name string, pcm []int16, rate int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("play %s: %w", name, errClosed)
	}
	var buf bytes.Buffer
	if err := WriteWAV(&buf, pcm, rate); err != nil {
		return fmt.Errorf("play %s: %w", name, err)
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%06d-%s.wav", s.seq+1, fileSafe(name)))
	if err := writeFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("play %s: %w", name, err)
	}
	s.seq++
	return nil
}

func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// fileSafe keeps letters, digits and '-' of name, so a burst name can never
// leave the directory.
func fileSafe(name string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return '_'
	}, name)
	if s == "" {
		return "burst"
	}
	return s
}

// Stop does nothing: a written file has no sound to cut off.
func (s *WAVSink) Stop() error { return nil }

// Close makes later Play calls fail.
func (s *WAVSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
