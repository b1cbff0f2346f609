package alarms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
)

// Condition codes of the alarms Vigil raises itself (besides the limit
// codes "<param>-low", "<param>-high", "spo2-desat" and the parameter
// groups' CodeNIBPLimit and CodeABPLimit, limits.go).
const (
	CodeAsystole   = "asystole"
	CodeVFib       = "vfib"
	CodeVTach      = "vtach"
	CodeNurseCall  = "nurse-call"
	CodeOffline    = "offline"
	CodeNoData     = "no-data"
	CodeLeadsOff   = "leads-off"
	CodeProbeOff   = "probe-off"
	CodeBrokerLost = "broker-lost"
	CodeJournal    = "journal"
	// CodeJournalCheckpoint: the journal does not hold what a checkpoint
	// of it another holder kept (the broker's retained copy) says it held:
	// history cut or rewritten.
	CodeJournalCheckpoint = "journal-checkpoint"
	CodeRecordings        = "recordings"
	CodeWatchdog          = "ui-watchdog"
	CodeAudio             = "audio"
	CodeHL7Out            = "hl7-out" // the paging or nurse-call system does not take the alarms sent to it
	// CodeForged: messages on the ward's station topics are being refused
	// (unsigned, forged, replayed, from an unknown or revoked station).
	CodeForged = "station-forged"
	// CodeUntrusted: this station is not on the ward's trust list, so the
	// other stations refuse what it shares.
	CodeUntrusted = "station-untrusted"
	// CodeSource: a bed's feed shows another source than its bound device
	// (monitor.SourceAlarmID); CodeDeviceClock: its device's clock is off
	// (monitor.ClockAlarmID).
	CodeSource      = "feed-source"
	CodeDeviceClock = "device-clock"
	// CodePatient: a bed's device reports another patient than the one
	// admitted (monitor.PatientAlarmID): the station's own check, so a
	// Technical alarm, not the device's.
	CodePatient = "patient-mismatch"
	// CodeInsecure: the admin allowed a plaintext link to a broker on
	// another host (--insecure-plaintext).
	CodeInsecure = "insecure-link"
)

// Publisher hands alarm states to the other stations. It must not block.
type Publisher interface{ PublishAlarm(Alarm) }

// Annunciator plays what should sound now. It must not block.
type Annunciator interface{ Set(p Priority, loud bool) }

// Notice is a desktop notification of a new or escalated alarm.
type Notice struct {
	Bed       string
	Priority  Priority
	Text      string // with the priority prefix
	Escalated bool
	At        time.Time
}

// Notifier shows notices on the desktop. It must not block.
type Notifier interface{ Notify(Notice) }

// Recorder keeps the alarm trail (the journal). Record must not block; the
// channel it returns (nil when the recorder does not say) receives nil once
// the record is durable, or the error that kept it from being written.
type Recorder interface {
	Record(Record) <-chan error
}

// ErrNotRecorded means a command took effect but the journal has not
// confirmed it in time (a slow or full disk): the window must not show it as
// done. The journal keeps trying and a technical alarm is up.
var ErrNotRecorded = errors.New("done, but not yet recorded in the journal")

// RecordWait is how long a command waits for the journal before it reports
// ErrNotRecorded.
const RecordWait = 3 * time.Second

// Config configures a Service.
type Config struct {
	Station  string // this station's id
	Operator Actor  // who is logged in at start (Who "" = the station is locked); SetOperator changes it
	// Assigned reports whether a bed is in a nurse's care assignment (her
	// beds, whose limits she may adjust); nil = no assignments.
	Assigned  func(bed, who string) bool
	Policy    Policy
	Profile   string // default limit profile of every bed
	Hub       *monitor.Hub
	Link      func() bool // connected to the broker; nil = always
	Clock     func() time.Time
	Log       *slog.Logger
	Publisher Publisher
	Sound     Annunciator
	Notifier  Notifier
	Recorder  Recorder
	Display   bool          // a window shows the alarms: latency runs until it calls Shown
	Tick      time.Duration // housekeeping period; 250 ms when 0
	Watchdog  time.Duration // UI heartbeat timeout; 5 s when 0
	LinkGrace time.Duration // how long the first connection may take before broker lost; 5 s when 0
	// BedKnown reports whether a bed is configured at this station; another
	// station's alarm for a bed that is not is refused. nil = every bed.
	BedKnown func(bed string) bool
}

