package ui

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/news2"
)

// EarlyWarning is the beds' NEWS2, an advisory score: each bed's score
// with where its values came from, and the observations a nurse charts
// (the core checks the role and journals each entry).
type EarlyWarning interface {
	Assess(bed string) (news2.Assessment, bool)
	// MayChart is nil when the operator may chart for the bed, else why not
	// (alarms.ErrLoggedOut when nobody is logged in).
	MayChart(bed string) error
	Chart(bed string, kind news2.Kind, value float64) error
}

// SetEarlyWarning connects NEWS2: the tiles show each bed's score, the
// detail view its subscores and the charting, and the acuity order
// ranks by it.
func (s *Station) SetEarlyWarning(e EarlyWarning) {
	s.news, s.lastNews = e, time.Time{}
	if e == nil {
		s.SetScore(nil)
		return
	}
	s.SetScore(func(bed string) (float64, bool) {
		a, ok := e.Assess(bed)
		if !ok || a.Summary() == "" {
			return 0, false
		}
		return float64(a.Total), true
	})
}

// newsUrgent is whether a score calls for more than routine monitoring:
// 5 or more, or a single parameter scoring 3.
func newsUrgent(a news2.Assessment) bool { return a.Band >= news2.Medium || a.AnyThree }

// SetNEWS2 shows the bed's NEWS2 summary ("" for none) in the header, on
// an advisory chip when urgent.
func (t *Tile) SetNEWS2(summary string, urgent bool) {
	if summary == "" {
		urgent = false
	}
	if summary == t.newsText.Text && urgent == t.newsUrgent {
		return
	}
	t.newsText.Text, t.newsUrgent = summary, urgent
	t.newsText.Color, t.newsText.TextStyle.Bold = ColorDim, false
	if urgent {
		t.newsText.Color, t.newsText.TextStyle.Bold = ColorWhite, true
	}
	t.placeNewsChip()
	t.syncPanels()
}

// placeNewsChip draws the advisory chip under the NEWS2 text when urgent
// (the numerics' rules: the separator, then the chip).
func (t *Tile) placeNewsChip() {
	if !t.newsUrgent {
		t.nums.setRules(t.sep)
		return
	}
	p, sz := t.newsText.Position().Subtract(t.nums.origin), t.newsText.Size()
	t.nums.setRules(t.sep, panelRule{x: p.X, y: p.Y, w: sz.Width, h: sz.Height, c: ColorAdvisory})
}

// NEWS2 is the tile's NEWS2 summary and whether it is shown as urgent.
func (t *Tile) NEWS2() (string, bool) { return t.newsText.Text, t.newsUrgent }

// updateNEWS2 refreshes the tiles' scores, once a second (now zero: at
// once).
func (s *Station) updateNEWS2(now time.Time) {
	if !now.IsZero() && now.Sub(s.lastNews) < time.Second {
		return
	}
	s.lastNews = now
	for _, t := range s.tiles[:s.ov.cur.Beds] {
		b := t.Bed()
		if b == nil || s.news == nil {
			t.SetNEWS2("", false)
			continue
		}
		a, ok := s.news.Assess(b.Name)
		if !ok {
			t.SetNEWS2("", false)
			continue
		}
		t.SetNEWS2(a.Summary(), newsUrgent(a))
	}
}

// paramLabels are the NEWS2 parameters as the detail view names them.
var paramLabels = map[news2.Param]string{
	news2.RespRate: "Resp. rate", news2.SpO2: "SpO₂", news2.Oxygen: "Air or O₂", news2.SysBP: "Systolic BP",
	news2.Pulse: "Pulse", news2.Consciousness: "ACVPU", news2.Temperature: "Temperature",
}

// inputText is a parameter's value as the detail view lists it.
func inputText(p news2.Param, in news2.Source) string {
	switch p {
	case news2.Oxygen:
		if in.Value == 1 {
			return "oxygen"
		}
		return "air"
	case news2.Consciousness:
		return news2.ACVPU(in.Value).String()
	case news2.Temperature:
		return strconv.FormatFloat(in.Value, 'f', 1, 64) + " °C"
	case news2.SpO2:
		return strconv.FormatFloat(math.Round(in.Value), 'f', 0, 64) + " %"
	}
	return strconv.FormatFloat(math.Round(in.Value), 'f', 0, 64)
}

