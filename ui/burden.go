package ui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// BurdenReport is the alarm burden of a window, for the ward or one bed,
// as the alarm-burden view shows it (the app fills it from the journal).
// Rates are per bed-day; shares are fractions 0–1; durations are zero
// when nothing was acknowledged.
type BurdenReport struct {
	// From and To are the window the figures cover. From may be later than
	// asked (the journal began then) and To earlier (now).
	From, To time.Time
	Bed      string // "" = the ward

	Alarms    int     // alarms of beds raised in the window
	BedDays   float64 // monitored bed-days (BedDaysRule says how they are counted)
	PerBedDay float64
	// BedDaysRule is one sentence on how bed-days are counted, shown under
	// the figures; "" shows none.
	BedDaysRule string

	High, Medium, Low int // alarms by priority (the highest each reached)

	AutoResolved int     // ended by themselves within 10 s, never acknowledged
	AutoShare    float64 // AutoResolved / Alarms

	Acked                     int           // acknowledged at all (even after the window)
	AckMedian, AckP90, AckMax time.Duration // time to acknowledge, of the acknowledged
	AckHist                   []BurdenBucket

	Beds          []BurdenBed   // in the order shown: noisiest first
	Params        []BurdenParam // in the order shown: most alarms first
	NoisiestShare float64       // share of Alarms from the beds marked Noisiest
	StationWide   int           // alarms without a bed (broker lost ...): in no other figure
	Suggestions   []string      // one sentence each, strongest first
}

// BurdenBed is one bed's line of the report.
type BurdenBed struct {
	Bed               string
	Alarms            int
	BedDays           float64
	PerBedDay         float64
	High, Medium, Low int
	AutoShare         float64
	Acked             int
	AckMedian         time.Duration
	Noisiest          bool // among the noisiest 10 % of the ward's beds
}

// BurdenParam is one parameter's (or condition's) line of the report.
type BurdenParam struct {
	Param             string // "hr", "spo2", "desat", "leads-off" ...
	Label             string // as a nurse reads it: "HR", "SpO2 desaturation"
	Alarms            int
	PerBedDay         float64
	High, Medium, Low int
	AutoShare         float64
	Acked             int
	AckMedian         time.Duration
}

// BurdenBucket is one bar of the time-to-acknowledge histogram, e.g.
// "under 10 s", "1–2 min", "not acknowledged".
type BurdenBucket struct {
	Label string
	Count int
}

// BurdenSource gives the alarm burden of [from, to) for bed ("" = the
// ward) and writes the alarm inventory of the same window as CSV. Both are
// called off the UI thread.
type BurdenSource interface {
	Burden(from, to time.Time, bed string) (BurdenReport, error)
	InventoryCSV(from, to time.Time, bed string, w io.Writer) error
}

// BurdenOptions configure a BurdenView.
type BurdenOptions struct {
	Now func() time.Time // time.Now when nil
	// Spawn runs slow work (reading the journal, writing the export) off the
	// UI thread: the app passes func(f func()) { go f() } (the default),
	// tests run f in line. Results come back through fyne.Do.
	Spawn func(func())
	// OnExport is told of every file an export wrote; nil: nobody.
	OnExport func(path string)
	// ExportDir is where the inventory is written, as
	// alarm-inventory-<from>-<to>.csv (with -bed-<bed> for one bed).
	ExportDir string
}

// BurdenSpan is one of the view's windows.
type BurdenSpan struct {
	Name string
	Span time.Duration
}

// BurdenSpans are the windows the view offers: a day, a week, a month.
var BurdenSpans = []BurdenSpan{{"24 h", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour}}

// burdenWard is the bed choice for the whole ward.
const burdenWard = "Ward (all beds)"

// BurdenView is the alarm-burden screen for the hospital's alarm-safety
// work: per bed and per ward, alarms per bed-day by parameter and
// priority, time to acknowledge, the share that ended by itself within
// 10 s, the noisiest beds and suggested reviews; and the alarm inventory as
// CSV. Show its Content in a panel (Station.ShowPanel).
type BurdenView struct {
	src BurdenSource
	opt BurdenOptions

	span       BurdenSpan
	bed        string   // "" = ward
	knownBeds  []string // every bed a ward report listed, for the bed choice
	gen        int      // the newest load; older answers are dropped
	loaded     bool     // report holds an answer for from, to, bed
	report     BurdenReport
	from, to   time.Time // the window asked for the shown report
	shownBed   string
	exporting  bool
	settingBed bool // the bed choice is being set from code, not by a tap

	spans    *widget.RadioGroup
	bedSel   *widget.Select
	summary  *widget.Label
	prio     [3]*canvas.Text // HIGH, MEDIUM, LOW
	noisy    *widget.Label
	note     *widget.Label
	beds     *widget.Table
	params   *widget.Table
	hist     *fyne.Container
	suggests *fyne.Container
	exportB  *widget.Button
	refreshB *widget.Button
	status   *widget.Label
	side     *container.Scroll
	themed   *container.ThemeOverride
	content  fyne.CanvasObject
}

