package ui

import (
	"image"
	"image/color"
	"math"
	"time"

	"golang.org/x/image/font/basicfont"
)

// Stored waveforms (full disclosure, alarm snippets) are drawn as static
// strips: RenderStrip paints one channel over a time window into an image
// the caller keeps, so that scrolling through hours of recording redraws
// from memory at the display's rate without allocating.
//
// The look is ECG paper on the dark theme: a faint reddish grid of 0.2 s
// (minor) and 1 s (major) squares, the trace in the channel's colour, a
// time axis under it. Each pixel column is drawn from the minimum to the
// maximum of the trace over the column's time, the trace taken as the line
// through its samples:
//
//	decimating (many samples a column)    magnifying (many columns a sample)
//	col:  |  0  |  1  |  2  |             col: | 0 | 1 | 2 | 3 | 4 | 5 |
//	samp:  ·:·:· ·:·:· ·:·:·              samp:  ·               ·
//	span: min..max of its samples,        span: the line between them,
//	      joined to its neighbours              cut at each column's edges
//
// so a QRS peak narrower than a column still reaches its height, and a
// slow respiration trace drawn at 50 mm/s stays a line. A NaN sample (no
// value) and the time between two segments are gaps: nothing is drawn
// across them.

// WaveSegment is a run of contiguous samples of a stored channel.
type WaveSegment struct {
	Start   time.Time // time of the first sample
	Samples []float32 // physical values; NaN where invalid
}

// WaveTrace is one stored waveform channel over a time window.
type WaveTrace struct {
	Label, Unit string // "ECG II", "mV"
	Color       color.NRGBA
	RateHz      float64
	Segments    []WaveSegment // in time order
}

// StripMark is a vertical marker on a strip, such as an alarm onset. Its
// Text ("***") is drawn beside it so it is not told by colour alone.
type StripMark struct {
	At    time.Time
	Color color.NRGBA
	Text  string
}

// StripStyle is how RenderStrip draws. The zero value draws the trace on
// the theme's black with the default grid, scaled to the visible samples.
// Colours are drawn opaque; a zero colour takes the default.
type StripStyle struct {
	// Min and Max are the vertical range in physical units; when Max <= Min
	// it is the range of the visible samples.
	Min, Max float32
	// Background, MinorGrid and MajorGrid: black and faint reds by default.
	Background, MinorGrid, MajorGrid color.NRGBA
	// Thickness of the trace in pixels (2 when 0).
	Thickness int
	// TimeLabels draws a time axis under the trace (StripAxisHeight pixels
	// of the image): a tick and "15:04:05" every LabelEvery, or, when 0,
	// every 1, 2, 5, 10, 15, 30 or 60 s, whichever leaves room for the text.
	TimeLabels bool
	LabelEvery time.Duration
	// Location of the time labels; time.Local when nil.
	Location *time.Location
	// ChannelLabel draws the trace's Label and Unit at the top left.
	ChannelLabel bool
	// Cursor draws a white vertical line at that time (none when zero).
	Cursor time.Time
	// Marks are drawn as dashed vertical lines with their text.
	Marks []StripMark
}

// StripAxisHeight is the height of the time axis under a strip drawn with
// TimeLabels.
const StripAxisHeight = 15

// Defaults of StripStyle.
var (
	stripMinorGrid = color.NRGBA{R: 0x24, G: 0x10, B: 0x14, A: 0xFF}
	stripMajorGrid = color.NRGBA{R: 0x4A, G: 0x1C, B: 0x26, A: 0xFF}
)

// Grid of the ECG paper: 0.2 s and 1 s squares (5 mm and 25 mm at 25 mm/s).
const (
	stripMinor   = 200 * time.Millisecond
	stripMajor   = time.Second
	stripMinGrid = 4.0  // px: closer minor lines are left out
	stripLabelPx = 66.0 // px between time labels at least ("15:04:05" is 56)
)

// stripLabelSteps are the automatic label intervals, in seconds; each
// divides an hour and a time zone's 15-minute offset, so labels fall on
// round local times.
var stripLabelSteps = []int64{1, 2, 5, 10, 15, 30, 60, 300, 900}

