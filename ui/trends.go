package ui

import (
	"cmp"
	"fmt"
	"image"
	"image/draw"
	"math"
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// Trends gives a bed's trends: one series per parameter that has any in
// [from, to), with its limits and alarm onsets.
type Trends interface {
	Trends(bed string, from, to time.Time) ([]TrendSeries, error)
}

// SetTrends connects the trend view.
func (s *Station) SetTrends(t Trends) { s.trends = t }

// TrendSpans are the trend view's time spans.
var TrendSpans = []time.Duration{time.Hour, 8 * time.Hour, 24 * time.Hour, 72 * time.Hour}

const trendChartHeight = 170

// ShowTrends opens bed's trends in place of the grid: a chart per
// parameter over the chosen span (1, 8, 24 or 72 h), or the same minutes
// as a table. Data is read and charts are drawn off the UI thread.
func (s *Station) ShowTrends(bed string) {
	if s.trends == nil {
		return
	}
	span := 8 * time.Hour
	status := widget.NewLabel("")
	charts := container.NewVBox()
	var tab trendTable
	table := widget.NewTable(func() (int, int) { return len(tab.mins) + 1, len(tab.series) + 1 },
		func() fyne.CanvasObject { return widget.NewLabel("00 Mon 00:00") },
		func(c widget.TableCellID, o fyne.CanvasObject) { o.(*widget.Label).SetText(tab.cell(c.Row, c.Col)) })
	table.SetColumnWidth(0, 150)
	asTable := false
	body := container.NewStack(container.NewVScroll(charts))
	gen := 0
	var slots []*canvas.Image
	load := func() {
		gen++
		g := gen
		to := s.now()
		from := to.Add(-span)
		width := int(max(600, s.content.Size().Width-260))
		status.SetText("loading…")
		// The limits shown are the detail's (one source of truth per limit),
		// read now, not the trend source's own copy.
		var rows []LimitRow
		if s.limits != nil {
			rows = s.limits.BedLimits(bed)
		}
		desat := s.desatLimit(bed)
		s.spawn(func() {
			t0 := time.Now()
			got, err := s.trends.Trends(bed, from, to)
			imgs := make([]*image.RGBA, len(got))
			lims := make([]trendLimits, len(got))
			for i := range got {
				got[i], lims[i] = withDeskLimits(got[i], rows, desat)
				if err == nil {
					imgs[i], err = RenderTrend(got[i], from, to, width, trendChartHeight)
				}
			}
			took := time.Since(t0)
			fyne.Do(func() {
				if g != gen {
					return // a newer span was chosen meanwhile
				}
				if err != nil {
					status.SetText("trends: " + err.Error())
					return
				}
				tab = newTrendTable(got)
				charts.Objects = charts.Objects[:0]
				for i, ser := range got {
					// The charts are copied into images kept from the last
					// load (one per row), so a span change allocates none.
					for len(slots) <= i {
						im := canvas.NewImageFromImage(nil)
						im.FillMode = canvas.ImageFillOriginal
						im.ScaleMode = canvas.ImageScalePixels
						slots = append(slots, im)
					}
					im := slots[i]
					buf, _ := im.Image.(*image.RGBA)
					if buf == nil || buf.Bounds() != imgs[i].Bounds() {
						buf = image.NewRGBA(imgs[i].Bounds())
					}
					draw.Draw(buf, buf.Bounds(), imgs[i], image.Point{}, draw.Src)
					im.Image = buf
					im.Refresh()
					charts.Add(container.NewBorder(nil, nil, trendLabel(ser, lims[i]), nil, im))
				}
				charts.Refresh()
				for i := range got {
					table.SetColumnWidth(i+1, 110)
				}
				table.Refresh()
				if len(got) == 0 {
					status.SetText("no trends recorded for this bed in the last " + spanName(span))
				} else {
					desat := ""
					if slices.ContainsFunc(got, func(s TrendSeries) bool { return !math.IsNaN(s.desat()) }) {
						desat = "; solid red: SpO2 desaturation limit (HIGH)"
					}
					status.SetText(fmt.Sprintf("%d parameters, 1-minute medians, %s; red dashes: alarm limits%s; vertical lines: alarm onsets (read in %d ms)",
						len(got), spanName(span), desat, took.Milliseconds()))
				}
			})
		})
	}
	var names []string
	for _, d := range TrendSpans {
		names = append(names, spanName(d))
	}
	spans := widget.NewRadioGroup(names, func(v string) {
		for _, d := range TrendSpans {
			if spanName(d) == v {
				span = d
			}
		}
		load()
	})
	spans.Horizontal = true
	spans.Required = true
	view := widget.NewButton("Table", nil)
	view.OnTapped = func() {
		asTable = !asTable
		if asTable {
			view.SetText("Charts")
			body.Objects = []fyne.CanvasObject{table}
		} else {
			view.SetText("Table")
			body.Objects = []fyne.CanvasObject{container.NewVScroll(charts)}
		}
		watchInputs(body, s.Touched)
		body.Refresh()
	}
	top := container.NewHBox(widget.NewLabel("Span"), spans, view, status)
	title := "Trends — " + bed
	if s.info != nil {
		if l, ok := s.info(bed); ok && l.Label != "" {
			title = "Trends — " + l.Label
			if l.Patient != "" {
				title += " — " + l.Patient
			}
		}
	}
	s.ShowPanel(title, container.NewBorder(top, nil, nil, nil, body))
	spans.SetSelected(spanName(span)) // loads
}

func spanName(d time.Duration) string { return strconv.Itoa(int(d.Hours())) + " h" }

// DesatDesk is a LimitDesk that also says a bed's SpO2 desaturation limit
// (NaN: off), the HIGH limit below the SpO2 low limit.
type DesatDesk interface {
	DesatLimit(bed string) float64
}

// bedLimiter is an alarm desk that says a bed's limits (alarms.Service).
type bedLimiter interface {
	Limits(bed string) alarms.BedLimits
}

// desatLimit is bed's SpO2 desaturation limit from the alarm system: the
// limit desk's, else the alarm desk's bed limits (the same limits the
// detail's rows come from); NaN when neither says.
func (s *Station) desatLimit(bed string) float64 {
	if d, ok := s.limits.(DesatDesk); ok {
		return d.DesatLimit(bed)
	}
	if d, ok := s.al.desk.(bedLimiter); ok && s.limits != nil {
		return d.Limits(bed).Desat()
	}
	return math.NaN()
}

// trendLimits says where a trend's limits come from.
type trendLimits struct {
	fromDesk bool // Low, High and Desat are the detail's (the LimitDesk's, and the alarm system's desat)
}

// withDeskLimits gives s the detail's limits of its parameter (rows from
// the LimitDesk, matched by label) and, for SpO2, the desaturation limit
// desat (NaN: off) beside them, drawn and labelled (Desat); another
// parameter has none. A parameter the desk does not list keeps the
// source's.
func withDeskLimits(s TrendSeries, rows []LimitRow, desat float64) (TrendSeries, trendLimits) {
	var lim trendLimits
	i := slices.IndexFunc(rows, func(r LimitRow) bool { return r.Label == s.Label })
	if i < 0 {
		return s, lim
	}
	s.Low, s.High, s.Desat, lim.fromDesk = rows[i].Low, rows[i].High, math.NaN(), true
	if rows[i].Param == "spo2" {
		s.Desat = desat
	}
	return s, lim
}

func trendLabel(s TrendSeries, l trendLimits) fyne.CanvasObject {
	name := text(s.Label, s.Color, true)
	name.TextSize = 20
	unit := text(s.Unit, ColorDim, false)
	last := "—"
	if n := len(s.Points); n > 0 {
		last = strconv.FormatFloat(s.Points[n-1].V, 'f', s.Decimals, 64)
	}
	v := text(last, s.Color, true)
	v.TextSize = 28
	box := container.NewVBox(name, unit, v)
	switch {
	case l.fromDesk: // each limit named, as the detail has it
		box.Add(text("low "+limitText(s.Low, s.Decimals)+" · high "+limitText(s.High, s.Decimals), ColorDim, false))
	case !math.IsNaN(s.Low) || !math.IsNaN(s.High):
		box.Add(text(fmt.Sprintf("limits %s – %s", limitText(s.Low, s.Decimals), limitText(s.High, s.Decimals)), ColorDim, false))
	}
	if d := s.desat(); !math.IsNaN(d) { // the solid line
		box.Add(text("desat "+limitText(d, 0)+" (HIGH)", ColorDim, false))
	}
	return container.NewGridWrap(fyne.NewSize(150, trendChartHeight), box)
}

func limitText(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "off"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// trendTable is the trends as a table: a minute per row, newest first, a
// parameter per column. Built once per load.
type trendTable struct {
	series []TrendSeries
	mins   []int64             // Unix seconds, newest first
	values []map[int64]float64 // per series
}

func newTrendTable(series []TrendSeries) trendTable {
	t := trendTable{series: series, values: make([]map[int64]float64, len(series))}
	seen := map[int64]bool{}
	for i, s := range series {
		t.values[i] = make(map[int64]float64, len(s.Points))
		for _, p := range s.Points {
			k := p.At.Unix()
			t.values[i][k] = p.V
			if !seen[k] {
				seen[k] = true
				t.mins = append(t.mins, k)
			}
		}
	}
	slices.SortFunc(t.mins, func(a, b int64) int { return cmp.Compare(b, a) })
	return t
}

// cell is the text at row, col; row 0 is the header.
func (t *trendTable) cell(row, col int) string {
	if row == 0 {
		if col == 0 {
			return "Minute"
		}
		return t.series[col-1].Label + " " + t.series[col-1].Unit
	}
	if row-1 >= len(t.mins) {
		return ""
	}
	k := t.mins[row-1]
	if col == 0 {
		return time.Unix(k, 0).Local().Format("Mon 02 15:04")
	}
	v, ok := t.values[col-1][k]
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'f', t.series[col-1].Decimals, 64)
}
