package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// SetReview connects the full-disclosure and event reviews: the bed's
// detail gets "Full disclosure (D)" and "Events (E)", the overview's bar
// "Events" for the whole ward.
func (s *Station) SetReview(src Review) {
	s.review = src
	s.addWardTool("Events (E)", func() { s.ShowEvents("") })
	s.detailTools = append(s.detailTools,
		func(bed string, reopen func()) fyne.CanvasObject {
			return widget.NewButton("Full disclosure (D)", func() {
				s.openFrom(reopen, func() { s.ShowDisclosure(bed, time.Time{}) })
			})
		},
		func(bed string, reopen func()) fyne.CanvasObject {
			return widget.NewButton("Events (E)", func() { s.openFrom(reopen, func() { s.ShowEvents(bed) }) })
		})
}

func (s *Station) reviewOptions() ReviewOptions {
	return ReviewOptions{Now: s.now, Spawn: s.spawn, ExportDir: s.ExportDir, OnExport: s.OnExport}
}

// ShowDisclosure opens a bed's full disclosure: its stored waveforms
// scrolled with a time cursor, at (zero: the newest).
func (s *Station) ShowDisclosure(bed string, at time.Time) {
	if s.review == nil {
		return
	}
	v := NewDisclosureView(bed, s.review, s.reviewOptions())
	s.ShowPanel("Full disclosure — "+s.bedTitle(bed), v.Content())
	s.panelKey = v.TypedKey
	s.disclosure = v
	if !at.IsZero() {
		v.SetCursor(at)
	}
}

// ShowEvents opens the alarm events of a bed ("" the ward): each with its
// snippet of every waveform around onset, the numerics at onset, and who
// acknowledged it.
func (s *Station) ShowEvents(bed string) {
	if s.review == nil {
		return
	}
	opt := s.reviewOptions()
	title := "Alarm events — the ward"
	if bed != "" {
		title = "Alarm events — " + s.bedTitle(bed)
	}
	var v *EventReview
	opt.OpenDisclosure = func(b string, at time.Time) {
		sel := v.cur.AlarmID
		s.openFrom(func() {
			s.ShowEvents(bed)
			if sel != "" {
				s.events.Select(sel)
			}
		}, func() { s.ShowDisclosure(b, at) })
	}
	v = NewEventReview(bed, s.review, opt)
	s.ShowPanel(title, v.Content())
	s.panelKey = v.TypedKey
	s.events = v
}

// Keys after a click. A list, select, slider or entry a click lands on
// takes the keyboard focus, and the desktop driver then gives every key to
// it instead of the window's handler (Station.HandleKey): Esc no longer
// went back, nor the view's own keys worked, and the focus stayed on the
// widget after its view had gone, so B on the ward did nothing either.
// The key* widgets below keep the keys they use and pass every other one on
// (passKey), as if nothing were focused. A panel builds its focusable
// widgets with them:
//
//	newKeyList     Up, Down, Space (move the highlight, select) are the list's
//	newKeySelect   Space, Up, Down (open its menu) are the select's; Left/Right pass on
//	newKeySlider   nothing is the slider's: the view moves what it shows, the slider follows
//	newKeyEntry    every key is the entry's (a letter typed stays there) but Esc,
//	               which leaves the entry: the next Esc goes back
//	newKeyChoice   a row of buttons for a horizontal widget.RadioGroup, whose
//	               items take the focus and cannot be wrapped
//
// widget.Button gives up the focus when tapped: it needs no wrapper.

// passKey gives ev, typed while obj had the focus and not used by it, to
// obj's window as if nothing were focused: the focus is dropped and the
// window's typed-key handler gets ev.
func passKey(obj fyne.CanvasObject, ev *fyne.KeyEvent) {
	c := fyne.CurrentApp().Driver().CanvasForObject(obj)
	if c == nil {
		return
	}
	c.Unfocus()
	if h := c.OnTypedKey(); h != nil {
		h(ev)
	}
}

// keyList is a widget.List that passes on the keys it does not use.
type keyList struct{ widget.List }

func newKeyList(length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *keyList {
	l := &keyList{}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey implements fyne.Focusable.
func (l *keyList) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyUp, fyne.KeyDown, fyne.KeySpace:
		l.List.TypedKey(ev)
	default:
		passKey(l, ev)
	}
}

// keySelect is a widget.Select that passes on the keys it does not use.
type keySelect struct{ widget.Select }

func newKeySelect(options []string, changed func(string)) *keySelect {
	s := &keySelect{}
	s.Options, s.OnChanged = options, changed
	s.ExtendBaseWidget(s)
	return s
}

// TypedKey implements fyne.Focusable.
func (s *keySelect) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeySpace, fyne.KeyUp, fyne.KeyDown:
		s.Select.TypedKey(ev)
	default:
		passKey(s, ev)
	}
}

// keySlider is a widget.Slider that passes on every key.
type keySlider struct{ widget.Slider }

func newKeySlider(lo, hi float64) *keySlider {
	s := &keySlider{}
	s.Min, s.Max, s.Step, s.Orientation = lo, hi, 1, widget.Horizontal
	s.ExtendBaseWidget(s)
	return s
}

// TypedKey implements fyne.Focusable.
func (s *keySlider) TypedKey(ev *fyne.KeyEvent) { passKey(s, ev) }

// keyEntry is a widget.Entry that Esc leaves.
type keyEntry struct{ widget.Entry }

func newKeyEntry() *keyEntry {
	e := &keyEntry{}
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey implements fyne.Focusable.
func (e *keyEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape {
		if c := fyne.CurrentApp().Driver().CanvasForObject(e); c != nil {
			c.Unfocus() // and no more: what was typed stays, the next Esc goes back
		}
		return
	}
	e.Entry.TypedKey(ev)
}

// newKeyChoice is a row of buttons, one per option, the chosen one
// highlighted; changed is called with the option tapped when it is another.
func newKeyChoice(options []string, chosen string, changed func(string)) *fyne.Container {
	row := container.NewHBox()
	var buttons []*widget.Button
	mark := func() {
		for i, b := range buttons {
			if options[i] == chosen {
				b.Importance = widget.HighImportance
			} else {
				b.Importance = widget.MediumImportance
			}
			b.Refresh()
		}
	}
	for _, o := range options {
		b := widget.NewButton(o, func() {
			if o == chosen {
				return
			}
			chosen = o
			mark()
			if changed != nil {
				changed(o)
			}
		})
		buttons = append(buttons, b)
		row.Add(b)
	}
	mark()
	return row
}
