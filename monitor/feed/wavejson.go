package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// JSON form of the waveform frame, version 1, for devices that would rather
// not build binary. Same topic, same content, same limits as the binary frame:
//
//	{"v":1,"seq":17,"t0":1732400000000,"channels":[
//	 {"code":131330,"rate":250,"gain":200,"baseline":0,"samples":[0,12,-32768]}]}
//
// Members, all required except baseline (default 0):
//
//	v         format version, the integer 1
//	seq       device sequence number, integer 0..4294967295
//	t0        Unix time of the first sample, ms, integer
//	channels  array of 1..MaxChannels channel objects:
//	  code      MDC code (integer) or a waveform alias string ("ECG_II", "PLETH", ...)
//	  rate      sample rate, Hz, number, 1..2000
//	  gain      ADC units per physical unit, number, finite, non-zero
//	  baseline  ADC value of physical zero, number, finite
//	  samples   array of 1..MaxSamples integers in int16 range; -32768 = invalid
//
// rate, gain and baseline are float32 on the binary wire and are read as the
// nearest float32. Member names are case-sensitive; an unknown or repeated
// member, a null, a fraction or exponent where an integer is required, or
// anything after the closing brace rejects the frame.
//
// The decoder is hand-written rather than encoding/json so that it can match
// names exactly, reject repeated members and reuse the frame's slices: a frame
// whose rate, gain and baseline are integers decodes without allocating once
// f's slices are large enough.