// sourceText says where a value came from and when.
func sourceText(in news2.Source, now time.Time) string {
	switch {
	case in.Have && in.Charted:
		return "charted by " + in.By + " " + ageText(now.Sub(in.At))
	case in.Have:
		return "device " + ageText(now.Sub(in.At))
	case in.Stale:
		return "too old — not scored"
	}
	return "missing — not scored"
}

func ageText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h %02d min ago", int(d.Hours()), int(d.Minutes())%60)
}

// newsSection is the detail view's NEWS2: total, band and response, the
// seven parameters with value, source and subscore, and the way to chart.
type newsSection struct {
	s      *Station
	bed    string
	box    *fyne.Container
	total  *widget.Label
	rows   *widget.Label
	chart  *widget.Button
	why    *widget.Label
	status *widget.Label // the last charting's outcome
	last   string
	dialog dialog.Dialog
}

func (d *bedDetail) buildNEWS2() fyne.CanvasObject {
	s := d.s
	if s.news == nil {
		return container.NewVBox()
	}
	n := &newsSection{s: s, bed: d.bed.Name}
	n.total = widget.NewLabel("")
	n.total.TextStyle.Bold = true
	n.total.Wrapping = fyne.TextWrapWord
	n.rows = widget.NewLabel("")
	n.rows.TextStyle.Monospace = true
	n.why = widget.NewLabel("")
	n.why.Wrapping = fyne.TextWrapWord
	n.status = widget.NewLabel("")
	n.status.Wrapping = fyne.TextWrapWord
	n.status.Hide()
	n.chart = widget.NewButton("Chart observations (O)", n.open)
	n.box = container.NewVBox(heading("NEWS2 — advisory"), n.total, n.rows, n.chart, n.why, n.status)
	d.news = n
	n.update(s.now())
	return n.box
}

// update redraws the section when the score or its sources changed.
func (n *newsSection) update(now time.Time) {
	a, ok := n.s.news.Assess(n.bed)
	if !ok {
		return
	}
	var total string
	switch sum := a.Summary(); {
	case sum == "":
		total = "No NEWS2: no parameter measured or charted"
	case a.Complete:
		total = fmt.Sprintf("%s — %s", sum, a.Band.Response())
	default:
		total = fmt.Sprintf("%s — incomplete: chart or measure %s", sum, missingText(a))
	}
	if th := a.Threes(); len(th) > 0 && a.Band < news2.Medium {
		var names []string
		for _, p := range th {
			names = append(names, paramLabels[p])
		}
		total += " · single parameter 3 (" + strings.Join(names, ", ") + "): " + news2.LowSingle.Response()
	}
	// The advisory the core raised for this bed, if any (listed here, not
	// with the alarms: it never sounds).
	if d := n.s.al.desk; d != nil {
		if v := d.View(); v != nil {
			for _, adv := range v.Advisories {
				if adv.Bed == n.bed && adv.Kind == "news2" {
					total = adv.Label() + " (since " + adv.At.Local().Format("15:04") + ")\n" + total
				}
			}
		}
	}
	var b strings.Builder
	for _, p := range news2.Params() {
		in := a.Inputs[p]
		v, sub := "—", " "
		if in.Have {
			v, sub = inputText(p, in), strconv.Itoa(a.Sub[p])
		}
		fmt.Fprintf(&b, "%-12s %-8s %s  %s\n", paramLabels[p], v, sub, sourceText(in, now))
	}
	if a.Scale2 {
		b.WriteString("SpO₂ scale 2 (target 88–92 %)\n")
	}
	mayErr := n.s.news.MayChart(n.bed)
	why := ""
	switch {
	case errors.Is(mayErr, alarms.ErrLoggedOut):
		why = "Log in to chart observations."
	case mayErr != nil:
		why = "Charting: " + mayErr.Error()
	}
	key := total + b.String() + why
	if key == n.last {
		return
	}
	n.last = key
	n.total.SetText(total)
	n.rows.SetText(strings.TrimRight(b.String(), "\n"))
	n.why.SetText(why)
	if why == "" {
		n.why.Hide()
		n.chart.Enable()
	} else {
		n.why.Show()
		n.chart.Disable()
	}
}

func missingText(a news2.Assessment) string {
	var names []string
	for _, p := range a.Missing() {
		names = append(names, paramLabels[p])
	}
	return strings.Join(names, ", ")
}

