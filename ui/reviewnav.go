package ui

import (
	"time"

	"fyne.io/fyne/v2"
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
	return ReviewOptions{Now: s.now, Spawn: s.spawn, ExportDir: s.ExportDir}
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
