package ui

import (
	"image"
	"image/color"
	"math"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// trendFixture is 24 h of heart rate, 1 h missing, a run above the high
// limit with a HIGH alarm onset at its start.
func trendFixture() (TrendSeries, time.Time, time.Time) {
	to := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	from := to.Add(-24 * time.Hour)
	s := TrendSeries{Label: "HR", Unit: "/min", Color: ColorECG, Low: 50, High: 120}
	for m := 0; m < 24*60; m++ {
		at := from.Add(time.Duration(m) * time.Minute)
		if m >= 300 && m < 360 {
			continue // the monitor was off
		}
		v := 72 + 8*math.Sin(float64(m)/90)
		if m >= 900 && m < 960 {
			v = 135
		}
		s.Points = append(s.Points, TrendPoint{at, v})
	}
	s.Marks = []TrendMark{{At: from.Add(900 * time.Minute), Priority: alarms.High, Text: "HR 135 > 120"}}
	return s, from, to
}

func TestRenderTrend(t *testing.T) {
	s, from, to := trendFixture()
	img, err := RenderTrend(s, from, to, 900, 260)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 260 {
		t.Fatalf("size %v", b)
	}
	assertGolden(t, "trend.png", img)
	count := func(r image.Rectangle, match func(color.Color) bool) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if match(img.At(x, y)) {
					n++
				}
			}
		}
		return n
	}
	isGreen := func(c color.Color) bool { r, g, b := rgb8(c); return g > 150 && r < 120 && b < 150 }
	all := img.Bounds()
	if n := count(all, isGreen); n < 900 {
		t.Errorf("%d pixels of the trend line", n)
	}
	if n := count(all, isRed); n < 300 {
		t.Errorf("%d red pixels: limits and the HIGH onset not drawn", n)
	}
	// The gap: the hour the monitor was off has no line. Its columns are
	// at 5/24..6/24 of the plot; the plot spans most of the width.
	gapCols := image.Rect(212, 0, 220, 260)
	if n := count(gapCols, isGreen); n > 0 {
		t.Errorf("%d line pixels inside the gap", n)
	}
}

// redRuns is, per row of img, the longest run of red pixels (reddish:
// the thin dashes are blended with the background).
func redRuns(img image.Image) []int {
	isRed := func(c color.Color) bool { r, g, b := rgb8(c); return r > 100 && r > 2*g && r > 2*b }
	b := img.Bounds()
	runs := make([]int, b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if isRed(img.At(x, y)) {
				n++
				runs[y-b.Min.Y] = max(runs[y-b.Min.Y], n)
			} else {
				n = 0
			}
		}
	}
	return runs
}

// SpO2's desaturation limit (HIGH) is drawn as its own line, solid in the
// HIGH colour across the chart, apart from the dashed low limit above it,
// even when it lies below every value and the low limit; none when the
// series has none (0 or NaN).
func TestRenderTrendDesatLine(t *testing.T) {
	to := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	from := to.Add(-8 * time.Hour)
	s := TrendSeries{Label: "SpO2", Unit: "%", Color: ColorSpO2, Low: 90, High: math.NaN(), Desat: 80}
	for m := 0; m < 8*60; m++ {
		s.Points = append(s.Points, TrendPoint{from.Add(time.Duration(m) * time.Minute), 97})
	}
	const w, h = 900, 260
	solid := func(s TrendSeries) (rows []int, dashed []int) {
		t.Helper()
		img, err := RenderTrend(s, from, to, w, h)
		if err != nil {
			t.Fatal(err)
		}
		for y, n := range redRuns(img) {
			switch {
			case n > w/2:
				rows = append(rows, y)
			case n > 0:
				dashed = append(dashed, y)
			}
		}
		return rows, dashed
	}
	rows, dashed := solid(s)
	if len(rows) == 0 {
		t.Fatal("no solid desaturation line")
	}
	if len(dashed) == 0 || dashed[0] >= rows[0] {
		t.Fatalf("the dashed low limit (rows %v) is not above the desaturation line (rows %v)", dashed, rows)
	}
	for _, none := range []float64{0, math.NaN()} {
		s.Desat = none
		if rows, dashed := solid(s); len(rows) != 0 || len(dashed) == 0 {
			t.Errorf("desat %v: solid red rows %v, dashed %v; want only the dashed low limit", none, rows, dashed)
		}
	}
}
