package sound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// event is a call the annunciator made to its sink: a burst's name, or
// "stop", at a time counted from the start of the test.
type event struct {
	at   time.Duration
	what string
}

func (e event) String() string { return fmt.Sprintf("%v %s", e.at, e.what) }

// recorder is a Sink that records calls. Play fails while fail is set and
// waits for release while it is not nil.
type recorder struct {
	start time.Time

	mu      sync.Mutex
	events  []event
	pcm     map[string][]int16
	fail    error
	release chan struct{}
}

func newRecorder() *recorder {
	return &recorder{start: time.Now(), pcm: map[string][]int16{}}
}

func (r *recorder) Play(name string, pcm []int16, rate int) error {
	r.mu.Lock()
	r.events = append(r.events, event{time.Since(r.start), name})
	r.pcm[name] = pcm
	fail, release := r.fail, r.release
	r.mu.Unlock()
	if release != nil {
		<-release
	}
	return fail
}

func (r *recorder) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{time.Since(r.start), "stop"})
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

func (r *recorder) got() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// logBuffer collects log output from the annunciator's goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// run starts an annunciator on sink; stop cancels it and waits for Run to
// return.
func run(t *testing.T, sink Sink, logs *logBuffer) (a *Annunciator, stop func()) {
	t.Helper()
	if logs == nil {
		logs = &logBuffer{}
	}
	a = NewAnnunciator(sink, MinRate, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		a.Run(ctx)
		close(done)
	}()
	return a, func() {
		cancel()
		<-done
	}
}

func sec(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

func checkEvents(t *testing.T, got, want []event) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("sink calls:\n got  %v\n want %v", got, want)
	}
}

func checkStats(t *testing.T, a *Annunciator, want Stats) {
	t.Helper()
	if got := a.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

// sleepUntil sleeps to the time at from the start of the test.
func sleepUntil(rec *recorder, at time.Duration) { time.Sleep(at - time.Since(rec.start)) }

// HIGH repeats every 10 s; a fall to MEDIUM keeps the burst already due and
// goes on at MEDIUM's 25 s; None silences at once.
func TestAnnunciatorCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(25))
		a.Set(alarms.Medium, false)
		sleepUntil(rec, sec(90))
		a.Set(alarms.None, false)
		sleepUntil(rec, sec(300))
		stop()

		checkEvents(t, rec.got(), []event{
			{0, "high"}, {sec(10), "high"}, {sec(20), "high"},
			{sec(30), "medium"}, {sec(55), "medium"}, {sec(80), "medium"},
			{sec(90), "stop"},
		})
		checkStats(t, a, Stats{High: 3, Medium: 3})
		if !slices.Equal(rec.pcm["high"], Burst(alarms.High, false, MinRate)) ||
			!slices.Equal(rec.pcm["medium"], Burst(alarms.Medium, false, MinRate)) {
			t.Error("the sink did not get the priority's burst")
		}
	})
}

// A higher priority breaks in at once; a lower one waits for the slot.
func TestAnnunciatorHigherBreaksIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.Medium, false)
		sleepUntil(rec, sec(5))
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(27))
		a.Set(alarms.Medium, false)
		sleepUntil(rec, sec(61))
		a.Set(alarms.None, false)
		sleepUntil(rec, sec(200))
		stop()

		checkEvents(t, rec.got(), []event{
			{0, "medium"},
			{sec(5), "high"}, {sec(15), "high"}, {sec(25), "high"},
			{sec(35), "medium"}, {sec(60), "medium"},
			{sec(61), "stop"},
		})
	})
}

// LOW sounds once when it starts to sound, including when a higher priority
// falls back to it.
func TestAnnunciatorLowSoundsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.Low, false)
		sleepUntil(rec, sec(300))
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(315))
		a.Set(alarms.Low, false)
		sleepUntil(rec, sec(500))
		a.Set(alarms.None, false)
		sleepUntil(rec, sec(501))
		stop()

		checkEvents(t, rec.got(), []event{
			{0, "low"},
			{sec(300), "high"}, {sec(310), "high"},
			{sec(320), "low"},
			{sec(500), "stop"},
		})
		checkStats(t, a, Stats{High: 2, Low: 2})
	})
}

// Setting what already sounds changes nothing, so the engine may call Set on
// every tick.
func TestAnnunciatorRepeatedSetKeepsCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		for i := range 250 { // every 100 ms for 25 s
			a.Set(alarms.High, false)
			sleepUntil(rec, time.Duration(i+1)*100*time.Millisecond)
		}
		stop()
		checkEvents(t, rec.got(), []event{{0, "high"}, {sec(10), "high"}, {sec(20), "high"}, {sec(25), "stop"}})
	})
}

