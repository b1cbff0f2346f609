package ui

import (
	"errors"
	"fmt"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// AlarmDesk is what the station needs of the alarm system: the latest view to
// draw and the operator's commands. *alarms.Service implements it. Commands
// are called on the Fyne goroutine and must return within a few milliseconds.
type AlarmDesk interface {
	// View is the latest snapshot; its Seq changes whenever anything shown
	// changes.
	View() *alarms.View
	Acknowledge(id string) error
	AcknowledgeAll(bed string) error // "" = every alarm
	PauseAudio() error
	PauseAlarmAudio(id string) error
	Respond(id string, accept bool) error
	// Heartbeat is called on every frame; when it stops, the alarm system
	// raises "display not responding".
	Heartbeat()
	// Shown is called with the ids of the alarms just drawn, after each
	// view change (the display latency figures).
	Shown(ids []string)
}

var _ AlarmDesk = (*alarms.Service)(nil)

// Alarm bar geometry: big enough to read the rows at 2–4 m.
const (
	// MaxAlarmRows is how many alarms the bar lists; the rest are counted
	// as "+ K more".
	MaxAlarmRows   = 4
	maxBanners     = 2
	alarmRowHeight = 42
	alarmTextSize  = 24
	errorShownFor  = 6 * time.Second
)

// Flash states of a row or tile, drawn only when they change.
const (
	paintUnknown int8 = iota - 1
	paintNone         // no alarm
	paintDark         // unacknowledged, flash off phase
	paintLit          // unacknowledged, flash on phase (LOW: always)
	paintAcked        // acknowledged: steady, dimmer
)

var (
	colorRow       = color.NRGBA{R: 0x1C, G: 0x22, B: 0x2A, A: 0xFF}
	colorAckedText = color.NRGBA{R: 0xC8, G: 0xCC, B: 0xD0, A: 0xFF}
	colorBadge     = ColorWhite
	colorError     = ColorAlarmMedium
)

// PriorityColor is the colour of an alarm priority (IEC 60601-1-8): high
// red, medium yellow, low cyan.
func PriorityColor(p alarms.Priority) color.NRGBA {
	switch p {
	case alarms.High:
		return ColorAlarmHigh
	case alarms.Medium:
		return ColorAlarmMedium
	case alarms.Low:
		return ColorAlarmLow
	}
	return colorHeader
}

// inkOn is the text colour on a ground of the priority's colour.
func inkOn(p alarms.Priority) color.NRGBA {
	if p == alarms.High {
		return ColorWhite
	}
	return ColorBlack
}

// dim is c mixed into the bar's dark ground: an acknowledged alarm's colour.
func dim(c color.NRGBA) color.NRGBA {
	mix := func(a, b uint8) uint8 { return uint8((uint16(a)*40 + uint16(b)*60) / 100) }
	return color.NRGBA{R: mix(c.R, colorBar.R), G: mix(c.G, colorBar.G), B: mix(c.B, colorBar.B), A: 0xFF}
}

// flashLit reports whether a signal of priority p is lit at now: 50 % duty
// at the priority's rate, LOW steady. The phase is the wall clock's, so
// every row and tile flashes together.
func flashLit(now time.Time, p alarms.Priority) bool {
	hz := p.FlashHz()
	if hz <= 0 {
		return true
	}
	period := int64(float64(time.Second) / hz)
	ph := now.UnixNano() % period
	if ph < 0 {
		ph += period
	}
	return ph < period/2
}

// ceilSeconds is a countdown's whole seconds: it reads 0:00 only when over.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// floorSeconds is an age's whole seconds.
func floorSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d / time.Second)
}

