package ui

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"math"
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
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/hl7feed"
	"github.com/vigil-station/vigil/ui/waveform"
)

// LimitRow is one parameter's alarm limits on the bed's detail view.
type LimitRow struct {
	Param, Label string  // "hr", "HR"
	Code         uint32  // the numeric's MDC code
	Low, High    float64 // NaN: that side is off
	Min, Max     float64 // the profile's bounds a limit may be set within
	Step         float64 // one tap of − or +
	Decimals     int
}

// LimitDesk reads a bed's limits and adjusts them as the operator logged
// in (the core checks the role and journals every change).
type LimitDesk interface {
	BedLimits(bed string) []LimitRow
	// MayAdjust is nil when the operator may adjust the bed's limits, else
	// why not (alarms.ErrLoggedOut when nobody is logged in).
	MayAdjust(bed string) error
	SetLimit(bed, param string, lo, hi float64) error
}

// SetLimitDesk connects the bed detail's quick limit adjustment.
func (s *Station) SetLimitDesk(d LimitDesk) { s.limits = d }

// SweepSpeeds are the detail view's paper speeds in mm/s.
var SweepSpeeds = []float64{12.5, 25, 50}

// WaveStyle is a waveform's label, colour and scale on the detail view
// and in the reviews.
func WaveStyle(code uint32) (string, color.NRGBA, waveform.Scale) {
	leads := map[uint32]string{feed.MDCECGLeadI: "I", feed.MDCECGLeadII: "II", feed.MDCECGLeadIII: "III",
		feed.MDCECGLeadAVR: "aVR", feed.MDCECGLeadAVL: "aVL", feed.MDCECGLeadAVF: "aVF"}
	switch {
	case feed.IsECG(code):
		name, ok := leads[code]
		if !ok {
			name = "V" + strconv.Itoa(int(code-feed.MDCECGLeadV1)+1)
		}
		return "ECG " + name, ColorECG, waveform.Scale{Min: -0.8, Max: 1.6, Grow: true}
	case code == feed.MDCPleth:
		return "Pleth", ColorSpO2, waveform.Scale{Min: 0, Max: 1, Auto: true}
	case code == feed.MDCPressArt:
		return "ABP mmHg", colorABP, waveform.Scale{Min: 40, Max: 160, Auto: true}
	case code == feed.MDCRespImpedance:
		return "Resp", ColorResp, waveform.Scale{Min: -1, Max: 1, Auto: true}
	case code == feed.MDCAwayCO2:
		return "CO₂ mmHg", ColorResp, waveform.Scale{Min: 0, Max: 45, Auto: true}
	}
	return "Wave " + strconv.FormatUint(uint64(code), 10), ColorWhite, waveform.Scale{Min: -1, Max: 1, Auto: true}
}

// colorABP is the arterial pressure's colour (red by monitoring convention,
// lighter than the HIGH alarm red).
var colorABP = color.NRGBA{R: 0xFF, G: 0x5A, B: 0x5A, A: 0xFF}

// WaveOrder puts ECG leads first (II first of them), then pleth, ABP,
// respiration and CO2.
func WaveOrder(code uint32) int {
	switch {
	case code == feed.MDCECGLeadII:
		return 0
	case feed.IsECG(code):
		return 1
	case code == feed.MDCPleth:
		return 2
	case code == feed.MDCPressArt:
		return 3
	case code == feed.MDCRespImpedance:
		return 4
	}
	return 5
}

// bedDetail is the open bed's view.
type bedDetail struct {
	s       *Station
	bed     *monitor.Bed
	speed   float64
	strips  []*waveform.Strip
	codes   []uint32
	waves   *fyne.Container
	nums    *fyne.Container
	values  map[string]*canvas.Text
	limits  map[string]*canvas.Text
	alarmsB *fyne.Container
	side    *fyne.Container
	recent  *widget.Label
	status  *widget.Label
	other   *widget.Label // values of parameters without limits (an HL7 monitor's CVP, an unknown MDC code…)
	otherB  *fyne.Container
	seq     uint64
	lastNum time.Time
	lastRec time.Time
	news    *newsSection // nil without NEWS2
}

