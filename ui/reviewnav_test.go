package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// From a bed's detail, D opens its full disclosure and E its events; Esc
// goes back to the detail each time. An event's "Open in full disclosure"
// puts the cursor at its onset, and Back returns to that event. The
// overview's "Events" lists the ward's.
func TestReviewNavigation(t *testing.T) {
	st, clk := wardStation(t, 8, fyne.NewSize(1920, 1080), nil)
	clk.t = reviewT0.Add(2 * time.Hour)
	src := reviewFixture()
	st.SetReview(src)
	st.ExportDir = t.TempDir()
	key := func(k fyne.KeyName) { st.HandleKey(&fyne.KeyEvent{Name: k}) }

	st.ShowBed("05")
	key(fyne.KeyD)
	if st.disclosure == nil || !strings.Contains(labels(st.Content()), "Full disclosure") || src.reads() == 0 {
		t.Fatalf("D did not open the full disclosure (%d reads)", src.reads())
	}
	before := st.disclosure.Cursor()
	key(fyne.KeyLeft) // the disclosure's own keys come first
	if got := before.Sub(st.disclosure.Cursor()); got != st.disclosure.Span()/10 {
		t.Fatalf("Left moved the cursor by %v", got)
	}
	key(fyne.KeyEscape)
	if bed, _ := st.Detail(); bed != "05" {
		t.Fatal("Esc from the disclosure did not return to the detail")
	}

	key(fyne.KeyE)
	if st.events == nil || len(st.events.Events()) != 3 {
		t.Fatalf("E: events %v", st.events)
	}
	if l := labels(st.Content()); !strings.Contains(l, "Alarm events") {
		t.Fatalf("events view says %q", l)
	}
	st.events.Select("a1")
	test.Tap(button(t, st.Content(), "Open in full disclosure"))
	if st.disclosure == nil || !st.disclosure.Cursor().Equal(src.events[1].Onset) {
		t.Fatalf("cursor at %v, want the onset %v", st.disclosure.Cursor(), src.events[1].Onset)
	}
	key(fyne.KeyEscape)
	if st.events == nil || st.events.cur.AlarmID != "a1" {
		t.Fatal("Back from the disclosure did not return to event a1")
	}
	key(fyne.KeyEscape)
	if bed, _ := st.Detail(); bed != "05" {
		t.Fatal("Esc from the events did not return to the detail")
	}
	key(fyne.KeyEscape)
	test.Tap(button(t, st.Content(), "Events (E)"))
	if n := len(st.events.Events()); n != 4 {
		t.Fatalf("the ward's events: %d, want 4", n)
	}
	key(fyne.KeyEscape)
	st.events = nil
	key(fyne.KeyE)
	if st.events == nil || !st.InPanel() {
		t.Fatal("E on the overview did not open the ward's events")
	}
}

// typeKey types k as the desktop driver does: to the focused widget when
// there is one, else to the window's handler (Station.HandleKey in the app).
func typeKey(c fyne.Canvas, k fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: k}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
		return
	}
	if h := c.OnTypedKey(); h != nil {
		h(ev)
	}
}

// typeChar types a character key as the driver does: its key, then its rune.
func typeChar(c fyne.Canvas, k fyne.KeyName, r rune) {
	typeKey(c, k)
	if f := c.Focused(); f != nil {
		f.TypedRune(r)
	} else if h := c.OnTypedRune(); h != nil {
		h(r)
	}
}

// stationCanvas is the window of a wardStation, with the station's key
// handler as app/window.go sets it.
func stationCanvas(st *Station) fyne.Canvas {
	c := fyne.CurrentApp().Driver().CanvasForObject(st.Content())
	c.SetOnTypedKey(st.HandleKey)
	return c
}

// tapAt taps the canvas at obj's centre, as a click there does.
func tapAt(c fyne.Canvas, obj fyne.CanvasObject) {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(obj)
	test.TapCanvas(c, p.Add(fyne.NewPos(obj.Size().Width/2, min(obj.Size().Height/2, 20))))
}

