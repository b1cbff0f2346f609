package ui

import (
	"image"
	"image/color"
	"math"
	"strconv"
	"time"

	"github.com/go-analyze/charts/chartdraw"
	"github.com/go-analyze/charts/chartdraw/drawing"

	"github.com/vigil-station/vigil/alarms"
)

// TrendPoint is one minute's median.
type TrendPoint struct {
	At time.Time
	V  float64
}

// TrendMark is an alarm onset drawn on a trend.
type TrendMark struct {
	At       time.Time
	Priority alarms.Priority
	Text     string
}

// TrendSeries is one parameter's trend of a bed, with what is drawn on it.
type TrendSeries struct {
	Label, Unit string
	Color       color.NRGBA
	Decimals    int
	Points      []TrendPoint // in time order
	Low, High   float64      // the bed's alarm limits now; NaN: none
	// Desat is SpO2's desaturation limit now (the HIGH limit below Low),
	// drawn as a line of its own; 0 or NaN: none (the zero value draws
	// nothing: no desaturation limit is 0 %).
	Desat float64
	Marks []TrendMark // onsets of this parameter's alarms
}

// desat is s's desaturation limit, NaN when it has none.
func (s TrendSeries) desat() float64 {
	if s.Desat == 0 {
		return math.NaN()
	}
	return s.Desat
}

// trendGap is the silence after which the trend line is broken rather
// than drawn across (a device off, a bed empty).
const trendGap = 3 * time.Minute

func dcolor(c color.NRGBA) drawing.Color { return drawing.Color{R: c.R, G: c.G, B: c.B, A: c.A} }

// RenderTrend draws s over [from, to) into a w×h image: the minute medians
// as a line (broken at gaps), the alarm limits as dashed lines, SpO2's
// desaturation limit as a solid line in the HIGH colour, alarm onsets as
// vertical lines in their priority's colour. It allocates its
// image; callers render off the UI thread and swap the result in.
func RenderTrend(s TrendSeries, from, to time.Time, w, h int) (*image.RGBA, error) {
	bg, fg, grid := dcolor(colorTile), dcolor(ColorWhite), drawing.Color{R: 0x3a, G: 0x3f, B: 0x48, A: 0xff}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		lo, hi = min(lo, p.V), max(hi, p.V)
	}
	for _, l := range []float64{s.Low, s.High, s.desat()} {
		if !math.IsNaN(l) {
			lo, hi = min(lo, l), max(hi, l)
		}
	}
	if math.IsInf(lo, 0) { // nothing to draw but the axes
		lo, hi = 0, 1
	}
	pad := max((hi-lo)*0.08, 1)
	ticks := niceTicks(lo-pad, hi+pad, s.Decimals)
	lo, hi = ticks[0].Value, ticks[len(ticks)-1].Value

	var series []chartdraw.Series
	line := chartdraw.Style{StrokeColor: dcolor(s.Color), StrokeWidth: 2.5}
	var xs []time.Time
	var ys []float64
	flush := func() {
		if len(xs) == 1 { // a lone minute: a short tick so it is seen
			xs, ys = append(xs, xs[0].Add(time.Minute)), append(ys, ys[0])
		}
		if len(xs) > 0 {
			series = append(series, chartdraw.TimeSeries{Style: line, XValues: xs, YValues: ys})
		}
		xs, ys = nil, nil
	}
	for i, p := range s.Points {
		if i > 0 && p.At.Sub(s.Points[i-1].At) > trendGap {
			flush()
		}
		xs, ys = append(xs, p.At), append(ys, p.V)
	}
	flush()
	limit := chartdraw.Style{StrokeColor: dcolor(ColorAlarmHigh), StrokeWidth: 1.5, StrokeDashArray: []float64{6, 4}}
	for _, l := range []float64{s.Low, s.High} {
		if !math.IsNaN(l) {
			series = append(series, chartdraw.TimeSeries{Style: limit, XValues: []time.Time{from, to}, YValues: []float64{l, l}})
		}
	}
	if d := s.desat(); !math.IsNaN(d) { // solid and heavier: the HIGH limit, told apart from the dashed ones
		desat := chartdraw.Style{StrokeColor: dcolor(ColorAlarmHigh), StrokeWidth: 2.5}
		series = append(series, chartdraw.TimeSeries{Style: desat, XValues: []time.Time{from, to}, YValues: []float64{d, d}})
	}
	for _, m := range s.Marks {
		if m.At.Before(from) || !m.At.Before(to) {
			continue
		}
		c := ColorAlarmLow
		switch m.Priority {
		case alarms.High:
			c = ColorAlarmHigh
		case alarms.Medium:
			c = ColorAlarmMedium
		}
		series = append(series, chartdraw.TimeSeries{Style: chartdraw.Style{StrokeColor: dcolor(c), StrokeWidth: 2},
			XValues: []time.Time{m.At, m.At}, YValues: []float64{lo, hi}})
	}
	if len(series) == 0 { // chartdraw needs a series: an invisible one
		series = append(series, chartdraw.TimeSeries{Style: chartdraw.Style{StrokeColor: bg, StrokeWidth: 0.1},
			XValues: []time.Time{from, to}, YValues: []float64{lo, lo}})
	}
	format := "15:04"
	if to.Sub(from) > 24*time.Hour {
		format = "Mon 15:04"
	}
	axis := chartdraw.Style{FontStyle: chartdraw.FontStyle{FontColor: fg, FontSize: 11}, StrokeColor: grid, StrokeWidth: 1}
	c := chartdraw.Chart{
		Width: w, Height: h,
		Background: chartdraw.Style{FillColor: bg, Padding: chartdraw.Box{Top: 10, Left: 22, Right: 10, Bottom: 6}},
		Canvas:     chartdraw.Style{FillColor: bg},
		XAxis: chartdraw.XAxis{Style: axis, ValueFormatter: chartdraw.TimeValueFormatterWithFormat(format),
			Range:          &chartdraw.ContinuousRange{Min: chartdraw.TimeToFloat64(from), Max: chartdraw.TimeToFloat64(to)},
			GridMajorStyle: chartdraw.Style{StrokeColor: grid, StrokeWidth: 1}},
		YAxis: chartdraw.YAxis{Style: axis, Range: &chartdraw.ContinuousRange{Min: lo, Max: hi},
			Ticks:          ticks,
			GridMajorStyle: chartdraw.Style{StrokeColor: grid, StrokeWidth: 1}},
		YAxisSecondary: chartdraw.YAxis{Style: chartdraw.Style{Hidden: true}},
		Series:         series,
	}
	var iw chartdraw.ImageWriter
	if err := c.Render(chartdraw.PNG, &iw); err != nil {
		return nil, err
	}
	img, err := iw.Image()
	if err != nil {
		return nil, err
	}
	return img.(*image.RGBA), nil
}

// niceTicks are about five round values from at or below lo to at or
// above hi (steps of 1, 2, 2.5 or 5 times a power of ten), labelled with
// decimals.
func niceTicks(lo, hi float64, decimals int) []chartdraw.Tick {
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []chartdraw.Tick
	for v := math.Floor(lo/step) * step; v < hi+step; v += step {
		d := decimals
		if step < 1 {
			d = max(d, 1)
		}
		ticks = append(ticks, chartdraw.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', d, 64)})
	}
	return ticks
}
