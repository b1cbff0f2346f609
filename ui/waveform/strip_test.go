package waveform

import (
	"image"
	"image/color"
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// queueSource hands out whatever was queued since the last drain.
type queueSource struct {
	q    []float32
	rate float32
}

func (s *queueSource) Drain(dst []float32) []float32 {
	dst = append(dst, s.q...)
	s.q = s.q[:0]
	return dst
}
func (s *queueSource) RateHz() float32 { return s.rate }

// spiky is an ECG-like test signal: a flat baseline with a 1 mV spike of
// 40 ms every 0.8 s, from t seconds on.
func spiky(t float64, n int, rate float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		ph := math.Mod(t+float64(i)/rate, 0.8)
		if ph >= 0.4 && ph < 0.44 {
			out[i] = 1
		}
	}
	return out
}

// sweepStrip shows a strip of 400 x 120 in its own window and feeds it
// secs of the spiky signal in 40 ms frames.
func sweepStrip(t *testing.T, crop bool, secs float64) (*Strip, fyne.Window) {
	t.Helper()
	src := &queueSource{rate: 250}
	s := NewStrip(src, color.NRGBA{G: 255, A: 255}, Scale{Min: -0.5, Max: 1.5}, Speed25)
	bg := color.NRGBAModel.Convert(theme.Color(theme.ColorNameBackground)).(color.NRGBA)
	s.SetBackground(bg)
	s.SetCrop(crop)
	w := test.NewTempWindow(t, s)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(400, 120))
	now := time.Unix(1_700_000_000, 0)
	for f := 0; float64(f)*0.04 < secs; f++ {
		src.q = append(src.q, spiky(float64(f)*0.04, 10, 250)...)
		now = now.Add(40 * time.Millisecond)
		s.Tick(now)
		w.Canvas().Capture() // the painter runs, as the window's would
	}
	return s, w
}

// A cropped strip draws exactly what an uncropped one does, on its own
// background, with its segments covering only the rows the trace is in,
// and none where no trace is yet.
func TestStripCrop(t *testing.T) {
	test.NewTempApp(t)
	// 2.5 s at 25 mm/s is about 236 of the 400 columns: the rest is blank.
	cropped, wc := sweepStrip(t, true, 2.5)
	whole, ww := sweepStrip(t, false, 2.5)
	a, b := wc.Canvas().Capture(), ww.Canvas().Capture()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("captures %v and %v", a.Bounds(), b.Bounds())
	}
	diff := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				diff++
			}
		}
	}
	if diff != 0 {
		t.Fatalf("the cropped strip differs from the whole one in %d pixels", diff)
	}
	if cropped.Samples() != whole.Samples() || cropped.Samples() == 0 {
		t.Fatalf("samples drawn: cropped %d, whole %d", cropped.Samples(), whole.Samples())
	}

	area := func(s *Strip) (shown, hidden int) {
		for _, o := range s.CreateRenderer().Objects() {
			r := o.(*canvas.Raster)
			if !r.Visible() {
				hidden++
				continue
			}
			shown += int(r.Size().Width * r.Size().Height)
		}
		return shown, hidden
	}
	full, _ := area(whole)
	shown, hidden := area(cropped)
	if hidden == 0 {
		t.Fatal("no segment hidden over the columns with no trace yet")
	}
	// The spikes reach from the baseline (row 90 of 120) to the top
	// quarter; the trace is in about a third of the rows, and in none of
	// the last columns.
	if shown*2 > full || shown == 0 {
		t.Fatalf("cropped segments cover %d of the strip's %d px²", shown, full)
	}
	t.Logf("cropped segments cover %d of %d px² (%d hidden)", shown, full, hidden)

	// Every inked pixel of the uncropped strip lies under a shown segment.
	var rects []image.Rectangle
	for _, o := range cropped.CreateRenderer().Objects() {
		if o.Visible() {
			p, sz := o.Position(), o.Size()
			rects = append(rects, image.Rect(int(p.X), int(p.Y), int(p.X+sz.Width), int(p.Y+sz.Height)))
		}
	}
	bg := color.NRGBAModel.Convert(theme.Color(theme.ColorNameBackground))
	for y := b.Bounds().Min.Y; y < b.Bounds().Max.Y; y++ {
		for x := b.Bounds().Min.X; x < b.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(b.At(x, y)) == bg {
				continue
			}
			in := false
			for _, r := range rects {
				in = in || image.Pt(x, y).In(r)
			}
			if !in {
				t.Fatalf("trace at %d,%d outside every shown segment", x, y)
			}
		}
	}

	// Cleared: nothing to show, every segment hidden.
	cropped.Clear()
	if shown, _ := area(cropped); shown != 0 {
		t.Fatalf("a cleared strip still shows %d px²", shown)
	}
}

// A growing scale keeps its range for a signal inside it and widens, at
// the end of a sweep, to hold one that goes beyond: a recording whose
// baseline sits at −1.2 mV with 2.5 mV complexes is drawn whole.
func TestStripScaleGrows(t *testing.T) {
	test.NewTempApp(t)
	run := func(offset, peak float32, frames int) (lo, hi float32) {
		src := &queueSource{rate: 250}
		s := NewStrip(src, color.NRGBA{G: 255, A: 255}, Scale{Min: -0.8, Max: 1.6, Grow: true}, Speed25)
		w := test.NewTempWindow(t, s)
		w.SetPadded(false)
		w.Resize(fyne.NewSize(400, 120))
		now := time.Unix(1_700_000_000, 0)
		for f := 0; f < frames; f++ {
			for _, v := range spiky(float64(f)*0.04, 10, 250) {
				src.q = append(src.q, offset+v*peak)
			}
			now = now.Add(40 * time.Millisecond)
			s.Tick(now)
		}
		return s.lo, s.hi
	}
	// 150 frames, 6 s, are more than a sweep of 400 px; 25 are 1 s.
	if lo, hi := run(0, 1, 150); lo != -0.8 || hi != 1.6 {
		t.Fatalf("a signal within the range changed it to %v..%v", lo, hi)
	}
	for _, frames := range []int{25, 150} {
		if lo, hi := run(-1.2, 2.5, frames); lo > -1.2 || hi < 1.3 || lo < -1.5 {
			t.Fatalf("after %d frames: range %v..%v for a baseline at -1.2 mV and complexes to 1.3 mV", frames, lo, hi)
		}
	}
}
