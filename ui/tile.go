package ui

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/ui/waveform"
)

// channelSource adapts a bed's channel to the strip's Source. The channel may
// appear after the tile is built, so it is looked up until found.
type channelSource struct {
	bed  *monitor.Bed
	code uint32
	ch   *monitor.Channel
}

func (c *channelSource) find() *monitor.Channel {
	if c.ch == nil && c.bed != nil {
		c.ch = c.bed.Channel(c.code)
	}
	return c.ch
}

func (c *channelSource) Drain(dst []float32) []float32 {
	if ch := c.find(); ch != nil {
		return ch.Ring.Drain(dst)
	}
	return dst
}

func (c *channelSource) RateHz() float32 {
	if ch := c.find(); ch != nil {
		return ch.RateHz()
	}
	return 0
}

// Tile is one bed on the station grid: header with bed and patient, ECG and
// pleth strips sweeping, and the numerics in parameter colours. With an
// alarm, the header shows the bed's highest alarm and, with the border,
// flashes in its priority colour; ALARM PAUSED and ALARM OFF show as a badge.
type Tile struct {
	widget.BaseWidget

	// OnTapped runs when the tile is tapped (the station opens the bed's
	// trends).
	OnTapped func()

	bed     *monitor.Bed
	patient string // the header's text when no alarm
	label   string // the bed's label from the administration ("" = the feed's name)
	adminPt string // the patient admitted by the administration
	standby bool
	holding bool // the feed is bound to no configured bed: a holding tile
	waves   int  // waveforms shown: 2 (ECG, pleth) or 3 (and respiration)

	alarm       alarms.BedView
	top         alarms.Alarm               // the bed's first alarm in the bar's order ("" ID: none)
	hot         map[string]alarms.Priority // parameter ("hr", "spo2", "rr", "temp", "nibp") → priority of its active alarm
	devPatient  string                     // the patient the device reports, when it is not the admitted one
	mrn         string
	pauseUntil  time.Time   // ALARM PAUSED ends; zero when not paused
	pauseSec    int64       // seconds shown on the badge
	painted     int8        // alarm flash state drawn (paint*)
	hdrBase     color.NRGBA // header colour from the device state
	headerLine  string      // the alarm's header text before fitting
	patientX    float32     // where the patient's name starts in the header
	headerW     float32     // the room for name and alarm text
	headerRight float32     // where the state word ends
	alarmBase   float32     // the alarm text's type size before shrinking

	overlayBG                                *canvas.Rectangle
	head, nums                               *textPanel // the header and the numerics column (see textPanel)
	bedText, patientText, stateText          *canvas.Text
	alarmText                                *canvas.Text // the bed's highest alarm, next to the patient
	newsText                                 *canvas.Text // the NEWS2 summary, advisory
	newsUrgent                               bool         // its chip is shown (5 or more, or a single 3)
	sep                                      panelRule    // the numerics' rule between this tile and the next
	ecgLabel, plethLabel, overlayText        *canvas.Text
	respLabel                                *canvas.Text
	overlaySub                               *canvas.Text
	hrLabel, hrValue, spo2Label, spo2Value   *canvas.Text
	rrLabel, rrValue, tempLabel, tempValue   *canvas.Text
	nibpLabel, nibpValue, nibpMean, nibpTime *canvas.Text
	ecg, pleth, resp                         *waveform.Strip
	ecgSrc, plethSrc, respSrc                *channelSource
	selRing                                  *canvas.Rectangle // the keyboard selection
	badgeBG                                  *canvas.Rectangle
	badgeText                                *canvas.Text
	edges                                    [4]*canvas.Rectangle // the alarm border: top, bottom, left, right
	borderW                                  float32              // its width, 0 for none

	objects []fyne.CanvasObject
}

func text(s string, c color.Color, bold bool) *canvas.Text {
	t := canvas.NewText(s, c)
	t.TextStyle.Bold = bold
	return t
}

