package ui

import (
	"encoding/csv"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/vigil-station/vigil/alarms"
)

// reviewFake is a recording: ECG II at 250 Hz and pleth at 125 Hz of every
// bed from first to last, and the alarms in events.
type reviewFake struct {
	mu          sync.Mutex
	first, last time.Time
	events      []ReviewEvent
	disclosures [][2]time.Time // the windows read
	snippets    []string
}

// reviewChannel is one channel of the fake: samples at first + k/rate.
func (f *reviewFake) reviewChannel(label string, c WaveTrace, from, to time.Time, gen func(float64) float64) WaveTrace {
	from, to = reviewMaxTime(from, f.first), reviewMinTime(to, f.last)
	c.Label = label
	if !from.Before(to) {
		return c
	}
	k0 := int(math.Ceil(from.Sub(f.first).Seconds() * c.RateHz))
	k1 := int(math.Ceil(to.Sub(f.first).Seconds() * c.RateHz))
	seg := WaveSegment{Start: f.first.Add(time.Duration(float64(k0) / c.RateHz * float64(time.Second)))}
	for k := k0; k < k1; k++ {
		seg.Samples = append(seg.Samples, float32(gen(float64(k)/c.RateHz)))
	}
	c.Segments = []WaveSegment{seg}
	return c
}

func (f *reviewFake) traces(from, to time.Time) []WaveTrace {
	return []WaveTrace{
		f.reviewChannel("ECG II", WaveTrace{Unit: "mV", Color: ColorECG, RateHz: 250}, from, to, ecgAt),
		f.reviewChannel("Pleth", WaveTrace{Color: ColorSpO2, RateHz: 125}, from, to, plethAt),
	}
}

func (f *reviewFake) Range(bed string) (time.Time, time.Time, error) { return f.first, f.last, nil }

func (f *reviewFake) Disclosure(bed string, from, to time.Time) ([]WaveTrace, error) {
	f.mu.Lock()
	f.disclosures = append(f.disclosures, [2]time.Time{from, to})
	f.mu.Unlock()
	return f.traces(from, to), nil
}

func (f *reviewFake) Events(bed string, from, to time.Time) ([]ReviewEvent, error) {
	var out []ReviewEvent
	for _, e := range f.events {
		if (bed == "" || e.Bed == bed) && !e.Onset.Before(from) && e.Onset.Before(to) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *reviewFake) Snippet(id string) (ReviewEvent, []WaveTrace, error) {
	f.mu.Lock()
	f.snippets = append(f.snippets, id)
	f.mu.Unlock()
	for _, e := range f.events {
		if e.AlarmID == id {
			return e, f.traces(e.Onset.Add(-10*time.Second), e.Onset.Add(10*time.Second)), nil
		}
	}
	return ReviewEvent{}, nil, os.ErrNotExist
}

func (f *reviewFake) reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.disclosures)
}

// reviewFixture is an hour of recording from reviewT0 with four alarms of
// two beds, listed out of order.
func reviewFixture() *reviewFake {
	at := func(m, s int) time.Time {
		return reviewT0.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	return &reviewFake{first: reviewT0, last: reviewT0.Add(time.Hour), events: []ReviewEvent{
		{AlarmID: "a2", Bed: "05", Text: "** HR 134 > 120", Priority: alarms.Medium, Onset: at(20, 3),
			Numerics: []NumericAt{{"HR", "134"}, {"SpO2", "95"}}},
		{AlarmID: "a1", Bed: "05", Text: "SpO2 84 < 90", Priority: alarms.High, Onset: at(10, 30),
			AckedBy: "nina", AckedAt: at(10, 52), ResolvedAt: at(12, 0),
			Numerics: []NumericAt{{"HR", "132"}, {"SpO2", "84"}}},
		{AlarmID: "a4", Bed: "07", Text: "Leads off", Priority: alarms.Low, Onset: at(40, 0)},
		{AlarmID: "a3", Bed: "05", Text: "RR 31 > 30", Priority: alarms.Low, Onset: at(30, 1)},
	}}
}

func reviewOpts(t *testing.T) ReviewOptions {
	return ReviewOptions{Now: func() time.Time { return reviewT0.Add(2 * time.Hour) },
		Spawn: func(f func()) { f() }, ExportDir: t.TempDir()}
}

// reviewInk counts the pixels of colour c in o's area of img.
func reviewInk(img image.Image, o fyne.CanvasObject, c [3]uint8) int {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	s := o.Size()
	n := 0
	for y := int(p.Y); y < int(p.Y+s.Height); y++ {
		for x := int(p.X); x < int(p.X+s.Width); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c[0] && uint8(g>>8) == c[1] && uint8(b>>8) == c[2] {
				n++
			}
		}
	}
	return n
}

