package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
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