// NewTile builds a tile for bed (nil for an empty slot).
func NewTile(bed *monitor.Bed) *Tile {
	t := &Tile{
		overlayBG:   canvas.NewRectangle(color.Transparent),
		bedText:     text("", ColorWhite, true),
		patientText: text("", ColorWhite, false),
		alarmText:   text("", ColorWhite, true),
		stateText:   text("", ColorDim, true),
		newsText:    text("", ColorDim, false),
		ecgLabel:    text("II", ColorECG, false),
		plethLabel:  text("Pleth", ColorSpO2, false),
		respLabel:   text("Resp", ColorResp, false),
		overlayText: text("", ColorWhite, true),
		overlaySub:  text("", ColorWhite, false),
		hrLabel:     text("HR", ColorECG, false),
		hrValue:     text("---", ColorECG, true),
		spo2Label:   text("SpO₂ %", ColorSpO2, false),
		spo2Value:   text("---", ColorSpO2, true),
		rrLabel:     text("RR", ColorResp, false),
		rrValue:     text("--", ColorResp, true),
		tempLabel:   text("Temp °C", ColorWhite, false),
		tempValue:   text("--.-", ColorWhite, true),
		nibpLabel:   text("NIBP", ColorWhite, false),
		nibpValue:   text("---/---", ColorWhite, true),
		nibpMean:    text("", ColorWhite, false),
		nibpTime:    text("", ColorDim, false),
		badgeBG:     canvas.NewRectangle(colorBadge),
		badgeText:   text("", ColorBlack, true),
		hdrBase:     colorHeader,
		pauseSec:    -1,
		waves:       2,
		selRing:     canvas.NewRectangle(color.Transparent),
	}
	t.selRing.StrokeColor = ColorWhite
	t.selRing.StrokeWidth = 4
	t.selRing.Hide()
	for i := range t.edges {
		t.edges[i] = canvas.NewRectangle(color.Transparent)
		t.edges[i].Hide()
	}
	t.badgeText.Alignment = fyne.TextAlignCenter
	t.badgeBG.Hide()
	t.badgeText.Hide()
	t.overlayText.Alignment = fyne.TextAlignCenter
	t.overlaySub.Alignment = fyne.TextAlignCenter
	t.stateText.Alignment = fyne.TextAlignTrailing
	for _, v := range []*canvas.Text{t.hrValue, t.spo2Value, t.rrValue, t.tempValue, t.nibpValue} {
		v.Alignment = fyne.TextAlignTrailing
	}
	t.ecgSrc = &channelSource{code: feed.MDCECGLeadII}
	t.plethSrc = &channelSource{code: feed.MDCPleth}
	t.respSrc = &channelSource{code: feed.MDCRespImpedance}
	t.ecg = waveform.NewStrip(t.ecgSrc, ColorECG, waveform.Scale{Min: -0.8, Max: 1.6, Grow: true}, waveform.Speed25)
	t.pleth = waveform.NewStrip(t.plethSrc, ColorSpO2, waveform.Scale{Min: 0, Max: 1, Auto: true}, waveform.Speed25)
	t.resp = waveform.NewStrip(t.respSrc, ColorResp, waveform.Scale{Min: -1, Max: 1, Auto: true}, waveform.Speed12_5)
	// The body is the window's black: a filled rectangle under it would
	// cost its whole area in every frame for nothing (see textPanel). A rule
	// on the numerics' right keeps neighbours apart.
	t.newsText.Alignment = fyne.TextAlignCenter
	t.head = newTextPanel(colorHeader, t.bedText, t.patientText, t.alarmText, t.stateText)
	t.nums = newTextPanel(colorBackground, t.hrLabel, t.hrValue, t.spo2Label, t.spo2Value,
		t.rrLabel, t.rrValue, t.tempLabel, t.tempValue, t.nibpLabel, t.nibpValue, t.nibpMean, t.nibpTime, t.newsText)
	t.nums.cropToInk(t) // its background is the window's black
	for _, st := range []*waveform.Strip{t.ecg, t.pleth, t.resp} {
		st.SetBackground(colorBackground)
		st.SetCrop(true) // nothing is under a strip but that black
	}
	t.resp.Hide()
	t.respLabel.Hide()
	t.objects = append(t.head.objects(), t.nums.objects()...)
	t.objects = append(t.objects,
		t.ecg, t.pleth, t.resp, t.ecgLabel, t.plethLabel, t.respLabel,
		t.overlayBG, t.overlayText, t.overlaySub,
		t.badgeBG, t.badgeText, t.edges[0], t.edges[1], t.edges[2], t.edges[3], t.selRing,
	)
	t.ExtendBaseWidget(t)
	t.SetBed(bed)
	return t
}

// SetBed binds the tile to a bed.
func (t *Tile) SetBed(b *monitor.Bed) {
	if t.bed == b {
		return
	}
	t.bed = b
	t.ecgSrc.bed, t.ecgSrc.ch = b, nil
	t.plethSrc.bed, t.plethSrc.ch = b, nil
	t.respSrc.bed, t.respSrc.ch = b, nil
	t.ecg.Clear()
	t.pleth.Clear()
	t.resp.Clear()
	t.holding = false
	if b == nil {
		t.bedText.Text = ""
		t.patient = "empty bed"
		t.SetNEWS2("", false)
	} else {
		t.bedText.Text = "Bed " + b.Name
		t.patient = "" // until the new bed's device names its patient
		t.label, t.adminPt, t.standby = "", "", false
	}
	// Alarm state belongs to a bed: the next view sets the new bed's.
	t.alarm, t.pauseUntil = alarms.BedView{}, time.Time{}
	t.showHeaderText()
	t.updateBadge(time.Time{})
	t.painted = paintUnknown
	t.Flash(time.Time{})
}

