package ui

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// AlarmDesk is what the station needs of the alarm system: the latest view to
// draw and the operator's commands. *alarms.Service implements it. View,
// Heartbeat and Shown are called on the Fyne goroutine every frame and must
// not block. The commands are called on the station's command worker, in
// order, never on the Fyne goroutine: they may wait (the alarm service waits
// for the engine and for the journal's commit), and the screen goes on.
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

// Alarm bar geometry: big enough to read the rows at 2–4 m. The bar has a
// fixed height (its rows and a footer) whatever it lists.
const (
	// MaxAlarmRows is how many alarms the bar lists on a tall screen (two
	// under 1200 pixels); the rest are counted as "+ K more".
	MaxAlarmRows   = 3
	alarmRowHeight = 38
	alarmTextSize  = 22
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

// barButton is a button of the alarm bar: it tells the bar when the pointer
// is over it, so the rows hold still under the pointer.
type barButton struct {
	widget.Button
	hover func(in bool)
}

func newBarButton(label string, icon fyne.Resource, tapped func(), hover func(bool)) *barButton {
	b := &barButton{hover: hover}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// MouseIn implements desktop.Hoverable.
func (b *barButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	if b.hover != nil {
		b.hover(true)
	}
}

// MouseMoved implements desktop.Hoverable.
func (b *barButton) MouseMoved(e *desktop.MouseEvent) {
	b.Button.MouseMoved(e)
	if b.hover != nil {
		b.hover(true)
	}
}

// MouseOut implements desktop.Hoverable.
func (b *barButton) MouseOut() {
	b.Button.MouseOut()
	if b.hover != nil {
		b.hover(false)
	}
}

// setLabel changes a button's text when it differs.
func setLabel(b *barButton, s string) {
	if b.Text != s {
		b.SetText(s)
	}
}

// alarmRow is one line of the alarm bar: priority block, message, age,
// state marks and the row's commands: Acknowledge and Pause audio, or, for
// an alarm escalated to this station, Acknowledge, Accept and Reject.
type alarmRow struct {
	widget.BaseWidget

	shown     alarms.Alarm // what the row shows: a command is checked against it
	escalated bool         // in the view's banner list: Accept / Reject
	gone      bool         // held on screen after it left the view
	changedAt time.Time    // when the row began to show this alarm (or its priority)
	line      string       // the message line before fitting
	flags     string       // ENDED, ACK'D, ESCALATED ...
	marksFull string       // flags and the audio-pause countdown, before fitting
	ageSec    int64
	pauseSec  int64
	painted   int8
	short     bool // the buttons' short labels (a narrow window)
	hover     func(in bool)

	bg, block, escMark         *canvas.Rectangle
	msg, age, marks            *canvas.Text
	ack, pause, accept, reject *barButton
	objects                    []fyne.CanvasObject
}

func newAlarmRow(hover func(bool), onAck, onPause func(r *alarmRow), onRespond func(r *alarmRow, accept bool)) *alarmRow {
	r := &alarmRow{
		bg:      canvas.NewRectangle(colorRow),
		block:   canvas.NewRectangle(colorRow),
		escMark: canvas.NewRectangle(ColorEscalation),
		msg:     text("", ColorWhite, true),
		age:     text("", ColorWhite, true),
		marks:   text("", ColorWhite, true),
		painted: paintUnknown,
		hover:   hover,
	}
	r.msg.TextSize = alarmTextSize
	r.age.TextSize = alarmTextSize - 4
	r.age.Alignment = fyne.TextAlignTrailing
	r.marks.TextSize = 16
	r.marks.Alignment = fyne.TextAlignTrailing
	r.ack = newBarButton("Acknowledge", nil, func() { onAck(r) }, hover)
	r.pause = newBarButton("Pause audio", nil, func() { onPause(r) }, hover)
	r.accept = newBarButton("Accept", nil, func() { onRespond(r, true) }, hover)
	r.accept.Importance = widget.HighImportance
	r.reject = newBarButton("Reject", nil, func() { onRespond(r, false) }, hover)
	r.escMark.Hide()
	r.accept.Hide()
	r.reject.Hide()
	r.objects = []fyne.CanvasObject{r.bg, r.block, r.escMark, r.msg, r.age, r.marks, r.ack, r.pause, r.accept, r.reject}
	r.ExtendBaseWidget(r)
	return r
}

// MouseIn, MouseMoved and MouseOut tell the bar the pointer is over it.
func (r *alarmRow) MouseIn(*desktop.MouseEvent)    { r.hover(true) }
func (r *alarmRow) MouseMoved(*desktop.MouseEvent) { r.hover(true) }
func (r *alarmRow) MouseOut()                      { r.hover(false) }

// ID is the alarm the row shows.
func (r *alarmRow) ID() string { return r.shown.ID }

// set shows alarm a (escalated: in the banner list); the row flashes from
// the next frame.
func (r *alarmRow) set(a *alarms.Alarm, escalated bool, now time.Time) {
	if r.gone || r.shown.ID != a.ID || r.shown.Priority != a.Priority {
		r.changedAt = now
	}
	r.shown, r.escalated, r.gone = *a, escalated, false
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
	case a.Escalation >= 2 && !a.Acked && !a.Ended:
		f = append(f, "ESCALATED TO ALL")
	case a.Escalation > 0 && !a.Acked && !a.Ended:
		f = append(f, "ESCALATED")
	}
	r.flags = strings.Join(f, "  ")
	r.line = AlarmLine(a)
	setFill(r.block, PriorityColor(a.Priority))
	showIf(r.escMark, escalated)
	showIf(r.pause, !escalated)
	showIf(r.accept, escalated)
	showIf(r.reject, escalated)
	setEnabled(&r.ack.Button, !a.Acked)
	setEnabled(&r.pause.Button, !a.Acked)
	setEnabled(&r.accept.Button, true)
	setEnabled(&r.reject.Button, true)
	r.ageSec, r.pauseSec, r.painted = -1, -1, paintUnknown
	r.tickClock(now)
	r.flash(now)
	if sz := r.Size(); sz.Width > 0 {
		(&alarmRowRenderer{r}).Layout(sz)
	}
}

// markGone keeps the row in place, greyed, after its alarm left the view
// (the pointer is over the bar): nothing under the pointer moves.
func (r *alarmRow) markGone(now time.Time) {
	if r.gone {
		return
	}
	r.gone, r.changedAt = true, now
	r.flags = "GONE"
	r.marksFull = r.flags
	// Its buttons stay live: a press on it says in words that it is gone.
	r.painted = paintUnknown
	r.flash(now)
	fit(r.marks, r.marksFull, r.marks.Size().Width)
}

// tickClock updates the age and this alarm's audio-pause countdown; it
// formats text only when a shown second changes.
func (r *alarmRow) tickClock(now time.Time) {
	if r.gone {
		return
	}
	if s := floorSeconds(now.Sub(r.shown.Onset)); s != r.ageSec {
		r.ageSec = s
		r.age.Text = clockText(s)
		r.age.Refresh()
	}
	p := ceilSeconds(r.shown.AudioPaused.Sub(now))
	if r.shown.Acked {
		p = 0
	}
	if p != r.pauseSec {
		r.pauseSec = p
		r.marksFull = r.flags
		if p > 0 {
			r.marksFull = strings.TrimSpace(r.flags + "  AUDIO PAUSED " + clockText(p))
		}
		r.fitTexts()
	}
}

// flash draws the row's phase at now; a frame without a phase change costs
// a comparison.
func (r *alarmRow) flash(now time.Time) {
	st := paintAcked
	switch {
	case r.gone:
		st = paintNone
	case !r.shown.Acked:
		st = paintDark
		if flashLit(now, r.shown.Priority) {
			st = paintLit
		}
	}
	if st == r.painted {
		return
	}
	r.painted = st
	bg, ink, sub := colorRow, ColorWhite, ColorWhite
	switch st {
	case paintNone:
		ink, sub = ColorDim, ColorDim
	case paintLit:
		bg, ink = PriorityColor(r.shown.Priority), inkOn(r.shown.Priority)
		sub = ink
	case paintAcked:
		bg, ink, sub = dim(PriorityColor(r.shown.Priority)), colorAckedText, colorAckedText
	}
	setFill(r.bg, bg)
	setInk(r.msg, ink)
	setInk(r.age, sub)
	setInk(r.marks, sub)
}

func (r *alarmRow) CreateRenderer() fyne.WidgetRenderer { return &alarmRowRenderer{r} }

func (r *alarmRow) MinSize() fyne.Size { return fyne.NewSize(400, alarmRowHeight) }

type alarmRowRenderer struct{ r *alarmRow }

func (x *alarmRowRenderer) Objects() []fyne.CanvasObject { return x.r.objects }
func (x *alarmRowRenderer) MinSize() fyne.Size           { return x.r.MinSize() }
func (x *alarmRowRenderer) Refresh()                     {}
func (x *alarmRowRenderer) Destroy()                     {}

// shortRowWidth is the row width under which the buttons take their short
// labels: the alarm text keeps its room, the labels shrink first.
const shortRowWidth = 1150

func (x *alarmRowRenderer) Layout(size fyne.Size) {
	r := x.r
	h := size.Height
	place := func(o fyne.CanvasObject, px, py, w, hh float32) {
		o.Move(fyne.NewPos(px, py))
		o.Resize(fyne.NewSize(w, hh))
	}
	short := size.Width < shortRowWidth
	if short != r.short {
		r.short = short
		labels := map[bool][4]string{false: {"Acknowledge", "Pause audio", "Accept", "Reject"}, true: {"Ack", "Pause", "Accept", "Reject"}}[short]
		for i, b := range []*barButton{r.ack, r.pause, r.accept, r.reject} {
			setLabel(b, labels[i])
		}
	}
	place(r.bg, 0, 0, size.Width, h)
	place(r.block, 0, 0, 14, h)
	place(r.escMark, 14, 0, 8, h)
	px := size.Width - 4
	for _, b := range []*barButton{r.reject, r.accept, r.pause, r.ack} {
		if !b.Visible() {
			continue
		}
		bs := b.MinSize()
		bh := min(h-4, bs.Height)
		px -= bs.Width
		place(b, px, (h-bh)/2, bs.Width, bh)
		px -= 6
	}
	ageW := fyne.MeasureText("0:00:00", r.age.TextSize, r.age.TextStyle).Width
	px -= 8 + ageW
	place(r.age, px, 0, ageW, h)
	// The message keeps its whole width when it can; the state words take
	// what is left and are cut first.
	x0 := float32(28)
	avail := max(0, px-10-x0)
	need := fyne.MeasureText(r.line, r.msg.TextSize, r.msg.TextStyle).Width + 4
	msgW := min(need, avail)
	marksW := max(0, avail-msgW-12)
	place(r.msg, x0, 0, msgW, h)
	place(r.marks, x0+msgW+12, 0, marksW, h)
	r.fitTexts()
}

func (r *alarmRow) fitTexts() {
	fit(r.msg, r.line, r.msg.Size().Width)
	m := r.marksFull
	if w := r.marks.Size().Width; w > 0 && w < 60 {
		m = "" // no room for a word: the colour says acknowledged, the row's buttons the rest
	}
	fit(r.marks, m, r.marks.Size().Width)
}

// rowsLayout stacks the bar's rows at their fixed height; the bar keeps
// the height of its rows whatever number of alarms it lists, so nothing
// under the bar moves when alarms come and go.
type rowsLayout struct{ al *alarmUI }

func (l rowsLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, alarmRowHeight))
		y += alarmRowHeight + 2
	}
}

