package monitor

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-station/vigil/monitor/ecg"
	"github.com/vigil-station/vigil/monitor/feed"
)

// Vigil's own ECG analysis, for beds whose device sends raw ECG and no
// analysis (wearables, telemetry transmitters, replayed recordings):
//
//	wave frame ─ ECG leads (up to 3, one rate) ─┬─ ecg.Rhythm ─ heart rate ─ HR numeric (1/s) ─ Observer.Numerics
//	           └ ABP, else pleth (corroboration) ┘             └ conditions ─ HIGH latching alarms ─ Observer.Alarm
//
// A bed whose device sent a heart rate within deviceAnalysisFresh is taken
// to analyse its own ECG: Vigil then raises nothing from it and ends what
// it had raised (the device's alarms are mirrored as they are). Gaps in the
// feed enter the analysis as missing samples, so a lost second never looks
// like a beat. Writer only, like the rest of the hub's frame handling.

// deviceAnalysisFresh is how recent a device's own heart rate must be for
// the device to count as analysing its ECG.
const deviceAnalysisFresh = 10 * time.Second

// analysisMaxGap bounds the missing samples a gap feeds the analysis.
const analysisMaxGap = 10 * time.Second

// Gaps. The analysis judges a rhythm only on samples that are there: a
// break in the feed (frames lost, an outage, a device restart; see
// Hub.Wave) and a stretch in which every analysed lead is invalid (leads
// off) are missing data, never a flat line. After missing data that lasted
// no longer than the bed's NO DATA threshold (WaveStale, 3 s; at most
// analysisMaxGap), the analysis goes on across a break (ecg.Rhythm.Gap):
// no beat interval spans it, asystole needs 4 s of silent samples after
// it. After a longer one — the bed read NO DATA — it starts afresh and
// learns again (Analysis.Learning, 5 s), raising and ending nothing
// meanwhile: what it had raised stays raised until it has judged again.
// A real asystole is so raised 4 s after the flat line starts, and never
// sooner than 5 s after the data return from a long gap.

// Analysis is what Vigil's ECG analysis of a bed shows now.
type Analysis struct {
	Active     bool          // Vigil analyses the bed (its device sends no heart rate)
	Learning   bool          // it is learning (its first 5 s, or after a long gap): it judges nothing yet
	HR         float64       // heart rate, bpm (0: none)
	Conditions ecg.Condition // arrhythmia conditions present now
	HeldBack   ecg.Condition // conditions the pulse signal contradicts (not raised)
	Leads      int           // ECG leads analysed
}

type bedAnalysis struct {
	rhythm    *ecg.Rhythm
	leads     []uint32
	rate      float32
	pulse     uint32 // 0: none
	pulseRate float32
	frame     []float64
	idx       []int
	raised    ecg.Condition
	checking  bool // the "check ECG" technical alarm is raised (asystole held back by a pulse)
	noisy     bool // the "ECG noisy" technical alarm is raised
	seq       uint32
	lastHR    time.Time
	missingMs float64 // data missing since the last analysed frame (see Gaps)
}

var ecgLeadCodes = map[uint32]bool{
	feed.MDCECGLeadI: true, feed.MDCECGLeadII: true, feed.MDCECGLeadIII: true, feed.MDCECGLeadAVR: true,
	feed.MDCECGLeadAVL: true, feed.MDCECGLeadAVF: true, feed.MDCECGLeadV1: true, feed.MDCECGLeadV2: true,
	feed.MDCECGLeadV3: true, feed.MDCECGLeadV4: true, feed.MDCECGLeadV5: true, feed.MDCECGLeadV6: true,
}