// BedView is what a tile needs to know of its bed's alarms.
type BedView struct {
	Priority  Priority // highest alarm shown, None when none
	Unacked   bool     // the highest is unacknowledged: flash
	Text      string   // the highest alarm's text
	Count     int
	PausedFor time.Duration // ALARM PAUSED time left
	AlarmOff  bool
	Standby   bool // monitoring paused by the bed administration: no alarms
}

// View is a snapshot of the station's alarm state for the screen.
type View struct {
	Seq         uint64 // changes whenever anything shown changes
	At          time.Time
	Station     string
	Operator    Actor
	Alarms      []Alarm // what needs attention first (Engine.Alarms): priority, unacknowledged, active, newest, id
	Sounding    Priority
	Loud        bool
	AudioPaused time.Duration // station AUDIO PAUSED time left
	AudioOff    bool
	Beds        map[string]BedView
	// Banner: escalated alarms for the operator to Accept or Reject, in
	// the order of Alarms: unanswered, unacknowledged and not ended, at the
	// charge nurse (level 1, for charge nurses and admins) or at every
	// station (level 2, for anyone), not rejected by the operator. A locked
	// station shows what a charge nurse would see.
	Banner     []Alarm
	Advisories []Advisory // derived, labelled advisory, apart from the alarms
}

// Stats are the service's counters.
type Stats struct {
	Active       int
	Raised       uint64
	Latency      monitor.LatencySnapshot
	InputDropped uint64
	// RemoteRefused counts other stations' states, or parts of them, this
	// station's rules refused (a bed not configured here, an action in a
	// role that may not, a latched alarm ended unacknowledged ...).
	RemoteRefused uint64
}

type inputKind int8

const (
	inNum inputKind = iota
	inStatus
	inDevAlarm
	inEvent
	inRemote
	inCmd
	inFault
)

type input struct {
	kind   inputKind
	bed    string
	at     time.Time
	num    feed.NumFrame
	alarm  feed.Alarm
	event  feed.Event
	remote Alarm
	cmd    func(e *Engine) error
	reply  chan cmdResult
	by     Actor
	fault  faultReport
}

type faultReport struct {
	code, message string
	present       bool
}

// maxInbox bounds the queue between the feed and the engine. It is far
// above any real load (64 beds send ~130 messages a second); beyond it an
// input is dropped and counted, never blocking the feed.
const maxInbox = 1 << 16

// Service runs an Engine on its own goroutine: it evaluates the limits on
// numerics, mirrors device alarms, raises technical alarms (NO DATA,
// offline, leads/probe off, broker lost, journal, UI watchdog), executes
// the operator's commands, merges other stations' states, and fans out to
// the speaker, notifications, publishers and the trail.
type Service struct {
	cfg Config
	e   *Engine
	log *slog.Logger

	mu      sync.Mutex
	inbox   []input
	pending map[string]int // inputs waiting in inbox by source (sourceOf)
	wake    chan struct{}
	dropped atomic.Uint64

	remoteRefused atomic.Uint64

	view     atomic.Pointer[View]
	seq      uint64
	lastSig  uint64
	limitsMu sync.Mutex
	limits   map[string]BedLimits
	operator atomic.Pointer[Actor]

	advisories map[string]Advisory // by bed/kind; engine goroutine only

	heartbeat atomic.Int64 // unix ns of the UI's last frame
	started   time.Time
	linkSeen  bool

	latency   monitor.LatencyHist
	shownMu   sync.Mutex
	awaiting  map[string]time.Time // zero-delay alarm id -> receipt, until shown and published
	active    atomic.Int64
	raised    atomic.Uint64
	lastSound struct {
		p    Priority
		loud bool
		set  bool
	}
}

// NewService makes a service; Run starts it.
func NewService(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.Watchdog <= 0 {
		cfg.Watchdog = 5 * time.Second
	}
	if cfg.LinkGrace <= 0 {
		cfg.LinkGrace = 5 * time.Second
	}
	if _, ok := Profiles[cfg.Profile]; !ok {
		cfg.Profile = "adult"
	}
	if cfg.Operator.Where == "" {
		cfg.Operator.Where = cfg.Station
	}
	s := &Service{cfg: cfg, e: NewEngine(cfg.Policy, cfg.Clock, cfg.Station), log: cfg.Log.With("component", "alarms"),
		wake: make(chan struct{}, 1), limits: map[string]BedLimits{}, awaiting: map[string]time.Time{},
		advisories: map[string]Advisory{}}
	s.started = cfg.Clock()
	s.operator.Store(&cfg.Operator)
	s.snapshot()
	return s
}

