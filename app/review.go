package app

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/app/store/recordings"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/ui"
)

// snippetRecorder journals the alarm trail (the store) and, for every
// alarm of a bed as it is raised, asks the recordings to keep the bed's
// waveforms from 10 s before to 10 s after onset with its numerics at
// onset, so the event can be reviewed long after the waveforms themselves
// are purged.
type snippetRecorder struct {
	store *store.Store
	c     *Core
}

func (r snippetRecorder) Record(rec alarms.Record) <-chan error {
	if rec.Event == "raised" && rec.Bed != "" && rec.AlarmID != "" {
		if rs := r.c.Recordings; rs != nil {
			s := recordings.Snippet{AlarmID: rec.AlarmID, Bed: rec.Bed, Text: rec.Detail, Onset: cmp.Or(rec.At, time.Now()),
				Numerics: r.c.numericsNow(rec.Bed)}
			if err := rs.KeepSnippet(s); err != nil && !errors.Is(err, recordings.ErrSnippetExists) {
				r.c.Log.Warn("alarm snippet not kept", "alarm", rec.AlarmID, "err", err)
			}
		}
	}
	return r.store.Record(rec)
}

// numericsNow are bed's valid numerics now, by parameter name.
func (c *Core) numericsNow(bed string) map[string]float64 {
	b := c.Hub.Bed(bed)
	if b == nil {
		return nil
	}
	out := map[string]float64{}
	for _, p := range alarms.Params {
		if v, ok := b.Vital(p.Code); ok && v.Valid && !math.IsNaN(v.Value) {
			out[p.Name] = v.Value
		}
	}
	return out
}

// reviewDesk feeds the full-disclosure and event reviews from the
// recordings (waveforms, snippets) and the journal (who acknowledged).
type reviewDesk struct{ c *Core }

func (d reviewDesk) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(d.c.ctx, 20*time.Second)
}

func (d reviewDesk) check() error {
	if d.c.Recordings == nil {
		return errRecordingsOff
	}
	return d.c.Alarms.Operator().Check(alarms.ActView)
}

func (d reviewDesk) Range(bed string) (time.Time, time.Time, error) {
	if err := d.check(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	ctx, cancel := d.ctx()
	defer cancel()
	return d.c.Recordings.WaveRange(ctx, bed)
}

// waveTrace is one stored channel as the review draws it.
func waveTrace(code string, segs []recordings.Segment) ui.WaveTrace {
	n, _ := strconv.ParseUint(code, 10, 32)
	label, col, _ := ui.WaveStyle(uint32(n))
	tr := ui.WaveTrace{Label: label, Color: col, Unit: waveUnit(uint32(n))}
	for _, s := range segs {
		tr.RateHz = s.RateHz
		tr.Segments = append(tr.Segments, ui.WaveSegment{Start: s.Start, Samples: s.Samples})
	}
	return tr
}

func waveUnit(code uint32) string {
	switch {
	case feed.IsECG(code):
		return "mV"
	case code == feed.MDCPressArt, code == feed.MDCAwayCO2:
		return "mmHg"
	}
	return ""
}

func (d reviewDesk) Disclosure(bed string, from, to time.Time) ([]ui.WaveTrace, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	ctx, cancel := d.ctx()
	defer cancel()
	codes, err := d.c.Recordings.Channels(ctx, bed)
	if err != nil {
		return nil, err
	}
	sortChannels(codes)
	var out []ui.WaveTrace
	for _, code := range codes {
		segs, err := d.c.Recordings.Disclosure(ctx, bed, code, from, to)
		if err != nil {
			return nil, err
		}
		if len(segs) > 0 {
			out = append(out, waveTrace(code, segs))
		}
	}
	return out, nil
}

// sortChannels puts decimal MDC codes in the order the bed's detail shows.
func sortChannels(codes []string) {
	num := func(s string) uint32 { n, _ := strconv.ParseUint(s, 10, 32); return uint32(n) }
	slices.SortFunc(codes, func(a, b string) int {
		return cmp.Or(cmp.Compare(ui.WaveOrder(num(a)), ui.WaveOrder(num(b))), cmp.Compare(num(a), num(b)))
	})
}

// events reads the bed's alarm trail in [from, to) (and what followed, for
// acknowledgements after to) into review events, with their snippets'
// numerics where kept.
func (d reviewDesk) Events(bed string, from, to time.Time) ([]ui.ReviewEvent, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	ctx, cancel := d.ctx()
	defer cancel()
	recs, err := d.c.Store.AlarmInventory(ctx, from, to, bed)
	if err != nil {
		return nil, err
	}
	snips, err := d.c.Recordings.Snippets(ctx, bed, from.Add(-time.Minute), to.Add(time.Minute))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]recordings.Snippet, len(snips))
	for _, s := range snips {
		byID[s.AlarmID] = s
	}
	out := make([]ui.ReviewEvent, 0, len(recs))
	for _, r := range recs {
		if r.Bed == "" {
			continue // station-wide: no bed, no waveforms
		}
		e := reviewEvent(r)
		if s, ok := byID[r.ID]; ok {
			e.Numerics = numericsAt(s.Numerics)
		}
		out = append(out, e)
	}
	return out, nil
}

func reviewEvent(r store.AlarmRecord) ui.ReviewEvent {
	return ui.ReviewEvent{AlarmID: r.ID, Bed: r.Bed, Text: r.Text, Priority: r.Priority, Onset: r.Raised,
		AckedBy: r.AckedBy, AckedAt: r.AckedAt, ResolvedAt: r.ResolvedAt}
}

// numericsAt lists numerics in the order of alarms.Params.
func numericsAt(m map[string]float64) []ui.NumericAt {
	var out []ui.NumericAt
	for _, p := range alarms.Params {
		if v, ok := m[p.Name]; ok {
			out = append(out, ui.NumericAt{Label: p.Label, Value: strconv.FormatFloat(v, 'f', p.Decimals, 64)})
		}
	}
	return out
}

func (d reviewDesk) Snippet(alarmID string) (ui.ReviewEvent, []ui.WaveTrace, error) {
	if err := d.check(); err != nil {
		return ui.ReviewEvent{}, nil, err
	}
	ctx, cancel := d.ctx()
	defer cancel()
	s, traces, err := d.c.Recordings.Snippet(ctx, alarmID)
	if err != nil {
		return ui.ReviewEvent{}, nil, err
	}
	e := ui.ReviewEvent{AlarmID: s.AlarmID, Bed: s.Bed, Text: s.Text, Priority: alarms.PriorityOfText(s.Text),
		Onset: s.Onset, Numerics: numericsAt(s.Numerics)}
	// Who acknowledged, and when it ended, from the journal.
	if recs, err := d.c.Store.AlarmInventory(ctx, s.Onset.Add(-time.Second), s.Onset.Add(time.Second), s.Bed); err == nil {
		for _, r := range recs {
			if r.ID == alarmID {
				n := e.Numerics
				e = reviewEvent(r)
				e.Numerics = n
			}
		}
	}
	out := make([]ui.WaveTrace, 0, len(traces))
	codes := make([]string, 0, len(traces))
	byCode := map[string]recordings.Trace{}
	for _, tr := range traces {
		codes = append(codes, tr.Code)
		byCode[tr.Code] = tr
	}
	sortChannels(codes)
	for _, code := range codes {
		out = append(out, waveTrace(code, byCode[code].Segments))
	}
	return e, out, nil
}
