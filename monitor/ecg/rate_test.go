package ecg

import (
	"math"
	"testing"

	"github.com/vigil-station/vigil/monitor/wfdb"
	"github.com/vigil-station/vigil/monitor/wfdb/wfdbtest"
)

// TestEC13Bigeminy: AAMI EC13 waveform 3a (ventricular bigeminy, 720 Hz)
// reads 80 ± 1 bpm once settled (a naive peak counter reads 40).
func TestEC13Bigeminy(t *testing.T) {
	x, err := wfdb.ReadColumn(wfdbtest.Path(t, "aami_ec13", "aami3a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	hr := MeterHR(x, 720, 20)
	t.Logf("aami3a: %d samples (%.1f s), after 20 s the rate reads %.1f–%.1f bpm, %.1f at the end", len(x), float64(len(x))/720, hr.Min, hr.Max, hr.Final)
	if math.Abs(hr.Final-80) > 1 || hr.Min < 79 || hr.Max > 81 {
		t.Fatalf("heart rate %.1f (%.1f–%.1f after settling), want 80 ± 1", hr.Final, hr.Min, hr.Max)
	}
}

func TestHeartRatePauses(t *testing.T) {
	h := NewHeartRate(100)
	for i := range 20 {
		h.Beat(int64(i * 75)) // 80 bpm
	}
	last := int64(19 * 75)
	if r := h.BPM(last + 10); math.Abs(r-80) > 0.01 {
		t.Fatalf("steady 80 bpm reads %.2f", r)
	}
	// A 2 s pause pulls the rate down before the next beat comes.
	if r := h.BPM(last + 200); r >= 80 || r < 60 {
		t.Fatalf("after a 2 s pause: %.1f", r)
	}
	if r := h.BPM(last + 400); r != 0 {
		t.Fatalf("4 s without a beat reads %.1f, want 0", r)
	}
	h.Beat(last + 500)
	if r := h.BPM(last + 501); r != 0 {
		t.Fatalf("one beat after asystole reads %.1f, want 0 until a second", r)
	}
	h.Beat(last + 600)
	if r := h.BPM(last + 601); math.Abs(r-60) > 0.01 {
		t.Fatalf("a new rhythm of 1 s reads %.1f", r)
	}
}