// A drop and a rise between two looks of the annunciator still count as a
// new alarm: it sounds at once.
func TestAnnunciatorNewOnsetBetweenLooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(4))
		a.Set(alarms.None, false)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(7))
		a.Set(alarms.Medium, false)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(12))
		stop()

		var bursts []event
		for _, e := range rec.got() {
			if e.what != "stop" {
				bursts = append(bursts, e)
			}
		}
		checkEvents(t, bursts, []event{{0, "high"}, {sec(4), "high"}, {sec(7), "high"}})
	})
}

// Escalation to every station breaks in with the loud burst; going back to
// quiet keeps the cadence.
func TestAnnunciatorEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(4))
		a.Set(alarms.High, true)
		sleepUntil(rec, sec(16))
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(30))
		stop()

		checkEvents(t, rec.got(), []event{
			{0, "high"}, {sec(4), "high-loud"}, {sec(14), "high-loud"}, {sec(24), "high"},
			{sec(30), "stop"},
		})
		checkStats(t, a, Stats{High: 4, Loud: 2})
		if !slices.Equal(rec.pcm["high-loud"], Burst(alarms.High, true, MinRate)) {
			t.Error("the sink did not get the loud burst")
		}
	})
}

// An unknown priority above High sounds as High, rather than not at all.
func TestAnnunciatorUnknownPrioritySoundsHigh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.Priority(7), false)
		sleepUntil(rec, sec(1))
		stop()
		checkEvents(t, rec.got(), []event{{0, "high"}, {sec(1), "stop"}})
	})
}

// Sink failures are counted, logged once per outage, and never stop the
// cadence.
func TestAnnunciatorSinkErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		logs := &logBuffer{}
		rec.setFail(errors.New("device unplugged"))
		a, stop := run(t, rec, logs)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(35)) // fails at 0, 10, 20, 30
		checkStats(t, a, Stats{Errors: 4})
		if n := logs.count("alarm sound failed"); n != 1 {
			t.Errorf("%d failure log lines for one outage, want 1:\n%s", n, logs)
		}

		rec.setFail(nil)
		sleepUntil(rec, sec(45)) // works at 40
		if n := logs.count("alarm sound works again"); n != 1 {
			t.Errorf("%d recovery log lines, want 1", n)
		}
		rec.setFail(errors.New("device unplugged again"))
		sleepUntil(rec, sec(65)) // fails at 50, 60
		stop()

		checkStats(t, a, Stats{High: 1, Errors: 6})
		if n := logs.count("alarm sound failed"); n != 2 {
			t.Errorf("%d failure log lines for two outages, want 2", n)
		}
		var tried []time.Duration
		for _, e := range rec.got() {
			if e.what == "high" {
				tried = append(tried, e.at)
			}
		}
		if want := []time.Duration{0, sec(10), sec(20), sec(30), sec(40), sec(50), sec(60)}; !slices.Equal(tried, want) {
			t.Errorf("bursts tried at %v, want %v", tried, want)
		}
		if got := a.Stats().String(); got != "alarm bursts high 1, medium 0, low 0 (loud 0); sound errors 6" {
			t.Errorf("stats line %q", got)
		}
	})
}

// While the sink is stuck in Play, Set still returns at once, and the latest
// value wins once the sink comes back.
func TestAnnunciatorSetNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		rec.release = make(chan struct{})
		a, stop := run(t, rec, nil)
		a.Set(alarms.High, false)
		synctest.Wait() // the annunciator is stuck in Play
		for i := range 1000 {
			a.Set(alarms.Priority(i%4), i%3 == 0)
		}
		a.Set(alarms.None, false)
		a.Set(alarms.High, true)
		sleepUntil(rec, sec(5))
		rec.mu.Lock()
		close(rec.release)
		rec.release = nil
		rec.mu.Unlock()
		sleepUntil(rec, sec(6))
		stop()

		checkEvents(t, rec.got(), []event{{0, "high"}, {sec(5), "high-loud"}, {sec(6), "stop"}})
	})
}

// Run silences the sink and returns when its context ends; Set afterwards
// does not block.
func TestAnnunciatorRunEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		a, stop := run(t, rec, nil)
		a.Set(alarms.High, false)
		sleepUntil(rec, sec(3))
		stop()
		a.Set(alarms.Medium, false)
		a.Set(alarms.Low, false)
		sleepUntil(rec, sec(60))
		checkEvents(t, rec.got(), []event{{0, "high"}, {sec(3), "stop"}})
	})
}

func TestAnnunciatorRunTwicePanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := NewAnnunciator(Off(), MinRate, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			a.Run(ctx)
			close(done)
		}()
		synctest.Wait()
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a second concurrent Run did not panic")
				}
			}()
			a.Run(ctx)
		}()
		cancel()
		<-done
	})
}