// Detail is the open bed's name and sweep speed ("" when no detail is open).
func (s *Station) Detail() (bed string, speed float64) {
	if s.detail == nil || s.live == nil {
		return "", 0
	}
	return s.detail.bed.Name, s.detail.speed
}

// ShowBed opens a bed's detail: every waveform of the bed large at the
// chosen sweep speed, all numerics with their limits (adjustable within
// the operator's rights), the bed's alarms, and the way to its trends and
// reviews.
func (s *Station) ShowBed(name string) {
	b := s.hub.Bed(name)
	if b == nil {
		return
	}
	speed := 25.0
	if s.detail != nil && s.detail.bed == b {
		speed = s.detail.speed
	}
	d := &bedDetail{s: s, bed: b, speed: speed, values: map[string]*canvas.Text{}, limits: map[string]*canvas.Text{}}
	s.detail = d
	d.waves = container.NewGridWithRows(1)
	d.nums = container.NewVBox()
	d.alarmsB = container.NewVBox()
	d.recent = widget.NewLabel("")
	d.recent.Wrapping = fyne.TextWrapWord
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	d.other = widget.NewLabel("")
	d.other.TextStyle.Monospace = true
	d.otherB = container.NewVBox(heading("Other values"), d.other)
	d.otherB.Hide()
	d.buildWaves()
	d.buildNumerics()

	var names []string
	for _, v := range SweepSpeeds {
		names = append(names, speedName(v))
	}
	speeds := widget.NewRadioGroup(names, nil)
	speeds.Horizontal, speeds.Required = true, true
	speeds.SetSelected(speedName(d.speed))
	speeds.OnChanged = func(v string) {
		for _, sp := range SweepSpeeds {
			if speedName(sp) == v {
				d.setSpeed(sp)
			}
		}
	}
	reopen := func() { s.ShowBed(name) }
	trends := widget.NewButton("Trends (T)", func() { s.openFrom(reopen, func() { s.ShowTrends(name) }) })
	trends.Disable()
	if s.trends != nil {
		trends.Enable()
	}
	ack := widget.NewButton("Acknowledge bed (A)", func() { s.acknowledgeShown(name) })
	ack.Importance = widget.WarningImportance
	tools := container.NewHBox(widget.NewLabel("Sweep"), speeds, gap(20), trends)
	for _, x := range s.detailTools {
		tools.Add(x(name, reopen))
	}
	tools.Add(gap(20))
	tools.Add(ack)
	d.side = container.NewVBox(d.nums, d.otherB, d.status, widget.NewSeparator(), heading("Alarms now"), d.alarmsB,
		heading("Recent alarms"), d.recent, widget.NewSeparator(), d.buildNEWS2())
	// The scroll bar has its own lane at the right: it never covers a
	// value or a limit button.
	sideBox := container.New(fixedWidth{444}, container.NewVScroll(container.NewBorder(nil, nil, nil, gap(14), d.side)))
	body := container.NewBorder(tools, nil, nil, sideBox, d.waves)
	s.ShowPanel(s.bedTitle(name), body)
	s.live = d.tick
	s.liveSlow = d.update
	s.panelKey = d.key
	d.update(s.now())
}

// detailTools are extra buttons of the detail view (the reviews), added by
// the views that provide them: each gets the bed and a way back.
type detailTool func(bed string, reopen func()) fyne.CanvasObject

func heading(s string) fyne.CanvasObject {
	t := text(s, ColorWhite, true)
	t.TextSize = 18
	return t
}

// fixedWidth lays one object out at a fixed width.
type fixedWidth struct{ w float32 }

