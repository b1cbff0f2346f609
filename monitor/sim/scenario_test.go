package sim

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// The scenario tests run a 4-bed ward with the scenario on bed "02" (index
// 1): normal for 5 s, the condition for 25 s, normal for 5 s, and again, so
// the condition holds over [5, 30) and [40, 65) s; 74 s covers both.
const (
	scLeadIn   = 5 * time.Second
	scHold     = 25 * time.Second
	scRecovery = 5 * time.Second
	scCycle    = 35.0 // s
	scRun      = 74 * time.Second
	scBed      = 1
)

func scenarioConfig(name string) Config {
	return Config{Ward: "ICU1", Beds: 4, Seed: 21, Scenario: name, ScenarioBed: scBed + 1,
		ScenarioLeadIn: scLeadIn, ScenarioHold: scHold, ScenarioRecovery: scRecovery}
}

// inEpisode is the episode (0, 1, ...) that s seconds since t0 falls in, -1
// outside the condition.
func inEpisode(s float64) int {
	k := math.Floor(s / scCycle)
	if c := s - k*scCycle; c >= scLeadIn.Seconds() && c < (scLeadIn+scHold).Seconds() {
		return int(k)
	}
	return -1
}

func onsetOf(k int) time.Time { return t0.Add(time.Duration(k)*35*time.Second + scLeadIn) }
func endOf(k int) time.Time   { return onsetOf(k).Add(scHold) }

// play steps a scenario ward every 200 ms from t0 to t0+scRun, checking
// ScenarioOnset and EventsAt at every step, and decodes every bed.
func play(t *testing.T, cfg Config) (*Ward, []record, []*recorder) {
	t.Helper()
	w := newWard(t, cfg)
	if _, ok := w.ScenarioOnset(); ok {
		t.Error("ScenarioOnset before the first Step: ok")
	}
	var now time.Time
	recs := make([]*recorder, cfg.Beds)
	pubs := make([]Publisher, cfg.Beds)
	for i := range recs {
		recs[i] = &recorder{clock: &now}
		pubs[i] = recs[i]
	}
	for now = t0; !now.After(t0.Add(scRun)); now = now.Add(200 * time.Millisecond) {
		if err := w.Step(now, pubs); err != nil {
			t.Fatalf("Step(%v): %v", now.Sub(t0), err)
		}
		s := now.Sub(t0).Seconds()
		on, ok := w.ScenarioOnset()
		if want := onsetOf(int(s / scCycle)); !ok || !on.Equal(want) {
			t.Fatalf("at %v s: ScenarioOnset %v %v, want %v", s, on.Sub(t0), ok, want.Sub(t0))
		}
		for bed := range cfg.Beds {
			ev := w.EventsAt(bed, now)
			affected := bed == scBed || cfg.Scenario == "storm"
			if want := inEpisode(s) >= 0 && affected; want != slices.Equal(ev, []string{cfg.Scenario}) || (!want && ev != nil) {
				t.Fatalf("bed %d at %v s: EventsAt %v", bed, s, ev)
			}
		}
	}
	out := make([]record, cfg.Beds)
	for i := range recs {
		out[i] = decode(t, w, i, recs[i].messages())
	}
	return w, out, recs
}

// numericsBy calls f with every numerics message of r, its time in s and its
// episode, and fails unless every second of both episodes was seen.
func numericsBy(t *testing.T, r record, f func(n feed.NumFrame, s float64, ep int)) {
	t.Helper()
	inside := 0
	for _, n := range r.nums {
		s := secs(n)
		ep := inEpisode(s)
		if ep >= 0 {
			inside++
		}
		f(n, s, ep)
	}
	if want := 2 * int(scHold.Seconds()); inside != want {
		t.Errorf("%d numerics messages inside the episodes, want %d", inside, want)
	}
}

