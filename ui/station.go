// Package ui holds Vigil's Fyne views: the station grid of bed tiles, the
// station bar and the alarm display (alarm bar, escalation banners, AUDIO
// PAUSED band). It sees the read and command methods of the monitor and
// alarm domains only; it never imports paho, SQL or the adapters.
//
// Drawing follows the pull model: one ticker goroutine asks the Fyne main
// goroutine (fyne.Do, at most one pending call) to run Station.Tick once per
// frame; Tick drains every strip's ring and refreshes its raster. Numerics and
// states update once a second.
//
// Alarms are pulled too: every frame Tick reads the alarm desk's View (an
// atomic load) and rebuilds the bar only when View.Seq changed. Flashing is a
// colour chosen from the clock's phase each frame, drawn only when the phase
// turns:
//
//	priority  colour  flash              unacknowledged        acknowledged
//	HIGH      red     2 Hz, 50 % duty    row and tile flash    steady, dimmer, thin border
//	MEDIUM    yellow  0.5 Hz, 50 % duty  row and tile flash    steady, dimmer, thin border
//	LOW       cyan    steady             steady                steady, dimmer, thin border
//
// The text always carries the priority prefix (*** ** *), so priority never
// depends on colour alone.
package ui

import (
	"context"
	"fmt"
	"image/color"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/ui/waveform"
)

// Link reports the station's connection to the broker.
type Link interface {
	Connected() bool
	// LastError is the current problem in one line (wrong password,
	// untrusted certificate, broker unreachable ...), empty when connected.
	LastError() string
}

// SecondaryDisplay is the safety statement shown on the station bar.
const SecondaryDisplay = "Secondary display — confirm every alarm at the bedside"

// Station is the central station view.
type Station struct {
	hub   *monitor.Hub
	link  Link
	tiles []*Tile
	now   func() time.Time

	title, clock, safety, linkText *canvas.Text
	titleFull                      string // the title before fitting
	linkFull, linkShort            string // the link state, and its short form for a narrow bar
	clockFull, clockShort          string // the clock with its date, and without
	titleShort                     string // the title for a narrow bar
	barBG                          *canvas.Rectangle
	problem                        *canvas.Text      // the broker problem, in full
	problemRow                     fyne.CanvasObject // shown under the bar while the link is down
	grid                           *fyne.Container   // the overview: tiles and the empty-filter message
	top, barBox, barRight          *fyne.Container
	content                        *fyne.Container
	root                           *fyne.Container // content and the input watch over it

	// OnAbout is called by the About button on the station bar.
	OnAbout func()
	// OnView is told the title of each view opened ("ward" for the grid).
	OnView func(title string)

	frames    atomic.Uint64
	pending   atomic.Bool
	lastSlow  time.Time
	bedsKnown int

	al alarmUI

	sess   sessionUI
	admin  Admin
	trends Trends
	// spawn runs slow work (reading and drawing trends) off the UI thread;
	// its results come back through fyne.Do. Tests run it in line.
	spawn func(func())
	// sendCmd runs an operator's command on the desk off the UI goroutine,
	// in order (queueCommand); tests that want the answer at once run it
	// inline.
	sendCmd   func(func())
	cmdOnce   sync.Once
	cmdQ      chan func()
	center    fyne.CanvasObject // what is under the bars: the grid or a panel
	panelTick func()            // the open panel's refresh, every 2 s
	lastPanel time.Time
	info      func(bed string) (BedLabel, bool)

	ov          overview
	live        func(time.Time)           // the open view's per-frame work (the bed detail's strips); nil on the grid
	liveSlow    func(now time.Time)       // and its slow update (5 Hz)
	panelKey    func(*fyne.KeyEvent) bool // the open view's keys
	back        []func()                  // reopen the views the open panel was opened from, the nearest last; none: the ward
	nextBack    func()                    // back for the panel being opened (openFrom)
	goingBack   bool                      // Back is reopening a view
	limits      LimitDesk
	news        EarlyWarning // NEWS2; nil: none
	lastNews    time.Time    // the tiles' NEWS2 last updated
	burden      BurdenSource
	review      Review
	disclosure  *DisclosureView // the full disclosure last opened
	events      *EventReview    // the event review last opened
	detail      *bedDetail      // the bed detail last opened
	allAlarms   *allAlarms      // the whole alarm list last opened
	keyNow      fyne.KeyName    // the key being handled (HandleKey), "" outside it
	detailTools []detailTool    // the detail view's review buttons
	// OnExport is told of every file an export wrote (strips, events, the
	// alarm inventory): the station journals who exported what.
	OnExport func(path string)
	// ExportDir is where exports (strips, events, the alarm inventory) are
	// written.
	ExportDir string
}

