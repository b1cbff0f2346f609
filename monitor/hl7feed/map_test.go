package hl7feed

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/hl7"
)

func report(t *testing.T, file string) *hl7.PCDReport {
	t.Helper()
	b, err := os.ReadFile("../../testdata/hl7/" + file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := hl7.ExtractPCD01(m, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var now = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// TestMapMultiParam: the monitor's message becomes bed 712-B of ward 7W:
// its status (EUI-64 device, the patient's MRN and never the name: the
// status is retained on the broker), and two numerics frames, the cuff
// pressures at their own measurement time, in the feed's units and codes.
func TestMapMultiParam(t *testing.T) {
	m, err := Map(report(t, "pcd01_multiparam.hl7"), MapOptions{Ward: "7W"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bed != "712-B" || m.Status.Device != "0012345678ABCDEF" || m.Status.PatientID != "NG0077341" || m.Status.Patient != "" || !m.Status.Online {
		t.Fatalf("bed %q, status %+v", m.Bed, m.Status)
	}
	if len(m.Frames) != 2 {
		t.Fatalf("%d frames: %+v", len(m.Frames), m.Frames)
	}
	nibp, vitals := m.Frames[0], m.Frames[1]
	if want := time.Date(2025, 3, 14, 9, 22, 15, 0, time.UTC).UnixMilli(); nibp.TsMs != want {
		t.Errorf("NIBP frame at %v, want 09:22:15Z", time.UnixMilli(nibp.TsMs).UTC())
	}
	get := func(f feed.NumFrame, code uint32) feed.Numeric {
		for _, n := range f.Values {
			if n.Code == code {
				return n
			}
		}
		t.Fatalf("no %d in %+v", code, f.Values)
		return feed.Numeric{}
	}
	for code, want := range map[uint32]float64{feed.MDCNIBPSys: 134, feed.MDCNIBPDia: 82, feed.MDCNIBPMean: 99} {
		if n := get(nibp, code); !n.Valid || n.Value != want || n.Unit != "mm[Hg]" {
			t.Errorf("code %d: %+v, want %v mm[Hg]", code, n, want)
		}
	}
	for code, want := range map[uint32]float64{feed.MDCECGHeartRate: 128, feed.MDCSpO2: 96, feed.MDCPulseRate: 126,
		feed.MDCTemp: 37.6, feed.MDCRespRate: 18} {
		if n := get(vitals, code); !n.Valid || n.Value != want {
			t.Errorf("code %d: %+v, want %v", code, n, want)
		}
	}
	// Every frame is a valid feed message.
	for _, f := range m.Frames {
		if _, err := feed.DecodeNum(feed.EncodeNum(f)); err != nil {
			t.Errorf("frame %+v does not decode: %v", f, err)
		}
	}
	if _, err := feed.DecodeStatus(feed.EncodeStatus(m.Status)); err != nil {
		t.Errorf("status %+v does not decode: %v", m.Status, err)
	}
}

// TestMapLocalCodes: an MDC code Vigil does not know is kept (an "other"
// value, its unit as sent); a device's own code is kept under a code of
// the private partition, named in the status; text values are not
// numerics.
func TestMapLocalCodes(t *testing.T) {
	m, err := Map(report(t, "pcd01_local_codes.hl7"), MapOptions{Ward: "ICU"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bed != "3-2" || len(m.Frames) != 1 {
		t.Fatalf("bed %q, frames %+v", m.Bed, m.Frames)
	}
	pvc := PrivateCode("ACM-4417", "99ACM")
	if m.Other != 2 || len(m.Unknown) != 0 || m.Names[fmt.Sprint(pvc)] != "PVC rate" || pvc < feed.PrivatePartition {
		t.Errorf("other %d, unknown %q, names %v (PVC rate under %d)", m.Other, m.Unknown, m.Names, pvc)
	}
	vals := m.Frames[0].Values
	if len(vals) != 3 || vals[0].Code != feed.MDCECGHeartRate || vals[1].Code != 192999 || vals[1].Value != 42.5 ||
		vals[2].Code != pvc || vals[2].Value != 4 {
		t.Errorf("values %+v", vals)
	}
	if PrivateCode("acm-4417", "99ACM") == pvc || PrivateCode("ACM-4417", "99acm") != pvc {
		t.Error("private codes: the identifier's case must count, the system's not")
	}
}

// TestMapRefusals: what cannot be used is refused whole, with its place.
func TestMapRefusals(t *testing.T) {
	base := report(t, "pcd01_multiparam.hl7")
	for name, c := range map[string]struct {
		edit  func(r *hl7.PCDReport)
		place string
	}{
		"another unit": {func(r *hl7.PCDReport) { r.PointOfCare = "5E" }, "PV1"},
		"no bed":       {func(r *hl7.PCDReport) { r.Room, r.Bed = "", "" }, "PV1"},
		"temperature in mmHg": {func(r *hl7.PCDReport) {
			r.Observations[8].UnitCode, r.Observations[8].UnitText = "266016", "MDC_DIM_MMHG"
		}, "OBX"},
		"a time in 1970": {func(r *hl7.PCDReport) { r.Observations[2].Time = time.Unix(5, 0) }, "OBX"},
	} {
		r := *base
		r.Observations = append([]hl7.Observation(nil), base.Observations...)
		c.edit(&r)
		_, err := Map(&r, MapOptions{Ward: "7W"}, now)
		var he *hl7.Error
		if !errors.As(err, &he) || he.Segment != c.place {
			t.Errorf("%s: %v, want a refusal in %s", name, err, c.place)
		}
	}
	// Another unit the ward answers to is accepted.
	r := *base
	r.PointOfCare = "7WEST"
	if _, err := Map(&r, MapOptions{Ward: "7W", Units: []string{"7west"}}, now); err != nil {
		t.Errorf("unit 7WEST of ward 7W: %v", err)
	}
}

// TestMapNoValue: a value the device could not obtain (OBX-11 X) is sent
// as no value, never as a number.
func TestMapNoValue(t *testing.T) {
	r := *report(t, "pcd01_multiparam.hl7")
	r.Observations = append([]hl7.Observation(nil), r.Observations...)
	r.Observations[1].Status = "X"
	m, err := Map(&r, MapOptions{Ward: "7W"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Frames {
		for _, n := range f.Values {
			if n.Code == feed.MDCECGHeartRate && (n.Valid || !math.IsNaN(n.Value)) {
				t.Errorf("HR %+v, want no value", n)
			}
		}
	}
}

func TestBedName(t *testing.T) {
	for _, c := range [][3]string{{"712", "B", "712-B"}, {"", "04", "04"}, {"12", "", "12"}, {"Room 3", "b/2", "Room_3-b_2"}} {
		if got, err := BedName(c[0], c[1]); err != nil || got != c[2] {
			t.Errorf("BedName(%q, %q) = %q, %v", c[0], c[1], got, err)
		}
	}
	if _, err := BedName("", ""); err == nil {
		t.Error("no room, no bed: accepted")
	}
	if _, err := BedName(strings.Repeat("x", 40), "1"); err == nil {
		t.Error("a 42-character bed: accepted")
	}
	for _, r := range []string{"stations", "alarms", "ALARMS"} {
		if _, err := BedName("", r); err == nil {
			t.Errorf("PV1-3 bed %q, the stations' topics: accepted", r)
		}
	}
}
