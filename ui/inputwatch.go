package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// inputWatch notices the pointer's every move over the window, for the
// idle lock: Fyne has no window-wide input hook, and an overlay that took
// the pointer's events would take them from the widgets under it.
//
// It lies over the whole window and is neither tappable nor hoverable, so
// every event still goes to what is under it. But it is Cursorable: on
// every move of the pointer the desktop driver, looking for what is under
// it, asks each object there for its cursor, this one first. That question
// is the signal. Keys reach the station's own handler or, in a text field,
// its OnChanged (see touchOnChange); taps go through the station's
// commands, which touch the session too.
type inputWatch struct {
	widget.BaseWidget
	touch func()
}

func newInputWatch(touch func()) *inputWatch {
	w := &inputWatch{touch: touch}
	w.ExtendBaseWidget(w)
	return w
}

// Cursor implements desktop.Cursorable: the pointer moved over the window.
func (w *inputWatch) Cursor() desktop.Cursor {
	w.touch()
	return desktop.DefaultCursor
}

func (w *inputWatch) CreateRenderer() fyne.WidgetRenderer { return emptyRenderer{} }

type emptyRenderer struct{}

func (emptyRenderer) Layout(fyne.Size)             {}
func (emptyRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (emptyRenderer) Refresh()                     {}
func (emptyRenderer) Objects() []fyne.CanvasObject { return nil }
func (emptyRenderer) Destroy()                     {}

// touchOnChange makes typing in entries count as input for the idle lock
// (a focused text field takes the keys from the window's handler).
func (s *Station) touchOnChange(entries ...*widget.Entry) {
	for _, e := range entries {
		prev := e.OnChanged
		e.OnChanged = func(v string) {
			s.Touched()
			if prev != nil {
				prev(v)
			}
		}
	}
}

// watchInputs makes input a panel's widgets take count for the idle lock
// where the watch over the window does not see it: a turn of the wheel
// over a scroll with the pointer still (the driver hands it straight to the
// scrollable, asking no cursor), and a tap with no move before it (a second
// tap on "Step ›" where the pointer already is). It reaches containers,
// scrolls, splits, tabs and forms and wraps their scrolls and buttons; the
// handlers they had still run. Only what a user does: a changed callback
// (entries, selects, sliders) also runs when code sets the value, and a
// panel that refreshes would then never lock. Typing goes through
// touchOnChange, the station's commands through requireLogin.
func watchInputs(o fyne.CanvasObject, touch func()) {
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			watchInputs(c, touch)
		}
	case *container.Scroll:
		prev := x.OnScrolled
		x.OnScrolled = func(p fyne.Position) {
			touch()
			if prev != nil {
				prev(p)
			}
		}
		watchInputs(x.Content, touch)
	case *container.Split:
		watchInputs(x.Leading, touch)
		watchInputs(x.Trailing, touch)
	case *container.AppTabs:
		for _, it := range x.Items {
			watchInputs(it.Content, touch)
		}
	case *widget.Form:
		for _, it := range x.Items {
			watchInputs(it.Widget, touch)
		}
	case *widget.Button:
		prev := x.OnTapped
		x.OnTapped = func() {
			touch()
			if prev != nil {
				prev()
			}
		}
	}
}
