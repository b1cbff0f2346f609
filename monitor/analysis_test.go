package monitor

import (
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/ecg"
	"github.com/vigil-station/vigil/monitor/feed"
)

type recObserver struct {
	nums   []feed.NumFrame
	alarms []feed.Alarm
}

func (o *recObserver) Numerics(bed string, f feed.NumFrame, at time.Time) { o.nums = append(o.nums, f) }
func (o *recObserver) Status(string, feed.Status, time.Time)              {}
func (o *recObserver) Alarm(bed string, a feed.Alarm, at time.Time)       { o.alarms = append(o.alarms, a) }
func (o *recObserver) Event(string, feed.Event, time.Time)                {}

// ecgFrames makes 200 ms frames of lead II at 250 Hz (gain 200 adu/mV): a
// 1 mV, 25 ms wide QRS every 60/bpm s while beating, a flat line after.
func ecgFrames(seconds, beatingUntil, bpm float64) []*feed.WaveFrame {
	const fs = 250
	var out []*feed.WaveFrame
	for k := 0; float64(k)*0.2 < seconds; k++ {
		s := make([]int16, 50)
		for i := range s {
			t := (float64(k*50+i) / fs)
			v := 0.0
			if t < beatingUntil {
				ph := math.Mod(t, 60/bpm) - 0.3
				v = math.Exp(-ph * ph / (2 * 0.01 * 0.01))
			}
			s[i] = int16(math.Round(v * 200))
		}
		out = append(out, &feed.WaveFrame{Seq: uint32(k), StartMs: t0 + int64(k)*200,
			Channels: []feed.Channel{{Code: feed.MDCECGLeadII, RateHz: fs, Gain: 200, Samples: s}}})
	}
	return out
}

// TestAnalysisRawECG: a bed that sends raw ECG and no heart rate gets its
// heart rate from Vigil (a derived vital, and a numerics message to the
// alarm system once a second), and an asystole alarm, HIGH and latched,
// when the beats stop; the alarm ends when beats return.
func TestAnalysisRawECG(t *testing.T) {
	clk := &fakeClock{time.UnixMilli(t0)}
	obs := &recObserver{}
	h := NewHub(Config{Ward: "T", Now: clk.now, Observer: obs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	frames := ecgFrames(40, 20, 75)
	frames = append(frames, ecgFrames(20, 20, 75)...) // beats again
	for k, f := range frames {
		f.Seq, f.StartMs = uint32(k), t0+int64(k)*200
		h.Wave("R1", f)
		clk.advance(200 * time.Millisecond)
		if k == 95 { // 19 s: beating
			v, ok := h.Bed("R1").Vital(feed.MDCECGHeartRate)
			if !ok || !v.Derived || math.Abs(v.Value-75) > 1 {
				t.Fatalf("derived heart rate %+v", v)
			}
			if a := h.Bed("R1").Analysis(); !a.Active || a.Leads != 1 || a.Conditions != 0 {
				t.Fatalf("analysis at 19 s: %+v", a)
			}
		}
		if k == 150 { // 30 s: 10 s without a beat
			if a := h.Bed("R1").Analysis(); a.Conditions&ecg.Asystole == 0 || a.HR != 0 {
				t.Fatalf("analysis at 30 s: %+v", a)
			}
		}
	}
	if len(obs.nums) < 50 || obs.nums[0].Values[0].Code != feed.MDCECGHeartRate {
		t.Fatalf("%d heart-rate messages", len(obs.nums))
	}
	var starts, ends int
	for _, a := range obs.alarms {
		if err := a.Validate(); err != nil {
			t.Fatalf("alarm %+v: %v", a, err)
		}
		if a.ID != AnalysisAlarmPrefix+"asystole" || !strings.HasPrefix(a.Text, "ASYSTOLE") || a.Priority != feed.AlarmHigh {
			t.Fatalf("unexpected alarm %+v", a)
		}
		switch a.Phase {
		case feed.PhaseStart:
			starts++
			if a.State != feed.StateActive || a.Value != nil {
				t.Fatalf("asystole start: %+v", a)
			}
		case feed.PhaseEnd:
			ends++
		}
	}
	if starts != 1 || ends != 1 {
		t.Fatalf("asystole started %d and ended %d times, want once each: %+v", starts, ends, obs.alarms)
	}
}

// TestAnalysisDeviceHR: a bed whose device sends its own heart rate is the
// device's to analyse: Vigil raises nothing and derives nothing.
func TestAnalysisDeviceHR(t *testing.T) {
	clk := &fakeClock{time.UnixMilli(t0)}
	obs := &recObserver{}
	h := NewHub(Config{Ward: "T", Now: clk.now, Observer: obs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for k, f := range ecgFrames(30, 10, 75) {
		if k%5 == 0 {
			h.Numerics("D1", feed.NumFrame{TsMs: clk.now().UnixMilli(), Seq: uint32(k), Values: []feed.Numeric{{Code: feed.MDCECGHeartRate, Value: 80, Valid: true}}})
		}
		h.Wave("D1", f)
		clk.advance(200 * time.Millisecond)
	}
	v, _ := h.Bed("D1").Vital(feed.MDCECGHeartRate)
	if v.Derived || v.Value != 80 {
		t.Fatalf("the device's heart rate was replaced: %+v", v)
	}
	if a := h.Bed("D1").Analysis(); a.Active || len(obs.alarms) != 0 || len(obs.nums) != 30 {
		t.Fatalf("analysis %+v, %d alarms, %d numerics (want the device's 30)", a, len(obs.alarms), len(obs.nums))
	}
	for _, n := range obs.nums {
		if n.Values[0].Value != 80 {
			t.Fatalf("a numerics message not the device's: %+v", n)
		}
	}
}