// checkNormal asserts that bed r's vital signs are normal all along and that
// it raised no alarm and no event.
func checkNormal(t *testing.T, bed int, r record) {
	t.Helper()
	for _, n := range r.nums {
		hr, hok := value(n, feed.MDCECGHeartRate)
		spo2, sok := value(n, feed.MDCSpO2)
		if !hok || !sok || hr < 45 || hr > 125 || spo2 < 90 {
			t.Fatalf("bed %d at %v s: HR %v (%v), SpO2 %v (%v)", bed, secs(n), hr, hok, spo2, sok)
		}
	}
	if len(r.alarms) > 0 || len(r.events) > 0 {
		t.Errorf("bed %d: %d alarms, %d events", bed, len(r.alarms), len(r.events))
	}
	for _, s := range r.statuses {
		if len(s.LeadsOff) > 0 || !s.Online {
			t.Errorf("bed %d: status %+v", bed, s)
		}
	}
}

func checkOthersNormal(t *testing.T, recs []record) {
	t.Helper()
	for i, r := range recs {
		if i != scBed {
			checkNormal(t, i, r)
		}
	}
}

// rhythmIn is the heart rate the R peaks of r give within [from, to) s: 60
// over the median R-R interval.
func rhythmIn(r record, from, to float64) float64 {
	var rr []float64
	peaks := rPeaks(r)
	for k := 1; k < len(peaks); k++ {
		if peaks[k-1] >= from && peaks[k] < to {
			rr = append(rr, peaks[k]-peaks[k-1])
		}
	}
	if len(rr) == 0 {
		return 0
	}
	slices.Sort(rr)
	return 60 / rr[len(rr)/2]
}

func TestScenarioList(t *testing.T) {
	want := []string{"desat", "tachy", "brady", "asystole", "leads-off", "offline", "nurse-call", "storm"}
	got := Scenarios()
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
		if s.Description == "" || s.Expect == "" {
			t.Errorf("%s: description %q, expect %q", s.Name, s.Description, s.Expect)
		}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("Scenarios() = %v, want %v", names, want)
	}
	got[0].Name = "changed"
	if Scenarios()[0].Name != "desat" {
		t.Error("Scenarios returns the package's own slice")
	}
}

func TestScenarioConfig(t *testing.T) {
	base := Config{Ward: "ICU1", Beds: 4}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	for _, c := range []struct {
		cfg  Config
		want string // in the error
	}{
		{with(func(c *Config) { c.Scenario = "vfib" }), `unknown scenario "vfib"`},
		{with(func(c *Config) { c.Scenario = "desat"; c.ScenarioBed = 5 }), "bed 5, want 1..4"},
		{with(func(c *Config) { c.Scenario = "asystole"; c.ScenarioBed = -1 }), "bed -1"},
		{with(func(c *Config) { c.Scenario = "tachy"; c.ScenarioHold = 500 * time.Millisecond }), "hold 500ms"},
		{with(func(c *Config) { c.Scenario = "tachy"; c.ScenarioLeadIn = -time.Second }), "lead-in -1s"},
		{with(func(c *Config) { c.Scenario = "tachy"; c.ScenarioRecovery = time.Millisecond }), "recovery 1ms"},
	} {
		_, err := New(c.cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want ErrConfig with %q", c.cfg, err, c.want)
		}
	}
	_, err := New(with(func(c *Config) { c.Scenario = "vfib" }))
	for _, s := range Scenarios() {
		if !strings.Contains(err.Error(), s.Name) {
			t.Errorf("the error %q does not list %s", err, s.Name)
		}
	}
	for _, c := range []Config{
		with(func(c *Config) { c.Scenario = "storm"; c.ScenarioBed = 99 }), // ignored
		with(func(c *Config) { c.Scenario = " Leads-Off "; c.ScenarioBed = 4 }),
		with(func(c *Config) { c.Scenario = "nurse-call" }), // bed 1
	} {
		if _, err := New(c); err != nil {
			t.Errorf("New(%+v): %v", c, err)
		}
	}
	// The scenario replaces the event script.
	w := newWard(t, Config{Ward: "ICU1", Beds: 16, Events: true, Scenario: "nurse-call", ScenarioBed: 1})
	drive(t, w, 0)
	if ev := w.EventsAt(2, t0.Add(61*time.Second)); ev != nil {
		t.Errorf("bed 03 at 61 s: %v, want no scripted event", ev)
	}
	if _, ok := newWard(t, base).ScenarioOnset(); ok {
		t.Error("ScenarioOnset without a scenario: ok")
	}
}