// reviewExported reads the files named in the status line.
func reviewExported(t *testing.T, status string, ext string) string {
	t.Helper()
	for _, f := range strings.Fields(status) {
		if strings.HasSuffix(f, ext) {
			return f
		}
	}
	t.Fatalf("status %q names no %s file", status, ext)
	return ""
}

// readCSV reads an exported CSV file whole.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func reviewPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The disclosure opens at the newest screen with a strip per channel
// drawn in its colour; keys step, page, zoom and go to either end; small
// steps redraw from what is held, a page beyond it reads more.
func TestReviewDisclosureKeysAndZoom(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	src := reviewFixture()
	v := NewDisclosureView("05", src, reviewOpts(t))
	w := test.NewTempWindow(t, v.Content())
	w.SetPadded(false)
	w.Resize(fyne.NewSize(1400, 900))

	if v.Span() != 10*time.Second || !v.Cursor().Equal(src.last.Add(-5*time.Second)) {
		t.Fatalf("opened at %v with %v per screen, want the newest screen (cursor %v), 10 s", v.Cursor(), v.Span(), src.last.Add(-5*time.Second))
	}
	if len(v.strips) != 2 {
		t.Fatalf("%d strips, want 2 (ECG II, pleth)", len(v.strips))
	}
	img := w.Canvas().Capture()
	ecg := [3]uint8{ColorECG.R, ColorECG.G, ColorECG.B}
	pleth := [3]uint8{ColorSpO2.R, ColorSpO2.G, ColorSpO2.B}
	if n := reviewInk(img, v.strips[0].raster, ecg); n < 1000 {
		t.Errorf("the ECG strip has %d pixels of trace, want a trace across it", n)
	}
	if n := reviewInk(img, v.strips[1].raster, pleth); n < 1000 {
		t.Errorf("the pleth strip has %d pixels of trace", n)
	}
	if l := labels(v.Content()); !strings.Contains(l, "Cursor "+v.Cursor().Local().Format("Mon 02 Jan 2006 15:04:05.000")) {
		t.Errorf("the cursor's time is not shown: %q", l)
	}

	reads := src.reads()
	c := v.Cursor()
	key := func(name fyne.KeyName, want time.Duration, what string) {
		t.Helper()
		before := v.Cursor()
		if !v.TypedKey(&fyne.KeyEvent{Name: name}) {
			t.Fatalf("%s: key not handled", what)
		}
		if got := v.Cursor().Sub(before); got != want {
			t.Fatalf("%s moved the cursor by %v, want %v", what, got, want)
		}
	}
	key(fyne.KeyLeft, -time.Second, "Left")
	key(fyne.KeyLeft, -time.Second, "Left")
	key(fyne.KeyRight, time.Second, "Right")
	if src.reads() != reads {
		t.Errorf("a step within what is held read the recording again (%d reads, was %d)", src.reads(), reads)
	}
	key(fyne.KeyPageUp, -10*time.Second, "PageUp")
	key(fyne.KeyPageUp, -10*time.Second, "PageUp")
	if src.reads() == reads {
		t.Error("paging beyond what is held read nothing")
	}
	key(fyne.KeyPageDown, 10*time.Second, "PageDown")
	if !v.Cursor().Equal(c.Add(-11 * time.Second)) {
		t.Fatalf("cursor at %v, want %v", v.Cursor(), c.Add(-11*time.Second))
	}
	key(fyne.KeyRight, time.Second, "Right")
	key(fyne.KeyRight, time.Second, "Right")
	for range 3 {
		v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageDown}) // stops at the newest sample
	}
	if !v.Cursor().Equal(src.last) {
		t.Errorf("paging past the end put the cursor at %v, want the last sample %v", v.Cursor(), src.last)
	}

	// Zoom: + to 5 s a screen (steps of 0.5 s), − to 30 and 60 s, no further.
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPlus})
	if v.Span() != 5*time.Second {
		t.Fatalf("+ gave %v a screen, want 5 s", v.Span())
	}
	key(fyne.KeyLeft, -500*time.Millisecond, "Left at 5 s")
	for _, want := range []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second, 60 * time.Second} {
		v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyMinus})
		if v.Span() != want {
			t.Fatalf("− gave %v a screen, want %v", v.Span(), want)
		}
	}
	key(fyne.KeyPageUp, -time.Minute, "PageUp at 60 s")
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyHome})
	if !v.Cursor().Equal(src.first.Add(30 * time.Second)) {
		t.Errorf("Home: cursor %v, want the oldest screen's centre %v", v.Cursor(), src.first.Add(30*time.Second))
	}
	img = w.Canvas().Capture()
	if n := reviewInk(img, v.strips[0].raster, ecg); n < 1000 {
		t.Errorf("at the oldest screen the ECG strip has %d pixels of trace", n)
	}
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnd})
	if !v.Cursor().Equal(src.last.Add(-30 * time.Second)) {
		t.Errorf("End: cursor %v, want the newest screen's centre", v.Cursor())
	}
	if v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyQ}) {
		t.Error("Q was handled")
	}
	// The slider follows the cursor, and moves it.
	if got := v.slider.Value; got != math.Round(v.Cursor().Sub(src.first).Seconds()) {
		t.Errorf("slider at %v s, cursor at %v", got, v.Cursor().Sub(src.first))
	}
	v.slider.SetValue(600)
	if !v.Cursor().Equal(src.first.Add(10 * time.Minute)) {
		t.Errorf("slider at 600 s put the cursor at %v", v.Cursor().Sub(src.first))
	}
}

