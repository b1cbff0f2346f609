// Package notify raises desktop notifications for Vigil's alarms, so a nurse
// working in another window still sees that a bed needs attention. It is a
// secondary channel: the central station's tiles and alarm sound remain the
// alarm signals, and nothing here may delay or endanger them.
//
// # What is notified
//
// New HIGH and MEDIUM alarms, and escalations of unacknowledged alarms. LOW
// (and None) priority notes are ignored and only counted: a low priority
// condition must not pull the nurse away from other work. The title names the
// bed and the prefixed message ("Bed 05 — *** SpO2 84 < 90"; an escalation
// starts with "ESCALATED "); the body gives the time and what to do.
//
// # Never blocking the alarm engine
//
// Post only puts the note in a bounded queue (Config.QueueSize, default 256)
// and returns at once; if the queue is full the note is dropped and counted.
// One goroutine, the caller's Run, drains the queue and talks to the desktop.
//
// # Rate limit
//
// An alarm storm (every bed of a ward alarming at once, for instance after a
// network outage) must not bury the desktop in notifications. Notifications
// pass a token bucket: at most Config.Burst (default 3) at once, then one per
// Config.Interval (default 2 s). Notes arriving within Config.Gather (default
// 100 ms) of the first one are considered together, so the order in which the
// engine posted them does not matter: when choosing what to show, HIGH comes
// before MEDIUM, escalations before new alarms of the same priority, then the
// oldest first. When more notes wait than there are tokens, all tokens but
// the last are used for individual notifications and the last one for a
// single summary of the rest, naming the count, the beds (HIGH first) and the
// priorities: "*** +61 more alarms: Bed 03, Bed 07, Bed 12, …". Nothing held
// back is silently lost, and after a burst the next notification comes one
// Interval later.
//
// # Failures
//
// Without a notification service (no D-Bus session, no daemon) the backend
// fails fast. A failure is logged once per outage (a warning; recovery is
// logged too), every affected note is counted in Stats.Failed, and Run goes
// on. A backend that hangs is abandoned after Config.SendTimeout (default
// 10 s) and is not called again until it returns; a backend that panics is
// recovered. Post never blocks, and neither Post nor Run panics.
//
// The default backend is beeep.Notify from github.com/gen2brain/beeep, which
// on Linux uses the org.freedesktop.Notifications D-Bus service, falling back
// to notify-send. It reads beeep.AppName, which the application sets once at
// start-up. Its notifications expire after 5 s and make no sound: one more
// reason they only point the nurse back to the central station.
package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gen2brain/beeep"

	"github.com/vigil-station/vigil/alarms"
)

// Defaults of Config's zero fields.
const (
	DefaultQueueSize   = 256
	DefaultBurst       = 3
	DefaultInterval    = 2 * time.Second
	DefaultGather      = 100 * time.Millisecond
	DefaultSendTimeout = 10 * time.Second
	DefaultIcon        = "dialog-warning"
)

// Note is one alarm event to notify.
type Note struct {
	Bed       string          // bed label, e.g. "05"; "" for a station-wide condition
	Priority  alarms.Priority // only High and Medium are notified (and advisories)
	Advisory  bool            // a derived advisory (NEWS2), not an alarm: no priority, ranked after alarms
	Text      string          // the message with its priority prefix, e.g. "*** SpO2 84 < 90"
	Escalated bool            // an escalation of an unacknowledged alarm, not a new alarm
	Detail    string          // optional, for escalations: to whom, e.g. "to the charge nurse"
	At        time.Time       // when it happened; zero: when posted
}

// FromAlarm is the note for a newly raised alarm (escalated false) or for its
// latest escalation hop (escalated true).
func FromAlarm(a alarms.Alarm, escalated bool) Note {
	n := Note{Bed: a.Bed, Priority: a.Priority, Text: a.Text(), Escalated: escalated, At: a.Onset}
	if escalated {
		n.At = a.EscalatedAt
		switch a.Escalation {
		case 1:
			n.Detail = "to the charge nurse"
		case 2:
			n.Detail = "to every station"
		}
	}
	return n
}

// SendFunc shows one desktop notification. It may fail but should not hang.
type SendFunc func(title, body string) error

// Beeep is the default backend: beeep.Notify with the given icon (a PNG path
// or an icon theme name).
func Beeep(icon string) SendFunc {
	return func(title, body string) error { return beeep.Notify(title, body, icon) }
}

// Config configures a Notifier. Zero fields take the defaults above.
type Config struct {
	Send        SendFunc      // backend; nil: Beeep(Icon)
	Icon        string        // icon of the default backend
	Logger      *slog.Logger  // failures and recoveries; nil: slog.Default()
	QueueSize   int           // notes Post can queue while Run is busy; also the most itemised in a summary's wait
	Burst       int           // notifications allowed at once
	Interval    time.Duration // then one notification per Interval
	Gather      time.Duration // notes this close to the first are ranked together
	SendTimeout time.Duration // a backend call longer than this counts as failed
}

