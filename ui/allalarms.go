package ui

import (
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// allAlarms is the whole alarm list ("+ K more" opens it): every alarm in
// the bar's order, each row with its commands. It holds still under the
// pointer as the bar does.
type allAlarms struct {
	s    *Station
	seq  uint64
	rows []*alarmRow
	box  *fyne.Container
}

// ShowAllAlarms opens the whole alarm list.
func (s *Station) ShowAllAlarms() {
	if s.al.desk == nil {
		return
	}
	p := &allAlarms{s: s, box: container.NewVBox()}
	s.ShowPanel("All alarms — highest priority first", container.NewVScroll(p.box))
	p.refresh(s.now(), true)
	s.panelTick = func() { p.refresh(s.now(), false) }
	s.allAlarms = p
}

// AllAlarmRows are the rows of the whole list last opened (for tests).
func (s *Station) AllAlarmRows() []*alarmRow {
	if s.allAlarms == nil {
		return nil
	}
	return slices.Clone(s.allAlarms.rows)
}

func (p *allAlarms) refresh(now time.Time, force bool) {
	s := p.s
	v := s.al.desk.View()
	if v == nil || (!force && (v.Seq == p.seq || s.al.holding(now))) {
		return
	}
	p.seq = v.Seq
	list := make([]int, len(v.Alarms))
	for i := range list {
		list[i] = i
	}
	slices.SortStableFunc(list, func(a, b int) int { return alarmOrder(&v.Alarms[a], &v.Alarms[b]) })
	escalated := map[string]bool{}
	for _, a := range v.Banner {
		escalated[a.ID] = true
	}
	for len(p.rows) < len(list) {
		r := newAlarmRow(s.al.hover,
			func(r *alarmRow) { s.rowCommand(r, "Acknowledge") },
			func(r *alarmRow) { s.rowCommand(r, "Pause audio") },
			func(r *alarmRow, accept bool) {
				s.rowCommand(r, map[bool]string{true: "Accept", false: "Reject"}[accept])
			})
		p.rows = append(p.rows, r)
	}
	objs := make([]fyne.CanvasObject, 0, len(list)+1)
	if len(list) == 0 {
		objs = append(objs, heading("No alarms"))
	}
	for i, k := range list {
		p.rows[i].set(&v.Alarms[k], escalated[v.Alarms[k].ID], now)
		p.rows[i].Show()
		objs = append(objs, p.rows[i])
	}
	p.rows = p.rows[:len(list)]
	p.box.Objects = objs
	p.box.Refresh()
}
