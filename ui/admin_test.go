package ui

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// adminStation opens the bed administration of beds as an admin logged in.
func adminStation(t *testing.T, beds ...AdminBed) (*Station, fyne.Window, *fakeAdmin) {
	t.Helper()
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	st.SetSession(&fakeSession{op: alarms.Actor{Who: "ada", Role: alarms.Admin}}, w)
	adm := &fakeAdmin{beds: beds}
	st.SetAdmin(adm)
	st.ShowAdmin()
	return st, w, adm
}

var (
	bed16 = AdminBed{ID: "16", Label: "Bed 16", Feed: "ICU1/16", State: "admitted", Device: "VIGIL-SIM-16", DeviceSeen: "VIGIL-SIM-16",
		Patient: "Tony Hoare", MRN: "DEMO-1016", DOB: "1934-01-11", Profile: "adult", Nurse: "nina", Limits: "hr 45–110",
		Effective: map[string][2]float64{"hr": {45, 110}, "spo2": {90, math.NaN()}}}
	bed04 = AdminBed{ID: "04", Label: "Bed 04", Feed: "ICU1/04", State: "empty", Device: "VIGIL-SIM-04", Profile: "neonatal",
		Effective: map[string][2]float64{"hr": {100, 180}, "spo2": {88, 95}}}
)

func overlay(w fyne.Window) fyne.CanvasObject { return w.Canvas().Overlays().Top() }

func selectOf(t *testing.T, root fyne.CanvasObject, has string) *widget.Select {
	t.Helper()
	for _, o := range objects(root) {
		if s, ok := o.(*widget.Select); ok && slices.Contains(s.Options, has) {
			return s
		}
	}
	t.Fatalf("no choice offering %q", has)
	return nil
}

// Discharge reads the patient back and asks first: the first click does
// nothing, Cancel does nothing, only the confirmation discharges; then the
// panel says in words what was done, device binding included.
func TestAdminDischargeAsksFirst(t *testing.T) {
	st, w, adm := adminStation(t, bed16, bed04)
	root := st.Content()
	test.Tap(button(t, root, "Discharge"))
	if len(adm.calls) != 0 {
		t.Fatalf("the first click discharged: %q", adm.calls)
	}
	dlg := overlay(w)
	if dlg == nil {
		t.Fatal("no confirmation")
	}
	say := labels(dlg)
	for _, want := range []string{"Discharge Tony Hoare, MRN DEMO-1016, from Bed 16?", "Device VIGIL-SIM-16 stays bound to Bed 16"} {
		if !strings.Contains(say, want) {
			t.Errorf("the confirmation lacks %q: %q", want, say)
		}
	}
	test.Tap(button(t, dlg, "Cancel"))
	if len(adm.calls) != 0 || overlay(w) != nil {
		t.Fatalf("Cancel: calls %q, dialog open %v", adm.calls, overlay(w) != nil)
	}
	test.Tap(button(t, root, "Discharge"))
	test.Tap(button(t, overlay(w), "Discharge"))
	if !slices.Equal(adm.calls, []string{"discharge 16"}) {
		t.Fatalf("confirmed: calls %q", adm.calls)
	}
	if l := labels(root); !strings.Contains(l, "Discharged Tony Hoare (MRN DEMO-1016) from Bed 16; device VIGIL-SIM-16 stays bound to Bed 16") {
		t.Errorf("the panel does not say what was done: %q", l)
	}
}

// Transfer reads back the patient and both beds, says that the devices
// stay with their beds, and only the confirmation transfers.
func TestAdminTransferAsksFirst(t *testing.T) {
	st, w, adm := adminStation(t, bed16, bed04)
	root := st.Content()
	selectOf(t, root, "04").SetSelected("04")
	test.Tap(button(t, root, "Transfer"))
	if len(adm.calls) != 0 || overlay(w) == nil {
		t.Fatalf("the first click: calls %q, confirmation %v", adm.calls, overlay(w) != nil)
	}
	say := labels(overlay(w))
	for _, want := range []string{"Transfer Tony Hoare, MRN DEMO-1016, from Bed 16 to Bed 04?",
		"VIGIL-SIM-16 stays bound to Bed 16", "VIGIL-SIM-04"} {
		if !strings.Contains(say, want) {
			t.Errorf("the confirmation lacks %q: %q", want, say)
		}
	}
	test.Tap(button(t, overlay(w), "Cancel"))
	if len(adm.calls) != 0 {
		t.Fatalf("Cancel transferred: %q", adm.calls)
	}
	test.Tap(button(t, root, "Transfer"))
	test.Tap(button(t, overlay(w), "Transfer"))
	if !slices.Equal(adm.calls, []string{"transfer 16>04"}) {
		t.Fatalf("confirmed: calls %q", adm.calls)
	}
	if l := labels(root); !strings.Contains(l, "Transferred Tony Hoare (MRN DEMO-1016) from Bed 16 to Bed 04") {
		t.Errorf("the panel does not say what was done: %q", l)
	}
}