// clockText is "m:ss", or "h:mm:ss" from an hour.
func clockText(sec int64) string {
	if sec < 0 {
		sec = 0
	}
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

// AlarmLine is an alarm as the bar lists it, priority prefix first:
// "*** Bed 05  Desat SpO2 84 < 85"; a station alarm has no bed.
func AlarmLine(a *alarms.Alarm) string {
	if a.Bed == "" {
		return a.Priority.Prefix() + " " + a.Message
	}
	return a.Priority.Prefix() + " Bed " + a.Bed + "  " + a.Message
}

// fit sets c's text to full, cut with "…" to width w (w <= 0: not cut).
// It measures text, so call it when the text or the width changes.
func fit(c *canvas.Text, full string, w float32) {
	s := full
	if w > 0 && full != "" && fyne.MeasureText(full, c.TextSize, c.TextStyle).Width > w {
		r := []rune(full)
		lo, hi := 0, len(r)
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if fyne.MeasureText(string(r[:mid])+"…", c.TextSize, c.TextStyle).Width <= w {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		s = strings.TrimRight(string(r[:lo]), " ") + "…"
	}
	if c.Text != s {
		c.Text = s
		c.Refresh()
	}
}

func setFill(r *canvas.Rectangle, c color.NRGBA) {
	if r.FillColor != c {
		r.FillColor = c
		r.Refresh()
	}
}

func setInk(t *canvas.Text, c color.NRGBA) {
	if t.Color != c {
		t.Color = c
		t.Refresh()
	}
}

func setEnabled(b *widget.Button, on bool) {
	if on && b.Disabled() {
		b.Enable()
	} else if !on && !b.Disabled() {
		b.Disable()
	}
}

// crossedBell is the audio-inactivation symbol (a bell struck through),
// black, with a gap of the ground colour around the stroke so it reads on
// ground.
func crossedBell(ground color.NRGBA) fyne.Resource {
	g := fmt.Sprintf("#%02x%02x%02x", ground.R, ground.G, ground.B)
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">` +
		`<path d="M12 2.6c-3.5 0-6.1 2.7-6.1 6.3v4.7L3.6 17.2h16.8l-2.3-3.6V8.9c0-3.6-2.6-6.3-6.1-6.3z" fill="#000"/>` +
		`<path d="M9.5 18.4h5a2.5 2.5 0 0 1-5 0z" fill="#000"/>` +
		`<path d="M3.2 3.2L20.8 20.8" stroke="` + g + `" stroke-width="5" stroke-linecap="round"/>` +
		`<path d="M3.2 3.2L20.8 20.8" stroke="#000" stroke-width="2.2" stroke-linecap="round"/></svg>`
	return fyne.NewStaticResource("crossed-bell-"+g[1:]+".svg", []byte(svg))
}

func bellImage(ground color.NRGBA, size float32) *canvas.Image {
	img := canvas.NewImageFromResource(crossedBell(ground))
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(size, size))
	return img
}

// panelTheme is the station theme with larger button text for the alarm
// bar and banners.
type panelTheme struct{ Theme }

func (t panelTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return 18
	case theme.SizeNameInnerPadding:
		return 6
	}
	return t.Theme.Size(n)
}

// alarmRow is one line of the alarm bar: priority block, message, age, state
// marks, Acknowledge and Pause audio.
type alarmRow struct {
	widget.BaseWidget

	id        string
	priority  alarms.Priority
	acked     bool
	onset     time.Time
	pausedTo  time.Time // this alarm's own audio pause
	line      string    // the message line before fitting
	flags     string    // ENDED, ACK'D, ESCALATED ...
	marksFull string    // flags and the audio-pause countdown, before fitting
	ageSec    int64
	pauseSec  int64
	painted   int8

	bg, block       *canvas.Rectangle
	msg, age, marks *canvas.Text
	ack, pause      *widget.Button
	objects         []fyne.CanvasObject
}

