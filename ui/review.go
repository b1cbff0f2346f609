package ui

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/ui/waveform"
)

// The review views: the full disclosure of a bed's stored waveforms and
// the review of alarm events with their snippets. Both read through the
// Review interface off the UI thread (ReviewOptions.Spawn) and take the
// results back with fyne.Do; both draw their strips with RenderStrip into
// images they keep, so moving through the recording redraws from memory.
//
// The disclosure view keeps the samples of the screen shown and of a
// screen on either side: a step or a screen's move redraws at once, and
// the next window is read only when the screen leaves what is held.
//
//	stored:  first ────────────────────────────────────────────── last
//	held:                 [ screen │ screen shown │ screen ]
//	shown:                         [ ···· cursor ···· ]   (cursor at centre)

// Review is the stored data the review views show; the app implements it
// over the recordings and the journal. Its methods are called off the UI
// thread, one at a time per view.
type Review interface {
	// Range is the time from the first to the last stored waveform sample
	// of bed; zero times when nothing is stored.
	Range(bed string) (first, last time.Time, err error)
	// Disclosure is every stored waveform channel of bed with samples in
	// [from, to), in display order.
	Disclosure(bed string, from, to time.Time) ([]WaveTrace, error)
	// Events are the alarm events of bed ("" the ward) with onset in
	// [from, to), in any order.
	Events(bed string, from, to time.Time) ([]ReviewEvent, error)
	// Snippet is an alarm's event and its snippet's waveforms (every
	// channel of its bed around the onset).
	Snippet(alarmID string) (ReviewEvent, []WaveTrace, error)
}

// NumericAt is one numeric of a bed at an alarm's onset, as displayed
// ("HR", "132").
type NumericAt struct {
	Label, Value string
}

// ReviewEvent is an alarm as the review shows it.
type ReviewEvent struct {
	AlarmID, Bed string
	// Text is the alarm's message ("SpO2 84 < 90"); a priority prefix
	// at its start is not shown twice.
	Text       string
	Priority   alarms.Priority
	Onset      time.Time
	AckedBy    string    // who acknowledged it; "" not acknowledged
	AckedAt    time.Time // when
	ResolvedAt time.Time // when its condition ended; zero while it lasts
	Numerics   []NumericAt
}

// ReviewOptions configure the review views. Zero values take defaults.
type ReviewOptions struct {
	// Now is the station's clock (time.Now when nil).
	Now func() time.Time
	// Spawn runs slow work (reading, writing exports) off the UI thread
	// (a goroutine when nil); tests run it in line.
	Spawn func(func())
	// OnExport is told of every file an export wrote (the journal records
	// who exported what); nil: nobody.
	OnExport func(path string)
	// ExportDir is where exports are written (the system's temporary
	// directory when "").
	ExportDir string
	// OpenDisclosure opens bed's full disclosure at a time (the event
	// review's "Open in full disclosure"); the button is hidden when nil.
	OpenDisclosure func(bed string, at time.Time)
}

func (o ReviewOptions) withDefaults() ReviewOptions {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Spawn == nil {
		o.Spawn = func(f func()) { go f() }
	}
	if o.ExportDir == "" {
		o.ExportDir = os.TempDir()
	}
	return o
}

// ReviewZooms are the disclosure's time per screen, shortest first.
var ReviewZooms = []time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second}

// Layout and export sizes of the review views.
const (
	reviewStripH       = 130 // minimum height of a strip on screen
	reviewExportW      = 1600
	reviewExportStripH = 160
	reviewExportHeadH  = 2*stripGlyphH + 10 // two lines of annotation
	reviewDefaultZoom  = 1                  // 10 s per screen
	// Around an alarm's onset when its snippet's samples do not say.
	reviewSnippetBefore = 10 * time.Second
	reviewSnippetAfter  = 10 * time.Second
)

// reviewMMPerPx is the paper equivalent of a screen pixel: 96 dpi.
const reviewMMPerPx = 25.4 / 96

// reviewPriorityWord is "*** HIGH": the prefix and the word, so that priority
// never depends on colour alone.
func reviewPriorityWord(p alarms.Priority) string {
	if p == alarms.None {
		return "-"
	}
	return p.Prefix() + " " + strings.ToUpper(p.String())
}

// reviewEventText is the message without a priority prefix of its own.
func reviewEventText(e ReviewEvent) string {
	t := strings.TrimSpace(e.Text)
	if p := alarms.PriorityOfText(t); p != alarms.None {
		t = strings.TrimSpace(strings.TrimPrefix(t, p.Prefix()))
	}
	return t
}

// reviewAckText is who acknowledged the alarm and when.
func reviewAckText(e ReviewEvent) string {
	if e.AckedBy == "" && e.AckedAt.IsZero() {
		return "not acknowledged"
	}
	who := e.AckedBy
	if who == "" {
		who = "?"
	}
	return "acked by " + who + " at " + e.AckedAt.Local().Format("15:04:05")
}

func reviewResolvedText(e ReviewEvent) string {
	if e.ResolvedAt.IsZero() {
		return "not resolved"
	}
	return "resolved at " + e.ResolvedAt.Local().Format("15:04:05")
}

