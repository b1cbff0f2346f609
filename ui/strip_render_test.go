package ui

import (
	"image"
	"image/color"
	"math"
	"testing"
	"time"
)

var reviewT0 = time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)

// reviewWave is secs of f sampled at rate from start, as one segment.
func reviewWave(label string, c color.NRGBA, rate float64, start time.Time, secs float64, f func(t float64) float64) WaveTrace {
	n := int(math.Round(secs * rate))
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(f(float64(i) / rate))
	}
	return WaveTrace{Label: label, Unit: "mV", Color: c, RateHz: rate, Segments: []WaveSegment{{Start: start, Samples: s}}}
}

func reviewPix(img *image.RGBA, x, y int) color.NRGBA {
	i := img.PixOffset(x, y)
	return color.NRGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}
}

// reviewColumnHas reports whether column x of img holds colour c in rows [y0, y1).
func reviewColumnHas(img *image.RGBA, x, y0, y1 int, c color.NRGBA) bool {
	for y := y0; y < y1; y++ {
		if reviewPix(img, x, y) == c {
			return true
		}
	}
	return false
}

// A one-sample spike among 8 samples a column still reaches the top row,
// and a one-sample dip the bottom; the flat line between is drawn.
func TestStripRenderKeepsSpikes(t *testing.T) {
	tr := reviewWave("ECG II", ColorECG, 250, reviewT0, 10, func(float64) float64 { return 0 })
	s := tr.Segments[0].Samples
	s[1001], s[2003] = 1, -1 // at 4.004 s and 8.012 s
	img := image.NewRGBA(image.Rect(0, 0, 320, 100))
	RenderStrip(img, tr, reviewT0, 31.25, StripStyle{Min: -1, Max: 1})
	topCols, bottomCols := 0, 0
	const spikeCol = 125 // 4.004 s at 31.25 px/s
	for x := range 312 { // 10 s is 312.5 columns
		if reviewPix(img, x, 0) == ColorECG {
			topCols++
			if x != spikeCol {
				t.Errorf("top row drawn at column %d, want only %d", x, spikeCol)
			}
		}
		if reviewColumnHas(img, x, 98, 100, ColorECG) {
			bottomCols++
		}
		if !reviewColumnHas(img, x, 0, 100, ColorECG) {
			t.Fatalf("column %d has no trace: the flat line is broken", x)
		}
	}
	if topCols != 1 || bottomCols != 1 {
		t.Errorf("spike reaches the top in %d columns, dip the bottom in %d; want 1 and 1", topCols, bottomCols)
	}
}

// At 25 mm/s (94.5 px/s, ~2.6 samples a column) every R peak of the
// synthetic ECG reaches the top rows of the strip.
func TestStripRenderECGPeaks(t *testing.T) {
	tr := reviewWave("ECG II", ColorECG, 250, reviewT0, 10, ecgAt)
	peak := float32(0)
	for _, v := range tr.Segments[0].Samples {
		peak = max(peak, v)
	}
	img := image.NewRGBA(image.Rect(0, 0, 945, 160))
	RenderStrip(img, tr, reviewT0, 94.5, StripStyle{Min: -0.5, Max: peak})
	beats, on := 0, false
	for x := range 945 {
		hit := reviewColumnHas(img, x, 0, 3, ColorECG)
		if hit && !on {
			beats++
		}
		on = hit
	}
	if want := 14; beats != want { // beats at 0.21 s + k·0.75 s, up to 9.96 s
		t.Errorf("%d R peaks reach the top rows, want %d", beats, want)
	}
}