// Nothing to discharge, nowhere to transfer to: said, no dialog, no call.
func TestAdminDischargeEmptyBed(t *testing.T) {
	st, w, adm := adminStation(t, bed04, bed16)
	root := st.Content()
	test.Tap(button(t, root, "Discharge"))
	if len(adm.calls) != 0 || overlay(w) != nil || !strings.Contains(labels(root), "Bed 04 is empty") {
		t.Fatalf("discharge of an empty bed: calls %q, dialog %v, %q", adm.calls, overlay(w) != nil, labels(root))
	}
	st.ShowAdmin() // bed 04 first again; choose bed 16
	root = st.Content()
	for _, o := range objects(root) {
		if l, ok := o.(*widget.List); ok {
			l.Select(1)
		}
	}
	test.Tap(button(t, root, "Transfer"))
	if len(adm.calls) != 0 || overlay(w) != nil || !strings.Contains(labels(root), "choose the bed to transfer to") {
		t.Fatalf("transfer without a target: calls %q, dialog %v", adm.calls, overlay(w) != nil)
	}
}

// Choosing another bed loads that bed's values into every field: nothing
// of the previous bed stays, not a limit typed, not a nurse, not a device.
func TestAdminFormFollowsTheBed(t *testing.T) {
	st, _, _ := adminStation(t, bed16, bed04)
	root := st.Content()
	var list *widget.List
	for _, o := range objects(root) {
		if l, ok := o.(*widget.List); ok {
			list = l
		}
	}
	lo, hi := entryWithPlaceholder(t, root, "low"), entryWithPlaceholder(t, root, "high")
	param := selectOf(t, root, "etco2")
	param.SetSelected("hr")
	if lo.Text != "45" || hi.Text != "110" {
		t.Fatalf("bed 16's HR limits read %q–%q, want its 45–110", lo.Text, hi.Text)
	}
	lo.SetText("33") // typed, not set
	formEntry(t, root, "Name").SetText("half-typed")
	list.Select(1)
	nurse := selectOf(t, root, "(none)")
	want := map[string]string{"Bed id": "04", "Label": "Bed 04", "Device feed": "ICU1/04", "Device": "VIGIL-SIM-04",
		"Name": "", "MRN": "", "Date of birth": ""}
	for row, v := range want {
		if got := formEntry(t, root, row).Text; got != v {
			t.Errorf("%s reads %q after choosing bed 04, want %q", row, got, v)
		}
	}
	if nurse.Selected != "(none)" {
		t.Errorf("nurse %q kept from bed 16", nurse.Selected)
	}
	if p := selectOf(t, root, "neonatal"); p.Selected != "neonatal" {
		t.Errorf("profile %q, want bed 04's neonatal", p.Selected)
	}
	if param.Selected != "hr" || lo.Text != "100" || hi.Text != "180" {
		t.Errorf("limit fields %s %q–%q after choosing bed 04, want its hr 100–180", param.Selected, lo.Text, hi.Text)
	}
	param.SetSelected("spo2")
	if lo.Text != "88" || hi.Text != "95" {
		t.Errorf("bed 04's SpO2 limits read %q–%q", lo.Text, hi.Text)
	}
	l := labels(root)
	if strings.Contains(l, "hr 45–110") || strings.Contains(l, "VIGIL-SIM-16") || !strings.Contains(l, "EMPTY") {
		t.Errorf("bed 16's values still shown after choosing bed 04: %q", l)
	}
	list.Select(0)
	param.SetSelected("spo2")
	if lo.Text != "90" || hi.Text != "off" {
		t.Errorf("bed 16's SpO2 limits read %q–%q, want 90–off", lo.Text, hi.Text)
	}
	// A new bed starts from nothing.
	test.Tap(button(t, root, "New bed"))
	for _, row := range []string{"Bed id", "Label", "Device feed", "Device", "Name", "MRN", "Date of birth"} {
		if got := formEntry(t, root, row).Text; got != "" {
			t.Errorf("New bed: %s reads %q", row, got)
		}
	}
	if nurse.Selected != "(none)" || lo.Text != "" || hi.Text != "" || strings.Contains(labels(root), "VIGIL-SIM-16") {
		t.Errorf("New bed kept bed 16's nurse %q, limits %q–%q or device", nurse.Selected, lo.Text, hi.Text)
	}
}

func entryWithPlaceholder(t *testing.T, root fyne.CanvasObject, ph string) *widget.Entry {
	t.Helper()
	for _, o := range objects(root) {
		if e, ok := o.(*widget.Entry); ok && e.PlaceHolder == ph {
			return e
		}
	}
	t.Fatalf("no entry %q", ph)
	return nil
}