// Stats are a Notifier's counters. Once Run has returned (and nothing has
// been posted since), every posted note is in exactly one of Sent,
// Summarised, Failed or Dropped: Posted == Sent + Summarised + Failed + Dropped.
type Stats struct {
	Posted     uint64 // HIGH and MEDIUM notes given to Post
	Ignored    uint64 // LOW and None notes, not notified by policy
	Sent       uint64 // notes shown in a notification of their own
	Summarised uint64 // notes held back by the rate limit and shown in a summary
	Summaries  uint64 // summary notifications shown
	Failed     uint64 // notes whose notification (own or summary) failed
	Dropped    uint64 // notes lost: queue full at Post, or still waiting when Run stopped
}

// Notifier shows alarm notes as rate-limited desktop notifications. Post may
// be called from any goroutine; Run must be running for anything to be shown.
type Notifier struct {
	cfg     Config
	log     *slog.Logger
	queue   chan Note
	running atomic.Bool

	posted, ignored, sent, summarised, summaries, failed, dropped atomic.Uint64
}

// New makes a Notifier. Start it with go n.Run(ctx).
func New(cfg Config) *Notifier {
	cfg.QueueSize = cmp.Or(max(cfg.QueueSize, 0), DefaultQueueSize)
	cfg.Burst = cmp.Or(max(cfg.Burst, 0), DefaultBurst)
	cfg.Interval = cmp.Or(max(cfg.Interval, 0), DefaultInterval)
	cfg.Gather = max(cmp.Or(cfg.Gather, DefaultGather), 0) // negative: none
	cfg.SendTimeout = cmp.Or(max(cfg.SendTimeout, 0), DefaultSendTimeout)
	cfg.Icon = cmp.Or(cfg.Icon, DefaultIcon)
	if cfg.Send == nil {
		cfg.Send = Beeep(cfg.Icon)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{cfg: cfg, log: log, queue: make(chan Note, cfg.QueueSize)}
}

// Post queues a note and returns at once. It reports whether the note was
// queued: LOW and None notes are ignored (advisories aside), and a note that finds the queue
// full is dropped; both are counted.
func (n *Notifier) Post(note Note) bool {
	if note.Priority < alarms.Medium && !note.Advisory {
		n.ignored.Add(1)
		return false
	}
	n.posted.Add(1)
	if note.At.IsZero() {
		note.At = time.Now()
	}
	select {
	case n.queue <- note:
		return true
	default:
		n.dropped.Add(1)
		return false
	}
}

// Stats returns a snapshot of the counters.
func (n *Notifier) Stats() Stats {
	return Stats{
		Posted:     n.posted.Load(),
		Ignored:    n.ignored.Load(),
		Sent:       n.sent.Load(),
		Summarised: n.summarised.Load(),
		Summaries:  n.summaries.Load(),
		Failed:     n.failed.Load(),
		Dropped:    n.dropped.Load(),
	}
}

// Run shows queued notes until ctx is done, then counts the notes still
// waiting as dropped and returns. Only one Run works at a time; a second
// concurrent call returns at once.
func (n *Notifier) Run(ctx context.Context) {
	if !n.running.CompareAndSwap(false, true) {
		n.log.Error("desktop notifier: Run called while already running")
		return
	}
	defer n.running.Store(false)

	r := &runner{Notifier: n, bucket: bucket{burst: n.cfg.Burst, interval: n.cfg.Interval},
		maxPending: max(n.cfg.QueueSize, 2*n.cfg.Burst)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if len(r.pending) > 0 {
			now := time.Now()
			timer.Reset(r.nextDispatch(now).Sub(now))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			r.stop()
			return
		case note := <-n.queue:
			r.hold(note, time.Now())
		case <-wake:
		}
		// Take what else is queued (at most a queue's worth, so a flood
		// of Posts cannot keep Run from dispatching).
		for more := cap(n.queue); more > 0; more-- {
			select {
			case note := <-n.queue:
				r.hold(note, time.Now())
			default:
				more = 0
			}
		}
		if !r.dispatch(ctx) {
			r.stop()
			return
		}
	}
}

var (
	errBusy    = errors.New("previous notification still in progress")
	errTimeout = errors.New("notification timed out")
	errAborted = errors.New("notifier stopped")
)

// runner is Run's state, owned by its goroutine.
type runner struct {
	*Notifier
	bucket      bucket
	pending     []held    // held for the gather window or the rate limit
	seq         uint64    // arrival order of held notes
	extra       int       // held notes beyond maxPending, counted but not itemised
	maxPending  int       // itemised notes kept at most
	gatherUntil time.Time // no dispatch before
	inflight    chan error
	outage      bool // the last notification failed (and that was logged)
}

// stop counts everything still waiting, pending or queued, as dropped.
func (r *runner) stop() {
	r.abandon(len(r.pending) + r.extra)
	for {
		select {
		case <-r.queue:
			r.dropped.Add(1)
		default:
			return
		}
	}
}

// abandon counts k notes that will never be shown as dropped.
func (r *runner) abandon(k int) {
	if k > 0 {
		r.dropped.Add(uint64(k))
	}
	r.pending, r.extra = nil, 0
}

// hold adds a note to the pending list. A note arriving when nothing waits
// opens the gather window. A full list keeps the highest precedence notes;
// the one left out is still counted in the next summary.
func (r *runner) hold(note Note, now time.Time) {
	if len(r.pending) == 0 && r.extra == 0 {
		r.gatherUntil = now.Add(r.cfg.Gather)
	}
	r.seq++
	h := held{note, r.seq}
	if len(r.pending) < r.maxPending {
		r.pending = append(r.pending, h)
		return
	}
	r.extra++
	last := 0 // the least urgent note held
	for j, p := range r.pending {
		if before(r.pending[last], p) {
			last = j
		}
	}
	if before(h, r.pending[last]) {
		r.pending[last] = h
	}
}

// held is a note waiting in Run, with its arrival order.
type held struct {
	Note
	seq uint64
}

// before is precedence: HIGH before MEDIUM, then escalations, then the
// earlier alarm, then the earlier arrival.
func before(a, b held) bool {
	switch {
	case a.Priority != b.Priority:
		return a.Priority > b.Priority
	case a.Escalated != b.Escalated:
		return a.Escalated
	case !a.At.Equal(b.At):
		return a.At.Before(b.At)
	}
	return a.seq < b.seq
}

// nextDispatch is when the pending notes can next be shown.
func (r *runner) nextDispatch(now time.Time) time.Time {
	t := r.bucket.readyAt(now)
	if r.gatherUntil.After(t) {
		return r.gatherUntil
	}
	return t
}

// dispatch shows what the rate limit allows now. It reports false if ctx
// ended while a notification was in progress.
func (r *runner) dispatch(ctx context.Context) bool {
	now := time.Now()
	if len(r.pending) == 0 || now.Before(r.gatherUntil) {
		return true
	}
	k := r.bucket.available(now)
	if k == 0 {
		return true
	}
	waiting := r.pending
	extra := r.extra
	r.pending, r.extra = nil, 0
	slices.SortFunc(waiting, func(a, b held) int {
		switch {
		case a.seq == b.seq:
			return 0
		case before(a, b):
			return -1
		}
		return 1 // seq makes the order total
	})

	solo, rest := waiting, []held(nil)
	if len(waiting)+extra > k {
		solo, rest = waiting[:k-1], waiting[k-1:]
	}
	for i, h := range solo {
		r.bucket.take(now)
		switch err := r.deliver(ctx, h.Title(), h.Body()); {
		case errors.Is(err, errAborted):
			r.abandon(len(waiting) - i + extra)
			return false
		case err != nil:
			r.failed.Add(1)
		default:
			r.sent.Add(1)
		}
	}
	if rest == nil {
		return true
	}
	r.bucket.take(now)
	notes := make([]Note, len(rest))
	for i, h := range rest {
		notes[i] = h.Note
	}
	title, body := summary(notes, extra)
	switch err := r.deliver(ctx, title, body); {
	case errors.Is(err, errAborted):
		r.abandon(len(rest) + extra)
		return false
	case err != nil:
		r.failed.Add(uint64(len(rest) + extra))
	default:
		r.summarised.Add(uint64(len(rest) + extra))
		r.summaries.Add(1)
	}
	return true
}

// deliver calls the backend without letting it hang Run, and logs the first
// failure of an outage and the recovery after it.
func (r *runner) deliver(ctx context.Context, title, body string) error {
	err := r.call(ctx, title, body)
	switch {
	case errors.Is(err, errAborted):
	case err != nil && !r.outage:
		r.outage = true
		r.log.Warn("desktop notifications unavailable; alarms are still shown and sounded on the central station",
			"err", err)
	case err == nil && r.outage:
		r.outage = false
		r.log.Info("desktop notifications available again")
	}
	return err
}

// call runs the backend in its own goroutine and waits for it, at most
// SendTimeout or until ctx is done. A call still running from before makes
// this one fail at once, so a hung backend holds at most one goroutine.
func (r *runner) call(ctx context.Context, title, body string) error {
	if r.inflight != nil {
		select {
		case <-r.inflight:
			r.inflight = nil
		default:
			return errBusy
		}
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("notification backend panicked: %v", p)
			}
		}()
		done <- r.cfg.Send(title, body)
	}()
	timer := time.NewTimer(r.cfg.SendTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		r.inflight = done
		return errTimeout
	case <-ctx.Done():
		return errAborted
	}
}