func newAlarmRow(onAck, onPause func(r *alarmRow)) *alarmRow {
	r := &alarmRow{
		bg:      canvas.NewRectangle(colorRow),
		block:   canvas.NewRectangle(colorRow),
		msg:     text("", ColorWhite, true),
		age:     text("", ColorWhite, true),
		marks:   text("", ColorWhite, true),
		painted: paintUnknown,
	}
	r.msg.TextSize = alarmTextSize
	r.age.TextSize = alarmTextSize - 2
	r.age.Alignment = fyne.TextAlignTrailing
	r.marks.TextSize = 18
	r.ack = widget.NewButton("Acknowledge", func() { onAck(r) })
	r.pause = widget.NewButton("Pause audio", func() { onPause(r) })
	r.objects = []fyne.CanvasObject{r.bg, r.block, r.msg, r.age, r.marks, r.ack, r.pause}
	r.ExtendBaseWidget(r)
	return r
}

// set shows alarm a; the row flashes from the next frame.
func (r *alarmRow) set(a *alarms.Alarm, now time.Time) {
	r.id, r.priority, r.acked, r.onset, r.pausedTo = a.ID, a.Priority, a.Acked, a.Onset, a.AudioPaused
	var f []string
	if a.Ended {
		f = append(f, "ENDED")
	}
	if a.Acked {
		f = append(f, "ACK'D")
	}
	switch {
	case a.AcceptedBy != "":
		f = append(f, "ACCEPTED by "+a.AcceptedBy)
	case a.Escalation > 0 && !a.Acked:
		f = append(f, "ESCALATED")
	}
	r.flags = strings.Join(f, "  ")
	r.line = AlarmLine(a)
	fit(r.msg, r.line, r.msg.Size().Width)
	setFill(r.block, PriorityColor(a.Priority))
	setEnabled(r.ack, !a.Acked)
	setEnabled(r.pause, !a.Acked)
	r.ageSec, r.pauseSec, r.painted = -1, -1, paintUnknown
	r.tickClock(now)
	r.flash(now)
}

// tickClock updates the age and this alarm's audio-pause countdown; it
// formats text only when a shown second changes.
func (r *alarmRow) tickClock(now time.Time) {
	if s := floorSeconds(now.Sub(r.onset)); s != r.ageSec {
		r.ageSec = s
		r.age.Text = clockText(s)
		r.age.Refresh()
	}
	p := ceilSeconds(r.pausedTo.Sub(now))
	if r.acked {
		p = 0
	}
	if p != r.pauseSec {
		r.pauseSec = p
		r.marksFull = r.flags
		if p > 0 {
			r.marksFull = strings.TrimSpace(r.flags + "  AUDIO PAUSED " + clockText(p))
		}
		fit(r.marks, r.marksFull, r.marks.Size().Width)
	}
}

// flash draws the row's phase at now; a frame without a phase change costs
// a comparison.
func (r *alarmRow) flash(now time.Time) {
	st := paintAcked
	if !r.acked {
		st = paintDark
		if flashLit(now, r.priority) {
			st = paintLit
		}
	}
	if st == r.painted {
		return
	}
	r.painted = st
	bg, ink, sub := colorRow, ColorWhite, ColorWhite
	switch st {
	case paintLit:
		bg, ink = PriorityColor(r.priority), inkOn(r.priority)
		sub = ink
	case paintAcked:
		bg, ink, sub = dim(PriorityColor(r.priority)), colorAckedText, colorAckedText
	}
	setFill(r.bg, bg)
	setInk(r.msg, ink)
	setInk(r.age, sub)
	setInk(r.marks, sub)
}

func (r *alarmRow) CreateRenderer() fyne.WidgetRenderer { return &alarmRowRenderer{r} }

func (r *alarmRow) MinSize() fyne.Size { return fyne.NewSize(600, alarmRowHeight) }

type alarmRowRenderer struct{ r *alarmRow }

func (x *alarmRowRenderer) Objects() []fyne.CanvasObject { return x.r.objects }
func (x *alarmRowRenderer) MinSize() fyne.Size           { return x.r.MinSize() }
func (x *alarmRowRenderer) Refresh()                     {}
func (x *alarmRowRenderer) Destroy()                     {}

