package ui

import (
	"encoding/csv"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// burdenNow is the views' clock in these tests.
var burdenNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

type burdenAsk struct {
	from, to time.Time
	bed      string
}

// burdenInvRow is one alarm of the fake's inventory.
type burdenInvRow struct {
	id, bed string
	raised  time.Time
}

// fakeBurden answers with the ward of the store's test scenario (21 alarms
// of three beds over a day), or one bed of it, and writes its inventory.
type fakeBurden struct {
	mu    sync.Mutex
	asked []burdenAsk
	err   error
	inv   []burdenInvRow
}

func newFakeBurden() *fakeBurden {
	f := &fakeBurden{}
	for i, bed := range []string{"01", "01", "01", "02", "02", "03"} {
		at := burdenNow.Add(-time.Duration(i+1) * time.Hour)
		f.inv = append(f.inv, burdenInvRow{id: bed + ".hr-high." + at.Format("150405"), bed: bed, raised: at})
	}
	// One alarm 10 days ago: only in the longer windows.
	f.inv = append(f.inv, burdenInvRow{id: "02.spo2-low.old", bed: "02", raised: burdenNow.Add(-240 * time.Hour)})
	return f
}

func (f *fakeBurden) Burden(from, to time.Time, bed string) (BurdenReport, error) {
	f.mu.Lock()
	f.asked = append(f.asked, burdenAsk{from, to, bed})
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return BurdenReport{}, err
	}
	hist := []BurdenBucket{{"under 10 s", 1}, {"10–30 s", 1}, {"30–60 s", 4}, {"1–2 min", 1}, {"2–5 min", 1},
		{"5 min or more", 0}, {"not acknowledged", 13}}
	beds := []BurdenBed{
		{Bed: "01", Alarms: 14, BedDays: 1, PerBedDay: 14, Medium: 14, AutoShare: 10.0 / 14, Acked: 4, AckMedian: 45 * time.Second, Noisiest: true},
		{Bed: "02", Alarms: 4, BedDays: 1, PerBedDay: 4, High: 1, Medium: 3, Acked: 3, AckMedian: 15 * time.Second},
		{Bed: "03", Alarms: 3, BedDays: 1, PerBedDay: 3, High: 1, Medium: 1, Low: 1, AutoShare: 1.0 / 3, Acked: 1, AckMedian: 90 * time.Second},
	}
	if bed != "" {
		for _, b := range beds {
			if b.Bed == bed {
				b.Noisiest = true // as the store says of a bed alone
				return BurdenReport{From: from, To: to, Bed: bed, Alarms: b.Alarms, BedDays: 1, PerBedDay: b.PerBedDay,
					High: b.High, Medium: b.Medium, Low: b.Low, Acked: b.Acked, AckMedian: b.AckMedian, AckP90: b.AckMedian,
					AckMax: b.AckMedian, AckHist: hist, Beds: []BurdenBed{b}}, nil
			}
		}
		return BurdenReport{From: from, To: to, Bed: bed}, nil
	}
	return BurdenReport{From: from.Add(2 * time.Hour), To: to, Alarms: 21, BedDays: 3, PerBedDay: 7, High: 2, Medium: 18, Low: 1,
		AutoResolved: 11, AutoShare: 11.0 / 21, Acked: 8, AckMedian: 45 * time.Second, AckP90: 190 * time.Second,
		AckMax: 190 * time.Second, AckHist: hist, Beds: beds,
		Params: []BurdenParam{
			{Param: "spo2", Label: "SpO2", Alarms: 14, PerBedDay: 14.0 / 3, Medium: 14, AutoShare: 10.0 / 14, Acked: 4, AckMedian: 45 * time.Second},
			{Param: "hr", Label: "HR", Alarms: 2, PerBedDay: 2.0 / 3, Medium: 2, Acked: 2, AckMedian: 15 * time.Second},
			{Param: "leads-off", Label: "ECG leads off", Alarms: 1, PerBedDay: 1.0 / 3, Medium: 1, AutoShare: 1},
		},
		NoisiestShare: 14.0 / 21, StationWide: 1,
		BedDaysRule: "Bed-days: each bed with an alarm in the window counts the whole window.",
		Suggestions: []string{"Consider an alarm delay for SpO2 at bed 01: 10 of 14 SpO2 alarms (71 %) ended by themselves within 10 s.",
			"Review the SpO2 limits at bed 01: 14.0 SpO2 alarms per bed-day (14 in the window)."},
	}, nil
}

func (f *fakeBurden) InventoryCSV(from, to time.Time, bed string, w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"alarm_id", "bed", "raised"})
	for _, r := range f.inv {
		if (bed == "" || r.bed == bed) && !r.raised.Before(from) && r.raised.Before(to) {
			cw.Write([]string{r.id, r.bed, r.raised.Format(time.RFC3339)})
		}
	}
	cw.Flush()
	return cw.Error()
}

