package feed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Binary waveform frame, version 1. All integers and floats little-endian.
//
//	offset size field
//	0      2    magic "VW"
//	2      1    version (1)
//	3      1    channel count, 1..MaxChannels
//	4      4    device sequence number, uint32, +1 per frame, wraps
//	8      8    start time of the first sample, Unix ms UTC, int64
//	16     ...  channels, each:
//	       4    channel code (MDC, uint32)
//	       4    sample rate Hz (float32, 1..2000)
//	       4    gain: ADC units per physical unit (float32, finite, non-zero)
//	       4    baseline: ADC value of physical zero (float32, finite)
//	       2    sample count n (uint16, 1..MaxSamples)
//	       2n   samples (int16); -32768 marks an invalid sample
//
// physical = (sample - baseline) / gain, as in WFDB headers.
const (
	WaveVersion     = 1
	waveHeaderSize  = 16
	chanHeaderSize  = 18
	MaxChannels     = 32
	MaxSamples      = 8192
	MinRateHz       = 1
	MaxRateHz       = 2000
	InvalidSample   = math.MinInt16 // -32768, WFDB "invalid"
	minStartMs      = 946684800000  // 2000-01-01T00:00:00Z
	maxStartMs      = 7258118400000 // 2200-01-01T00:00:00Z
	waveMagic0      = 'V'
	waveMagic1      = 'W'
	maxWaveDuration = 60_000 // ms; a frame longer than a minute is not a live feed
)

// WaveFrame is one decoded waveform message.
type WaveFrame struct {
	Seq      uint32
	StartMs  int64
	Channels []Channel
}

// Channel is one channel's run of samples in a frame.
type Channel struct {
	Code     uint32
	RateHz   float32
	Gain     float32
	Baseline float32
	Samples  []int16
}

// Physical converts a raw sample to physical units; NaN for InvalidSample.
func (c *Channel) Physical(raw int16) float32 {
	if raw == InvalidSample {
		return float32(math.NaN())
	}
	return (float32(raw) - c.Baseline) / c.Gain
}

// DurationMs is the time the channel's samples span.
func (c *Channel) DurationMs() float64 {
	return float64(len(c.Samples)) * 1000 / float64(c.RateHz)
}

// Errors of DecodeWave; wrapped with detail.
var (
	ErrShort   = errors.New("frame too short")
	ErrMagic   = errors.New("not a waveform frame (bad magic)")
	ErrVersion = errors.New("unsupported waveform frame version")
	ErrInvalid = errors.New("invalid frame")
)

// IsBinaryWave reports whether b starts like a binary waveform frame.
func IsBinaryWave(b []byte) bool {
	return len(b) >= 2 && b[0] == waveMagic0 && b[1] == waveMagic1
}

// AppendWave encodes f after dst. It panics on a frame that cannot be
// represented (too many channels or samples): callers build frames themselves.
func AppendWave(dst []byte, f *WaveFrame) []byte {
	if len(f.Channels) == 0 || len(f.Channels) > MaxChannels {
		panic("feed: channel count out of range")
	}
	dst = append(dst, waveMagic0, waveMagic1, WaveVersion, byte(len(f.Channels)))
	dst = binary.LittleEndian.AppendUint32(dst, f.Seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(f.StartMs))
	for i := range f.Channels {
		c := &f.Channels[i]
		if len(c.Samples) == 0 || len(c.Samples) > MaxSamples {
			panic("feed: sample count out of range")
		}
		dst = binary.LittleEndian.AppendUint32(dst, c.Code)
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(c.RateHz))
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(c.Gain))
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(c.Baseline))
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(c.Samples)))
		for _, s := range c.Samples {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(s))
		}
	}
	return dst
}

// DecodeWave decodes a binary waveform frame into f, reusing f's channel and
// sample slices so that steady-state decoding allocates nothing. On error f is
// left in an unspecified state and must not be applied: validation of the whole
// frame happens before DecodeWave returns nil.
func DecodeWave(b []byte, f *WaveFrame) error {
	if len(b) < waveHeaderSize {
		return fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if b[0] != waveMagic0 || b[1] != waveMagic1 {
		return ErrMagic
	}
	if b[2] != WaveVersion {
		return fmt.Errorf("%w %d", ErrVersion, b[2])
	}
	n := int(b[3])
	if n == 0 || n > MaxChannels {
		return fmt.Errorf("%w: %d channels", ErrInvalid, n)
	}
	f.Seq = binary.LittleEndian.Uint32(b[4:])
	f.StartMs = int64(binary.LittleEndian.Uint64(b[8:]))
	if f.StartMs < minStartMs || f.StartMs > maxStartMs {
		return fmt.Errorf("%w: start time %d ms out of range", ErrInvalid, f.StartMs)
	}
	if cap(f.Channels) < n {
		f.Channels = make([]Channel, n)
	}
	f.Channels = f.Channels[:n]
	p := b[waveHeaderSize:]
	for i := 0; i < n; i++ {
		if len(p) < chanHeaderSize {
			return fmt.Errorf("%w: channel %d header", ErrShort, i)
		}
		c := &f.Channels[i]
		c.Code = binary.LittleEndian.Uint32(p)
		c.RateHz = math.Float32frombits(binary.LittleEndian.Uint32(p[4:]))
		c.Gain = math.Float32frombits(binary.LittleEndian.Uint32(p[8:]))
		c.Baseline = math.Float32frombits(binary.LittleEndian.Uint32(p[12:]))
		cnt := int(binary.LittleEndian.Uint16(p[16:]))
		p = p[chanHeaderSize:]
		if err := checkChannel(c, cnt); err != nil {
			return fmt.Errorf("channel %d: %w", i, err)
		}
		if len(p) < 2*cnt {
			return fmt.Errorf("%w: channel %d samples", ErrShort, i)
		}
		if cap(c.Samples) < cnt {
			c.Samples = make([]int16, cnt, max(cnt, 64))
		}
		c.Samples = c.Samples[:cnt]
		for j := range c.Samples {
			c.Samples[j] = int16(binary.LittleEndian.Uint16(p[2*j:]))
		}
		p = p[2*cnt:]
	}
	if len(p) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrInvalid, len(p))
	}
	return nil
}

func checkChannel(c *Channel, cnt int) error {
	if c.Code == 0 {
		return fmt.Errorf("%w: channel code 0", ErrInvalid)
	}
	r := float64(c.RateHz)
	if math.IsNaN(r) || r < MinRateHz || r > MaxRateHz {
		return fmt.Errorf("%w: sample rate %v Hz outside %d..%d", ErrInvalid, c.RateHz, MinRateHz, MaxRateHz)
	}
	g := float64(c.Gain)
	if math.IsNaN(g) || math.IsInf(g, 0) || g == 0 {
		return fmt.Errorf("%w: gain %v", ErrInvalid, c.Gain)
	}
	bl := float64(c.Baseline)
	if math.IsNaN(bl) || math.IsInf(bl, 0) {
		return fmt.Errorf("%w: baseline %v", ErrInvalid, c.Baseline)
	}
	if cnt == 0 || cnt > MaxSamples {
		return fmt.Errorf("%w: %d samples", ErrInvalid, cnt)
	}
	if float64(cnt)*1000/r > maxWaveDuration {
		return fmt.Errorf("%w: %d samples at %v Hz span more than a minute", ErrInvalid, cnt, c.RateHz)
	}
	return nil
}