// tappable is the innermost tappable object under root that shows s.
func tappable(t *testing.T, root fyne.CanvasObject, s string) fyne.CanvasObject {
	t.Helper()
	var found fyne.CanvasObject
	for _, o := range objects(root) {
		if _, ok := o.(fyne.Tappable); ok && o.Visible() && strings.Contains(labels(o), s) {
			found = o
		}
	}
	if found == nil {
		t.Fatalf("nothing to tap shows %q", s)
	}
	return found
}

// A click in the event review (a row of its list) takes the keyboard
// focus; Esc, the list's Up/Down/Enter and, once back on the ward, B still
// work.
func TestReviewKeysAfterClick(t *testing.T) {
	st, clk := wardStation(t, 8, fyne.NewSize(1920, 1080), nil)
	clk.t = reviewT0.Add(2 * time.Hour)
	src := reviewFixture()
	st.SetReview(src)
	st.SetBurden(newFakeBurden())
	st.ExportDir = t.TempDir()
	c := stationCanvas(st)

	typeKey(c, fyne.KeyE)
	if st.events == nil || len(st.events.Events()) != 4 {
		t.Fatalf("E: events %v", st.events)
	}
	e := st.events
	tapAt(c, e.list) // the first row
	if e.cur.AlarmID != e.Events()[0].AlarmID {
		t.Fatalf("tapping the first row shows %q", e.cur.AlarmID)
	}
	if c.Focused() == nil {
		t.Fatal("the list did not take the focus: the test does not reproduce a click")
	}
	typeKey(c, fyne.KeyDown)
	typeKey(c, fyne.KeyReturn)
	if want := e.Events()[1].AlarmID; e.cur.AlarmID != want {
		t.Errorf("Down, Enter after the click show %q, want %q", e.cur.AlarmID, want)
	}
	typeKey(c, fyne.KeyEscape)
	if st.InPanel() {
		t.Fatal("Esc after a click in the event review did not go back to the ward")
	}
	typeKey(c, fyne.KeyB)
	if !st.InPanel() || !strings.Contains(labels(st.Content()), "Alarm burden") {
		t.Fatal("B on the ward after the event review did not open the burden")
	}
	typeKey(c, fyne.KeyEscape)

	// The span: a click on it, then Esc.
	typeKey(c, fyne.KeyE)
	tapAt(c, tappable(t, st.Content(), "7 days"))
	if e := st.events; e.span != 7*24*time.Hour {
		t.Errorf("the 7 d span gave %v", e.span)
	}
	typeKey(c, fyne.KeyEscape)
	if st.InPanel() {
		t.Fatal("Esc after a click on the span did not go back to the ward")
	}
}

// A click on the full disclosure's slider or its "Jump to alarm" takes the
// focus; its keys and Esc still work.
func TestDisclosureKeysAfterClick(t *testing.T) {
	st, clk := wardStation(t, 8, fyne.NewSize(1920, 1080), nil)
	clk.t = reviewT0.Add(2 * time.Hour)
	src := reviewFixture()
	st.SetReview(src)
	c := stationCanvas(st)
	st.ShowBed("05")
	typeKey(c, fyne.KeyD)
	v := st.disclosure
	if v == nil {
		t.Fatal("D did not open the full disclosure")
	}
	for _, obj := range []fyne.CanvasObject{v.slider, v.jump} {
		tapAt(c, obj)
		if c.Overlays().Top() != nil {
			c.Overlays().Top().Hide() // the jump's menu: chosen nothing
			c.Overlays().Remove(c.Overlays().Top())
		}
		if c.Focused() == nil {
			t.Fatalf("%T did not take the focus", obj)
		}
		before, span := v.Cursor(), v.Span()
		typeKey(c, fyne.KeyLeft)
		if got := before.Sub(v.Cursor()); got != span/10 {
			t.Errorf("after a click on %T, Left moved the cursor by %v, want %v", obj, got, span/10)
		}
		typeKey(c, fyne.KeyPlus)
		if v.Span() != span/2 {
			t.Errorf("after a click on %T, + gave %v a screen", obj, v.Span())
		}
		typeKey(c, fyne.KeyMinus)
	}
	typeKey(c, fyne.KeyEscape)
	if bed, _ := st.Detail(); bed != "05" {
		t.Fatal("Esc after a click in the disclosure did not return to the detail")
	}
}