// open shows the chart form: consciousness, air or oxygen, the SpO2 scale
// and a temperature, each optional; what is set is charted, timed and
// attributed by the core.
func (n *newsSection) open() {
	s := n.s
	if s.sess.win == nil {
		return
	}
	s.Touched()
	if err := s.news.MayChart(n.bed); err != nil {
		if errors.Is(err, alarms.ErrLoggedOut) {
			s.AskLogin(n.open)
			return
		}
		n.say("Not charted: " + err.Error())
		return
	}
	a, _ := s.news.Assess(n.bed)
	acvpu := widget.NewRadioGroup([]string{"A — alert", "C — new confusion", "V — voice", "P — pain", "U — unresponsive"}, nil)
	oxygen := widget.NewRadioGroup([]string{"Air", "Oxygen"}, nil)
	oxygen.Horizontal = true
	scale := widget.NewRadioGroup([]string{"Scale 1", "Scale 2 (hypercapnic, target 88–92 %)"}, nil)
	temp := widget.NewEntry()
	temp.SetPlaceHolder("°C, e.g. 37.8 (leave empty if not taken)")
	if in := a.Inputs[news2.Consciousness]; in.Have {
		acvpu.SetSelected(acvpu.Options[int(in.Value)])
	}
	if in := a.Inputs[news2.Oxygen]; in.Have {
		oxygen.SetSelected(oxygen.Options[int(in.Value)])
	}
	curScale := 0
	if a.Scale2 {
		curScale = 1
	}
	scale.SetSelected(scale.Options[curScale])
	form := widget.NewForm(
		widget.NewFormItem("Consciousness", acvpu),
		widget.NewFormItem("Supplemental O₂", oxygen),
		widget.NewFormItem("SpO₂ scale", scale),
		widget.NewFormItem("Temperature", temp),
	)
	msg := widget.NewLabel("Each entry is charted with your name and the time. Scale 2 only on a clinician's decision.")
	msg.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(form, msg)
	dlg := dialog.NewCustomConfirm("Chart observations — "+s.bedTitle(n.bed), "Chart", "Cancel", body, func(ok bool) {
		if !ok {
			return
		}
		var entries []chartEntry
		// Consciousness and oxygen are charted as observed now, even
		// unchanged (the round's observation makes them fresh again).
		if i := indexOf(acvpu.Options, acvpu.Selected); i >= 0 {
			entries = append(entries, chartEntry{news2.ChartConsciousness, float64(i)})
		}
		if i := indexOf(oxygen.Options, oxygen.Selected); i >= 0 {
			entries = append(entries, chartEntry{news2.ChartOxygen, float64(i)})
		}
		if i := indexOf(scale.Options, scale.Selected); i >= 0 && i != curScale {
			entries = append(entries, chartEntry{news2.ChartScale, float64(i + 1)})
		}
		if t := strings.TrimSpace(strings.ReplaceAll(temp.Text, ",", ".")); t != "" {
			v, err := strconv.ParseFloat(t, 64)
			if err != nil {
				n.say(fmt.Sprintf("Temperature %q is not a number: nothing charted.", temp.Text))
				return
			}
			entries = append(entries, chartEntry{news2.ChartTemperature, v})
		}
		n.chartAll(entries)
	}, s.sess.win)
	dlg.Resize(fyne.NewSize(640, 480))
	n.dialog = dlg
	dlg.Show()
}

type chartEntry struct {
	kind  news2.Kind
	value float64
}

// say shows the outcome of the last charting under the section.
func (n *newsSection) say(msg string) {
	n.status.SetText(msg)
	n.status.Show()
}

// chartAll charts entries in turn, off the UI goroutine (each waits for
// the journal), and stops at the first refused.
func (n *newsSection) chartAll(entries []chartEntry) {
	s := n.s
	if len(entries) == 0 {
		n.say("Nothing to chart.")
		return
	}
	n.say("Charting …")
	s.spawn(func() {
		var done []string
		var err error
		for _, e := range entries {
			if err = s.news.Chart(n.bed, e.kind, e.value); err != nil {
				err = fmt.Errorf("%v not charted: %w", e.kind, err)
				break
			}
			done = append(done, news2.Entry{Kind: e.kind, Value: e.value}.Text())
		}
		fyne.Do(func() {
			msg := ""
			if len(done) > 0 {
				msg = "Charted (journalled): " + strings.Join(done, ", ") + ". "
			}
			if err != nil {
				msg += err.Error()
			}
			n.say(strings.TrimSpace(msg))
			n.last = ""
			n.update(s.now())
			s.updateNEWS2(time.Time{})
		})
	})
}

func indexOf(opts []string, v string) int {
	for i, o := range opts {
		if o == v {
			return i
		}
	}
	return -1
}