// Policy is the service's policy with its defaults.
func (s *Service) Policy() Policy { return s.e.Policy() }

// maxPerSource bounds the inputs one bed (or the other stations together)
// may have waiting: a flood from one source fills its own share and is
// dropped there, and never crowds out another bed's numerics or an
// operator's command (commands and faults are not bounded by source).
const maxPerSource = 1024

// sourceOf is the share an input counts against: its bed, or the other
// stations; "" for commands and station faults.
func sourceOf(in *input) string {
	switch in.kind {
	case inRemote:
		return "\x00stations"
	case inNum, inStatus, inDevAlarm, inEvent:
		return in.bed
	}
	return ""
}

func (s *Service) push(in input) bool {
	src := sourceOf(&in)
	s.mu.Lock()
	full := len(s.inbox) >= maxInbox && src != ""
	if src != "" && !full {
		if s.pending == nil {
			s.pending = map[string]int{}
		}
		if s.pending[src] >= maxPerSource {
			full = true
		} else if len(s.pending) < maxInbox {
			s.pending[src]++
		}
	}
	if full {
		s.mu.Unlock()
		if s.dropped.Add(1) == 1 {
			s.log.Error("alarm input queue full for a source: its inputs dropped (counted as input_dropped)", "source", src)
		}
		return false
	}
	s.inbox = append(s.inbox, in)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// Numerics, Status, Alarm and Event receive the feed after the hub applied
// it (monitor.Observer). They never block.
func (s *Service) Numerics(bed string, f feed.NumFrame, at time.Time) {
	s.push(input{kind: inNum, bed: bed, num: f, at: at})
}

// Status: see Numerics.
func (s *Service) Status(bed string, _ feed.Status, at time.Time) {
	s.push(input{kind: inStatus, bed: bed, at: at})
}

// Alarm: see Numerics.
func (s *Service) Alarm(bed string, a feed.Alarm, at time.Time) {
	s.push(input{kind: inDevAlarm, bed: bed, alarm: a, at: at})
}

// Event: see Numerics.
func (s *Service) Event(bed string, ev feed.Event, at time.Time) {
	s.push(input{kind: inEvent, bed: bed, event: ev, at: at})
}

// Remote receives another station's alarm state (or this station's own,
// retained from before a restart). It never blocks.
func (s *Service) Remote(a Alarm) { s.push(input{kind: inRemote, remote: a}) }

// Resync republishes every alarm (after the link to the broker is back).
func (s *Service) Resync() {
	s.push(input{kind: inCmd, cmd: func(e *Engine) error { e.Resync(); return nil }})
}

// Fault raises (present) or clears a station fault: code CodeJournal for a
// journal or disk failure, CodeRecordings for lost trends or waveforms.
func (s *Service) Fault(code, message string, present bool) {
	s.push(input{kind: inFault, fault: faultReport{code, message, present}})
}

// Heartbeat is called by the window on every frame; when it stops for the
// watchdog time, the station raises "UI not responding".
func (s *Service) Heartbeat() { s.heartbeat.Store(s.cfg.Clock().UnixNano()) }

// Shown is called by the window once it has drawn the alarms of view seq.
func (s *Service) Shown(ids []string) {
	now := s.cfg.Clock()
	s.shownMu.Lock()
	defer s.shownMu.Unlock()
	for _, id := range ids {
		if rx, ok := s.awaiting[id]; ok {
			delete(s.awaiting, id)
			s.latency.Add(now.Sub(rx))
		}
	}
}

// View is the latest snapshot (never nil).
func (s *Service) View() *View { return s.view.Load() }

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{Active: int(s.active.Load()), Raised: s.raised.Load(), Latency: s.latency.Snapshot(),
		InputDropped: s.dropped.Load(), RemoteRefused: s.remoteRefused.Load()}
}

// SetOperator sets who is logged in at this station (Actor{} locks it).
// The next view shows the new operator.
func (s *Service) SetOperator(a Actor) {
	if a.Where == "" {
		a.Where = s.cfg.Station
	}
	s.operator.Store(&a)
	s.push(input{kind: inCmd, cmd: func(*Engine) error { return nil }}) // redraw with the new operator
}