func (l rowsLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	n := float32(l.al.nRows)
	return fyne.NewSize(400, n*alarmRowHeight+(n-1)*2)
}

// footerLayout is the bar's last line: the message (a command's answer, a
// refusal, what the bar holds) at the left, the bar's buttons at the right.
type footerLayout struct{}

func (footerLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	// objs: background, message, then the buttons from left to right.
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(size)
	x := size.Width - 4
	for i := len(objs) - 1; i >= 2; i-- {
		o := objs[i]
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		bh := min(size.Height-4, m.Height)
		x -= m.Width
		o.Move(fyne.NewPos(x, (size.Height-bh)/2))
		o.Resize(fyne.NewSize(m.Width, bh))
		x -= 6
	}
	objs[1].Move(fyne.NewPos(10, 0))
	objs[1].Resize(fyne.NewSize(max(0, x-14), size.Height))
}

func (footerLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(400, footerHeight) }

const (
	footerHeight = 32
	// holdGrace is how long the bar holds its order after the pointer left
	// it; maxHold the longest it holds a new order back (a new alarm shows
	// on its tile and in "+ K more" meanwhile).
	holdGrace = 1500 * time.Millisecond
	maxHold   = 5 * time.Second
	// reactionTime: a press this soon after a row began to show another
	// alarm was aimed at what was there before; it is refused.
	reactionTime    = 700 * time.Millisecond
	messageShownFor = 8 * time.Second
)

