package ui

import (
	"flag"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
)

var update = flag.Bool("update", false, "rewrite golden images")

func TestMain(m *testing.M) {
	time.Local = time.UTC // golden images show clock times
	os.Exit(m.Run())
}

const t0 = 1_732_400_000_000

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// synthetic ECG (mV) and pleth for the UI tests: a fixed beat every 750 ms,
// independent of the simulator so a change there cannot move these images.
func ecgAt(t float64) float64 {
	ph := math.Mod(t, 0.75)
	g := func(mu, sd, a float64) float64 { return a * math.Exp(-(ph-mu)*(ph-mu)/(2*sd*sd)) }
	return g(0.10, 0.025, 0.15) - g(0.19, 0.008, 0.15) + g(0.21, 0.010, 1.2) - g(0.23, 0.008, 0.3) + g(0.42, 0.045, 0.3)
}

func plethAt(t float64) float64 {
	ph := math.Mod(t+0.5, 0.75) / 0.75
	return 0.2 + 0.7*math.Exp(-(ph-0.25)*(ph-0.25)/0.01) + 0.25*math.Exp(-(ph-0.55)*(ph-0.55)/0.006)
}

// feedBed pushes secs of 200 ms frames and numerics into bed 01, calling
// each tick between frames.
func feedBed(h *monitor.Hub, clk *clock, secs float64, tick func()) {
	feedBeds(h, clk, secs, tick, "01")
}

// feedBeds is feedBed for several beds, all showing the same signals, from
// t0 on (frames numbered from 0), with numerics every second.
func feedBeds(h *monitor.Hub, clk *clock, secs float64, tick func(), beds ...string) {
	clk.t = time.UnixMilli(t0)
	feedFrames(h, clk, 0, secs, tick, true, beds...)
}

// feedFrames sends secs of ECG and pleth to beds in 200 ms frames from the
// clock's time on, numbered from seq0, ticking five times a frame; with
// withNum, normal numerics every fifth frame.
func feedFrames(h *monitor.Hub, clk *clock, seq0 uint32, secs float64, tick func(), withNum bool, beds ...string) {
	for i := 0; float64(i)*0.2 < secs; i++ {
		start := float64(i) * 0.2
		ecg, pl := make([]int16, 50), make([]int16, 25)
		for k := range ecg {
			ecg[k] = int16(math.Round(ecgAt(start+float64(k)/250) * 200))
		}
		for k := range pl {
			pl[k] = int16(math.Round(plethAt(start+float64(k)/125) * 1000))
		}
		ms := clk.t.UnixMilli()
		for _, bed := range beds {
			h.Wave(bed, &feed.WaveFrame{Seq: seq0 + uint32(i), StartMs: ms, Channels: []feed.Channel{
				{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200, Samples: ecg},
				{Code: feed.MDCPleth, RateHz: 125, Gain: 1000, Samples: pl},
			}})
		}
		for _, bed := range beds {
			if withNum && i%5 == 0 {
				numerics(h, bed, ms, (seq0+uint32(i))/5)
			}
		}
		// Frames arrive every 200 ms and the window draws every 40 ms.
		for k := 1; k <= 5; k++ {
			clk.t = time.UnixMilli(ms + int64(k)*40)
			tick()
		}
	}
}

// numerics sends one set of normal adult values.
func numerics(h *monitor.Hub, bed string, ms int64, seq uint32) {
	h.Numerics(bed, feed.NumFrame{TsMs: ms, Seq: seq, Values: []feed.Numeric{
		{Code: feed.MDCECGHeartRate, Value: 80, Valid: true},
		{Code: feed.MDCSpO2, Value: 97, Valid: true},
		{Code: feed.MDCRespRate, Value: 16, Valid: true},
		{Code: feed.MDCTemp, Value: 36.8, Valid: true},
		{Code: feed.MDCNIBPSys, Value: 124, Valid: true},
		{Code: feed.MDCNIBPDia, Value: 78, Valid: true},
		{Code: feed.MDCNIBPMean, Value: 93, Valid: true},
	}})
}

