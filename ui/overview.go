package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
)

// GridLayout is an overview layout: beds per screen in Cols × Rows tiles.
type GridLayout struct{ Beds, Cols, Rows int }

// Layouts are the overview's layouts. Eight beds go four across in two
// rows: a tile as wide as a 4 × 4 one and twice as high, so its numbers are
// larger than 16 beds' (two across, the height held them to the same size);
// 32 use the compact tile.
var Layouts = []GridLayout{{4, 2, 2}, {8, 4, 2}, {16, 4, 4}, {32, 4, 8}}

// MaxTiles is the most tiles on one screen; more beds go on further pages.
const MaxTiles = 32

// The smallest tile the automatic layout accepts (the compact tile's
// readable minimum); a window too small for a layout gets the next smaller
// one and pages.
const (
	minTileW = 300
	minTileH = 110
)

// SortOrder orders the overview's tiles.
type SortOrder int

const (
	// SortBed is the ward's order: bed labels in natural order (Bed 2
	// before Bed 10), holding tiles last.
	SortBed SortOrder = iota
	// SortAcuity puts the beds that need a look first: the highest alarm
	// priority (unacknowledged before acknowledged), then the highest
	// NEWS2 score where one exists, then beds whose data stopped (NO DATA,
	// offline) before those with fresh data, then the ward's order.
	SortAcuity
)

// overview is the grid's state: layout, order, filter, page, selection.
type overview struct {
	want     int        // chosen layout's beds, 0 = automatic
	cur      GridLayout // the layout shown
	order    SortOrder
	alerting bool // only beds with an alarm
	page     int
	pages    int
	sel      int    // selected tile on the page, -1 for none
	shownKey string // the beds on screen, in order, to notice a change
	hidden   int    // beds left out by the filter
	waves    int    // waveforms per tile (2 or 3)
	dirty    bool   // arrange at the next update
	rows     int    // rows drawn: the layout's, or fewer when the page has fewer beds (no empty rows)
	last     time.Time
	alarmSeq uint64
	score    func(bed string) (float64, bool) // NEWS2, when the analysis gives one

	tilesBox  *fyne.Container
	wardTools *fyne.Container
	empty     *canvas.Text
	bar       *fyne.Container
	layoutSel *widget.Select
	sortSel   *widget.RadioGroup
	alertChk  *widget.Check
	pageText  *canvas.Text
	prevB     *widget.Button
	nextB     *widget.Button
}

// gridLayout places the tiles in the overview's columns and rows, whatever
// their minimum size (the compact tile is smaller than a 4 × 4 one).
type gridLayout struct{ s *Station }

func (g gridLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	l := g.s.ov.cur
	rows := max(1, g.s.ov.rows)
	cw, ch := size.Width/float32(l.Cols), size.Height/float32(rows)
	for i, o := range objs {
		c, r := i%l.Cols, i/l.Cols
		o.Move(fyne.NewPos(float32(c)*cw, float32(r)*ch))
		o.Resize(fyne.NewSize(cw-2, ch-2))
	}
}

func (g gridLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	l := g.s.ov.cur
	return fyne.NewSize(float32(l.Cols*minTileW), float32(max(1, g.s.ov.rows)*minTileH))
}