// alarmUI is the station's alarm display: the bar (rows, its buttons and a
// message line), the audio state on the station bar and the tiles' alarm
// state, pulled from an AlarmDesk.
type alarmUI struct {
	desk AlarmDesk
	have bool         // a view has been drawn
	seq  uint64       // the Seq of the view drawn
	view *alarms.View // the view drawn (held rows may show an older order)

	over      bool      // the pointer is over the bar
	leftAt    time.Time // when it left
	heldSince time.Time // a new order waits since then; zero when none waits
	now       func() time.Time

	audioTo  time.Time // station AUDIO PAUSED until; zero when not paused
	audioSec int64
	audioOn  bool // AUDIO OFF shown
	msgUntil time.Time
	msgFull  string  // the message shown, before fitting
	msgW     float32 // the width it was fitted to
	msgIdle  string  // the message line when no command spoke

	nRows     int // rows the bar has room for
	rows      []*alarmRow
	rowsBox   *fyne.Container
	footer    *fyne.Container
	panel     fyne.CanvasObject // the bar: rows and footer
	msg       *canvas.Text
	more      *barButton
	ackAll    *barButton
	audioAll  *barButton
	audioBox  fyne.CanvasObject // AUDIO OFF / AUDIO PAUSED m:ss on the station bar
	audioTxt  *canvas.Text
	soundBox  fyne.CanvasObject // the station makes no sound (SetSoundNote)
	soundTxt  *canvas.Text
	soundFull string // its text in full
}