// Operator is who is logged in (Who "" when the station is locked).
func (s *Service) Operator() Actor { return *s.operator.Load() }

type cmdResult struct {
	err     error
	durable []<-chan error
}

// do checks that the operator may do act, runs cmd on the engine goroutine
// and waits for it (at most 2 s), then for the journal to confirm the
// records the command made (at most RecordWait). A refusal is itself
// recorded: who asked for what, and why not.
func (s *Service) do(act Action, what string, cmd func(e *Engine, by Actor) error) error {
	by := s.Operator()
	if err := by.Check(act); err != nil {
		s.refused(by, what, err)
		return err
	}
	reply := make(chan cmdResult, 1)
	if !s.push(input{kind: inCmd, cmd: func(e *Engine) error { return cmd(e, by) }, reply: reply, by: by}) {
		return errors.New("the alarm system is overloaded; try again")
	}
	var res cmdResult
	select {
	case res = <-reply:
	case <-time.After(2 * time.Second):
		return errors.New("the alarm system did not answer")
	}
	if errors.Is(res.err, ErrNotAllowed) || errors.Is(res.err, ErrLoggedOut) {
		s.refused(by, what, res.err)
	}
	if res.err != nil {
		return res.err
	}
	return waitDurable(res.durable, RecordWait)
}

