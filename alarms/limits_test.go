package alarms

import (
	"math"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

func nibp(sys, dia, mean float64) []feed.Numeric {
	return []feed.Numeric{num(feed.MDCNIBPSys, sys), num(feed.MDCNIBPDia, dia), num(feed.MDCNIBPMean, mean)}
}

// onlyAlarm is e's one alarm; the test fails when there are more or none.
func onlyAlarm(t *testing.T, e *Engine) Alarm {
	t.Helper()
	as := e.Alarms()
	if len(as) != 1 {
		t.Fatalf("%d alarms, want 1: %+v", len(as), as)
	}
	return as[0]
}

// A blood pressure (NIBP, ABP) is one measurement: its systolic, diastolic
// and mean limits raise one alarm, which names what is out of range.
func TestEvaluateParameterGroups(t *testing.T) {
	adult := BedLimits{Profile: "adult"}
	t.Run("one NIBP reading, three limits crossed: one alarm", func(t *testing.T) {
		e, c := newTestEngine()
		Evaluate(e, "05", adult, nibp(166, 95, 112), c.t, c.t)
		a := onlyAlarm(t, e)
		if a.Key != "05/"+CodeNIBPLimit || a.Code != CodeNIBPLimit || a.Priority != Medium ||
			a.Message != "NIBP 166/95 (112)  sys > 160, dia > 90, mean > 110" || a.Value != 166 || a.Limit != 160 {
			t.Fatalf("alarm %+v", a)
		}
	})
	t.Run("high and low readings name the crossed members", func(t *testing.T) {
		e, c := newTestEngine()
		Evaluate(e, "05", adult, nibp(166, 88, 112), c.t, c.t)
		if a := onlyAlarm(t, e); a.Text() != "** NIBP 166/88 (112)  sys > 160, mean > 110" {
			t.Fatalf("high: %q", a.Text())
		}
		id := onlyAlarm(t, e).ID
		c.advance(3 * time.Minute)
		Evaluate(e, "05", adult, nibp(84, 48, 60), c.t, c.t)
		a := onlyAlarm(t, e)
		if a.Text() != "** NIBP 84/48 (60)  sys < 90, dia < 50" || a.ID != id || a.Value != 84 || a.Limit != 90 {
			t.Fatalf("low, the same condition going on: %+v", a)
		}
		// Numerics without a pressure: the verdict stands.
		Evaluate(e, "05", adult, []feed.Numeric{num(feed.MDCECGHeartRate, 80)}, c.t, c.t)
		onlyAlarm(t, e)
		c.advance(3 * time.Minute)
		Evaluate(e, "05", adult, nibp(120, 80, 93), c.t, c.t)
		if e.Active() != 0 {
			t.Fatalf("in range, still alarmed: %+v", e.Alarms())
		}
	})
	t.Run("an invalid or absent member is not crossed", func(t *testing.T) {
		e, c := newTestEngine()
		v := nibp(0, 48, 70)
		v[0] = feed.Numeric{Code: feed.MDCNIBPSys, Value: math.NaN()}
		Evaluate(e, "05", adult, v, c.t, c.t)
		if a := onlyAlarm(t, e); a.Message != "NIBP ---/48 (70)  dia < 50" || a.Value != 48 || a.Limit != 50 {
			t.Fatalf("invalid sys: %+v", a)
		}
		Evaluate(e, "05", adult, []feed.Numeric{num(feed.MDCNIBPSys, 170)}, c.t, c.t)
		if a := onlyAlarm(t, e); a.Message != "NIBP 170/--- (---)  sys > 160" {
			t.Fatalf("sys alone: %+v", a)
		}
		Evaluate(e, "05", adult, []feed.Numeric{{Code: feed.MDCNIBPSys, Value: math.NaN()}, {Code: feed.MDCNIBPDia, Valid: true, Value: math.NaN()}}, c.t, c.t)
		if e.Active() != 0 {
			t.Fatalf("no valid value, still alarmed: %+v", e.Alarms())
		}
	})
	t.Run("priority is the highest of the crossed limits'", func(t *testing.T) {
		e, c := newTestEngine()
		dia, _ := adult.Limit("nibp-dia")
		dia.Priority = High
		l := BedLimits{Profile: "adult", Overrides: map[string]Limit{"nibp-dia": dia}}
		Evaluate(e, "05", l, nibp(170, 80, 100), c.t, c.t)
		if a := onlyAlarm(t, e); a.Priority != Medium {
			t.Fatalf("sys crossed: %v", a.Priority)
		}
		Evaluate(e, "05", l, nibp(170, 95, 100), c.t, c.t)
		if a := onlyAlarm(t, e); a.Priority != High || a.Text() != "*** NIBP 170/95 (100)  sys > 160, dia > 90" {
			t.Fatalf("dia crossed too: %+v", a)
		}
	})
	t.Run("ABP: one alarm after the limits' delay", func(t *testing.T) {
		e, c := newTestEngine()
		abp := func(sys, dia, mean float64) []feed.Numeric {
			return []feed.Numeric{num(feed.MDCABPSys, sys), num(feed.MDCABPDia, dia), num(feed.MDCABPMean, mean)}
		}
		for range 5 {
			Evaluate(e, "05", adult, abp(172, 94, 120), c.t, c.t)
			if e.Active() != 0 {
				t.Fatal("ABP alarmed before its 5 s delay")
			}
			c.advance(time.Second)
		}
		Evaluate(e, "05", adult, abp(171, 93, 119), c.t, c.t)
		if a := onlyAlarm(t, e); a.Code != CodeABPLimit || a.Text() != "** ABP 171/93 (119)  sys > 160, dia > 90, mean > 110" {
			t.Fatalf("ABP: %+v", a)
		}
		Evaluate(e, "05", adult, abp(130, 80, 97), c.t, c.t)
		if e.Active() != 0 {
			t.Fatal("ABP in range, still alarmed")
		}
	})
	t.Run("an alarm of the per-member codes before groups ends with the next reading", func(t *testing.T) {
		e, c := newTestEngine()
		e.Report(Condition{Key: "05/nibp-sys-high", Bed: "05", Code: "nibp-sys-high", Priority: Medium, Message: "NIBP sys 170 > 160"})
		Evaluate(e, "05", adult, nibp(120, 80, 93), c.t, c.t)
		if e.Active() != 0 {
			t.Fatalf("the old code's alarm stays: %+v", e.Alarms())
		}
	})
	t.Run("groups and their members", func(t *testing.T) {
		for _, g := range LimitGroups {
			lg, ok := LimitGroupByCode(g.Code)
			if !ok || lg.Name != g.Name || len(g.Members) != 3 {
				t.Fatalf("group %+v", g)
			}
			for _, m := range g.Members {
				if _, ok := ParamByName(m); !ok {
					t.Fatalf("group %s: no parameter %s", g.Name, m)
				}
				if x, ok := GroupOf(m); !ok || x.Name != g.Name {
					t.Fatalf("GroupOf(%s) = %+v", m, x)
				}
			}
		}
		if _, ok := GroupOf("hr"); ok {
			t.Fatal("HR in a group")
		}
	})
}