// A NaN run and the time between two segments are gaps: nothing drawn.
func TestStripRenderNaNGap(t *testing.T) {
	tr := reviewWave("Pleth", ColorSpO2, 125, reviewT0, 4, func(t float64) float64 { return math.Sin(t * 7) })
	s := tr.Segments[0].Samples
	for i := 125; i < 250; i++ { // 1..2 s
		s[i] = float32(math.NaN())
	}
	// A second segment from 5 s: 4..5 s has no samples.
	tr.Segments = append(tr.Segments, WaveSegment{Start: reviewT0.Add(5 * time.Second), Samples: s[250:500]})
	img := image.NewRGBA(image.Rect(0, 0, 700, 80))
	RenderStrip(img, tr, reviewT0, 100, StripStyle{Min: -1.2, Max: 1.2})
	for x := range 700 {
		inGap := (x > 100 && x < 199) || (x > 400 && x < 499)
		has := reviewColumnHas(img, x, 0, 80, ColorSpO2)
		if inGap && has {
			t.Fatalf("column %d is in a gap but has trace", x)
		}
		if !inGap && (x < 99 || (x > 200 && x < 399) || (x > 500 && x < 699)) && !has {
			t.Fatalf("column %d should have trace", x)
		}
	}
	// The grid still shows in the gap, the background between its lines.
	if c := reviewPix(img, 150, 10); c != colorBackground && c != stripMinorGrid && c != stripMajorGrid {
		t.Errorf("gap pixel %v is neither background nor grid", c)
	}
}

// Magnified (6.4 px a sample) a respiration trace stays a line: every
// column has trace.
func TestStripRenderMagnified(t *testing.T) {
	tr := reviewWave("Resp", ColorResp, 62.5, reviewT0, 3, func(t float64) float64 { return math.Sin(t * 2 * math.Pi) })
	img := image.NewRGBA(image.Rect(0, 0, 1000, 120))
	RenderStrip(img, tr, reviewT0, 320, StripStyle{Min: -1.1, Max: 1.1})
	for x := range int(2.9 * 320) {
		if !reviewColumnHas(img, x, 0, 120, ColorResp) {
			t.Fatalf("column %d has no trace", x)
		}
	}
}

// Time labels fall on whole seconds and read the time there; the axis
// below the trace has nothing else.
func TestStripRenderTimeLabels(t *testing.T) {
	tr := reviewWave("ECG II", ColorECG, 250, reviewT0, 10, ecgAt)
	from := reviewT0.Add(2500 * time.Millisecond)
	const w, h, pps = 600, 120, 100
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	RenderStrip(img, tr, from, pps, StripStyle{TimeLabels: true, Location: time.UTC})
	axis := h - StripAxisHeight
	for y := axis; y < h; y++ {
		for x := range w {
			if reviewPix(img, x, y) == ColorECG {
				t.Fatalf("trace drawn in the axis at %d,%d", x, y)
			}
		}
	}
	// 08:00:03 at x = 50, then every 100 px.
	for k := range 6 {
		x := 50 + 100*k
		label := reviewT0.Add(time.Duration(3+k) * time.Second).Format("15:04:05")
		want := image.NewRGBA(image.Rect(0, 0, 60, StripAxisHeight))
		c := stripCanvasOf(want)
		c.text(0, 0, label, ColorDim)
		for gy := range StripAxisHeight - 2 {
			for gx := range min(56, w-x-3) {
				got := reviewPix(img, x+3+gx, axis+2+gy) == ColorDim
				if exp := reviewPix(want, gx, gy) == ColorDim; got != exp {
					t.Fatalf("label %q at x=%d: pixel %d,%d is %v, want %v", label, x, gx, gy, got, exp)
				}
			}
		}
		if !reviewColumnHas(img, x, axis+1, axis+4, ColorDim) {
			t.Errorf("no tick at x=%d", x)
		}
		if k < 5 && reviewColumnHas(img, x+80, axis+1, h, ColorDim) {
			t.Errorf("something drawn between labels at x=%d", x+80)
		}
	}
	// At 6.25 mm/s (23.6 px/s) labels every 5 s.
	RenderStrip(img, tr, reviewT0, 23.6, StripStyle{TimeLabels: true, Location: time.UTC})
	ticks := 0
	for x := range w {
		if reviewPix(img, x, axis+2) == ColorDim && reviewPix(img, x, axis+1) == ColorDim {
			ticks++
		}
	}
	if ticks != 6 { // 0, 5, ... 25 s in 25.4 s
		t.Errorf("%d ticks at 23.6 px/s, want 6 (every 5 s)", ticks)
	}
}