func (s *Station) buildOverview() {
	ov := &s.ov
	ov.sel, ov.waves, ov.dirty, ov.cur = -1, 2, true, Layouts[2]
	ov.tilesBox = container.New(gridLayout{s})
	ov.empty = text("", ColorDim, true)
	ov.empty.TextSize = 26
	ov.empty.Alignment = fyne.TextAlignCenter
	ov.empty.Hide()
	s.grid = container.NewStack(ov.tilesBox, container.NewCenter(ov.empty))

	names := []string{"Auto"}
	for _, l := range Layouts {
		names = append(names, strconv.Itoa(l.Beds)+" beds")
	}
	ov.layoutSel = widget.NewSelect(names, nil)
	ov.layoutSel.SetSelectedIndex(0)
	ov.layoutSel.OnChanged = func(v string) {
		n, _ := strconv.Atoi(strings.TrimSuffix(v, " beds"))
		s.SetLayout(n)
	}
	ov.sortSel = widget.NewRadioGroup([]string{"By bed", "By acuity"}, nil)
	ov.sortSel.Horizontal, ov.sortSel.Required = true, true
	ov.sortSel.SetSelected("By bed")
	ov.sortSel.OnChanged = func(v string) {
		s.SetSort(map[bool]SortOrder{true: SortAcuity}[v == "By acuity"])
	}
	ov.alertChk = widget.NewCheck("Alerting only", func(on bool) { s.SetAlertingOnly(on) })
	ov.prevB = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { s.SetPage(s.ov.page - 1) })
	ov.nextB = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { s.SetPage(s.ov.page + 1) })
	ov.pageText = text("", ColorWhite, true)
	ov.pageText.TextSize = 16
	keys := text("", ColorDim, false)
	keys.TextSize = 14
	keys.Alignment = fyne.TextAlignTrailing
	left := container.NewHBox(widget.NewLabel("Layout"), ov.layoutSel, gap(16), ov.sortSel, gap(16), ov.alertChk,
		gap(16), ov.prevB, ov.pageText, ov.nextB)
	ov.wardTools = container.NewHBox()
	ov.bar = container.New(keysLayout{keys}, container.NewHBox(left, gap(16), ov.wardTools), keys)
}

// keysHelp is the keys' help on the overview's bar, longest first: the bar
// shows the longest that fits beside its controls, or none.
var keysHelp = []string{
	"Keys: arrows select · Enter opens · A acknowledge · P pause audio · E events · B burden · PgUp/PgDn page · Esc back",
	"Keys: arrows · Enter · A acknowledge · P pause audio · E events · B burden · Esc",
	"A acknowledge · P pause audio · Esc back",
}

// keysLayout puts the overview's controls at the left and the keys' help
// in what is left at the right; the help never overlaps a control.
type keysLayout struct{ keys *canvas.Text }

func (l keysLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	left := objs[0]
	m := left.MinSize()
	left.Move(fyne.NewPos(0, (size.Height-m.Height)/2))
	left.Resize(fyne.NewSize(min(m.Width, size.Width), m.Height))
	room := size.Width - m.Width - 24
	say := ""
	for _, h := range keysHelp {
		if fyne.MeasureText(h, l.keys.TextSize, l.keys.TextStyle).Width <= room {
			say = h
			break
		}
	}
	if l.keys.Text != say {
		l.keys.Text = say
		l.keys.Refresh()
	}
	l.keys.Move(fyne.NewPos(m.Width+16, 0))
	l.keys.Resize(fyne.NewSize(max(0, room), size.Height))
}

func (l keysLayout) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[0].MinSize() }

// addWardTool puts a button on the overview's bar (the ward's reviews).
func (s *Station) addWardTool(label string, open func()) {
	b := widget.NewButton(label, func() { s.Touched(); s.requireLogin(open) })
	s.ov.wardTools.Add(b)
}

// SetBurden connects the alarm burden view (the overview's "Alarm burden").
func (s *Station) SetBurden(src BurdenSource) {
	s.burden = src
	s.addWardTool("Alarm burden (B)", s.ShowBurden)
}

// ShowBurden opens the ward's alarm burden: alarms per bed-day by
// parameter and priority, time to acknowledge, auto-resolved share, the
// noisiest beds, suggested reviews, the inventory as CSV.
func (s *Station) ShowBurden() {
	if s.burden == nil {
		return
	}
	v := NewBurdenView(s.burden, BurdenOptions{Now: s.now, Spawn: s.spawn, ExportDir: s.ExportDir, OnExport: s.OnExport})
	s.ShowPanel("Alarm burden — for the ward's alarm-safety review", v.Content())
}

