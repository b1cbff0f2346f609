package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Scenario is a named clinical or technical situation the simulator can play
// on demand, for demonstrations and for testing a station's alarms.
type Scenario struct {
	Name        string // as given in Config.Scenario
	Description string // what the simulated device sends
	Expect      string // which alarms a station should raise
}

// Scenario timing defaults (Config.ScenarioLeadIn, ScenarioHold, ScenarioRecovery).
const (
	DefaultScenarioLeadIn   = 10 * time.Second
	DefaultScenarioHold     = 60 * time.Second
	DefaultScenarioRecovery = 30 * time.Second
)

// Values the scenarios produce.
const (
	scenarioSpO2   = 82     // % SpO2 while desaturated (desat, storm), ±1 of drift
	scenarioLimit  = 85     // % the device's own desaturation alarm reports as crossed
	bradyRate      = 35     // /min sinus rate of the brady scenario
	alarmRepeatMs  = 10_000 // an active device alarm is resent (phase continue) this often
	minScenarioDur = time.Second
)

// ISO/IEEE 11073-10101 event codes of the device alarms the scenarios raise
// (partition 3, MDC_PART_EVT: 3·65536 + term code).
const (
	mdcEvtECGAsystole uint32 = 3<<16 | 3076 // 199684 MDC_EVT_ECG_ASYSTOLE
	mdcEvtDesat       uint32 = 3<<16 | 3246 // 199854 MDC_EVT_DESAT
)

// scenarioSpec is a scenario and what it does to the beds it runs on.
type scenarioSpec struct {
	Scenario
	kinds   []episodeKind // the conditions, all for the whole hold
	allBeds bool          // every bed, ScenarioBed ignored
	alarm   alarmKind     // the device's own alarm, if any
}

type alarmKind int8

const (
	noAlarm alarmKind = iota
	asystoleAlarm
	desatAlarm
)

var scenarioSpecs = [...]scenarioSpec{
	{
		Scenario: Scenario{
			Name: "desat",
			Description: "SpO2 falls at the onset from the patient's baseline to 82 % (81-83 with drift), " +
				"holds, and is back at baseline at the end; heart rate +8/min, respiratory rate +6/min, " +
				"pleth amplitude -30 %, etCO2 -4 mmHg. No device alarm.",
			Expect: "HIGH desaturation SpO2 < 85 (no delay); MEDIUM SpO2 < 90 after 10 s",
		},
		kinds: []episodeKind{desaturation},
	},
	{
		Scenario: Scenario{
			Name: "tachy",
			Description: "sinus tachycardia: from the onset the heart beats at ~150/min (145-155 with " +
				"respiratory variation), ECG, pleth, pressures and the HR and PR numerics alike. No device alarm.",
			Expect: "HIGH extreme tachycardia HR > 140 (no delay); MEDIUM HR > 120",
		},
		kinds: []episodeKind{tachycardia},
	},
	{
		Scenario: Scenario{
			Name: "brady",
			Description: "sinus bradycardia: from the onset the heart beats at ~35/min (34-36), " +
				"ECG, pleth, pressures and the HR and PR numerics alike. No device alarm.",
			Expect: "HIGH extreme bradycardia HR < 40 (no delay); MEDIUM HR < 50",
		},
		kinds: []episodeKind{bradycardia},
	},
	{
		Scenario: Scenario{
			Name: "asystole",
			Description: "no QRS from the onset: flat ECG (baseline wander and noise only), no pleth pulse; " +
				"HR 0 (valid), SpO2 and PR no value. The device raises its own alarm: HIGH, physiological, " +
				"code 199684 (MDC_EVT_ECG_ASYSTOLE), param 147842 (HR), text \"ASYSTOLE\"; phase start at " +
				"the onset, continue every 10 s, end (inactive) at recovery.",
			Expect: "HIGH ASYSTOLE from the device's own alarm (at once); HIGH extreme bradycardia HR 0 < 40",
		},
		kinds: []episodeKind{asystole},
		alarm: asystoleAlarm,
	},
	{
		Scenario: Scenario{
			Name: "leads-off",
			Description: "the ECG electrodes come off: every ECG sample invalid, HR no value, and the " +
				"status (published at once) lists the ECG leads in leads_off; they are back at the end.",
			Expect: "technical ECG LEADS OFF from the status (no delay); no HR alarm while HR has no value",
		},
		kinds: []episodeKind{leadsOff},
	},
	{
		Scenario: Scenario{
			Name: "offline",
			Description: "the device's connection drops without an MQTT DISCONNECT, so the broker " +
				"publishes its Last Will (the retained offline status); nothing is sent for the hold, then " +
				"it reconnects and announces itself online. Needs Run; under Step it just falls silent.",
			Expect: "technical DEVICE OFFLINE from the Last Will (at once), NO DATA",
		},
		kinds: []episodeKind{deviceOffline},
	},
	{
		Scenario: Scenario{
			Name: "nurse-call",
			Description: "the patient presses the call button: a nurse_call event at the onset and " +
				"nurse_call_cancel at the end; vital signs stay normal.",
			Expect: "nurse call on the bed from the onset until the cancel",
		},
		kinds: []episodeKind{nurseCall},
	},
	{
		Scenario: Scenario{
			Name: "storm",
			Description: "every bed at the same instant (ScenarioBed is ignored): SpO2 82 %, heart rate " +
				"~158/min, and each device raises its own alarm: HIGH, physiological, code 199854 " +
				"(MDC_EVT_DESAT), param 150456 (SpO2), limit 85, text \"DESAT SpO2 82 < 85\"; it ends at recovery.",
			Expect: "on every bed at once: the device's HIGH DESAT alarm, HIGH desaturation SpO2 < 85 " +
				"and HIGH extreme tachycardia HR > 140",
		},
		kinds:   []episodeKind{desaturation, tachycardia},
		allBeds: true,
		alarm:   desatAlarm,
	},
}