func (f fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (f fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(f.w, h)
}

func speedName(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + " mm/s" }

// bedTitle is the bed's label and patient, as the tiles show them.
func (s *Station) bedTitle(bed string) string {
	title := "Bed " + bed
	if s.info != nil {
		if l, ok := s.info(bed); ok {
			title = cmp.Or(l.Label, title)
			if l.Patient != "" {
				title += " — " + l.Patient
			}
		} else {
			title = "Feed " + bed + " (not bound to a bed)"
		}
	}
	return title
}

// buildWaves makes a strip per channel the bed sends, in clinical order.
func (d *bedDetail) buildWaves() {
	chs := d.bed.Channels()
	codes := make([]uint32, 0, len(chs))
	for _, c := range chs {
		codes = append(codes, c.Code)
	}
	slices.SortFunc(codes, func(a, b uint32) int { return cmp.Or(cmp.Compare(WaveOrder(a), WaveOrder(b)), cmp.Compare(a, b)) })
	d.codes = codes
	d.strips = d.strips[:0]
	var rows []fyne.CanvasObject
	for _, code := range codes {
		label, col, scale := WaveStyle(code)
		st := waveform.NewStrip(&channelSource{bed: d.bed, code: code}, col, scale, d.speed)
		st.SetBackground(colorTile)
		d.strips = append(d.strips, st)
		l := text(label, col, true)
		l.TextSize = 18
		rows = append(rows, container.NewStack(st, container.NewVBox(container.NewHBox(gap(6), l))))
	}
	if len(rows) == 0 {
		t := text("No waveform from this bed", ColorDim, true)
		t.TextSize = 24
		rows = append(rows, container.NewCenter(t))
	}
	d.waves.Layout = layout.NewGridLayoutWithRows(len(rows))
	d.waves.Objects = rows
	d.waves.Refresh()
}

func (d *bedDetail) setSpeed(v float64) {
	d.speed = v
	for _, st := range d.strips {
		st.SetSpeed(v)
	}
}

func (d *bedDetail) tick(now time.Time) {
	for _, st := range d.strips {
		st.Tick(now)
	}
}

// buildNumerics makes a row per parameter: label, value, and its limits
// with − and + for each side.
func (d *bedDetail) buildNumerics() {
	s := d.s
	d.nums.Objects = d.nums.Objects[:0]
	clear(d.values)
	clear(d.limits)
	var rows []LimitRow
	if s.limits != nil {
		rows = s.limits.BedLimits(d.bed.Name)
	} else {
		for _, p := range alarms.Params {
			rows = append(rows, LimitRow{Param: p.Name, Label: p.Label, Code: p.Code, Low: math.NaN(), High: math.NaN(), Decimals: p.Decimals})
		}
	}
	mayErr := errors.New("no limit desk")
	if s.limits != nil {
		mayErr = s.limits.MayAdjust(d.bed.Name)
	}
	for _, r := range rows {
		if _, ok := d.bed.Vital(r.Code); !ok {
			continue // only what the bed measures
		}
		col := paramColor(r.Param)
		name := text(r.Label, col, true)
		name.TextSize = 18
		v := text("--", col, true)
		v.TextSize = 40
		v.Alignment = fyne.TextAlignTrailing
		d.values[r.Param] = v
		lt := text(limitsText(r), ColorDim, false)
		lt.TextSize = 16
		d.limits[r.Param] = lt
		row := container.NewBorder(nil, nil, container.NewVBox(name, lt), nil, v)
		if s.limits != nil && !math.IsNaN(r.Min) {
			adj := container.NewHBox(
				d.stepButton(r, "low", -1, mayErr), d.stepButton(r, "low", +1, mayErr),
				gap(10), d.stepButton(r, "high", -1, mayErr), d.stepButton(r, "high", +1, mayErr))
			d.nums.Add(container.NewVBox(row, container.NewHBox(layout.NewSpacer(), adj)))
		} else {
			d.nums.Add(row)
		}
	}
	if len(d.nums.Objects) == 0 {
		d.nums.Add(text("No numerics from this bed yet", ColorDim, false))
	}
	if mayErr != nil && s.limits != nil {
		why := "Limits: " + mayErr.Error()
		if errors.Is(mayErr, alarms.ErrLoggedOut) {
			why = "Limits: log in to adjust them"
		}
		// wrapped: a long reason must not widen the side panel past its
		// width and push the values out of sight
		l := widget.NewLabel(why)
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.LowImportance
		d.nums.Add(l)
	}
	d.nums.Refresh()
}

// measured counts the limit parameters the bed sends.
func (d *bedDetail) measured() int {
	n := 0
	for _, p := range alarms.Params {
		if _, ok := d.bed.Vital(p.Code); ok {
			n++
		}
	}
	return n
}

func paramColor(name string) color.NRGBA {
	switch name {
	case "hr":
		return ColorECG
	case "spo2":
		return ColorSpO2
	case "rr", "etco2":
		return ColorResp
	case "abp-sys", "abp-dia", "abp-mean":
		return colorABP
	}
	return ColorWhite
}

func limitsText(r LimitRow) string {
	if math.IsNaN(r.Low) && math.IsNaN(r.High) && math.IsNaN(r.Min) {
		return ""
	}
	return "limits " + limitText(r.Low, r.Decimals) + " – " + limitText(r.High, r.Decimals)
}

// stepButton moves one side of a limit by one step, within the bounds.
func (d *bedDetail) stepButton(r LimitRow, side string, dir float64, mayErr error) fyne.CanvasObject {
	label := map[float64]string{-1: "−", 1: "+"}[dir]
	b := widget.NewButton(side+" "+label, nil)
	if mayErr != nil && !errors.Is(mayErr, alarms.ErrLoggedOut) {
		b.Disable()
	}
	b.OnTapped = func() {
		d.s.requireLogin(func() { d.step(r.Param, side, dir) })
	}
	return b
}

// step applies one tap: the limit moves by a step (a side that is off
// starts from its bound), checked and journalled by the core off the UI
// thread; the row shows the result.
func (d *bedDetail) step(param, side string, dir float64) {
	s := d.s
	var r LimitRow
	for _, x := range s.limits.BedLimits(d.bed.Name) {
		if x.Param == param {
			r = x
		}
	}
	if r.Param == "" {
		return
	}
	step := cmp.Or(r.Step, 1)
	lo, hi := r.Low, r.High
	move := func(v, from float64) float64 {
		if math.IsNaN(v) {
			v = from
		}
		return math.Round((v+dir*step)/step) * step
	}
	if side == "low" {
		lo = min(max(move(lo, r.Min), r.Min), r.Max)
	} else {
		hi = min(max(move(hi, r.Max), r.Min), r.Max)
	}
	bed := d.bed.Name
	d.status.SetText(fmt.Sprintf("%s %s limit → %s …", r.Label, side, limitText(map[string]float64{"low": lo, "high": hi}[side], r.Decimals)))
	s.spawn(func() {
		err := s.limits.SetLimit(bed, param, lo, hi)
		fyne.Do(func() {
			if s.detail != d {
				return
			}
			if err != nil {
				d.status.SetText(r.Label + " limit not changed: " + err.Error())
				return
			}
			d.status.SetText(fmt.Sprintf("%s limits now %s – %s (journalled)", r.Label, limitText(lo, r.Decimals), limitText(hi, r.Decimals)))
			for _, x := range s.limits.BedLimits(bed) {
				if t := d.limits[x.Param]; t != nil {
					t.Text = limitsText(x)
					t.Refresh()
				}
			}
		})
	})
}

// update refreshes the numerics, the bed's alarms and the recent ones; new
// channels get their strip.
func (d *bedDetail) update(now time.Time) {
	s := d.s
	if len(d.bed.Channels()) != len(d.codes) {
		d.buildWaves()
	}
	if now.Sub(d.lastNum) >= time.Second && d.measured() != len(d.values) {
		d.buildNumerics()
	}
	if now.Sub(d.lastNum) >= time.Second {
		d.lastNum = now
		if d.news != nil {
			d.news.update(now)
		}
		st := d.bed.State(now)
		fresh := st.Seen && !st.NumStale && !st.Offline
		for param, t := range d.values {
			p, ok := alarms.ParamByName(param)
			if !ok {
				continue
			}
			v, ok := d.bed.Vital(p.Code)
			txt := "--"
			if ok && v.Valid && fresh && !math.IsNaN(v.Value) {
				txt = strconv.FormatFloat(v.Value, 'f', p.Decimals, 64)
			}
			if t.Text != txt {
				t.Text = txt
				t.Refresh()
			}
		}
		d.updateOther(fresh)
	}
	if s.al.desk != nil {
		if v := s.al.desk.View(); v != nil && v.Seq != d.seq {
			d.seq = v.Seq
			d.alarmsB.Objects = d.alarmsB.Objects[:0]
			hot := map[string]alarms.Priority{}
			for i := range v.Alarms {
				a := &v.Alarms[i]
				if a.Bed != d.bed.Name {
					continue
				}
				if !a.Ended && a.Source != alarms.Technical && a.Source != alarms.DeviceTechnical {
					for _, p := range detailParamsOf(a) {
						hot[p] = max(hot[p], a.Priority)
					}
				}
				state := "unacknowledged"
				if a.Acked {
					state = "acknowledged by " + cmp.Or(a.AckedBy, "?")
				}
				l := widget.NewLabel(fmt.Sprintf("%s\n%s, since %s", a.Text(), state, a.Onset.Local().Format("15:04:05")))
				l.Wrapping = fyne.TextWrapWord
				l.TextStyle.Bold = true
				mark := canvas.NewRectangle(PriorityColor(a.Priority))
				mark.SetMinSize(fyne.NewSize(8, 8))
				d.alarmsB.Add(container.NewBorder(nil, nil, mark, nil, l))
			}
			if len(d.alarmsB.Objects) == 0 {
				d.alarmsB.Add(widget.NewLabel("none"))
			}
			// The value out of range in its alarm's colour, as on the tile.
			for param, t := range d.values {
				col := paramColor(param)
				if p := hot[param]; p > alarms.None {
					col = PriorityColor(p)
				}
				if t.Color != col {
					t.Color = col
					t.Refresh()
				}
			}
			d.side.Refresh()
		}
	}
	if s.admin != nil && (d.lastRec.IsZero() || now.Sub(d.lastRec) >= 5*time.Second) {
		d.lastRec = now
		bed := d.bed.Name
		s.spawn(func() {
			rows, err := s.admin.Journal([]string{"alarm"}, bed, 40)
			fyne.Do(func() {
				if s.detail != d {
					return
				}
				if err != nil {
					d.recent.SetText(err.Error())
					return
				}
				d.recent.SetText(recentAlarms(rows, 8))
			})
		})
	}
}

// updateOther lists the bed's values of parameters that have no limits:
// by name when Vigil knows it (CVP, awRR…) or the device named its own code
// in its status, else by code, with the unit the device sent.
func (d *bedDetail) updateOther(fresh bool) {
	var b strings.Builder
	st, _ := d.bed.DeviceStatus()
	stale := d.bed.NumStale()
	for _, v := range d.bed.Vitals() {
		if slices.ContainsFunc(alarms.Params, func(p alarms.Param) bool { return p.Code == v.Code }) {
			continue
		}
		name := fmt.Sprintf("MDC %d", v.Code)
		if p, ok := hl7feed.ParamByCode(v.Code); ok {
			name = p.Label
		} else if n := st.Names[strconv.FormatUint(uint64(v.Code), 10)]; n != "" {
			name = n // the device's own name for its own code
		}
		val := "--"
		// Each value is judged by its own time: a parameter the device
		// stopped sending must not stand among fresh ones.
		if v.Valid && fresh && !math.IsNaN(v.Value) && d.s.now().Sub(v.At) <= stale {
			val = strconv.FormatFloat(math.Round(v.Value*100)/100, 'f', -1, 64)
		}
		fmt.Fprintf(&b, "%-14s %8s %s\n", name, val, v.Unit)
	}
	txt := strings.TrimSuffix(b.String(), "\n")
	if txt == d.other.Text {
		return
	}
	d.other.SetText(txt)
	if txt == "" {
		d.otherB.Hide()
	} else {
		d.otherB.Show()
	}
}

// recentAlarms lists the bed's latest alarms from its journal rows (newest
// first): onset, text, and who acknowledged.
func recentAlarms(rows []AuditRow, n int) string {
	acked := map[string]string{}
	for _, r := range rows {
		if r.Event == "acknowledged" && r.AlarmID != "" {
			acked[r.AlarmID] = fmt.Sprintf("acknowledged by %s %s", cmp.Or(r.Who, "?"), r.At.Local().Format("15:04:05"))
		}
	}
	out := ""
	k := 0
	for _, r := range rows {
		if r.Event != "raised" || k == n {
			continue
		}
		k++
		out += r.At.Local().Format("Mon 15:04:05") + "  " + r.Detail
		if a := acked[r.AlarmID]; a != "" {
			out += " — " + a
		}
		out += "\n"
	}
	if out == "" {
		return "none recorded"
	}
	return out
}

// key handles the detail's keys: A acknowledges the bed, P pauses the
// audio, T opens the trends, D the full disclosure, E the events, Left/Right go to the previous or next bed on
// the overview, 1/2/3 choose the sweep speed.
func (d *bedDetail) key(ev *fyne.KeyEvent) bool {
	s := d.s
	name := d.bed.Name
	switch ev.Name {
	case fyne.KeyA:
		s.acknowledgeShown(d.bed.Name)
	case fyne.KeyP:
		s.pauseAll()
	case fyne.KeyT:
		if s.trends != nil {
			s.openFrom(func() { s.ShowBed(name) }, func() { s.ShowTrends(name) })
		}
	case fyne.KeyD:
		if s.review != nil {
			s.openFrom(func() { s.ShowBed(name) }, func() { s.ShowDisclosure(name, time.Time{}) })
		}
	case fyne.KeyE:
		if s.review != nil {
			s.openFrom(func() { s.ShowBed(name) }, func() { s.ShowEvents(name) })
		}
	case fyne.KeyO:
		if d.news != nil {
			d.news.open()
		}
	case fyne.Key1, fyne.Key2, fyne.Key3:
		d.setSpeed(SweepSpeeds[int(ev.Name[0]-'1')])
		s.ShowBed(name) // the radio shows it
	case fyne.KeyLeft, fyne.KeyRight:
		shown := s.Shown()
		i := slices.Index(shown, name)
		if i < 0 || len(shown) == 0 {
			return true
		}
		i = (i + map[fyne.KeyName]int{fyne.KeyLeft: -1, fyne.KeyRight: 1}[ev.Name] + len(shown)) % len(shown)
		s.selectTile(i)
		s.ShowBed(shown[i])
	default:
		return false
	}
	return true
}

// detailParamsOf are the detail's values an alarm is about: its parameter,
// a blood pressure group's crossed members, the heart rate for an
// arrhythmia.
func detailParamsOf(a *alarms.Alarm) []string {
	if g, ok := alarms.LimitGroupByCode(a.Code); ok {
		var out []string
		_, crossed, _ := strings.Cut(a.Message, "  ")
		for i, m := range g.Members {
			if i < len(g.Short) && strings.Contains(crossed, g.Short[i]+" ") {
				out = append(out, m)
			}
		}
		return out
	}
	switch p := paramOfCode(a.Code); p {
	case "", "nibp":
		return nil
	default:
		return []string{p}
	}
}
