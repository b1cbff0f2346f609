package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

func TestSamePatient(t *testing.T) {
	for _, c := range []struct {
		admitted, reported string
		same               bool
	}{
		{"Tony Hoare", "Tony Hoare", true},
		{"Tony Hoare", "  tony   HOARE ", true},
		{"Karen Spärck Jones", "KAREN SPÄRCK JONES", true},
		{"Tony Hoare", "Sofia Haddad", false},
		{"Tony Hoare", "", true},   // the device names nobody: nothing to compare
		{"", "Sofia Haddad", true}, // nobody admitted: nothing to compare
	} {
		if got := samePatient(c.admitted, c.reported); got != c.same {
			t.Errorf("samePatient(%q, %q) = %v", c.admitted, c.reported, got)
		}
	}
}

// A bed's device that reports another patient than the one admitted raises
// a MEDIUM technical alarm on the bed naming both, journalled once when it
// starts, and the tile's label carries both; it clears when the device and
// the admission agree again (case and spacing aside) or when the patient is
// discharged, and admitting the patient the device names raises nothing.
func TestPatientMismatchAlarm(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	c := startStation(t, cfg)
	bindBeds(t, c, "16")
	admin := alarms.Actor{Who: "admin", Where: c.sync.station, Role: alarms.Admin}
	ctx := context.Background()
	if err := c.Store.Admit(ctx, admin, "bed-16", store.Patient{Name: "Tony Hoare", MRN: "DEMO-1016", DOB: "1934-01-11"}); err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, mosquittoURL, cfg.Ward, "16")
	reports := func(patient string) {
		t.Helper()
		b := feed.EncodeStatus(feed.Status{Device: "dev-16", Online: true, Patient: patient, TsMs: time.Now().UnixMilli()})
		if err := dev.d.Publish(feed.Topic(cfg.Ward, "16", feed.StreamStatus), 1, true, b); err != nil {
			t.Fatal(err)
		}
	}
	mismatch := func() (alarms.Alarm, bool) {
		for _, a := range c.Alarms.View().Alarms {
			if a.Bed == "16" && strings.Contains(a.Message, "PATIENT MISMATCH") {
				return a, true
			}
		}
		return alarms.Alarm{}, false
	}
	journalled := func() int {
		evs, err := c.Store.Events(ctx, store.Filter{Kinds: []string{store.KindTechnical}, Bed: "16"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Event == evPatientMismatch {
				n++
			}
		}
		return n
	}

	reports("Sofia Haddad")
	waitFor(t, 5*time.Second, "the mismatch alarm", func() bool { _, ok := mismatch(); return ok })
	a, _ := mismatch()
	// The alarm is shared through the broker: it names nobody; the
	// journal and the tile, this station's own, do.
	if a.Message != "PATIENT MISMATCH: the device reports another patient than the one admitted" || a.Priority != alarms.Medium ||
		a.Source != alarms.Technical || a.Code != alarms.CodePatient {
		t.Fatalf("alarm %+v", a)
	}
	if l := c.bedLabel("16"); l.Patient != "Tony Hoare" || l.MRN != "DEMO-1016" || l.DevicePatient != "Sofia Haddad" || l.Label != "Bed 16" {
		t.Fatalf("the tile's label %+v", l)
	}
	time.Sleep(2500 * time.Millisecond) // checks go on: still one journal row
	if n := journalled(); n != 1 {
		t.Fatalf("mismatch journalled %d times, want once", n)
	}
	if evs, _ := c.Store.Events(ctx, store.Filter{Kinds: []string{store.KindTechnical}, Bed: "16"}); len(evs) == 0 ||
		!strings.Contains(evs[len(evs)-1].Detail, "device reports Sofia Haddad, admitted Tony Hoare") {
		t.Fatalf("the journal does not say who: %+v", evs)
	}

	reports("  tony HOARE") // the device corrected: they agree
	waitFor(t, 5*time.Second, "the alarm to clear", func() bool { _, ok := mismatch(); return !ok })
	if l := c.bedLabel("16"); l.DevicePatient != "" || l.MRN != "DEMO-1016" {
		t.Fatalf("label after agreement %+v", l)
	}

	reports("Sofia Haddad")
	waitFor(t, 5*time.Second, "the mismatch again", func() bool { _, ok := mismatch(); return ok })
	if err := c.Store.Discharge(ctx, admin, "bed-16"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the alarm to clear with the discharge", func() bool { _, ok := mismatch(); return !ok })
	if err := c.Store.Admit(ctx, admin, "bed-16", store.Patient{Name: "sofia haddad", MRN: "M-77", DOB: "1970-05-05"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if a, ok := mismatch(); ok {
		t.Fatalf("admitting the patient the device names: %+v", a)
	}
	if l := c.bedLabel("16"); l.DevicePatient != "" || l.Patient != "sofia haddad" || l.Label != "Bed 16" {
		t.Fatalf("label after the matching admission %+v", l)
	}
	if n := journalled(); n != 2 {
		t.Fatalf("%d mismatches journalled, want 2 (one per start)", n)
	}

	// A device (vigil hl7) that sends the MRN and no name: compared by MRN.
	reportsID := func(id string) {
		t.Helper()
		b := feed.EncodeStatus(feed.Status{Device: "dev-16", Online: true, PatientID: id, TsMs: time.Now().UnixMilli()})
		if err := dev.d.Publish(feed.Topic(cfg.Ward, "16", feed.StreamStatus), 1, true, b); err != nil {
			t.Fatal(err)
		}
	}
	reportsID("M-99")
	waitFor(t, 5*time.Second, "the mismatch by MRN", func() bool { _, ok := mismatch(); return ok })
	if l := c.bedLabel("16"); l.DevicePatient != "MRN M-99" {
		t.Fatalf("label with another MRN %+v", l)
	}
	reportsID(" m-77 ")
	waitFor(t, 5*time.Second, "the MRNs agreeing", func() bool { _, ok := mismatch(); return !ok })
}

// The demo admits each bed's patient under the name its simulated device
// reports (the simulator's patients are the one list), so a fresh demo
// ward raises no PATIENT MISMATCH once the devices have said who they
// monitor and the check has run.
func TestDemoPatientsMatchTheirDevices(t *testing.T) {
	cfg := testConfig(t, "") // the demo: embedded broker, simulated ward, seeded beds
	cfg.Sim = 4
	c, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	admitted := map[string]string{} // feed bed -> patient
	for _, bed := range c.Ward.BedNames() {
		if info, ok := c.BedInfo(bed); ok && info.Patient.Name != "" {
			admitted[bed] = info.Patient.Name
		}
	}
	if len(admitted) != 3 { // bed 04 is left empty to admit into
		t.Fatalf("demo admissions %v, want 3", admitted)
	}
	waitFor(t, 10*time.Second, "every admitted bed's device status", func() bool {
		for bed := range admitted {
			b := c.Hub.Bed(bed)
			if b == nil {
				return false
			}
			if st, ok := b.DeviceStatus(); !ok || st.Patient == "" {
				return false
			}
		}
		return true
	})
	time.Sleep(2*patientCheckEvery + 500*time.Millisecond) // the check has run on what the devices said
	for _, a := range c.Alarms.View().Alarms {
		if strings.Contains(a.Message, "PATIENT MISMATCH") {
			t.Errorf("demo bed %s: %s", a.Bed, a.Message)
		}
	}
	for bed, name := range admitted {
		if dev := c.DevicePatient(bed); dev != "" {
			t.Errorf("bed %s: device reports %q, admitted %q", bed, dev, name)
		}
	}
}

// A discharge clears the retained status of the bed's device on the broker
// when it names the patient, so that the broker no longer hands who lay
// there to whoever subscribes; the clearing is journalled. A status that
// names nobody is left alone.
func TestDischargeClearsTheRetainedStatus(t *testing.T) {
	ward := testConfig(t, "").Ward
	cfg := stationConfig(t, ward, "st-a", "admin")
	c := startStation(t, cfg)
	bindBeds(t, c, "16", "17")
	ctx := context.Background()
	admin := alarms.Actor{Who: "admin", Where: "st-a", Role: alarms.Admin}
	for _, bed := range []string{"bed-16", "bed-17"} {
		if err := c.Store.Admit(ctx, admin, bed, store.Patient{Name: "Tony Hoare", MRN: "M-" + bed, DOB: "1934-01-11"}); err != nil {
			t.Fatal(err)
		}
	}
	dev := newDevice(t, mosquittoURL, ward, "16")
	dev.d.Publish(feed.Topic(ward, "16", feed.StreamStatus), 1, true,
		feed.EncodeStatus(feed.Status{Device: "dev-16", Online: true, PatientID: "M-bed-16", TsMs: time.Now().UnixMilli()}))
	dev17 := newDevice(t, mosquittoURL, ward, "17")
	dev17.d.Publish(feed.Topic(ward, "17", feed.StreamStatus), 1, true,
		feed.EncodeStatus(feed.Status{Device: "dev-17", Online: true, TsMs: time.Now().UnixMilli()}))
	waitFor(t, 5*time.Second, "both devices' status at the station", func() bool {
		_, ok16 := c.Hub.Bed("16").DeviceStatus()
		_, ok17 := c.Hub.Bed("17").DeviceStatus()
		return ok16 && ok17
	})
	retained := func() map[string][]byte {
		t.Helper()
		got, err := mqttfeed.FetchRetained(ctx, mqttfeed.DeviceOptions{Broker: mosquittoURL, ClientID: fmt.Sprintf("peek-%d", time.Now().UnixNano())},
			feed.Root+"/"+ward+"/+/status", 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if n := len(retained()); n != 2 {
		t.Fatalf("%d retained statuses before the discharges, want 2", n)
	}
	desk := adminDesk{c}
	for _, bed := range []string{"bed-16", "bed-17"} {
		if err := desk.Discharge(bed); err != nil {
			t.Fatal(err)
		}
	}
	got := retained()
	if _, ok := got[feed.Topic(ward, "16", feed.StreamStatus)]; ok {
		t.Fatal("the discharged bed's status, naming its patient, is still retained on the broker")
	}
	if _, ok := got[feed.Topic(ward, "17", feed.StreamStatus)]; !ok {
		t.Fatal("a status that named nobody was cleared")
	}
	evs, _ := c.Store.Events(ctx, store.Filter{Kinds: []string{store.KindConfig}, Bed: "16"})
	if len(evs) == 0 || evs[len(evs)-1].Event != "status-cleared" || evs[len(evs)-1].Who != c.Alarms.Operator().Who {
		t.Fatalf("the clearing is not journalled: %+v", evs)
	}
	if _, ok := c.Hub.Bed("16").DeviceStatus(); !ok {
		t.Fatal("the station lost the device's status it had")
	}
}