// SetInfo shows what the bed administration says of this bed: its label,
// the admitted patient (over the device's own idea) and standby. ok false
// means the feed is bound to no configured bed.
func (t *Tile) SetInfo(l BedLabel, ok bool) {
	if !ok {
		l = BedLabel{}
	}
	holding := !ok && t.bed != nil
	if l.Label == t.label && l.Patient == t.adminPt && l.Standby == t.standby && holding == t.holding &&
		l.DevicePatient == t.devPatient && l.MRN == t.mrn {
		return
	}
	t.label, t.adminPt, t.standby, t.holding = l.Label, l.Patient, l.Standby, holding
	t.devPatient, t.mrn = l.DevicePatient, l.MRN
	if t.bed != nil {
		t.bedText.Text = cmp.Or(l.Label, "Bed "+t.bed.Name)
		switch {
		case holding:
			// A device publishing under a name no bed is bound to: shown (its
			// data and alarms are real) but plainly not a bed yet.
			t.bedText.Text = "Feed " + t.bed.Name
			t.patient = "HOLDING — not bound to a bed (Admin → Beds)"
		case l.Patient != "" && l.DevicePatient != "":
			// Both, so that the mismatch is seen where the values are.
			t.patient = l.Patient + "  ≠ device: " + l.DevicePatient
		case l.Patient != "":
			t.patient = l.Patient
		default:
			t.patient = "no patient admitted"
		}
		t.bedText.Refresh()
		t.showHeaderText()
		t.paintHeader()
	}
}

// Holding reports whether the tile shows a feed bound to no configured bed.
func (t *Tile) Holding() bool { return t.holding }

// SetSelected shows or hides the keyboard selection ring.
func (t *Tile) SetSelected(on bool) {
	if on == t.selRing.Visible() {
		return
	}
	if on {
		t.selRing.Show()
	} else {
		t.selRing.Hide()
	}
}

// Selected reports whether the tile carries the keyboard selection.
func (t *Tile) Selected() bool { return t.selRing.Visible() }

// SetWaves shows 2 waveforms (ECG, pleth) or 3 (and respiration).
func (t *Tile) SetWaves(n int) {
	if n != 3 {
		n = 2
	}
	if n == t.waves {
		return
	}
	t.waves = n
	if n == 3 {
		t.resp.Show()
		t.respLabel.Show()
	} else {
		t.resp.Hide()
		t.respLabel.Hide()
		t.resp.Clear()
	}
	if sz := t.Size(); sz.Width > 0 {
		(&tileRenderer{t: t}).Layout(sz)
	}
}

// Bed is the bed shown, or nil.
func (t *Tile) Bed() *monitor.Bed { return t.bed }

// Tick pulls new waveform samples and draws the frame at now; call once per
// frame on the UI goroutine.
func (t *Tile) Tick(now time.Time) {
	t.ecg.Tick(now)
	t.pleth.Tick(now)
	if t.waves == 3 {
		t.resp.Tick(now)
	}
	t.syncPanels()
}

// SetOffscreen tells the tile whether the grid is hidden behind another
// view: its strips then keep taking their samples but refresh nothing
// on a canvas that does not show them.
func (t *Tile) SetOffscreen(off bool) {
	t.ecg.SetOffscreen(off)
	t.pleth.SetOffscreen(off)
	t.resp.SetOffscreen(off)
}

// Strips exposes the tile's waveform strips (for diagnostics and tests).
func (t *Tile) Strips() []*waveform.Strip {
	if t.waves == 3 {
		return []*waveform.Strip{t.ecg, t.pleth, t.resp}
	}
	return []*waveform.Strip{t.ecg, t.pleth}
}

// Update refreshes header, state and numerics; call about once a second, and
// it is cheap enough to call every frame: texts refresh only when they change.
func (t *Tile) Update(now time.Time) {
	t.update(now)
	t.syncPanels()
}

// syncPanels redraws the header and numerics if their texts changed.
func (t *Tile) syncPanels() {
	t.head.sync()
	t.nums.sync()
}

// Texts are the texts the tile shows in its header and numerics (for
// diagnostics and tests: they are drawn into images, not objects).
func (t *Tile) Texts() []*canvas.Text {
	return append(t.head.Texts(), t.nums.Texts()...)
}