// ReuseRGBA returns img when it is w×h, else a new w×h image: the strip's
// image is allocated only when its size changes.
func ReuseRGBA(img *image.RGBA, w, h int) *image.RGBA {
	w, h = max(w, 1), max(h, 1)
	if img != nil && img.Rect.Dx() == w && img.Rect.Dy() == h {
		return img
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// RenderStrip draws tr into all of dst: the time from from on, at
// pxPerSec pixels a second, in the style opt. It repaints every pixel and
// allocates nothing, so dst can be reused for every frame.
func RenderStrip(dst *image.RGBA, tr WaveTrace, from time.Time, pxPerSec float64, opt StripStyle) {
	c := stripCanvasOf(dst)
	if c.w <= 0 || c.h <= 0 {
		return
	}
	c.fill(0, 0, c.w, c.h, stripOr(opt.Background, colorBackground))
	traceH := c.h
	if opt.TimeLabels && c.h > 2*StripAxisHeight {
		traceH = c.h - StripAxisHeight
	}
	if !(pxPerSec > 0) || math.IsInf(pxPerSec, 0) {
		return
	}
	fromNs := from.UnixNano()
	c.grid(fromNs, pxPerSec, traceH, stripOr(opt.MinorGrid, stripMinorGrid), stripOr(opt.MajorGrid, stripMajorGrid))

	lo, hi := opt.Min, opt.Max
	if !(hi > lo) {
		lo, hi = stripVisibleRange(tr, fromNs, pxPerSec, c.w)
	}
	if hi > lo && tr.RateHz > 0 {
		tc := stripCols{c: &c, h: traceH, col: -1, color: tr.Color, thick: max(opt.Thickness, 1)}
		if opt.Thickness == 0 {
			tc.thick = 2
		}
		scale := float64(traceH-1) / float64(hi-lo)
		dx := pxPerSec / tr.RateHz
		for _, seg := range tr.Segments {
			n := len(seg.Samples)
			x0 := float64(seg.Start.UnixNano()-fromNs) * pxPerSec / 1e9
			first := max(0, int(math.Floor((-1-x0)/dx)))
			last := min(n, int(math.Ceil((float64(c.w)+1-x0)/dx))+1)
			havePrev := false
			var px, py float64
			for i := first; i < last; i++ {
				v := seg.Samples[i]
				if v != v {
					havePrev = false
					continue
				}
				x, y := x0+float64(i)*dx, float64(hi-v)*scale
				if havePrev {
					tc.line(px, py, x, y)
				} else {
					tc.line(x, y, x, y)
				}
				px, py, havePrev = x, y, true
			}
		}
		tc.flush()
	}

	for _, m := range opt.Marks {
		x := int(math.Floor(float64(m.At.UnixNano()-fromNs) * pxPerSec / 1e9))
		if x < -1 || x >= c.w {
			continue
		}
		for y := 0; y < traceH; y++ {
			if y%6 < 4 { // dashed, so the trace under it shows
				c.set(x, y, m.Color)
				c.set(x+1, y, m.Color)
			}
		}
		if m.Text != "" {
			c.text(x+4, 1, m.Text, m.Color)
		}
	}
	if !opt.Cursor.IsZero() {
		x := int(math.Floor(float64(opt.Cursor.UnixNano()-fromNs) * pxPerSec / 1e9))
		c.fill(x, 0, x+1, traceH, ColorWhite)
	}
	if opt.ChannelLabel {
		x := c.text(4, 1, tr.Label, tr.Color)
		c.text(x+7, 1, tr.Unit, ColorDim)
	}
	if traceH < c.h {
		c.axis(fromNs, pxPerSec, traceH, opt)
	}
}

// stripOr is c, or def when c is the zero colour.
func stripOr(c, def color.NRGBA) color.NRGBA {
	if c == (color.NRGBA{}) {
		return def
	}
	return c
}

// stripVisibleRange is the range of tr's samples in the w columns from fromNs,
// widened by 8 % (and to ±1 around a flat line) so the trace clears the edges.
func stripVisibleRange(tr WaveTrace, fromNs int64, pxPerSec float64, w int) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	if tr.RateHz <= 0 {
		return 0, 0
	}
	dx := pxPerSec / tr.RateHz
	for _, seg := range tr.Segments {
		x0 := float64(seg.Start.UnixNano()-fromNs) * pxPerSec / 1e9
		first := max(0, int(math.Ceil(-x0/dx)))
		last := min(len(seg.Samples), int(math.Ceil((float64(w)-x0)/dx)))
		for _, v := range seg.Samples[min(first, last):last] {
			if v == v {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return 0, 0
	}
	if pad := (hi - lo) * 0.08; pad > 0 {
		return lo - pad, hi + pad
	}
	return lo - 1, hi + 1
}

// stripCanvas is the part of an RGBA image being drawn, in coordinates from
// its top left corner; every drawing call clips.
type stripCanvas struct {
	pix          []uint8
	base, stride int
	w, h         int
}

func stripCanvasOf(img *image.RGBA) stripCanvas {
	r := img.Rect
	return stripCanvas{pix: img.Pix, base: img.PixOffset(r.Min.X, r.Min.Y), stride: img.Stride, w: r.Dx(), h: r.Dy()}
}

func (c *stripCanvas) set(x, y int, col color.NRGBA) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	i := c.base + y*c.stride + x*4
	p := c.pix[i : i+4 : i+4]
	p[0], p[1], p[2], p[3] = col.R, col.G, col.B, 0xFF
}

// fill paints [x0, x1) × [y0, y1).
func (c *stripCanvas) fill(x0, y0, x1, y1 int, col color.NRGBA) {
	x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, c.w), min(y1, c.h)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	first := c.pix[c.base+y0*c.stride+x0*4 : c.base+y0*c.stride+x1*4]
	for i := 0; i < len(first); i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = col.R, col.G, col.B, 0xFF
	}
	for y := y0 + 1; y < y1; y++ {
		i := c.base + y*c.stride + x0*4
		copy(c.pix[i:i+len(first)], first)
	}
}

