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