// waitDurable waits for every record to be confirmed by the journal.
func waitDurable(chs []<-chan error, limit time.Duration) error {
	if len(chs) == 0 {
		return nil
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	for _, ch := range chs {
		if ch == nil {
			continue
		}
		select {
		case err := <-ch:
			if err != nil {
				return fmt.Errorf("%w: %v", ErrNotRecorded, err)
			}
		case <-t.C:
			return ErrNotRecorded
		}
	}
	return nil
}

func (s *Service) refused(by Actor, what string, err error) {
	r := Refusal(by, what, err)
	r.At, r.Where = s.cfg.Clock(), cmp.Or(r.Where, s.cfg.Station)
	s.Record(r)
}

// Acknowledge acknowledges one alarm as the station's operator.
func (s *Service) Acknowledge(id string) error {
	return s.do(ActAcknowledge, "acknowledge "+id, func(e *Engine, by Actor) error { return e.Acknowledge(id, by) })
}

// AcknowledgeAll acknowledges every alarm (of bed, or all when "").
func (s *Service) AcknowledgeAll(bed string) error {
	return s.do(ActAcknowledge, "acknowledge all "+bed, func(e *Engine, by Actor) error { e.AcknowledgeAll(bed, by); return nil })
}

// PauseAudio pauses the station's sound (AUDIO PAUSED).
func (s *Service) PauseAudio() error {
	return s.do(ActAudioPause, "audio pause", func(e *Engine, by Actor) error { e.PauseAudio(by); return nil })
}

// PauseAlarmAudio pauses the sound of one alarm.
func (s *Service) PauseAlarmAudio(id string) error {
	return s.do(ActAudioPause, "audio pause "+id, func(e *Engine, by Actor) error { return e.PauseAlarmAudio(id, by) })
}

// Respond accepts or rejects responsibility for an escalated alarm. The
// engine decides who may (a charge nurse, or anyone once it reached every
// station). Accepting also acknowledges the alarm (Engine.Respond).
func (s *Service) Respond(id string, accept bool) error {
	return s.do(ActView, fmt.Sprintf("respond %s accept=%t", id, accept), func(e *Engine, by Actor) error {
		return e.Respond(id, accept, by)
	})
}

// PauseBed sets ALARM PAUSED on a bed for d.
func (s *Service) PauseBed(bed string, d time.Duration) error {
	return s.do(ActBedPause, "alarm pause "+bed, func(e *Engine, by Actor) error { return e.PauseBed(bed, d, by) })
}

// SetAudioOff sets or clears AUDIO OFF (admin).
func (s *Service) SetAudioOff(off bool) error {
	return s.do(ActAudioOff, fmt.Sprintf("audio off=%t", off), func(e *Engine, by Actor) error { return e.SetAudioOff(off, by) })
}

// SetBedAlarmOff sets or clears ALARM OFF on a bed (admin).
func (s *Service) SetBedAlarmOff(bed string, off bool) error {
	return s.do(ActAlarmOff, fmt.Sprintf("alarm off=%t %s", off, bed), func(e *Engine, by Actor) error {
		return e.SetBedAlarmOff(bed, off, by)
	})
}

// Limits returns a bed's limits.
func (s *Service) Limits(bed string) BedLimits {
	s.limitsMu.Lock()
	defer s.limitsMu.Unlock()
	if l, ok := s.limits[bed]; ok {
		return l
	}
	return BedLimits{Profile: s.cfg.Profile}
}

// MayAdjustLimits reports whether by may adjust the limits of bed: a charge
// nurse or admin any bed, a nurse the beds in her care assignment.
func (s *Service) MayAdjustLimits(by Actor, bed string) error {
	return CheckLimits(by, bed, s.cfg.Assigned != nil && s.cfg.Assigned(bed, by.Who))
}

// SetLimit sets one limit of a bed, within its profile's bounds, as the
// operator (MayAdjustLimits), and records it.
func (s *Service) SetLimit(bed, param string, lo, hi float64) error {
	by := s.Operator()
	what := fmt.Sprintf("limit %s %s %g..%g", bed, param, lo, hi)
	if err := s.MayAdjustLimits(by, bed); err != nil {
		s.refused(by, what, err)
		return err
	}
	s.limitsMu.Lock()
	cur, ok := s.limits[bed]
	if !ok {
		cur = BedLimits{Profile: s.cfg.Profile}
	}
	next, err := cur.WithLimit(param, lo, hi)
	if err == nil {
		s.limits[bed] = next
	}
	s.limitsMu.Unlock()
	if err != nil {
		return err
	}
	return waitDurable([]<-chan error{s.Record(Record{At: s.cfg.Clock(), Event: "limit-changed", Bed: bed, Who: by.Who,
		Role: by.Role.String(), Where: by.Where, Detail: what})}, RecordWait)
}

// SetStandby puts a bed on standby or back (see Engine.SetStandby).
func (s *Service) SetStandby(bed string, on bool) {
	s.push(input{kind: inCmd, cmd: func(e *Engine) error { e.SetStandby(bed, on); return nil }})
}

// SetBedLimits replaces a bed's limits (profile and overrides) as they
// were configured and recorded elsewhere (the bed administration, the
// journal at start). It does not check or record.
func (s *Service) SetBedLimits(bed string, l BedLimits) {
	if _, ok := Profiles[l.Profile]; !ok {
		l.Profile = s.cfg.Profile
	}
	s.limitsMu.Lock()
	s.limits[bed] = l
	s.limitsMu.Unlock()
}

// Record hands one trail line to the recorder and the log; the channel
// says when it is durable (nil without a recorder).
func (s *Service) Record(r Record) <-chan error {
	s.log.Info("alarm "+r.Event, "alarm", r.AlarmID, "bed", r.Bed, "who", r.Who, "where", r.Where, "detail", r.Detail)
	if s.cfg.Recorder != nil {
		return s.cfg.Recorder.Record(r)
	}
	return nil
}

// Run is the engine goroutine; it returns when ctx is done.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			s.drain()
		case <-t.C:
			s.drain()
			s.housekeeping()
		}
		s.fanOut()
	}
}

// Step processes what is queued and does one round of housekeeping (tests
// that drive the service without its goroutine).
func (s *Service) Step() {
	s.drain()
	s.housekeeping()
	s.fanOut()
}

func (s *Service) drain() {
	for {
		s.mu.Lock()
		batch := s.inbox
		s.inbox = nil
		clear(s.pending)
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for i := range batch {
			s.apply(&batch[i])
			batch[i] = input{}
		}
	}
}