func newHub(clk *clock, beds ...string) *monitor.Hub {
	return monitor.NewHub(monitor.Config{Ward: "ICU1", Beds: beds, Now: clk.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestTileGolden(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	h := newHub(clk, "01")
	h.Status("01", feed.Status{Device: "SIM-1", Online: true, Patient: "Ada Lovelace"})
	tile := NewTile(h.Bed("01"))
	w := test.NewTempWindow(t, tile)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(476, 262))
	feedBed(h, clk, 4, func() { tile.Tick(clk.now()) })
	tile.Update(clk.now())

	for _, s := range tile.Strips() {
		if s.Samples() == 0 {
			t.Fatal("a strip drew no samples")
		}
	}
	if tile.hrValue.Text != "80" || tile.spo2Value.Text != "97" || tile.nibpValue.Text != "124/78" {
		t.Fatalf("numerics HR %q SpO2 %q NIBP %q", tile.hrValue.Text, tile.spo2Value.Text, tile.nibpValue.Text)
	}
	assertGolden(t, "tile.png", w.Canvas().Capture())

	// 3.1 s without waveform: NO DATA at once, values blanked after 10 s.
	clk.t = clk.t.Add(3100 * time.Millisecond)
	tile.Update(clk.now())
	if tile.stateText.Text != "NO DATA" || tile.overlayText.Text != "NO DATA" {
		t.Fatalf("stale bed shows state %q overlay %q", tile.stateText.Text, tile.overlayText.Text)
	}
	clk.t = clk.t.Add(7 * time.Second)
	tile.Update(clk.now())
	if tile.hrValue.Text != "---" {
		t.Fatalf("HR %q shown from stale numerics", tile.hrValue.Text)
	}

	// Device offline: the overlay says so, fits the waveform area, and no
	// old trace shows through it.
	h.Status("01", feed.Status{Device: "SIM-1", Online: false})
	tile.Update(clk.now())
	if tile.stateText.Text != "OFFLINE" || tile.overlaySub.Text != "device offline" {
		t.Fatalf("offline bed shows %q / %q", tile.stateText.Text, tile.overlaySub.Text)
	}
	for _, o := range []*canvas.Text{tile.overlayText, tile.overlaySub} {
		if o.MinSize().Width > tile.ecg.Size().Width {
			t.Fatalf("overlay %q is %v wide, the waveform area %v", o.Text, o.MinSize().Width, tile.ecg.Size().Width)
		}
	}
	img := w.Canvas().Capture()
	p, sz := tile.ecg.Position(), tile.ecg.Size()
	for y := int(p.Y + 20); y < int(p.Y+sz.Height); y++ {
		for x := int(p.X); x < int(p.X+sz.Width); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if g>>8 > 120 && r>>8 < 100 && b>>8 < 120 {
				t.Fatalf("ECG trace still visible at %d,%d under the offline overlay", x, y)
			}
		}
	}
}

// TestStripKeepsPeaks: at 25 mm/s a 250 Hz ECG puts ~2.6 samples in a column;
// every R peak (1.2 mV) must still reach the top of the trace.
func TestStripKeepsPeaks(t *testing.T) {
	test.NewTempApp(t)
	clk := &clock{time.UnixMilli(t0)}
	h := newHub(clk, "01")
	tile := NewTile(h.Bed("01"))
	w := test.NewTempWindow(t, tile)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(476, 262))
	feedBed(h, clk, 3, func() { tile.Tick(clk.now()) })
	img := w.Canvas().Capture()
	ecg := tile.ecg
	pos, size := ecg.Position(), ecg.Size()
	// The R peak is 1.2 mV on a -0.8..1.6 mV scale: row at 1/6 of the height.
	peakRow := int(pos.Y + size.Height*(1.6-1.15)/2.4)
	peaks := 0
	inPeak := false
	for x := int(pos.X); x < int(pos.X+size.Width); x++ {
		r, g, b, _ := img.At(x, peakRow).RGBA()
		on := g>>8 > 200 && r>>8 < 120 && b>>8 < 160
		if on && !inPeak {
			peaks++
		}
		inPeak = on
	}
	// 3 s at 25 mm/s fits in the strip: 4 beats (one per 750 ms).
	if peaks != 4 {
		t.Fatalf("%d R peaks reach the peak row, want 4", peaks)
	}
}