func TestScenarioDesat(t *testing.T) {
	_, recs, _ := play(t, scenarioConfig("desat"))
	r := recs[scBed]
	var hrBefore, hrDuring []float64
	numericsBy(t, r, func(n feed.NumFrame, s float64, ep int) {
		spo2, ok := value(n, feed.MDCSpO2)
		hr, _ := value(n, feed.MDCECGHeartRate)
		switch {
		case !ok:
			t.Fatalf("SpO2 invalid at %v s", s)
		case ep >= 0 && (spo2 >= 85 || spo2 < 80):
			t.Errorf("SpO2 %v at %v s, inside the desaturation", spo2, s)
		case ep < 0 && spo2 < 90:
			t.Errorf("SpO2 %v at %v s, outside the desaturation", spo2, s)
		}
		if s < 5 {
			hrBefore = append(hrBefore, hr)
		} else if ep == 0 {
			hrDuring = append(hrDuring, hr)
		}
	})
	mean := func(v []float64) float64 {
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		return sum / float64(len(v))
	}
	if rise := mean(hrDuring) - mean(hrBefore); rise < 4 || rise > 12 {
		t.Errorf("HR rises by %.1f/min in the desaturation, want 4..12", rise)
	}
	checkOthersNormal(t, recs)
}

func TestScenarioTachy(t *testing.T) {
	_, recs, _ := play(t, scenarioConfig("tachy"))
	r := recs[scBed]
	numericsBy(t, r, func(n feed.NumFrame, s float64, ep int) {
		hr, hok := value(n, feed.MDCECGHeartRate)
		pr, pok := value(n, feed.MDCPulseRate)
		if ep >= 0 && (!hok || !pok || hr < 140 || hr > 160 || pr < 140 || pr > 160) {
			t.Errorf("at %v s, inside the tachycardia: HR %v, PR %v", s, hr, pr)
		}
		if ep < 0 && (!hok || hr > 120 || pr > 120) {
			t.Errorf("at %v s, outside the tachycardia: HR %v, PR %v", s, hr, pr)
		}
	})
	if ecg := rhythmIn(r, 5, 30); ecg < 140 || ecg > 160 {
		t.Errorf("the ECG's R peaks give %.0f/min in the tachycardia", ecg)
	}
	if ecg := rhythmIn(r, 31, 40); ecg > 120 {
		t.Errorf("the ECG's R peaks give %.0f/min after it", ecg)
	}
	checkOthersNormal(t, recs)
}

func TestScenarioBrady(t *testing.T) {
	_, recs, _ := play(t, scenarioConfig("brady"))
	r := recs[scBed]
	numericsBy(t, r, func(n feed.NumFrame, s float64, ep int) {
		hr, hok := value(n, feed.MDCECGHeartRate)
		pr, pok := value(n, feed.MDCPulseRate)
		if ep >= 0 && (!hok || !pok || hr > 40 || hr < 30 || pr > 40 || pr < 30) {
			t.Errorf("at %v s, inside the bradycardia: HR %v, PR %v", s, hr, pr)
		}
		if ep < 0 && (!hok || hr < 50) {
			t.Errorf("at %v s, outside the bradycardia: HR %v", s, hr)
		}
	})
	if ecg := rhythmIn(r, 5, 30); ecg < 32 || ecg > 38 {
		t.Errorf("the ECG's R peaks give %.0f/min in the bradycardia", ecg)
	}
	checkOthersNormal(t, recs)
}

