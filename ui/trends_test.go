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
	spo2 := TrendSeries{Label: "SpO2", Unit: "%", Color: ColorSpO2, Low: 85, High: math.NaN()}
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
	if l := labels(st.Content()); !strings.Contains(l, "2 parameters") || !strings.Contains(l, "85 – off") {
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
