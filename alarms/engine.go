package alarms

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Source says who decided an alarm condition exists.
type Source int

// Sources.
const (
	Physiological Source = iota // a limit Vigil evaluates on a bed's numerics
	Technical                   // NO DATA, offline, leads off, broker lost ...
	Device                      // the bedside device's own alarm, mirrored
)

func (s Source) String() string {
	switch s {
	case Physiological:
		return "physiological"
	case Technical:
		return "technical"
	case Device:
		return "device"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Condition describes an alarm condition as its source reports it. Key
// identifies the condition (e.g. "05/spo2-low"): reports with the same key are
// the same condition, continuing.
type Condition struct {
	Key      string
	Bed      string // "" for station-wide conditions (broker lost)
	Priority Priority
	Source   Source
	Message  string        // without the priority prefix, e.g. "SpO2 84 < 90"
	Delay    time.Duration // condition delay: how long it must persist first (0 = none)
	Latching bool          // policy: stays until acknowledged after the condition ends
}

// Alarm is one alarm instance: from the moment its condition has persisted
// for its delay until it is resolved.
type Alarm struct {
	ID string // Key + "#" + sequence: a new condition is a new alarm
	Condition
	Onset, Updated time.Time
	Ended          bool      // the condition is gone (a latched alarm waits for acknowledgement)
	Acked          bool      // acknowledged: it no longer sounds
	AckedBy        string    // who acknowledged
	Escalation     int       // 0 primary nurse, 1 charge nurse, 2 every station
	EscalatedAt    time.Time // last escalation
	AcceptedBy     string    // responsibility accepted after escalation
}

// Text is the message with its priority prefix, e.g. "*** SpO2 84 < 90".
func (a *Alarm) Text() string { return a.Priority.Prefix() + " " + a.Message }

// Policy holds the responsible organisation's settings.
type Policy struct {
	AudioPause       time.Duration // default 120 s
	EscalateHigh     time.Duration // unacknowledged HIGH to the charge nurse; default 30 s
	EscalateHighAll  time.Duration // then to every station; default 60 s after the first hop
	EscalateMedium   time.Duration // unacknowledged MEDIUM to the charge nurse; default 120 s
	MaxBedAlarmPause time.Duration // longest ALARM PAUSED per bed; default 5 min
}

// DefaultPolicy has the market defaults of clinical-reference.md §1.
var DefaultPolicy = Policy{
	AudioPause:       120 * time.Second,
	EscalateHigh:     30 * time.Second,
	EscalateHighAll:  60 * time.Second,
	EscalateMedium:   120 * time.Second,
	MaxBedAlarmPause: 5 * time.Minute,
}

// Record is one line of the alarm trail: every raise, end, acknowledgement,
// pause, escalation hop and response, with who, where and when.
type Record struct {
	At      time.Time
	Event   string // raised, ended, resolved, acknowledged, audio-paused, audio-resumed, escalated, accepted, rejected, alarm-paused, alarm-resumed
	AlarmID string
	Bed     string
	Who     string // "" for the system
	Where   string // the station
	Detail  string
}

// Actor is who does something, and at which station.
type Actor struct{ Who, Where string }

// Engine is the alarm state of one station. It is a plain state machine: its
// methods must be called from one goroutine, with time from the injected
// clock, so tests drive it in virtual time. Transitions:
//
//	condition reported        -> pending (its delay runs)       no delay: raised at once
//	pending, delay elapsed    -> raised: active, sounding
//	pending, condition gone   -> forgotten (no alarm)
//	active, acknowledged      -> acknowledged: shown, silent
//	active, condition gone    -> resolved; if latching and unacknowledged: ended, shown, sounding
//	ended (latched), ack      -> resolved
//	unacknowledged HIGH       -> escalated to the charge nurse after EscalateHigh, to every station EscalateHighAll later
//	unacknowledged MEDIUM     -> escalated to the charge nurse after EscalateMedium
//	escalated, accepted       -> escalation stops; rejected: it continues
//	AUDIO PAUSED              -> nothing sounds until it expires, except a higher priority than was sounding
//	ALARM PAUSED (bed)        -> the bed's physiological conditions raise nothing until it expires
type Engine struct {
	policy Policy
	clock  func() time.Time
	seq    int

	pending map[string]pendingCond // by key, condition seen but its delay not yet passed
	alarms  map[string]*Alarm      // by key, raised and not yet resolved
	records []Record

	audioPausedUntil time.Time
	pausedPriority   Priority // what was sounding when the pause began
	bedPausedUntil   map[string]time.Time
}

type pendingCond struct {
	cond  Condition
	since time.Time
}

// NewEngine makes an engine with policy p (zero fields take the defaults).
func NewEngine(p Policy, clock func() time.Time) *Engine {
	d := DefaultPolicy
	p.AudioPause = cmp.Or(p.AudioPause, d.AudioPause)
	p.EscalateHigh = cmp.Or(p.EscalateHigh, d.EscalateHigh)
	p.EscalateHighAll = cmp.Or(p.EscalateHighAll, d.EscalateHighAll)
	p.EscalateMedium = cmp.Or(p.EscalateMedium, d.EscalateMedium)
	p.MaxBedAlarmPause = cmp.Or(p.MaxBedAlarmPause, d.MaxBedAlarmPause)
	if clock == nil {
		clock = time.Now
	}
	return &Engine{policy: p, clock: clock, pending: map[string]pendingCond{},
		alarms: map[string]*Alarm{}, bedPausedUntil: map[string]time.Time{}}
}

func (e *Engine) record(r Record) {
	r.At = e.clock()
	e.records = append(e.records, r)
}

// Report says that a condition is present now (and what it looks like: a
// message with the current value). Call it on every evaluation while the
// condition lasts.
func (e *Engine) Report(c Condition) {
	now := e.clock()
	if a, ok := e.alarms[c.Key]; ok && !a.Ended {
		a.Message, a.Updated = c.Message, now
		if c.Priority > a.Priority { // a worse condition under the same key
			a.Priority, a.Acked = c.Priority, false
		}
		return
	}
	if c.Source == Physiological && now.Before(e.bedPausedUntil[c.Bed]) {
		return // ALARM PAUSED: not annunciated at all
	}
	p, ok := e.pending[c.Key]
	if !ok {
		p = pendingCond{cond: c, since: now}
	}
	p.cond = c
	e.pending[c.Key] = p
	e.Tick()
}

// Clear says that a condition is absent now.
func (e *Engine) Clear(key string) {
	delete(e.pending, key)
	a, ok := e.alarms[key]
	if !ok || a.Ended {
		return
	}
	a.Updated = e.clock()
	if a.Latching && !a.Acked {
		a.Ended = true
		e.record(Record{Event: "ended", AlarmID: a.ID, Bed: a.Bed, Detail: "condition ended; latched until acknowledged"})
		return
	}
	e.resolve(a, "condition ended")
}

func (e *Engine) resolve(a *Alarm, why string) {
	delete(e.alarms, a.Key)
	e.record(Record{Event: "resolved", AlarmID: a.ID, Bed: a.Bed, Detail: why})
}

// Tick raises conditions whose delay has passed, escalates, and ends expired
// pauses. Call it at least once a second.
func (e *Engine) Tick() {
	now := e.clock()
	for key, p := range e.pending {
		if now.Sub(p.since) < p.cond.Delay {
			continue
		}
		delete(e.pending, key)
		e.seq++
		a := &Alarm{ID: fmt.Sprintf("%s#%d", key, e.seq), Condition: p.cond, Onset: now, Updated: now}
		e.alarms[key] = a
		e.record(Record{Event: "raised", AlarmID: a.ID, Bed: a.Bed, Detail: a.Text()})
	}
	for _, a := range e.alarms {
		if a.Acked || a.AcceptedBy != "" {
			continue
		}
		switch {
		case a.Priority == High && a.Escalation == 0 && now.Sub(a.Onset) >= e.policy.EscalateHigh,
			a.Priority == Medium && a.Escalation == 0 && now.Sub(a.Onset) >= e.policy.EscalateMedium:
			e.escalate(a, now, "charge nurse")
		case a.Priority == High && a.Escalation == 1 && now.Sub(a.EscalatedAt) >= e.policy.EscalateHighAll:
			e.escalate(a, now, "every station")
		}
	}
	if !e.audioPausedUntil.IsZero() && !now.Before(e.audioPausedUntil) {
		e.audioPausedUntil = time.Time{}
		e.record(Record{Event: "audio-resumed", Detail: "audio pause expired"})
	}
	for bed, until := range e.bedPausedUntil {
		if !now.Before(until) {
			delete(e.bedPausedUntil, bed)
			e.record(Record{Event: "alarm-resumed", Bed: bed, Detail: "alarm pause expired"})
		}
	}
}

func (e *Engine) escalate(a *Alarm, now time.Time, to string) {
	a.Escalation++
	a.EscalatedAt = now
	e.record(Record{Event: "escalated", AlarmID: a.ID, Bed: a.Bed, Detail: "to " + to})
}

// Acknowledge marks an alarm seen: it stops sounding (a latched alarm whose
// condition ended is resolved). It reports whether the alarm existed.
func (e *Engine) Acknowledge(id string, by Actor) bool {
	a := e.byID(id)
	if a == nil {
		return false
	}
	a.Acked, a.AckedBy = true, by.Who
	e.record(Record{Event: "acknowledged", AlarmID: a.ID, Bed: a.Bed, Who: by.Who, Where: by.Where})
	if a.Ended {
		e.resolve(a, "acknowledged after its condition ended")
	}
	return true
}

// Respond answers an escalated alarm: responsibility accepted (escalation
// stops) or rejected (it goes on). It reports whether there was an escalated
// alarm with this id.
func (e *Engine) Respond(id string, accept bool, by Actor) bool {
	a := e.byID(id)
	if a == nil || a.Escalation == 0 {
		return false
	}
	ev := "rejected"
	if accept {
		ev, a.AcceptedBy = "accepted", by.Who
	}
	e.record(Record{Event: ev, AlarmID: a.ID, Bed: a.Bed, Who: by.Who, Where: by.Where})
	return true
}

// PauseAudio silences the station for the policy's audio pause. An alarm of
// higher priority than any sounding now breaks through.
func (e *Engine) PauseAudio(by Actor) {
	now := e.clock()
	e.pausedPriority = e.loudest()
	e.audioPausedUntil = now.Add(e.policy.AudioPause)
	e.record(Record{Event: "audio-paused", Who: by.Who, Where: by.Where,
		Detail: fmt.Sprintf("for %s", e.policy.AudioPause)})
}

// AudioPausedFor is the time left of the audio pause (0 when not paused).
func (e *Engine) AudioPausedFor() time.Duration {
	if e.audioPausedUntil.IsZero() {
		return 0
	}
	return max(0, e.audioPausedUntil.Sub(e.clock()))
}

// PauseBed stops a bed's physiological alarms for d (at most the policy's
// limit): ALARM PAUSED. Its raised physiological alarms are resolved.
func (e *Engine) PauseBed(bed string, d time.Duration, by Actor) {
	d = min(d, e.policy.MaxBedAlarmPause)
	e.bedPausedUntil[bed] = e.clock().Add(d)
	e.record(Record{Event: "alarm-paused", Bed: bed, Who: by.Who, Where: by.Where, Detail: fmt.Sprintf("for %s", d)})
	for key, p := range e.pending {
		if p.cond.Bed == bed && p.cond.Source == Physiological {
			delete(e.pending, key)
		}
	}
	for _, a := range e.alarms {
		if a.Bed == bed && a.Source == Physiological {
			e.resolve(a, "alarm paused")
		}
	}
}

// loudest is the priority of the highest unacknowledged alarm, pause aside.
func (e *Engine) loudest() Priority {
	p := None
	for _, a := range e.alarms {
		if !a.Acked && a.Priority > p {
			p = a.Priority
		}
	}
	return p
}

// Sounding is the priority the station's speaker plays now: the highest
// unacknowledged alarm, unless audio is paused (a higher priority than was
// sounding at the pause breaks through). Only one alarm sounds at a station.
func (e *Engine) Sounding() Priority {
	p := e.loudest()
	if e.AudioPausedFor() > 0 && p <= e.pausedPriority {
		return None
	}
	return p
}

// Alarms lists the alarms to show: highest priority first, then oldest.
func (e *Engine) Alarms() []Alarm {
	out := make([]Alarm, 0, len(e.alarms))
	for _, a := range e.alarms {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(x, y Alarm) int {
		if c := cmp.Compare(y.Priority, x.Priority); c != 0 {
			return c
		}
		if c := x.Onset.Compare(y.Onset); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out
}

// Records returns the trail so far.
func (e *Engine) Records() []Record { return slices.Clone(e.records) }

func (e *Engine) byID(id string) *Alarm {
	for _, a := range e.alarms {
		if a.ID == id {
			return a
		}
	}
	return nil
}
