package app

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-station/vigil/ui"
)

// An alarm raised at the station keeps its snippet: every waveform of the
// bed from 10 s before to 10 s after onset, with the numerics at onset;
// the review lists the event with who acknowledged it, and full disclosure
// reads the bed's stored waveforms around it.
func TestAlarmSnippetAndReview(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	cfg.Sim, cfg.Scenario, cfg.ScenarioBed = 2, "desat", 2
	cfg.Operator, cfg.Role = "nina", "nurse"
	cfg.NumStale, cfg.WaveStale = time.Hour, time.Hour
	start := time.Now()
	core := startStation(t, cfg)
	var id, bed string
	var onset time.Time
	waitFor(t, 40*time.Second, "the simulated desaturation", func() bool {
		a, ok := findAlarm(core, "spo2-desat")
		id, bed, onset = a.ID, a.Bed, a.Onset
		return ok
	})
	if err := core.Alarms.Acknowledge(id); err != nil {
		t.Fatal(err)
	}
	desk := reviewDesk{core}
	// The snippet's 10 s after onset are in a chunk once it closes (10 s
	// chunks) and the writer has it.
	var traces int
	waitFor(t, 40*time.Second, "the snippet's waveforms after onset", func() bool {
		_, trs, err := desk.Snippet(id)
		if err != nil {
			return false
		}
		traces = 0
		for _, tr := range trs {
			n := len(tr.Segments)
			if n > 0 && !tr.Segments[n-1].Start.Add(time.Duration(float64(len(tr.Segments[n-1].Samples))/tr.RateHz*1e9)).Before(onset.Add(9*time.Second)) {
				traces++
			}
		}
		return traces == 3
	})
	ev, trs, err := desk.Snippet(id)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{}
	for _, tr := range trs {
		labels = append(labels, tr.Label)
	}
	if !slices.Equal(labels, []string{"ECG II", "Pleth", "Resp"}) {
		t.Fatalf("snippet channels %v", labels)
	}
	if ev.AckedBy != "nina" || ev.Bed != bed || ev.Onset.IsZero() {
		t.Fatalf("snippet's event %+v", ev)
	}
	var spo2 string
	for _, n := range ev.Numerics {
		if n.Label == "SpO2" {
			spo2 = n.Value
		}
	}
	if v, err := strconv.ParseFloat(spo2, 64); err != nil || v >= 85 {
		t.Fatalf("numerics at onset %v, want SpO2 below 85", ev.Numerics)
	}
	evs, err := desk.Events(bed, start, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(evs, func(e ui.ReviewEvent) bool { return e.AlarmID == id })
	if i < 0 || evs[i].AckedBy != "nina" || len(evs[i].Numerics) == 0 {
		t.Fatalf("events %+v", evs)
	}
	first, last, err := desk.Range(bed)
	if err != nil || first.After(onset.Add(-5*time.Second)) || last.Before(onset.Add(9*time.Second)) {
		t.Fatalf("stored %v – %v (%v) around onset %v", first, last, err, onset)
	}
	dis, err := desk.Disclosure(bed, onset.Add(-5*time.Second), onset.Add(5*time.Second))
	if err != nil || len(dis) != 3 || len(dis[0].Segments) == 0 {
		t.Fatalf("disclosure %d traces (%v)", len(dis), err)
	}
}
