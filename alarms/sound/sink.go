package sound

import (
	"errors"
	"fmt"
	"strings"
)

// Sink is where bursts are played. A Sink is safe for concurrent use.
type Sink interface {
	// Play starts pcm (16-bit mono at rate samples per second) and returns
	// once it is handed over, without waiting for it to finish. A burst still
	// sounding is cut off: only one burst sounds at a time. pcm is not
	// modified and not kept after the sound ends.
	Play(name string, pcm []int16, rate int) error
	// Stop silences the burst sounding now, if any.
	Stop() error
	// Close stops the sound and releases the output; Play fails afterwards.
	Close() error
}

// Errors wrapped by Open.
var (
	// ErrSpec: the output spec is not off, default or wav:DIR.
	ErrSpec = errors.New("unknown audio output")
	// ErrUnavailable: the speaker output cannot be opened on this machine
	// (no sound card, no audio server, or the driver did not answer in time).
	ErrUnavailable = errors.New("audio output unavailable")
)

var errClosed = errors.New("audio output is closed")

// Specs is the help text of the values Open accepts.
const Specs = "off | default | wav:DIR"

// Open opens the audio output named by spec, the value of the station's
// --audio flag:
//
//	off       play nothing
//	default   the speaker, through the system's default audio device
//	wav:DIR   write each burst as a numbered WAV file into DIR
//
// When the speaker cannot be used, Open fails within OpenTimeout with an
// error wrapping ErrUnavailable; the caller logs it and carries on with Off.
func Open(spec string) (Sink, error) {
	switch {
	case spec == "off":
		return Off(), nil
	case spec == "default":
		return openDevice(OpenTimeout)
	case strings.HasPrefix(spec, "wav:"):
		dir := strings.TrimPrefix(spec, "wav:")
		if strings.TrimSpace(dir) == "" {
			return nil, fmt.Errorf("audio output %q names no directory; use wav:DIR: %w", spec, ErrSpec)
		}
		s, err := NewWAVSink(dir)
		if err != nil {
			return nil, fmt.Errorf("audio output %q: %w", spec, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("audio output %q is not one of %s: %w", spec, Specs, ErrSpec)
}

// Off is a sink that plays nothing.
func Off() Sink { return off{} }

type off struct{}

func (off) Play(string, []int16, int) error { return nil }
func (off) Stop() error                     { return nil }
func (off) Close() error                    { return nil }
func (off) String() string                  { return "off" }