// Scenarios lists the scenarios in a stable order.
func Scenarios() []Scenario {
	out := make([]Scenario, len(scenarioSpecs))
	for i := range scenarioSpecs {
		out[i] = scenarioSpecs[i].Scenario
	}
	return out
}

func scenarioNames() string {
	names := make([]string, len(scenarioSpecs))
	for i := range scenarioSpecs {
		names[i] = scenarioSpecs[i].Name
	}
	return strings.Join(names, ", ")
}

// Dropper is implemented by a Conn that can lose its connection the way a
// device that loses power or network does: the network connection closes
// without an MQTT DISCONNECT, so the broker publishes the device's Last Will.
// The connection is not used again after Drop.
type Dropper interface {
	Drop()
}

// scenarioClock is a scenario's repeating cycle, in µs since the ward's
// origin: cycle k runs from k·period; its condition holds from
// k·period+leadIn for hold.
type scenarioClock struct {
	leadIn, hold, period int64
}

// us converts a model time (s since the origin) to whole µs. Sample and step
// times are whole µs, so the scenario's edges fall on exact samples.
func us(t float64) int64 { return int64(math.Round(t * 1e6)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func (c *scenarioClock) onset(cycle int64) int64 { return cycle*c.period + c.leadIn }
func (c *scenarioClock) end(cycle int64) int64   { return c.onset(cycle) + c.hold }

// phase returns the cycle that time u (µs) falls in, and whether the
// condition holds then. Nothing holds before the origin.
func (c *scenarioClock) phase(u int64) (cycle int64, active bool) {
	if u < 0 {
		return -1, false
	}
	cycle = u / c.period
	return cycle, u >= c.onset(cycle) && u < c.end(cycle)
}

// lastEdge is the latest onset or end at or before u, and false before the
// first onset.
func (c *scenarioClock) lastEdge(u int64) (int64, bool) {
	k := floorDiv(u, c.period)
	switch {
	case k >= 0 && u >= c.end(k):
		return c.end(k), true
	case k >= 0 && u >= c.onset(k):
		return c.onset(k), true
	case k >= 1:
		return c.end(k - 1), true
	}
	return 0, false
}

// nextEdge is the first onset or end after u, and whether it is an onset.
func (c *scenarioClock) nextEdge(u int64) (edge int64, onset bool) {
	k := max(floorDiv(u, c.period), 0)
	for {
		if o := c.onset(k); o > u {
			return o, true
		}
		if e := c.end(k); e > u {
			return e, false
		}
		k++
	}
}

// scenarioRun is the scenario a ward plays.
type scenarioRun struct {
	spec  *scenarioSpec
	bed   int // bed index, -1 for every bed
	clock scenarioClock
}

// bedScenario is what the scenario does on one bed, and the state of its
// device messages there.
type bedScenario struct {
	kinds  uint16 // 1 << episodeKind
	rhythm bool   // the heart rate changes at the edges
	alarm  alarmKind
	call   bool

	on       bool  // the condition's start has been published
	cycle    int64 // of the condition last started
	alarmMsg feed.Alarm
	sentAt   int64 // ms since the origin of the last alarm message
	alarmSeq uint32
	eventSeq uint32
}

func (s *bedScenario) has(k episodeKind) bool { return s.kinds&(1<<k) != 0 }

// setScenario validates and installs the scenario of cfg. Callers hold no
// lock: it runs in New before the ward is shared.
func (w *Ward) setScenario(cfg *Config) error {
	name := strings.ToLower(strings.TrimSpace(cfg.Scenario))
	var spec *scenarioSpec
	for i := range scenarioSpecs {
		if scenarioSpecs[i].Name == name {
			spec = &scenarioSpecs[i]
		}
	}
	if spec == nil {
		return fmt.Errorf("%w: unknown scenario %q, want one of %s", ErrConfig, cfg.Scenario, scenarioNames())
	}
	bed := -1
	if !spec.allBeds {
		n := cfg.ScenarioBed
		if n == 0 {
			n = 1
		}
		if n < 1 || n > cfg.Beds {
			return fmt.Errorf("%w: scenario %s on bed %d, want 1..%d", ErrConfig, spec.Name, cfg.ScenarioBed, cfg.Beds)
		}
		bed = n - 1
	}
	durs := [3]time.Duration{cfg.ScenarioLeadIn, cfg.ScenarioHold, cfg.ScenarioRecovery}
	for i, def := range [3]time.Duration{DefaultScenarioLeadIn, DefaultScenarioHold, DefaultScenarioRecovery} {
		if durs[i] == 0 {
			durs[i] = def
		}
		if durs[i] < minScenarioDur {
			what := [3]string{"lead-in", "hold", "recovery"}[i]
			return fmt.Errorf("%w: scenario %s %v, want at least %v", ErrConfig, what, durs[i], minScenarioDur)
		}
		durs[i] = durs[i].Truncate(time.Millisecond)
	}
	c := scenarioClock{leadIn: durs[0].Microseconds(), hold: durs[1].Microseconds()}
	c.period = c.leadIn + c.hold + durs[2].Microseconds()
	w.scen = &scenarioRun{spec: spec, bed: bed, clock: c}
	return nil
}

// bedScenario returns what the scenario does on bed i, nil for a bed it
// leaves alone.
func (r *scenarioRun) bedScenario(i int) *bedScenario {
	if r == nil || (r.bed >= 0 && r.bed != i) {
		return nil
	}
	s := &bedScenario{alarm: r.spec.alarm}
	for _, k := range r.spec.kinds {
		s.kinds |= 1 << k
		switch k {
		case desaturation, tachycardia, bradycardia, asystole:
			s.rhythm = true
		case nurseCall:
			s.call = true
		}
	}
	return s
}

// scenarioWithin is within for a scenario bed.
func (b *bed) scenarioWithin(k episodeKind, t float64) (float64, bool) {
	if !b.sc.has(k) {
		return 0, false
	}
	c := &b.w.scen.clock
	u := us(t)
	cycle, ok := c.phase(u)
	if !ok {
		return 0, false
	}
	return float64(u-c.onset(cycle)) / 1e6, true
}

// ScenarioOnset returns the planned onset of the scenario's current cycle,
// computed from the ward's time origin: origin + k·(lead-in + hold +
// recovery) + lead-in, for the cycle k that the ward's clock (the time of the
// latest Step, or of Run's start) is in. During a lead-in it lies ahead. The
// condition holds from the onset for exactly the hold, in the data's own
// timestamps: the first abnormal waveform sample is the first one at or after
// the onset; the numerics of the first whole second at or after it are
// abnormal (at the onset itself when it falls on a whole second, as with the
// defaults); a device alarm's start or a nurse call carries the onset as its
// ts, and is published by the first Step at or after it; a leads-off status
// is published by that Step with that Step's time; Run drops the offline
// scenario's connection at its first tick at or after it. The end (onset +
// hold) works the same way. ok is false without a scenario or before the
// first Step.
func (w *Ward) ScenarioOnset() (time.Time, bool) {
	if w.scen == nil {
		return time.Time{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return time.Time{}, false
	}
	c := &w.scen.clock
	k := max(w.clockMs, 0) * 1000 / c.period
	return time.UnixMilli(w.epochMs + c.onset(k)/1000), true
}

// edgeBeat moves a scheduled beat nb that would cross an edge of the
// scenario: the new rhythm starts at the edge. A faster one beats at the edge
// (or one of its cycles after the previous beat, if later), a slower one one
// of its cycles after the previous beat. In asystole no beat comes until its
// end, and the first one after it starts (its P wave) at the end.
func (b *bed) edgeBeat(prev, nb *beat) {
	c := &b.w.scen.clock
	e, onset := c.nextEdge(us(prev.r))
	edge := float64(e) / 1e6
	if nb.r < edge {
		return
	}
	first := edge
	if onset && b.sc.has(asystole) {
		edge = float64(e+c.hold) / 1e6
		first = edge + ecgLookahead
	}
	rr := 60 / b.sinusRate(edge)
	nb.r, nb.sinusRR = max(first, prev.r+rr), rr
	nb.interval = nb.r - prev.r
}

// rhythmSince is the latest edge of the scenario at or before t, s; -Inf
// before the first onset.
func (b *bed) rhythmSince(t float64) float64 {
	if e, ok := b.w.scen.clock.lastEdge(us(t)); ok {
		return float64(e) / 1e6
	}
	return math.Inf(-1)
}

// scenarioHeartRate is the HR numeric of a bed whose scenario changes the
// rhythm: 0 in asystole; otherwise 60 over the mean of the last R-R intervals
// of the current rhythm (since the latest edge), or the sinus rate until the
// rhythm has a complete interval, so that the numeric follows the edge within
// one numerics period.
func (b *bed) scenarioHeartRate(t float64) (float64, bool) {
	if _, ok := b.within(asystole, t); ok {
		return 0, true
	}
	since := b.rhythmSince(t)
	last := -1
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		if b.beats.at(j).r <= t {
			last = j
			break
		}
	}
	first := max(b.beats.oldest(), last-rateBeats)
	for first < last && b.beats.at(first).r < since {
		first++
	}
	if last < 0 || first >= last {
		return b.sinusRate(t), true
	}
	return 60 * float64(last-first) / (b.beats.at(last).r - b.beats.at(first).r), true
}

// scenarioPulseRate is pulseRate for the same beds: no pulse in asystole, the
// pulses of the current rhythm, or the sinus rate until there are two.
func (b *bed) scenarioPulseRate(t float64) (float64, bool) {
	if _, ok := b.within(asystole, t); ok {
		return 0, false
	}
	since := b.rhythmSince(t)
	n, newest, oldest := 0, 0.0, 0.0
	for j := b.beats.n - 1; j >= b.beats.oldest() && n <= rateBeats; j-- {
		bt := b.beats.at(j)
		if bt.r < since {
			break
		}
		peak := bt.r + b.p.ptt + pulseTimeToPk
		if peak > t || bt.pulse < minPulse {
			continue
		}
		if n == 0 {
			newest = peak
		}
		oldest = peak
		n++
	}
	if n < 2 || newest <= oldest {
		return b.sinusRate(t), true
	}
	return 60 * float64(n-1) / (newest - oldest), true
}

// scenarioMessages publishes the device alarm or event transitions due at el
// ms since the origin: start (or the call) once the condition holds, continue
// every alarmRepeatMs and on a fresh connection, end (or the cancel) once it
// is over. Starts and ends carry their planned times.
func (b *bed) scenarioMessages(pub Publisher, el int64, fresh bool) error {
	s := b.sc
	if s.alarm == noAlarm && !s.call {
		return nil
	}
	c := &b.w.scen.clock
	cycle, active := c.phase(el * 1000)
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if s.on && (!active || cycle != s.cycle) {
		endMs := c.end(s.cycle) / 1000
		if s.alarm != noAlarm {
			keep(b.publishAlarm(pub, feed.PhaseEnd, feed.StateInactive, endMs))
		}
		if s.call {
			keep(b.publishEvent(pub, feed.EventNurseCallCancel, endMs, "cancelled at the bedside"))
		}
		s.on = false
	}
	switch {
	case active && !s.on:
		onMs := c.onset(cycle) / 1000
		s.on, s.cycle = true, cycle
		if s.alarm != noAlarm {
			s.alarmMsg = b.deviceAlarm(onMs)
			keep(b.publishAlarm(pub, feed.PhaseStart, feed.StateActive, onMs))
		}
		if s.call {
			keep(b.publishEvent(pub, feed.EventNurseCall, onMs, "patient call button"))
		}
	case active && s.alarm != noAlarm && (fresh || el-s.sentAt >= alarmRepeatMs):
		keep(b.publishAlarm(pub, feed.PhaseContinue, feed.StateActive, el))
	}
	return first
}

// deviceAlarm is the alarm the bed's device raises at onMs since the origin.
func (b *bed) deviceAlarm(onMs int64) feed.Alarm {
	ts := b.w.epochMs + onMs
	a := feed.Alarm{Priority: feed.AlarmHigh, Source: feed.SourcePhysiological}
	switch b.sc.alarm {
	case asystoleAlarm:
		zero := 0.0
		a.ID = fmt.Sprintf("ASYSTOLE-%d", ts)
		a.Code, a.Param, a.Value, a.Unit, a.Text = mdcEvtECGAsystole, feed.MDCECGHeartRate, &zero, "/min", "ASYSTOLE"
	case desatAlarm:
		v := math.Round(b.scenarioSaturation())
		limit := float64(scenarioLimit)
		a.ID = fmt.Sprintf("DESAT-%d", ts)
		a.Code, a.Param, a.Value, a.Limit, a.Unit = mdcEvtDesat, feed.MDCSpO2, &v, &limit, "%"
		a.Text = fmt.Sprintf("DESAT SpO2 %.0f < %d", v, scenarioLimit)
	}
	return a
}

// scenarioSaturation is the SpO2 of a desaturated scenario bed now.
func (b *bed) scenarioSaturation() float64 { return scenarioSpO2 + 0.5*b.satDrift }

// publishAlarm publishes the bed's current device alarm in phase p, state s,
// at el ms since the origin.
func (b *bed) publishAlarm(pub Publisher, p feed.AlarmPhase, s feed.AlarmState, el int64) error {
	a := b.sc.alarmMsg
	a.Phase, a.State, a.TsMs, a.Seq = p, s, b.w.epochMs+el, b.sc.alarmSeq
	b.sc.alarmSeq++
	b.sc.sentAt = el
	return b.w.publish(b, pub, b.alarmTopic, 1, false, feed.EncodeAlarm(a))
}

// publishEvent publishes a point event of kind k at el ms since the origin.
func (b *bed) publishEvent(pub Publisher, k feed.EventKind, el int64, text string) error {
	ts := b.w.epochMs + el
	id := fmt.Sprintf("CALL-%d", ts)
	if k == feed.EventNurseCallCancel {
		id = fmt.Sprintf("CANCEL-%d", ts)
	}
	e := feed.Event{ID: id, Seq: b.sc.eventSeq, TsMs: ts, Kind: k, Text: text}
	b.sc.eventSeq++
	return b.w.publish(b, pub, b.eventTopic, 1, false, feed.EncodeEvent(e))
}

// dropsUncleanly reports whether a device going offline loses its connection
// (the offline scenario) rather than shutting down in order.
func (w *Ward) dropsUncleanly() bool {
	return w.scen != nil && w.scen.spec.Name == "offline"
}
