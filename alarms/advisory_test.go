package alarms

import (
	"testing"
	"testing/synctest"
	"time"
)

// Advisories stay apart: shown, labelled, never sounding, and never
// touching the alarms that are there.
func TestAdvisoriesAreApartFromAlarms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, hub, rec, stop := startService(t, Nurse)
		defer stop()
		hub.Numerics("05", spo2Frame(80))
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		before := svc.View()
		if len(before.Alarms) != 1 || rec.lastSound() != "high" {
			t.Fatalf("setup: %+v %q", before.Alarms, rec.lastSound())
		}
		svc.Advise(Advisory{Bed: "05", Kind: "news2", Text: "NEWS2 7: urgent review"})
		svc.Advise(Advisory{Bed: "06", Kind: "artefact", Text: "ECG artefact suspected"})
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		v := svc.View()
		if len(v.Advisories) != 2 || v.Advisories[0].Label() != "ADVISORY NEWS2 7: urgent review" {
			t.Fatalf("advisories %+v", v.Advisories)
		}
		if len(v.Alarms) != 1 || v.Alarms[0].ID != before.Alarms[0].ID || v.Alarms[0].Acked || rec.lastSound() != "high" {
			t.Fatalf("an advisory changed the alarms: %+v sound %q", v.Alarms, rec.lastSound())
		}
		if _, ok := v.Beds["06"]; ok {
			t.Fatal("an advisory made a bed alarm")
		}
		svc.Withdraw("05", "news2")
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if a := svc.View().Advisories; len(a) != 1 || a[0].Bed != "06" {
			t.Fatalf("after withdrawing: %+v", a)
		}
	})
}