// hover is told by the bar's rows and buttons where the pointer is.
func (al *alarmUI) hover(in bool) {
	if al.over && !in {
		al.leftAt = al.now()
	}
	al.over = in
}

// holding reports whether the bar holds its rows in place at now.
func (al *alarmUI) holding(now time.Time) bool {
	return al.over || (!al.leftAt.IsZero() && now.Sub(al.leftAt) < holdGrace)
}

// buildAlarmUI makes the alarm display's objects.
func (s *Station) buildAlarmUI() {
	al := &s.al
	al.now = s.now
	al.nRows = MaxAlarmRows
	for range MaxAlarmRows {
		r := newAlarmRow(al.hover,
			func(r *alarmRow) { s.rowCommand(r, "Acknowledge") },
			func(r *alarmRow) { s.rowCommand(r, "Pause audio") },
			func(r *alarmRow, accept bool) {
				s.rowCommand(r, map[bool]string{true: "Accept", false: "Reject"}[accept])
			})
		r.Hide()
		al.rows = append(al.rows, r)
	}
	rowObjs := make([]fyne.CanvasObject, len(al.rows))
	for i, r := range al.rows {
		rowObjs[i] = r
	}
	al.rowsBox = container.New(rowsLayout{al}, rowObjs...)
	al.msg = text("", ColorDim, true)
	al.msg.TextSize = 17
	al.more = newBarButton("", nil, func() { s.Touched(); s.ShowAllAlarms() }, al.hover)
	al.more.Hide()
	al.audioAll = newBarButton("Pause all audio (P)", theme.VolumeMuteIcon(), func() { s.pauseAll() }, al.hover)
	al.ackAll = newBarButton("Acknowledge all (A)", theme.ConfirmIcon(), func() { s.acknowledgeShown("") }, al.hover)
	al.footer = container.New(footerLayout{}, canvas.NewRectangle(colorBar), al.msg, al.more, al.audioAll, al.ackAll)
	panel := container.NewStack(canvas.NewRectangle(colorBar), container.NewBorder(nil, al.footer, nil, nil, al.rowsBox))
	al.panel = container.NewThemeOverride(panel, panelTheme{})

	al.audioTxt = text("", ColorBlack, true)
	al.audioTxt.TextSize = 20
	al.audioBox = container.NewStack(canvas.NewRectangle(ColorAudioInactive),
		container.NewHBox(gap(4), bellImage(ColorAudioInactive, 26), al.audioTxt, gap(6)))
	al.audioBox.Hide()
	al.soundTxt = text("", ColorBlack, true)
	al.soundTxt.TextSize = 18
	al.soundBox = container.NewStack(canvas.NewRectangle(ColorAudioInactive),
		container.NewHBox(gap(4), bellImage(ColorAudioInactive, 24), al.soundTxt, gap(6)))
	al.soundBox.Hide()
	s.sayIdle(s.now())
}

// SetSoundNote puts a standing box on the station bar saying that this
// station makes no alarm sound ("" takes it down): a nurse must see that
// the station is silent, whatever the reason (--audio off, no sound card).
func (s *Station) SetSoundNote(note string) {
	al := &s.al
	al.soundFull = note
	showIf(al.soundBox, note != "")
	s.relayout() // the bar chooses the note's long or short form
}

