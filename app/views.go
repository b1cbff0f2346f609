package app

import (
	"context"
	"errors"
	"io"
	"math"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/ui"
)

// limitDesk is the bed detail's quick limit adjustment: the limits the
// alarm engine applies now, changed through the bed administration (so the
// change is checked against the operator's role, journalled, and kept).
type limitDesk struct{ c *Core }

var _ ui.DesatDesk = limitDesk{}

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

// DesatLimit is bed's SpO2 desaturation limit (ui.DesatDesk): the alarm
// engine's, of the bed's profile.
func (d limitDesk) DesatLimit(bed string) float64 { return d.c.Alarms.Limits(bed).Desat() }

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

// burdenDesk is the alarm burden view's source: the journal's alarm trail
// read as the operator logged in (any role may look).
type burdenDesk struct{ c *Core }

func (d burdenDesk) check() error { return d.c.Alarms.Operator().Check(alarms.ActView) }

func (d burdenDesk) Burden(from, to time.Time, bed string) (ui.BurdenReport, error) {
	if err := d.check(); err != nil {
		return ui.BurdenReport{}, err
	}
	ctx, cancel := context.WithTimeout(d.c.ctx, 30*time.Second)
	defer cancel()
	b, err := d.c.Store.Burden(ctx, from, to, bed)
	if err != nil {
		return ui.BurdenReport{}, err
	}
	w := b.Ward
	r := ui.BurdenReport{From: b.From, To: b.To, Bed: bed, Alarms: w.Alarms, BedDays: w.BedDays, PerBedDay: w.PerBedDay,
		BedDaysRule: store.BedDaysRule, High: w.High, Medium: w.Medium, Low: w.Low, AutoResolved: w.AutoResolved,
		AutoShare: w.AutoShare, Acked: w.Ack.Acked, AckMedian: w.Ack.Median, AckP90: w.Ack.P90, AckMax: w.Ack.Max,
		NoisiestShare: b.NoisiestShare, StationWide: b.StationWide}
	for _, h := range w.Ack.Hist {
		r.AckHist = append(r.AckHist, ui.BurdenBucket{Label: h.Label, Count: h.Count})
	}
	for _, x := range b.Beds {
		r.Beds = append(r.Beds, ui.BurdenBed{Bed: x.Bed, Alarms: x.Alarms, BedDays: x.BedDays, PerBedDay: x.PerBedDay,
			High: x.High, Medium: x.Medium, Low: x.Low, AutoShare: x.AutoShare, Acked: x.Ack.Acked,
			AckMedian: x.Ack.Median, Noisiest: x.Noisiest})
	}
	for _, x := range b.ByParam {
		r.Params = append(r.Params, ui.BurdenParam{Param: x.Param, Label: x.Label, Alarms: x.Alarms, PerBedDay: x.PerBedDay,
			High: x.High, Medium: x.Medium, Low: x.Low, AutoShare: x.AutoShare, Acked: x.Ack.Acked, AckMedian: x.Ack.Median})
	}
	for _, s := range b.Suggestions {
		r.Suggestions = append(r.Suggestions, s.Text)
	}
	return r, nil
}

func (d burdenDesk) InventoryCSV(from, to time.Time, bed string, w io.Writer) error {
	if err := d.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.c.ctx, 60*time.Second)
	defer cancel()
	recs, err := d.c.Store.AlarmInventory(ctx, from, to, bed)
	if err != nil {
		return err
	}
	return store.WriteInventoryCSV(w, recs)
}