// SetLayout chooses the overview's layout by beds per screen: 4, 8, 16 or
// 32; any other number (0) chooses automatically from the number of beds
// to show and the window's size.
func (s *Station) SetLayout(beds int) {
	if !slices.ContainsFunc(Layouts, func(l GridLayout) bool { return l.Beds == beds }) {
		beds = 0
	}
	s.ov.want, s.ov.dirty = beds, true
	if sel := s.ov.layoutSel; sel != nil {
		want := "Auto"
		if beds > 0 {
			want = strconv.Itoa(beds) + " beds"
		}
		if sel.Selected != want {
			f := sel.OnChanged
			sel.OnChanged = nil
			sel.SetSelected(want)
			sel.OnChanged = f
		}
	}
	s.arrange(s.now())
}

// SetSort orders the overview by bed or by acuity.
func (s *Station) SetSort(o SortOrder) {
	if s.ov.order == o {
		return
	}
	s.ov.order, s.ov.dirty = o, true
	s.ov.sortSel.SetSelected(map[SortOrder]string{SortBed: "By bed", SortAcuity: "By acuity"}[o])
	s.arrange(s.now())
}

// SetAlertingOnly shows only the beds with an alarm (of any priority,
// acknowledged or not), or every bed.
func (s *Station) SetAlertingOnly(on bool) {
	if s.ov.alerting == on {
		return
	}
	s.ov.alerting, s.ov.dirty = on, true
	s.ov.alertChk.SetChecked(on)
	s.arrange(s.now())
}

// SetPage shows page p (from 0) of the overview.
func (s *Station) SetPage(p int) {
	s.ov.page, s.ov.dirty = p, true
	s.arrange(s.now())
}

// SetWaves shows 2 waveforms per tile (ECG and pleth) or 3 (and respiration).
func (s *Station) SetWaves(n int) {
	s.ov.waves = n
	for _, t := range s.tiles {
		t.SetWaves(n)
	}
}

// SetScore gives the acuity order a score per bed (NEWS2): higher first.
func (s *Station) SetScore(f func(bed string) (float64, bool)) { s.ov.score = f; s.ov.dirty = true }

// Layout is the overview layout shown.
func (s *Station) Layout() GridLayout { return s.ov.cur }

// Page and Pages are the page shown (from 0) and how many there are.
func (s *Station) Page() (int, int) { return s.ov.page, s.ov.pages }

// Shown are the beds on the screen, in tile order.
func (s *Station) Shown() []string {
	var out []string
	for _, t := range s.tiles[:s.ov.cur.Beds] {
		if b := t.Bed(); b != nil {
			out = append(out, b.Name)
		}
	}
	return out
}

// Selected is the selected bed, "" when none.
func (s *Station) Selected() string {
	if i := s.ov.sel; i >= 0 && i < len(s.tiles) {
		if b := s.tiles[i].Bed(); b != nil {
			return b.Name
		}
	}
	return ""
}

// chooseLayout is the automatic layout for n beds on a grid area of size:
// the smallest that holds them all whose tiles are still readable, or the
// largest readable one (with pages).
func chooseLayout(n int, size fyne.Size) GridLayout {
	if size.Width < 1 || size.Height < 1 {
		size = fyne.NewSize(1920, 1000)
	}
	fits := func(l GridLayout) bool {
		return size.Width/float32(l.Cols) >= minTileW && size.Height/float32(l.Rows) >= minTileH
	}
	best := Layouts[0]
	for _, l := range Layouts {
		if !fits(l) {
			break
		}
		best = l
		if l.Beds >= n {
			break
		}
	}
	return best
}