// burdenTheme is the station theme with larger text, so the figures can
// be read from 2 m (like the alarm bar's).
type burdenTheme struct {
	Theme
	text float32
}

func (t burdenTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return t.text
	case theme.SizeNameInnerPadding:
		return 6
	}
	return t.Theme.Size(n)
}

var (
	burdenBedCols   = []string{"Bed", "Alarms", "Per bed-day", "*** HIGH", "** MEDIUM", "* LOW", "Auto-resolved", "Median ack"}
	burdenBedWidths = []float32{200, 90, 130, 100, 130, 80, 150, 140}
	burdenParCols   = []string{"Parameter", "Alarms", "Per bed-day", "*** HIGH", "** MEDIUM", "* LOW", "Auto-resolved", "Median ack"}
	burdenParWidths = []float32{200, 90, 130, 100, 130, 80, 150, 140}
)

// NewBurdenView builds the view and starts reading the last 24 h of the
// ward.
func NewBurdenView(src BurdenSource, opt BurdenOptions) *BurdenView {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Spawn == nil {
		opt.Spawn = func(f func()) { go f() }
	}
	v := &BurdenView{src: src, opt: opt, span: BurdenSpans[0]}
	v.summary = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.summary.Wrapping = fyne.TextWrapWord
	for i, p := range []alarms.Priority{alarms.High, alarms.Medium, alarms.Low} {
		v.prio[i] = text("", PriorityColor(p), true)
		v.prio[i].TextSize = 20
	}
	v.noisy = widget.NewLabel("")
	v.noisy.Wrapping = fyne.TextWrapWord
	v.note = widget.NewLabel("")
	v.note.Wrapping = fyne.TextWrapWord
	v.note.Importance = widget.LowImportance
	v.status = widget.NewLabel("")
	v.status.Wrapping = fyne.TextWrapWord

	v.beds = burdenTable(burdenBedWidths, func() int { return len(v.report.Beds) }, v.bedCell)
	v.params = burdenTable(burdenParWidths, func() int { return len(v.report.Params) }, v.paramCell)
	v.hist = container.NewVBox()
	v.suggests = container.NewVBox()

	var names []string
	for _, s := range BurdenSpans {
		names = append(names, s.Name)
	}
	v.spans = widget.NewRadioGroup(names, func(name string) {
		for _, s := range BurdenSpans {
			if s.Name == name && s != v.span {
				v.span = s
				v.load()
			}
		}
	})
	v.spans.Horizontal = true
	v.spans.Required = true
	v.spans.SetSelected(v.span.Name)
	v.bedSel = widget.NewSelect([]string{burdenWard}, func(choice string) {
		if v.settingBed {
			return
		}
		bed := strings.TrimPrefix(choice, "Bed ")
		if choice == burdenWard {
			bed = ""
		}
		if bed != v.bed {
			v.bed = bed
			v.load()
		}
	})
	v.setBedChoice()
	v.exportB = widget.NewButtonWithIcon("Export inventory (CSV)", theme.DocumentSaveIcon(), v.export)
	v.exportB.Importance = widget.HighImportance
	v.exportB.Disable()
	v.refreshB = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), v.Reload)

	section := func(t string) fyne.CanvasObject {
		l := text(t, ColorWhite, true)
		l.TextSize = 20
		return l
	}
	controls := container.NewHBox(widget.NewLabel("Window"), v.spans, widget.NewLabel("   Show"),
		container.NewStack(gap(230), v.bedSel), v.refreshB, v.exportB)
	summary := container.NewThemeOverride(v.summary, burdenTheme{text: 22})
	top := container.NewVBox(controls, summary,
		container.NewHBox(v.prio[0], gap(24), v.prio[1], gap(24), v.prio[2]), v.noisy, v.note)
	bedsBox := container.NewBorder(section("Beds — noisiest first"), nil, nil, nil, v.beds)
	paramsBox := container.NewBorder(section("Parameters and conditions"), nil, nil, nil, v.params)
	tables := container.NewVSplit(bedsBox, paramsBox)
	tables.Offset = 0.55
	v.side = container.NewVScroll(container.NewVBox(section("Time to acknowledge"), v.hist, widget.NewSeparator(),
		section("Suggested reviews"), burdenSmall("Advice for the alarm committee: nothing changes by itself."), v.suggests))
	split := container.NewHSplit(tables, v.side)
	split.Offset = 0.6
	body := container.NewBorder(top, v.status, nil, nil, split)
	v.themed = container.NewThemeOverride(body, burdenTheme{text: 18})
	v.content = v.themed
	v.load()
	return v
}