// SoundNote is the box's text in full ("" when not shown).
func (s *Station) SoundNote() string { return s.al.soundFull }

// setRowsFor gives the bar as many rows as the window's height allows:
// three on a screen of 1200 pixels and more, else two (a 1080p screen keeps
// its 32-bed grid readable). Called on resize.
func (al *alarmUI) setRowsFor(h float32) bool {
	n := 2
	if h >= 1200 {
		n = MaxAlarmRows
	}
	if n == al.nRows {
		return false
	}
	al.nRows = n
	al.rowsBox.Objects = make([]fyne.CanvasObject, n)
	for i := range n {
		al.rowsBox.Objects[i] = al.rows[i]
	}
	for _, r := range al.rows[n:] {
		r.Hide()
	}
	return true
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
		r.shown = alarms.Alarm{}
		r.Hide()
	}
	for _, t := range s.tiles {
		t.SetAlarm(alarms.BedView{}, now)
	}
	al.view = nil
	al.audioTo, al.msgUntil = time.Time{}, time.Time{}
	al.more.Hide()
	al.audioBox.Hide()
	s.sayIdle(now)
	s.relayout()
}

// tickAlarms is the alarm display's part of a frame: heartbeat, a rebuild
// when the view changed, and the flash phase (a comparison per row and tile
// when it did not turn).
func (s *Station) tickAlarms(now time.Time) {
	al := &s.al
	d := al.desk
	d.Heartbeat()
	waiting := !al.heldSince.IsZero() && (!al.holding(now) || now.Sub(al.heldSince) >= maxHold)
	if v := d.View(); v != nil && (!al.have || v.Seq != al.seq || waiting) {
		hold := al.have && al.holding(now)
		if hold && al.heldSince.IsZero() {
			al.heldSince = now
		}
		if hold && now.Sub(al.heldSince) >= maxHold {
			hold = false
		}
		if !hold {
			al.heldSince = time.Time{}
		}
		if v.Seq != al.seq || !hold {
			d.Shown(s.applyView(v, now, hold))
		}
	}
	for _, r := range al.rows {
		if r.Visible() {
			r.flash(now)
		}
	}
	if s.allAlarms != nil {
		for _, r := range s.allAlarms.rows {
			r.flash(now)
		}
	}
	for _, t := range s.tiles {
		t.Flash(now)
	}
}

// alarmOrder is the bar's order (IEC 60601-1-8): priority, then
// unacknowledged before acknowledged, active before ended, then the newest
// first. The alarm system's view comes in this order; the bar sorts again
// so that it holds whatever the source.
func alarmOrder(x, y *alarms.Alarm) int {
	if c := cmp.Compare(y.Priority, x.Priority); c != 0 {
		return c
	}
	if x.Acked != y.Acked {
		return map[bool]int{true: 1, false: -1}[x.Acked]
	}
	if x.Ended != y.Ended {
		return map[bool]int{true: 1, false: -1}[x.Ended]
	}
	if c := y.Onset.Compare(x.Onset); c != 0 {
		return c
	}
	return cmp.Compare(x.ID, y.ID)
}

