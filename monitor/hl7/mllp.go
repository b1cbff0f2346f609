package hl7

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MLLP (minimal lower layer protocol) block characters: a frame is
// StartBlock, the message, EndBlock, CarriageReturn.
const (
	StartBlock     byte = 0x0B
	EndBlock       byte = 0x1C
	CarriageReturn byte = 0x0D
)

// Reader reads MLLP frames from a byte stream. It never buffers more than
// MaxMessageSize bytes of a message (plus the bufio buffer). It is not safe
// for concurrent use.
type Reader struct {
	br      *bufio.Reader
	limit   int // largest message accepted: MaxMessageSize, smaller in tests
	skipped int64
	discard bool // the last frame was too large: drop the rest of it first
}

// NewReader returns a Reader reading from r. When r is a *bufio.Reader it is
// used directly.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Reader{br: br, limit: MaxMessageSize}
}

// Skipped returns the number of bytes dropped so far outside frames: bytes
// before a start block (garbage, whitespace between frames), after a bad end
// block, and the rest of frames refused as too large.
func (r *Reader) Skipped() int64 { return r.skipped }

// ReadMessage returns the content of the next frame, without the block
// characters. Bytes before the start block are skipped and counted. It
// returns io.EOF when the stream ends outside a frame, and an error wrapping:
//
//   - ErrFrameTruncated (and io.ErrUnexpectedEOF) when it ends inside one;
//   - ErrTooLarge when the content exceeds MaxMessageSize; the rest of that
//     frame is skipped by the next call;
//   - ErrFrameStart when a start block appears inside a frame; the next call
//     reads the frame that this start block opens;
//   - ErrFrameEnd when the end block is not followed by a carriage return.
//
// Errors of the underlying reader are returned wrapped.
func (r *Reader) ReadMessage() ([]byte, error) {
	if r.discard {
		if err := r.skipFrame(); err != nil {
			return nil, err
		}
		r.discard = false
	}
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, r.streamErr(err, false, 0)
		}
		if c == StartBlock {
			break
		}
		r.skipped++
	}
	var msg []byte
	for {
		if _, err := r.br.Peek(1); err != nil {
			return nil, r.streamErr(err, true, len(msg))
		}
		avail, _ := r.br.Peek(r.br.Buffered())
		i := indexBlock(avail)
		n := i
		if i < 0 {
			n = len(avail)
		}
		if len(msg)+n > r.limit {
			r.discard = true
			r.skipped += int64(len(msg))
			return nil, fmt.Errorf("hl7: MLLP frame: %w (%d bytes)", ErrTooLarge, r.limit)
		}
		msg = append(msg, avail[:n]...)
		_, _ = r.br.Discard(n) // cannot fail: the bytes are buffered
		if i < 0 {
			continue
		}
		if avail[i] == StartBlock {
			r.skipped += int64(len(msg))
			return nil, fmt.Errorf("hl7: %w after %d bytes (frame dropped)", ErrFrameStart, len(msg))
		}
		_, _ = r.br.Discard(1) // the end block
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, r.streamErr(err, true, len(msg))
		}
		if c != CarriageReturn {
			_ = r.br.UnreadByte() // it may be the start of the next frame
			r.skipped += int64(len(msg))
			return nil, fmt.Errorf("hl7: %w (got 0x%02X, frame dropped)", ErrFrameEnd, c)
		}
		return msg, nil
	}
}

// skipFrame drops bytes up to and including the end of the current frame
// (end block and carriage return), or up to the next start block.
func (r *Reader) skipFrame() error {
	for {
		if _, err := r.br.Peek(1); err != nil {
			return r.streamErr(err, false, 0)
		}
		avail, _ := r.br.Peek(r.br.Buffered())
		i := indexBlock(avail)
		if i < 0 {
			r.skipped += int64(len(avail))
			_, _ = r.br.Discard(len(avail))
			continue
		}
		r.skipped += int64(i)
		_, _ = r.br.Discard(i)
		if avail[i] == StartBlock {
			return nil
		}
		_, _ = r.br.Discard(1)
		r.skipped++
		if c, err := r.br.ReadByte(); err == nil {
			if c != CarriageReturn {
				_ = r.br.UnreadByte()
			} else {
				r.skipped++
			}
		}
		return nil
	}
}

// streamErr converts an error of the underlying reader.
func (r *Reader) streamErr(err error, inFrame bool, n int) error {
	if errors.Is(err, io.EOF) {
		if !inFrame {
			return io.EOF
		}
		return fmt.Errorf("hl7: %w after %d bytes: %w", ErrFrameTruncated, n, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("hl7: MLLP read: %w", err)
}

// indexBlock returns the index of the first start or end block in b, or -1.
func indexBlock(b []byte) int {
	for i, c := range b {
		if c == StartBlock || c == EndBlock {
			return i
		}
	}
	return -1
}

// WriteMessage writes msg to w as one MLLP frame, in a single Write call. It
// refuses a message larger than MaxMessageSize (ErrTooLarge) or containing a
// start or end block character (ErrFrameContent), which would break the
// framing.
func WriteMessage(w io.Writer, msg []byte) error {
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("hl7: MLLP write: %w (%d bytes)", ErrTooLarge, len(msg))
	}
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		return fmt.Errorf("hl7: MLLP write: %w", ErrFrameContent)
	}
	frame := make([]byte, 0, len(msg)+3)
	frame = append(frame, StartBlock)
	frame = append(frame, msg...)
	frame = append(frame, EndBlock, CarriageReturn)
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("hl7: MLLP write: %w", err)
	}
	return nil
}