// Jumping to an alarm centres the cursor on its onset; the bed's alarms
// are offered newest first and marked on the strips.
func TestReviewDisclosureJumpToAlarm(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	src := reviewFixture()
	v := NewDisclosureView("05", src, reviewOpts(t))
	w := test.NewTempWindow(t, v.Content())
	w.Resize(fyne.NewSize(1400, 900))
	opts := v.jump.Options
	if len(opts) != 3 || !strings.Contains(opts[0], "RR 31 > 30") || !strings.Contains(opts[2], "*** HIGH  SpO2 84 < 90") {
		t.Fatalf("jump options %q, want bed 05's three alarms newest first with their priority", opts)
	}
	v.jump.SetSelectedIndex(2)
	onset := src.events[1].Onset
	if !v.Cursor().Equal(onset) {
		t.Fatalf("jump put the cursor at %v, want the onset %v", v.Cursor(), onset)
	}
	img := w.Canvas().Capture()
	red := [3]uint8{ColorAlarmHigh.R, ColorAlarmHigh.G, ColorAlarmHigh.B}
	if n := reviewInk(img, v.strips[0].raster, red); n < 50 {
		t.Errorf("the onset is not marked on the strip (%d red pixels)", n)
	}
	v.SetCursor(reviewT0.Add(-time.Hour))
	if !v.Cursor().Equal(src.first) {
		t.Errorf("SetCursor before the recording: %v, want its first sample", v.Cursor())
	}
}

