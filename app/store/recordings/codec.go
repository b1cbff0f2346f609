package recordings

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Waveform chunk encoding, codec 1.
//
//	offset size  field
//	0      1     codec (1)
//	1      1     predictor order: 1 (previous sample) or 2 (linear extrapolation)
//	2      ...   raw DEFLATE stream (RFC 1951) of uvarint tokens:
//	             0, count   a run of count invalid samples (feed.InvalidSample)
//	             z+1        one valid sample whose residual zigzag-encodes to z
//
// The residual is the sample minus its prediction from the valid samples
// before it: order 1 predicts the previous one, order 2 extends the line
// through the previous two. Invalid samples are skipped by the predictor, so
// an ECG that comes back after leads-off continues from its last value. The
// encoder tries both orders and keeps the shorter result: order 2 wins on
// smooth signals (pleth, respiration, pressures), order 1 on noisy ones.
//
// Worked example, order 1: samples 100 102 -32768 -32768 101
//
//	residual   100   2   (run of 2)   -1
//	zigzag     200   4                 1
//	token      201   5   0 2           2
const (
	codecV1    = 1
	codecHdr   = 2
	maxSamples = 1 << 22 // a chunk bigger than this is not ours
)

// errCorruptChunk is wrapped by decode for data it cannot read.
var errCorruptChunk = errors.New("corrupt waveform chunk")

// encoder compresses chunks. It keeps its buffers and its DEFLATE state
// between calls, so it is not safe for concurrent use: the writer goroutine
// owns one.
type encoder struct {
	tokens []byte
	out    [2]bytes.Buffer
	fw     *flate.Writer
}

func newEncoder() *encoder {
	// Huffman coding alone: residual tokens of sampled signals have almost
	// no repeated strings for LZ77 to find. On the simulated ward it came
	// out as small as BestSpeed and the default level (within 1 %, smaller
	// on the capnogram) at a fraction of their time.
	fw, err := flate.NewWriter(io.Discard, flate.HuffmanOnly)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return &encoder{fw: fw}
}

// encode returns the codec-1 encoding of samples, in a buffer that stays
// valid until the next call.
func (e *encoder) encode(samples []int16) []byte {
	best := -1
	for order := 1; order <= 2; order++ {
		buf := &e.out[order-1]
		buf.Reset()
		buf.WriteByte(codecV1)
		buf.WriteByte(byte(order))
		e.tokens = appendTokens(e.tokens[:0], samples, order)
		e.fw.Reset(buf)
		e.fw.Write(e.tokens) // a bytes.Buffer never fails
		e.fw.Close()
		if best < 0 || buf.Len() < e.out[best].Len() {
			best = order - 1
		}
	}
	return e.out[best].Bytes()
}

// appendTokens appends the uvarint tokens of samples to dst.
func appendTokens(dst []byte, samples []int16, order int) []byte {
	var p1, p2 int64 // the last two valid samples (p1 the latest)
	valid := 0       // valid samples so far, up to 2
	for i := 0; i < len(samples); {
		if samples[i] == feed.InvalidSample {
			j := i + 1
			for j < len(samples) && samples[j] == feed.InvalidSample {
				j++
			}
			dst = append(dst, 0)
			dst = binary.AppendUvarint(dst, uint64(j-i))
			i = j
			continue
		}
		x := int64(samples[i])
		dst = binary.AppendUvarint(dst, zigzag(x-predict(p1, p2, valid, order))+1)
		p2, p1 = p1, x
		valid = min(valid+1, 2)
		i++
	}
	return dst
}

// predict is the expected next sample given the last two valid ones.
func predict(p1, p2 int64, valid, order int) int64 {
	switch {
	case valid == 0:
		return 0
	case order == 1 || valid == 1:
		return p1
	}
	return 2*p1 - p2
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// decoder decodes chunks, reusing its DEFLATE state; one per goroutine.
type decoder struct {
	src bytes.Reader
	fr  io.ReadCloser // a flate reader, made on first use
	br  byteReader
}

// decode appends the n samples encoded in data to dst. It never panics and
// never produces more than n samples, whatever data holds.
func (d *decoder) decode(dst []int16, data []byte, n int) ([]int16, error) {
	if n < 0 || n > maxSamples {
		return dst, fmt.Errorf("%w: %d samples", errCorruptChunk, n)
	}
	if len(data) < codecHdr || data[0] != codecV1 || (data[1] != 1 && data[1] != 2) {
		return dst, fmt.Errorf("%w: unknown header", errCorruptChunk)
	}
	order := int(data[1])
	d.src.Reset(data[codecHdr:])
	if d.fr == nil {
		d.fr = flate.NewReader(&d.src)
	} else if err := d.fr.(flate.Resetter).Reset(&d.src, nil); err != nil {
		return dst, err
	}
	// Reading stops after n samples (and one byte more, to refuse trailing
	// data), so corrupt input can never make it produce or read unbounded data.
	d.br = byteReader{r: d.fr}
	br := &d.br
	var p1, p2 int64
	valid := 0
	want := len(dst) + n
	for len(dst) < want {
		tok, err := binary.ReadUvarint(br)
		if err != nil {
			return dst, fmt.Errorf("%w: %d of %d samples: %v", errCorruptChunk, n-(want-len(dst)), n, err)
		}
		if tok == 0 {
			run, err := binary.ReadUvarint(br)
			if err != nil || run == 0 || run > uint64(want-len(dst)) {
				return dst, fmt.Errorf("%w: bad run of invalid samples", errCorruptChunk)
			}
			for range run {
				dst = append(dst, feed.InvalidSample)
			}
			continue
		}
		x := predict(p1, p2, valid, order) + unzigzag(tok-1)
		if x < -32767 || x > 32767 { // -32768 is only ever a run
			return dst, fmt.Errorf("%w: sample %d out of range", errCorruptChunk, x)
		}
		dst = append(dst, int16(x))
		p2, p1 = p1, x
		valid = min(valid+1, 2)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return dst, fmt.Errorf("%w: data after the last sample", errCorruptChunk)
	}
	return dst, nil
}

// byteReader reads single bytes through a small buffer: flate's reader is
// an io.Reader, and ReadUvarint wants an io.ByteReader.
type byteReader struct {
	r    io.Reader
	buf  [512]byte
	i, n int
}

func (b *byteReader) ReadByte() (byte, error) {
	if b.i == b.n {
		n, err := io.ReadAtLeast(b.r, b.buf[:], 1)
		if n == 0 {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		b.i, b.n = 0, n
	}
	c := b.buf[b.i]
	b.i++
	return c, nil
}