// newBedAnalysis sets up the analysis for the channels of a first frame:
// lead II first when there is one, then the other leads at its rate (3 at
// most); nil when the frame has no ECG.
func newBedAnalysis(f *feed.WaveFrame) *bedAnalysis {
	a := &bedAnalysis{}
	for _, c := range f.Channels {
		if c.Code == feed.MDCECGLeadII && c.RateHz > 0 {
			a.leads, a.rate = []uint32{c.Code}, c.RateHz
		}
	}
	for _, c := range f.Channels {
		if !ecgLeadCodes[c.Code] || c.RateHz <= 0 || len(a.leads) >= 3 {
			continue
		}
		if len(a.leads) == 0 {
			a.leads, a.rate = []uint32{c.Code}, c.RateHz
		} else if c.RateHz == a.rate && c.Code != a.leads[0] {
			a.leads = append(a.leads, c.Code)
		}
	}
	if len(a.leads) == 0 || a.rate < 100 || a.rate > 2000 {
		return nil
	}
	for _, code := range []uint32{feed.MDCPressArt, feed.MDCPleth} {
		for _, c := range f.Channels {
			if c.Code == code && c.RateHz > 0 && a.pulse == 0 {
				a.pulse, a.pulseRate = code, c.RateHz
			}
		}
	}
	a.rhythm = ecg.NewRhythm(float64(a.rate), len(a.leads))
	if a.pulse != 0 {
		a.rhythm.WithPulse(float64(a.pulseRate))
	}
	a.frame = make([]float64, len(a.leads))
	a.idx = make([]int, len(a.leads))
	return a
}

// analyse feeds a frame (after a break of breakMs) to the bed's analysis
// and reports what changed.
func (h *Hub) analyse(b *Bed, bedName string, f *feed.WaveFrame, breakMs float64, now time.Time) {
	b.mu.Lock()
	dev, ok := b.vitals[feed.MDCECGHeartRate]
	deviceAnalyses := ok && !dev.Derived && now.Sub(dev.At) < deviceAnalysisFresh
	if deviceAnalyses {
		b.analysisState = Analysis{}
	}
	b.mu.Unlock()
	if deviceAnalyses {
		// The device analyses its ECG: nothing to compute, and end what
		// Vigil had raised before the device's heart rate came. Should
		// the device stop, the analysis starts afresh.
		if a := b.analysis; a != nil {
			h.reportAnalysis(a, bedName, 0, 0, nil, 0, now)
			b.analysis = nil
		}
		return
	}
	a := b.analysis
	fresh := a == nil
	if fresh {
		// A fresh analysis starts with this frame, whatever came before.
		if a = newBedAnalysis(f); a == nil {
			return
		}
		b.analysis = a
	} else {
		a.missingMs += breakMs
	}
	n := a.index(f)
	if n < 0 {
		return // no analysed lead in this frame
	}
	if a.invalid(f) {
		// Every analysed lead is invalid (leads off): no data, missing
		// like a gap. The heart rate has no value meanwhile.
		a.missingMs += float64(n) * 1000 / float64(a.rate)
		b.mu.Lock()
		b.analysisState = Analysis{Active: true, Learning: a.rhythm.Learning(), Leads: len(a.leads)}
		b.mu.Unlock()
		h.publishHR(a, b, bedName, 0, false, now)
		return
	}
	if a.missingMs > 0 {
		restart := min(h.cfg.WaveStale, analysisMaxGap)
		if a.missingMs > float64(restart.Milliseconds()) {
			// A long gap: the analysis starts afresh and learns again;
			// what it raised stays raised until it judges.
			na := newBedAnalysis(f)
			na.raised, na.checking, na.noisy, na.seq, na.lastHR = a.raised, a.checking, a.noisy, a.seq, a.lastHR
			b.analysis, a = na, na
			n = a.index(f)
		} else {
			a.rhythm.Gap(int(math.Round(a.missingMs * float64(a.rate) / 1000)))
		}
		a.missingMs = 0
	}
	for j := range n {
		for k, i := range a.idx {
			a.frame[k] = math.NaN()
			if i >= 0 && j < len(f.Channels[i].Samples) {
				c := &f.Channels[i]
				a.frame[k] = float64(c.Physical(c.Samples[j]))
			}
		}
		a.rhythm.Push(a.frame...)
	}
	for i := range f.Channels {
		if c := &f.Channels[i]; c.Code == a.pulse && c.RateHz == a.pulseRate {
			for _, s := range c.Samples {
				v := float64(c.Physical(s))
				a.rhythm.PushPulse(v)
			}
		}
	}
	conds, why, held := a.rhythm.Conditions()
	hr := a.rhythm.HeartRate()
	learning := a.rhythm.Learning()

	b.mu.Lock()
	b.analysisState = Analysis{Active: true, Learning: learning, HR: hr, Conditions: conds, HeldBack: held, Leads: len(a.leads)}
	b.mu.Unlock()
	// In asystole the rate is 0, a value; otherwise 0 means none yet. In
	// noise the rate counts noise: no value, as the analysis is suspended.
	h.publishHR(a, b, bedName, hr, (hr > 0 || conds&ecg.Asystole != 0) && conds&ecg.Noisy == 0, now)
	if !learning {
		h.reportAnalysis(a, bedName, conds, hr, why, held, now)
	}
}

