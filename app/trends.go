package app

import (
	"context"
	"errors"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/ui"
)

var errRecordingsOff = errors.New("recordings are unavailable at this station (see its technical alarm)")

// trendDesk feeds the trend view from the recordings (minute medians),
// the alarm engine (the bed's limits now, SpO2's desaturation limit too)
// and the journal (alarm onsets).
type trendDesk struct{ c *Core }

// trendStyle is a parameter's unit and colour (the tile's colours).
func trendStyle(name string) (string, color.NRGBA) {
	switch name {
	case "hr":
		return "/min", ui.ColorECG
	case "spo2":
		return "%", ui.ColorSpO2
	case "rr":
		return "/min", ui.ColorResp
	case "temp":
		return "°C", ui.ColorWhite
	case "etco2":
		return "mmHg", ui.ColorResp
	}
	return "mmHg", ui.ColorWhite
}

func (d trendDesk) Trends(bed string, from, to time.Time) ([]ui.TrendSeries, error) {
	c := d.c
	if c.Recordings == nil {
		return nil, errRecordingsOff
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	var onsets []store.Event
	if c.Store != nil {
		evs, err := c.Store.Events(ctx, store.Filter{From: from, To: to, Kinds: []string{store.KindAlarm}, Bed: bed})
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Event == "raised" {
				onsets = append(onsets, e)
			}
		}
	}
	lim := c.Alarms.Limits(bed)
	var out []ui.TrendSeries
	for _, p := range alarms.Params {
		pts, err := c.Recordings.Trend(ctx, bed, strconv.FormatUint(uint64(p.Code), 10), from, to)
		if err != nil {
			return nil, err
		}
		if len(pts) == 0 {
			continue
		}
		unit, col := trendStyle(p.Name)
		s := ui.TrendSeries{Label: p.Label, Unit: unit, Color: col, Decimals: p.Decimals, Low: math.NaN(), High: math.NaN()}
		if l, ok := lim.Limit(p.Name); ok {
			s.Low, s.High = l.Low, l.High
		}
		if p.Name == "spo2" { // the HIGH limit below the low limit, drawn apart
			s.Desat = lim.Desat()
		}
		s.Points = make([]ui.TrendPoint, len(pts))
		for i, tp := range pts {
			s.Points[i] = ui.TrendPoint{At: tp.At, V: tp.Median}
		}
		for _, e := range onsets {
			if alarmOfParam(e.AlarmID, p.Name) {
				s.Marks = append(s.Marks, ui.TrendMark{At: e.At, Priority: alarms.PriorityOfText(e.Detail), Text: e.Detail})
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// alarmOfParam reports whether the alarm of id is about parameter name, by
// the code inside the id ("<bed>.<code>.<onset ms>", alarms.alarmID): its
// own limits, the desaturation for SpO2, or the one alarm of its group (a
// blood pressure's, alarms.LimitGroups), marked on each member's chart.
func alarmOfParam(id, name string) bool {
	if strings.Contains(id, "."+name+"-low.") || strings.Contains(id, "."+name+"-high.") ||
		(name == "spo2" && strings.Contains(id, ".spo2-desat.")) {
		return true
	}
	g, ok := alarms.GroupOf(name)
	return ok && strings.Contains(id, "."+g.Code+".")
}
