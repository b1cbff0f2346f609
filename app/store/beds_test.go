package store

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vigil-station/vigil/alarms"
)

func TestBedAdministration(t *testing.T) {
	ctx := context.Background()
	changes := 0
	s := openTest(t, t.TempDir(), Options{OnBeds: func() { changes++ }})
	seedUsers(t, s)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SaveBed(ctx, admin, "05", "Bed 5", "icu/05", "adult"))
	must(s.SaveBed(ctx, admin, "06", "Bed 6", "icu/06", "adult"))
	if err := s.SaveBed(ctx, admin, "07", "Bed 7", "icu/05", "adult"); err == nil || !strings.Contains(err.Error(), "already bound to bed 05") {
		t.Fatalf("one feed, two beds: %v", err)
	}
	if err := s.SaveBed(ctx, admin, "07", "Bed 7", "icu/#", "adult"); err == nil {
		t.Fatal("wildcard feed accepted")
	}
	p := Patient{Name: "Jane Roe", MRN: "MRN-0042", DOB: "1948-03-09"}
	if err := s.Admit(ctx, admin, "05", Patient{Name: "X", MRN: "1", DOB: "2999-01-01"}); err == nil {
		t.Fatal("a future birth date accepted")
	}
	must(s.Admit(ctx, admin, "05", p))
	if err := s.Admit(ctx, admin, "06", p); err == nil || !strings.Contains(err.Error(), "already in bed 05") {
		t.Fatalf("one MRN in two beds: %v", err)
	}
	must(s.Assign(ctx, charge, "05", "nina"))
	// A nurse adjusts her own bed's limits within the bounds, not another bed's.
	must(s.SetLimit(ctx, nurse, "05", "hr", 45, 110))
	if err := s.SetLimit(ctx, nurse, "05", "hr", 5, 110); err == nil {
		t.Fatal("a limit outside the profile's bounds accepted")
	}
	if err := s.SetLimit(ctx, nurse, "06", "hr", 45, 110); !errors.Is(err, alarms.ErrNotAllowed) {
		t.Fatalf("limits of a bed not hers: %v", err)
	}
	if err := s.Admit(ctx, charge, "06", Patient{Name: "A", MRN: "2", DOB: "1990-01-01"}); !errors.Is(err, alarms.ErrNotAllowed) {
		t.Fatalf("a charge nurse admitted: %v", err)
	}
	if err := s.Assign(ctx, nurse, "06", "nina"); !errors.Is(err, alarms.ErrNotAllowed) {
		t.Fatalf("a nurse assigned: %v", err)
	}
	must(s.Standby(ctx, admin, "05", true))
	must(s.Transfer(ctx, admin, "05", "06"))
	beds, _ := s.Beds(ctx)
	b5, b6 := beds[0], beds[1]
	if b5.State != BedEmpty || b5.Patient != (Patient{}) || b5.Feed != "icu/05" || len(b5.Overrides) != 0 {
		t.Fatalf("bed 05 after transfer %+v", b5)
	}
	if b6.State != BedStandby || b6.Patient != p || b6.Nurse != "nina" || b6.Overrides["hr"] != [2]float64{45, 110} || b6.Feed != "icu/06" {
		t.Fatalf("bed 06 after transfer %+v", b6)
	}
	if l, _ := b6.Limits().Limit("hr"); l.Low != 45 || l.High != 110 {
		t.Fatalf("limits for the engine: %+v", l)
	}
	must(s.Discharge(ctx, admin, "06"))
	beds, _ = s.Beds(ctx)
	if b := beds[1]; b.State != BedEmpty || b.Patient != (Patient{}) || b.Feed != "icu/06" || b.Nurse != "" {
		t.Fatalf("discharge did not clear: %+v", b)
	}
	stays, _ := s.Stays(ctx, "06")
	old, _ := s.Stays(ctx, "05")
	if len(stays) != 1 || stays[0].Patient != p || stays[0].How != "discharged" || len(old) != 1 || old[0].How != "transferred to 06" {
		t.Fatalf("history lost: %+v %+v", stays, old)
	}
	// Every change old -> new, who and where.
	var got []string
	for _, e := range events(t, s, KindConfig) {
		if e.Bed != "" {
			got = append(got, e.Event+" "+e.Bed+" "+e.Who+"@"+e.Station+" ["+e.Old+"] -> ["+e.New+"]")
		}
	}
	joined := strings.Join(got, "\n")
	for _, line := range []string{
		"bed-configured 05 ada@st-1 [label=; feed=] -> [label=Bed 5; feed=icu/05]",
		"bed-admitted 05 ada@st-1 [state=empty; patient=; mrn=; dob=] -> [state=admitted; patient=Jane Roe; mrn=MRN-0042; dob=1948-03-09]",
		"bed-assigned 05 cara@st-1 [nurse=] -> [nurse=nina]",
		"limit-changed 05 nina@st-2 [limits=] -> [limits=hr 45..110]",
		"bed-standby 05 ada@st-1 [state=admitted] -> [state=standby]",
		"bed-discharged 06 ada@st-1 [state=standby; patient=Jane Roe; mrn=MRN-0042; dob=1948-03-09; limits=hr 45..110; nurse=nina] -> [state=empty; patient=; mrn=; dob=; limits=; nurse=]",
	} {
		if !strings.Contains(joined, line) {
			t.Errorf("journal lacks %q; it has:\n%s", line, joined)
		}
	}
	if changes < 7 {
		t.Fatalf("OnBeds called %d times", changes)
	}
	mustVerify(t, s)
}