// BedLabel is what the bed administration says of a feed's bed.
type BedLabel struct {
	Label, Patient string
	// MRN is the admitted patient's medical record number.
	MRN string
	// DevicePatient is the patient the bed's device reports when it is not
	// the admitted one ("" when they agree or the device names none): the
	// tile shows both, and the alarm system raises a technical alarm.
	DevicePatient string
	Standby       bool
}

// SetBedInfo makes the tiles show the administration's bed labels and
// patients (a bed not configured shows its feed name).
func (s *Station) SetBedInfo(f func(bed string) (BedLabel, bool)) { s.info = f }

// NewStation builds the station view for hub. link may be nil.
func NewStation(hub *monitor.Hub, link Link, now func() time.Time) *Station {
	if now == nil {
		now = time.Now
	}
	s := &Station{hub: hub, link: link, now: now, spawn: func(f func()) { go f() }}
	s.sendCmd = s.queueCommand
	s.tiles = make([]*Tile, MaxTiles)
	for i := range s.tiles {
		t := NewTile(nil)
		t.OnTapped = func() {
			if b := t.Bed(); b != nil {
				s.Touched()
				s.selectTile(i)
				s.ShowBed(b.Name)
			}
		}
		s.tiles[i] = t
	}
	s.buildOverview()

	s.barBG = canvas.NewRectangle(colorBar)
	s.title = text("VIGIL  Ward "+hub.Ward(), ColorWhite, true)
	s.title.TextSize = 20
	s.clock = text("", ColorWhite, true)
	s.clock.TextSize = 20
	s.safety = text(SecondaryDisplay, ColorDim, false)
	s.safety.TextSize = 15
	s.safety.Alignment = fyne.TextAlignCenter
	s.linkText = text("", ColorDim, true)
	s.linkText.TextSize = 16
	s.linkText.Alignment = fyne.TextAlignTrailing
	about := widget.NewButton("About", func() {
		if s.OnAbout != nil {
			s.OnAbout()
		}
	})
	about.Importance = widget.LowImportance
	s.buildAlarmUI()
	s.barRight = container.NewHBox(s.al.soundBox, s.al.audioBox, s.linkText, about)
	s.barBox = container.New(&barLayout{s: s}, s.title, s.clock, s.safety, s.barRight)
	bar := container.NewStack(s.barBG, s.barBox)
	s.problem = text("", ColorAlarmMedium, true)
	s.problem.TextSize = 16
	s.problem.Alignment = fyne.TextAlignCenter
	s.problemRow = container.NewStack(canvas.NewRectangle(colorBar), s.problem)
	s.problemRow.Hide()
	s.top = container.NewVBox(bar, s.problemRow, s.al.panel, s.ov.bar)
	s.content = container.NewBorder(s.top, nil, nil, nil, s.grid)
	// Over everything, the idle lock's watch on the pointer (inputWatch).
	s.root = container.NewStack(s.content, newInputWatch(s.Touched))
	s.update(now())
	return s
}

// relayout lays the bars above the grid out again after parts of them were
// shown or hidden (a hidden object takes no room), and the grid under them.
// Outer containers first: each gives the next its size.
func (s *Station) relayout() {
	if s.content == nil {
		return // still being built
	}
	s.fitAlarmRows()
	for _, c := range []*fyne.Container{s.content, s.top, s.barBox, s.barRight, s.al.rowsBox, s.al.footer, s.grid, s.ov.tilesBox} {
		c.Layout.Layout(c.Objects, c.Size())
	}
}

