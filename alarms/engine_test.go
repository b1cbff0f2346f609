package alarms

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newTestEngine() (*Engine, *clock) {
	c := &clock{time.Unix(1_732_400_000, 0)}
	return NewEngine(Policy{}, c.now, "station-1"), c
}
func events(e *Engine) (out []string) {
	for _, r := range e.Records() {
		out = append(out, r.Event)
	}
	return out
}

var (
	nurse  = Actor{Who: "nurse.anna", Where: "station-1", Role: Nurse}
	charge = Actor{Who: "charge.ben", Where: "station-2", Role: ChargeNurse}
	admin  = Actor{Who: "admin.cy", Where: "station-1", Role: Admin}
)

func spo2Low(v string) Condition {
	return Condition{Key: "05/spo2-low", Bed: "05", Priority: High, Source: Physiological,
		Message: "SpO2 " + v + " < 90", Delay: 10 * time.Second}
}

// Every transition of the table in Engine's documentation, as steps.
func TestTransitions(t *testing.T) {
	type step struct {
		do      func(e *Engine, c *clock)
		shown   int      // alarms listed
		sound   Priority // what the speaker plays
		trail   string   // last record's event, "" = not checked
		quiet   bool     // no new record at all
		message string   // first alarm's text, if checked
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"condition delay, then raised", []step{
			{do: func(e *Engine, c *clock) { e.Report(spo2Low("88")) }, shown: 0, sound: None},
			{do: func(e *Engine, c *clock) { c.advance(9 * time.Second); e.Report(spo2Low("87")); e.Tick() }, shown: 0},
			{do: func(e *Engine, c *clock) { c.advance(time.Second); e.Report(spo2Low("86")) }, shown: 1, sound: High, trail: "raised", message: "*** SpO2 86 < 90"},
		}},
		{"pending condition that goes away raises nothing", []step{
			{do: func(e *Engine, c *clock) { e.Report(spo2Low("88")) }},
			{do: func(e *Engine, c *clock) { c.advance(5 * time.Second); e.Clear("05/spo2-low") }},
			{do: func(e *Engine, c *clock) { c.advance(10 * time.Second); e.Tick() }, shown: 0, sound: None},
		}},
		{"no delay: at once; acknowledged: shown, silent; condition gone: resolved", []step{
			{do: func(e *Engine, c *clock) {
				e.Report(Condition{Key: "03/hr-high", Bed: "03", Priority: Medium, Message: "HR 134 > 120"})
			}, shown: 1, sound: Medium, trail: "raised", message: "** HR 134 > 120"},
			{do: func(e *Engine, c *clock) { e.Acknowledge(e.Alarms()[0].ID, nurse) }, shown: 1, sound: None, trail: "acknowledged"},
			{do: func(e *Engine, c *clock) { e.Clear("03/hr-high") }, shown: 0, sound: None, trail: "resolved"},
		}},
		{"latched: stays after its condition until acknowledged", []step{
			{do: func(e *Engine, c *clock) {
				e.Report(Condition{Key: "07/asystole", Bed: "07", Priority: High, Message: "Asystole", Latching: true})
			}, shown: 1, sound: High},
			{do: func(e *Engine, c *clock) { e.Clear("07/asystole") }, shown: 1, sound: High, trail: "ended"},
			{do: func(e *Engine, c *clock) { e.Acknowledge(e.Alarms()[0].ID, nurse) }, shown: 0, sound: None, trail: "resolved"},
		}},
		{"not latched: gone with its condition, unacknowledged", []step{
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "k", Priority: Low, Message: "RR 7 < 8"}) }, shown: 1, sound: Low},
			{do: func(e *Engine, c *clock) { e.Clear("k") }, shown: 0, sound: None, trail: "resolved"},
		}},
		{"audio pause: silent, a higher priority breaks through, expires by itself", []step{
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "a", Priority: Medium, Message: "HR 130 > 120"}) }, shown: 1, sound: Medium},
			{do: func(e *Engine, c *clock) { e.PauseAudio(nurse) }, shown: 1, sound: None, trail: "audio-paused"},
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "b", Priority: Medium, Message: "RR 31 > 30"}) }, shown: 2, sound: None, trail: "raised"},
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "c", Priority: High, Message: "SpO2 80 < 85"}) }, shown: 3, sound: High, trail: "raised"},
			{do: func(e *Engine, c *clock) { e.Clear("c") }, shown: 2, sound: None, trail: "resolved"},
			{do: func(e *Engine, c *clock) { c.advance(120 * time.Second); e.Tick() }, shown: 2, sound: Medium, trail: "audio-resumed"},
		}},
		{"alarm paused bed: nothing physiological is raised, technical still is", []step{
			{do: func(e *Engine, c *clock) { e.Report(spo2Low("85")); c.advance(10 * time.Second); e.Tick() }, shown: 1, sound: High},
			{do: func(e *Engine, c *clock) { e.PauseBed("05", time.Hour, charge) }, shown: 0, sound: None, trail: "resolved"},
			{do: func(e *Engine, c *clock) {
				e.Report(spo2Low("84"))
				c.advance(20 * time.Second)
				e.Report(spo2Low("84"))
			}, shown: 0},
			{do: func(e *Engine, c *clock) {
				e.Report(Condition{Key: "05/nodata", Bed: "05", Priority: Medium, Source: Technical, Message: "NO DATA"})
			}, shown: 1, sound: Medium},
			{do: func(e *Engine, c *clock) { c.advance(5 * time.Minute); e.Tick() }, shown: 1, trail: "alarm-resumed", sound: Medium},
		}},
		{"escalation: HIGH to the charge nurse at 30 s, to every station 60 s later; accepted stops it and acknowledges", []step{
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "x", Priority: High, Message: "VT"}) }, shown: 1, sound: High},
			{do: func(e *Engine, c *clock) { c.advance(29 * time.Second); e.Tick() }, shown: 1, sound: High, quiet: true},
			{do: func(e *Engine, c *clock) { c.advance(time.Second); e.Tick() }, shown: 1, sound: High, trail: "escalated"},
			{do: func(e *Engine, c *clock) { e.Respond(e.Alarms()[0].ID, false, charge) }, shown: 1, sound: High, trail: "rejected"},
			{do: func(e *Engine, c *clock) { c.advance(60 * time.Second); e.Tick() }, shown: 1, sound: High, trail: "escalated"},
			{do: func(e *Engine, c *clock) { e.Respond(e.Alarms()[0].ID, true, charge) }, shown: 1, sound: None, trail: "acknowledged"},
		}},
		{"a new condition after resolution is a new alarm that sounds again", []step{
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "k", Priority: Medium, Message: "m"}) }, shown: 1, sound: Medium},
			{do: func(e *Engine, c *clock) { e.Acknowledge(e.Alarms()[0].ID, nurse); e.Clear("k") }, shown: 0, sound: None},
			{do: func(e *Engine, c *clock) { e.Report(Condition{Key: "k", Priority: Medium, Message: "m"}) }, shown: 1, sound: Medium, trail: "raised"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, c := newTestEngine()
			for i, s := range tc.steps {
				before := len(e.Records())
				s.do(e, c)
				if got := len(e.Alarms()); got != s.shown {
					t.Fatalf("step %d: %d alarms shown, want %d: %+v", i, got, s.shown, e.Alarms())
				}
				if got, _ := e.Sounding(); got != s.sound {
					t.Fatalf("step %d: sounding %v, want %v", i, got, s.sound)
				}
				if s.trail != "" {
					r := e.Records()
					if len(r) == before || r[len(r)-1].Event != s.trail {
						t.Fatalf("step %d: trail %v, want a new %q", i, events(e), s.trail)
					}
				}
				if s.quiet && len(e.Records()) != before {
					t.Fatalf("step %d: unexpected records %v", i, events(e)[before:])
				}
				if s.message != "" && e.Alarms()[0].Text() != s.message {
					t.Fatalf("step %d: message %q, want %q", i, e.Alarms()[0].Text(), s.message)
				}
			}
		})
	}
}