// applyView redraws the alarm display from v and returns the ids of the
// alarms it now shows (listed, on a tile, or counted under "+ K more").
// hold keeps the rows' alarms where they are (the pointer is over the bar):
// their states update in place, a gone one greys, new ones are counted.
func (s *Station) applyView(v *alarms.View, now time.Time, hold bool) []string {
	al := &s.al
	al.have, al.seq, al.view = true, v.Seq, v
	base := v.At // the countdowns were measured then
	if base.IsZero() {
		base = now
	}
	list := make([]*alarms.Alarm, len(v.Alarms))
	byID := make(map[string]*alarms.Alarm, len(v.Alarms))
	for i := range v.Alarms {
		list[i] = &v.Alarms[i]
		byID[v.Alarms[i].ID] = list[i]
	}
	slices.SortStableFunc(list, alarmOrder)
	// Each bed's first alarm, and the priority of each parameter's active
	// physiological alarm (its value is drawn in that colour).
	tops := map[string]*alarms.Alarm{}
	hot := map[string]map[string]alarms.Priority{}
	for _, a := range list {
		if a.Bed == "" {
			continue
		}
		if tops[a.Bed] == nil {
			tops[a.Bed] = a
		}
		if a.Ended || a.Source == alarms.Technical || a.Source == alarms.DeviceTechnical {
			continue
		}
		if p := paramOfCode(a.Code); p != "" {
			if hot[a.Bed] == nil {
				hot[a.Bed] = map[string]alarms.Priority{}
			}
			hot[a.Bed][p] = max(hot[a.Bed][p], a.Priority)
		}
	}
	for _, t := range s.tiles {
		var bv alarms.BedView
		var top alarms.Alarm
		var h map[string]alarms.Priority
		if b := t.Bed(); b != nil {
			bv, h = v.Beds[b.Name], hot[b.Name]
			if a := tops[b.Name]; a != nil {
				top = *a
			}
		}
		t.SetAlarmDetail(top, h)
		t.SetAlarm(bv, base)
	}
	escalated := make(map[string]bool, len(v.Banner))
	for i := range v.Banner {
		escalated[v.Banner[i].ID] = true
	}
	rows := al.rows[:al.nRows]
	listed := make(map[string]bool, len(rows))
	if hold {
		for _, r := range rows {
			if !r.Visible() {
				continue
			}
			if a, ok := byID[r.shown.ID]; ok {
				r.set(a, escalated[a.ID], now)
				listed[a.ID] = true
			} else {
				r.markGone(now)
			}
		}
	} else {
		n := min(len(list), len(rows))
		for i, r := range rows {
			if i < n {
				r.set(list[i], escalated[list[i].ID], now)
				listed[list[i].ID] = true
			} else {
				r.shown, r.gone = alarms.Alarm{}, false
			}
			showIf(r, i < n)
		}
	}
	// "+ K more" counts what the rows do not list and says the highest
	// priority among it; it opens the whole list.
	hidden, top, topUnacked := 0, alarms.None, false
	for _, a := range list {
		if listed[a.ID] {
			continue
		}
		hidden++
		if a.Priority > top || (a.Priority == top && !a.Acked) {
			top, topUnacked = a.Priority, topUnacked || !a.Acked
		}
	}
	if hidden > 0 {
		label := fmt.Sprintf("+ %d more", hidden)
		if top > alarms.None {
			label += "  incl. " + top.Prefix() + " " + strings.ToUpper(top.String())
		}
		setLabel(al.more, label)
		imp := widget.MediumImportance
		switch {
		case top == alarms.High && topUnacked:
			imp = widget.DangerImportance
		case top == alarms.Medium && topUnacked:
			imp = widget.WarningImportance
		}
		if al.more.Importance != imp {
			al.more.Importance = imp
			al.more.Refresh()
		}
	}
	moved := showIf(al.more, hidden > 0)
	unacked := slices.ContainsFunc(v.Alarms, func(a alarms.Alarm) bool { return !a.Acked })
	setEnabled(&al.ackAll.Button, unacked)

	al.audioTo, al.audioSec = time.Time{}, -1
	if v.AudioPaused > 0 {
		al.audioTo = base.Add(v.AudioPaused)
	}
	al.audioOn = v.AudioOff
	if !v.AudioOff && al.audioTo.IsZero() {
		moved = showIf(al.audioBox, false) || moved
	}
	switch {
	case len(v.Alarms) == 0:
		al.msgIdle = "No alarms"
	case len(v.Banner) > 0:
		al.msgIdle = "Escalated to you: Accept = you respond (it is acknowledged) · Reject = it stays escalated"
	case hold && !al.heldSince.IsZero():
		al.msgIdle = "The list holds still under the pointer; new alarms are counted at the right"
	default:
		al.msgIdle = ""
	}
	if moved {
		s.relayout()
	} else {
		al.footer.Layout.Layout(al.footer.Objects, al.footer.Size()) // "+ K more" may have a new width
	}
	s.tickAlarmClocks(now)

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
// takes down a message whose time is up.
func (s *Station) tickAlarmClocks(now time.Time) {
	al := &s.al
	for _, r := range al.rows {
		if r.Visible() {
			r.tickClock(now)
		}
	}
	audio := ""
	switch {
	case al.audioOn:
		audio = "AUDIO OFF"
	case !al.audioTo.IsZero():
		sec := ceilSeconds(al.audioTo.Sub(now))
		if sec > 0 {
			audio = "AUDIO PAUSED " + clockText(sec)
		}
	}
	if al.audioTxt.Text != audio {
		al.audioTxt.Text = audio
		al.audioTxt.Refresh()
	}
	if showIf(al.audioBox, audio != "") {
		s.relayout()
	}
	if !al.msgUntil.IsZero() && !now.Before(al.msgUntil) {
		al.msgUntil = time.Time{}
	}
	if al.msgUntil.IsZero() {
		s.sayIdle(now)
	}
}

// sayIdle puts the idle message on the bar's message line.
func (s *Station) sayIdle(time.Time) {
	al := &s.al
	if al.msgFull != al.msgIdle || al.msg.Color != ColorDim || al.msgW != al.msg.Size().Width {
		al.msgFull, al.msg.Color, al.msgW = al.msgIdle, ColorDim, al.msg.Size().Width
		fit(al.msg, al.msgIdle, al.msgW)
		al.msg.Refresh()
	}
}

// say puts a command's answer on the bar's message line for a few seconds:
// ok is an action done, else a refusal.
func (s *Station) say(ok bool, msg string) {
	al := &s.al
	c := ColorWhite
	if !ok {
		c = colorError
	}
	al.msg.Color = c
	fit(al.msg, msg, al.msg.Size().Width)
	al.msg.Refresh()
	al.msgFull = msg
	al.msgUntil = s.now().Add(messageShownFor)
}

// Message is the alarm bar's message line, in full: the last command's
// answer or refusal, or what the bar says when idle.
func (s *Station) Message() string { return s.al.msgFull }

// alarmName is how a message names an alarm: "Bed 05 *** Desat SpO2 84 < 85".
func alarmName(a *alarms.Alarm) string {
	if a.Bed == "" {
		return "station " + a.Text()
	}
	return "Bed " + a.Bed + " " + a.Text()
}

// currentAlarm is alarm id in the desk's latest view.
func (s *Station) currentAlarm(id string) (alarms.Alarm, bool) {
	v := s.al.desk.View()
	if v == nil {
		return alarms.Alarm{}, false
	}
	for i := range v.Alarms {
		if v.Alarms[i].ID == id {
			return v.Alarms[i], true
		}
	}
	return alarms.Alarm{}, false
}

// stillAsSeen checks that the alarm a, as the user saw it, is still there
// and unchanged where it matters for verb; the error is the plain sentence
// the bar shows.
func (s *Station) stillAsSeen(a alarms.Alarm, verb string) error {
	cur, ok := s.currentAlarm(a.ID)
	switch {
	case !ok:
		return fmt.Errorf("%s not done: %s has ended and left the list", verb, alarmName(&a))
	case cur.Priority != a.Priority:
		return fmt.Errorf("%s not done: %s is now %s; look again and press again", verb, alarmName(&a), cur.Text())
	case cur.Acked && verb != "Reject":
		by := ""
		if cur.AckedBy != "" {
			by = " by " + cur.AckedBy
		}
		return fmt.Errorf("%s not needed: %s was already acknowledged%s", verb, alarmName(&a), by)
	}
	return nil
}

// rowCommand runs a row's button on the alarm the row showed when it was
// pressed, by its id, never by the row's place: a row that began to show
// another alarm a moment ago, or an alarm that changed since, is refused
// with a sentence saying so.
func (s *Station) rowCommand(r *alarmRow, verb string) {
	s.Touched()
	now := s.now()
	a := r.shown
	if a.ID == "" {
		return
	}
	if r.gone {
		s.say(false, fmt.Sprintf("%s not done: %s has ended and left the list", verb, alarmName(&a)))
		return
	}
	if now.Sub(r.changedAt) < reactionTime {
		s.say(false, fmt.Sprintf("%s not done: this row had just changed to %s. Look again and press again.", verb, alarmName(&a)))
		return
	}
	var do func(AlarmDesk) error
	var done string
	switch verb {
	case "Acknowledge":
		do, done = func(d AlarmDesk) error { return d.Acknowledge(a.ID) }, "Acknowledged "+alarmName(&a)
	case "Pause audio":
		do, done = func(d AlarmDesk) error { return d.PauseAlarmAudio(a.ID) }, "Audio paused for "+alarmName(&a)
	case "Accept":
		do, done = func(d AlarmDesk) error { return d.Respond(a.ID, true) },
			"Accepted "+alarmName(&a)+": you respond, and it is acknowledged"
	case "Reject":
		do, done = func(d AlarmDesk) error { return d.Respond(a.ID, false) },
			"Rejected "+alarmName(&a)+": it stays escalated to the other stations"
	default:
		return
	}
	s.command(verb, func() (deskJob, error) {
		if err := s.stillAsSeen(a, verb); err != nil {
			return nil, refusal{err}
		}
		return func(d AlarmDesk) (string, error) { return done, do(d) }, nil
	})
}

// refusal is a command the station refused itself (the alarm changed): its
// text is the whole message.
type refusal struct{ error }

// acknowledgeShown acknowledges the unacknowledged alarms shown when it was
// asked (of bed, or every one): the ids are taken now, so a login asked
// for first, or an alarm raised meanwhile, widens nothing.
func (s *Station) acknowledgeShown(bed string) {
	s.Touched()
	var ids []alarms.Alarm
	if v := s.al.view; v != nil {
		for _, a := range v.Alarms {
			if !a.Acked && (bed == "" || a.Bed == bed) {
				ids = append(ids, a)
			}
		}
	}
	what := "Acknowledge all"
	if bed != "" {
		what = "Acknowledge bed " + bed
	}
	if len(ids) == 0 {
		s.say(false, what+": nothing to acknowledge")
		return
	}
	s.command(what, func() (deskJob, error) {
		// What is still there and unacknowledged now, on this goroutine
		// (after a login, too); the desk then acts on those ids.
		var todo []alarms.Alarm
		for _, a := range ids {
			if cur, ok := s.currentAlarm(a.ID); ok && !cur.Acked {
				todo = append(todo, a)
			}
		}
		if len(todo) == 0 {
			return nil, refusal{fmt.Errorf("%s: nothing left to acknowledge", what)}
		}
		return func(d AlarmDesk) (string, error) {
			var did []string
			for _, a := range todo {
				if err := d.Acknowledge(a.ID); err != nil {
					if len(did) == 0 {
						return "", err
					}
					break
				}
				did = append(did, alarmName(&a))
			}
			if len(did) == 1 {
				return "Acknowledged " + did[0], nil
			}
			return fmt.Sprintf("Acknowledged %d alarms: %s", len(did), strings.Join(did, "; ")), nil
		}, nil
	})
}

// pauseAll pauses the audio of every alarm for the policy's time.
func (s *Station) pauseAll() {
	s.Touched()
	s.command("Pause all audio", func() (deskJob, error) {
		return func(d AlarmDesk) (string, error) { return "All alarm audio paused", d.PauseAudio() }, nil
	})
}

// deskJob is a command's work on the desk; it returns what to say when it
// went through ("" for nothing).
type deskJob func(AlarmDesk) (string, error)

// command runs an operator's command. prep runs now, on the UI goroutine:
// it decides, from what is on the screen, what the command covers (or
// refuses it). Its job then goes to the command worker, because the desk
// waits for the alarm engine and for the journal's commit (seconds on a slow
// disk) and the screen must not: the bar says at once that the command is
// on its way, and the answer comes back through fyne.Do. A locked station
// asks for a login first and then runs prep again.
func (s *Station) command(what string, prep func() (deskJob, error)) {
	d := s.al.desk
	if d == nil {
		return
	}
	s.Touched()
	job, err := prep()
	if err != nil {
		s.commandDone(what, prep, "", err)
		return
	}
	s.say(true, what+" — sent…")
	s.sendCmd(func() {
		msg, err := job(d)
		fyne.Do(func() { s.commandDone(what, prep, msg, err) })
	})
}

// commandDone says how a command ended (the UI goroutine).
func (s *Station) commandDone(what string, prep func() (deskJob, error), msg string, err error) {
	var ref refusal
	switch {
	case err == nil:
		if msg != "" {
			s.say(true, msg)
		}
	case errors.Is(err, alarms.ErrLoggedOut):
		s.AskLogin(func() { s.command(what, prep) }) // then do it
	case errors.As(err, &ref):
		s.say(false, ref.Error())
	default:
		s.say(false, what+" did not go through: "+err.Error())
	}
}

// commandQueue is how many commands may wait for the desk.
const commandQueue = 64

// queueCommand is the station's command worker: one goroutine, so the
// commands reach the desk in the order they were given.
func (s *Station) queueCommand(job func()) {
	s.cmdOnce.Do(func() {
		s.cmdQ = make(chan func(), commandQueue)
		go func() {
			for j := range s.cmdQ {
				j()
			}
		}()
	})
	select {
	case s.cmdQ <- job:
	default:
		s.say(false, "Not sent: the alarm system has not answered the last commands yet; try again in a moment")
	}
}

// TypedKey handles the station's alarm keys (the window routes its typed
// keys here): P pauses the audio, A acknowledges every alarm.
func (s *Station) TypedKey(ev *fyne.KeyEvent) { s.HandleKey(ev) }