func burdenSmall(s string) fyne.CanvasObject {
	l := widget.NewLabel(s)
	l.Importance = widget.LowImportance
	l.Wrapping = fyne.TextWrapWord
	return l
}

// Content is the view, to show in a panel.
func (v *BurdenView) Content() fyne.CanvasObject { return v.content }

// Reload reads the figures again for the chosen window, ending now.
func (v *BurdenView) Reload() { v.load() }

// burdenTable is a table whose row 0 is the header.
func burdenTable(widths []float32, rows func() int, cell func(row, col int) (string, bool)) *widget.Table {
	t := widget.NewTable(func() (int, int) { return rows() + 1, len(widths) },
		func() fyne.CanvasObject { return widget.NewLabel("00000000") },
		func(c widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			s, bold := cell(c.Row, c.Col)
			l.TextStyle.Bold = bold
			l.SetText(s)
		})
	for i, w := range widths {
		t.SetColumnWidth(i, w)
	}
	return t
}

func (v *BurdenView) load() {
	v.gen++
	g := v.gen
	to := v.opt.Now()
	from, bed, span := to.Add(-v.span.Span), v.bed, v.span
	v.status.SetText("Reading the journal…")
	v.opt.Spawn(func() {
		r, err := v.src.Burden(from, to, bed)
		fyne.Do(func() {
			if g != v.gen {
				return // a newer window or bed was chosen meanwhile
			}
			if err != nil {
				v.loaded, v.report = false, BurdenReport{}
				v.show(span)
				v.summary.SetText("The alarm burden could not be read.")
				v.status.SetText("Alarm burden: " + err.Error() + " — try Refresh; if it persists, tell IT.")
				return
			}
			v.loaded, v.report, v.from, v.to, v.shownBed = true, r, from, to, bed
			if bed == "" {
				for _, b := range r.Beds {
					if !slices.Contains(v.knownBeds, b.Bed) {
						v.knownBeds = append(v.knownBeds, b.Bed)
					}
				}
				slices.Sort(v.knownBeds)
				v.setBedChoice()
			}
			v.show(span)
			v.status.SetText("")
		})
	})
}

func (v *BurdenView) setBedChoice() {
	opts := []string{burdenWard}
	for _, b := range v.knownBeds {
		opts = append(opts, "Bed "+b)
	}
	v.settingBed = true
	v.bedSel.Options = opts
	if v.bed == "" {
		v.bedSel.SetSelected(burdenWard)
	} else {
		v.bedSel.SetSelected("Bed " + v.bed)
	}
	v.settingBed = false
	v.bedSel.Refresh()
}

// show puts the report on screen.
func (v *BurdenView) show(span BurdenSpan) {
	r := v.report
	v.summary.SetText(burdenSummary(r, v.shownBed, span.Name))
	for i, p := range []struct {
		pr alarms.Priority
		n  int
	}{{alarms.High, r.High}, {alarms.Medium, r.Medium}, {alarms.Low, r.Low}} {
		v.prio[i].Text = fmt.Sprintf("%s %s %d (%s per bed-day)", p.pr.Prefix(), strings.ToUpper(p.pr.String()), p.n,
			burdenRate(r, p.n))
		v.prio[i].Refresh()
	}
	v.noisy.SetText(burdenNoisiest(r, v.shownBed))
	v.note.SetText(burdenNote(r, v.from))
	v.beds.Refresh()
	v.params.Refresh()
	v.hist.Objects = burdenHistogram(r)
	v.hist.Refresh()
	v.suggests.Objects = nil
	for _, s := range r.Suggestions {
		l := widget.NewLabel("• " + s)
		l.Wrapping = fyne.TextWrapWord
		v.suggests.Add(l)
	}
	if len(r.Suggestions) == 0 && v.loaded {
		v.suggests.Add(widget.NewLabel("None: no bed and parameter reaches the review thresholds."))
	}
	if v.themed != nil {
		v.themed.Refresh() // the new rows take the larger text too ...
		v.side.Refresh()   // ... and their wrapped height with it
	}
	if v.loaded && !v.exporting {
		v.exportB.Enable()
	} else {
		v.exportB.Disable()
	}
}