func (t *Tile) update(now time.Time) {
	if t.bed == nil {
		t.setText(t.stateText, "")
		t.setOverlay("", colorTile)
		t.setText(t.overlaySub, "")
		// An empty place on the page shows no values (not the last bed's).
		for _, c := range []*canvas.Text{t.hrValue, t.spo2Value, t.rrValue, t.tempValue, t.nibpValue, t.nibpMean, t.nibpTime} {
			t.setText(c, "")
		}
		return
	}
	st := t.bed.State(now)
	if ds, ok := t.bed.DeviceStatus(); ok && t.label == "" && ds.Patient != "" && ds.Patient != t.patient {
		t.patient = ds.Patient
		t.showHeaderText()
	}
	t.updateBadge(now)

	state, overlay, sub := "ONLINE", "", ""
	hdr := colorHeader
	switch {
	case !st.Seen:
		state, overlay, sub = "WAITING", "NO DATA", "nothing received yet"
		hdr = colorTechnical
	case st.Offline:
		state, overlay, sub = "OFFLINE", "NO DATA", "device offline"
		hdr = colorTechnical
	case st.WaveStale:
		state, overlay, sub = "NO DATA", "NO DATA", "no waveform"
		hdr = colorTechnical
	case st.NumStale:
		state, overlay, sub = "NO DATA", "NO DATA", "no numerics"
		hdr = colorTechnical
	case st.LeadsOff:
		state = "LEADS OFF"
	}
	// The alarm system and the tile agree: while its offline or no-data
	// alarm is active the state word says so, never ONLINE beside it.
	if state == "ONLINE" && t.top.ID != "" && !t.top.Ended {
		switch t.top.Code {
		case alarms.CodeOffline:
			state = "OFFLINE"
		case alarms.CodeNoData:
			state = "NO DATA"
		}
	}
	if t.standby {
		state, overlay, sub = "STANDBY", "STANDBY", "monitoring paused: no alarms"
		hdr = colorTechnical
	}
	if t.stateText.Text != state {
		t.setText(t.stateText, state)
		t.placeHeader() // the state word's width changed
	}
	if t.hdrBase != hdr {
		t.hdrBase = hdr
		t.paintHeader()
	}
	t.setOverlay(overlay, colorTile)
	t.setText(t.overlaySub, sub)
	if st.LeadsOff && overlay == "" {
		t.setText(t.ecgLabel, "II  LEADS OFF")
	} else {
		t.setText(t.ecgLabel, "II")
	}

	fresh := !st.NumStale && !st.Offline
	// Each value says where it comes from when it matters: the heart rate
	// is the device's unless Vigil's ECG analysis counts it.
	hrLabel := "HR"
	if a := t.bed.Analysis(); a.Active {
		hrLabel = "HR · Vigil ECG"
	} else if _, ok := t.bed.Vital(feed.MDCECGHeartRate); ok {
		hrLabel = "HR · device"
	}
	t.setText(t.hrLabel, hrLabel)
	for _, c := range []struct {
		v    *canvas.Text
		p    string
		base color.NRGBA
	}{{t.hrValue, "hr", ColorECG}, {t.spo2Value, "spo2", ColorSpO2}, {t.rrValue, "rr", ColorResp},
		{t.tempValue, "temp", ColorWhite}, {t.nibpValue, "nibp", ColorWhite}} {
		col := c.base
		if p := t.hot[c.p]; p > alarms.None {
			col = PriorityColor(p) // the value out of range, in its alarm's colour
		}
		if c.v.Color != col {
			c.v.Color = col
			c.v.Refresh()
		}
	}
	t.setText(t.hrValue, t.value(feed.MDCECGHeartRate, fresh && !st.LeadsOff, "%.0f", "---"))
	t.setText(t.spo2Value, t.value(feed.MDCSpO2, fresh, "%.0f", "---"))
	t.setText(t.rrValue, t.value(feed.MDCRespRate, fresh, "%.0f", "--"))
	t.setText(t.tempValue, t.value(feed.MDCTemp, fresh, "%.1f", "--.-"))
	sys, okS := t.bed.Vital(feed.MDCNIBPSys)
	dia, okD := t.bed.Vital(feed.MDCNIBPDia)
	mean, okM := t.bed.Vital(feed.MDCNIBPMean)
	if okS && okD && sys.Valid && dia.Valid && !st.Offline {
		t.setText(t.nibpValue, fmt.Sprintf("%.0f/%.0f", sys.Value, dia.Value))
		if okM && mean.Valid {
			t.setText(t.nibpMean, fmt.Sprintf("(%.0f)", mean.Value))
		}
		t.setText(t.nibpTime, sys.At.Local().Format("15:04"))
	} else {
		t.setText(t.nibpValue, "---/---")
		t.setText(t.nibpMean, "")
		t.setText(t.nibpTime, "")
	}
}

func (t *Tile) value(code uint32, fresh bool, format, none string) string {
	v, ok := t.bed.Vital(code)
	if !ok || !v.Valid || !fresh || math.IsNaN(v.Value) {
		return none
	}
	return fmt.Sprintf(format, v.Value)
}

func (t *Tile) setText(c *canvas.Text, s string) {
	if c.Text != s {
		c.Text = s
		c.Refresh()
	}
}

func (t *Tile) setOverlay(s string, bg color.NRGBA) {
	if t.overlayText.Text == s {
		return
	}
	t.overlayText.Text = s
	// Hidden, not transparent: the GL painter fills every visible
	// rectangle whose colour is not color.Transparent itself, at the cost of
	// its whole area every frame.
	if s == "" {
		t.overlayBG.Hide()
	} else {
		bg.A = 0xE0
		t.overlayBG.FillColor = bg
		t.overlayBG.Show()
		t.ecg.Clear()
		t.pleth.Clear()
		t.resp.Clear()
	}
	t.overlayBG.Refresh()
	t.overlayText.Refresh()
}