func (x *alarmRowRenderer) Layout(size fyne.Size) {
	r := x.r
	h := size.Height
	place := func(o fyne.CanvasObject, px, py, w, hh float32) {
		o.Move(fyne.NewPos(px, py))
		o.Resize(fyne.NewSize(w, hh))
	}
	place(r.bg, 0, 0, size.Width, h)
	place(r.block, 0, 0, 18, h)
	pb, ab := r.pause.MinSize(), r.ack.MinSize()
	bh := min(h-4, max(pb.Height, ab.Height))
	px := size.Width - 4 - pb.Width
	place(r.pause, px, (h-bh)/2, pb.Width, bh)
	px -= 6 + ab.Width
	place(r.ack, px, (h-bh)/2, ab.Width, bh)
	const marksW, ageW = 330, 90
	px -= 12 + marksW
	place(r.marks, px, 0, marksW, h)
	px -= 16 + ageW
	place(r.age, px, 0, ageW, h)
	msgW := max(0, px-12-30)
	place(r.msg, 30, 0, msgW, h)
	fit(r.msg, r.line, msgW)
	fit(r.marks, r.marksFull, marksW)
}

// bannerRow is an alarm escalated to this station: who sees it may accept
// or reject responsibility.
type bannerRow struct {
	widget.BaseWidget

	id     string
	onset  time.Time
	head   string
	tail   string
	ageSec int64

	bg             *canvas.Rectangle
	msg            *canvas.Text
	accept, reject *widget.Button
	objects        []fyne.CanvasObject
}

func newBannerRow(respond func(b *bannerRow, accept bool)) *bannerRow {
	b := &bannerRow{bg: canvas.NewRectangle(ColorEscalation), msg: text("", ColorWhite, true), ageSec: -1}
	b.msg.TextSize = alarmTextSize
	b.accept = widget.NewButton("Accept", func() { respond(b, true) })
	b.accept.Importance = widget.HighImportance
	b.reject = widget.NewButton("Reject", func() { respond(b, false) })
	b.objects = []fyne.CanvasObject{b.bg, b.msg, b.accept, b.reject}
	b.ExtendBaseWidget(b)
	return b
}

func (b *bannerRow) set(a *alarms.Alarm, hidden int, now time.Time) {
	b.id, b.onset = a.ID, a.Onset
	where := "Bed " + a.Bed
	if a.Bed == "" {
		where = "Station"
	}
	head := "ESCALATED: "
	if a.Escalation >= 2 {
		head = "ESCALATED TO ALL STATIONS: "
	}
	b.head = head + where + "  " + a.Text() + "  — unacknowledged "
	b.tail = ""
	if hidden > 0 {
		b.tail = fmt.Sprintf("   (+ %d more escalated)", hidden)
	}
	b.ageSec = -1
	b.tickClock(now)
}

func (b *bannerRow) tickClock(now time.Time) {
	s := floorSeconds(now.Sub(b.onset))
	if s == b.ageSec {
		return
	}
	b.ageSec = s
	b.refit()
}

func (b *bannerRow) refit() { fit(b.msg, b.head+clockText(b.ageSec)+b.tail, b.msg.Size().Width) }

func (b *bannerRow) CreateRenderer() fyne.WidgetRenderer { return &bannerRenderer{b} }

func (b *bannerRow) MinSize() fyne.Size { return fyne.NewSize(600, alarmRowHeight+4) }

type bannerRenderer struct{ b *bannerRow }

func (x *bannerRenderer) Objects() []fyne.CanvasObject { return x.b.objects }
func (x *bannerRenderer) MinSize() fyne.Size           { return x.b.MinSize() }
func (x *bannerRenderer) Refresh()                     {}
func (x *bannerRenderer) Destroy()                     {}

