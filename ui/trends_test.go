package ui

import (
	"fyne.io/fyne/v2"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

type fakeTrends struct {
	mu    sync.Mutex
	spans []time.Duration
	beds  []string
}

func (f *fakeTrends) Trends(bed string, from, to time.Time) ([]TrendSeries, error) {
	f.mu.Lock()
	f.spans, f.beds = append(f.spans, to.Sub(from)), append(f.beds, bed)
	f.mu.Unlock()
	s, _, _ := trendFixture()
	spo2 := TrendSeries{Label: "SpO2", Unit: "%", Color: ColorSpO2, Low: 90, High: math.NaN(), Desat: 85}
	for _, p := range s.Points[:120] {
		spo2.Points = append(spo2.Points, TrendPoint{p.At, 97})
	}
	return []TrendSeries{s, spo2}, nil
}

func (f *fakeTrends) asked() ([]time.Duration, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.spans...), append([]string(nil), f.beds...)
}

// Tapping a tile opens its bed's detail, and Trends there its trends under
// the alarm bar: a chart per parameter drawn off the UI thread, spans
// 1/8/24/72 h, a table of the same minutes; Back returns to the detail, Esc
// from there to the ward.
func TestTrendView(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, _ := alarmStation(t, desk)
	src := &fakeTrends{}
	st.SetTrends(src)
	// In the test driver fyne.Do runs on the calling goroutine, so the
	// loading runs in line here (in the app it is a goroutine of its own).
	st.spawn = func(f func()) { f() }
	tileOf(t, st, "05").Tapped(nil)
	if bed, _ := st.Detail(); bed != "05" || !st.InPanel() {
		t.Fatalf("tapping a tile opened %q, want the detail of bed 05", bed)
	}
	test.Tap(button(t, st.Content(), "Trends (T)"))
	if bed, _ := st.Detail(); bed != "" {
		t.Fatal("Trends did not open the trends")
	}
	charts := func() int {
		n := 0
		for _, o := range objects(st.Content()) {
			if im, ok := o.(*canvas.Image); ok && im.Image != nil && im.Image.Bounds().Dy() == trendChartHeight {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for charts() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := charts(); n != 2 {
		t.Fatalf("%d charts, want 2 (HR and SpO2)", n)
	}
	if spans, beds := src.asked(); len(spans) != 1 || spans[0] != 8*time.Hour || beds[0] != "05" {
		t.Fatalf("asked for %v of %q, want 8 h of bed 05", spans, beds)
	}
	if l := labels(st.Content()); !strings.Contains(l, "2 parameters") || !strings.Contains(l, "limits 90 – off") ||
		!strings.Contains(l, "desat 85 (HIGH)") || !strings.Contains(l, "solid red: SpO2 desaturation limit") {
		t.Fatalf("the view says %q", l)
	}
	var spans *widget.RadioGroup
	for _, o := range objects(st.Content()) {
		if r, ok := o.(*widget.RadioGroup); ok && slices.Contains(r.Options, "72 h") {
			spans = r
		}
	}
	spans.SetSelected("72 h")
	deadline = time.Now().Add(5 * time.Second)
	for s, _ := src.asked(); len(s) < 2 && time.Now().Before(deadline); s, _ = src.asked() {
		time.Sleep(20 * time.Millisecond)
	}
	if s, _ := src.asked(); len(s) != 2 || s[1] != 72*time.Hour {
		t.Fatalf("spans asked %v", s)
	}
	test.Tap(button(t, st.Content(), "Table"))
	var table *widget.Table
	for _, o := range objects(st.Content()) {
		if tb, ok := o.(*widget.Table); ok {
			table = tb
		}
	}
	if table == nil {
		t.Fatal("no table")
	}
	rows, cols := table.Length()
	if cols != 3 || rows != 24*60-60+1 {
		t.Fatalf("table %d×%d, want 1381 rows (1380 minutes and a header) × 3", rows, cols)
	}
	test.Tap(button(t, st.Content(), "Back (Esc)"))
	if bed, _ := st.Detail(); bed != "05" {
		t.Fatal("Back did not return to the bed's detail")
	}
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if st.InPanel() {
		t.Fatal("Esc on the detail did not return to the ward")
	}
}

func TestTrendTableNewestFirst(t *testing.T) {
	s, from, _ := trendFixture()
	tab := newTrendTable([]TrendSeries{s})
	if tab.cell(0, 1) != "HR /min" {
		t.Fatalf("header %q", tab.cell(0, 1))
	}
	last := s.Points[len(s.Points)-1]
	if got := tab.cell(1, 0); got != last.At.Local().Format("Mon 02 15:04") {
		t.Fatalf("first row %q, want the newest minute", got)
	}
	if got := tab.cell(len(tab.mins), 0); got != from.Local().Format("Mon 02 15:04") {
		t.Fatalf("last row %q, want the oldest minute", got)
	}
}

// desatLimits is a limit desk that also knows the SpO2 desaturation limit.
type desatLimits struct {
	*fakeLimits
	desat float64
}

func (d desatLimits) DesatLimit(string) float64 { return d.desat }

// The trends show each limit from the one source the detail reads (the
// LimitDesk), labelled: SpO2's low limit 90 and its desaturation limit 85
// are two limits, each named, never one bare "85" beside the detail's 90.
func TestTrendLimitsAreTheDetailsLabelled(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, _ := alarmStation(t, desk)
	st.SetTrends(&fakeTrends{})
	st.SetLimitDesk(desatLimits{newFakeLimits(), 85})
	st.spawn = func(f func()) { f() }
	st.ShowTrends("05")
	l := labels(st.Content())
	for _, want := range []string{"low 90", "desat 85", "low 50", "high 120"} {
		if !strings.Contains(l, want) {
			t.Errorf("the trends lack %q: %q", want, l)
		}
	}
	if strings.Contains(l, "85 – off") {
		t.Errorf("an unlabelled 85 beside the detail's low limit 90: %q", l)
	}
	// The same numbers as the detail's.
	for _, r := range newFakeLimits().rows {
		if r.Param == "spo2" && !strings.Contains(l, "low "+limitText(r.Low, r.Decimals)) {
			t.Errorf("SpO2 low limit not the detail's %v", r.Low)
		}
	}
}

// The chart draws the limits the label names: the detail's, not the trend
// source's own copy; SpO2's desaturation limit is drawn too, the alarm
// system's, beside them (the source's when the desk does not list SpO2).
func TestTrendLimitsFromTheLimitDesk(t *testing.T) {
	rows := newFakeLimits().rows
	spo2 := TrendSeries{Label: "SpO2", Low: 85, High: math.NaN()}
	got, lim := withDeskLimits(spo2, rows, 85)
	if got.Low != 90 || !math.IsNaN(got.High) || !lim.fromDesk || got.Desat != 85 {
		t.Fatalf("SpO2 limits %v–%v desat %v, %+v; want low 90 from the desk, desat 85", got.Low, got.High, got.Desat, lim)
	}
	// The alarm system says the desaturation limit is off: none drawn,
	// whatever the source had.
	if got, _ := withDeskLimits(TrendSeries{Label: "SpO2", Low: 90, High: math.NaN(), Desat: 85}, rows, math.NaN()); !math.IsNaN(got.desat()) {
		t.Fatalf("desat %v, want none", got.Desat)
	}
	hr := TrendSeries{Label: "HR", Low: 40, High: 130}
	if got, lim := withDeskLimits(hr, rows, 85); got.Low != 50 || got.High != 120 || !math.IsNaN(got.desat()) {
		t.Fatalf("HR limits %v–%v desat %v, %+v", got.Low, got.High, got.Desat, lim)
	}
	// Not in the desk: the source's, said as plain limits.
	rr := TrendSeries{Label: "RR", Low: 8, High: 30}
	if got, lim := withDeskLimits(rr, rows, 85); got.Low != 8 || got.High != 30 || lim.fromDesk {
		t.Fatalf("RR limits %v–%v, %+v", got.Low, got.High, lim)
	}
	src := TrendSeries{Label: "SpO2", Low: 90, High: math.NaN(), Desat: 85}
	if got, lim := withDeskLimits(src, nil, 80); got.Low != 90 || got.Desat != 85 || lim.fromDesk {
		t.Fatalf("SpO2 without a desk: %v desat %v, %+v; want the source's", got.Low, got.Desat, lim)
	}
}

// limitedDesk is an alarm desk that says the beds' limits, as the alarm
// service does.
type limitedDesk struct {
	*fakeDesk
	lim alarms.BedLimits
}

func (d limitedDesk) Limits(string) alarms.BedLimits { return d.lim }

// Without a DesatDesk the desaturation limit is the alarm system's, of the
// bed's profile.
func TestTrendDesatFromTheAlarmSystem(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, _ := alarmStation(t, desk)
	if d := st.desatLimit("05"); !math.IsNaN(d) {
		t.Fatalf("desat %v without limits", d)
	}
	st.SetAlarmDesk(limitedDesk{desk, alarms.BedLimits{Profile: "neonatal"}})
	st.SetLimitDesk(newFakeLimits())
	if d := st.desatLimit("05"); d != alarms.Profiles["neonatal"].Desat {
		t.Fatalf("desat %v, want the neonatal profile's %v", d, alarms.Profiles["neonatal"].Desat)
	}
}
