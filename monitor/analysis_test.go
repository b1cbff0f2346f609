package monitor

import (
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
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
			if v, _ := h.Bed("R1").Vital(feed.MDCECGHeartRate); !v.Valid || v.Value != 0 {
				t.Fatalf("heart rate in asystole %+v, want a valid 0", v)
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

// TestAnalysisCheckECG: the ECG goes flat while the pleth goes on pulsing
// (an electrode off, not a heart stopped): no asystole, but a MEDIUM
// technical "CHECK ECG" alarm with the pulse rate, ended when the QRS
// complexes are back.
func TestAnalysisCheckECG(t *testing.T) {
	clk := &fakeClock{time.UnixMilli(t0)}
	obs := &recObserver{}
	h := NewHub(Config{Ward: "T", Now: clk.now, Observer: obs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	frames := ecgFrames(40, 20, 75)
	frames = append(frames, ecgFrames(20, 20, 75)...)
	for k, f := range frames {
		pl := make([]int16, 25) // 125 Hz pleth at 75/min all along
		for i := range pl {
			ph := math.Mod(float64(k*25+i)/125, 0.8) / 0.8
			pl[i] = int16(math.Round(1000 * math.Pow(math.Sin(math.Pi*ph), 3)))
		}
		f.Channels = append(f.Channels, feed.Channel{Code: feed.MDCPleth, RateHz: 125, Gain: 1000, Samples: pl})
		f.Seq, f.StartMs = uint32(k), t0+int64(k)*200
		h.Wave("R1", f)
		clk.advance(200 * time.Millisecond)
	}
	for _, a := range obs.alarms {
		if strings.HasPrefix(a.ID, AnalysisAlarmPrefix+"asystole") {
			t.Fatalf("asystole raised with a pulsatile pleth: %+v", a)
		}
	}
	technicalEpisode(t, obs, CheckECGAlarmID, "pulse 75/min")
}

// technicalEpisode checks that obs saw every alarm valid, and the MEDIUM
// technical alarm id start (its text holding text) and end once; it
// returns the start and the end.
func technicalEpisode(t *testing.T, obs *recObserver, id, text string) (start, end feed.Alarm) {
	t.Helper()
	var seen []feed.Alarm
	for _, a := range obs.alarms {
		if err := a.Validate(); err != nil {
			t.Fatalf("alarm %+v: %v", a, err)
		}
		if a.ID == id {
			seen = append(seen, a)
		}
	}
	if len(seen) != 2 || seen[0].Phase != feed.PhaseStart || seen[1].Phase != feed.PhaseEnd {
		t.Fatalf("%s alarms %+v, want a start and an end", id, seen)
	}
	if a := seen[0]; a.Priority != feed.AlarmMedium || a.Source != feed.SourceTechnical || !strings.Contains(a.Text, text) {
		t.Fatalf("%s start %+v", id, a)
	}
	return seen[0], seen[1]
}

// TestAnalysisNoisyECG: artefact in the middle of a sinus rhythm (blobs
// of random shape and size, 0.3–0.5 s apart, that the detector takes for
// wide complexes) raises the MEDIUM technical "ECG noisy" alarm, which
// ends once the ECG has been clean for a while.
func TestAnalysisNoisyECG(t *testing.T) {
	clk := &fakeClock{time.UnixMilli(t0)}
	obs := &recObserver{}
	h := NewHub(Config{Ward: "T", Now: clk.now, Observer: obs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	frames := ecgFrames(60, 60, 75)
	rnd := rand.New(rand.NewPCG(3, 7))
	noise := make([]float64, 10*250)
	for at := 0.2; at < 9.7; at += 0.3 + 0.2*rnd.Float64() {
		a1, a2 := 0.5+2.5*rnd.Float64(), -(0.3 + 2*rnd.Float64())
		w1, w2, off := 0.02+0.06*rnd.Float64(), 0.02+0.06*rnd.Float64(), 0.15*(rnd.Float64()-0.5)
		for i := max(0, int((at-0.3)*250)); i < min(len(noise), int((at+0.3)*250)); i++ {
			dt := float64(i)/250 - at
			noise[i] += a1*math.Exp(-dt*dt/(2*w1*w1)) + a2*math.Exp(-(dt-off)*(dt-off)/(2*w2*w2))
		}
	}
	for k, f := range frames {
		if k >= 100 && k < 150 { // 20 to 30 s
			for i := range f.Channels[0].Samples {
				f.Channels[0].Samples[i] = int16(math.Round(noise[(k-100)*50+i] * 200))
			}
		}
		h.Wave("R1", f)
		clk.advance(200 * time.Millisecond)
	}
	start, end := technicalEpisode(t, obs, NoisyECGAlarmID, "ECG NOISY")
	noisy := []feed.Alarm{start, end}
	if end := time.UnixMilli(noisy[1].TsMs).Sub(time.UnixMilli(t0)); end < 30*time.Second || end > 45*time.Second {
		t.Fatalf("ECG-noisy ended at %v, want within 15 s of the noise's end at 30 s", end)
	}
	// While it holds, Vigil's heart rate has no value (it would count
	// noise); before and after, it has.
	var during, outside int
	for _, f := range obs.nums {
		hr := f.Values[0]
		switch {
		case f.TsMs > noisy[0].TsMs && f.TsMs < noisy[1].TsMs:
			during++
			if hr.Valid {
				t.Errorf("heart rate %+v valid at %d ms while the ECG is noisy", hr, f.TsMs-t0)
			}
		case f.TsMs < noisy[0].TsMs-5000 || f.TsMs > noisy[1].TsMs+5000:
			if outside++; !hr.Valid || hr.Value < 70 || hr.Value > 80 {
				t.Errorf("heart rate %+v at %d ms, want a valid 75", hr, f.TsMs-t0)
			}
		}
	}
	if during == 0 || outside == 0 {
		t.Fatalf("%d heart rates while noisy, %d outside", during, outside)
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

// BenchmarkAnalysis64Beds: the hub taking 64 beds × 3 ECG leads at 250 Hz
// (with a pleth), one second of the ward per op, as a share of one core:
// with Vigil's analysis (raw ECG), and without it (the devices send their
// heart rate) as the baseline. The analysis's cost is the difference
// (target ≤ 10 % of a core).
func BenchmarkAnalysis64Beds(b *testing.B) {
	var raw, dev float64
	b.Run("raw-ecg", func(b *testing.B) { raw = benchAnalysis(b, false) })
	b.Run("device-hr", func(b *testing.B) { dev = benchAnalysis(b, true) })
	benchout.Record("ecg_analysis_pct_core_64x3", raw-dev, "pct_of_core")
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchout.Print()
	os.Exit(code)
}

func benchAnalysis(b *testing.B, deviceHR bool) float64 {
	const beds, fs = 64, 250
	// The station's clock follows the frames: frame k arrives as it ends.
	clk := &fakeClock{time.UnixMilli(t0)}
	h := NewHub(Config{Ward: "T", Now: clk.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	names := make([]string, beds)
	for i := range names {
		names[i] = "B" + string(rune('A'+i/26)) + string(rune('A'+i%26))
	}
	// 5 frames (1 s) of a 75 bpm rhythm on three leads and a pleth.
	src := ecgFrames(60, 60, 75)
	mk := func(k int) *feed.WaveFrame {
		base := src[k%len(src)].Channels[0]
		f := &feed.WaveFrame{Seq: uint32(k), StartMs: t0 + int64(k)*200}
		for _, code := range []uint32{feed.MDCECGLeadII, feed.MDCECGLeadI, feed.MDCECGLeadV1, feed.MDCPleth} {
			c := base
			c.Code = code
			f.Channels = append(f.Channels, c)
		}
		return f
	}
	frames := make([]*feed.WaveFrame, 300)
	for k := range frames {
		frames[k] = mk(k)
	}
	hr := func() {
		if deviceHR {
			for _, n := range names {
				h.Numerics(n, feed.NumFrame{TsMs: clk.now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCECGHeartRate, Value: 75, Valid: true}}})
			}
		}
	}
	// Warm up past the learning period.
	k := 0
	for ; k < 50; k++ {
		clk.t = time.UnixMilli(t0 + int64(k+1)*200)
		if k%5 == 0 {
			hr()
		}
		for _, n := range names {
			f := *frames[k%len(frames)]
			f.Seq, f.StartMs = uint32(k), t0+int64(k)*200
			h.Wave(n, &f)
		}
	}
	if a := h.Bed(names[0]).Analysis(); a.Active == deviceHR || a.Active && a.Leads != 3 {
		b.Fatalf("analysis %+v", a)
		return 0
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		hr()
		for range 5 {
			clk.t = time.UnixMilli(t0 + int64(k+1)*200)
			for _, n := range names {
				f := *frames[k%len(frames)]
				f.Seq, f.StartMs = uint32(k), t0+int64(k)*200
				h.Wave(n, &f)
			}
			k++
		}
	}
	perSecond := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(100*perSecond.Seconds(), "pct_of_core")
	return 100 * perSecond.Seconds()
}