// burdenWho names what a report is about.
func burdenWho(bed string) string {
	if bed == "" {
		return "Ward"
	}
	return "Bed " + bed
}

// burdenMinBedDays is the least monitored time a rate is shown for: one
// bed-hour. Over a journal minutes old, alarms "per bed-day" would be a
// number without meaning.
const burdenMinBedDays = 1.0 / 24

// burdenPerDay is a rate per bed-day, "—" over too short a time.
func burdenPerDay(rate, bedDays float64) string {
	if bedDays < burdenMinBedDays {
		return "—"
	}
	return fmt.Sprintf("%.1f", rate)
}

func burdenRate(r BurdenReport, n int) string {
	if r.BedDays < burdenMinBedDays {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(n)/r.BedDays)
}

// burdenSummary is the line of figures over the tables.
func burdenSummary(r BurdenReport, bed, span string) string {
	head := fmt.Sprintf("%s, last %s: ", burdenWho(bed), span)
	if r.Alarms == 0 {
		return head + "no alarms."
	}
	ack := "none acknowledged"
	if r.Acked > 0 {
		ack = fmt.Sprintf("median %s, 90th percentile %s (%d of %d acknowledged)", burdenDur(r.AckMedian),
			burdenDur(r.AckP90), r.Acked, r.Alarms)
	}
	rate := burdenPerDay(r.PerBedDay, r.BedDays) + " alarms per bed-day"
	if r.BedDays < burdenMinBedDays {
		rate = "too short a time for rates (under one bed-hour)"
	}
	return head + fmt.Sprintf("%d alarms · %.1f bed-days · %s · auto-resolved within 10 s: %s · "+
		"time to acknowledge: %s", r.Alarms, r.BedDays, rate, burdenPct(r.AutoShare), ack)
}

// burdenNoisiest names the ward's noisiest beds (a one-bed report has no
// ward to compare with) and the station-wide alarms left out.
func burdenNoisiest(r BurdenReport, bed string) string {
	var loud []string
	for _, b := range r.Beds {
		if b.Noisiest {
			loud = append(loud, b.Bed)
		}
	}
	s := ""
	if len(loud) > 0 && bed == "" {
		s = fmt.Sprintf("NOISIEST 10 %% of beds: %s — %s of the ward's alarms.", strings.Join(loud, ", "),
			burdenPct(r.NoisiestShare))
	}
	if r.StationWide > 0 {
		s = strings.TrimSpace(s + fmt.Sprintf(" Station-wide alarms (no bed): %d, not counted above.", r.StationWide))
	}
	return s
}

// burdenNote says which window the figures cover and how bed-days count.
func burdenNote(r BurdenReport, asked time.Time) string {
	if r.From.IsZero() {
		return ""
	}
	const f = "Mon 02 Jan 15:04"
	s := fmt.Sprintf("Alarms raised %s – %s.", r.From.Local().Format(f), r.To.Local().Format(f))
	if r.From.After(asked.Add(time.Minute)) {
		s += " The journal begins at " + r.From.Local().Format(f) + ": nothing earlier is known."
	}
	if r.BedDaysRule != "" {
		s += " " + r.BedDaysRule
	}
	return s
}

func burdenPct(f float64) string { return fmt.Sprintf("%.0f %%", 100*f) }