func (s *Service) apply(in *input) {
	switch in.kind {
	case inNum:
		since := time.UnixMilli(in.num.TsMs)
		if in.num.TsMs == 0 {
			since = time.Time{}
		}
		Evaluate(s.e, in.bed, s.Limits(in.bed), in.num.Values, since, in.at)
	case inStatus:
		s.technical(in.bed)
	case inDevAlarm:
		s.deviceAlarm(in.bed, in.alarm, in.at)
	case inEvent:
		s.deviceEvent(in.bed, in.event, in.at)
	case inRemote:
		if s.cfg.BedKnown != nil && !s.cfg.BedKnown(in.remote.Bed) {
			s.e.refuseRemote(in.remote, "bed "+in.remote.Bed+" is not configured at this station")
		} else {
			s.e.Merge(in.remote)
		}
		s.remoteRefused.Store(s.e.RemoteRefused())
	case inCmd:
		err := in.cmd(s.e)
		if in.reply != nil {
			// The command's records (and any made before it in this
			// batch) go to the journal now, so the caller can wait for them.
			in.reply <- cmdResult{err: err, durable: s.emit(s.e.TakeRecords(), in.by)}
		}
	case inFault:
		key := "/" + in.fault.code
		if in.fault.present {
			// Lost trends or waveforms are for IT to fix, not a risk to a
			// patient now: LOW. The journal, sound and display: MEDIUM.
			prio := Medium
			if in.fault.code == CodeRecordings || in.fault.code == CodeInsecure {
				prio = Low
			}
			s.e.Report(Condition{Key: key, Code: in.fault.code, Priority: prio, Source: Technical,
				Message: in.fault.message, Local: true, Audible: true, Value: math.NaN(), Limit: math.NaN()})
		} else {
			s.e.Clear(key)
		}
	}
}

// lethal recognises a lethal arrhythmia in a device alarm's text; those
// always latch.
func lethal(text string) string {
	t := strings.ToUpper(strings.NewReplacer("-", "", " ", "", "_", "").Replace(text))
	switch {
	case strings.Contains(t, "ASYSTOLE"):
		return CodeAsystole
	case strings.Contains(t, "VFIB"), strings.Contains(t, "VENTFIB"), strings.Contains(t, "VFLUT"), t == "VF":
		return CodeVFib
	case strings.Contains(t, "VTACH"), strings.Contains(t, "VENTTACH"), t == "VT":
		return CodeVTach
	}
	return ""
}

func devPriority(p feed.AlarmPriority) Priority {
	switch p {
	case feed.AlarmHigh:
		return High
	case feed.AlarmMedium:
		return Medium
	case feed.AlarmLow:
		return Low
	}
	return None
}

func (s *Service) deviceAlarm(bed string, a feed.Alarm, at time.Time) {
	key := bed + "/dev/" + a.ID
	if a.Phase == feed.PhaseEnd || a.State == feed.StateInactive {
		s.e.Clear(key)
		return
	}
	p := devPriority(a.Priority)
	if p == None {
		return // an information signal: shown by the tile from the hub, never an alarm
	}
	src, code := Device, lethal(a.Text)
	if a.Source == feed.SourceTechnical {
		src = DeviceTechnical
	}
	own := strings.HasPrefix(a.ID, monitor.AnalysisAlarmPrefix) && a.Source != feed.SourceTechnical
	if own {
		src = Physiological // Vigil's own ECG analysis decided it, not the device
	}
	switch a.ID {
	case monitor.SourceAlarmID:
		code = CodeSource
	case monitor.PatientAlarmID:
		code, src = CodePatient, Technical // the station's check, not the device's
	case monitor.ClockAlarmID:
		code = CodeDeviceClock
	}
	if code == "" && strings.HasPrefix(a.ID, monitor.AnalysisAlarmPrefix) {
		code = strings.TrimPrefix(a.ID, "vigil-")
	} else if code == "" {
		code = "dev-" + a.ID
	}
	c := Condition{Key: key, Bed: bed, Code: code, Priority: p, Source: src, Message: a.Text,
		Value: math.NaN(), Limit: math.NaN(), Since: time.UnixMilli(a.TsMs), Latching: a.State == feed.StateLatched || own && p == High}
	if a.Value != nil {
		c.Value = *a.Value
	}
	if a.Limit != nil {
		c.Limit = *a.Limit
	}
	if a.Phase == feed.PhaseDeEscalate { // the device lowered it: mirror, never second-guess
		if cur := s.e.alarms[key]; cur != nil && p < cur.Priority {
			s.e.Clear(key)
		}
	}
	s.e.ReportAt(c, at)
}

func (s *Service) deviceEvent(bed string, ev feed.Event, at time.Time) {
	key := bed + "/" + CodeNurseCall
	switch ev.Kind {
	case feed.EventNurseCall:
		msg := "Nurse call"
		if ev.Text != "" {
			msg += ": " + ev.Text
		}
		s.e.ReportAt(Condition{Key: key, Bed: bed, Code: CodeNurseCall, Priority: Medium, Source: Technical,
			Message: msg, Value: math.NaN(), Limit: math.NaN(), Since: time.UnixMilli(ev.TsMs)}, at)
	case feed.EventNurseCallCancel, feed.EventStaffPresent:
		s.e.Clear(key)
	}
}