func (x *bannerRenderer) Layout(size fyne.Size) {
	b := x.b
	h := size.Height
	b.bg.Move(fyne.NewPos(0, 0))
	b.bg.Resize(size)
	rs, as := b.reject.MinSize(), b.accept.MinSize()
	bh := min(h-6, max(rs.Height, as.Height))
	bx := size.Width - 6 - rs.Width
	b.reject.Move(fyne.NewPos(bx, (h-bh)/2))
	b.reject.Resize(fyne.NewSize(rs.Width, bh))
	bx -= 8 + as.Width
	b.accept.Move(fyne.NewPos(bx, (h-bh)/2))
	b.accept.Resize(fyne.NewSize(as.Width, bh))
	b.msg.Move(fyne.NewPos(14, 0))
	b.msg.Resize(fyne.NewSize(max(0, bx-28), h))
	if b.ageSec >= 0 {
		b.refit()
	}
}

// alarmUI is the station's alarm display: bar, banners, AUDIO PAUSED band,
// AUDIO OFF box and the tiles' alarm state, pulled from an AlarmDesk.
type alarmUI struct {
	desk AlarmDesk
	have bool   // a view has been drawn
	seq  uint64 // the Seq of the view drawn

	audioTo  time.Time // station AUDIO PAUSED until; zero when not paused
	audioSec int64
	errUntil time.Time

	rows       []*alarmRow
	rowsBox    *fyne.Container
	controls   *fyne.Container // the bar's buttons and "+ K more"
	banners    []*bannerRow
	bannerList *fyne.Container
	bannerBox  fyne.CanvasObject
	panel      fyne.CanvasObject // the rows and the bar's buttons
	more       *canvas.Text
	ackAll     *widget.Button
	audioPause *widget.Button
	pausedBand fyne.CanvasObject
	pausedText *canvas.Text
	audioOff   fyne.CanvasObject // box on the station bar
	errRow     fyne.CanvasObject
	errText    *canvas.Text
}

// buildAlarmUI makes the alarm display's objects, all hidden until a desk
// has something to show.
func (s *Station) buildAlarmUI() {
	al := &s.al
	for range MaxAlarmRows {
		r := newAlarmRow(
			func(r *alarmRow) { s.command("Acknowledge", func(d AlarmDesk) error { return d.Acknowledge(r.id) }) },
			func(r *alarmRow) {
				s.command("Pause audio", func(d AlarmDesk) error { return d.PauseAlarmAudio(r.id) })
			})
		r.Hide()
		al.rows = append(al.rows, r)
	}
	rowObjs := make([]fyne.CanvasObject, len(al.rows))
	for i, r := range al.rows {
		rowObjs[i] = r
	}
	al.more = text("", ColorWhite, true)
	al.more.TextSize = 22
	al.more.Alignment = fyne.TextAlignCenter
	al.audioPause = widget.NewButtonWithIcon("Audio pause", theme.VolumeMuteIcon(), func() {
		s.command("Audio pause", AlarmDesk.PauseAudio)
	})
	al.ackAll = widget.NewButtonWithIcon("Acknowledge all", theme.ConfirmIcon(), func() {
		s.command("Acknowledge all", func(d AlarmDesk) error { return d.AcknowledgeAll("") })
	})
	al.more.Hide()
	al.controls = container.NewVBox(container.NewHBox(al.audioPause, al.ackAll), al.more)
	al.rowsBox = container.NewVBox(rowObjs...)
	panel := container.NewStack(canvas.NewRectangle(colorBar),
		container.NewBorder(nil, nil, nil, al.controls, al.rowsBox))
	al.panel = container.NewThemeOverride(panel, panelTheme{})
	al.panel.Hide()

	bannerObjs := make([]fyne.CanvasObject, 0, maxBanners)
	for range maxBanners {
		b := newBannerRow(func(b *bannerRow, accept bool) {
			what := "Reject"
			if accept {
				what = "Accept"
			}
			s.command(what, func(d AlarmDesk) error { return d.Respond(b.id, accept) })
		})
		b.Hide()
		al.banners = append(al.banners, b)
		bannerObjs = append(bannerObjs, b)
	}
	al.bannerList = container.NewVBox(bannerObjs...)
	al.bannerBox = container.NewThemeOverride(al.bannerList, panelTheme{})
	al.bannerBox.Hide()

	al.pausedText = text("", ColorBlack, true)
	al.pausedText.TextSize = 30
	band := canvas.NewRectangle(ColorAudioInactive)
	band.SetMinSize(fyne.NewSize(1, 48))
	al.pausedBand = container.NewStack(band,
		container.NewCenter(container.NewHBox(bellImage(ColorAudioInactive, 38), gap(8), al.pausedText)))
	al.pausedBand.Hide()

	off := text("AUDIO OFF", ColorBlack, true)
	off.TextSize = 20
	al.audioOff = container.NewStack(canvas.NewRectangle(ColorAudioInactive),
		container.NewHBox(gap(4), bellImage(ColorAudioInactive, 26), off, gap(6)))
	al.audioOff.Hide()

	al.errText = text("", colorError, true)
	al.errText.TextSize = 18
	al.errText.Alignment = fyne.TextAlignCenter
	al.errRow = container.NewStack(canvas.NewRectangle(colorBar), al.errText)
	al.errRow.Hide()
}