// reviewStrip is one channel's strip on screen: a raster drawing into an
// image it keeps.
type reviewStrip struct {
	raster *canvas.Raster
	img    *image.RGBA
	draw   func(img *image.RGBA) // renders into img, sized by the raster
}

func newReviewStrip(draw func(img *image.RGBA)) *reviewStrip {
	s := &reviewStrip{draw: draw}
	s.raster = canvas.NewRaster(func(w, h int) image.Image {
		waveform.MarkPainted() // frames painted while the review scrolls
		s.img = ReuseRGBA(s.img, w, h)
		s.draw(s.img)
		return s.img
	})
	s.raster.ScaleMode = canvas.ImageScalePixels
	s.raster.SetMinSize(fyne.NewSize(200, reviewStripH))
	return s
}

// reviewTraceScale is a trace's vertical range for the whole of what is held,
// so that the strips do not rescale as the screen moves.
func reviewTraceScale(tr WaveTrace) [2]float32 {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, s := range tr.Segments {
		for _, v := range s.Samples {
			if v == v {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return [2]float32{0, 1}
	}
	if pad := (hi - lo) * 0.08; pad > 0 {
		return [2]float32{lo - pad, hi + pad}
	}
	return [2]float32{lo - 1, hi + 1}
}

// DisclosureView is the full disclosure of one bed: a strip per stored
// channel over a screen of time, a cursor at the screen's centre with its
// time, zoom, scrolling by step, screen, slider and keys, jumps to the
// bed's alarms, and export of the screen as PNG and CSV.
type DisclosureView struct {
	bed string
	src Review
	opt ReviewOptions

	first, last time.Time // the stored range; zero until known
	cursor      time.Time // the time at the screen's centre
	zoom        int       // index in ReviewZooms

	// held: the window read and its traces, with their vertical scales.
	held struct {
		ok       bool
		from, to time.Time
		traces   []WaveTrace
		scales   [][2]float32
	}
	loading, again bool

	events []ReviewEvent // the bed's alarms in the stored range, newest first
	marks  []StripMark

	strips   []*reviewStrip
	stripBox *fyne.Container
	cursorL  *widget.Label
	zoomL    *widget.Label
	slider   *keySlider // the key* widgets pass Esc and the view's keys on after a click (reviewnav.go)
	jump     *keySelect
	status   *widget.Label
	content  fyne.CanvasObject
	syncing  bool // the slider is being set from the cursor
}

// NewDisclosureView builds bed's full disclosure and starts reading what
// is stored; it opens at the newest screen (SetCursor moves it).
func NewDisclosureView(bed string, src Review, opt ReviewOptions) *DisclosureView {
	v := &DisclosureView{bed: bed, src: src, opt: opt.withDefaults(), zoom: reviewDefaultZoom}
	v.cursorL = widget.NewLabel("")
	v.cursorL.TextStyle.Bold = true
	v.zoomL = widget.NewLabel("")
	v.status = widget.NewLabel("reading the recording…")
	v.status.Truncation = fyne.TextTruncateEllipsis
	v.slider = newKeySlider(0, 1)
	v.slider.OnChanged = func(sec float64) {
		if v.syncing || v.first.IsZero() {
			return
		}
		v.moveTo(v.first.Add(time.Duration(sec * float64(time.Second))))
	}
	v.jump = newKeySelect(nil, func(choice string) {
		if i := slices.Index(v.jump.Options, choice); i >= 0 && i < len(v.events) {
			v.moveTo(v.events[i].Onset)
		}
	})
	v.jump.PlaceHolder = "Jump to alarm…"
	v.stripBox = container.NewVBox()

	btn := func(label string, f func()) *widget.Button { return widget.NewButton(label, f) }
	nav := container.NewHBox(
		btn("Oldest", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyHome}) }),
		btn("« Screen", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageUp}) }),
		btn("‹ Step", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyLeft}) }),
		btn("Step ›", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight}) }),
		btn("Screen »", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageDown}) }),
		btn("Newest", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnd}) }),
		gap(12),
		btn("Zoom −", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyMinus}) }),
		v.zoomL,
		btn("Zoom +", func() { v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPlus}) }),
		gap(12),
		v.jump,
		gap(12),
		btn("Export strip", v.Export),
	)
	keys := widget.NewLabel("Keys: Left/Right step, PgUp/PgDn screen, + and - zoom, Home/End oldest/newest")
	keys.Importance = widget.LowImportance
	top := container.NewVBox(nav, v.cursorL, v.slider)
	bottom := container.NewBorder(nil, nil, nil, keys, v.status)
	v.content = container.NewBorder(top, bottom, nil, nil, container.NewVScroll(v.stripBox))
	v.showCursor()
	v.loadRange(false)
	return v
}

// Content is the view, for Station.ShowPanel.
func (v *DisclosureView) Content() fyne.CanvasObject { return v.content }

// Cursor is the time at the cursor (the screen's centre).
func (v *DisclosureView) Cursor() time.Time { return v.cursor }

// Span is the time one screen shows.
func (v *DisclosureView) Span() time.Duration { return ReviewZooms[v.zoom] }

// SetCursor centres the screen on at (within what is stored).
func (v *DisclosureView) SetCursor(at time.Time) { v.moveTo(at) }