func techCond(bed, code, msg string) Condition {
	return Condition{Key: bed + "/" + code, Bed: bed, Code: code, Priority: Medium, Source: Technical,
		Message: msg, Value: math.NaN(), Limit: math.NaN()}
}

// technical evaluates a bed's device state: offline, NO DATA, leads off,
// probe off. Offline (its Last Will) says more than NO DATA and replaces it.
func (s *Service) technical(bed string) {
	if s.cfg.Hub == nil {
		return
	}
	b := s.cfg.Hub.Bed(bed)
	if b == nil {
		return
	}
	st := b.State(s.cfg.Clock())
	if !st.Seen {
		return
	}
	set := func(code string, on bool, msg string) {
		if on {
			s.e.Report(techCond(bed, code, msg))
		} else {
			s.e.Clear(bed + "/" + code)
		}
	}
	set(CodeOffline, st.Offline, "Device offline")
	// NO DATA when a stream the device was sending stops (a device that
	// never sends waveforms is not missing them).
	set(CodeNoData, !st.Offline && ((st.WaveSeen && st.WaveStale) || (st.NumSeen && st.NumStale)), "NO DATA")
	live := !st.Offline && !st.WaveStale
	set(CodeLeadsOff, live && st.LeadsOff, "ECG leads off")
	set(CodeProbeOff, live && st.ProbeOff, "SpO2 probe off")
}

func (s *Service) housekeeping() {
	now := s.cfg.Clock()
	if s.cfg.Hub != nil {
		for _, b := range s.cfg.Hub.Beds() {
			s.technical(b.Name)
		}
	}
	if s.cfg.Link != nil {
		up := s.cfg.Link()
		s.linkSeen = s.linkSeen || up
		lost := !up && (s.linkSeen || now.Sub(s.started) >= s.cfg.LinkGrace)
		if lost {
			s.e.Report(Condition{Key: "/" + CodeBrokerLost, Code: CodeBrokerLost, Priority: High, Source: Technical,
				Message: "Station lost the broker: no bed is monitored here", Local: true, Audible: true,
				Value: math.NaN(), Limit: math.NaN()})
		} else {
			s.e.Clear("/" + CodeBrokerLost)
		}
	}
	if hb := s.heartbeat.Load(); hb != 0 {
		if now.Sub(time.Unix(0, hb)) > s.cfg.Watchdog {
			s.e.Report(Condition{Key: "/" + CodeWatchdog, Code: CodeWatchdog, Priority: High, Source: Technical,
				Message: "Station display not responding", Local: true, Audible: true, Value: math.NaN(), Limit: math.NaN()})
		} else {
			s.e.Clear("/" + CodeWatchdog)
		}
	}
	s.e.Tick()
}

// emit records the engine's trail lines (with the role of the operator who
// made them) and notifies new and escalated alarms; it returns the
// journal's confirmations.
func (s *Service) emit(recs []Record, by Actor) []<-chan error {
	var durable []<-chan error
	now := s.cfg.Clock()
	for _, r := range recs {
		if r.Who != "" && r.Who == by.Who && r.Role == "" {
			r.Role = by.Role.String()
		}
		if ch := s.Record(r); ch != nil {
			durable = append(durable, ch)
		}
		if s.cfg.Notifier == nil || r.AlarmID == "" || (r.Event != "raised" && r.Event != "escalated") {
			continue
		}
		if a := s.e.byID(r.AlarmID); a != nil && a.Priority >= Medium {
			s.cfg.Notifier.Notify(Notice{Bed: a.Bed, Priority: a.Priority, Text: a.Text(), Escalated: r.Event == "escalated", At: now})
		}
	}
	return durable
}