// SetAlarmDesk connects the station to the alarm system (nil: none, the
// station then shows no alarm state). Call it on the UI goroutine.
func (s *Station) SetAlarmDesk(d AlarmDesk) {
	s.al.desk, s.al.have = d, false
	if d == nil {
		s.clearAlarms(s.now())
	}
}

// clearAlarms hides every alarm indication.
func (s *Station) clearAlarms(now time.Time) {
	al := &s.al
	for _, r := range al.rows {
		r.id = ""
		r.Hide()
	}
	for _, b := range al.banners {
		b.id = ""
		b.Hide()
	}
	for _, t := range s.tiles {
		t.SetAlarm(alarms.BedView{}, now)
	}
	al.audioTo, al.errUntil = time.Time{}, time.Time{}
	for _, o := range []fyne.CanvasObject{al.panel, al.bannerBox, al.pausedBand, al.audioOff, al.errRow} {
		o.Hide()
	}
	s.relayout()
}

// tickAlarms is the alarm display's part of a frame: heartbeat, a rebuild
// when the view changed, and the flash phase (a comparison per row and tile
// when it did not turn).
func (s *Station) tickAlarms(now time.Time) {
	d := s.al.desk
	d.Heartbeat()
	if v := d.View(); v != nil && (!s.al.have || v.Seq != s.al.seq) {
		ids := s.applyView(v, now)
		d.Shown(ids)
	}
	for _, r := range s.al.rows {
		if r.Visible() {
			r.flash(now)
		}
	}
	for _, t := range s.tiles {
		t.Flash(now)
	}
}