func (f *fakeBurden) asks() []burdenAsk {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func newBurdenTestView(t *testing.T, src BurdenSource, dir string) (*BurdenView, fyne.Window) {
	t.Helper()
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	v := NewBurdenView(src, BurdenOptions{Now: func() time.Time { return burdenNow }, Spawn: func(f func()) { f() },
		ExportDir: dir})
	w := test.NewTempWindow(t, v.Content())
	w.Resize(fyne.NewSize(1920, 1000))
	return v, w
}

// The view reads the last 24 h of the ward at once and shows the summary,
// the priorities with their prefixes, the noisiest bed marked in words, the
// parameters, the histogram and the suggestions; the window and the bed
// choice read again with the right from, to and bed; the export writes the
// shown window's inventory.
func TestBurdenView(t *testing.T) {
	src := newFakeBurden()
	dir := filepath.Join(t.TempDir(), "exports") // made by the export
	v, _ := newBurdenTestView(t, src, dir)

	if got, want := src.asks(), []burdenAsk{{burdenNow.Add(-24 * time.Hour), burdenNow, ""}}; !slices.Equal(got, want) {
		t.Fatalf("asked %v, want %v", got, want)
	}
	const summary = "Ward, last 24 h: 21 alarms · 3.0 bed-days · 7.0 alarms per bed-day · auto-resolved within 10 s: 52 % · " +
		"time to acknowledge: median 45 s, 90th percentile 3 min 10 s (8 of 21 acknowledged)"
	if v.summary.Text != summary {
		t.Errorf("summary\n%q, want\n%q", v.summary.Text, summary)
	}
	shown := labels(v.Content())
	for _, want := range []string{
		summary,
		"*** HIGH 2 (0.7 per bed-day)", "** MEDIUM 18 (6.0 per bed-day)", "* LOW 1 (0.3 per bed-day)",
		"NOISIEST 10 % of beds: 01 — 67 % of the ward's alarms. Station-wide alarms (no bed): 1, not counted above.",
		"The journal begins at Tue 24 Nov 10:00",
		"Bed-days: each bed with an alarm in the window counts the whole window.",
		"01 — NOISIEST", "*** HIGH", "** MEDIUM", "* LOW", "Median ack",
		"SpO2", "ECG leads off", "4.7",
		"30–60 s", "4 (19 %)", "not acknowledged", "13 (62 %)",
		"• Consider an alarm delay for SpO2 at bed 01: 10 of 14 SpO2 alarms (71 %) ended by themselves within 10 s.",
		"• Review the SpO2 limits at bed 01: 14.0 SpO2 alarms per bed-day (14 in the window).",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the view does not show %q; it shows:\n%s", want, shown)
		}
	}
	if strings.Contains(shown, "02 — NOISIEST") || strings.Contains(shown, "03 — NOISIEST") {
		t.Error("a bed that is not among the noisiest is marked")
	}
	for row, want := range []string{"Bed", "01 — NOISIEST", "02", "03"} {
		if got, _ := v.bedCell(row, 0); got != want {
			t.Errorf("bed table row %d: %q, want %q", row, got, want)
		}
	}
	if got, bold := v.bedCell(1, 2); got != "14.0" || !bold {
		t.Errorf("noisiest bed's rate %q (bold %v)", got, bold)
	}
	if got, _ := v.bedCell(3, 6); got != "33 %" {
		t.Errorf("bed 03 auto-resolved %q", got)
	}
	if got, _ := v.bedCell(2, 7); got != "15 s" {
		t.Errorf("bed 02 median ack %q", got)
	}
	if got, _ := v.paramCell(3, 7); got != "—" {
		t.Errorf("never-acknowledged parameter's median ack %q, want —", got)
	}
	if r, c := v.beds.Length(); r != 4 || c != 8 {
		t.Errorf("bed table %d×%d, want 4×8", r, c)
	}

	v.spans.SetSelected("7 days")
	v.spans.SetSelected("30 days")
	asks := src.asks()
	if len(asks) != 3 || asks[1] != (burdenAsk{burdenNow.Add(-7 * 24 * time.Hour), burdenNow, ""}) ||
		asks[2] != (burdenAsk{burdenNow.Add(-30 * 24 * time.Hour), burdenNow, ""}) {
		t.Fatalf("asked %v, want 7 then 30 days of the ward", asks)
	}
	if !strings.HasPrefix(v.summary.Text, "Ward, last 30 days: ") {
		t.Errorf("summary %q", v.summary.Text)
	}

	if want := []string{burdenWard, "Bed 01", "Bed 02", "Bed 03"}; !slices.Equal(v.bedSel.Options, want) {
		t.Fatalf("bed choice %q, want %q", v.bedSel.Options, want)
	}
	v.bedSel.SetSelected("Bed 02")
	asks = src.asks()
	if len(asks) != 4 || asks[3] != (burdenAsk{burdenNow.Add(-30 * 24 * time.Hour), burdenNow, "02"}) {
		t.Fatalf("asked %v, want 30 days of bed 02", asks)
	}
	if !strings.HasPrefix(v.summary.Text, "Bed 02, last 30 days: 4 alarms") {
		t.Errorf("bed summary %q", v.summary.Text)
	}
	if got, _ := v.bedCell(1, 0); got != "02" {
		t.Errorf("a bed alone is marked %q: there is no ward to compare it with", got)
	}
	if !slices.Contains(v.bedSel.Options, "Bed 01") {
		t.Error("the other beds left the choice when one bed was shown")
	}

	test.Tap(v.exportB)
	path := filepath.Join(dir, "alarm-inventory-20261026T0800Z-20261125T0800Z-bed-02.csv")
	rows := readCSV(t, path)
	if len(rows) != 4 || rows[0][0] != "alarm_id" || rows[1][1] != "02" || rows[3][0] != "02.spo2-low.old" {
		t.Fatalf("bed 02's 30 days: %q", rows)
	}
	if !strings.Contains(v.status.Text, path) {
		t.Errorf("status %q does not say where the file is", v.status.Text)
	}
	if v.exportB.Disabled() {
		t.Error("export stays disabled after it finished")
	}

	v.bedSel.SetSelected(burdenWard)
	v.spans.SetSelected("24 h")
	test.Tap(v.exportB)
	path = filepath.Join(dir, "alarm-inventory-20261124T0800Z-20261125T0800Z.csv")
	rows = readCSV(t, path)
	var ids []string
	for _, r := range rows[1:] {
		ids = append(ids, r[0])
	}
	if len(ids) != 6 || slices.Contains(ids, "02.spo2-low.old") {
		t.Fatalf("the ward's 24 h: %q", ids)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}

// An answer to an older choice is dropped; a failure says so and
// clears the figures; without an export folder the export says what to do.
func TestBurdenViewStaleAndFailure(t *testing.T) {
	src := newFakeBurden()
	test.NewTempApp(t)
	var queued []func()
	v := NewBurdenView(src, BurdenOptions{Now: func() time.Time { return burdenNow },
		Spawn: func(f func()) { queued = append(queued, f) }})
	test.NewTempWindow(t, v.Content())
	v.spans.SetSelected("7 days")
	if len(queued) != 2 {
		t.Fatalf("%d loads queued, want 2", len(queued))
	}
	queued[1]() // the 7 days answer first ...
	queued[0]() // ... then the 24 h one, late
	if !strings.HasPrefix(v.summary.Text, "Ward, last 7 days: ") {
		t.Fatalf("summary %q: the late answer replaced the newer one", v.summary.Text)
	}
	if v.exportB.Disabled() {
		t.Fatal("export disabled with figures shown")
	}
	test.Tap(v.exportB)
	if len(queued) != 2 || !strings.Contains(v.status.Text, "no folder is set") {
		t.Fatalf("export without a folder: %d spawned, status %q", len(queued)-2, v.status.Text)
	}

	src.mu.Lock()
	src.err = errors.New("journal: database is locked")
	src.mu.Unlock()
	test.Tap(burdenButton(t, v.Content(), "Refresh"))
	queued[len(queued)-1]()
	if v.summary.Text != "The alarm burden could not be read." || !strings.Contains(v.status.Text, "database is locked") {
		t.Fatalf("failure shows %q / %q", v.summary.Text, v.status.Text)
	}
	if r, _ := v.beds.Length(); r != 1 || !v.exportB.Disabled() {
		t.Fatalf("after a failure: %d table rows, export disabled %v; want the header alone and no export", r, v.exportB.Disabled())
	}
}

func burdenButton(t *testing.T, root fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	for _, o := range objects(root) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return b
		}
	}
	t.Fatalf("no button %q", label)
	return nil
}

func TestBurdenFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 8 * time.Second: "8 s", 59499 * time.Millisecond: "59 s", 60 * time.Second: "1 min",
		190 * time.Second: "3 min 10 s", time.Hour: "1 h", 65 * time.Minute: "1 h 5 min", 26 * time.Hour: "26 h",
	} {
		if got := burdenDur(d); got != want {
			t.Errorf("burdenDur(%v) = %q, want %q", d, got, want)
		}
	}
	from := time.Date(2026, 11, 24, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	if got := BurdenFileName(from, from.Add(24*time.Hour), ""); got != "alarm-inventory-20261124T0830Z-20261125T0830Z.csv" {
		t.Errorf("file name %q", got)
	}
	if got := BurdenFileName(from, from.Add(time.Hour), "ICU/5 a"); got != "alarm-inventory-20261124T0830Z-20261124T0930Z-bed-ICU_5_a.csv" {
		t.Errorf("file name %q", got)
	}
	if got := burdenSummary(BurdenReport{}, "", "24 h"); got != "Ward, last 24 h: no alarms." {
		t.Errorf("empty summary %q", got)
	}
	if got := burdenSummary(BurdenReport{Alarms: 2, BedDays: 1, PerBedDay: 2}, "07", "7 days"); !strings.Contains(got, "none acknowledged") ||
		!strings.HasPrefix(got, "Bed 07, last 7 days: 2 alarms") {
		t.Errorf("summary %q", got)
	}
}