// grid draws the paper's lines over the trace area: vertical ones at
// every 0.2 s of wall-clock time (so the grid scrolls with the trace),
// every whole second stronger, horizontal ones as far apart, up from the
// bottom. When 0.2 s is under 4 px the lines are a second apart, every
// fifth stronger; under 4 px a second, there is no grid.
func (c *stripCanvas) grid(fromNs int64, pxPerSec float64, traceH int, minor, major color.NRGBA) {
	minorPx := pxPerSec * stripMinor.Seconds()
	if pxPerSec < stripMinGrid {
		return
	}
	step, per := int64(stripMinor), int64(stripMajor/stripMinor)
	if minorPx < stripMinGrid { // zoomed out: 1 s lines, every fifth stronger
		step = int64(stripMajor)
	}
	k := stripFloorDiv(fromNs, step)
	for ; ; k++ {
		x := int(math.Floor(float64(k*step-fromNs) * pxPerSec / 1e9))
		if x >= c.w {
			break
		}
		col := minor
		if k%per == 0 {
			col = major
		}
		c.fill(x, 0, x+1, traceH, col)
	}
	spacing := float64(step) / 1e9 * pxPerSec
	for j := 0; ; j++ {
		y := traceH - 1 - int(math.Round(float64(j)*spacing))
		if y < 0 {
			break
		}
		col := minor
		if int64(j)%per == 0 {
			col = major
		}
		c.fill(0, y, c.w, y+1, col)
	}
}

func stripFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// axis draws the time axis under the trace area: ticks and "15:04:05".
func (c *stripCanvas) axis(fromNs int64, pxPerSec float64, traceH int, opt StripStyle) {
	c.fill(0, traceH, c.w, traceH+1, stripMajorGrid)
	step := int64(opt.LabelEvery / time.Second)
	if opt.LabelEvery <= 0 || step < 1 {
		step = stripLabelSteps[len(stripLabelSteps)-1]
		for _, s := range stripLabelSteps {
			if float64(s)*pxPerSec >= stripLabelPx {
				step = s
				break
			}
		}
	}
	loc := opt.Location
	if loc == nil {
		loc = time.Local
	}
	stepNs := step * int64(time.Second)
	for k := stripFloorDiv(fromNs, stepNs); ; k++ {
		x := int(math.Floor(float64(k*stepNs-fromNs) * pxPerSec / 1e9))
		if x >= c.w {
			break
		}
		c.fill(x, traceH, x+1, traceH+4, ColorDim)
		var buf [8]byte
		hh, mm, ss := time.Unix(k*step, 0).In(loc).Clock()
		buf[0], buf[1], buf[2] = '0'+byte(hh/10), '0'+byte(hh%10), ':'
		buf[3], buf[4], buf[5] = '0'+byte(mm/10), '0'+byte(mm%10), ':'
		buf[6], buf[7] = '0'+byte(ss/10), '0'+byte(ss%10)
		c.textBytes(x+3, traceH+2, buf[:], ColorDim)
	}
}

