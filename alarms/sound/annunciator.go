package sound

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// Annunciator plays the bursts of the priority that should sound now. Its
// caller runs it (Run) and tells it what should sound (Set); its goroutine is
// the only one that calls the sink's Play and Stop. The rules are in the
// package documentation.
type Annunciator struct {
	sink   Sink
	rate   int
	log    *slog.Logger
	bursts [numLevels][]int16

	mu      sync.Mutex
	want    level // the latest Set
	lowest  level // the lowest Set since the loop last looked
	changed bool
	wake    chan struct{} // 1 slot: "look at want"; a full slot already says so

	running  atomic.Bool
	played   [numLevels]atomic.Uint64
	failures atomic.Uint64

	// owned by the Run goroutine
	failing bool   // the last call to the sink failed
	failed  uint64 // failures since the sink last worked
}

// level orders what can sound: None, Low, Low loud, Medium, Medium loud,
// High, High loud.
type level int

const numLevels = 2*level(alarms.High) + 2

func levelOf(p alarms.Priority, loud bool) level {
	switch {
	case p <= alarms.None:
		return 0
	case p > alarms.High:
		p = alarms.High // an unknown priority above High sounds as High
	}
	l := level(2 * p)
	if loud {
		l++
	}
	return l
}

func (l level) priority() alarms.Priority { return alarms.Priority(l / 2) }
func (l level) loud() bool                { return l > 0 && l%2 == 1 }

// NewAnnunciator returns an annunciator that plays into sink at rate samples
// per second (DefaultRate for the speaker) and logs sink failures to logger
// (slog.Default when nil). It panics when sink is nil or rate is outside
// MinRate…MaxRate, programming errors.
func NewAnnunciator(sink Sink, rate int, logger *slog.Logger) *Annunciator {
	if sink == nil {
		panic("sound: NewAnnunciator with a nil Sink")
	}
	if logger == nil {
		logger = slog.Default()
	}
	a := &Annunciator{sink: sink, rate: rate, log: logger, wake: make(chan struct{}, 1)}
	for l := level(2); l < numLevels; l++ {
		a.bursts[l] = Burst(l.priority(), l.loud(), rate)
	}
	return a
}

// Set says what should sound from now on: the highest priority to annunciate
// (None for silence) and whether in the loud, escalated variant. It never
// blocks; the latest call wins. Calling it again with the same values changes
// nothing, so it may be called on every tick of the alarm engine.
func (a *Annunciator) Set(p alarms.Priority, loud bool) {
	l := levelOf(p, loud)
	a.mu.Lock()
	if !a.changed || l < a.lowest {
		a.lowest = l
	}
	a.want, a.changed = l, true
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// take returns the latest Set and the lowest Set since the last take.
func (a *Annunciator) take() (want, lowest level) {
	a.mu.Lock()
	defer a.mu.Unlock()
	want, lowest = a.want, a.lowest
	if !a.changed {
		lowest = want
	}
	a.changed = false
	return want, lowest
}

// Run plays bursts until ctx is done, then silences the sink and returns.
// It panics if the annunciator is already running.
func (a *Annunciator) Run(ctx context.Context) {
	if !a.running.CompareAndSwap(false, true) {
		panic("sound: Annunciator.Run called twice")
	}
	defer a.running.Store(false)

	var (
		cur   level     // sounding now
		due   time.Time // the next burst; zero when none is due
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	schedule := func(at time.Time) {
		due = at
		if at.IsZero() {
			timer.Stop()
			return
		}
		timer.Reset(time.Until(at))
	}
	// burst plays cur now and schedules its repeat.
	burst := func() {
		start := time.Now()
		a.play(cur)
		if r := Repeat(cur.priority()); r > 0 {
			schedule(start.Add(r))
		} else {
			schedule(time.Time{})
		}
	}

	for {
		var fire <-chan time.Time
		if !due.IsZero() {
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			if cur > 0 {
				a.stop()
			}
			return
		case <-fire:
			burst()
		case <-a.wake:
			want, lowest := a.take()
			switch {
			case want == 0:
				if cur > 0 {
					a.stop()
				}
				cur = 0
				schedule(time.Time{})
			case want > min(cur, lowest):
				// Rise, or a new onset after a drop since the last look:
				// break in now.
				cur = want
				burst()
			default:
				// Same or lower: the burst sounding finishes, and the next
				// one, already due, plays the new pattern.
				cur = want
			}
		}
	}
}

// play hands one burst to the sink and counts it.
func (a *Annunciator) play(l level) {
	name := Name(l.priority(), l.loud())
	if err := a.sink.Play(name, a.bursts[l], a.rate); err != nil {
		a.failure(fmt.Errorf("play the %s alarm burst: %w", name, err))
		return
	}
	a.played[l].Add(1)
	a.recovered()
}

func (a *Annunciator) stop() {
	if err := a.sink.Stop(); err != nil {
		a.failure(fmt.Errorf("silence the alarm sound: %w", err))
		return
	}
	a.recovered()
}

// failure counts err and logs it when it starts an outage; the failures
// that follow are only counted, until the sink works again.
func (a *Annunciator) failure(err error) {
	a.failures.Add(1)
	a.failed++
	if !a.failing {
		a.failing = true
		a.log.Error("alarm sound failed; alarms are not heard until it recovers", "err", err)
	}
}

func (a *Annunciator) recovered() {
	if a.failing {
		a.log.Info("alarm sound works again", "failed", a.failed)
		a.failing, a.failed = false, 0
	}
}

// Stats counts what the annunciator has done since it was made.
type Stats struct {
	High, Medium, Low uint64 // bursts handed to the sink, loud ones included
	Loud              uint64 // loud bursts, of any priority
	Errors            uint64 // calls to the sink that failed
}

// Stats returns the counters; safe to call from any goroutine.
func (a *Annunciator) Stats() Stats {
	var s Stats
	for l := level(2); l < numLevels; l++ {
		n := a.played[l].Load()
		switch l.priority() {
		case alarms.High:
			s.High += n
		case alarms.Medium:
			s.Medium += n
		case alarms.Low:
			s.Low += n
		}
		if l.loud() {
			s.Loud += n
		}
	}
	s.Errors = a.failures.Load()
	return s
}

// String is the stats line: "alarm bursts high 3, medium 2, low 1 (loud 1); sound errors 0".
func (s Stats) String() string {
	return fmt.Sprintf("alarm bursts high %d, medium %d, low %d (loud %d); sound errors %d",
		s.High, s.Medium, s.Low, s.Loud, s.Errors)
}