// index finds the analysed leads in f (a.idx) and returns their longest
// sample count, -1 when f has none of them.
func (a *bedAnalysis) index(f *feed.WaveFrame) int {
	n := -1
	for k, code := range a.leads {
		a.idx[k] = -1
		for i := range f.Channels {
			if f.Channels[i].Code == code && f.Channels[i].RateHz == a.rate {
				a.idx[k] = i
				n = max(n, len(f.Channels[i].Samples))
			}
		}
	}
	return n
}

// invalid reports whether every analysed lead of f (as indexed) has only
// invalid samples.
func (a *bedAnalysis) invalid(f *feed.WaveFrame) bool {
	for _, i := range a.idx {
		if i < 0 {
			continue
		}
		for _, s := range f.Channels[i].Samples {
			if s != feed.InvalidSample {
				return false
			}
		}
	}
	return true
}

// publishHR publishes Vigil's heart rate of the bed, once a second after
// the learning period: a derived vital, and a numerics message to the
// observer and the recorder.
func (h *Hub) publishHR(a *bedAnalysis, b *Bed, bedName string, hr float64, valid bool, now time.Time) {
	if a.rhythm.Learning() || now.Sub(a.lastHR) < time.Second {
		return
	}
	b.mu.Lock()
	if b.vitals == nil {
		b.vitals = map[uint32]Vital{}
	}
	b.vitals[feed.MDCECGHeartRate] = Vital{Code: feed.MDCECGHeartRate, Value: hr, Valid: valid, Unit: "/min", At: now, Derived: true}
	b.mu.Unlock()
	// Numerics of the bed are fresh: Vigil's own, in place of a device
	// that sends none.
	b.lastNum.Store(now.UnixNano())
	a.lastHR = now
	a.seq++
	nf := feed.NumFrame{TsMs: now.UnixMilli(), Seq: a.seq, Values: []feed.Numeric{{Code: feed.MDCECGHeartRate, Value: hr, Valid: valid, Unit: "/min"}}}
	if h.cfg.Observer != nil {
		h.cfg.Observer.Numerics(bedName, nf, now)
	}
	if h.cfg.Recorder != nil {
		h.cfg.Recorder.Numerics(bedName, nf, now)
	}
}

// reportAnalysis starts and ends the analysis's alarms to match conds, and
// the "check ECG" technical alarm to match an asystole held back by a
// pulse.
func (h *Hub) reportAnalysis(a *bedAnalysis, bedName string, conds ecg.Condition, hr float64,
	why map[ecg.Condition]ecg.Evidence, held ecg.Condition, now time.Time) {
	send := func(al feed.Alarm) {
		if h.cfg.Observer == nil {
			return
		}
		a.seq++
		al.Seq = a.seq
		h.cfg.Observer.Alarm(bedName, al, now)
	}
	for c := ecg.Asystole; c <= ecg.Trigeminy; c <<= 1 {
		on, was := conds&c != 0, a.raised&c != 0
		if on == was {
			continue
		}
		a.raised ^= c
		send(analysisAlarm(c, on, hr, why[c], now))
	}
	if check := held&ecg.Asystole != 0; check != a.checking {
		a.checking = check
		send(checkECGAlarm(check, why[ecg.Asystole], now))
	}
	if noisy := conds&ecg.Noisy != 0; noisy != a.noisy {
		a.noisy = noisy
		send(noisyECGAlarm(noisy, now))
	}
}

// NoisyECGAlarmID is the technical alarm of an ECG too noisy to analyse:
// what looked like a run of ventricular complexes was noise, and VT was
// not raised from it.
const NoisyECGAlarmID = AnalysisAlarmPrefix + "noisy"

func noisyECGAlarm(on bool, now time.Time) feed.Alarm {
	return technicalECGAlarm(NoisyECGAlarmID, "ECG NOISY: arrhythmia analysis suspended — check electrodes (Vigil ECG analysis)", on, now)
}