func TestMediumEscalatesAfterTwoMinutesAndAckStopsIt(t *testing.T) {
	e, c := newTestEngine()
	e.Report(Condition{Key: "m", Priority: Medium, Message: "HR 125 > 120"})
	c.advance(119 * time.Second)
	e.Tick()
	if e.Alarms()[0].Escalation != 0 {
		t.Fatal("escalated before 120 s")
	}
	c.advance(time.Second)
	e.Tick()
	if e.Alarms()[0].Escalation != 1 {
		t.Fatal("not escalated at 120 s")
	}
	c.advance(10 * time.Minute)
	e.Tick()
	if e.Alarms()[0].Escalation != 1 {
		t.Fatal("MEDIUM went past the charge nurse")
	}
	e2, c2 := newTestEngine()
	e2.Report(Condition{Key: "h", Priority: High, Message: "VF"})
	e2.Acknowledge(e2.Alarms()[0].ID, nurse)
	c2.advance(5 * time.Minute)
	e2.Tick()
	if e2.Alarms()[0].Escalation != 0 {
		t.Fatal("an acknowledged alarm escalated")
	}
}

// The trail says who, where and when for every action.
func TestTrailRecordsWhoWhereWhen(t *testing.T) {
	e, c := newTestEngine()
	e.Report(Condition{Key: "h", Bed: "02", Priority: High, Message: "SpO2 82 < 85"})
	c.advance(3 * time.Second)
	e.Acknowledge(e.Alarms()[0].ID, nurse)
	r := e.Records()
	last := r[len(r)-1]
	if last.Event != "acknowledged" || last.Who != "nurse.anna" || last.Where != "station-1" || last.Bed != "02" ||
		!last.At.Equal(c.t) || last.AlarmID != "h."+fmt.Sprint(c.t.Add(-3*time.Second).UnixMilli()) {
		t.Fatalf("record %+v", last)
	}
	if e.Acknowledge("nonexistent#9", nurse) == nil || e.Respond(e.Alarms()[0].ID, true, charge) == nil {
		t.Fatal("acted on an alarm that does not exist or was never escalated")
	}
}