// SetAlarm shows the bed's alarm state from the alarm view: at is when the
// view was taken (PausedFor counts down from it). Call it when the view
// changes; Flash draws the flash phase every frame.
func (t *Tile) SetAlarm(v alarms.BedView, at time.Time) {
	if t.bed == nil {
		v = alarms.BedView{}
	}
	t.alarm = v
	t.pauseUntil = time.Time{}
	if v.PausedFor > 0 {
		t.pauseUntil = at.Add(v.PausedFor)
	}
	t.pauseSec = -1
	t.showHeaderText()
	t.updateBadge(at)
	t.painted = paintUnknown
	t.Flash(at)
}

// SetAlarmDetail gives the tile the bed's first alarm in the bar's order
// (its header names it, ENDED when it is) and the priority of the active
// alarm of each parameter (the value is drawn in that colour). Call it
// before SetAlarm.
func (t *Tile) SetAlarmDetail(top alarms.Alarm, hot map[string]alarms.Priority) {
	t.top, t.hot = top, hot
}

// paramOfCode is the tile's value an alarm code is about: "hr", "spo2",
// "rr", "temp", "nibp", or "" for none.
func paramOfCode(code string) string {
	switch code {
	case alarms.CodeAsystole, alarms.CodeVFib, alarms.CodeVTach:
		return "hr"
	}
	if strings.HasPrefix(code, "ecg-") {
		return "hr"
	}
	for _, p := range []string{"hr", "spo2", "rr", "temp", "nibp"} {
		if strings.HasPrefix(code, p+"-") {
			return p
		}
	}
	return ""
}

// Alarm is the bed's alarm state shown.
func (t *Tile) Alarm() alarms.BedView { return t.alarm }

// Flash draws the alarm's flash phase at now; call it every frame. Colours
// change only when the phase turns, so a frame costs a comparison.
func (t *Tile) Flash(now time.Time) {
	st := paintNone
	if p := t.alarm.Priority; p > alarms.None {
		switch {
		case !t.alarm.Unacked:
			st = paintAcked
		case flashLit(now, p):
			st = paintLit
		default:
			st = paintDark
		}
	}
	if st != t.painted {
		t.painted = st
		t.paintHeader()
	}
}

// paintHeader colours header, header text and border for the flash state
// drawn and the device state.
func (t *Tile) paintHeader() {
	hdr, ink, state := t.hdrBase, ColorWhite, ColorDim
	if t.holding && hdr == colorHeader {
		hdr = colorHolding
	}
	border, width := color.NRGBA{}, float32(0)
	// Widths in device-independent pixels: a flashing border is thick, an
	// acknowledged one thin.
	p := t.alarm.Priority
	switch t.painted {
	case paintLit:
		hdr, ink = PriorityColor(p), inkOn(p)
		state, border, width = ink, PriorityColor(p), 6
	case paintDark:
		// The off phase keeps a frame of the priority's colour: a tile
		// in alarm never looks like a quiet one, whatever the phase.
		border, width = PriorityColor(p), 4
	case paintAcked:
		hdr, border, width = dim(PriorityColor(p)), PriorityColor(p), 2
	}
	t.head.setBackground(hdr)
	setInk(t.bedText, ink)
	setInk(t.alarmText, ink)
	if t.devPatient != "" && t.painted != paintLit {
		ink = ColorAlarmMedium
	}
	setInk(t.patientText, ink)
	setInk(t.stateText, state)
	for _, e := range t.edges {
		setFill(e, border)
		if width == 0 {
			e.Hide()
		} else {
			e.Show()
		}
	}
	if t.borderW != width {
		t.borderW = width
		t.placeBorder(t.Size())
	}
}

// placeBorder lays the border's four edges inside the tile's rectangle.
func (t *Tile) placeBorder(size fyne.Size) {
	w := t.borderW
	for i, r := range [4][4]float32{
		{0, 0, size.Width, w}, {0, size.Height - w, size.Width, w},
		{0, 0, w, size.Height}, {size.Width - w, 0, w, size.Height},
	} {
		t.edges[i].Move(fyne.NewPos(r[0], r[1]))
		t.edges[i].Resize(fyne.NewSize(r[2], r[3]))
	}
}

// showHeaderText puts the patient in the header and, next to it, the bed's
// first alarm (with its prefix); the name is cut before the alarm.
func (t *Tile) showHeaderText() {
	line := ""
	if t.alarm.Priority > alarms.None {
		line = shortAlarm(t.alarm.Text)
		if t.top.ID != "" {
			line = shortAlarm(t.top.Text())
			if t.top.Ended {
				line += " — ENDED"
			}
		}
		if t.alarm.Count > 1 {
			line += fmt.Sprintf("  (+%d)", t.alarm.Count-1)
		}
	}
	t.headerLine = line
	t.placeHeader()
}

// shortAlarm is an alarm's text as a tile's header shows it: up to its
// first double space ("** NIBP 186/112 (137)" of "** NIBP 186/112 (137)  sys
// > 160, dia > 90"); the value's colour on the tile and the bar's row say
// the rest.
func shortAlarm(s string) string {
	if i := strings.Index(s, "  "); i > 0 {
		return s[:i]
	}
	return s
}