// Export writes the screen as a PNG of the stacked strips under the
// annotation and as a CSV of a row per ECG sample, a column per channel.
func TestReviewDisclosureExport(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	src := reviewFixture()
	opt := reviewOpts(t)
	opt.ExportDir = filepath.Join(opt.ExportDir, "exports")
	var told []string
	opt.OnExport = func(p string) { told = append(told, p) }
	v := NewDisclosureView("05", src, opt)
	w := test.NewTempWindow(t, v.Content())
	w.Resize(fyne.NewSize(1400, 900))
	v.SetCursor(reviewT0.Add(30 * time.Minute))
	test.Tap(button(t, v.Content(), "Export strip"))
	status := v.status.Text
	if !strings.HasPrefix(status, "Exported ") {
		t.Fatalf("status %q", status)
	}
	pngPath, csvPath := reviewExported(t, status, ".png"), reviewExported(t, status, ".csv")
	for _, p := range []string{pngPath, csvPath} {
		if filepath.Dir(p) != opt.ExportDir || !strings.Contains(filepath.Base(p), "bed05") {
			t.Errorf("exported %s, want a file named for bed 05 in %s", p, opt.ExportDir)
		}
		// A patient's signals: the station's user only; the journal is told.
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", filepath.Base(p), st.Mode().Perm(), err)
		}
		if !slices.Contains(told, p) {
			t.Errorf("the station was not told of %s (%q)", p, told)
		}
	}
	if st, err := os.Stat(opt.ExportDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the export folder: mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	img := reviewPNG(t, pngPath)
	if b := img.Bounds(); b.Dx() != reviewExportW || b.Dy() != reviewExportHeadH+2*reviewExportStripH {
		t.Errorf("PNG is %v, want %d×%d (annotation and 2 strips)", b, reviewExportW, reviewExportHeadH+2*reviewExportStripH)
	}
	rows := readCSV(t, csvPath)
	if len(rows) != 1+2500 {
		t.Fatalf("CSV has %d rows, want a header and 2500 (10 s at 250 Hz)", len(rows))
	}
	if !slices.Equal(rows[0], []string{"time", "ECG II (mV)", "Pleth ()"}) && !slices.Equal(rows[0], []string{"time", "ECG II (mV)", "Pleth"}) {
		t.Errorf("header %q", rows[0])
	}
	start := reviewT0.Add(30*time.Minute - 5*time.Second)
	if at, err := time.Parse("2006-01-02T15:04:05.000Z07:00", rows[1][0]); err != nil || !at.Equal(start) {
		t.Errorf("first row at %q (%v), want %v", rows[1][0], err, start)
	}
	plethRows := 0
	for _, r := range rows[1:] {
		if len(r) != 3 || r[1] == "" {
			t.Fatalf("row %q: want 3 columns with an ECG value", r)
		}
		if r[2] != "" {
			plethRows++
		}
	}
	if plethRows != 1250 {
		t.Errorf("%d rows with a pleth value, want 1250 (every other one)", plethRows)
	}
}