// AppendWaveJSON encodes f in the JSON form after dst, with numeric channel
// codes. Like AppendWave it panics on a frame that cannot be represented:
// channel or sample count out of range, or a rate, gain or baseline that is NaN
// or infinite (JSON has no such numbers).
func AppendWaveJSON(dst []byte, f *WaveFrame) []byte {
	if len(f.Channels) == 0 || len(f.Channels) > MaxChannels {
		panic("feed: channel count out of range")
	}
	dst = append(dst, `{"v":1,"seq":`...)
	dst = strconv.AppendUint(dst, uint64(f.Seq), 10)
	dst = append(dst, `,"t0":`...)
	dst = strconv.AppendInt(dst, f.StartMs, 10)
	dst = append(dst, `,"channels":[`...)
	for i := range f.Channels {
		c := &f.Channels[i]
		if len(c.Samples) == 0 || len(c.Samples) > MaxSamples {
			panic("feed: sample count out of range")
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"code":`...)
		dst = strconv.AppendUint(dst, uint64(c.Code), 10)
		dst = append(dst, `,"rate":`...)
		dst = appendFloat32(dst, c.RateHz)
		dst = append(dst, `,"gain":`...)
		dst = appendFloat32(dst, c.Gain)
		dst = append(dst, `,"baseline":`...)
		dst = appendFloat32(dst, c.Baseline)
		dst = append(dst, `,"samples":[`...)
		for j, s := range c.Samples {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(s), 10)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// EncodeWaveJSON encodes f in the JSON form; see AppendWaveJSON.
func EncodeWaveJSON(f *WaveFrame) []byte { return AppendWaveJSON(nil, f) }

// appendFloat32 writes the shortest decimal that reads back as x, plain for
// ordinary magnitudes and with an exponent otherwise (as encoding/json does).
func appendFloat32(dst []byte, x float32) []byte {
	v := float64(x)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		panic("feed: non-finite number cannot be encoded as JSON")
	}
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(dst, v, 'e', -1, 32)
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 32)
}

// DecodeWaveAny decodes a payload of the wave stream in either form: a binary
// frame (first byte 'V') or a JSON frame (first byte '{' after optional JSON
// whitespace). The binary path allocates nothing, as DecodeWave.
func DecodeWaveAny(b []byte, f *WaveFrame) error {
	if len(b) > 0 && b[0] == waveMagic0 {
		return DecodeWave(b, f)
	}
	i := skipSpace(b, 0)
	switch {
	case i == len(b):
		return fmt.Errorf("%w: empty wave payload", ErrShort)
	case b[i] == '{':
		return DecodeWaveJSON(b, f)
	}
	return fmt.Errorf("%w: wave payload starts with 0x%02x, neither 'V' (binary frame) nor '{' (JSON frame)", ErrMagic, b[i])
}

// DecodeWaveJSON decodes the JSON form of a waveform frame into f, reusing f's
// channel and sample slices where their capacity allows. As with DecodeWave, the
// whole frame is validated before it returns nil, and on error f is left in an
// unspecified state and must not be applied. A frame whose "v" is not 1 is
// rejected with ErrVersion, whatever else is wrong with it.
func DecodeWaveJSON(b []byte, f *WaveFrame) error {
	d := waveJSONDecoder{b: b}
	err := d.frame(f)
	if err != nil && !errors.Is(err, ErrVersion) {
		if v, ok := probeVersion(b); ok && v != WaveVersion {
			return fmt.Errorf("%w %d", ErrVersion, v)
		}
	}
	return err
}

// probeVersion finds a top-level integer "v" in a frame the strict decoder
// refused, so that a frame of a later version is reported as such even when it
// also has members this version does not know. Error path only.
func probeVersion(b []byte) (int64, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return 0, false
	}
	raw, ok := m["v"]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	return v, err == nil
}

type waveJSONDecoder struct {
	b []byte
	i int
}

func (d *waveJSONDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: json at offset %d: %s", ErrInvalid, d.i, fmt.Sprintf(format, args...))
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (d *waveJSONDecoder) ws() { d.i = skipSpace(d.b, d.i) }

// next skips whitespace and returns the next byte without consuming it, or 0
// at the end of input (a literal NUL is never valid there either).
func (d *waveJSONDecoder) next() byte {
	d.ws()
	if d.i == len(d.b) {
		return 0
	}
	return d.b[d.i]
}

func (d *waveJSONDecoder) expect(c byte) error {
	if d.next() != c {
		if d.i == len(d.b) {
			return d.errorf("unexpected end, want %q", c)
		}
		return d.errorf("want %q, found %q", c, d.b[d.i])
	}
	d.i++
	return nil
}

// more reads the separator after an object member or array element: true after
// ',', false after the closing bracket.
func (d *waveJSONDecoder) more(closing byte) (bool, error) {
	switch d.next() {
	case ',':
		d.i++
		return true, nil
	case closing:
		d.i++
		return false, nil
	}
	if d.i == len(d.b) {
		return false, d.errorf("unexpected end, want ',' or %q", closing)
	}
	return false, d.errorf("want ',' or %q, found %q", closing, d.b[d.i])
}

// str reads a JSON string. Its value, if it is at most len(buf) bytes of
// ASCII, is unescaped into buf and returned; otherwise the string is still
// checked and consumed but the value returned is empty and long is true (no
// name or alias of this protocol is longer or outside ASCII).
func (d *waveJSONDecoder) str(buf []byte) (val []byte, long bool, err error) {
	if err := d.expect('"'); err != nil {
		return nil, false, err
	}
	n := 0
	put := func(c rune) {
		if c >= 0x80 || n == len(buf) {
			long = true
			return
		}
		buf[n] = byte(c)
		n++
	}
	for {
		if d.i == len(d.b) {
			return nil, false, d.errorf("unterminated string")
		}
		c := d.b[d.i]
		d.i++
		switch {
		case c == '"':
			if long {
				return nil, true, nil
			}
			return buf[:n], false, nil
		case c < 0x20:
			return nil, false, d.errorf("control character in string")
		case c != '\\':
			put(rune(c))
			continue
		}
		if d.i == len(d.b) {
			return nil, false, d.errorf("unterminated string")
		}
		e := d.b[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			put(rune(e))
		case 'b':
			put('\b')
		case 'f':
			put('\f')
		case 'n':
			put('\n')
		case 'r':
			put('\r')
		case 't':
			put('\t')
		case 'u':
			if len(d.b)-d.i < 4 {
				return nil, false, d.errorf("bad \\u escape")
			}
			var r rune
			for _, h := range d.b[d.i : d.i+4] {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return nil, false, d.errorf("bad \\u escape")
				}
			}
			d.i += 4
			put(r)
		default:
			return nil, false, d.errorf("bad escape \\%c", e)
		}
	}
}

// number scans a JSON number and returns its text and whether it is an
// integer literal (no fraction, no exponent).
func (d *waveJSONDecoder) number() (text []byte, integer bool, err error) {
	d.ws()
	start := d.i
	b := d.b
	i := d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	case i == len(b):
		return nil, false, d.errorf("unexpected end, want a number")
	default:
		return nil, false, d.errorf("want a number, found %q", b[i])
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, false, d.errorf("digit expected after '.'")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, false, d.errorf("digit expected in exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], integer, nil
}

// integer reads a JSON integer literal within lo..hi.
func (d *waveJSONDecoder) integer(what string, lo, hi int64) (int64, error) {
	start := d.i
	text, isInt, err := d.number()
	if err != nil {
		return 0, err
	}
	if !isInt {
		d.i = start
		return 0, d.errorf("%s must be an integer, found %s", what, text)
	}
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	// Accumulate as a negative number so that math.MinInt64 fits.
	var v int64
	for _, c := range text {
		dg := int64(c - '0')
		if v < (math.MinInt64+dg)/10 {
			d.i = start
			return 0, d.errorf("%s out of range", what)
		}
		v = v*10 - dg
	}
	if !neg {
		if v == math.MinInt64 {
			d.i = start
			return 0, d.errorf("%s out of range", what)
		}
		v = -v
	}
	if v < lo || v > hi {
		d.i = start
		return 0, d.errorf("%s %d out of range %d..%d", what, v, lo, hi)
	}
	return v, nil
}

// float32 reads a JSON number as the nearest float32; overflow is an error.
func (d *waveJSONDecoder) float32(what string) (float32, error) {
	start := d.i
	text, isInt, err := d.number()
	if err != nil {
		return 0, err
	}
	// Fast path without allocating: integers below 2^24 are exact in float32.
	if digits, neg := bytes.CutPrefix(text, []byte("-")); isInt && len(digits) <= 7 {
		var v float32
		for _, c := range digits {
			v = v*10 + float32(c-'0') // exact: every partial value is below 2^24
		}
		if neg {
			v = -v // "-0" is -0, as strconv reads it
		}
		return v, nil
	}
	v, err := strconv.ParseFloat(string(text), 32)
	if err != nil {
		d.i = start
		return 0, d.errorf("%s %s out of range", what, text)
	}
	return float32(v), nil
}

const (
	seenV = 1 << iota
	seenSeq
	seenT0
	seenChannels
	seenCode
	seenRate
	seenGain
	seenBaseline
	seenSamples
)

// member reads the name of an object member and the ':' after it, and checks
// it has not been seen before.
func (d *waveJSONDecoder) member(seen *int, inChannel bool) (int, error) {
	var buf [16]byte
	start := d.skipTo()
	name, long, err := d.str(buf[:])
	if err != nil {
		return 0, err
	}
	bit := 0
	switch {
	case long:
	case inChannel:
		bit = channelMember(name)
	default:
		bit = frameMember(name)
	}
	if bit == 0 {
		d.i = start
		return 0, d.errorf("unknown member %s", d.quoted(start))
	}
	if *seen&bit != 0 {
		d.i = start
		return 0, d.errorf("member %s given twice", d.quoted(start))
	}
	*seen |= bit
	return bit, d.expect(':')
}

func (d *waveJSONDecoder) skipTo() int { d.ws(); return d.i }

// quoted quotes the raw contents of the string token at start, shortened, for
// an error message.
func (d *waveJSONDecoder) quoted(start int) string {
	start++ // opening quote
	end := start
	for end < len(d.b) && d.b[end] != '"' {
		if d.b[end] == '\\' {
			end++
		}
		end++
	}
	end = min(end, len(d.b), start+40)
	return strconv.Quote(string(d.b[start:end]))
}

func frameMember(name []byte) int {
	switch string(name) {
	case "v":
		return seenV
	case "seq":
		return seenSeq
	case "t0":
		return seenT0
	case "channels":
		return seenChannels
	}
	return 0
}

func channelMember(name []byte) int {
	switch string(name) {
	case "code":
		return seenCode
	case "rate":
		return seenRate
	case "gain":
		return seenGain
	case "baseline":
		return seenBaseline
	case "samples":
		return seenSamples
	}
	return 0
}

func (d *waveJSONDecoder) frame(f *WaveFrame) error {
	f.Channels = f.Channels[:0]
	if err := d.expect('{'); err != nil {
		return err
	}
	seen := 0
	if d.next() == '}' {
		d.i++
	} else {
		for {
			bit, err := d.member(&seen, false)
			if err != nil {
				return err
			}
			switch bit {
			case seenV:
				start := d.skipTo()
				v, err := d.integer("v", math.MinInt64, math.MaxInt64)
				if err != nil {
					return err
				}
				if v != WaveVersion {
					d.i = start
					return fmt.Errorf("%w %d", ErrVersion, v)
				}
			case seenSeq:
				v, err := d.integer("seq", 0, math.MaxUint32)
				if err != nil {
					return err
				}
				f.Seq = uint32(v)
			case seenT0:
				v, err := d.integer("t0", math.MinInt64, math.MaxInt64)
				if err != nil {
					return err
				}
				if v < minStartMs || v > maxStartMs {
					return fmt.Errorf("%w: start time %d ms out of range", ErrInvalid, v)
				}
				f.StartMs = v
			case seenChannels:
				if err := d.channels(f); err != nil {
					return err
				}
			}
			more, err := d.more('}')
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	if d.ws(); d.i != len(d.b) {
		return d.errorf("data after the frame")
	}
	for _, m := range [...]struct {
		bit  int
		name string
	}{{seenV, "v"}, {seenSeq, "seq"}, {seenT0, "t0"}, {seenChannels, "channels"}} {
		if seen&m.bit == 0 {
			return fmt.Errorf("%w: json frame: missing %q", ErrInvalid, m.name)
		}
	}
	return nil
}

func (d *waveJSONDecoder) channels(f *WaveFrame) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.next() == ']' {
		d.i++
		return fmt.Errorf("%w: 0 channels", ErrInvalid)
	}
	for {
		n := len(f.Channels)
		if n == MaxChannels {
			return fmt.Errorf("%w: more than %d channels", ErrInvalid, MaxChannels)
		}
		if n < cap(f.Channels) {
			f.Channels = f.Channels[:n+1]
		} else {
			f.Channels = append(f.Channels, Channel{})
		}
		if err := d.channel(&f.Channels[n]); err != nil {
			return fmt.Errorf("channel %d: %w", n, err)
		}
		more, err := d.more(']')
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

func (d *waveJSONDecoder) channel(c *Channel) error {
	c.Code, c.RateHz, c.Gain, c.Baseline = 0, 0, 0, 0
	c.Samples = c.Samples[:0]
	if err := d.expect('{'); err != nil {
		return err
	}
	seen := 0
	if d.next() == '}' {
		d.i++
	} else {
		for {
			bit, err := d.member(&seen, true)
			if err != nil {
				return err
			}
			switch bit {
			case seenCode:
				if err := d.code(c); err != nil {
					return err
				}
			case seenRate:
				if c.RateHz, err = d.float32("rate"); err != nil {
					return err
				}
			case seenGain:
				if c.Gain, err = d.float32("gain"); err != nil {
					return err
				}
			case seenBaseline:
				if c.Baseline, err = d.float32("baseline"); err != nil {
					return err
				}
			case seenSamples:
				if err := d.samples(c); err != nil {
					return err
				}
			}
			more, err := d.more('}')
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	for _, m := range [...]struct {
		bit  int
		name string
	}{{seenCode, "code"}, {seenRate, "rate"}, {seenGain, "gain"}, {seenSamples, "samples"}} {
		if seen&m.bit == 0 {
			return fmt.Errorf("%w: missing %q", ErrInvalid, m.name)
		}
	}
	return checkChannel(c, len(c.Samples))
}

func (d *waveJSONDecoder) code(c *Channel) error {
	if d.next() != '"' {
		v, err := d.integer("code", 1, math.MaxUint32)
		c.Code = uint32(v)
		return err
	}
	start := d.i
	var buf [16]byte
	name, long, err := d.str(buf[:])
	if err != nil {
		return err
	}
	code, ok := uint32(0), false
	if !long {
		code, ok = waveAlias(name)
	}
	if !ok {
		d.i = start
		return d.errorf("unknown waveform alias %s", d.quoted(start))
	}
	c.Code = code
	return nil
}

func (d *waveJSONDecoder) samples(c *Channel) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.next() == ']' {
		d.i++
		return nil // 0 samples: checkChannel rejects it with the count
	}
	for {
		if len(c.Samples) == MaxSamples {
			return fmt.Errorf("%w: more than %d samples", ErrInvalid, MaxSamples)
		}
		v, err := d.integer("sample", math.MinInt16, math.MaxInt16)
		if err != nil {
			return err
		}
		c.Samples = append(c.Samples, int16(v))
		more, err := d.more(']')
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}