func TestScenarioAsystole(t *testing.T) {
	_, recs, _ := play(t, scenarioConfig("asystole"))
	r := recs[scBed]
	numericsBy(t, r, func(n feed.NumFrame, s float64, ep int) {
		hr, hok := value(n, feed.MDCECGHeartRate)
		_, sok := value(n, feed.MDCSpO2)
		_, pok := value(n, feed.MDCPulseRate)
		if ep >= 0 && (!hok || hr != 0 || sok || pok) {
			t.Errorf("at %v s, in asystole: HR %v (valid %v), SpO2 valid %v, PR valid %v", s, hr, hok, sok, pok)
		}
		if ep < 0 && (!hok || hr < 45 || !sok || !pok) {
			t.Errorf("at %v s, outside asystole: HR %v (valid %v), SpO2 valid %v, PR valid %v", s, hr, hok, sok, pok)
		}
	})
	// No QRS from the onset: the ECG is flat once the last complex's T wave
	// is over; the pleth once the last pulse has run off.
	for _, p := range rPeaks(r) {
		if inEpisode(p) >= 0 {
			t.Errorf("R peak at %.3f s, in asystole", p)
		}
	}
	swing := func(v []float64) float64 { return slices.Max(v) - slices.Min(v) }
	var flat []float64
	for i, v := range r.ecg {
		if s := float64(r.ecgMs[i]) / 1000; inEpisode(s) >= 0 && inEpisode(s-0.7) == inEpisode(s) {
			flat = append(flat, v)
		}
	}
	if len(flat) < 2*23*250 || swing(flat) > 0.25 {
		t.Errorf("ECG in asystole: %d samples, swing %.3f mV", len(flat), swing(flat))
	}
	still := r.pleth[int(6.2/0.008):int(30/0.008)]
	if moving := r.pleth[:int(5/0.008)]; swing(still) > 0.05 || swing(moving) < 0.2 {
		t.Errorf("pleth swing %.3f in asystole, %.3f before", swing(still), swing(moving))
	}
	// The device's own alarm: start at the onset, continue every 10 s, end
	// at the recovery; one id per episode, seq +1 per message.
	type step struct {
		phase feed.AlarmPhase
		state feed.AlarmState
		at    time.Time
	}
	var want []step
	for k := range 2 {
		want = append(want,
			step{feed.PhaseStart, feed.StateActive, onsetOf(k)},
			step{feed.PhaseContinue, feed.StateActive, onsetOf(k).Add(10 * time.Second)},
			step{feed.PhaseContinue, feed.StateActive, onsetOf(k).Add(20 * time.Second)},
			step{feed.PhaseEnd, feed.StateInactive, endOf(k)})
	}
	if len(r.alarms) != len(want) {
		t.Fatalf("%d alarm messages, want %d: %+v", len(r.alarms), len(want), r.alarms)
	}
	for k, a := range r.alarms {
		w := want[k]
		if a.Phase != w.phase || a.State != w.state || a.TsMs != w.at.UnixMilli() || !r.alarmAt[k].Equal(w.at) {
			t.Errorf("alarm %d: %s %s ts %v published %v, want %s %s at %v", k, a.Phase, a.State,
				time.UnixMilli(a.TsMs).Sub(t0), r.alarmAt[k].Sub(t0), w.phase, w.state, w.at.Sub(t0))
		}
		if a.Priority != feed.AlarmHigh || a.Source != feed.SourcePhysiological || a.Code != 199684 ||
			a.Param != feed.MDCECGHeartRate || a.Text != "ASYSTOLE" || a.Seq != uint32(k) {
			t.Errorf("alarm %d: %+v", k, a)
		}
		if sameID := a.ID == r.alarms[k/4*4].ID; !sameID {
			t.Errorf("alarm %d: id %s within the episode of %s", k, a.ID, r.alarms[k/4*4].ID)
		}
	}
	if r.alarms[0].ID == r.alarms[4].ID {
		t.Errorf("both episodes' alarms have the id %s", r.alarms[0].ID)
	}
	checkOthersNormal(t, recs)

	// The same scenario again gives the same messages.
	again := drive(t, newWard(t, scenarioConfig("asystole")), scRun)
	ma := again[scBed].messages()
	var mb []message
	for _, m := range ma {
		if strings.HasSuffix(m.topic, "/alarm") {
			mb = append(mb, m)
		}
	}
	if len(mb) != len(r.alarms) || !bytes.Equal(mb[0].payload, feed.EncodeAlarm(r.alarms[0])) {
		t.Errorf("a second run differs: %d alarms", len(mb))
	}
}