// window is the time on screen, [start, end).
func (v *DisclosureView) window() (start, end time.Time) {
	start = v.cursor.Add(-v.Span() / 2)
	return start, start.Add(v.Span())
}

// step is the move of ←/→: a tenth of a screen.
func (v *DisclosureView) step() time.Duration { return v.Span() / 10 }

// TypedKey handles the view's keys and reports whether it did: ←/→ a
// step, PgUp/PgDn a screen, +/− zoom, Home/End the oldest/newest screen.
func (v *DisclosureView) TypedKey(ev *fyne.KeyEvent) bool {
	switch ev.Name {
	case fyne.KeyLeft, fyne.KeyRight, fyne.KeyPageUp, fyne.KeyPageDown, fyne.KeyHome:
		if v.first.IsZero() {
			return true // nothing stored (yet): nowhere to go
		}
	}
	switch ev.Name {
	case fyne.KeyLeft:
		v.moveTo(v.cursor.Add(-v.step()))
	case fyne.KeyRight:
		v.moveTo(v.cursor.Add(v.step()))
	case fyne.KeyPageUp:
		v.moveTo(v.cursor.Add(-v.Span()))
	case fyne.KeyPageDown:
		v.moveTo(v.cursor.Add(v.Span()))
	case fyne.KeyHome:
		v.moveTo(v.first.Add(v.Span() / 2))
	case fyne.KeyEnd:
		v.loadRange(true) // what is newest has moved on since the view opened
	case fyne.KeyPlus, fyne.KeyEqual:
		v.setZoom(v.zoom - 1)
	case fyne.KeyMinus:
		v.setZoom(v.zoom + 1)
	default:
		return false
	}
	return true
}

func (v *DisclosureView) setZoom(z int) {
	z = min(max(z, 0), len(ReviewZooms)-1)
	if z == v.zoom {
		return
	}
	v.zoom = z
	v.moveTo(v.cursor)
}

// clamp keeps t within the stored range (when known).
func (v *DisclosureView) clamp(t time.Time) time.Time {
	if v.first.IsZero() {
		return t
	}
	if t.After(v.last) {
		t = v.last
	}
	if t.Before(v.first) {
		t = v.first
	}
	return t
}

// moveTo puts the cursor at t, redraws from what is held and reads more
// when the screen leaves it.
func (v *DisclosureView) moveTo(t time.Time) {
	v.cursor = v.clamp(t)
	v.showCursor()
	v.redraw()
	v.ensure()
}

func (v *DisclosureView) showCursor() {
	span := v.Span()
	v.zoomL.SetText(fmt.Sprintf("%d s", int(span.Seconds())))
	if v.cursor.IsZero() {
		v.cursorL.SetText("Cursor —")
		return
	}
	speed := ""
	if len(v.strips) > 0 {
		if w := v.strips[0].raster.Size().Width; w > 0 {
			speed = fmt.Sprintf("  ≈ %.1f mm/s", float64(w)/span.Seconds()*reviewMMPerPx)
		}
	}
	v.cursorL.SetText("Cursor " + v.cursor.Local().Format("Mon 02 Jan 2006 15:04:05.000") +
		fmt.Sprintf("  (%d s per screen%s)", int(span.Seconds()), speed))
	if !v.first.IsZero() {
		v.syncing = true
		v.slider.SetValue(math.Round(v.cursor.Sub(v.first).Seconds()))
		v.syncing = false
	}
}

func (v *DisclosureView) redraw() {
	for _, s := range v.strips {
		s.raster.Refresh()
	}
}

// loadRange reads the stored range (and the bed's alarms in it); newest
// then moves the cursor to the newest screen.
func (v *DisclosureView) loadRange(newest bool) {
	bed, src := v.bed, v.src
	v.opt.Spawn(func() {
		first, last, err := src.Range(bed)
		var evs []ReviewEvent
		var everr error
		if err == nil && !first.IsZero() {
			evs, everr = src.Events(bed, first, last.Add(time.Second))
		}
		fyne.Do(func() { v.rangeLoaded(first, last, evs, err, everr, newest) })
	})
}

func (v *DisclosureView) rangeLoaded(first, last time.Time, evs []ReviewEvent, err, everr error, newest bool) {
	if err != nil {
		v.status.SetText("Cannot read the recording: " + err.Error())
		return
	}
	if first.IsZero() {
		v.status.SetText("No waveforms are stored for bed " + v.bed + ".")
		return
	}
	fresh := v.first.IsZero()
	v.first, v.last = first, last
	v.slider.Max = max(1, math.Ceil(last.Sub(first).Seconds()))
	v.slider.Refresh()
	if everr != nil {
		v.status.SetText("Cannot read the alarms: " + everr.Error())
	} else {
		v.setEvents(evs)
	}
	if newest || (fresh && v.cursor.IsZero()) {
		v.moveTo(v.last.Add(-v.Span() / 2))
		return
	}
	v.moveTo(v.cursor)
}