// arrange orders and filters the beds, picks the layout and page, and binds
// the tiles when what is on screen changed. It runs on every slow update
// (5 Hz) and does the sorting at most once a second unless something asked
// (a setting, new beds, a new alarm view).
func (s *Station) arrange(now time.Time) {
	ov := &s.ov
	var view *alarms.View
	if s.al.desk != nil {
		view = s.al.desk.View()
	}
	if view != nil && view.Seq != ov.alarmSeq {
		ov.alarmSeq, ov.dirty = view.Seq, true
	}
	if !ov.dirty && now.Sub(ov.last) < time.Second {
		return
	}
	ov.dirty, ov.last = false, now
	beds := s.hub.Beds()
	bv := func(b *monitor.Bed) alarms.BedView {
		if view == nil {
			return alarms.BedView{}
		}
		return view.Beds[b.Name]
	}
	list := make([]*monitor.Bed, 0, len(beds))
	for _, b := range beds {
		if ov.alerting && bv(b).Priority == alarms.None {
			continue
		}
		list = append(list, b)
	}
	ov.hidden = len(beds) - len(list)
	type key struct {
		holding bool
		label   string
		pri     alarms.Priority
		unacked bool
		score   float64
		scored  bool
		stale   bool
	}
	keys := make(map[*monitor.Bed]key, len(list))
	for _, b := range list {
		k := key{label: b.Name}
		if s.info != nil {
			l, ok := s.info(b.Name)
			k.holding = !ok
			k.label = cmp.Or(l.Label, b.Name)
		}
		v := bv(b)
		k.pri, k.unacked = v.Priority, v.Unacked
		if ov.score != nil {
			k.score, k.scored = ov.score(b.Name)
		}
		st := b.State(now)
		k.stale = !st.Seen || st.Offline || st.WaveStale || st.NumStale
		keys[b] = k
	}
	slices.SortStableFunc(list, func(x, y *monitor.Bed) int {
		a, b := keys[x], keys[y]
		if ov.order == SortAcuity {
			if c := cmp.Compare(b.pri, a.pri); c != 0 {
				return c
			}
			if a.unacked != b.unacked {
				return map[bool]int{true: -1, false: 1}[a.unacked]
			}
			if a.scored != b.scored {
				return map[bool]int{true: -1, false: 1}[a.scored]
			}
			if c := cmp.Compare(b.score, a.score); c != 0 {
				return c
			}
			if a.stale != b.stale {
				return map[bool]int{true: -1, false: 1}[a.stale]
			}
		}
		if a.holding != b.holding {
			return map[bool]int{true: 1, false: -1}[a.holding]
		}
		return naturalCompare(a.label, b.label)
	})

	l := chooseLayout(len(list), s.grid.Size())
	if ov.want > 0 {
		l = Layouts[slices.IndexFunc(Layouts, func(g GridLayout) bool { return g.Beds == ov.want })]
	}
	ov.pages = max(1, (len(list)+l.Beds-1)/l.Beds)
	ov.page = min(max(ov.page, 0), ov.pages-1)
	first := ov.page * l.Beds
	page := list[first:min(len(list), first+l.Beds)]

	// A page of fewer beds than the layout holds draws only the rows it
	// fills: no rows of empty tiles, and the tiles it has grow.
	rows := min(l.Rows, max(1, (len(page)+l.Cols-1)/l.Cols))
	var sig strings.Builder
	fmt.Fprintf(&sig, "%d|%d|", l.Beds, rows)
	for _, b := range page {
		sig.WriteString(b.Name)
		sig.WriteByte(0)
	}
	if sig.String() != ov.shownKey {
		ov.shownKey = sig.String()
		if ov.cur != l || ov.rows != rows || len(ov.tilesBox.Objects) != rows*l.Cols {
			ov.cur, ov.rows = l, rows
			objs := make([]fyne.CanvasObject, rows*l.Cols)
			for i := range objs {
				objs[i] = s.tiles[i]
			}
			ov.tilesBox.Objects = objs
			ov.tilesBox.Refresh()
		}
		selBed := s.Selected()
		ov.sel = -1
		for i, t := range s.tiles {
			var b *monitor.Bed
			if i < len(page) {
				b = page[i]
			}
			t.SetBed(b)
			if b != nil && b.Name == selBed {
				ov.sel = i
			}
			t.SetSelected(i == ov.sel)
		}
		s.bedsKnown = len(beds)
		s.al.have = false // other beds on the tiles: redraw their alarms
		s.relayout()
	}
	msg := ""
	if len(list) == 0 && ov.alerting {
		msg = fmt.Sprintf("No bed is alarming — %d beds hidden by “Alerting only”", ov.hidden)
	} else if len(list) == 0 {
		msg = "No beds yet — waiting for the first device"
	}
	if ov.empty.Text != msg {
		ov.empty.Text = msg
		ov.empty.Refresh()
		showIf(ov.empty, msg != "")
	}
	pt := fmt.Sprintf("Page %d/%d", ov.page+1, ov.pages)
	if ov.hidden > 0 {
		pt += fmt.Sprintf(" · %d hidden", ov.hidden)
	}
	if ov.pageText.Text != pt {
		ov.pageText.Text = pt
		ov.pageText.Refresh()
	}
	enable(ov.prevB, ov.page > 0)
	enable(ov.nextB, ov.page < ov.pages-1)
}

