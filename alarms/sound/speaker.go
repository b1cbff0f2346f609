//go:build cgo || darwin || windows

package sound

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ebitengine/oto/v3"
)

// speaker is the process's one audio context: oto allows a single context
// per process, with one sample rate. It is created on the first
// Open("default") by a goroutine that lives as long as the process, because
// the driver call that opens the device can block without end on a machine
// with no sound card; Open waits for it at most OpenTimeout each time.
var speaker struct {
	once  sync.Once
	ready chan struct{} // closed once ctx or err is set
	ctx   *oto.Context
	err   error
}

func startSpeaker() {
	speaker.ready = make(chan struct{})
	go func() {
		defer close(speaker.ready)
		ctx, ready, err := oto.NewContext(&oto.NewContextOptions{
			SampleRate:   DefaultRate,
			ChannelCount: 1,
			Format:       oto.FormatSignedInt16LE,
		})
		if err != nil {
			speaker.err = err
			return
		}
		<-ready
		if err := ctx.Err(); err != nil {
			speaker.err = err
			return
		}
		speaker.ctx = ctx
	}()
}

// openDevice opens the speaker at DefaultRate.
func openDevice(timeout time.Duration) (Sink, error) {
	speaker.once.Do(startSpeaker)
	if err := waitReady(speaker.ready, timeout); err != nil {
		return nil, err
	}
	if speaker.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, speaker.err)
	}
	return &deviceSink{ctx: speaker.ctx}, nil
}

// deviceSink plays through the speaker, one burst at a time.
type deviceSink struct {
	ctx *oto.Context

	mu     sync.Mutex
	player *oto.Player // the burst handed over last; nil when stopped
	closed bool
}

func (s *deviceSink) String() string { return "default" }

// Play hands pcm to the audio mixer and returns; the mixer's own goroutine
// feeds the device.
func (s *deviceSink) Play(name string, pcm []int16, rate int) error {
	if rate != DefaultRate {
		return fmt.Errorf("play %s: the speaker runs at %d Hz, not %d Hz", name, DefaultRate, rate)
	}
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("play %s: %w: %w", name, ErrUnavailable, err)
	}
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("play %s: %w", name, errClosed)
	}
	s.stopLocked() // a burst already sounding is cut off; its error is of no use now
	p := s.ctx.NewPlayer(bytes.NewReader(b))
	p.Play()
	s.player = p
	return nil
}

func (s *deviceSink) stopLocked() error {
	if s.player == nil {
		return nil
	}
	// Pause stops the sound; since oto v3.4 a player needs no Close (it
	// is released with its last reference).
	s.player.Pause()
	s.player = nil
	return nil
}

// Stop cuts off the burst sounding now.
func (s *deviceSink) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

// Close stops the sound. The process's audio context stays open for a later
// Open("default").
func (s *deviceSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.stopLocked()
}
