package alarms

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

func sounding(e *Engine) Priority { p, _ := e.Sounding(); return p }

// The inactivation states of the fixed vocabulary beyond the table test:
// per-alarm audio pause, AUDIO OFF, ALARM OFF, and who may set them.
func TestInactivationStates(t *testing.T) {
	t.Run("audio pause of one alarm: the next one sounds", func(t *testing.T) {
		e, c := newTestEngine()
		e.Report(Condition{Key: "a", Priority: High, Message: "a"})
		e.Report(Condition{Key: "b", Priority: Medium, Message: "b"})
		id := e.Alarms()[0].ID
		if err := e.PauseAlarmAudio(id, nurse); err != nil {
			t.Fatal(err)
		}
		if got := sounding(e); got != Medium {
			t.Fatalf("sounding %v with the HIGH paused, want medium", got)
		}
		c.advance(120 * time.Second)
		if got := sounding(e); got != High {
			t.Fatalf("sounding %v after the pause, want high", got)
		}
	})
	t.Run("AUDIO OFF: admin only, silences all but always-audible alarms", func(t *testing.T) {
		e, _ := newTestEngine()
		e.Report(Condition{Key: "a", Priority: High, Message: "SpO2 80 < 85"})
		if err := e.SetAudioOff(true, charge); !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("charge nurse set AUDIO OFF: %v", err)
		}
		if err := e.SetAudioOff(true, admin); err != nil || !e.AudioOff() {
			t.Fatal(err)
		}
		if got := sounding(e); got != None {
			t.Fatalf("sounding %v under AUDIO OFF", got)
		}
		e.Report(Condition{Key: "/broker-lost", Code: CodeBrokerLost, Priority: Medium, Source: Technical, Message: "lost", Audible: true})
		if got := sounding(e); got != Medium {
			t.Fatalf("loss of communication silent under AUDIO OFF: %v", got)
		}
		e.PauseAudio(nurse)
		if got := sounding(e); got != Medium {
			t.Fatalf("loss of communication silent under a pause: %v", got)
		}
		_ = e.SetAudioOff(false, admin)
	})
	t.Run("ALARM OFF on a bed: admin only, indefinite, technical alarms still raised", func(t *testing.T) {
		e, c := newTestEngine()
		e.Report(spo2Low("80"))
		c.advance(10 * time.Second)
		e.Tick()
		if err := e.SetBedAlarmOff("05", true, charge); !errors.Is(err, ErrNotAllowed) {
			t.Fatal("charge nurse set ALARM OFF")
		}
		if err := e.SetBedAlarmOff("05", true, admin); err != nil {
			t.Fatal(err)
		}
		if e.Active() != 0 {
			t.Fatal("physiological alarm kept under ALARM OFF")
		}
		c.advance(24 * time.Hour)
		e.Tick()
		e.Report(spo2Low("80"))
		c.advance(20 * time.Second)
		e.Tick()
		e.Report(Condition{Key: "05/no-data", Bed: "05", Priority: Medium, Source: Technical, Message: "NO DATA"})
		if e.Active() != 1 || e.Alarms()[0].Key != "05/no-data" || !e.BedAlarmOff("05") {
			t.Fatalf("alarms under ALARM OFF: %+v", e.Alarms())
		}
		_ = e.SetBedAlarmOff("05", false, admin)
		e.Report(spo2Low("80"))
		c.advance(10 * time.Second)
		e.Tick()
		if e.Active() != 2 {
			t.Fatal("ALARM OFF not lifted")
		}
	})
	t.Run("latched, ended, condition back: the same alarm goes on", func(t *testing.T) {
		e, _ := newTestEngine()
		e.Report(Condition{Bed: "07", Code: CodeAsystole, Priority: High, Message: "ASYSTOLE"})
		id := e.Alarms()[0].ID
		if !e.Alarms()[0].Latching {
			t.Fatal("asystole does not latch")
		}
		e.Clear("07/asystole")
		if !e.Alarms()[0].Ended {
			t.Fatal("not ended")
		}
		e.Report(Condition{Bed: "07", Code: CodeAsystole, Priority: High, Message: "ASYSTOLE"})
		if a := e.Alarms()[0]; a.Ended || a.ID != id {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("acknowledged latching alarm resolves with its condition", func(t *testing.T) {
		e, _ := newTestEngine()
		e.Report(Condition{Bed: "07", Code: CodeNurseCall, Priority: Medium, Message: "Nurse call"})
		_ = e.Acknowledge(e.Alarms()[0].ID, nurse)
		e.Clear("07/nurse-call")
		if e.Active() != 0 {
			t.Fatal("acknowledged latched alarm stayed")
		}
	})
	t.Run("a nurse may respond only once an alarm reached every station", func(t *testing.T) {
		e, c := newTestEngine()
		e.Report(Condition{Key: "x", Priority: High, Message: "VT"})
		c.advance(30 * time.Second)
		e.Tick()
		id := e.Alarms()[0].ID
		if err := e.Respond(id, true, nurse); !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("nurse accepted at level 1: %v", err)
		}
		c.advance(60 * time.Second)
		e.Tick()
		if _, loud := e.Sounding(); !loud {
			t.Fatal("an alarm escalated to every station is not loud")
		}
		if err := e.Respond(id, true, nurse); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.Sounding(); p != None {
			t.Fatalf("the accepted alarm still sounds: %v", p)
		}
	})
}

// Two engines (stations) converge whatever order their messages cross in.
func TestMergeConverges(t *testing.T) {
	c := &clock{time.Unix(1_732_400_000, 0)}
	a := NewEngine(Policy{}, c.now, "A")
	b := NewEngine(Policy{}, c.now, "B")
	since := c.t.Add(-time.Second)
	cond := Condition{Bed: "05", Code: "spo2-desat", Priority: High, Source: Physiological, Message: "Desat SpO2 80 < 85", Since: since}
	a.Report(cond)
	b.Report(cond)
	if a.Alarms()[0].ID != b.Alarms()[0].ID {
		t.Fatalf("ids differ: %s %s", a.Alarms()[0].ID, b.Alarms()[0].ID)
	}
	exchange := func() {
		ca, cb := a.TakeChanges(), b.TakeChanges()
		for _, x := range ca {
			b.Merge(x)
		}
		for _, x := range cb {
			a.Merge(x)
		}
	}
	exchange()
	_ = a.Acknowledge(a.Alarms()[0].ID, Actor{Who: "anna", Where: "A"})
	exchange()
	if !b.Alarms()[0].Acked || b.Alarms()[0].AckedBy != "anna" || b.Alarms()[0].AckedAt != "A" {
		t.Fatalf("ack not merged: %+v", b.Alarms()[0])
	}
	if sounding(b) != None {
		t.Fatal("B still sounds an alarm acknowledged at A")
	}
	// An older message arriving late does not undo the acknowledgement.
	old := a.Alarms()[0]
	old.Acked = false
	b.Merge(old)
	if !b.Alarms()[0].Acked {
		t.Fatal("a stale message undid an acknowledgement")
	}
	a.Clear("05/spo2-desat")
	exchange()
	if a.Active() != 0 || b.Active() != 0 {
		t.Fatalf("resolution not merged: A %d B %d", a.Active(), b.Active())
	}
	b.Merge(old) // a resolved alarm never comes back
	if b.Active() != 0 {
		t.Fatal("tombstone ignored")
	}
	// A restarting station learns an alarm it has no condition for.
	d := NewEngine(Policy{}, c.now, "D")
	a.Report(Condition{Bed: "09", Code: CodeNurseCall, Priority: Medium, Message: "Nurse call"})
	for _, x := range a.TakeChanges() {
		d.Merge(x)
	}
	if d.Active() != 1 || !d.Alarms()[0].Remote || !d.Alarms()[0].Latching {
		t.Fatalf("recovery: %+v", d.Alarms())
	}
	// Raised at once at two stations under different ids: the smaller wins.
	e1 := NewEngine(Policy{}, c.now, "E1")
	e2 := NewEngine(Policy{}, c.now, "E2")
	e1.Report(Condition{Bed: "03", Code: "no-data", Priority: Medium, Message: "NO DATA", Since: c.t})
	e2.Report(Condition{Bed: "03", Code: "no-data", Priority: Medium, Message: "NO DATA", Since: c.t.Add(time.Millisecond)})
	c1, c2 := e1.TakeChanges(), e2.TakeChanges()
	for _, x := range c1 {
		e2.Merge(x)
	}
	for _, x := range c2 {
		e1.Merge(x)
	}
	if e1.Alarms()[0].ID != e2.Alarms()[0].ID || e1.Alarms()[0].ID != c1[0].ID {
		t.Fatalf("ids did not converge: %s %s", e1.Alarms()[0].ID, e2.Alarms()[0].ID)
	}
	if ch := e2.TakeChanges(); len(ch) != 1 || !ch[0].Resolved || ch[0].ID != c2[0].ID {
		t.Fatalf("the losing id is not withdrawn: %+v", ch)
	}
}

// textOf is the text of the alarm of code shown by e, "" when none is.
func textOf(e *Engine, code string) string {
	for _, a := range e.Alarms() {
		if a.Code == code {
			return a.Text()
		}
	}
	return ""
}

func num(code uint32, v float64) feed.Numeric { return feed.Numeric{Code: code, Value: v, Valid: true} }

// Limit evaluation: messages shaped like clinical-reference §1, delays per
// parameter, desaturation without delay and superseding the low limit.
func TestEvaluateLimits(t *testing.T) {
	e, c := newTestEngine()
	adult := BedLimits{Profile: "adult"}
	eval := func(v ...feed.Numeric) { Evaluate(e, "05", adult, v, c.t, c.t) }
	eval(num(feed.MDCSpO2, 84))
	if e.Active() != 1 || e.Alarms()[0].Text() != "*** Desat SpO2 84 < 85" {
		t.Fatalf("desaturation: %+v", e.Alarms())
	}
	eval(num(feed.MDCSpO2, 88))
	if e.Active() != 0 {
		t.Fatal("desaturation did not clear")
	}
	c.advance(9 * time.Second)
	eval(num(feed.MDCSpO2, 88))
	if e.Active() != 0 {
		t.Fatal("SpO2 low raised before its 10 s delay")
	}
	c.advance(time.Second)
	eval(num(feed.MDCSpO2, 87))
	if e.Active() != 1 || e.Alarms()[0].Text() != "** SpO2 87 < 90" {
		t.Fatalf("SpO2 low: %+v", e.Alarms())
	}
	eval(num(feed.MDCECGHeartRate, 134))
	c.advance(5 * time.Second)
	eval(num(feed.MDCECGHeartRate, 134))
	if e.Active() != 2 || textOf(e, "hr-high") != "** HR 134 > 120" {
		t.Fatalf("HR high: %+v", e.Alarms())
	}
	eval(num(feed.MDCTemp, 38.94))
	c.advance(10 * time.Second)
	eval(num(feed.MDCTemp, 38.94), feed.Numeric{Code: feed.MDCECGHeartRate, Valid: false, Value: math.NaN()})
	got := map[string]string{}
	for _, a := range e.Alarms() {
		got[a.Code] = a.Text()
	}
	if got["temp-high"] != "* Temp 38.9 > 38.5" || got["hr-high"] != "" {
		t.Fatalf("temp and invalid HR: %v", got)
	}
	neo := BedLimits{Profile: "neonatal"}
	Evaluate(e, "N1", neo, []feed.Numeric{num(feed.MDCSpO2, 98)}, c.t, c.t)
	c.advance(10 * time.Second)
	Evaluate(e, "N1", neo, []feed.Numeric{num(feed.MDCSpO2, 98)}, c.t, c.t)
	if !e.Present("N1/spo2-high") {
		t.Fatal("neonatal SpO2 high limit not alarmed")
	}
	if _, err := adult.WithLimit("spo2", 60, math.NaN()); err == nil {
		t.Fatal("limit outside the profile's bounds accepted")
	}
	if _, err := adult.WithLimit("hr", 100, 90); err == nil {
		t.Fatal("low above high accepted")
	}
	l, err := adult.WithLimit("spo2", 88, math.NaN())
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := l.Limit("spo2"); x.Low != 88 || x.Delay != 10*time.Second {
		t.Fatalf("override %+v", x)
	}
	if x, _ := adult.Limit("spo2"); x.Low != 90 {
		t.Fatal("override leaked into the profile")
	}
}