// placeHeader lays the patient and the alarm text out between the bed's
// label and the state word. The state word takes its own width; the alarm
// text keeps its width, then shrinks its type to three quarters; the name
// takes what is left, at least a quarter of the room.
func (t *Tile) placeHeader() {
	x0 := t.patientX
	if t.headerRight > 0 {
		sw := fyne.MeasureText(t.stateText.Text, t.stateText.TextSize, t.stateText.TextStyle).Width + 6
		y, h := t.stateText.Position().Y, t.stateText.Size().Height
		t.stateText.Move(fyne.NewPos(t.headerRight-sw, y))
		t.stateText.Resize(fyne.NewSize(sw, h))
		t.headerW = t.headerRight - sw - 8 - x0
	}
	w := t.headerW
	if w <= 0 {
		setIf(t.patientText, t.patient)
		setIf(t.alarmText, t.headerLine)
		return
	}
	col := ColorWhite
	if t.devPatient != "" {
		col = ColorAlarmMedium
	}
	if t.painted != paintLit {
		setInk(t.patientText, col)
	}
	if t.headerLine == "" {
		t.patientText.Move(fyne.NewPos(x0, t.patientText.Position().Y))
		t.patientText.Resize(fyne.NewSize(w, t.patientText.Size().Height))
		fit(t.patientText, t.patient, w)
		fit(t.alarmText, "", 0)
		return
	}
	need := fyne.MeasureText(t.patient, t.patientText.TextSize, t.patientText.TextStyle).Width + 8
	if t.patient == "" {
		need = 0
	}
	base := t.alarmBase
	if base <= 0 {
		base = t.alarmText.TextSize
	}
	room := w - min(need, w/4)
	ts := base
	for ts > base*0.75 && fyne.MeasureText(t.headerLine, ts, t.alarmText.TextStyle).Width+4 > room {
		ts -= 0.5
	}
	if t.alarmText.TextSize != ts {
		t.alarmText.TextSize = ts
		t.alarmText.Text = "" // fit redraws
	}
	aNeed := fyne.MeasureText(t.headerLine, ts, t.alarmText.TextStyle).Width + 4
	nameW := min(need, max(w-room, w-aNeed))
	t.patientText.Move(fyne.NewPos(x0, t.patientText.Position().Y))
	t.patientText.Resize(fyne.NewSize(nameW, t.patientText.Size().Height))
	t.alarmText.Move(fyne.NewPos(x0+nameW, t.patientText.Position().Y-1))
	t.alarmText.Resize(fyne.NewSize(max(0, w-nameW), t.patientText.Size().Height))
	fit(t.patientText, t.patient, nameW)
	fit(t.alarmText, t.headerLine, w-nameW)
}

func setIf(c *canvas.Text, s string) {
	if c.Text != s {
		c.Text = s
		c.Refresh()
	}
}

// updateBadge shows ALARM OFF, or ALARM PAUSED with its countdown.
func (t *Tile) updateBadge(now time.Time) {
	s := ""
	switch {
	case t.alarm.AlarmOff:
		s = "ALARM OFF"
	case !t.pauseUntil.IsZero():
		sec := ceilSeconds(t.pauseUntil.Sub(now))
		if sec == t.pauseSec {
			return
		}
		t.pauseSec = sec
		s = "ALARM PAUSED " + clockText(sec)
	}
	if t.badgeText.Text == s {
		return
	}
	t.badgeText.Text = s
	t.badgeText.Refresh()
	if s == "" {
		t.badgeBG.Hide()
		t.badgeText.Hide()
	} else {
		t.badgeBG.Show()
		t.badgeText.Show()
	}
}

// CreateRenderer implements fyne.Widget.
// Tapped implements fyne.Tappable.
func (t *Tile) Tapped(*fyne.PointEvent) {
	if t.OnTapped != nil {
		t.OnTapped()
	}
}

func (t *Tile) CreateRenderer() fyne.WidgetRenderer { return &tileRenderer{t: t} }

// MinSize lets 16 tiles share a 1080p screen.
func (t *Tile) MinSize() fyne.Size { return fyne.NewSize(320, 180) }

type tileRenderer struct{ t *Tile }

func (r *tileRenderer) Objects() []fyne.CanvasObject { return r.t.objects }
func (r *tileRenderer) MinSize() fyne.Size           { return r.t.MinSize() }
func (r *tileRenderer) Refresh()                     {}
func (r *tileRenderer) Destroy()                     {}

// compactHeight is the tile height under which the compact layout is used
// (32 beds on a 1080p screen): header, two strips and a numerics column of
// HR and SpO2 large, RR and NIBP small.
const compactHeight = 150

