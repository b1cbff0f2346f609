package app

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/notify"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/news2"
)

// Journal rows of NEWS2 (kind store.KindObservation).
const (
	evCharted         = "news2-charted"  // Detail "<kind> <value as charted>", New the value, Old the patient
	evAdvisory        = "news2-advisory" // Detail the advisory's text
	evAdvisoryEnded   = "news2-advisory-ended"
	advisoryKindNEWS2 = "news2"
)

// earlyWarning keeps each bed's NEWS2: what nurses chart (journaled, and
// read back at start), the score from the device's fresh values, and the
// advisories when a score reaches 5 or 7. A new patient in a bed starts a
// new chart.
type earlyWarning struct {
	c     *Core
	fresh news2.Freshness
	skew  atomic.Int64 // added to the clock (tests: an hour in a moment)

	mu     sync.Mutex
	charts map[string]*news2.Chart // by feed bed and patient (chartKey)
	watch  map[string]*news2.Watch // by feed bed; the run loop's
}

func newEarlyWarning(c *Core, fresh news2.Freshness) *earlyWarning {
	return &earlyWarning{c: c, fresh: fresh, charts: map[string]*news2.Chart{}, watch: map[string]*news2.Watch{}}
}

func (w *earlyWarning) now() time.Time { return time.Now().Add(time.Duration(w.skew.Load())) }

// startNEWS2 reads back the charted observations and starts the
// assessment loop.
func (c *Core) startNEWS2(cfg Config) error {
	fresh := news2.DefaultFreshness
	fresh.Device = cmp.Or(cfg.NEWS2Fresh, fresh.Device)
	fresh.NIBP = cmp.Or(cfg.NEWS2NIBPFresh, fresh.NIBP)
	fresh.Charted = cmp.Or(cfg.NEWS2ChartFresh, fresh.Charted)
	c.News = newEarlyWarning(c, fresh)
	if err := c.News.restore(c.ctx); err != nil {
		return fmt.Errorf("reading NEWS2 observations from the journal: %w", err)
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.News.run(c.ctx) }()
	return nil
}

// patient is who is in a feed bed now, as the chart knows them ("" when the
// bed is bound to nobody admitted, or to no configured bed).
func (w *earlyWarning) patient(bed string) string {
	b, ok := w.c.BedInfo(bed)
	if !ok {
		return ""
	}
	return cmp.Or(b.Patient.MRN, b.Patient.Name)
}

func chartKey(bed, patient string) string { return bed + "\x00" + patient }

// chart is the bed's chart for its current patient (nil if none and !make).
func (w *earlyWarning) chart(bed string, create bool) *news2.Chart {
	k := chartKey(bed, w.patient(bed))
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.charts[k]
	if ch == nil && create {
		ch = &news2.Chart{}
		w.charts[k] = ch
	}
	return ch
}

// device reads a bed's latest values as NEWS2 inputs.
func newsInputs(b *monitor.Bed) news2.Device {
	r := func(code uint32) news2.Reading {
		v, ok := b.Vital(code)
		return news2.Reading{Value: v.Value, At: v.At, OK: ok && v.Valid}
	}
	return news2.Device{
		RespRate: r(feed.MDCRespRate), SpO2: r(feed.MDCSpO2), SysBP: r(feed.MDCNIBPSys),
		PulseRate: r(feed.MDCPulseRate), HeartRate: r(feed.MDCECGHeartRate), Temperature: r(feed.MDCTemp),
	}
}

// Assess is a bed's NEWS2 now.
func (w *earlyWarning) Assess(bed string) (news2.Assessment, bool) {
	b := w.c.Hub.Bed(bed)
	if b == nil {
		return news2.Assessment{}, false
	}
	return news2.Assess(w.now(), newsInputs(b), w.chart(bed, false), w.fresh), true
}

// MayChart is nil when the operator may chart observations for the bed.
func (w *earlyWarning) MayChart(bed string) error {
	if _, ok := w.c.BedInfo(bed); !ok {
		return errUnbound
	}
	return w.c.Alarms.Operator().Check(alarms.ActObservation)
}