// applyView rebuilds the alarm display from v and returns the ids of the
// alarms it now shows (listed, on a tile, or counted under "+ K more").
func (s *Station) applyView(v *alarms.View, now time.Time) []string {
	al := &s.al
	al.have, al.seq = true, v.Seq
	base := v.At // the countdowns were measured then
	if base.IsZero() {
		base = now
	}
	onGrid := make(map[string]bool, len(s.tiles))
	for _, t := range s.tiles {
		var bv alarms.BedView
		if b := t.Bed(); b != nil {
			bv = v.Beds[b.Name]
			onGrid[b.Name] = true
		}
		t.SetAlarm(bv, base)
	}

	n := min(len(v.Alarms), len(al.rows))
	unacked := false
	for i := range v.Alarms {
		unacked = unacked || !v.Alarms[i].Acked
	}
	moved := false // something shown or hidden: lay out again
	for i, r := range al.rows {
		if i < n {
			r.set(&v.Alarms[i], now)
		} else {
			r.id = ""
		}
		moved = showIf(r, i < n) || moved
	}
	more := ""
	if k := len(v.Alarms) - n; k > 0 {
		more = fmt.Sprintf("+ %d more", k)
	}
	if al.more.Text != more {
		al.more.Text = more
		al.more.Refresh()
	}
	moved = showIf(al.more, more != "") || moved // hidden, it takes no height
	setEnabled(al.ackAll, unacked)
	moved = showIf(al.panel, len(v.Alarms) > 0) || moved

	for i, b := range al.banners {
		if i < len(v.Banner) {
			hidden := 0
			if i == len(al.banners)-1 {
				hidden = len(v.Banner) - len(al.banners)
			}
			b.set(&v.Banner[i], hidden, now)
		} else {
			b.id = ""
		}
		moved = showIf(b, i < len(v.Banner)) || moved
	}
	moved = showIf(al.bannerBox, len(v.Banner) > 0) || moved

	al.audioTo, al.audioSec = time.Time{}, -1
	if v.AudioPaused > 0 {
		al.audioTo = base.Add(v.AudioPaused)
	}
	moved = showIf(al.pausedBand, !al.audioTo.IsZero()) || moved
	moved = showIf(al.audioOff, v.AudioOff) || moved
	if moved {
		s.relayout()
	}
	s.tickAlarmClocks(now)

	// Every alarm of the view is on screen once the bar is rebuilt: in a
	// row, on its bed's tile, or in the "+ K more" count that says the bar
	// holds more than it lists.
	ids := make([]string, 0, len(v.Alarms))
	for i := range v.Alarms {
		ids = append(ids, v.Alarms[i].ID)
	}
	return ids
}

// showIf shows or hides o and reports whether that changed anything.
func showIf(o fyne.CanvasObject, on bool) bool {
	switch {
	case on && !o.Visible():
		o.Show()
	case !on && o.Visible():
		o.Hide()
	default:
		return false
	}
	return true
}

// tickAlarmClocks updates ages and countdowns (a few times a second) and
// takes down an error message whose time is up.
func (s *Station) tickAlarmClocks(now time.Time) {
	al := &s.al
	for _, r := range al.rows {
		if r.Visible() {
			r.tickClock(now)
		}
	}
	for _, b := range al.banners {
		if b.Visible() {
			b.tickClock(now)
		}
	}
	if !al.audioTo.IsZero() {
		if sec := ceilSeconds(al.audioTo.Sub(now)); sec != al.audioSec {
			al.audioSec = sec
			al.pausedText.Text = "AUDIO PAUSED  " + clockText(sec)
			al.pausedText.Refresh()
		}
	}
	if !al.errUntil.IsZero() && !now.Before(al.errUntil) {
		al.errUntil = time.Time{}
		al.errRow.Hide()
		s.relayout()
	}
}

// command runs an operator's command on the desk; a failure is shown in
// one line under the bar for a few seconds.
func (s *Station) command(what string, do func(AlarmDesk) error) {
	d := s.al.desk
	if d == nil {
		return
	}
	s.Touched()
	if err := do(d); err != nil {
		if errors.Is(err, alarms.ErrLoggedOut) {
			s.AskLogin(func() { s.command(what, do) }) // then do it
			return
		}
		s.al.errText.Text = what + " did not go through: " + err.Error()
		s.al.errText.Refresh()
		s.al.errUntil = s.now().Add(errorShownFor)
		if showIf(s.al.errRow, true) {
			s.relayout()
		}
	}
}

// TypedKey handles the station's alarm keys (the window routes its typed
// keys here): P pauses the audio, A acknowledges every alarm.
func (s *Station) TypedKey(ev *fyne.KeyEvent) { s.HandleKey(ev) }