// setEvents lists the bed's alarms, newest first, for the jumps and marks.
func (v *DisclosureView) setEvents(evs []ReviewEvent) {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b ReviewEvent) int { return b.Onset.Compare(a.Onset) })
	v.events = evs
	v.marks = v.marks[:0]
	opts := make([]string, len(evs))
	seen := map[string]int{}
	for i, e := range evs {
		v.marks = append(v.marks, StripMark{At: e.Onset, Color: PriorityColor(e.Priority), Text: e.Priority.Prefix()})
		o := e.Onset.Local().Format("02 Jan 15:04:05") + "  " + reviewPriorityWord(e.Priority) + "  " + reviewEventText(e)
		if n := seen[o]; n > 0 { // options are told apart by their text
			seen[o] = n + 1
			o += " (" + strconv.Itoa(n+1) + ")"
		} else {
			seen[o] = 1
		}
		opts[i] = o
	}
	v.jump.SetOptions(opts)
}

// ensure reads the screen and a screen on either side when the screen is
// not within what is held; one read at a time, the last wish wins.
func (v *DisclosureView) ensure() {
	if v.first.IsZero() {
		return
	}
	start, end := v.window()
	lo, hi := reviewMaxTime(start, v.first), reviewMinTime(end, v.last)
	if !lo.Before(hi) {
		return
	}
	if v.held.ok && !v.held.from.After(lo) && !v.held.to.Before(hi) {
		return
	}
	if v.loading {
		v.again = true
		return
	}
	span := v.Span()
	from, to := reviewMaxTime(start.Add(-span), v.first), reviewMinTime(end.Add(span), v.last.Add(time.Second))
	v.loading = true
	v.status.SetText("reading " + from.Local().Format("15:04:05") + " – " + to.Local().Format("15:04:05") + "…")
	bed, src := v.bed, v.src
	v.opt.Spawn(func() {
		t0 := time.Now()
		traces, err := src.Disclosure(bed, from, to)
		scales := make([][2]float32, len(traces))
		for i := range traces {
			scales[i] = reviewTraceScale(traces[i])
		}
		took := time.Since(t0)
		fyne.Do(func() { v.loaded(from, to, traces, scales, took, err) })
	})
}

func (v *DisclosureView) loaded(from, to time.Time, traces []WaveTrace, scales [][2]float32, took time.Duration, err error) {
	v.loading = false
	if err != nil {
		v.status.SetText("Cannot read the waveforms: " + err.Error())
	} else {
		v.held.ok, v.held.from, v.held.to, v.held.traces, v.held.scales = true, from, to, traces, scales
		v.buildStrips()
		if len(traces) == 0 {
			v.status.SetText("No waveforms stored around " + v.cursor.Local().Format("15:04:05") + ".")
		} else {
			v.status.SetText(fmt.Sprintf("%d channels, %s – %s held (read in %d ms)", len(traces),
				from.Local().Format("15:04:05"), to.Local().Format("15:04:05"), took.Milliseconds()))
		}
		v.showCursor()
		v.redraw()
	}
	if v.again {
		v.again = false
		v.ensure()
	}
}

// buildStrips makes a strip per held channel when the channels changed.
func (v *DisclosureView) buildStrips() {
	if len(v.strips) == len(v.held.traces) {
		return // the strips draw the held traces by index
	}
	v.strips = reviewStrips(v.strips, v.stripBox, len(v.held.traces), v.render)
}

// reviewStrips puts n strips into box, one row each, strip i drawn by
// render(img, i), reusing the slice strips.
func reviewStrips(strips []*reviewStrip, box *fyne.Container, n int, render func(img *image.RGBA, i int)) []*reviewStrip {
	strips = strips[:0]
	objs := make([]fyne.CanvasObject, 0, n)
	for i := range n {
		s := newReviewStrip(func(img *image.RGBA) { render(img, i) })
		strips = append(strips, s)
		objs = append(objs, s.raster)
	}
	box.Objects = objs
	box.Layout = layout.NewGridLayoutWithRows(max(n, 1))
	box.Refresh()
	return strips
}

// render draws held channel i over the screen into img.
func (v *DisclosureView) render(img *image.RGBA, i int) {
	start, _ := v.window()
	pps := float64(img.Rect.Dx()) / v.Span().Seconds()
	if i >= len(v.held.traces) {
		RenderStrip(img, WaveTrace{}, start, pps, StripStyle{TimeLabels: true})
		return
	}
	sc := v.held.scales[i]
	RenderStrip(img, v.held.traces[i], start, pps, StripStyle{Min: sc[0], Max: sc[1], TimeLabels: true,
		ChannelLabel: true, Cursor: v.cursor, Marks: v.marks})
}

// Export writes the screen as a PNG (the strips stacked under the bed,
// time and speed) and a CSV (a row per sample time, a column per channel)
// into ExportDir; the status line says where.
func (v *DisclosureView) Export() {
	if !v.held.ok || len(v.held.traces) == 0 {
		v.status.SetText("Nothing to export on this screen.")
		return
	}
	start, end := v.window()
	span := v.Span()
	pps := float64(reviewExportW) / span.Seconds()
	head := [2]string{
		"Bed " + v.bed + "  full disclosure  " + start.Local().Format("Mon 02 Jan 2006 15:04:05") + " - " +
			end.Local().Format("15:04:05 MST"),
		fmt.Sprintf("%d s per strip, %.1f mm/s at 96 dpi; cursor %s", int(span.Seconds()), pps*reviewMMPerPx,
			v.cursor.Local().Format("15:04:05.000")),
	}
	traces, scales := v.held.traces, v.held.scales
	marks, cursor := slices.Clone(v.marks), v.cursor
	base := fmt.Sprintf("vigil-bed%s-%s-disclosure", reviewFileSafe(v.bed), start.Local().Format("20060102-150405"))
	reviewRunExport(v.opt, func() (string, string, error) {
		img := reviewExportImage(head, traces, scales, start, pps, cursor, marks)
		return reviewWriteExport(v.opt.ExportDir, base, img, traces, start, end)
	}, v.status)
}