// Chart records an observation the operator charts for a bed: checked,
// journaled (durably, before it counts), then scored.
func (w *earlyWarning) Chart(bed string, kind news2.Kind, value float64) error {
	op := w.c.Alarms.Operator()
	if err := w.MayChart(bed); err != nil {
		r := alarms.Refusal(op, "chart a NEWS2 observation", err)
		r.Bed, r.At = bed, w.now()
		_ = w.c.Store.Record(r) // the store reports a failed write itself
		return err
	}
	e := news2.Entry{Kind: kind, Value: value, At: w.now(), By: op.Who}
	if err := e.Check(); err != nil {
		return err
	}
	patient := w.patient(bed)
	ev := store.Event{At: e.At, Kind: store.KindObservation, Event: evCharted, Bed: bed, Who: op.Who, Role: op.Role.String(),
		Station: op.Where, Detail: kind.String() + " " + e.Text(), Old: patient, New: strconv.FormatFloat(value, 'g', -1, 64)}
	if err := <-w.c.Store.Append(ev); err != nil {
		return fmt.Errorf("the journal did not take the observation, so it is not charted: %w", err)
	}
	w.c.Log.Info("NEWS2 observation charted", "bed", bed, "kind", kind, "value", e.Text(), "by", op.Who)
	return w.chart(bed, true).Add(e)
}

// restore reads back the observations charted before this start.
func (w *earlyWarning) restore(ctx context.Context) error {
	rows, err := w.c.Store.Events(ctx, store.Filter{Kinds: []string{store.KindObservation}})
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range rows {
		if r.Event != evCharted {
			continue
		}
		e, err := parseCharted(r)
		if err != nil {
			w.c.Log.Warn("journal: an observation row not read back", "seq", r.Seq, "err", err)
			continue
		}
		k := chartKey(r.Bed, r.Old)
		ch := w.charts[k]
		if ch == nil {
			ch = &news2.Chart{}
			w.charts[k] = ch
		}
		if ch.Add(e) == nil {
			n++
		}
	}
	if n > 0 {
		w.c.Log.Info("NEWS2 observations read back from the journal", "entries", n)
	}
	return nil
}

// parseCharted reads an entry back from its journal row.
func parseCharted(r store.Event) (news2.Entry, error) {
	name, _, _ := strings.Cut(r.Detail, " ")
	kind, err := news2.ParseKind(name)
	if err != nil {
		return news2.Entry{}, err
	}
	v, err := strconv.ParseFloat(r.New, 64)
	if err != nil {
		return news2.Entry{}, fmt.Errorf("value %q: %w", r.New, err)
	}
	e := news2.Entry{Kind: kind, Value: v, At: r.At, By: r.Who}
	return e, e.Check()
}

// run assesses every bed once a second and keeps the advisories: raised
// (and notified) when a score reaches 5 or 7 and holds, stepped down or
// withdrawn when it has stayed lower.
func (w *earlyWarning) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check()
		}
	}
}

func (w *earlyWarning) check() {
	for _, b := range w.c.Hub.Beds() {
		a, ok := w.Assess(b.Name)
		if !ok {
			continue
		}
		wt := w.watch[b.Name]
		if wt == nil {
			wt = &news2.Watch{}
			w.watch[b.Name] = wt
		}
		change, band := wt.Update(a)
		switch change {
		case news2.Raise, news2.Lower:
			text := advisoryText(a, band)
			w.c.Alarms.Advise(alarms.Advisory{Bed: b.Name, Kind: advisoryKindNEWS2, Text: text, At: a.At})
			w.journal(b.Name, evAdvisory, text, a.At)
			if change == news2.Raise && w.c.Notifier != nil {
				w.c.Notifier.Post(notify.Note{Bed: b.Name, Advisory: true, Text: text, Detail: band.Response(), At: a.At})
			}
		case news2.Withdraw:
			w.c.Alarms.Withdraw(b.Name, advisoryKindNEWS2)
			w.journal(b.Name, evAdvisoryEnded, fmt.Sprintf("NEWS2 under 5 (now %s)", a.Summary()), a.At)
		}
	}
}

// advisoryText names the band reached, the score now and the response.
func advisoryText(a news2.Assessment, band news2.Band) string {
	at := 5
	if band == news2.High {
		at = 7
	}
	return fmt.Sprintf("%s (reached %d): %s", a.Summary(), at, band.Response())
}

// journal records an advisory's change; it does not wait (the store
// reports a failed write itself, as a technical alarm).
func (w *earlyWarning) journal(bed, event, detail string, at time.Time) {
	_ = w.c.Store.Append(store.Event{At: at, Kind: store.KindObservation, Event: event, Bed: bed, Detail: detail,
		Who: "vigil", Role: "system"})
}