func (s *Service) fanOut() {
	now := s.cfg.Clock()
	changes := s.e.TakeChanges()
	s.emit(s.e.TakeRecords(), Actor{})
	p, loud := s.e.Sounding()
	if s.cfg.Sound != nil && (!s.lastSound.set || p != s.lastSound.p || loud != s.lastSound.loud) {
		s.cfg.Sound.Set(p, loud)
		s.lastSound.p, s.lastSound.loud, s.lastSound.set = p, loud, true
	}
	for _, a := range changes {
		if a.Delay == 0 && !a.ReceivedAt.IsZero() && a.Station == s.cfg.Station && a.Onset.Equal(a.Updated) {
			s.shownMu.Lock()
			if _, seen := s.awaiting[a.ID]; !seen {
				s.awaiting[a.ID] = a.ReceivedAt
			}
			s.shownMu.Unlock()
		}
	}
	s.snapshot()
	// This station's screen and sound first, then the other stations (each
	// state is signed on the way, which takes a little while in a storm).
	if s.cfg.Publisher != nil {
		for _, a := range changes {
			s.cfg.Publisher.PublishAlarm(a)
		}
	}
	if !s.cfg.Display {
		var ids []string
		for _, a := range changes {
			ids = append(ids, a.ID)
		}
		s.Shown(ids)
	}
	s.pruneAwaiting(now)
}

// pruneAwaiting forgets alarms that were never shown (resolved first).
func (s *Service) pruneAwaiting(now time.Time) {
	s.shownMu.Lock()
	defer s.shownMu.Unlock()
	for id, rx := range s.awaiting {
		if now.Sub(rx) > time.Minute {
			delete(s.awaiting, id)
		}
	}
}

func (s *Service) snapshot() {
	now := s.cfg.Clock()
	alarms := s.e.Alarms()
	p, loud := s.e.Sounding()
	v := &View{At: now, Station: s.cfg.Station, Operator: s.Operator(), Alarms: alarms, Sounding: p, Loud: loud,
		AudioPaused: s.e.AudioPausedFor(), AudioOff: s.e.AudioOff(), Beds: map[string]BedView{},
		Advisories: s.advisoryList()}
	op := v.Operator
	for _, a := range alarms {
		if a.Bed == "" {
			continue
		}
		b := v.Beds[a.Bed]
		b.Count++
		if a.Priority > b.Priority || (a.Priority == b.Priority && !a.Acked && !b.Unacked) {
			b.Priority, b.Unacked, b.Text = a.Priority, !a.Acked, a.Text()
		}
		v.Beds[a.Bed] = b
		// A locked station shows the banners a charge nurse would see: they
		// must not vanish when nobody is logged in (Accept asks for a login).
		if a.Escalation > 0 && a.AcceptedBy == "" && !a.Acked && !a.Ended && !slices.Contains(a.RejectedBy, op.Who) &&
			(op.Who == "" || Allowed(op.Role, ActRespond) || a.Escalation >= 2) {
			v.Banner = append(v.Banner, a)
		}
	}
	for bed := range s.e.bedPausedUntil {
		b := v.Beds[bed]
		b.PausedFor = s.e.BedPausedFor(bed)
		v.Beds[bed] = b
	}
	for bed := range s.e.bedOff {
		b := v.Beds[bed]
		b.AlarmOff = true
		v.Beds[bed] = b
	}
	for bed := range s.e.standby {
		b := v.Beds[bed]
		b.Standby = true
		v.Beds[bed] = b
	}
	s.active.Store(int64(len(alarms)))
	s.raised.Store(s.e.Raised())
	sig := v.signature()
	if prev := s.view.Load(); prev != nil && sig == s.lastSig {
		return // nothing shown has changed
	}
	s.lastSig = sig
	s.seq++
	v.Seq = s.seq
	s.view.Store(v)
}

// signature hashes what the screen shows of a view (countdowns to the
// second), so that the window redraws the alarm bar only when it changes.
func (v *View) signature() uint64 {
	h := fnv.New64a()
	w := func(parts ...any) { fmt.Fprintln(h, parts...) }
	w(v.Sounding, v.Loud, v.AudioPaused.Round(time.Second), v.AudioOff, len(v.Alarms), len(v.Banner), v.Operator)
	for _, a := range v.Alarms {
		w(a.ID, a.Priority, a.Message, a.Acked, a.Ended, a.Escalation, a.AcceptedBy, len(a.RejectedBy),
			!v.At.Before(a.AudioPaused), a.AudioPaused.Sub(v.At).Round(time.Second))
	}
	for _, a := range v.Advisories {
		w(a.Bed, a.Kind, a.Text)
	}
	for _, bed := range slices.Sorted(maps.Keys(v.Beds)) {
		if b := v.Beds[bed]; b.PausedFor > 0 || b.AlarmOff || b.Standby {
			w(bed, b.PausedFor.Round(time.Second), b.AlarmOff, b.Standby)
		}
	}
	return h.Sum64()
}
