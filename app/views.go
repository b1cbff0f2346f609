package app

import (
	"errors"
	"math"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/ui"
)

// limitDesk is the bed detail's quick limit adjustment: the limits the
// alarm engine applies now, changed through the bed administration (so the
// change is checked against the operator's role, journalled, and kept).
type limitDesk struct{ c *Core }

// limitStep is one tap of − or + on the detail view.
func limitStep(name string) float64 {
	switch name {
	case "hr", "nibp-sys", "nibp-dia", "nibp-mean", "abp-sys", "abp-dia", "abp-mean":
		return 5
	case "temp":
		return 0.1
	}
	return 1
}

var errUnbound = errors.New("this feed is not bound to a bed: bind it under Admin → Beds first")

func (d limitDesk) BedLimits(bed string) []ui.LimitRow {
	lim := d.c.Alarms.Limits(bed)
	out := make([]ui.LimitRow, 0, len(alarms.Params))
	for _, p := range alarms.Params {
		l, ok := lim.Limit(p.Name)
		if !ok {
			l = alarms.Limit{Low: math.NaN(), High: math.NaN(), Min: math.NaN(), Max: math.NaN()}
		}
		out = append(out, ui.LimitRow{Param: p.Name, Label: p.Label, Code: p.Code, Low: l.Low, High: l.High,
			Min: l.Min, Max: l.Max, Step: limitStep(p.Name), Decimals: p.Decimals})
	}
	return out
}

func (d limitDesk) MayAdjust(bed string) error {
	b, ok := d.c.BedInfo(bed)
	if !ok {
		return errUnbound
	}
	op := d.c.Alarms.Operator()
	return alarms.CheckLimits(op, b.ID, b.Nurse != "" && b.Nurse == op.Who)
}

func (d limitDesk) SetLimit(bed, param string, lo, hi float64) error {
	b, ok := d.c.BedInfo(bed)
	if !ok {
		return errUnbound
	}
	return d.c.Store.SetLimit(d.c.ctx, d.c.Alarms.Operator(), b.ID, param, lo, hi)
}