// fitAlarmRows gives the alarm bar the rows the window's height allows and
// redraws the view drawn into them.
func (s *Station) fitAlarmRows() {
	if !s.al.setRowsFor(s.content.Size().Height) {
		return
	}
	if s.al.view != nil {
		s.applyView(s.al.view, s.now(), false)
	}
	s.top.Refresh()
	s.content.Refresh()
}

// barLayout lays out the station bar: title and clock at the left, the
// operator, audio state, link and About at the right, the safety statement
// in the room between. When the window is narrow the statement shortens,
// then the title is cut; nothing overlaps.
type barLayout struct{ s *Station }

func (l *barLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	s := l.s
	// The bar's words shorten, one kind after the other, until title and
	// clock fit beside the right-hand side: the link state, the sound
	// note, the clock's date, then the title; only then is the title cut.
	al := &s.al
	type words struct{ link, sound, clock, title string }
	long := words{s.linkFull, al.soundFull, s.clockFull, s.titleFull}
	tries := []words{long,
		{s.linkShort, al.soundFull, s.clockFull, s.titleFull},
		{s.linkShort, shortSound(al.soundFull), s.clockFull, s.titleFull},
		{s.linkShort, shortSound(al.soundFull), s.clockShort, s.titleFull},
		{s.linkShort, shortSound(al.soundFull), s.clockShort, s.titleShort}}
	var use words
	for _, w := range tries {
		use = w
		s.linkText.Text, al.soundTxt.Text = w.link, w.sound
		need := fyne.MeasureText(w.title, s.title.TextSize, s.title.TextStyle).Width +
			fyne.MeasureText(w.clock, s.clock.TextSize, s.clock.TextStyle).Width + 70
		if size.Width-s.barRight.MinSize().Width >= need {
			break
		}
	}
	s.linkText.Refresh()
	al.soundTxt.Refresh()
	if s.clock.Text != use.clock {
		s.clock.Text = use.clock
		s.clock.Refresh()
	}
	title := use.title
	rs := s.barRight.MinSize()
	right := min(rs.Width, size.Width)
	s.barRight.Move(fyne.NewPos(size.Width-right, (size.Height-rs.Height)/2))
	s.barRight.Resize(fyne.NewSize(right, rs.Height))
	room := max(0, size.Width-right-16)
	cw := fyne.MeasureText(s.clock.Text, s.clock.TextSize, s.clock.TextStyle).Width + 4
	tw := fyne.MeasureText(title, s.title.TextSize, s.title.TextStyle).Width + 4
	tw = min(tw, max(0, room-cw-24))
	s.title.Move(fyne.NewPos(8, 0))
	s.title.Resize(fyne.NewSize(tw, size.Height))
	fit(s.title, title, tw)
	s.clock.Move(fyne.NewPos(8+tw+24, 0))
	s.clock.Resize(fyne.NewSize(cw, size.Height))
	x := 8 + tw + 24 + cw + 24
	sw := max(0, size.Width-right-16-x)
	s.safety.Move(fyne.NewPos(x, 0))
	s.safety.Resize(fyne.NewSize(sw, size.Height))
	say := ""
	for _, t := range []string{SecondaryDisplay, "Secondary display — confirm at the bedside", "Secondary display"} {
		if fyne.MeasureText(t, s.safety.TextSize, s.safety.TextStyle).Width <= sw {
			say = t
			break
		}
	}
	if s.safety.Text != say {
		s.safety.Text = say
		s.safety.Refresh()
	}
}

// shortSound is the sound note's short form.
func shortSound(note string) string {
	if note == "" {
		return ""
	}
	return "NO SOUND"
}

func (l *barLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(200, max(l.s.barRight.MinSize().Height, 36))
}

// gap is fixed horizontal space in a box.
func gap(w float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, 1))
	return r
}

// Content is the station's root object.
func (s *Station) Content() fyne.CanvasObject { return s.root }

// Tiles are the tiles on the screen, in display order.
func (s *Station) Tiles() []*Tile { return s.tiles[:s.ov.cur.Beds] }

// Frames is the number of frames drawn.
func (s *Station) Frames() uint64 { return s.frames.Load() }