// Alarms lists what needs attention first: priority, then unacknowledged
// before acknowledged, active before ended, the newest first (a new alarm
// is never hidden behind an old one of the same rank), then id.
func TestAlarmsOrderedByPriorityAttentionThenNewest(t *testing.T) {
	e, c := newTestEngine()
	report := func(key string, p Priority, latching bool) {
		e.Report(Condition{Key: key, Priority: p, Message: key, Latching: latching})
		c.advance(time.Second)
	}
	report("low", Low, false)
	report("med1", Medium, false)
	report("high-old", High, false)
	report("med-acked", Medium, false)
	report("med2", Medium, false)
	report("high-ended", High, true)
	report("med-new-acked", Medium, false)
	for _, a := range e.Alarms() {
		if a.Key == "med-acked" || a.Key == "med-new-acked" {
			if err := e.Acknowledge(a.ID, nurse); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.Clear("high-ended") // latched: ended, waiting for acknowledgement
	// Two of a rank with the same onset: by id.
	e.Report(Condition{Key: "tie-b", Priority: Low, Message: "b"})
	e.Report(Condition{Key: "tie-a", Priority: Low, Message: "a"})
	var keys []string
	for _, a := range e.Alarms() {
		keys = append(keys, a.Key)
	}
	want := "high-old,high-ended,med2,med1,med-new-acked,med-acked,tie-a,tie-b,low"
	if strings.Join(keys, ",") != want {
		t.Fatalf("order %v, want %s", keys, want)
	}
	// A pause longer than the policy allows is cut to it.
	if err := e.PauseBed("05", 24*time.Hour, nurse); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a nurse paused a bed's alarms: %v", err)
	}
	_ = e.PauseBed("05", 24*time.Hour, charge)
	if r := e.Records(); r[len(r)-1].Detail != "for 5m0s" {
		t.Fatalf("bed pause %q", r[len(r)-1].Detail)
	}
}

// An alarm whose condition ended (latched, waiting for acknowledgement) is
// not escalated: it stays shown and sounding until someone acknowledges it.
func TestEndedAlarmDoesNotEscalate(t *testing.T) {
	e, c := newTestEngine()
	e.Report(Condition{Key: "07/asystole", Bed: "07", Code: CodeAsystole, Priority: High, Message: "ASYSTOLE"})
	e.Clear("07/asystole")
	c.advance(5 * time.Minute)
	e.Tick()
	as := e.Alarms()
	if len(as) != 1 || !as[0].Ended || sounding(e) != High {
		t.Fatalf("the latched alarm: %+v, sounding %v", as, sounding(e))
	}
	if as[0].Escalation != 0 {
		t.Fatalf("an ended alarm still escalated: level %d, trail %v", as[0].Escalation, events(e))
	}
	e.Report(Condition{Key: "07/asystole", Bed: "07", Code: CodeAsystole, Priority: High, Message: "ASYSTOLE"})
	e.Tick()
	if a := e.Alarms()[0]; a.Ended || a.Escalation != 1 {
		t.Fatalf("condition back: ended %v, escalation %d, want active at 1", a.Ended, a.Escalation)
	}
}

// Accepting responsibility for an escalated alarm acknowledges it, as the
// one who accepted, in the trail as an acknowledgement is; rejecting does
// not; who may accept is unchanged.
func TestAcceptAcknowledges(t *testing.T) {
	escalated := func() (*Engine, *clock, string) {
		e, c := newTestEngine()
		e.Report(Condition{Key: "04/vt", Bed: "04", Priority: High, Message: "VT"})
		c.advance(30 * time.Second)
		e.Tick()
		return e, c, e.Alarms()[0].ID
	}
	e, _, id := escalated()
	if err := e.Respond(id, false, charge); err != nil {
		t.Fatal(err)
	}
	if a := e.Alarms()[0]; a.Acked || sounding(e) != High {
		t.Fatalf("a rejection acknowledged: %+v", a)
	}
	if err := e.Respond(id, true, nurse); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a nurse accepted at level 1: %v", err)
	}
	if err := e.Respond(id, true, Actor{}); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("accepted at a locked station: %v", err)
	}
	if a := e.Alarms()[0]; a.Acked || a.AcceptedBy != "" {
		t.Fatalf("a refused acceptance changed the alarm: %+v", a)
	}
	before := len(e.Records())
	if err := e.Respond(id, true, charge); err != nil {
		t.Fatal(err)
	}
	a := e.Alarms()[0]
	if a.AcceptedBy != charge.Who || a.AcceptedRole != ChargeNurse || !a.Acked || a.AckedBy != charge.Who ||
		a.AckedRole != ChargeNurse || a.AckedAt != charge.Where {
		t.Fatalf("accepted: %+v", a)
	}
	if p := sounding(e); p != None {
		t.Fatalf("an accepted alarm still sounds: %v", p)
	}
	recs := e.Records()[before:]
	if len(recs) != 2 || recs[0].Event != "accepted" || recs[1].Event != "acknowledged" {
		t.Fatalf("trail %+v", recs)
	}
	for _, r := range recs {
		if r.Who != charge.Who || r.Where != charge.Where || r.AlarmID != id || r.Bed != "04" {
			t.Fatalf("record %+v", r)
		}
	}
	if ch := e.TakeChanges(); len(ch) != 1 || !ch[0].Acked || ch[0].AcceptedBy != charge.Who {
		t.Fatalf("published %+v", ch)
	}
	// Once at every station, a nurse may accept: it acknowledges too.
	e, c, id := escalated()
	c.advance(60 * time.Second)
	e.Tick()
	if err := e.Respond(id, true, nurse); err != nil {
		t.Fatal(err)
	}
	if a := e.Alarms()[0]; !a.Acked || a.AckedBy != nurse.Who || a.AckedRole != Nurse {
		t.Fatalf("a nurse's acceptance at level 2: %+v", a)
	}
}
