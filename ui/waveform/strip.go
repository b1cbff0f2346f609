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
// range follows the signal (recomputed once per sweep), starting from Min..Max.
type Scale struct {
	Min, Max float32
	Auto     bool
}

// Standard paper speeds (clinical-reference.md §2).
const (
	Speed25   = 25.0 // mm/s, ECG and pleth
	Speed12_5 = 12.5 // mm/s, respiration
	dpi       = 96.0
	eraseSec  = 0.12 // width of the erase bar ahead of the cursor
	thickness = 2    // trace thickness in pixels, readable from a distance
)

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

	img     *image.RGBA
	raster  *canvas.Raster
	dirty   []bool // columns to repaint
	full    bool   // repaint everything
	buf     []float32
	samples uint64
}

// NewStrip creates a strip drawing src in colour c.
func NewStrip(src Source, c color.NRGBA, scale Scale, speedMMs float64) *Strip {
	s := &Strip{src: src, color: c, bg: color.NRGBA{A: 255}, scale: scale, speed: speedMMs,
		lo: scale.Min, hi: scale.Max, prevLast: float32(math.NaN()), full: true}
	s.resetAuto()
	s.raster = canvas.NewRaster(s.draw)
	s.raster.ScaleMode = canvas.ImageScalePixels
	s.ExtendBaseWidget(s)
	return s
}

// SetSource replaces the source (nil stops the sweep).
func (s *Strip) SetSource(src Source) { s.src = src }

// SetBackground sets the strip's background colour.
func (s *Strip) SetBackground(c color.NRGBA) { s.bg = c; s.full = true }

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
	s.full = true
	s.raster.Refresh()
}

func (s *Strip) resetAuto() {
	s.autoLo, s.autoHi = float32(math.Inf(1)), float32(math.Inf(-1))
}

// Tick pulls new samples from the source and schedules a repaint. It must be
// called on the UI goroutine, once per frame.
func (s *Strip) Tick() {
	if s.src == nil {
		return
	}
	s.buf = s.src.Drain(s.buf[:0])
	if len(s.cols) == 0 {
		// Not painted yet: size the columns from the layout so no sample is
		// lost before the first frame; draw adjusts to the exact pixels.
		if sz := s.Size(); sz.Width >= 1 && sz.Height >= 1 {
			scale := float32(1)
			if c := fyne.CurrentApp().Driver().CanvasForObject(s); c != nil {
				scale = c.Scale()
			}
			s.ensureImage(int(sz.Width*scale), int(sz.Height*scale))
		}
	}
	if len(s.buf) == 0 || len(s.cols) == 0 {
		return
	}
	rate := float64(s.src.RateHz())
	if rate <= 0 {
		return
	}
	w := len(s.cols)
	pxPerSample := s.pxPerSec() / rate
	eraseCols := int(eraseSec*s.pxPerSec()) + 1
	for _, v := range s.buf {
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
		}
		s.prevLast = v
		next := s.cursor + pxPerSample
		if int(next) != c {
			// entering new column(s): clear them and the erase bar ahead
			for k := 1; k <= int(next)-c && k < w; k++ {
				s.cols[(c+k)%w] = column{}
				s.mark((c + k) % w)
			}
			for k := 1; k <= eraseCols; k++ {
				s.mark((int(next) + k) % w)
			}
		}
		s.mark(c)
		if next >= float64(w) {
			next -= float64(w)
			s.endSweep()
		}
		s.cursor = next
	}
	s.samples += uint64(len(s.buf))
	s.raster.Refresh()
}

// endSweep adapts an auto scale once per sweep, so the trace does not breathe.
func (s *Strip) endSweep() {
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
	if sz := s.Size(); sz.Width > 0 && s.img != nil {
		scale = float64(s.img.Bounds().Dx()) / float64(sz.Width)
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
	if s.cursor >= float64(w) {
		s.cursor = 0
	}
	s.full = true
}

// draw is the raster generator: it returns the reused image at exactly the
// requested size, repainting only the columns that changed.
func (s *Strip) draw(w, h int) image.Image {
	if f := frameNo.Load(); paintedFrame.Swap(f) != f {
		painted.Add(1)
	}
	if s.samples > 0 && firstWave.Load() == 0 {
		firstWave.CompareAndSwap(0, time.Now().UnixNano())
	}
	s.ensureImage(w, h)
	w, h = s.img.Bounds().Dx(), s.img.Bounds().Dy()
	eraseCols := int(eraseSec*s.pxPerSec()) + 1
	cur := int(s.cursor)
	for x := 0; x < w; x++ {
		if !s.full && !s.dirty[x] {
			continue
		}
		s.dirty[x] = false
		ahead := (x - cur + w) % w
		s.paintColumn(x, h, ahead > 0 && ahead <= eraseCols)
	}
	s.full = false
	return s.img
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
	for y := 0; y < h; y++ {
		i := y*stride + x*4
		c := bg
		if y >= y0 && y <= y1 {
			c = fg
		}
		pix[i], pix[i+1], pix[i+2], pix[i+3] = c.R, c.G, c.B, c.A
	}
}

// CreateRenderer implements fyne.Widget.
func (s *Strip) CreateRenderer() fyne.WidgetRenderer {
	return &stripRenderer{s: s}
}

// MinSize keeps strips usable in small tiles.
func (s *Strip) MinSize() fyne.Size { return fyne.NewSize(60, 24) }

type stripRenderer struct{ s *Strip }

func (r *stripRenderer) Layout(size fyne.Size) { r.s.raster.Resize(size) }
func (r *stripRenderer) MinSize() fyne.Size    { return r.s.MinSize() }
func (r *stripRenderer) Refresh()              { r.s.raster.Refresh() }
func (r *stripRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.s.raster}
}
func (r *stripRenderer) Destroy() {}