// A discharge ends the stay and nothing else of the bed: it stays a
// configured bed with its feed and its bound device (the next patient is
// monitored by the same device), with no patient, no per-bed limits and no
// nurse. A transfer moves the patient; each bed keeps its feed and device.
func TestDischargeAndTransferKeepDeviceBindings(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	seedUsers(t, s)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SaveBed(ctx, admin, "15", "Bed 15", "icu/15", "adult"))
	must(s.SaveBed(ctx, admin, "16", "Bed 16", "icu/16", "adult"))
	must(s.BindDevice(ctx, admin, "15", "VIGIL-SIM-15"))
	must(s.BindDevice(ctx, admin, "16", "VIGIL-SIM-16"))
	p := Patient{Name: "Tony Hoare", MRN: "DEMO-1016", DOB: "1934-01-11"}
	must(s.Admit(ctx, admin, "16", p))
	must(s.SetLimit(ctx, admin, "16", "hr", 45, 110))

	must(s.Transfer(ctx, admin, "16", "15"))
	beds, _ := s.Beds(ctx)
	b15, b16 := beds[0], beds[1]
	if b15.Patient != p || b15.Feed != "icu/15" || b15.Device != "VIGIL-SIM-15" {
		t.Fatalf("bed 15 after the transfer in: %+v", b15)
	}
	if b16.State != BedEmpty || b16.Feed != "icu/16" || b16.Device != "VIGIL-SIM-16" {
		t.Fatalf("bed 16 after the transfer out: %+v", b16)
	}

	must(s.Discharge(ctx, admin, "15"))
	beds, _ = s.Beds(ctx)
	b := beds[0]
	if b.State != BedEmpty || b.Patient != (Patient{}) || len(b.Overrides) != 0 || b.Nurse != "" {
		t.Fatalf("discharge left the patient's data: %+v", b)
	}
	if b.Feed != "icu/15" || b.Device != "VIGIL-SIM-15" || b.Label != "Bed 15" || b.Profile != "adult" {
		t.Fatalf("discharge changed the bed's configuration (feed, device, label, profile): %+v", b)
	}
	// The same device monitors the next patient without a new binding.
	must(s.Admit(ctx, admin, "15", Patient{Name: "Sofia Haddad", MRN: "M-2", DOB: "1970-05-05"}))
	if beds, _ = s.Beds(ctx); beds[0].Device != "VIGIL-SIM-15" || beds[0].Feed != "icu/15" {
		t.Fatalf("after the next admission: %+v", beds[0])
	}
}

// A limit with one side off (SpO2 has no high limit for adults) is kept:
// the detail's − and + send the side that is off as NaN.
func TestLimitWithASideOff(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	seedUsers(t, s)
	if err := s.SaveBed(ctx, admin, "05", "Bed 5", "icu/05", "adult"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLimit(ctx, admin, "05", "spo2", 88, math.NaN()); err != nil {
		t.Fatal(err)
	}
	beds, _ := s.Beds(ctx)
	got := beds[0].Overrides["spo2"]
	if got[0] != 88 || !math.IsNaN(got[1]) {
		t.Fatalf("SpO2 override %v, want 88..off", got)
	}
	if l, _ := beds[0].Limits().Limit("spo2"); l.Low != 88 || !math.IsNaN(l.High) {
		t.Fatalf("limits for the engine %+v", l)
	}
	evs := events(t, s, KindConfig)
	if last := evs[len(evs)-1]; last.Event != "limit-changed" || last.New != "limits=spo2 88..off" {
		t.Fatalf("journalled %+v", last)
	}
}