// The event review lists the ward's alarms newest first with time, bed,
// priority in words, text and acknowledgement; choosing one shows its
// snippet with the onset marked, numerics, who acknowledged it and when;
// exports and the way into the full disclosure work; ↑/↓ and Enter too.
func TestReviewEvents(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	src := reviewFixture()
	opt := reviewOpts(t)
	var opened []string
	opt.OpenDisclosure = func(bed string, at time.Time) { opened = append(opened, bed+" "+at.Format(time.TimeOnly)) }
	e := NewEventReview("", src, opt)
	w := test.NewTempWindow(t, e.Content())
	w.Resize(fyne.NewSize(1600, 1000))

	var ids []string
	for _, ev := range e.Events() {
		ids = append(ids, ev.AlarmID)
	}
	if strings.Join(ids, " ") != "a4 a3 a2 a1" {
		t.Fatalf("listed %v, want newest first: a4 a3 a2 a1", ids)
	}
	l := labels(e.Content())
	for _, want := range []string{"Bed 07", "* LOW", "Leads off", "*** HIGH", "SpO2 84 < 90", "not acknowledged",
		"acked by nina at " + src.events[1].AckedAt.Local().Format("15:04:05")} {
		if !strings.Contains(l, want) {
			t.Errorf("the list does not show %q:\n%s", want, l)
		}
	}
	if strings.Contains(l, "** ** HR") {
		t.Error("a priority prefix in the alarm's text is shown twice")
	}

	// ↓ ↓ ↓ Enter opens the fourth: a1, the SpO2 alarm.
	for range 3 {
		if !e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown}) {
			t.Fatal("Down not handled")
		}
	}
	if len(src.snippets) != 0 {
		t.Fatal("moving in the list opened an alarm")
	}
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !e.curOK || e.cur.AlarmID != "a1" || len(e.strips) != 2 {
		t.Fatalf("Enter opened %q with %d strips, want a1 with 2", e.cur.AlarmID, len(e.strips))
	}
	ev := src.events[1]
	l = labels(e.Content())
	for _, want := range []string{"acked by nina at " + ev.AckedAt.Local().Format("15:04:05"),
		"resolved at " + ev.ResolvedAt.Local().Format("15:04:05"), "HR 132", "SpO2 84",
		"Onset " + ev.Onset.Local().Format("Mon 02 Jan 2006 15:04:05")} {
		if !strings.Contains(l, want) {
			t.Errorf("the alarm's detail does not show %q", want)
		}
	}
	if !e.from.Equal(ev.Onset.Add(-10*time.Second)) || !e.to.Equal(ev.Onset.Add(10*time.Second)) {
		t.Errorf("snippet shown %v..%v, want onset ±10 s", e.from, e.to)
	}
	img := w.Canvas().Capture()
	if n := reviewInk(img, e.strips[0].raster, [3]uint8{ColorECG.R, ColorECG.G, ColorECG.B}); n < 500 {
		t.Errorf("the snippet's ECG has %d pixels of trace", n)
	}
	if n := reviewInk(img, e.strips[1].raster, [3]uint8{ColorAlarmHigh.R, ColorAlarmHigh.G, ColorAlarmHigh.B}); n < 50 {
		t.Errorf("the onset is not marked (%d red pixels)", n)
	}
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	if e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyQ}) {
		t.Error("Q was handled")
	}

	test.Tap(button(t, e.Content(), "Export PNG"))
	p := reviewPNG(t, reviewExported(t, e.status.Text, ".png"))
	if b := p.Bounds(); b.Dx() != reviewExportW || b.Dy() != reviewExportHeadH+2*reviewExportStripH {
		t.Errorf("snippet PNG is %v", b)
	}
	test.Tap(button(t, e.Content(), "Export CSV"))
	rows := readCSV(t, reviewExported(t, e.status.Text, ".csv"))
	if len(rows) != 1+5000 || len(rows[0]) != 3 {
		t.Errorf("snippet CSV is %d rows × %d, want 5001 × 3 (20 s at 250 Hz)", len(rows), len(rows[0]))
	}
	test.Tap(button(t, e.Content(), "Open in full disclosure"))
	if len(opened) != 1 || opened[0] != "05 "+ev.Onset.Format(time.TimeOnly) {
		t.Errorf("opened %v, want bed 05 at the onset", opened)
	}

	// Select opens one directly; tapping a row too.
	e.Select("a2")
	if e.cur.AlarmID != "a2" || !strings.Contains(labels(e.Content()), "not acknowledged") {
		t.Errorf("Select(a2) shows %q", e.cur.AlarmID)
	}
	e.list.Select(0)
	if e.cur.AlarmID != "a4" || e.cur.Bed != "07" {
		t.Errorf("tapping the first row shows %q of bed %q", e.cur.AlarmID, e.cur.Bed)
	}

	// A bed's review lists only its alarms.
	b := NewEventReview("07", src, opt)
	if len(b.Events()) != 1 || b.Events()[0].AlarmID != "a4" {
		t.Errorf("bed 07's review lists %v", b.Events())
	}
}