func TestScenarioLeadsOff(t *testing.T) {
	_, recs, _ := play(t, scenarioConfig("leads-off"))
	r := recs[scBed]
	invalid := 0
	for i, v := range r.ecg {
		s := float64(r.ecgMs[i]) / 1000
		if math.IsNaN(v) != (inEpisode(s) >= 0) {
			t.Fatalf("ECG sample at %.3f s: %v", s, v)
		}
		if math.IsNaN(v) {
			invalid++
		}
	}
	if want := 2 * 25 * 250; invalid != want {
		t.Errorf("%d invalid ECG samples, want %d", invalid, want)
	}
	numericsBy(t, r, func(n feed.NumFrame, s float64, ep int) {
		if _, ok := value(n, feed.MDCECGHeartRate); ok == (ep >= 0) {
			t.Errorf("HR valid %v at %v s", ok, s)
		}
	})
	// The status changes at each edge, published at that instant.
	var changes []time.Time
	off := false
	for k, s := range r.statuses {
		if now := len(s.LeadsOff) > 0; now != off {
			if now && !slices.Equal(s.LeadsOff, []uint32{feed.MDCECGLeadII}) {
				t.Errorf("leads_off %v", s.LeadsOff)
			}
			if s.TsMs != r.statusAt[k].UnixMilli() {
				t.Errorf("status ts %d published at %v", s.TsMs, r.statusAt[k])
			}
			changes, off = append(changes, r.statusAt[k]), now
		}
	}
	if want := []time.Time{onsetOf(0), endOf(0), onsetOf(1), endOf(1)}; !slices.EqualFunc(changes, want, time.Time.Equal) {
		t.Errorf("leads-off status changes at %v, want %v", changes, want)
	}
	checkOthersNormal(t, recs)
}

func TestScenarioOfflineStep(t *testing.T) {
	_, recs, raw := play(t, scenarioConfig("offline"))
	msgs := raw[scBed].messages()
	for _, m := range msgs {
		if s := m.at.Sub(t0).Seconds(); inEpisode(s) >= 0 {
			t.Fatalf("published %s at %v s, while offline", m.topic, s)
		}
	}
	// Back at each end: the first message is the online status, at the end.
	for ep := range 2 {
		k := slices.IndexFunc(msgs, func(m message) bool { return !m.at.Before(endOf(ep)) })
		if k < 0 {
			t.Fatalf("never back after episode %d", ep)
		}
		s, err := feed.DecodeStatus(msgs[k].payload)
		if err != nil || !s.Online || !msgs[k].retained || !msgs[k].at.Equal(endOf(ep)) {
			t.Errorf("after episode %d: first message %s at %v", ep, msgs[k].payload, msgs[k].at.Sub(t0))
		}
	}
	if r := recs[scBed]; len(r.nums) != int(scRun.Seconds())-2*25 {
		t.Errorf("%d numerics messages, want %d", len(r.nums), int(scRun.Seconds())-2*25)
	}
	checkOthersNormal(t, recs)
}