// reviewRunExport runs write off the UI thread and says on status what it wrote.
func reviewRunExport(opt ReviewOptions, write func() (string, string, error), status *widget.Label) {
	status.SetText("exporting…")
	opt.Spawn(func() {
		pngPath, csvPath, err := write()
		fyne.Do(func() {
			if err == nil && opt.OnExport != nil {
				for _, p := range []string{pngPath, csvPath} {
					if p != "" {
						opt.OnExport(p)
					}
				}
			}
			switch {
			case err != nil:
				status.SetText("Export failed: " + err.Error())
			case csvPath == "":
				status.SetText("Exported " + pngPath)
			case pngPath == "":
				status.SetText("Exported " + csvPath)
			default:
				status.SetText("Exported " + pngPath + " and " + csvPath)
			}
		})
	})
}

// reviewExportImage stacks the traces' strips under two lines of annotation.
func reviewExportImage(head [2]string, traces []WaveTrace, scales [][2]float32, from time.Time, pps float64,
	cursor time.Time, marks []StripMark) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, reviewExportW, reviewExportHeadH+len(traces)*reviewExportStripH))
	c := stripCanvasOf(img)
	c.fill(0, 0, c.w, reviewExportHeadH, colorTile)
	c.text(6, 4, head[0], ColorWhite)
	c.text(6, 6+stripGlyphH, head[1], ColorDim)
	for i, tr := range traces {
		y := reviewExportHeadH + i*reviewExportStripH
		sub := img.SubImage(image.Rect(0, y, reviewExportW, y+reviewExportStripH)).(*image.RGBA)
		st := StripStyle{TimeLabels: true, ChannelLabel: true, Cursor: cursor, Marks: marks}
		if i < len(scales) {
			st.Min, st.Max = scales[i][0], scales[i][1]
		}
		RenderStrip(sub, tr, from, pps, st)
	}
	return img
}

// reviewWriteExport writes img as base.png and the traces over [from, to) as
// base.csv in dir; a name taken gets a number.
func reviewWriteExport(dir, base string, img image.Image, traces []WaveTrace, from, to time.Time) (pngPath, csvPath string, err error) {
	if img != nil {
		if pngPath, err = reviewCreateExport(dir, base, ".png", func(f *os.File) error { return png.Encode(f, img) }); err != nil {
			return "", "", err
		}
	}
	if traces != nil {
		if csvPath, err = reviewCreateExport(dir, base, ".csv", func(f *os.File) error {
			w := bufio.NewWriter(f)
			if err := reviewWriteCSV(w, traces, from, to); err != nil {
				return err
			}
			return w.Flush()
		}); err != nil {
			return pngPath, "", err
		}
	}
	return pngPath, csvPath, nil
}

