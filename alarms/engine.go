package alarms

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Source says who decided an alarm condition exists.
type Source int

// Sources.
const (
	Physiological   Source = iota // a limit Vigil evaluates on a bed's numerics
	Technical                     // NO DATA, offline, leads off, broker lost ...
	Device                        // the bedside device's own physiological alarm, mirrored
	DeviceTechnical               // the bedside device's own technical alarm, mirrored
)

func (s Source) String() string {
	switch s {
	case Physiological:
		return "physiological"
	case Technical:
		return "technical"
	case Device:
		return "device"
	case DeviceTechnical:
		return "device-technical"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Role is what a person at a station may do (issue: users and roles).
type Role int

// Roles, in increasing privilege.
const (
	Nurse Role = iota
	ChargeNurse
	Admin
)

func (r Role) String() string {
	switch r {
	case Nurse:
		return "nurse"
	case ChargeNurse:
		return "charge"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole reads "nurse", "charge" or "admin".
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Nurse, ChargeNurse, Admin} {
		if s == r.String() {
			return r, nil
		}
	}
	return Nurse, fmt.Errorf("role %q: use nurse, charge or admin", s)
}

// ErrNotAllowed is returned when an actor's role may not do what was asked.
var ErrNotAllowed = errors.New("not allowed for this role")

// ErrNoAlarm is returned for an alarm id the station does not know.
var ErrNoAlarm = errors.New("no such alarm")

// Condition describes an alarm condition as its source reports it. Key
// identifies the condition (bed + "/" + code): reports with the same key are
// the same condition, continuing.
type Condition struct {
	Key      string
	Bed      string // "" for station-wide conditions (broker lost)
	Code     string // what it is: "spo2-low", "nibp-limit", "no-data", "dev:ASY-1" ...
	Priority Priority
	Source   Source
	Message  string        // without the priority prefix, e.g. "SpO2 84 < 90"
	Value    float64       // measured value, NaN when none
	Limit    float64       // limit crossed, NaN when none
	Delay    time.Duration // condition delay: how long it must persist first (0 = none)
	Latching bool          // policy: stays until acknowledged after the condition ends
	Audible  bool          // always audible: AUDIO OFF does not silence it (loss of communication)
	Local    bool          // this station's own condition (broker lost, UI watchdog): never published
	Since    time.Time     // when the condition began by its source's clock; zero = now
}

// Alarm is one alarm instance: from the moment its condition has persisted
// for its delay until it is resolved.
type Alarm struct {
	ID string // bed.code.onset-ms: the same at every station that sees the same message
	Condition
	Onset, Updated time.Time
	Ended          bool      // the condition is gone (a latched alarm waits for acknowledgement)
	Acked          bool      // acknowledged: it no longer sounds
	AckedBy        string    // who acknowledged
	AckedRole      Role      // in which role
	AckedAt        string    // at which station
	AudioPaused    time.Time // this alarm's own audio pause runs until then
	Escalation     int       // 0 primary nurse, 1 charge nurse, 2 every station
	EscalatedAt    time.Time // last escalation
	AcceptedBy     string    // responsibility accepted after escalation
	AcceptedRole   Role      // the role it was accepted in
	RejectedBy     []string  // who declined it
	Resolved       bool      // gone (only in changes handed to publishers)
	Station        string    // the station that last changed it
	By             string    // who last changed it ("" = the system)
	Remote         bool      // learnt from another station, no local condition seen yet
	ReceivedAt     time.Time // when the message behind the alarm was received (for latency)
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
	Latch            []string      // codes that latch besides the ones that always do
}

// DefaultPolicy has the market defaults of clinical-reference.md §1.
var DefaultPolicy = Policy{
	AudioPause:       120 * time.Second,
	EscalateHigh:     30 * time.Second,
	EscalateHighAll:  60 * time.Second,
	EscalateMedium:   120 * time.Second,
	MaxBedAlarmPause: 5 * time.Minute,
}

// AlwaysLatch are the codes that latch whatever the policy says: lethal
// arrhythmias, nurse call and loss of communication, and the station's own
// failures (a failure alarm must persist, clinical-reference §1).
var AlwaysLatch = []string{CodeAsystole, CodeVFib, CodeVTach, CodeNurseCall, CodeOffline, CodeBrokerLost,
	CodeWatchdog, CodeJournal, CodeJournalCheckpoint, CodeRecordings, CodeAudio}

// Latches reports whether alarms of code latch under the policy.
func (p Policy) Latches(code string) bool {
	return slices.Contains(AlwaysLatch, code) || slices.Contains(p.Latch, code)
}

// Record is one line of the alarm trail: every raise, end, acknowledgement,
// pause, escalation hop and response, with who, where and when.
type Record struct {
	At      time.Time
	Event   string // raised, ended, resolved, acknowledged, audio-paused, audio-resumed, escalated, accepted, rejected, alarm-paused, alarm-resumed, audio-off, alarm-off ...
	AlarmID string
	Bed     string
	Who     string // "" for the system
	Role    string // the role Who acted in ("" for the system)
	Where   string // the station
	Detail  string
}

// Actor is who does something, in which role, at which station.
type Actor struct {
	Who, Where string
	Role       Role
}

// Engine is the alarm state of one station. It is a plain state machine: its
// methods must be called from one goroutine (Service runs it), with time from
// the injected clock, so tests drive it in virtual time. Transitions:
//
//	state                  input                          next state, effect
//	---------------------  -----------------------------  ----------------------------------------------
//	(none)                 condition reported, delay > 0  pending: the delay runs
//	(none)                 condition reported, no delay   active: raised, sounding
//	pending                delay elapsed (Tick)           active: raised, sounding
//	pending                condition gone                 (none): forgotten, no alarm
//	active                 acknowledged                   acknowledged: shown, silent
//	active                 audio paused (this alarm)      active, silent until the pause ends
//	active | acknowledged  condition gone, not latching   resolved: removed
//	active                 condition gone, latching       ended: shown, still sounding until acknowledged
//	acknowledged           condition gone, latching       resolved (it was seen)
//	ended                  acknowledged                   resolved
//	ended                  condition back                 active again, same alarm
//	active, HIGH           unacked EscalateHigh           escalated 1: charge nurse banner Accept / Reject
//	escalated 1, HIGH      unanswered EscalateHighAll     escalated 2: every station, louder
//	escalated              accepted                       acknowledged, escalation stops
//	escalated              rejected                       unchanged: the escalation goes on
//	active, MEDIUM         unacked EscalateMedium         escalated 1
//	ended                  any time                       not escalated further (no banner)
//	escalated              accepted                       escalation stops (AcceptedBy)
//	escalated              rejected                       escalation goes on (RejectedBy)
//	station                AUDIO PAUSED                   nothing sounds until it ends, except a priority
//	                                                      higher than was sounding (break-through)
//	station                AUDIO OFF (admin)              nothing sounds but always-audible alarms, until on
//	bed                    ALARM PAUSED (charge nurse)    its physiological conditions raise nothing, for
//	                                                      at most MaxBedAlarmPause
//	bed                    ALARM OFF (admin)              as ALARM PAUSED, until switched on
//	any                    another station's state        merged: acknowledged, escalation, acceptance
//	                                                      only move forward; resolved is final (tombstone)
type Engine struct {
	policy  Policy
	clock   func() time.Time
	station string

	pending map[string]pendingCond // by key, condition seen but its delay not yet passed
	alarms  map[string]*Alarm      // by key, raised and not yet resolved
	gone    map[string]time.Time   // resolved ids (tombstones), so a late message cannot revive them
	records []Record
	changed map[string]Alarm // local changes not yet handed to publishers, by id
	raised  uint64

	remoteRefused uint64
	refusedLogged map[string]time.Time // station -> last "refused" trail line

	audioPausedUntil time.Time
	pausedPriority   Priority // what was sounding when the pause began
	audioOff         bool
	bedPausedUntil   map[string]time.Time
	bedOff           map[string]bool
	standby          map[string]bool
}

type pendingCond struct {
	cond  Condition
	since time.Time // local clock at the first report
	first time.Time // the source's time of the first report
	recv  time.Time
}

// tombstoneAge is how long a resolved id is remembered against late messages.
const tombstoneAge = 10 * time.Minute

// NewEngine makes an engine for the station named station with policy p
// (zero fields take the defaults).
func NewEngine(p Policy, clock func() time.Time, station string) *Engine {
	d := DefaultPolicy
	p.AudioPause = cmp.Or(p.AudioPause, d.AudioPause)
	p.EscalateHigh = cmp.Or(p.EscalateHigh, d.EscalateHigh)
	p.EscalateHighAll = cmp.Or(p.EscalateHighAll, d.EscalateHighAll)
	p.EscalateMedium = cmp.Or(p.EscalateMedium, d.EscalateMedium)
	p.MaxBedAlarmPause = cmp.Or(p.MaxBedAlarmPause, d.MaxBedAlarmPause)
	if clock == nil {
		clock = time.Now
	}
	return &Engine{policy: p, clock: clock, station: station, pending: map[string]pendingCond{},
		alarms: map[string]*Alarm{}, gone: map[string]time.Time{}, changed: map[string]Alarm{},
		bedPausedUntil: map[string]time.Time{}, bedOff: map[string]bool{}, standby: map[string]bool{}}
}

// Policy is the engine's policy with defaults filled in.
func (e *Engine) Policy() Policy { return e.policy }

func (e *Engine) record(r Record) {
	r.At = e.clock()
	if r.Where == "" {
		r.Where = e.station
	}
	e.records = append(e.records, r)
}

// touch marks a local change of a, to be published.
func (e *Engine) touch(a *Alarm, by string) {
	a.Updated, a.Station, a.By = e.clock(), e.station, by
	if !a.Local {
		e.changed[a.ID] = *a
	}
}

func (e *Engine) suppressed(c Condition, now time.Time) bool {
	if c.Bed != "" && e.standby[c.Bed] {
		return true // monitoring paused by the bed administration: nothing of the bed alarms
	}
	if c.Source != Physiological && c.Source != Device {
		return false // technical alarms are not paused with the bed's physiology
	}
	return e.bedOff[c.Bed] || now.Before(e.bedPausedUntil[c.Bed])
}

// Report says that a condition is present now (and what it looks like: a
// message with the current value). Call it on every evaluation while the
// condition lasts. received is when the message behind it arrived.
func (e *Engine) Report(c Condition) { e.ReportAt(c, time.Time{}) }

// ReportAt is Report with the receipt time of the message that showed the
// condition, for the alarm latency figures.
func (e *Engine) ReportAt(c Condition, received time.Time) {
	now := e.clock()
	if c.Key == "" {
		c.Key = c.Bed + "/" + c.Code
	}
	c.Latching = c.Latching || e.policy.Latches(c.Code)
	if a, ok := e.alarms[c.Key]; ok {
		changed := a.Message != c.Message || a.Ended
		a.Message, a.Value, a.Limit = c.Message, c.Value, c.Limit
		a.Remote = false
		if a.Ended { // the condition is back before anyone acknowledged: the same alarm goes on
			a.Ended = false
			e.record(Record{Event: "continued", AlarmID: a.ID, Bed: a.Bed, Detail: "condition back: " + a.Text()})
		}
		if c.Priority > a.Priority { // a worse condition under the same key
			a.Priority, a.Acked, changed = c.Priority, false, true
			e.record(Record{Event: "escalated-priority", AlarmID: a.ID, Bed: a.Bed, Detail: a.Text()})
		}
		if changed {
			e.touch(a, "")
		} else {
			a.Updated = now
		}
		return
	}
	if e.suppressed(c, now) {
		return // ALARM PAUSED / ALARM OFF: not annunciated at all
	}
	p, ok := e.pending[c.Key]
	if !ok {
		p = pendingCond{since: now, first: c.Since, recv: received}
	}
	p.cond = c
	e.pending[c.Key] = p
	if c.Delay <= 0 || now.Sub(p.since) >= c.Delay {
		e.raise(c.Key, p, now)
	}
}

// Clear says that a condition is absent now.
func (e *Engine) Clear(key string) {
	delete(e.pending, key)
	a, ok := e.alarms[key]
	if !ok || a.Ended {
		return
	}
	if a.Latching && !a.Acked {
		a.Ended = true
		e.touch(a, "")
		e.record(Record{Event: "ended", AlarmID: a.ID, Bed: a.Bed, Detail: "condition ended; latched until acknowledged"})
		return
	}
	e.resolve(a, "condition ended", "")
}

// Present reports whether a condition with key is pending or raised.
func (e *Engine) Present(key string) bool {
	_, p := e.pending[key]
	_, a := e.alarms[key]
	return p || a
}

func (e *Engine) resolve(a *Alarm, why, by string) {
	delete(e.alarms, a.Key)
	e.gone[a.ID] = e.clock()
	a.Resolved = true
	e.touch(a, by)
	e.record(Record{Event: "resolved", AlarmID: a.ID, Bed: a.Bed, Who: by, Detail: why})
}

// alarmID is the id of an alarm of condition c: its key (bed/code) and the
// start of the condition, so that stations seeing the same message agree on
// it; a topic level ("05.spo2-desat.1732400000000").
// IDPart is s in the characters of an alarm id: letters, digits, '-',
// '_' and '.' kept, '/' (a key's separator) as '.', anything else as '_'.
// An alarm's id begins with IDPart of its key ("05/spo2-desat" ->
// "05.spo2-desat").
func IDPart(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		case r == '/':
			b.WriteByte('.')
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func alarmID(c Condition, since time.Time) string {
	var b strings.Builder
	b.WriteString(IDPart(c.Key))
	if b.Len() > 100 {
		s := b.String()[:100]
		b.Reset()
		b.WriteString(s)
	}
	b.WriteByte('.')
	b.WriteString(fmt.Sprint(since.UnixMilli()))
	return b.String()
}

func (e *Engine) raise(key string, p pendingCond, now time.Time) {
	delete(e.pending, key)
	since := p.first
	if since.IsZero() {
		since = p.since
	}
	a := &Alarm{ID: alarmID(p.cond, since), Condition: p.cond, Onset: now, ReceivedAt: p.recv}
	if _, dead := e.gone[a.ID]; dead {
		a.ID = alarmID(p.cond, now) // the same source time resolved before: a new instance
	}
	e.alarms[key] = a
	e.raised++
	a.Updated, a.Station = now, e.station // Onset == Updated marks a new alarm
	if !a.Local {
		e.changed[a.ID] = *a
	}
	e.record(Record{Event: "raised", AlarmID: a.ID, Bed: a.Bed, Detail: a.Text()})
}

// Raised counts the alarms raised at this station since it started.
func (e *Engine) Raised() uint64 { return e.raised }

// Tick raises conditions whose delay has passed, escalates, and ends expired
// pauses. Call it at least once a second.
func (e *Engine) Tick() {
	now := e.clock()
	for key, p := range e.pending {
		if now.Sub(p.since) >= p.cond.Delay {
			e.raise(key, p, now)
		}
	}
	for _, a := range e.alarms {
		// Acknowledged, accepted, or ended (latched, waiting for
		// acknowledgement: there is nothing left to hurry anyone to) alarms
		// are not escalated; an ended one whose condition comes back is.
		if a.Acked || a.AcceptedBy != "" || a.Local || a.Ended {
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
	for id, at := range e.gone {
		if now.Sub(at) > tombstoneAge {
			delete(e.gone, id)
		}
	}
}

func (e *Engine) escalate(a *Alarm, now time.Time, to string) {
	a.Escalation++
	a.EscalatedAt = now
	e.touch(a, "")
	e.record(Record{Event: "escalated", AlarmID: a.ID, Bed: a.Bed, Detail: "to " + to})
}

// Acknowledge marks an alarm seen: it stops sounding (a latched alarm whose
// condition ended is resolved).
func (e *Engine) Acknowledge(id string, by Actor) error {
	a := e.byID(id)
	if a == nil {
		return ErrNoAlarm
	}
	if a.Acked && !a.Ended {
		return nil
	}
	a.Acked, a.AckedBy, a.AckedRole, a.AckedAt = true, by.Who, by.Role, cmp.Or(by.Where, e.station)
	e.record(Record{Event: "acknowledged", AlarmID: a.ID, Bed: a.Bed, Who: by.Who, Where: by.Where})
	if a.Ended {
		e.resolve(a, "acknowledged after its condition ended", by.Who)
		return nil
	}
	e.touch(a, by.Who)
	return nil
}

// AcknowledgeAll acknowledges every unacknowledged alarm (of bed, or of the
// whole station when bed is "").
func (e *Engine) AcknowledgeAll(bed string, by Actor) int {
	n := 0
	for _, a := range e.Alarms() {
		if !a.Acked && (bed == "" || a.Bed == bed) && e.Acknowledge(a.ID, by) == nil {
			n++
		}
	}
	return n
}

// Respond answers an escalated alarm: responsibility accepted or rejected.
// Charge nurses and admins may respond, anyone once it reached every
// station. Accepting stops the escalation and acknowledges the alarm, by the
// same person in the same role, recorded ("accepted", then "acknowledged")
// as Acknowledge records it: whoever takes responsibility has seen it, and
// it stops sounding (a latched alarm whose condition ended is resolved).
// Rejecting changes nothing but the list of who declined: the escalation
// goes on.
func (e *Engine) Respond(id string, accept bool, by Actor) error {
	if err := by.Check(ActRespond); err != nil && (err == ErrLoggedOut || !e.escalatedToAll(id)) {
		return err
	}
	if err := by.Check(ActAcknowledge); accept && err != nil {
		return err
	}
	a := e.byID(id)
	if a == nil || a.Escalation == 0 {
		return ErrNoAlarm
	}
	ev := "rejected"
	if accept {
		ev, a.AcceptedBy, a.AcceptedRole = "accepted", by.Who, by.Role
	} else if !slices.Contains(a.RejectedBy, by.Who) {
		a.RejectedBy = append(a.RejectedBy, by.Who)
	}
	e.touch(a, by.Who)
	e.record(Record{Event: ev, AlarmID: a.ID, Bed: a.Bed, Who: by.Who, Where: by.Where})
	if accept {
		return e.Acknowledge(a.ID, by)
	}
	return nil
}

// escalatedToAll: once an alarm has reached every station, anyone there may
// take responsibility for it.
func (e *Engine) escalatedToAll(id string) bool {
	a := e.byID(id)
	return a != nil && a.Escalation >= 2
}

// PauseAudio silences the station for the policy's audio pause. An alarm of
// higher priority than any sounding now breaks through.
func (e *Engine) PauseAudio(by Actor) {
	now := e.clock()
	e.pausedPriority = e.loudest(now)
	e.audioPausedUntil = now.Add(e.policy.AudioPause)
	e.record(Record{Event: "audio-paused", Who: by.Who, Where: by.Where,
		Detail: fmt.Sprintf("for %s", e.policy.AudioPause)})
}

// PauseAlarmAudio silences one alarm for the policy's audio pause; the
// others go on sounding.
func (e *Engine) PauseAlarmAudio(id string, by Actor) error {
	a := e.byID(id)
	if a == nil {
		return ErrNoAlarm
	}
	a.AudioPaused = e.clock().Add(e.policy.AudioPause)
	e.touch(a, by.Who)
	e.record(Record{Event: "audio-paused", AlarmID: a.ID, Bed: a.Bed, Who: by.Who, Where: by.Where,
		Detail: fmt.Sprintf("this alarm for %s", e.policy.AudioPause)})
	return nil
}

// AudioPausedFor is the time left of the audio pause (0 when not paused).
func (e *Engine) AudioPausedFor() time.Duration {
	if e.audioPausedUntil.IsZero() {
		return 0
	}
	return max(0, e.audioPausedUntil.Sub(e.clock()))
}

// SetAudioOff switches the station's sound off or on indefinitely (AUDIO
// OFF). Admins only; always-audible alarms still sound.
func (e *Engine) SetAudioOff(off bool, by Actor) error {
	if err := by.Check(ActAudioOff); err != nil {
		return err
	}
	e.audioOff = off
	ev := "audio-on"
	if off {
		ev = "audio-off"
	}
	e.record(Record{Event: ev, Who: by.Who, Where: by.Where})
	return nil
}

// AudioOff reports whether AUDIO OFF is set.
func (e *Engine) AudioOff() bool { return e.audioOff }

// PauseBed stops a bed's physiological alarms for d (at most the policy's
// limit): ALARM PAUSED. Its raised physiological alarms are resolved.
// Charge nurses and admins may do it.
func (e *Engine) PauseBed(bed string, d time.Duration, by Actor) error {
	if err := by.Check(ActBedPause); err != nil {
		return err
	}
	d = min(d, e.policy.MaxBedAlarmPause)
	e.bedPausedUntil[bed] = e.clock().Add(d)
	e.record(Record{Event: "alarm-paused", Bed: bed, Who: by.Who, Where: by.Where, Detail: fmt.Sprintf("for %s", d)})
	e.silenceBed(bed, "alarm paused", by.Who)
	return nil
}

// SetBedAlarmOff switches a bed's physiological alarms off or on
// indefinitely (ALARM OFF). Admins only.
func (e *Engine) SetBedAlarmOff(bed string, off bool, by Actor) error {
	if err := by.Check(ActAlarmOff); err != nil {
		return err
	}
	if off {
		e.bedOff[bed] = true
		e.record(Record{Event: "alarm-off", Bed: bed, Who: by.Who, Where: by.Where})
		e.silenceBed(bed, "alarm off", by.Who)
		return nil
	}
	delete(e.bedOff, bed)
	e.record(Record{Event: "alarm-on", Bed: bed, Who: by.Who, Where: by.Where})
	return nil
}

func (e *Engine) silenceBed(bed, why, by string) {
	now := e.clock()
	for key, p := range e.pending {
		if p.cond.Bed == bed && e.suppressed(p.cond, now) {
			delete(e.pending, key)
		}
	}
	for _, a := range e.alarms {
		if a.Bed == bed && e.suppressed(a.Condition, now) {
			e.resolve(a, why, by)
		}
	}
}

// BedPausedFor is the time left of a bed's ALARM PAUSED (0 when none).
func (e *Engine) BedPausedFor(bed string) time.Duration {
	return max(0, e.bedPausedUntil[bed].Sub(e.clock()))
}

// SetStandby puts a bed on standby (its patient is off the ward) or back:
// a bed on standby raises no alarms at all, physiological or technical.
// Standby is set by the bed administration, which checks and journals it.
func (e *Engine) SetStandby(bed string, on bool) {
	if on == e.standby[bed] {
		return
	}
	if !on {
		delete(e.standby, bed)
		e.record(Record{Event: "standby-ended", Bed: bed})
		return
	}
	e.standby[bed] = true
	e.record(Record{Event: "standby", Bed: bed})
	e.silenceBed(bed, "bed on standby", "")
}

// Standby reports whether a bed is on standby.
func (e *Engine) Standby(bed string) bool { return e.standby[bed] }

// BedAlarmOff reports whether ALARM OFF is set for bed.
func (e *Engine) BedAlarmOff(bed string) bool { return e.bedOff[bed] }

// loudest is the priority of the highest unacknowledged alarm that is not
// individually paused, station pause aside; loud when it is escalated to
// every station.
func (e *Engine) loudestAlarm(now time.Time, audibleOnly bool) (Priority, bool) {
	p, loud := None, false
	for _, a := range e.alarms {
		if a.Acked || now.Before(a.AudioPaused) || (audibleOnly && !a.Audible) {
			continue
		}
		if a.Priority > p {
			p, loud = a.Priority, false
		}
		if a.Priority == p && a.Escalation >= 2 {
			loud = true
		}
	}
	return p, loud
}

func (e *Engine) loudest(now time.Time) Priority {
	p, _ := e.loudestAlarm(now, false)
	return p
}

// Sounding is the priority the station's speaker plays now, and whether in
// the louder pattern of an alarm escalated to every station: the highest
// unacknowledged alarm, unless audio is paused (a higher priority than was
// sounding at the pause breaks through) or off (only always-audible alarms
// sound). Only one alarm sounds at a station.
func (e *Engine) Sounding() (Priority, bool) {
	now := e.clock()
	if e.audioOff {
		return e.loudestAlarm(now, true)
	}
	p, loud := e.loudestAlarm(now, false)
	if e.AudioPausedFor() > 0 && p <= e.pausedPriority {
		if a, l := e.loudestAlarm(now, true); a > None {
			return a, l // loss of communication sounds through a pause
		}
		return None, false
	}
	return p, loud
}

// Alarms lists the alarms to show, what needs attention first: highest
// priority first; within a priority unacknowledged before acknowledged,
// then active before ended (latched, waiting for acknowledgement), then the
// newest onset first, so that a new alarm is never hidden behind an old one
// of the same rank; then by id, for a stable order.
func (e *Engine) Alarms() []Alarm {
	out := make([]Alarm, 0, len(e.alarms))
	for _, a := range e.alarms {
		c := *a
		c.RejectedBy = slices.Clone(a.RejectedBy)
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y Alarm) int {
		return compareAttention(&x, &y)
	})
	return out
}

// compareAttention orders alarms as Alarms lists them.
func compareAttention(x, y *Alarm) int {
	if c := cmp.Compare(y.Priority, x.Priority); c != 0 {
		return c
	}
	if x.Acked != y.Acked {
		if !x.Acked {
			return -1
		}
		return 1
	}
	if x.Ended != y.Ended {
		if !x.Ended {
			return -1
		}
		return 1
	}
	if c := y.Onset.Compare(x.Onset); c != 0 {
		return c
	}
	return cmp.Compare(x.ID, y.ID)
}

// Active is the number of alarms shown.
func (e *Engine) Active() int { return len(e.alarms) }

// Records returns the trail so far.
func (e *Engine) Records() []Record { return slices.Clone(e.records) }

// TakeRecords returns the trail since the last call and forgets it.
func (e *Engine) TakeRecords() []Record {
	r := e.records
	e.records = nil
	return r
}

// TakeChanges returns the alarms changed here since the last call (resolved
// ones with Resolved set), for publishing to the other stations, oldest
// change first.
func (e *Engine) TakeChanges() []Alarm {
	if len(e.changed) == 0 {
		return nil
	}
	out := make([]Alarm, 0, len(e.changed))
	for _, a := range e.changed {
		out = append(out, a)
	}
	clear(e.changed)
	slices.SortFunc(out, func(x, y Alarm) int {
		if c := x.Updated.Compare(y.Updated); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out
}

// Resync hands every alarm shown (but this station's own local ones) to
// the publishers again, unchanged: after a reconnect.
func (e *Engine) Resync() {
	for _, a := range e.alarms {
		if !a.Local {
			e.changed[a.ID] = *a
		}
	}
}

// MaxRemoteBackdate is how much earlier than this station's own onset
// another station's onset of the same alarm may be: two stations that see
// the same message raise it within a moment of each other. More would let
// a remote state hurry the escalation or rewrite when an alarm began.
const MaxRemoteBackdate = 10 * time.Second

// Merge applies another station's view of an alarm (or this station's own,
// recovered from the broker after a restart). Everything moves forward only:
// acknowledged, escalation and acceptance are never undone by an older
// message, and a resolved alarm is final. It reports whether anything changed.
//
// The message comes from a station the ward trusts (its signature was
// checked before), but this station applies its own rules to it: an
// operator action must name a user in a role that may do it here, a
// latched alarm is not ended by another station unless it was acknowledged,
// nothing is raised for a bed on standby or ALARM OFF here, an onset is
// never moved back by more than MaxRemoteBackdate nor into the future.
// What it refuses it says in a "refused" trail line, at most one a minute
// per station, and counts (RemoteRefused).
func (e *Engine) Merge(r Alarm) bool {
	if _, dead := e.gone[r.ID]; dead {
		return false
	}
	now := e.clock()
	if r.Onset.After(now.Add(MaxRemoteBackdate)) {
		e.refuseRemote(r, "onset in the future")
		return false
	}
	if r.Acked && (r.AckedBy == "" || !Allowed(r.AckedRole, ActAcknowledge)) {
		e.refuseRemote(r, "acknowledgement without a user in a role that may acknowledge")
		r.Acked, r.AckedBy, r.AckedAt = false, "", ""
	}
	a := e.byID(r.ID)
	if r.AcceptedBy != "" && !Allowed(r.AcceptedRole, ActRespond) && (a == nil || a.Escalation < 2) && r.Escalation < 2 {
		e.refuseRemote(r, "responsibility accepted in role "+r.AcceptedRole.String()+", which may not")
		r.AcceptedBy = ""
	}
	if a == nil {
		if r.Resolved {
			e.gone[r.ID] = now
			return false
		}
		if e.suppressed(r.Condition, now) {
			return false // standby or ALARM OFF here: the other station's alarm is not annunciated either
		}
		if cur, ok := e.alarms[r.Key]; ok {
			if cur.ID <= r.ID {
				return false // two stations raised it at once: the smaller id wins everywhere
			}
			e.changed[cur.ID] = Alarm{ID: cur.ID, Condition: cur.Condition, Resolved: true, Updated: now, Station: e.station}
			cur.ID = r.ID
			a = cur
		} else {
			delete(e.pending, r.Key)
			c := r
			c.Remote, c.Resolved = true, false
			c.Latching = c.Latching || e.policy.Latches(c.Code)
			c.RejectedBy = slices.Clone(r.RejectedBy)
			e.alarms[r.Key] = &c
			e.record(Record{Event: "raised", AlarmID: c.ID, Bed: c.Bed, Where: r.Station, Detail: c.Text() + " (from station " + r.Station + ")"})
			return true
		}
	}
	if r.Resolved {
		if a.Latching && !a.Acked && !r.Acked {
			// Another station's rules let it go; this station's keep it
			// until someone acknowledges it.
			if !a.Ended {
				a.Ended = true
				e.record(Record{Event: "ended", AlarmID: a.ID, Bed: a.Bed, Where: r.Station,
					Detail: "resolved at station " + r.Station + " unacknowledged; latched here until acknowledged"})
				return true
			}
			return false
		}
		delete(e.alarms, a.Key)
		e.gone[a.ID] = now
		e.record(Record{Event: "resolved", AlarmID: a.ID, Bed: a.Bed, Who: r.By, Where: r.Station, Detail: "at station " + r.Station})
		return true
	}
	changed := false
	if r.Acked && !a.Acked {
		a.Acked, a.AckedBy, a.AckedRole, a.AckedAt, changed = true, r.AckedBy, r.AckedRole, r.AckedAt, true
		e.record(Record{Event: "acknowledged", AlarmID: a.ID, Bed: a.Bed, Who: r.AckedBy, Role: r.AckedRole.String(), Where: r.AckedAt})
		if a.Ended {
			e.resolve(a, "acknowledged at station "+r.AckedAt+" after its condition ended", r.AckedBy)
			delete(e.changed, a.ID) // the other station published that already
			return true
		}
	}
	if r.Escalation > a.Escalation {
		a.Escalation, a.EscalatedAt, changed = r.Escalation, r.EscalatedAt, true
		e.record(Record{Event: "escalated", AlarmID: a.ID, Bed: a.Bed, Where: r.Station, Detail: fmt.Sprintf("to level %d at station %s", r.Escalation, r.Station)})
	}
	if r.AcceptedBy != "" && a.AcceptedBy == "" {
		a.AcceptedBy, a.AcceptedRole, changed = r.AcceptedBy, r.AcceptedRole, true
		e.record(Record{Event: "accepted", AlarmID: a.ID, Bed: a.Bed, Who: r.AcceptedBy, Role: r.AcceptedRole.String(), Where: r.Station})
	}
	for _, who := range r.RejectedBy {
		if !slices.Contains(a.RejectedBy, who) && len(a.RejectedBy) < 32 {
			a.RejectedBy, changed = append(a.RejectedBy, who), true
			e.record(Record{Event: "rejected", AlarmID: a.ID, Bed: a.Bed, Who: who, Where: r.Station})
		}
	}
	if r.Priority > a.Priority {
		a.Priority, changed = r.Priority, true
	}
	if !r.Onset.IsZero() && r.Onset.Before(a.Onset) {
		// Escalation timers run from the first station's onset, within reason.
		if a.Onset.Sub(r.Onset) > MaxRemoteBackdate {
			e.refuseRemote(r, fmt.Sprintf("onset moved back by %s", a.Onset.Sub(r.Onset).Round(time.Second)))
		} else {
			a.Onset = r.Onset
		}
	}
	if changed {
		a.Updated, a.Station, a.By = r.Updated, r.Station, r.By
	}
	return changed
}

// refuseRemote counts a refused part of another station's state and says
// so in the trail, once a minute per station at most.
func (e *Engine) refuseRemote(r Alarm, why string) {
	e.remoteRefused++
	now := e.clock()
	if e.refusedLogged == nil {
		e.refusedLogged = map[string]time.Time{}
	}
	if last, ok := e.refusedLogged[r.Station]; ok && now.Sub(last) < time.Minute {
		return
	}
	if len(e.refusedLogged) > 256 {
		clear(e.refusedLogged)
	}
	e.refusedLogged[r.Station] = now
	e.record(Record{Event: "refused", AlarmID: r.ID, Bed: r.Bed, Where: r.Station,
		Detail: fmt.Sprintf("state from station %s: %s (%d refused so far)", r.Station, why, e.remoteRefused)})
}

// RemoteRefused counts the parts of other stations' states this station's
// rules refused.
func (e *Engine) RemoteRefused() uint64 { return e.remoteRefused }

func (e *Engine) byID(id string) *Alarm {
	for _, a := range e.alarms {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// Has reports whether an alarm with id is shown.
func (e *Engine) Has(id string) bool { return e.byID(id) != nil }