// TestScenarioOfflineRun drives Run through the offline scenario: the
// connection of bed 02 is lost (dropped, so the broker publishes its Last
// Will), never closed cleanly after an offline status; when the connection
// cannot drop, the Last Will's message is published on it instead.
func TestScenarioOfflineRun(t *testing.T) {
	for _, drops := range []bool{true, false} {
		cfg := Config{Ward: "ICU1", Beds: 2, Seed: 3, Scenario: "offline", ScenarioBed: 2,
			ScenarioLeadIn: 2 * time.Second, ScenarioHold: 3 * time.Second, ScenarioRecovery: 5 * time.Second}
		w := newWard(t, cfg)
		fb := &fakeBroker{conns: map[string][]*recorder{}, wills: map[string]string{}, droppable: drops}
		var virtual atomic.Int64
		virtual.Store(t0.UnixMilli())
		clock := func() time.Time { return time.UnixMilli(virtual.Load()) }
		ticks := make(chan time.Time)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- w.run(ctx, fb.dial, ticks, clock) }()
		advance := func(to time.Duration) {
			for virtual.Load() < t0.Add(to).UnixMilli() {
				ticks <- time.UnixMilli(virtual.Add(200))
			}
		}
		const id = "vigil-sim-ICU1-02"
		connected := func(k int) func() bool {
			return func() bool { c := fb.connections(id); return len(c) > k && len(c[k].messages()) > 0 }
		}
		waitFor(t, "bed 02 to connect", connected(0))
		advance(1800 * time.Millisecond)
		first := fb.connections(id)[0]
		if first.isDropped() || first.isClosed() {
			t.Fatal("bed 02 lost its connection before the onset")
		}
		advance(2200 * time.Millisecond) // the tick at 2.0 s has been handled
		if drops {
			waitFor(t, "the connection to drop", first.isDropped)
			if first.isClosed() || !lastStatus(t, first).Online {
				t.Errorf("dropped connection: closed %v, last status online %v", first.isClosed(), lastStatus(t, first).Online)
			}
		} else {
			waitFor(t, "the connection to close", first.isClosed)
			msgs := first.messages()
			last := msgs[len(msgs)-1]
			will := feed.EncodeStatus(feed.Status{Device: "SIM-ICU1-02", Model: Model, Patient: lastStatus(t, first).Patient})
			if last.topic != feed.Topic("ICU1", "02", feed.StreamStatus) || !last.retained || last.qos != 1 || !bytes.Equal(last.payload, will) {
				t.Errorf("last message before closing: %s %s", last.topic, last.payload)
			}
			if first.isDropped() {
				t.Error("dropped a connection that cannot drop")
			}
		}
		advance(4800 * time.Millisecond)
		if len(fb.connections(id)) != 1 {
			t.Error("bed 02 dialled again during the hold")
		}
		advance(5200 * time.Millisecond)
		waitFor(t, "bed 02 to come back", connected(1))
		m := fb.connections(id)[1].messages()[0]
		if s, err := feed.DecodeStatus(m.payload); err != nil || !s.Online || !m.retained {
			t.Errorf("bed 02 back: first message %s", m.payload)
		}
		if c := fb.connections("vigil-sim-ICU1-01"); len(c) != 1 || c[0].isDropped() || c[0].isClosed() {
			t.Error("bed 01 lost its connection")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestScenarioNurseCall(t *testing.T) {
	_, recs, _ := play(t, scenarioConfig("nurse-call"))
	r := recs[scBed]
	want := []struct {
		kind feed.EventKind
		at   time.Time
	}{{feed.EventNurseCall, onsetOf(0)}, {feed.EventNurseCallCancel, endOf(0)},
		{feed.EventNurseCall, onsetOf(1)}, {feed.EventNurseCallCancel, endOf(1)}}
	if len(r.events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(r.events), len(want), r.events)
	}
	ids := map[string]bool{}
	for k, e := range r.events {
		if e.Kind != want[k].kind || e.TsMs != want[k].at.UnixMilli() || !r.eventAt[k].Equal(want[k].at) || e.Seq != uint32(k) {
			t.Errorf("event %d: %+v published %v, want %s at %v", k, e, r.eventAt[k].Sub(t0), want[k].kind, want[k].at.Sub(t0))
		}
		ids[e.ID] = true
	}
	if len(ids) != len(want) {
		t.Errorf("event ids %v are not unique", ids)
	}
	r.events = nil // the rest of the bed is normal
	checkNormal(t, scBed, r)
	checkOthersNormal(t, recs)
}

func TestScenarioStorm(t *testing.T) {
	cfg := scenarioConfig("storm")
	cfg.ScenarioBed = 99 // ignored
	_, recs, _ := play(t, cfg)
	for bed, r := range recs {
		numericsBy(t, r, func(n feed.NumFrame, s float64, ep int) {
			spo2, _ := value(n, feed.MDCSpO2)
			hr, _ := value(n, feed.MDCECGHeartRate)
			if ep >= 0 && (spo2 >= 85 || hr <= 140) {
				t.Errorf("bed %d at %v s, in the storm: SpO2 %v, HR %v", bed, s, spo2, hr)
			}
			if ep < 0 && (spo2 < 90 || hr > 125) {
				t.Errorf("bed %d at %v s, outside the storm: SpO2 %v, HR %v", bed, s, spo2, hr)
			}
		})
		var starts, ends []time.Time
		for k, a := range r.alarms {
			if a.Priority != feed.AlarmHigh || a.Source != feed.SourcePhysiological || a.Code != 199854 ||
				a.Param != feed.MDCSpO2 || a.Value == nil || *a.Value >= 85 || a.Limit == nil || *a.Limit != 85 {
				t.Errorf("bed %d alarm %d: %+v", bed, k, a)
			}
			switch a.Phase {
			case feed.PhaseStart:
				starts = append(starts, time.UnixMilli(a.TsMs))
				if !r.alarmAt[k].Equal(time.UnixMilli(a.TsMs)) {
					t.Errorf("bed %d: alarm start published at %v", bed, r.alarmAt[k].Sub(t0))
				}
			case feed.PhaseEnd:
				ends = append(ends, time.UnixMilli(a.TsMs))
			}
		}
		if want := []time.Time{onsetOf(0), onsetOf(1)}; !slices.EqualFunc(starts, want, time.Time.Equal) {
			t.Errorf("bed %d: alarm starts at %v, want %v", bed, starts, want)
		}
		if want := []time.Time{endOf(0), endOf(1)}; !slices.EqualFunc(ends, want, time.Time.Equal) {
			t.Errorf("bed %d: alarm ends at %v, want %v", bed, ends, want)
		}
	}
}

// TestScenarioOnsetOffGrid: an onset between two numerics ticks and two
// steps. The waveform changes at the exact sample, the numerics at the next
// whole second, the status at the next step.
func TestScenarioOnsetOffGrid(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 1, Seed: 2, Scenario: "leads-off",
		ScenarioLeadIn: 2500 * time.Millisecond, ScenarioHold: 3 * time.Second})
	recs := drive(t, w, 6*time.Second)
	on, ok := w.ScenarioOnset()
	if !ok || !on.Equal(t0.Add(2500*time.Millisecond)) {
		t.Fatalf("ScenarioOnset %v %v, want 2.5 s", on.Sub(t0), ok)
	}
	r := decode(t, w, 0, recs[0].messages())
	firstOff := slices.IndexFunc(r.ecg, math.IsNaN)
	if firstOff < 0 || r.ecgMs[firstOff] != 2500 {
		t.Errorf("first invalid ECG sample %d", firstOff)
	}
	for _, n := range r.nums {
		if _, ok := value(n, feed.MDCECGHeartRate); ok == (secs(n) >= 3 && secs(n) < 5.5) {
			t.Errorf("HR valid %v at %v s", ok, secs(n))
		}
	}
	k := slices.IndexFunc(r.statuses, func(s feed.Status) bool { return len(s.LeadsOff) > 0 })
	if k < 0 || !r.statusAt[k].Equal(t0.Add(2600*time.Millisecond)) {
		t.Errorf("leads-off status %d", k)
	}
}
