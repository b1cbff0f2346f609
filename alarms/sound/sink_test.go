package sound

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

func TestOpenRejectsGarbage(t *testing.T) {
	for _, spec := range []string{"", "on", "Default", "OFF", " off", "off ", "speaker", "oto", "wav", "wav:", "wav: ", "file:/tmp/x", "default:hw0"} {
		s, err := Open(spec)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", spec)
			continue
		}
		if !errors.Is(err, ErrSpec) {
			t.Errorf("Open(%q): %v, want an error wrapping ErrSpec", spec, err)
		}
		if !strings.Contains(err.Error(), "wav:DIR") {
			t.Errorf("Open(%q): %q does not say what is accepted", spec, err)
		}
	}
}

func TestOpenWAVOnAFileFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open("wav:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Play("x", []int16{0}, MinRate); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open("wav:" + filepath.Join(dir, "000001-x.wav"))
	if err == nil || errors.Is(err, ErrSpec) {
		t.Errorf("Open(wav:FILE) = %v, want an error about the directory", err)
	}
}

func TestOpenOff(t *testing.T) {
	s, err := Open("off")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Play("high", Burst(alarms.High, false, MinRate), MinRate); err != nil {
		t.Error(err)
	}
	if err := s.Stop(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// Opening the speaker works or fails with ErrUnavailable within
// OpenTimeout, on a machine with a sound card or without; so does a second
// attempt, which must not trip over the driver's one-context rule. On Linux
// without a sound card, ALSA_CONFIG_PATH naming a file that holds
// "pcm.!default { type null }" takes the path where the speaker opens.
func TestOpenDefaultNeverHangs(t *testing.T) {
	for attempt := 1; attempt <= 2; attempt++ {
		type result struct {
			s   Sink
			err error
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			s, err := Open("default")
			done <- result{s, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(OpenTimeout + 3*time.Second):
			t.Fatalf("attempt %d: Open(default) still blocked after %v", attempt, time.Since(start))
		}
		took := time.Since(start)
		if took > OpenTimeout+500*time.Millisecond {
			t.Errorf("attempt %d: Open(default) took %v, more than %v", attempt, took, OpenTimeout)
		}
		if r.err != nil {
			if !errors.Is(r.err, ErrUnavailable) {
				t.Errorf("attempt %d: %v, want an error wrapping ErrUnavailable", attempt, r.err)
			}
			t.Logf("attempt %d: no speaker here, after %v: %v", attempt, took.Round(time.Millisecond), r.err)
			continue
		}
		// A speaker: hand it 1 s of silence, which must not wait for the sound.
		start = time.Now()
		if err := r.s.Play("silence", make([]int16, DefaultRate), DefaultRate); err != nil {
			t.Errorf("attempt %d: Play: %v", attempt, err)
		}
		if took := time.Since(start); took > 200*time.Millisecond {
			t.Errorf("attempt %d: Play blocked for %v", attempt, took)
		}
		if err := r.s.Stop(); err != nil {
			t.Errorf("attempt %d: Stop: %v", attempt, err)
		}
		if err := r.s.Play("silence", []int16{0}, MinRate); err == nil {
			t.Errorf("attempt %d: Play at %d Hz on a %d Hz speaker succeeded", attempt, MinRate, DefaultRate)
		}
		if err := r.s.Close(); err != nil {
			t.Errorf("attempt %d: Close: %v", attempt, err)
		}
		t.Logf("attempt %d: speaker opened in %v", attempt, took.Round(time.Millisecond))
	}
}

// A driver that never answers makes Open fail after OpenTimeout.
func TestWaitReadyTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := waitReady(make(chan struct{}), OpenTimeout)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("waitReady on a silent driver: %v, want ErrUnavailable", err)
		}
		if took := time.Since(start); took != OpenTimeout {
			t.Errorf("gave up after %v, want %v", took, OpenTimeout)
		}

		ready := make(chan struct{})
		go func() {
			time.Sleep(300 * time.Millisecond)
			close(ready)
		}()
		start = time.Now()
		if err := waitReady(ready, OpenTimeout); err != nil {
			t.Errorf("waitReady on a driver ready after 300 ms: %v", err)
		}
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Errorf("returned after %v, want 300ms", took)
		}
	})
}