// Layout places everything proportionally to the tile's size, so text is as
// large as the tile allows (readable at 2 m on a 1080p grid of 16).
func (r *tileRenderer) Layout(size fyne.Size) {
	t := r.t
	defer t.syncPanels()
	t.selRing.Move(fyne.NewPos(2, 2))
	t.selRing.Resize(fyne.NewSize(size.Width-4, size.Height-4))
	if size.Height < compactHeight {
		r.layoutCompact(size)
		return
	}
	// Design size of a tile on a 1920x1080 4x4 grid: 480 x 262. A wide
	// tile grows with its height; a tall one is held by its width.
	k := min(size.Height/262, size.Width/480)
	r.showFull(true)
	place := func(o fyne.CanvasObject, x, y, w, h float32) {
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(w, h))
	}
	sizeText := func(c *canvas.Text, pts float32) { c.TextSize = pts * k }

	hh := 30 * k
	t.head.place(fyne.NewPos(0, 0), fyne.NewSize(size.Width, hh))
	sizeText(t.bedText, 20)
	sizeText(t.patientText, 17)
	sizeText(t.stateText, 16)
	pad := max(6*k, 9) // clear of the alarm border (6 px when lit)
	bedW := max(90*k, float32(len([]rune(t.bedText.Text)))*11*k)
	place(t.bedText, pad, 2*k, bedW, hh-4*k)
	// Text keeps clear of the right edge, where the alarm border is drawn.
	const edge = 8
	sizeText(t.alarmText, 17)
	t.alarmBase = t.alarmText.TextSize
	place(t.patientText, pad+bedW-2*k, 3*k, size.Width-bedW-132*k, hh-4*k)
	place(t.stateText, size.Width-edge-124*k, 4*k, 124*k, hh-6*k)
	t.patientX, t.headerW, t.headerRight = pad+bedW-2*k, size.Width-bedW-132*k, size.Width-edge
	t.placeHeader()
	t.placeBorder(size)

	numW := 170 * k
	waveW := size.Width - numW - pad
	bodyY := hh + 2*k
	bodyH := size.Height - bodyY - 2*k
	r.placeStrips(waveW, bodyY, bodyH, k, pad)
	r.placeNumerics(waveW, hh, size, k)
	place(t.overlayBG, 0, bodyY, waveW, bodyH)
	sizeText(t.overlayText, 30)
	sizeText(t.overlaySub, 16)
	place(t.overlayText, 0, bodyY+bodyH/2-30*k, waveW, 40*k)
	place(t.overlaySub, 0, bodyY+bodyH/2+12*k, waveW, 22*k)
	sizeText(t.badgeText, 15)
	bw := 190 * k
	place(t.badgeBG, waveW-bw-4*k, bodyY+4*k, bw, 24*k)
	place(t.badgeText, waveW-bw-4*k, bodyY+4*k, bw, 24*k)

	x := waveW + pad
	vw := numW - pad - edge
	// The numerics column is 262 design pixels high; a taller tile centres it.
	y0 := bodyY + max(0, (bodyH-224*k)/2)
	lbl := float32(12)
	for _, c := range []*canvas.Text{t.hrLabel, t.spo2Label, t.rrLabel, t.tempLabel, t.nibpLabel, t.nibpMean, t.nibpTime} {
		sizeText(c, lbl)
	}
	// HR: the biggest number on the tile.
	place(t.hrLabel, x, y0, vw, 14*k)
	sizeText(t.hrValue, 52)
	place(t.hrValue, x, y0+2*k, vw, 60*k)
	y := y0 + 62*k
	place(t.spo2Label, x, y, vw, 14*k)
	sizeText(t.spo2Value, 42)
	place(t.spo2Value, x, y+2*k, vw, 48*k)
	y += 52 * k
	half := vw / 2
	place(t.rrLabel, x, y, half, 14*k)
	place(t.tempLabel, x+half, y, half, 14*k)
	sizeText(t.rrValue, 28)
	sizeText(t.tempValue, 28)
	place(t.rrValue, x, y+9*k, half-4*k, 34*k)
	place(t.tempValue, x+half, y+9*k, half, 34*k)
	y += 46 * k
	place(t.nibpLabel, x, y, 60*k, 14*k)
	place(t.nibpTime, x+40*k, y, 50*k, 14*k)
	place(t.nibpMean, x+vw-48*k, y, 48*k, 14*k)
	sizeText(t.nibpValue, 26)
	place(t.nibpValue, x, y+10*k, vw, 32*k)
	// NEWS2 (advisory) under the measured values, at the right.
	sizeText(t.newsText, 13)
	place(t.newsText, x+vw-96*k, y+44*k, 96*k, 18*k)
	t.placeNewsChip()
}

// placeNumerics puts the numerics panel right of the strips, under the
// header, with the rule between this tile and the next on its right edge.
func (r *tileRenderer) placeNumerics(waveW, hh float32, size fyne.Size, k float32) {
	w, h := size.Width-waveW, size.Height-hh
	r.t.nums.place(fyne.NewPos(waveW, hh), fyne.NewSize(w, h))
	rw := max(1, 2*k)
	r.t.sep = panelRule{x: w - rw, y: 0, w: rw, h: h, c: colorHeader}
	r.t.nums.setRules(r.t.sep)
}