// reviewCreateExport writes a new file in dir, 0600 in a 0700 folder: an
// export names a patient and shows her signals.
func reviewCreateExport(dir, base, ext string, write func(*os.File) error) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for n := 1; n < 1000; n++ {
		name := base + ext
		if n > 1 {
			name = base + "-" + strconv.Itoa(n) + ext
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("too many exports named %s%s in %s", base, ext, dir)
}

// reviewFileSafe keeps letters, digits, - and _ of a bed's name for a file name.
func reviewFileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// reviewWriteCSV writes the traces over [from, to): a header, then a row per
// sample time of the fastest channel (local time with ms), a column per
// channel. A slower channel's sample is on the row nearest its time, its
// other rows empty; so is a gap or an invalid sample.
func reviewWriteCSV(w *bufio.Writer, traces []WaveTrace, from, to time.Time) error {
	rate := 0.0
	for _, tr := range traces {
		rate = max(rate, tr.RateHz)
	}
	w.WriteString("time")
	for _, tr := range traces {
		w.WriteByte(',')
		w.WriteString(reviewCSVField(strings.TrimSpace(tr.Label + " (" + tr.Unit + ")")))
	}
	w.WriteByte('\n')
	if rate <= 0 || !from.Before(to) {
		return nil
	}
	rows := int(math.Ceil(to.Sub(from).Seconds()*rate - 1e-9))
	cells := make([]float32, rows*len(traces))
	for i := range cells {
		cells[i] = float32(math.NaN())
	}
	for c, tr := range traces {
		if tr.RateHz <= 0 {
			continue
		}
		for _, seg := range tr.Segments {
			off := seg.Start.Sub(from).Seconds()
			for k, val := range seg.Samples {
				t := off + float64(k)/tr.RateHz
				if t < 0 || t >= to.Sub(from).Seconds() {
					continue
				}
				if r := int(math.Round(t * rate)); r >= 0 && r < rows {
					cells[r*len(traces)+c] = val
				}
			}
		}
	}
	var buf []byte
	for r := range rows {
		at := from.Add(time.Duration(float64(r) / rate * float64(time.Second)))
		buf = at.Local().AppendFormat(buf[:0], "2006-01-02T15:04:05.000Z07:00")
		for c := range traces {
			buf = append(buf, ',')
			if v := cells[r*len(traces)+c]; v == v {
				buf = strconv.AppendFloat(buf, float64(v), 'g', 6, 32)
			}
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func reviewCSVField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func reviewMaxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func reviewMinTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ReviewEventSpans are the event review's time spans.
var ReviewEventSpans = []time.Duration{8 * time.Hour, 24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}

func reviewSpanName(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return strconv.Itoa(int(d.Hours())) + " h"
}

// EventReview lists the alarm events of a bed (or the ward), newest
// first, and shows the chosen one: its snippet (every waveform around the
// onset, the onset marked), the numerics at onset, who acknowledged it
// and when, and when it ended; with exports and a way into the full
// disclosure.
type EventReview struct {
	bed string
	src Review
	opt ReviewOptions

	span   time.Duration
	events []ReviewEvent // newest first
	hl     int           // the row the keys are on
	gen    int           // the newest load of the list
	want   string        // an alarm to select once the list holds it

	cur      ReviewEvent // the event shown
	curOK    bool
	traces   []WaveTrace
	from, to time.Time // the snippet's time
	scales   [][2]float32
	marks    []StripMark
	snipGen  int

	list     *keyList // passes Esc and Enter on after a click (reviewnav.go)
	title    *canvas.Text
	onset    *widget.Label
	numerics *widget.Label
	ack      *widget.Label
	resolved *widget.Label
	strips   []*reviewStrip
	stripBox *fyne.Container
	pngB     *widget.Button
	csvB     *widget.Button
	openB    *widget.Button
	status   *widget.Label
	content  fyne.CanvasObject
}

// reviewColumns lays a list row's cells out in fixed widths, the one at
// flex taking what is left.
type reviewColumns struct {
	widths []float32
	flex   int
}

func (l *reviewColumns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	fixed := float32(0)
	for i, w := range l.widths {
		if i != l.flex {
			fixed += w
		}
	}
	x := float32(0)
	for i, o := range objs {
		w := l.widths[i]
		if i == l.flex {
			w = max(size.Width-fixed, 40)
		}
		o.Move(fyne.NewPos(x, (size.Height-o.MinSize().Height)/2))
		o.Resize(fyne.NewSize(w, o.MinSize().Height))
		x += w
	}
}

func (l *reviewColumns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	w, h := float32(0), float32(0)
	for i, o := range objs {
		if i == l.flex {
			w += 120
		} else {
			w += l.widths[i]
		}
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(w, h)
}

// NewEventReview builds the event review of bed ("" the ward) and starts
// reading its events.
func NewEventReview(bed string, src Review, opt ReviewOptions) *EventReview {
	e := &EventReview{bed: bed, src: src, opt: opt.withDefaults(), span: 24 * time.Hour}
	e.status = widget.NewLabel("")
	e.status.Truncation = fyne.TextTruncateEllipsis
	e.list = newKeyList(func() int { return len(e.events) }, e.newRow, e.updateRow)
	e.list.OnSelected = func(id widget.ListItemID) { e.hl = id; e.open(id) }
	e.list.OnHighlighted = func(id widget.ListItemID) { e.hl = id }

	e.title = text("", ColorWhite, true)
	e.title.TextSize = 18
	e.onset = widget.NewLabel("")
	e.numerics = widget.NewLabel("")
	e.numerics.Wrapping = fyne.TextWrapWord
	e.ack = widget.NewLabel("")
	e.resolved = widget.NewLabel("")
	e.stripBox = container.NewVBox()
	e.pngB = widget.NewButton("Export PNG", func() { e.export(true) })
	e.csvB = widget.NewButton("Export CSV", func() { e.export(false) })
	e.openB = widget.NewButton("Open in full disclosure", func() {
		if e.curOK && e.opt.OpenDisclosure != nil {
			e.opt.OpenDisclosure(e.cur.Bed, e.cur.Onset)
		}
	})
	if e.opt.OpenDisclosure == nil {
		e.openB.Hide()
	}
	e.showEvent()

	var names []string
	for _, d := range ReviewEventSpans {
		names = append(names, reviewSpanName(d))
	}
	// Buttons, not a widget.RadioGroup: its items keep the focus a click
	// gives them, and Esc with it (reviewnav.go).
	spans := newKeyChoice(names, reviewSpanName(e.span), func(s string) {
		for _, d := range ReviewEventSpans {
			if reviewSpanName(d) == s && d != e.span {
				e.span = d
				e.load()
			}
		}
	})

	who := "the ward"
	if bed != "" {
		who = "bed " + bed
	}
	hint := widget.NewLabel("Alarms of " + who + ", newest first. Up/Down move, Enter opens.")
	hint.Importance = widget.LowImportance
	left := container.NewBorder(container.NewVBox(container.NewHBox(widget.NewLabel("Span"), spans), hint), nil, nil, nil, e.list)
	info := container.NewVBox(e.title, e.onset, e.numerics, e.ack, e.resolved,
		container.NewHBox(e.pngB, e.csvB, e.openB))
	right := container.NewBorder(info, nil, nil, nil, container.NewVScroll(e.stripBox))
	split := container.NewHSplit(left, right)
	split.Offset = 0.45
	e.content = container.NewBorder(nil, e.status, nil, nil, split)
	e.load()
	return e
}

// Content is the view, for Station.ShowPanel.
func (e *EventReview) Content() fyne.CanvasObject { return e.content }

func (e *EventReview) newRow() fyne.CanvasObject {
	l := func() *widget.Label {
		x := widget.NewLabel("")
		x.Truncation = fyne.TextTruncateEllipsis
		return x
	}
	prio := text("*** MEDIUM", ColorWhite, true)
	return container.New(&reviewColumns{widths: []float32{125, 70, 100, 0, 210}, flex: 3},
		l(), l(), container.NewPadded(prio), l(), l())
}

func (e *EventReview) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id < 0 || id >= len(e.events) {
		return
	}
	ev := e.events[id]
	cells := o.(*fyne.Container).Objects
	cells[0].(*widget.Label).SetText(ev.Onset.Local().Format("02 Jan 15:04:05"))
	cells[1].(*widget.Label).SetText(reviewBedName(ev.Bed))
	p := cells[2].(*fyne.Container).Objects[0].(*canvas.Text)
	p.Text, p.Color = reviewPriorityWord(ev.Priority), PriorityColor(ev.Priority)
	p.Refresh()
	cells[3].(*widget.Label).SetText(reviewEventText(ev))
	cells[4].(*widget.Label).SetText(reviewAckText(ev))
}

func reviewBedName(b string) string {
	if b == "" {
		return "station"
	}
	return "Bed " + b
}

// load reads the events of the span.
func (e *EventReview) load() {
	e.gen++
	g := e.gen
	to := e.opt.Now()
	from := to.Add(-e.span)
	e.status.SetText("reading alarms…")
	bed, src := e.bed, e.src
	e.opt.Spawn(func() {
		evs, err := src.Events(bed, from, to.Add(time.Second))
		if err == nil {
			slices.SortStableFunc(evs, func(a, b ReviewEvent) int { return b.Onset.Compare(a.Onset) })
		}
		fyne.Do(func() {
			if g != e.gen {
				return // a newer span was chosen meanwhile
			}
			if err != nil {
				e.status.SetText("Cannot read the alarms: " + err.Error())
				return
			}
			e.events = evs
			e.list.UnselectAll()
			e.list.Refresh()
			e.status.SetText(fmt.Sprintf("%d alarms in the last %s", len(evs), reviewSpanName(e.span)))
			if i := slices.IndexFunc(evs, func(x ReviewEvent) bool { return x.AlarmID == e.want }); e.want != "" && i >= 0 {
				e.want, e.hl = "", i
				if e.curOK && e.cur.AlarmID == evs[i].AlarmID {
					e.list.Highlight(i) // shown already
				} else {
					e.list.Select(i)
				}
			} else if len(evs) > 0 {
				e.hl = 0
				e.list.Highlight(0)
			}
		})
	})
}

// Events are the events listed, newest first.
func (e *EventReview) Events() []ReviewEvent { return e.events }

// Select opens the event of alarmID: selected in the list when it is
// there, else read on its own.
func (e *EventReview) Select(alarmID string) {
	e.want = ""
	for i, ev := range e.events {
		if ev.AlarmID == alarmID {
			e.hl = i
			e.list.Select(i) // opens it
			return
		}
	}
	e.want = alarmID // for the list, should it be loading
	e.openID(alarmID, ReviewEvent{AlarmID: alarmID})
}

// TypedKey handles the list's keys and reports whether it did: ↑/↓ move
// the highlight, Enter opens the highlighted event.
func (e *EventReview) TypedKey(ev *fyne.KeyEvent) bool {
	switch ev.Name {
	case fyne.KeyUp, fyne.KeyDown:
		if len(e.events) == 0 {
			return true
		}
		if ev.Name == fyne.KeyUp {
			e.hl = max(e.hl-1, 0)
		} else {
			e.hl = min(e.hl+1, len(e.events)-1)
		}
		e.list.Highlight(e.hl)
	case fyne.KeyReturn, fyne.KeyEnter:
		if e.hl >= 0 && e.hl < len(e.events) {
			e.list.UnselectAll()
			e.list.Select(e.hl)
		}
	default:
		return false
	}
	return true
}

// open shows listed event i.
func (e *EventReview) open(i int) {
	if i < 0 || i >= len(e.events) {
		return
	}
	e.openID(e.events[i].AlarmID, e.events[i])
}

// openID shows the event (as listed, known) at once and reads its snippet.
func (e *EventReview) openID(id string, known ReviewEvent) {
	e.snipGen++
	g := e.snipGen
	e.cur, e.curOK, e.traces, e.scales = known, !known.Onset.IsZero(), nil, nil
	e.showEvent()
	e.status.SetText("reading the snippet…")
	src := e.src
	e.opt.Spawn(func() {
		ev, traces, err := src.Snippet(id)
		scales := make([][2]float32, len(traces))
		for i := range traces {
			scales[i] = reviewTraceScale(traces[i])
		}
		fyne.Do(func() {
			if g != e.snipGen {
				return // another event was chosen meanwhile
			}
			if err != nil {
				e.status.SetText("No waveforms for this alarm: " + err.Error())
				return
			}
			if ev.AlarmID == "" {
				ev.AlarmID = id
			}
			e.cur, e.curOK, e.traces, e.scales = ev, true, traces, scales
			e.showEvent()
			e.status.SetText(fmt.Sprintf("snippet of %d channels, %s – %s", len(traces),
				e.from.Local().Format("15:04:05"), e.to.Local().Format("15:04:05")))
		})
	})
}

// showEvent fills the detail with the current event and its strips.
func (e *EventReview) showEvent() {
	for _, b := range []*widget.Button{e.pngB, e.csvB, e.openB} {
		setEnabled(b, e.curOK)
	}
	if !e.curOK {
		e.title.Text = "Choose an alarm"
		e.title.Color = ColorWhite
		e.title.Refresh()
		for _, l := range []*widget.Label{e.onset, e.numerics, e.ack, e.resolved} {
			l.SetText("")
		}
		e.stripBox.Objects = nil
		e.stripBox.Refresh()
		return
	}
	ev := e.cur
	e.title.Text = reviewPriorityWord(ev.Priority) + "  " + reviewBedName(ev.Bed) + "  " + reviewEventText(ev)
	e.title.Color = PriorityColor(ev.Priority)
	if ev.Priority == alarms.None {
		e.title.Color = ColorWhite
	}
	e.title.Refresh()
	e.onset.SetText("Onset " + ev.Onset.Local().Format("Mon 02 Jan 2006 15:04:05"))
	var nums []string
	for _, n := range ev.Numerics {
		nums = append(nums, n.Label+" "+n.Value)
	}
	if len(nums) == 0 {
		e.numerics.SetText("Numerics at onset: none recorded")
	} else {
		e.numerics.SetText("Numerics at onset: " + strings.Join(nums, "   "))
	}
	e.ack.SetText(reviewAckText(ev))
	e.resolved.SetText(reviewResolvedText(ev))

	// The snippet's time: what its samples cover, at least onset -10..+10 s.
	e.from, e.to = ev.Onset.Add(-reviewSnippetBefore), ev.Onset.Add(reviewSnippetAfter)
	for _, tr := range e.traces {
		for _, s := range tr.Segments {
			if tr.RateHz > 0 && len(s.Samples) > 0 {
				end := s.Start.Add(time.Duration(float64(len(s.Samples)) / tr.RateHz * float64(time.Second)))
				e.from, e.to = reviewMinTime(e.from, s.Start), reviewMaxTime(e.to, end)
			}
		}
	}
	e.marks = []StripMark{{At: ev.Onset, Color: PriorityColor(ev.Priority), Text: ev.Priority.Prefix() + " onset"}}
	e.strips = reviewStrips(e.strips, e.stripBox, len(e.traces), e.render)
}

// render draws the snippet's channel i, all of its time across img.
func (e *EventReview) render(img *image.RGBA, i int) {
	if i >= len(e.traces) {
		RenderStrip(img, WaveTrace{}, e.from, 1, StripStyle{})
		return
	}
	pps := float64(img.Rect.Dx()) / e.to.Sub(e.from).Seconds()
	RenderStrip(img, e.traces[i], e.from, pps, StripStyle{Min: e.scales[i][0], Max: e.scales[i][1],
		TimeLabels: true, ChannelLabel: true, Marks: e.marks})
}

// export writes the shown event's snippet as PNG (asPNG) or CSV.
func (e *EventReview) export(asPNG bool) {
	if !e.curOK {
		return
	}
	if len(e.traces) == 0 {
		e.status.SetText("This alarm has no waveforms to export.")
		return
	}
	ev := e.cur
	from, to := e.from, e.to
	traces, scales := e.traces, e.scales
	marks := slices.Clone(e.marks)
	pps := float64(reviewExportW) / to.Sub(from).Seconds()
	base := fmt.Sprintf("vigil-bed%s-%s-alarm-%s", reviewFileSafe(ev.Bed), ev.Onset.Local().Format("20060102-150405"), reviewFileSafe(ev.AlarmID))
	head := [2]string{
		reviewBedName(ev.Bed) + "  " + reviewPriorityWord(ev.Priority) + "  " + reviewEventText(ev) + "  onset " +
			ev.Onset.Local().Format("Mon 02 Jan 2006 15:04:05 MST"),
		fmt.Sprintf("%s; %s; %.1f mm/s at 96 dpi", reviewAckText(ev), reviewResolvedText(ev), pps*reviewMMPerPx),
	}
	reviewRunExport(e.opt, func() (string, string, error) {
		if asPNG {
			return reviewWriteExport(e.opt.ExportDir, base, reviewExportImage(head, traces, scales, from, pps, time.Time{}, marks), nil, from, to)
		}
		return reviewWriteExport(e.opt.ExportDir, base, nil, traces, from, to)
	}, e.status)
}