// The cursor is a white line, an alarm mark a dashed line in its colour.
func TestStripRenderCursorAndMarks(t *testing.T) {
	tr := reviewWave("ECG II", ColorECG, 250, reviewT0, 10, ecgAt)
	img := image.NewRGBA(image.Rect(0, 0, 1000, 100))
	RenderStrip(img, tr, reviewT0, 100, StripStyle{Cursor: reviewT0.Add(5 * time.Second),
		Marks: []StripMark{{At: reviewT0.Add(2 * time.Second), Color: ColorAlarmHigh, Text: "***"}}})
	for y := range 100 {
		if reviewPix(img, 500, y) != ColorWhite {
			t.Fatalf("cursor column 500 at row %d is %v", y, reviewPix(img, 500, y))
		}
	}
	marked := 0
	for y := range 100 {
		if reviewPix(img, 200, y) == ColorAlarmHigh {
			marked++
		}
	}
	if marked < 50 || marked > 80 {
		t.Errorf("mark column has %d of 100 rows in its colour, want a dashed line", marked)
	}
}

// Drawing into a sub-image leaves the rest of the image alone, and the
// image is reused while its size stays.
func TestStripRenderSubImageAndReuse(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 300))
	sub := img.SubImage(image.Rect(0, 100, 200, 200)).(*image.RGBA)
	RenderStrip(sub, reviewWave("x", ColorECG, 250, reviewT0, 2, ecgAt), reviewT0, 100, StripStyle{})
	for _, y := range []int{0, 99, 200, 299} {
		for x := range 200 {
			if img.Pix[img.PixOffset(x, y)+3] != 0 {
				t.Fatalf("pixel %d,%d outside the sub-image was drawn", x, y)
			}
		}
	}
	if reviewPix(img, 0, 100).A != 0xFF || reviewPix(img, 199, 199).A != 0xFF {
		t.Error("the sub-image was not painted to its corners")
	}
	a := ReuseRGBA(nil, 30, 20)
	if b := ReuseRGBA(a, 30, 20); b != a {
		t.Error("ReuseRGBA allocated for the same size")
	}
	if b := ReuseRGBA(a, 31, 20); b == a || b.Rect.Dx() != 31 {
		t.Error("ReuseRGBA kept an image of the wrong size")
	}
}

// reviewBenchStrip is the benchmark's strip: 10 s of 250 Hz ECG on a
// 1600×160 image, with labels, a cursor and a mark.
func reviewBenchStrip() (*image.RGBA, WaveTrace, StripStyle) {
	tr := reviewWave("ECG II", ColorECG, 250, reviewT0, 30, ecgAt)
	st := StripStyle{Min: -0.5, Max: 1.3, TimeLabels: true, ChannelLabel: true, Cursor: reviewT0.Add(15 * time.Second),
		Marks: []StripMark{{At: reviewT0.Add(14 * time.Second), Color: ColorAlarmHigh, Text: "***"}}}
	return image.NewRGBA(image.Rect(0, 0, 1600, 160)), tr, st
}

// Drawing a strip allocates nothing, so scrolling does not feed the GC.
func TestStripRenderAllocs(t *testing.T) {
	img, tr, st := reviewBenchStrip()
	from := reviewT0.Add(10 * time.Second)
	if n := testing.AllocsPerRun(20, func() {
		from = from.Add(100 * time.Millisecond)
		RenderStrip(img, tr, from, 160, st)
	}); n != 0 {
		t.Errorf("RenderStrip allocates %v times a call, want 0", n)
	}
}

// BenchmarkRenderStrip draws 10 s of 250 Hz ECG across 1600×160 pixels,
// the window moving by 40 ms each time (a scroll).
func BenchmarkRenderStrip(b *testing.B) {
	img, tr, st := reviewBenchStrip()
	from := reviewT0.Add(5 * time.Second)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		RenderStrip(img, tr, from.Add(time.Duration(i%250)*40*time.Millisecond), 160, st)
	}
}