func TestGrid16At1080p(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	beds := make([]string, 16)
	for i := range beds {
		beds[i] = string(rune('A'+i)) + "1"
	}
	h := newHub(clk, beds...)
	st := NewStation(h, nil, clk.now)
	st.sendCmd = func(f func()) { f() } // commands answer at once (the worker: TestCommandsNeverWaitOnTheUI)
	w := test.NewTempWindow(t, st.Content())
	w.SetPadded(false)
	w.Resize(fyne.NewSize(1920, 1080))
	st.Tick()

	var rects []image.Rectangle
	for i, tile := range st.Tiles() {
		if tile.Bed() == nil || tile.Bed().Name != beds[i] {
			t.Fatalf("tile %d shows %v, want bed %s", i, tile.Bed(), beds[i])
		}
		p := fyne.CurrentApp().Driver().AbsolutePositionForObject(tile)
		s := tile.Size()
		r := image.Rect(int(p.X), int(p.Y), int(p.X+s.Width), int(p.Y+s.Height))
		// The alarm bar keeps its height whether or not there are alarms,
		// so the tiles are as high with none as with many.
		if s.Width < 470 || s.Height < 220 {
			t.Errorf("tile %d is %v, too small to read at 2 m", i, s)
		}
		if !r.In(image.Rect(0, 0, 1920, 1080)) {
			t.Errorf("tile %d at %v leaves the screen", i, r)
		}
		for j, o := range rects {
			if r.Overlaps(o) {
				t.Errorf("tile %d %v overlaps tile %d %v", i, r, j, o)
			}
		}
		rects = append(rects, r)
	}
}

// assertGolden compares img with testdata/name, allowing 0.5 % of pixels to
// differ (font rasterising may vary by a pixel); -update rewrites it.
func assertGolden(t *testing.T, name string, img image.Image) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		writePNG(t, path, img)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./ui -update to create it)", path, err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds() != img.Bounds() {
		t.Fatalf("image %v, golden %v", img.Bounds(), want.Bounds())
	}
	diff := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := img.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if absDiff(r1, r2) > 0x1800 || absDiff(g1, g2) > 0x1800 || absDiff(b1, b2) > 0x1800 {
				diff++
			}
		}
	}
	if limit := b.Dx() * b.Dy() / 200; diff > limit {
		writePNG(t, filepath.Join("testdata", "failed", name), img)
		t.Fatalf("%d pixels differ from %s (limit %d); see testdata/failed/%s", diff, path, limit, name)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

type fakeLink struct {
	up      bool
	problem string
}

func (l *fakeLink) Connected() bool   { return l.up }
func (l *fakeLink) LastError() string { return l.problem }

// A refused or lost broker connection is on the station bar in one line,
// with its reason, and goes away when the link is back.
func TestStationBarShowsBrokerProblem(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	link := &fakeLink{problem: `broker ssl://mqtt-main.icu.hospital.example:8883 refused the login (user "station-icu1"): not authorised — wrong user name or password, or no access for this user`}
	st := NewStation(newHub(clk, "01"), link, clk.now)
	st.sendCmd = func(f func()) { f() } // commands answer at once (the worker: TestCommandsNeverWaitOnTheUI)
	w := test.NewTempWindow(t, st.Content())
	w.Resize(fyne.NewSize(1920, 1080))
	st.Tick()
	if got := st.linkText.Text; !strings.Contains(got, "NO BROKER CONNECTION") {
		t.Fatalf("bar says %q", got)
	}
	if got := st.problem.Text; got != link.problem || !st.problemRow.Visible() {
		t.Fatalf("problem row says %q (visible %v), want the whole line", got, st.problemRow.Visible())
	}
	// The row has the width for the whole line and does not cover the bar.
	if w, row := st.problem.MinSize().Width, st.problemRow.Size().Width; w > row {
		t.Fatalf("problem line %v px wide in a row of %v px", w, row)
	}
	if st.linkText.Color != ColorAlarmMedium {
		t.Fatalf("problem shown in %v", st.linkText.Color)
	}
	link.up, link.problem = true, ""
	clk.t = clk.t.Add(time.Second)
	st.Tick()
	if got := st.linkText.Text; strings.Contains(got, "NO BROKER") || st.problemRow.Visible() {
		t.Fatalf("bar still says %q when connected (problem row visible %v)", got, st.problemRow.Visible())
	}
}