// Tick draws one frame: every strip pulls its new samples, the alarm desk
// gets its heartbeat and the alarm display its flash phase (rebuilt when the
// desk's view changed); a few times a second the numerics, states, ages,
// countdowns and bar are refreshed. UI goroutine only.
func (s *Station) Tick() {
	now := s.now()
	if len(s.hub.Beds()) != s.bedsKnown {
		s.ov.dirty = true
		s.arrange(now)
	}
	waveform.NextFrame()
	if s.live != nil {
		// A bed's detail view reads its rings (one reader each): the tiles
		// wait, and catch up from their rings when the overview is back.
		s.live(now)
	} else {
		for _, t := range s.tiles[:s.ov.cur.Beds] {
			t.Tick(now)
		}
	}
	if s.al.desk != nil {
		s.fitAlarmRows()
		s.tickAlarms(now)
	}
	// States change the moment a threshold passes, so check them every frame
	// at a reduced rate (5 Hz) and values once a second.
	if now.Sub(s.lastSlow) >= 200*time.Millisecond {
		s.update(now)
	}
	s.frames.Add(1)
}

func (s *Station) update(now time.Time) {
	s.lastSlow = now
	s.arrange(now)
	for _, t := range s.tiles[:s.ov.cur.Beds] {
		t.Update(now)
	}
	if s.liveSlow != nil {
		s.liveSlow(now)
	}
	if s.al.desk != nil {
		s.tickAlarmClocks(now)
	}
	if s.info != nil {
		for _, t := range s.tiles[:s.ov.cur.Beds] {
			if b := t.Bed(); b != nil {
				l, ok := s.info(b.Name)
				t.SetInfo(l, ok)
			}
		}
	}
	s.updateNEWS2(now)
	s.updateSession()
	if s.panelTick != nil && now.Sub(s.lastPanel) >= 2*time.Second {
		s.lastPanel = now
		s.panelTick()
	}
	clock := now.Local().Format("Mon 2 Jan  15:04")
	if s.clockFull != clock {
		s.clockFull, s.clockShort = clock, now.Local().Format("15:04")
		s.clock.Text = clock
		s.barBox.Layout.Layout(s.barBox.Objects, s.barBox.Size())
	}
	online := s.hub.Online()
	title := fmt.Sprintf("VIGIL   Ward %s   %d/%d beds online", s.hub.Ward(), online, len(s.hub.Beds()))
	if s.titleFull != title {
		s.titleFull = title
		s.titleShort = fmt.Sprintf("Ward %s  %d/%d", s.hub.Ward(), online, len(s.hub.Beds()))
		s.barBox.Layout.Layout(s.barBox.Objects, s.barBox.Size())
	}
	msg, col, problem := "● Broker connected", color.Color(ColorECG), ""
	if s.link != nil && !s.link.Connected() {
		msg, col = "⚠ NO BROKER CONNECTION — retrying", ColorAlarmMedium
		// The reason goes on its own row under the bar, where a long line
		// (URL, user, certificate) has the full width.
		if problem = s.link.LastError(); problem != "" {
			if r := []rune(problem); len(r) > 180 {
				problem = string(r[:179]) + "…"
			}
		}
	}
	if s.linkFull != msg {
		s.linkFull, s.linkShort = msg, map[bool]string{true: "● Connected", false: "⚠ NO BROKER"}[col == color.Color(ColorECG)]
		s.linkText.Color = col
		s.barBox.Layout.Layout(s.barBox.Objects, s.barBox.Size())
	}
	if s.problem.Text != problem {
		s.problem.Text = problem
		s.problem.Refresh()
		if problem == "" {
			s.problemRow.Hide()
		} else {
			s.problemRow.Show()
		}
	}
}

// Run drives the frame loop at fps until ctx ends: a ticker asks the Fyne
// goroutine to draw, skipping a frame rather than queueing one when the
// previous has not been drawn yet (fyne.Do's queue is unbounded).
func (s *Station) Run(ctx context.Context, fps int) {
	tk := time.NewTicker(time.Second / time.Duration(fps))
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if !s.pending.CompareAndSwap(false, true) {
				continue
			}
			fyne.Do(func() {
				s.Tick()
				s.pending.Store(false)
			})
		}
	}
}