func enable(b *widget.Button, on bool) {
	if on && b.Disabled() {
		b.Enable()
	} else if !on && !b.Disabled() {
		b.Disable()
	}
}

// naturalCompare orders labels as people do: "Bed 2" before "Bed 10".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.ParseUint(strings.TrimLeft(a[:da], "0")+"0", 10, 64)
			nb, _ := strconv.ParseUint(strings.TrimLeft(b[:db], "0")+"0", 10, 64)
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if c := cmp.Compare(strings.ToLower(a[:1]), strings.ToLower(b[:1])); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// moveSelection moves the keyboard selection by dx columns and dy rows on
// the page; the first arrow selects the first tile.
func (s *Station) moveSelection(dx, dy int) {
	ov := &s.ov
	n := len(s.Shown())
	if n == 0 {
		return
	}
	i := ov.sel
	if i < 0 {
		i = 0
	} else {
		i += dx + dy*ov.cur.Cols
		i = min(max(i, 0), n-1)
	}
	s.selectTile(i)
}

func (s *Station) selectTile(i int) {
	s.ov.sel = i
	for j, t := range s.tiles {
		t.SetSelected(j == i)
	}
}

// gridKey handles a key on the overview; it reports whether it did.
func (s *Station) gridKey(ev *fyne.KeyEvent) bool {
	switch ev.Name {
	case fyne.KeyLeft:
		s.moveSelection(-1, 0)
	case fyne.KeyRight:
		s.moveSelection(1, 0)
	case fyne.KeyUp:
		s.moveSelection(0, -1)
	case fyne.KeyDown:
		s.moveSelection(0, 1)
	case fyne.KeyPageUp:
		s.SetPage(s.ov.page - 1)
	case fyne.KeyPageDown:
		s.SetPage(s.ov.page + 1)
	case fyne.KeyReturn, fyne.KeyEnter:
		if b := s.Selected(); b != "" {
			s.ShowBed(b)
		}
	case fyne.KeyEscape:
		s.selectTile(-1)
	case fyne.KeyA:
		// With a bed selected, A acknowledges that bed's alarms; else all
		// those shown.
		s.acknowledgeShown(s.Selected())
	case fyne.KeyP:
		s.pauseAll()
	case fyne.KeyE:
		if s.review != nil {
			s.requireLogin(func() { s.ShowEvents("") })
		}
	case fyne.KeyB:
		if s.burden != nil {
			s.requireLogin(s.ShowBurden)
		}
	default:
		return false
	}
	return true
}

// HandleKey is the window's key handler: the open view's keys first (the
// bed's detail, a review), then Esc goes back, and on the overview the
// arrows, Enter, A, P and the page keys.
func (s *Station) HandleKey(ev *fyne.KeyEvent) {
	s.Touched()
	s.keyNow = ev.Name // a login this key opens keeps its character out of the PIN
	defer func() { s.keyNow = "" }()
	if s.panelKey != nil && s.panelKey(ev) {
		return
	}
	if s.InPanel() {
		if ev.Name == fyne.KeyEscape {
			s.Back()
		}
		return
	}
	s.gridKey(ev)
}