// The 7×13 fixed font (X11 misc-fixed, via x/image's basicfont): ASCII
// glyphs, 6 px wide, advancing 7 px, 13 px high.
var (
	stripFont     = basicfont.Face7x13
	stripFontMask = stripFont.Mask.(*image.Alpha)
)

// stripGlyphH is the font's line height.
const stripGlyphH = 13

// text draws s with its top left at x, y and returns the x after it.
// Runes outside printable ASCII draw as '?'.
func (c *stripCanvas) text(x, y int, s string, col color.NRGBA) int {
	for _, r := range s {
		if x >= c.w {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		c.glyph(x, y, byte(r), col)
		x += stripFont.Advance
	}
	return x
}

// textBytes is text for ASCII bytes (the axis' labels, built without
// allocating).
func (c *stripCanvas) textBytes(x, y int, s []byte, col color.NRGBA) int {
	for _, ch := range s {
		c.glyph(x, y, ch, col)
		x += stripFont.Advance
	}
	return x
}

// glyph draws the printable ASCII character ch with its top left at x, y.
func (c *stripCanvas) glyph(x, y int, ch byte, col color.NRGBA) {
	gw := stripFont.Width
	if ch < 0x20 || ch > 0x7e || x+gw <= 0 || x >= c.w {
		return
	}
	top := int(ch-0x20) * stripGlyphH
	for gy := 0; gy < stripGlyphH; gy++ {
		row := stripFontMask.Pix[(top+gy)*stripFontMask.Stride:]
		for gx := 0; gx < gw; gx++ {
			if row[gx] >= 0x80 {
				c.set(x+gx, y+gy, col)
			}
		}
	}
}

// stripCols accumulates the trace's vertical extent in one pixel column
// and paints it when the trace moves on to another column.
type stripCols struct {
	c      *stripCanvas
	h      int // height of the trace area
	col    int // column being accumulated; -1 none
	lo, hi float64
	color  color.NRGBA
	thick  int
}

// line adds the straight trace from (x0, y0) to (x1, y1), x1 >= x0, to the
// columns it crosses.
func (t *stripCols) line(x0, y0, x1, y1 float64) {
	c0, c1 := int(math.Floor(x0)), int(math.Floor(x1))
	if c1 < 0 || c0 >= t.c.w {
		return
	}
	if c0 == c1 {
		t.extend(c0, y0, y1)
		return
	}
	slope := (y1 - y0) / (x1 - x0)
	for col := max(c0, 0); col <= min(c1, t.c.w-1); col++ {
		xa, xb := max(x0, float64(col)), min(x1, float64(col+1))
		t.extend(col, y0+(xa-x0)*slope, y0+(xb-x0)*slope)
	}
}

func (t *stripCols) extend(col int, ya, yb float64) {
	if col != t.col {
		t.flush()
		t.col, t.lo, t.hi = col, min(ya, yb), max(ya, yb)
		return
	}
	t.lo, t.hi = min(t.lo, ya, yb), max(t.hi, ya, yb)
}

// flush paints the column accumulated, clipped to the trace area.
func (t *stripCols) flush() {
	if t.col < 0 || t.col >= t.c.w {
		t.col = -1
		return
	}
	y0 := int(math.Round(t.lo))
	y1 := int(math.Round(t.hi)) + t.thick - 1
	y0, y1 = max(y0, 0), min(y1, t.h-1)
	if y0 > y1 { // all beyond the range: a line on the edge it passed
		if t.lo >= float64(t.h) {
			y0, y1 = t.h-1, t.h-1
		} else {
			y0, y1 = 0, 0
		}
	}
	t.c.fill(t.col, y0, t.col+1, y1+1, t.color)
	t.col = -1
}