// placeStrips stacks the waveform strips in the body: ECG over pleth, or
// ECG, pleth and respiration.
func (r *tileRenderer) placeStrips(waveW, bodyY, bodyH, k, pad float32) {
	t := r.t
	place := func(o fyne.CanvasObject, x, y, w, h float32) {
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(w, h))
	}
	lh := max(11, 13*k)
	for _, c := range []*canvas.Text{t.ecgLabel, t.plethLabel, t.respLabel} {
		c.TextSize = lh
	}
	shares := []float32{0.58, 0.42}
	strips := []*waveform.Strip{t.ecg, t.pleth}
	labels := []*canvas.Text{t.ecgLabel, t.plethLabel}
	if t.waves == 3 {
		shares = []float32{0.44, 0.28, 0.28}
		strips = append(strips, t.resp)
		labels = append(labels, t.respLabel)
	}
	y := bodyY
	for i, st := range strips {
		h := bodyH*shares[i] - 2*k
		place(st, 0, y, waveW, h)
		place(labels[i], pad, y, 200*k, lh+3)
		y += h + 2*k
	}
}

// layoutCompact is the layout of a short tile (32 beds on 1080p): a slim
// header, the strips, and HR and SpO2 side by side with RR and NIBP under
// them. Temperature is left out (it is on the bed's detail view).
func (r *tileRenderer) layoutCompact(size fyne.Size) {
	t := r.t
	k := min(size.Height/128, size.Width/480)
	place := func(o fyne.CanvasObject, x, y, w, h float32) {
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(w, h))
	}
	// The header is held by the tile's height more than its width: the
	// bed, the patient and the alarm are what is read from across the room.
	kh := min(size.Height/128, size.Width/360)
	hh := max(22*k, 21*kh)
	t.head.place(fyne.NewPos(0, 0), fyne.NewSize(size.Width, hh))
	t.bedText.TextSize, t.patientText.TextSize, t.stateText.TextSize = 15*kh, 13*kh, 11*kh
	t.alarmText.TextSize = 14 * kh
	t.alarmBase = t.alarmText.TextSize
	const edge = 6
	pad := max(4*k, 8) // clear of the alarm border
	bedW := max(70*kh, float32(len([]rune(t.bedText.Text)))*9*kh)
	top := float32(3) // below the lit border's top edge
	place(t.bedText, pad, top, bedW, hh-top-1)
	place(t.patientText, pad+bedW, top, size.Width-bedW-pad-94*k-edge, hh-top-1)
	place(t.stateText, size.Width-edge-90*k, top, 90*k, hh-top-1)
	t.patientX, t.headerW, t.headerRight = pad+bedW, size.Width-bedW-pad-94*k-edge, size.Width-edge
	t.placeHeader()
	t.placeBorder(size)

	numW := 190 * k
	waveW := size.Width - numW
	bodyY := hh + 1
	bodyH := size.Height - bodyY - 1
	r.placeStrips(waveW, bodyY, bodyH, k, pad)
	r.placeNumerics(waveW, hh, size, k)
	place(t.overlayBG, 0, bodyY, waveW, bodyH)
	t.overlayText.TextSize, t.overlaySub.TextSize = 20*k, 12*k
	place(t.overlayText, 0, bodyY+bodyH/2-24*k, waveW, 28*k)
	place(t.overlaySub, 0, bodyY+bodyH/2+6*k, waveW, 16*k)
	t.badgeText.TextSize = 12 * k
	bw := 160 * k
	place(t.badgeBG, waveW-bw-2, bodyY+2, bw, 18*k)
	place(t.badgeText, waveW-bw-2, bodyY+2, bw, 18*k)

	x := waveW + pad
	vw := numW - pad - edge
	half := vw / 2
	for _, c := range []*canvas.Text{t.hrLabel, t.spo2Label, t.rrLabel, t.nibpLabel, t.nibpMean, t.nibpTime} {
		c.TextSize = 11 * k
	}
	place(t.hrLabel, x, bodyY, half, 12*k)
	place(t.spo2Label, x+half, bodyY, half, 12*k)
	t.hrValue.TextSize, t.spo2Value.TextSize = 40*k, 40*k
	place(t.hrValue, x, bodyY+2*k, half-4*k, 46*k)
	place(t.spo2Value, x+half, bodyY+2*k, half, 46*k)
	y := bodyY + 50*k
	place(t.rrLabel, x, y, half, 12*k)
	place(t.nibpLabel, x+half, y, half, 12*k)
	t.rrValue.TextSize, t.nibpValue.TextSize = 22*k, 22*k
	place(t.rrValue, x, y+4*k, half-4*k, 28*k)
	place(t.nibpValue, x+half, y+4*k, half, 28*k)
	t.newsText.TextSize = 11 * k
	place(t.newsText, x+vw-84*k, y+34*k, 84*k, 15*k)
	t.placeNewsChip()
	r.showFull(false) // no room for these
}

// showFull shows the numerics only the full layout has room for.
func (r *tileRenderer) showFull(on bool) {
	for _, c := range []fyne.CanvasObject{r.t.tempLabel, r.t.tempValue, r.t.nibpMean, r.t.nibpTime} {
		if on {
			c.Show()
		} else {
			c.Hide()
		}
	}
}
