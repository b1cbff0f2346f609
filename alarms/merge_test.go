package alarms

import (
	"strings"
	"testing"
	"time"
)

func asystole() Condition {
	return Condition{Key: "03/asystole", Bed: "03", Code: CodeAsystole, Priority: High, Source: Physiological,
		Message: "ASYSTOLE"}
}

func desat() Condition {
	return Condition{Key: "03/spo2-desat", Bed: "03", Code: "spo2-desat", Priority: High, Source: Physiological,
		Message: "Desat SpO2 82 < 85"}
}

// raisedHere raises c at this station and returns its alarm as another
// station would have published it.
func raisedHere(t *testing.T, e *Engine, c Condition) Alarm {
	t.Helper()
	e.Report(c)
	for _, a := range e.Alarms() {
		if a.Key == c.Key {
			return a
		}
	}
	t.Fatalf("%s not raised", c.Key)
	return Alarm{}
}

func refusals(e *Engine) (n int, details []string) {
	for _, r := range e.Records() {
		if r.Event == "refused" {
			n++
			details = append(details, r.Detail)
		}
	}
	return n, details
}

// A trusted station's state is still held to this station's rules.
func TestMergeKeepsLocalRules(t *testing.T) {
	t.Run("acknowledgement without a role", func(t *testing.T) {
		e, _ := newTestEngine()
		r := raisedHere(t, e, desat())
		r.Acked, r.AckedBy, r.AckedAt, r.AckedRole, r.Station = true, "intruder", "rogue", NoRole, "st-b"
		e.Merge(r)
		if a := e.Alarms()[0]; a.Acked {
			t.Fatal("an acknowledgement in no role was taken")
		}
		if n, _ := refusals(e); n != 1 {
			t.Fatalf("%d refusals recorded, want 1", n)
		}
		r.AckedRole = Nurse
		e.Merge(r)
		if a := e.Alarms()[0]; !a.Acked || a.AckedBy != "intruder" || a.AckedRole != Nurse {
			t.Fatalf("a nurse's acknowledgement was not taken: %+v", a)
		}
	})
	t.Run("a nurse accepting an alarm escalated to the charge nurse", func(t *testing.T) {
		e, c := newTestEngine()
		e.Report(desat())
		c.advance(31 * time.Second)
		e.Tick()
		r := e.Alarms()[0]
		if r.Escalation != 1 {
			t.Fatalf("escalation %d", r.Escalation)
		}
		r.AcceptedBy, r.AcceptedRole, r.Station = "nurse.x", Nurse, "st-b"
		e.Merge(r)
		if a := e.Alarms()[0]; a.AcceptedBy != "" {
			t.Fatal("a nurse's acceptance stopped the escalation")
		}
		r.AcceptedBy, r.AcceptedRole = "charge.y", ChargeNurse
		e.Merge(r)
		if a := e.Alarms()[0]; a.AcceptedBy != "charge.y" {
			t.Fatal("a charge nurse's acceptance was not taken")
		}
	})
	t.Run("a latched alarm resolved elsewhere unacknowledged", func(t *testing.T) {
		e, _ := newTestEngine()
		r := raisedHere(t, e, asystole())
		r.Resolved, r.Station = true, "st-b"
		e.Merge(r)
		as := e.Alarms()
		if len(as) != 1 || !as[0].Ended || as[0].Acked {
			t.Fatalf("the latched asystole was not kept: %+v", as)
		}
		if p, _ := e.Sounding(); p != High {
			t.Fatalf("sounding %v, want HIGH until acknowledged", p)
		}
		if err := e.Acknowledge(as[0].ID, nurse); err != nil || e.Active() != 0 {
			t.Fatalf("acknowledging the ended asystole: %v, %d left", err, e.Active())
		}
	})
	t.Run("onset moved back", func(t *testing.T) {
		e, _ := newTestEngine()
		r := raisedHere(t, e, desat())
		onset := r.Onset
		r.Onset, r.Station, r.Escalation = onset.Add(-time.Hour), "st-b", 0
		e.Merge(r)
		if a := e.Alarms()[0]; !a.Onset.Equal(onset) {
			t.Fatalf("onset moved to %s", a.Onset)
		}
		r.Onset = onset.Add(-2 * time.Second) // the other station raised it a moment earlier
		e.Merge(r)
		if a := e.Alarms()[0]; !a.Onset.Equal(onset.Add(-2 * time.Second)) {
			t.Fatalf("a near-simultaneous onset was not taken: %s", a.Onset)
		}
		if e.RemoteRefused() != 1 {
			t.Fatalf("RemoteRefused %d", e.RemoteRefused())
		}
	})
	t.Run("onset in the future", func(t *testing.T) {
		e, c := newTestEngine()
		r := Alarm{ID: "03.spo2-desat.1", Condition: desat(), Onset: c.now().Add(time.Hour), Updated: c.now(), Station: "st-b"}
		e.Merge(r)
		if e.Active() != 0 {
			t.Fatal("an alarm from the future was raised")
		}
	})
	t.Run("standby and ALARM OFF", func(t *testing.T) {
		e, c := newTestEngine()
		e.SetStandby("03", true)
		r := Alarm{ID: "03.spo2-desat.1", Condition: desat(), Onset: c.now(), Updated: c.now(), Station: "st-b"}
		e.Merge(r)
		if e.Active() != 0 {
			t.Fatal("another station's alarm raised on a bed on standby")
		}
		e.SetStandby("03", false)
		if err := e.SetBedAlarmOff("03", true, admin); err != nil {
			t.Fatal(err)
		}
		e.Merge(r)
		if e.Active() != 0 {
			t.Fatal("another station's alarm raised on a bed with ALARM OFF")
		}
	})
	t.Run("refusals are recorded once a minute per station", func(t *testing.T) {
		e, c := newTestEngine()
		r := raisedHere(t, e, desat())
		r.Acked, r.AckedBy, r.AckedRole, r.Station = true, "x", NoRole, "st-b"
		for range 100 {
			e.Merge(r)
		}
		if n, d := refusals(e); n != 1 || !strings.Contains(d[0], "st-b") {
			t.Fatalf("%d refusal lines: %q", n, d)
		}
		c.advance(61 * time.Second)
		e.Merge(r)
		if n, d := refusals(e); n != 2 || !strings.Contains(d[1], "101 refused") {
			t.Fatalf("%d refusal lines: %q", n, d)
		}
	})
}
