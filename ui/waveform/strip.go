// Package waveform is the sweeping waveform strip: one canvas.Raster per strip
// drawing into a reused *image.RGBA, fed by pulling samples from a Source on
// the UI's render tick. It knows nothing of beds or MQTT.
//
// Sweep, as bedside monitors draw: the trace is written left to right at a
// fixed paper speed (25 mm/s for ECG and pleth); at the right edge it wraps
// and overwrites the oldest trace, with a blank erase bar just ahead of the
// write position.
//
// Samples map to pixel columns. At 25 mm/s and 96 dpi a column lasts about
// 10.6 ms, so a 250 Hz ECG puts ~2.6 samples in each column: each column keeps
// the min and max of its samples (and the last one, to join it to the next
// column), so QRS peaks never vanish. A NaN sample is a break: the trace is
// not drawn across it.
//
//	columns:  | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | ... | w-1 |
//	trace:     new new new  ^cursor  [erase]  old  old ...
//	                        write here, then advance by px-per-sample
package waveform

import (
	"image"
	"image/color"
	"math"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// Source supplies samples to a strip. Drain is called once per frame on the
// UI goroutine and appends everything new (NaN marks a break).
type Source interface {
	Drain(dst []float32) []float32
	RateHz() float32
}

// Scale is the vertical range of a strip in physical units. With Auto the
// range follows the signal (recomputed once per sweep), starting from
// Min..Max; with Grow it widens at once to hold a sample beyond it, and at
// each sweep's end fits what that sweep reached, never narrower than
// Min..Max (an ECG keeps its gain and its baseline's place, and tall
// complexes or an offset baseline are not cut off).
type Scale struct {
	Min, Max float32
	Auto     bool
	Grow     bool
}

// Standard paper speeds (clinical-reference.md §2).
const (
	Speed25   = 25.0 // mm/s, ECG and pleth
	Speed12_5 = 12.5 // mm/s, respiration
	dpi       = 96.0
	eraseSec  = 0.12 // width of the erase bar ahead of the cursor
	thickness = 2    // trace thickness in pixels, readable from a distance
)

// inkRows are the rows of a column the trace covers, top to end exclusive
// (the zero value: none).
type inkRows struct{ top, end int32 }

type column struct {
	min, max, last float32
	set            bool // any valid sample
	joined         bool // join to previous column's last sample
}

// Strip is a sweeping waveform widget.
type Strip struct {
	widget.BaseWidget

	src   Source
	color color.NRGBA
	bg    color.NRGBA
	scale Scale
	speed float64 // mm/s

	cols     []column
	cursor   float64 // fractional column of the next sample
	prevLast float32 // last sample written, NaN after a break
	lo, hi   float32 // current display range
	autoLo   float32 // running extremes for auto scale over the current sweep
	autoHi   float32

	img       *image.RGBA // the whole strip; segments show slices of it
	segs      []*segment  // the rasters on screen, left to right
	nsegs     int         // segments in use
	pxScale   float32     // image pixels per device-independent unit
	offscreen bool        // not on the screen: paint nothing (SetOffscreen)
	crop      bool        // segments cover only their inked rows (SetCrop)
	ink       []inkRows   // per column: the rows the trace covers
	dirty     []bool      // columns to repaint
	full      bool        // repaint everything
	samples   uint64      // samples drawn

	q    []float32 // drained, not yet drawn: q[head:]
	head int
	pace pacer
}

// NewStrip creates a strip drawing src in colour c.
func NewStrip(src Source, c color.NRGBA, scale Scale, speedMMs float64) *Strip {
	s := &Strip{src: src, color: c, bg: color.NRGBA{A: 255}, scale: scale, speed: speedMMs,
		lo: scale.Min, hi: scale.Max, prevLast: float32(math.NaN()), full: true}
	s.resetAuto()
	s.ExtendBaseWidget(s)
	return s
}

// SetSource replaces the source (nil stops the sweep); samples of the old
// source not yet drawn are dropped with it.
func (s *Strip) SetSource(src Source) {
	s.src = src
	s.q, s.head = s.q[:0], 0
	s.pace = pacer{}
}

// SetBackground sets the strip's background colour.
func (s *Strip) SetBackground(c color.NRGBA) {
	s.bg = c
	s.full = true
	s.paint()
}

// SetCrop says whether each segment may show only the rows its trace
// covers, leaving the rest to what lies under the strip. Under a software
// GL every pixel a texture covers is fetched and blended in every frame,
// while a strip is mostly background: an ECG's trace covers a fifth to a
// half of its height. Only for a strip laid on its own background colour
// (a tile's strips lie on the window's black).
func (s *Strip) SetCrop(on bool) {
	if s.crop == on {
		return
	}
	s.crop = on
	s.full = true
	s.paint()
}

// Samples is the number of samples the strip has consumed.
func (s *Strip) Samples() uint64 { return s.samples }

// SetSpeed sets the paper speed in mm/s (12.5, 25 or 50) and restarts the
// sweep.
func (s *Strip) SetSpeed(mmS float64) {
	if s.speed == mmS {
		return
	}
	s.speed = mmS
	s.cursor = 0
	s.Clear()
}

// Speed is the paper speed in mm/s.
func (s *Strip) Speed() float64 { return s.speed }

// Clear wipes the trace (for example when the device goes offline).
func (s *Strip) Clear() {
	for i := range s.cols {
		s.cols[i] = column{}
	}
	s.prevLast = float32(math.NaN())
	s.q, s.head = s.q[:0], 0
	s.pace = pacer{}
	s.full = true
	s.paint()
}

func (s *Strip) resetAuto() {
	s.autoLo, s.autoHi = float32(math.Inf(1)), float32(math.Inf(-1))
}

// Tick takes new samples from the source and plays them out at their own
// rate: feeds arrive in bursts (a 200 ms frame five times a second), and a
// strip that drew each burst on arrival would jump five times a second
// instead of sweeping. So the strip holds a short playout buffer, sized from
// the largest burst it has seen, and writes dt × rate samples a frame, a
// little faster when the buffer runs long (clock drift, a stalled window)
// and all at once when it is seconds behind. Nothing is dropped: every sample
// drained is drawn, later or sooner. now is the frame's time; call once per
// frame on the UI goroutine.
func (s *Strip) Tick(now time.Time) {
	if s.src == nil {
		return
	}
	rate := float64(s.src.RateHz())
	if rate <= 0 {
		return
	}
	n := len(s.q)
	s.q = s.src.Drain(s.q)
	s.pace.arrived(len(s.q)-n, rate)
	if len(s.cols) == 0 {
		// Not laid out yet: nowhere to draw (the samples wait).
		return
	}
	k := s.pace.release(now, len(s.q)-s.head, rate)
	if k == 0 {
		return
	}
	s.write(s.q[s.head:s.head+k], rate)
	s.head += k
	if s.head == len(s.q) {
		s.q, s.head = s.q[:0], 0
	} else if s.head > 4096 && s.head > len(s.q)/2 {
		s.q = s.q[:copy(s.q, s.q[s.head:])]
		s.head = 0
	}
	s.paint()
}

// Pending is the number of samples drained from the source and not yet drawn.
func (s *Strip) Pending() int { return len(s.q) - s.head }

// Latency is the playout delay the strip aims at: the time between a sample
// arriving and its being drawn.
func (s *Strip) Latency() time.Duration { return s.pace.target() }

// write draws samples into the columns at the cursor.
func (s *Strip) write(samples []float32, rate float64) {
	w := len(s.cols)
	pxPerSample := s.pxPerSec() / rate
	eraseCols := int(eraseSec*s.pxPerSec()) + 1
	for _, v := range samples {
		c := int(s.cursor)
		col := &s.cols[c]
		nan := v != v
		if !nan {
			if !col.set {
				col.min, col.max = v, v
				col.set = true
				col.joined = s.prevLast == s.prevLast // previous sample was valid
				if col.joined {
					// join to the previous column through its last sample
					col.min = min(col.min, s.prevLast)
					col.max = max(col.max, s.prevLast)
				}
			} else {
				col.min, col.max = min(col.min, v), max(col.max, v)
			}
			col.last = v
			s.autoLo, s.autoHi = min(s.autoLo, v), max(s.autoHi, v)
			if s.scale.Grow && (v < s.lo || v > s.hi) {
				// at once, not at the sweep's end: nothing is drawn cut off
				m := (s.scale.Max - s.scale.Min) * 0.05
				s.lo, s.hi = min(s.lo, v-m), max(s.hi, v+m)
				s.full = true
			}
		}
		s.prevLast = v
		next := s.cursor + pxPerSample
		if int(next) != c {
			// entering new column(s): clear them and the erase bar ahead
			for k := 1; k <= int(next)-c && k < w; k++ {
				s.cols[(c+k)%w] = column{}
				s.mark((c + k) % w)
			}
			// The erase bar moves on: the columns it now covers lose
			// their old trace (those it already covered stay blank).
			for k := max(c+eraseCols+1, int(next)+1); k <= int(next)+eraseCols; k++ {
				s.mark(k % w)
			}
		}
		s.mark(c)
		if next >= float64(w) {
			next -= float64(w)
			s.endSweep()
		}
		s.cursor = next
	}
	s.samples += uint64(len(samples))
}

// endSweep adapts an auto scale once per sweep, so the trace does not breathe.
func (s *Strip) endSweep() {
	if s.scale.Grow && s.autoLo <= s.autoHi {
		m := (s.scale.Max - s.scale.Min) * 0.05
		lo, hi := min(s.scale.Min, s.autoLo-m), max(s.scale.Max, s.autoHi+m)
		if lo != s.lo || hi != s.hi {
			s.lo, s.hi = lo, hi
			s.full = true
		}
		s.resetAuto()
		return
	}
	if !s.scale.Auto || s.autoLo > s.autoHi {
		s.resetAuto()
		return
	}
	span := s.autoHi - s.autoLo
	if span < (s.scale.Max-s.scale.Min)/20 {
		span = (s.scale.Max - s.scale.Min) / 20
	}
	lo, hi := s.autoLo-span*0.1, s.autoHi+span*0.1
	if lo != s.lo || hi != s.hi {
		s.lo, s.hi = lo, hi
		s.full = true
	}
	s.resetAuto()
}

func (s *Strip) mark(c int) {
	if c >= 0 && c < len(s.dirty) {
		s.dirty[c] = true
	}
}

func (s *Strip) pxPerSec() float64 {
	scale := 1.0
	if s.pxScale > 0 {
		scale = float64(s.pxScale)
	}
	return s.speed * dpi / 25.4 * scale
}

// Frames painted: the station marks each frame it draws (NextFrame); the
// first strip painted by the renderer in a frame counts it. Comparing this
// count with the frames asked for shows whether the window really painted
// them (a raster generator runs only when the canvas paints).
var (
	frameNo      atomic.Uint64
	paintedFrame atomic.Uint64
	painted      atomic.Uint64
	firstWave    atomic.Int64 // Unix ns of the first paint with a trace
)

// FirstWave is when a strip was first painted with a trace (zero before).
func FirstWave() time.Time {
	if ns := firstWave.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// NextFrame marks the start of a frame (once per station tick).
func NextFrame() { frameNo.Add(1) }

// PaintedFrames is the number of frames in which a strip was painted.
func PaintedFrames() uint64 { return painted.Load() }

// MarkPainted counts the frame as painted: a raster generator of a strip
// (this package's, or a review's) calls it when the canvas paints it.
func MarkPainted() {
	if f := frameNo.Load(); paintedFrame.Swap(f) != f {
		painted.Add(1)
	}
}

// ensureImage (re)allocates the image and columns for w x h pixels.
func (s *Strip) ensureImage(w, h int) {
	if w <= 0 || h <= 0 {
		w, h = 1, 1
	}
	if s.img != nil && s.img.Bounds().Dx() == w && s.img.Bounds().Dy() == h {
		return
	}
	s.img = image.NewRGBA(image.Rect(0, 0, w, h))
	old := s.cols
	s.cols = make([]column, w)
	copy(s.cols, old)
	s.dirty = make([]bool, w)
	s.ink = make([]inkRows, w)
	if s.cursor >= float64(w) {
		s.cursor = 0
	}
	s.full = true
}

// SetOffscreen says whether the strip is off the screen (its view is
// hidden): it then keeps sweeping in its image but refreshes no segment,
// and repaints whole when it is back.
func (s *Strip) SetOffscreen(off bool) {
	if s.offscreen == off {
		return
	}
	s.offscreen = off
	if !off {
		s.full = true
		s.paint()
	}
}

// paint draws the columns that changed into the strip's image and refreshes
// the segments that show them.
func (s *Strip) paint() {
	if s.img == nil || s.offscreen {
		return
	}
	w, h := s.img.Bounds().Dx(), s.img.Bounds().Dy()
	eraseCols := int(eraseSec*s.pxPerSec()) + 1
	cur := int(s.cursor)
	seg := 0
	for x := 0; x < w; x++ {
		if !s.full && !s.dirty[x] {
			continue
		}
		s.dirty[x] = false
		ahead := (x - cur + w) % w
		s.paintColumn(x, h, ahead > 0 && ahead <= eraseCols)
		for seg < s.nsegs-1 && x >= s.segs[seg].x1 {
			seg++
		}
		if seg < s.nsegs {
			s.segs[seg].touched = true
		}
	}
	s.full = false
	// Segments are placed once all their columns are painted, and
	// refreshed unless a refresh is already waiting for the painter (its
	// generator copies the image as it is then). A hidden one is not drawn.
	for _, g := range s.segs[:s.nsegs] {
		if !g.touched {
			continue
		}
		g.touched = false
		switch {
		case !s.placeSegment(g, h):
			g.stale = false
		case !g.stale:
			g.stale = true
			g.raster.Refresh()
		}
	}
}

// placeSegment shows a segment over the rows it has to: all of them, or
// with cropping the rows its columns' trace covers. It reports false if
// that is none: the segment is hidden.
func (s *Strip) placeSegment(g *segment, h int) bool {
	top, end := 0, h
	if s.crop {
		top, end = h, 0
		for _, r := range s.ink[g.x0:min(g.x1, len(s.ink))] {
			if r.end > r.top {
				top, end = min(top, int(r.top)), max(end, int(r.end))
			}
		}
	}
	if top >= end {
		if g.raster.Visible() {
			g.raster.Hide()
		}
		g.top, g.rows = 0, 0
		return false
	}
	if top != g.top || end-top != g.rows {
		g.top, g.rows = top, end-top
		scale := s.pxScale
		if scale <= 0 {
			scale = 1
		}
		g.raster.Move(fyne.NewPos(float32(g.x0)/scale, float32(top)/scale))
		g.raster.Resize(fyne.NewSize(float32(g.x1-g.x0)/scale, float32(g.rows)/scale))
	}
	if !g.raster.Visible() {
		g.raster.Show()
	}
	return true
}

func (s *Strip) paintColumn(x, h int, erased bool) {
	pix, stride := s.img.Pix, s.img.Stride
	bg, fg := s.bg, s.color
	y0, y1 := h, -1
	col := s.cols[x]
	if col.set && !erased && s.hi > s.lo {
		ys := func(v float32) int {
			f := (s.hi - v) / (s.hi - s.lo) * float32(h-1)
			return int(math.Round(float64(f)))
		}
		y0, y1 = ys(col.max), ys(col.min)
		y1 += thickness - 1
		y0, y1 = max(y0, 0), min(y1, h-1)
	}
	s.ink[x] = inkRows{int32(y0), int32(y1 + 1)}
	for y := 0; y < h; y++ {
		i := y*stride + x*4
		c := bg
		if y >= y0 && y <= y1 {
			c = fg
		}
		pix[i], pix[i+1], pix[i+2], pix[i+3] = c.R, c.G, c.B, c.A
	}
}

// Segments. The GL painter uploads a raster's whole texture each time it is
// refreshed, and under a software GL that upload is the dearest part of a
// frame: a strip refreshed whole every frame cost about as much as
// everything else on the screen. So a strip is shown as vertical segments
// of about segWidth pixels, each its own raster with its own small image,
// and a frame refreshes only the segments whose columns changed, one or
// two around the sweep's cursor.
const segWidth = 64

type segment struct {
	s       *Strip
	x0, x1  int // columns of the strip's image shown
	raster  *canvas.Raster
	img     *image.RGBA
	stale   bool // refreshed, its generator not run yet
	touched bool // columns repainted in this paint
	top     int  // first row of the strip's image shown
	rows    int  // rows shown (0: hidden)
}

// draw is a segment's raster generator: its columns of the strip's image,
// copied into its own image of exactly the requested size.
func (g *segment) draw(w, h int) image.Image {
	s := g.s
	MarkPainted()
	if s.samples > 0 && firstWave.Load() == 0 {
		firstWave.CompareAndSwap(0, time.Now().UnixNano())
	}
	g.stale = false
	w, h = max(w, 1), max(h, 1)
	if g.img == nil || g.img.Bounds().Dx() != w || g.img.Bounds().Dy() != h {
		g.img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	cw := min(w, g.x1-g.x0)
	rows := 0
	if s.img != nil {
		rows = max(0, min(h, s.img.Bounds().Dy()-g.top))
		for y := 0; y < rows; y++ {
			src := s.img.Pix[(g.top+y)*s.img.Stride+g.x0*4:]
			copy(g.img.Pix[y*g.img.Stride:y*g.img.Stride+cw*4], src[:cw*4])
		}
	} else {
		cw = 0
	}
	// Rounding can ask for a pixel more than the strip has: background.
	for y := 0; y < h; y++ {
		from := cw
		if y >= rows {
			from = 0
		}
		row := g.img.Pix[y*g.img.Stride:]
		for x := from; x < w; x++ {
			row[x*4], row[x*4+1], row[x*4+2], row[x*4+3] = s.bg.R, s.bg.G, s.bg.B, s.bg.A
		}
	}
	return g.img
}

// layout sizes the strip's image to size at the canvas's pixel scale and
// places the segments over it.
func (s *Strip) layout(size fyne.Size) {
	scale := float32(1)
	if c := fyne.CurrentApp().Driver().CanvasForObject(s); c != nil {
		scale = c.Scale()
	}
	s.pxScale = scale
	w := int(math.Round(float64(size.Width * scale)))
	h := int(math.Round(float64(size.Height * scale)))
	s.ensureImage(w, h)
	w = s.img.Bounds().Dx()
	n := max(1, (w+segWidth/2)/segWidth)
	for len(s.segs) < n {
		g := &segment{s: s}
		g.raster = canvas.NewRaster(g.draw)
		g.raster.ScaleMode = canvas.ImageScalePixels
		s.segs = append(s.segs, g)
	}
	s.nsegs = n
	for i, g := range s.segs[:n] {
		g.x0, g.x1 = i*w/n, (i+1)*w/n
		g.raster.Move(fyne.NewPos(float32(g.x0)/scale, 0))
		g.raster.Resize(fyne.NewSize(float32(g.x1-g.x0)/scale, size.Height))
		g.top, g.rows = 0, s.img.Bounds().Dy()
		g.stale = false
	}
	s.full = true
	s.paint()
}

// CreateRenderer implements fyne.Widget.
func (s *Strip) CreateRenderer() fyne.WidgetRenderer {
	return &stripRenderer{s: s}
}

// MinSize keeps strips usable in small tiles.
func (s *Strip) MinSize() fyne.Size { return fyne.NewSize(60, 24) }

type stripRenderer struct{ s *Strip }

func (r *stripRenderer) Layout(size fyne.Size) { r.s.layout(size) }
func (r *stripRenderer) MinSize() fyne.Size    { return r.s.MinSize() }
func (r *stripRenderer) Refresh() {
	r.s.full = true
	r.s.paint()
}
func (r *stripRenderer) Objects() []fyne.CanvasObject {
	out := make([]fyne.CanvasObject, r.s.nsegs)
	for i, g := range r.s.segs[:r.s.nsegs] {
		out[i] = g.raster
	}
	return out
}
func (r *stripRenderer) Destroy() {}