// burdenDur is a waiting time as read aloud: "45 s", "3 min 10 s", "1 h 5 min".
func burdenDur(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		m, s := int(d/time.Minute), int((d%time.Minute)/time.Second)
		if s == 0 {
			return fmt.Sprintf("%d min", m)
		}
		return fmt.Sprintf("%d min %d s", m, s)
	}
	h, m := int(d/time.Hour), int((d%time.Hour)/time.Minute)
	if m == 0 {
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

func burdenAck(acked int, median time.Duration) string {
	if acked == 0 {
		return "—"
	}
	return burdenDur(median)
}

// bedCell is the bed table's text at row, col (row 0: the header) and
// whether it is bold. The noisiest beds say so in words, bold.
func (v *BurdenView) bedCell(row, col int) (string, bool) {
	if row == 0 {
		return burdenBedCols[col], true
	}
	if row-1 >= len(v.report.Beds) {
		return "", false
	}
	b := v.report.Beds[row-1]
	noisy := b.Noisiest && v.shownBed == "" // one bed alone is no comparison
	switch col {
	case 0:
		if noisy {
			return b.Bed + " — NOISIEST", true
		}
		return b.Bed, false
	case 1:
		return fmt.Sprint(b.Alarms), noisy
	case 2:
		return burdenPerDay(b.PerBedDay, b.BedDays), noisy
	case 3:
		return fmt.Sprint(b.High), false
	case 4:
		return fmt.Sprint(b.Medium), false
	case 5:
		return fmt.Sprint(b.Low), false
	case 6:
		return burdenPct(b.AutoShare), false
	case 7:
		return burdenAck(b.Acked, b.AckMedian), false
	}
	return "", false
}

// paramCell is the parameter table's text at row, col (row 0: the header).
func (v *BurdenView) paramCell(row, col int) (string, bool) {
	if row == 0 {
		return burdenParCols[col], true
	}
	if row-1 >= len(v.report.Params) {
		return "", false
	}
	p := v.report.Params[row-1]
	switch col {
	case 0:
		return p.Label, false
	case 1:
		return fmt.Sprint(p.Alarms), false
	case 2:
		return burdenPerDay(p.PerBedDay, v.report.BedDays), false
	case 3:
		return fmt.Sprint(p.High), false
	case 4:
		return fmt.Sprint(p.Medium), false
	case 5:
		return fmt.Sprint(p.Low), false
	case 6:
		return burdenPct(p.AutoShare), false
	case 7:
		return burdenAck(p.Acked, p.AckMedian), false
	}
	return "", false
}

// burdenBarWidth is the longest bar of the histogram, in pixels.
const burdenBarWidth = 360

// burdenHistogram is the time-to-acknowledge histogram as rows of a
// label, a bar and the count with its share.
func burdenHistogram(r BurdenReport) []fyne.CanvasObject {
	most := 0
	for _, b := range r.AckHist {
		most = max(most, b.Count)
	}
	var rows []fyne.CanvasObject
	for _, b := range r.AckHist {
		label := widget.NewLabel(b.Label)
		bar := canvas.NewRectangle(ColorWhite)
		w := float32(0)
		if most > 0 {
			w = burdenBarWidth * float32(b.Count) / float32(most)
		}
		if b.Count > 0 {
			w = max(w, 3) // one alarm still shows
		}
		bar.SetMinSize(fyne.NewSize(w, 20))
		share := 0.0
		if r.Alarms > 0 {
			share = float64(b.Count) / float64(r.Alarms)
		}
		count := widget.NewLabel(fmt.Sprintf("%d (%s)", b.Count, burdenPct(share)))
		rows = append(rows, container.NewHBox(container.NewGridWrap(fyne.NewSize(200, 36), label),
			container.NewCenter(bar), count))
	}
	return rows
}

// BurdenFileName is the export's file name for a window and bed:
// alarm-inventory-20261124T0800Z-20261125T0800Z.csv (UTC), with
// -bed-<bed> for one bed.
func BurdenFileName(from, to time.Time, bed string) string {
	const f = "20060102T1504Z"
	name := "alarm-inventory-" + from.UTC().Format(f) + "-" + to.UTC().Format(f)
	if bed != "" {
		name += "-bed-" + strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
				return r
			}
			return '_'
		}, bed)
	}
	return name + ".csv"
}

// export writes the shown window's inventory into ExportDir.
func (v *BurdenView) export() {
	if !v.loaded || v.exporting {
		return
	}
	dir := v.opt.ExportDir
	if dir == "" {
		v.status.SetText("Export: no folder is set for exports at this station; ask IT to set one.")
		return
	}
	from, to, bed := v.from, v.to, v.shownBed
	v.exporting = true
	v.exportB.Disable()
	v.status.SetText("Exporting the alarm inventory…")
	v.opt.Spawn(func() {
		path, err := writeInventory(v.src, dir, BurdenFileName(from, to, bed), from, to, bed)
		fyne.Do(func() {
			v.exporting = false
			if v.loaded {
				v.exportB.Enable()
			}
			if err != nil {
				v.status.SetText("Export failed: " + err.Error())
				return
			}
			if v.opt.OnExport != nil {
				v.opt.OnExport(path)
			}
			v.status.SetText("Alarm inventory written to " + path)
		})
	})
}

// writeInventory writes the CSV next to its final name and renames it into
// place, so a half-written file never carries the name.
func writeInventory(src BurdenSource, dir, name string, from, to time.Time, bed string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+name+".*") // 0600
	if err != nil {
		return "", err
	}
	werr := src.InventoryCSV(from, to, bed, f)
	if werr == nil {
		werr = f.Sync()
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return path, nil
}