// The key* widgets (reviewnav.go) a panel builds keep the keys they use
// and pass the others to the window's handler; an entry keeps what is
// typed, and Esc leaves it before it goes back.
func TestReviewKeyWidgets(t *testing.T) {
	test.NewTempApp(t)
	var got []fyne.KeyName
	entry := newKeyEntry()
	list := newKeyList(func() int { return 3 }, func() fyne.CanvasObject { return widget.NewLabel("row") },
		func(widget.ListItemID, fyne.CanvasObject) {})
	var hl widget.ListItemID
	list.OnHighlighted = func(id widget.ListItemID) { hl = id }
	sel := newKeySelect([]string{"a", "b"}, nil)
	slider := newKeySlider(0, 10)
	w := test.NewTempWindow(t, container.NewVBox(entry, container.NewGridWrap(fyne.NewSize(200, 120), list), sel, slider))
	w.Resize(fyne.NewSize(400, 400))
	c := w.Canvas()
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) { got = append(got, ev.Name) })
	want := func(what string, keys ...fyne.KeyName) {
		t.Helper()
		if !slices.Equal(got, keys) {
			t.Errorf("%s: the window got %q, want %q", what, got, keys)
		}
		got = nil
	}

	c.Focus(entry) // as a click in it does
	typeChar(c, fyne.KeyB, 'b')
	typeChar(c, fyne.KeyE, 'e')
	typeKey(c, fyne.KeyLeft)
	if entry.Text != "be" || c.Focused() == nil {
		t.Errorf("typed into the entry: %q (focused %T)", entry.Text, c.Focused())
	}
	want("letters in the entry")
	typeKey(c, fyne.KeyEscape)
	if c.Focused() != nil || entry.Text != "be" {
		t.Errorf("Esc in the entry: focused %T, text %q", c.Focused(), entry.Text)
	}
	want("the first Esc")
	typeKey(c, fyne.KeyEscape)
	want("the second Esc", fyne.KeyEscape)

	tapAt(c, list)
	if c.Focused() == nil {
		t.Fatal("the list did not take the focus")
	}
	typeKey(c, fyne.KeyDown)
	if hl != 1 {
		t.Errorf("Down in the list: highlight %d", hl)
	}
	typeKey(c, fyne.KeyB)
	if c.Focused() != nil {
		t.Error("a key passed on left the focus on the list")
	}
	typeKey(c, fyne.KeyEscape)
	want("the list", fyne.KeyB, fyne.KeyEscape)

	c.Focus(sel)
	typeKey(c, fyne.KeyLeft)
	want("the select", fyne.KeyLeft)
	c.Focus(slider)
	typeKey(c, fyne.KeyRight)
	if slider.Value != 0 {
		t.Errorf("Right moved the slider to %v", slider.Value)
	}
	want("the slider", fyne.KeyRight)

	var chose []string
	choice := newKeyChoice([]string{"8 h", "24 h"}, "24 h", func(s string) { chose = append(chose, s) })
	w.SetContent(choice)
	test.Tap(button(t, choice, "8 h"))
	test.Tap(button(t, choice, "8 h"))
	if !slices.Equal(chose, []string{"8 h"}) || button(t, choice, "8 h").Importance != widget.HighImportance ||
		button(t, choice, "24 h").Importance == widget.HighImportance {
		t.Errorf("choice: chose %q", chose)
	}
	if c.Focused() != nil {
		t.Error("the choice took the focus")
	}
}