// technicalECGAlarm is the analysis's MEDIUM technical alarm id starting
// (on) or ending.
func technicalECGAlarm(id, text string, on bool, now time.Time) feed.Alarm {
	return technicalAlarm(id, feed.MDCECGHeartRate, text, on, now)
}

// technicalAlarm is a MEDIUM technical alarm the hub raises itself (the
// analysis's, the device clock's) starting (on) or ending; param is the
// parameter it is about (0: the device).
func technicalAlarm(id string, param uint32, text string, on bool, now time.Time) feed.Alarm {
	a := feed.Alarm{ID: id, TsMs: now.UnixMilli(), Param: param,
		Priority: feed.AlarmMedium, Source: feed.SourceTechnical, Phase: feed.PhaseStart, State: feed.StateActive, Text: text}
	if !on {
		a.Phase, a.State = feed.PhaseEnd, feed.StateInactive
	}
	return a
}

// CheckECGAlarmID is the technical alarm of an ECG that shows no QRS while
// the pulse goes on: asystole is not raised, the leads are to be checked.
const CheckECGAlarmID = AnalysisAlarmPrefix + "check"

func checkECGAlarm(on bool, ev ecg.Evidence, now time.Time) feed.Alarm {
	return technicalECGAlarm(CheckECGAlarmID,
		fmt.Sprintf("CHECK ECG: no QRS 4 s, pulse %.0f/min — asystole not raised (Vigil ECG analysis)", ev.PulseBPM), on, now)
}

// AnalysisAlarmPrefix starts the id of every alarm Vigil's own ECG
// analysis raises ("vigil-ecg-vtach"). The alarm system makes them latch.
const AnalysisAlarmPrefix = "vigil-ecg-"

// analysisAlarm is the alarm message of a condition starting or ending.
func analysisAlarm(c ecg.Condition, on bool, hr float64, ev ecg.Evidence, now time.Time) feed.Alarm {
	text := map[ecg.Condition]string{
		ecg.Asystole: "ASYSTOLE", ecg.ExtremeBrady: "EXTREME BRADY", ecg.ExtremeTachy: "EXTREME TACHY",
		ecg.VTach: "VTACH", ecg.VFib: "VFIB/VFLUTTER", ecg.Bigeminy: "VENT BIGEMINY", ecg.Trigeminy: "VENT TRIGEMINY",
	}[c]
	id := map[ecg.Condition]string{
		ecg.Asystole: "asystole", ecg.ExtremeBrady: "brady", ecg.ExtremeTachy: "tachy", ecg.VTach: "vtach", ecg.VFib: "vfib",
		ecg.Bigeminy: "bigeminy", ecg.Trigeminy: "trigeminy",
	}[c]
	a := feed.Alarm{ID: AnalysisAlarmPrefix + id, TsMs: now.UnixMilli(), Param: feed.MDCECGHeartRate,
		Priority: feed.AlarmHigh, Source: feed.SourcePhysiological, Phase: feed.PhaseStart, State: feed.StateActive,
		Text: text + " (Vigil ECG analysis)" + pulseEvidence(c, ev)}
	if c&ecg.Ectopy != 0 {
		// Ectopy is worth a look, not a run: LOW, and it ends with the
		// pattern (it does not latch).
		a.Priority = feed.AlarmLow
	}
	if !on {
		a.Phase, a.State = feed.PhaseEnd, feed.StateInactive
	}
	if hr > 0 {
		v := math.Round(hr)
		a.Value, a.Unit = &v, "/min"
	}
	return a
}

// pulseEvidence is what the bed's pulsatile signal says during a
// ventricular condition, as evidence on the alarm: its rate, or that it
// shows no pulse. It judges nothing and changes nothing of the alarm: on
// the 2015 Challenge records a pleth beating far slower than the run is as
// common under true VT (a pulse deficit) as under artefact.
func pulseEvidence(c ecg.Condition, ev ecg.Evidence) string {
	switch {
	case c&(ecg.VTach|ecg.VFib) == 0 || !ev.Pulse:
		return ""
	case !ev.PulseSeen:
		return " · no pulse seen"
	}
	return fmt.Sprintf(" · pulse %.0f/min", ev.PulseBPM)
}

// Analysis is what Vigil's ECG analysis of the bed shows (zero when the
// bed has sent no ECG).
func (b *Bed) Analysis() Analysis {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.analysisState
}
