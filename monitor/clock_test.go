package monitor

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// testDevice sends 200 ms frames of a sinus ECG (gapECG) to one bed, each
// arriving 20 ms after it ends by the station's clock; its own clock is
// off by off.
type testDevice struct {
	t   *testing.T
	h   *Hub
	clk *fakeClock
	bed string
	k   int    // frames of time gone by
	seq uint32 // the next frame's sequence number
	off time.Duration
}

func newTestDevice(t *testing.T, cfg Config, bed string) (*testDevice, *recObserver, *recordedAt) {
	clk := &fakeClock{time.UnixMilli(t0)}
	obs, rec := &recObserver{}, &recordedAt{}
	cfg.Ward, cfg.Now, cfg.Observer, cfg.Recorder = "T", clk.now, obs, rec
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return &testDevice{t: t, h: NewHub(cfg), clk: clk, bed: bed}, obs, rec
}

// frame is the device's next frame, as it would send it, and moves the
// station's clock to its arrival.
func (d *testDevice) frame() *feed.WaveFrame {
	s := make([]int16, 50)
	for i := range s {
		s[i] = int16(math.Round(gapECG(float64(d.k)*0.2+float64(i)/250, -1) * 200))
	}
	f := &feed.WaveFrame{Seq: d.seq, StartMs: t0 + int64(d.k)*200 + d.off.Milliseconds(),
		Channels: []feed.Channel{{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200, Samples: s}}}
	d.clk.t = time.UnixMilli(t0 + int64(d.k+1)*200 + 20)
	d.k++
	d.seq++
	return f
}

// run sends the frames of d seconds.
func (d *testDevice) run(secs float64) {
	for range int(math.Round(secs / 0.2)) {
		d.h.Wave(d.bed, d.frame())
	}
}

// recordedAt keeps what the recorder was given.
type recordedAt struct {
	starts []int64 // StartMs of each frame
	ats    []time.Time
	nums   []int64 // TsMs of each numerics message
}

func (r *recordedAt) Wave(bed string, f *feed.WaveFrame, at time.Time) {
	r.starts = append(r.starts, f.StartMs)
	r.ats = append(r.ats, at)
}
func (r *recordedAt) Numerics(bed string, f feed.NumFrame, at time.Time) {
	r.nums = append(r.nums, f.TsMs)
}

// clockAlarms are the clock alarm messages obs saw.
func clockAlarms(obs *recObserver) []feed.Alarm {
	var out []feed.Alarm
	for _, a := range obs.alarms {
		if a.ID == ClockAlarmID {
			out = append(out, a)
		}
	}
	return out
}

// TestForgedFrameCannotBlankBed: the attack that worked — one JSON wave
// frame on bed 03 with seq 2^31 and t0 in the year 2200 — and its milder
// cousins, a frame with a plausible time but a jumped sequence, or the
// next sequence number and a time minutes off (inside the skew window).
// None moves the bed's clock or sequence: the genuine frames after it are
// all applied, none is late, the analysis goes on, the bed is online, and
// nothing of the forged frame is drawn.
func TestForgedFrameCannotBlankBed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		forge      func(d *testDevice) string // the forged frame, JSON
		skew, jump uint64
	}{
		{"seq 2^31, year 2200", func(d *testDevice) string {
			return `{"v":1,"seq":2147483648,"t0":7258118400000,"channels":[{"code":"ECG_II","rate":250,"gain":200,"samples":[30000,30000]}]}`
		}, 1, 0},
		{"seq 2^31, time now", func(d *testDevice) string {
			return fmt.Sprintf(`{"v":1,"seq":2147483648,"t0":%d,"channels":[{"code":"ECG_II","rate":250,"gain":200,"samples":[30000,30000]}]}`, d.clk.t.UnixMilli())
		}, 0, 1},
		{"next seq, 4 min ahead", func(d *testDevice) string {
			return fmt.Sprintf(`{"v":1,"seq":%d,"t0":%d,"channels":[{"code":"ECG_II","rate":250,"gain":200,"samples":[30000,30000]}]}`, d.seq, d.clk.t.Add(4*time.Minute).UnixMilli())
		}, 0, 1},
		{"next seq, 4 min back", func(d *testDevice) string {
			return fmt.Sprintf(`{"v":1,"seq":%d,"t0":%d,"channels":[{"code":"ECG_II","rate":250,"gain":200,"samples":[30000,30000]}]}`, d.seq, d.clk.t.Add(-4*time.Minute).UnixMilli())
		}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, obs, rec := newTestDevice(t, Config{Beds: []string{"03"}}, "03")
			d.run(10)
			var forged feed.WaveFrame
			if err := feed.DecodeWaveJSON([]byte(tc.forge(d)), &forged); err != nil {
				t.Fatal(err)
			}
			d.h.Wave("03", &forged)
			d.run(20)
			b := d.h.Bed("03")
			c := b.Counts()
			if c.SkewFrames != tc.skew || c.JumpFrames != tc.jump || c.LateFrames != 0 || c.DupFrames != 0 ||
				c.Restarts != 0 || c.Gaps != 0 || c.Samples != 150*50 {
				t.Fatalf("bed counts %+v: want %d refused for skew, %d held as a jump, all 150 genuine frames applied", c, tc.skew, tc.jump)
			}
			if n := d.h.Counters(); n.SkewFrames != tc.skew || n.JumpFrames != tc.jump {
				t.Fatalf("hub counters %+v", n)
			}
			for _, v := range b.Channel(feed.MDCECGLeadII).Ring.Drain(nil) {
				if v > 100 {
					t.Fatal("the forged frame's samples were drawn")
				}
			}
			if s := b.State(d.clk.now()); s.WaveStale || s.LeadsOff {
				t.Fatalf("bed state %+v", s)
			}
			if a := b.Analysis(); !a.Active || a.Learning || math.Abs(a.HR-75) > 2 || a.Conditions != 0 {
				t.Fatalf("analysis %+v, want going on at 75/min", a)
			}
			if len(lethalAlarms(obs)) != 0 || len(clockAlarms(obs)) != 0 {
				t.Fatalf("alarms %+v", obs.alarms)
			}
			if len(rec.starts) != 150 {
				t.Fatalf("%d frames recorded, want the 150 genuine ones", len(rec.starts))
			}
		})
	}
}

// TestRestartConfirmedByNextFrame: a device restart (sequence from 0, a
// few seconds later) is told from a forged frame by the frame after it:
// the first frame of the new sequence is held, the second confirms it, and
// from then on the bed follows the new sequence.
func TestRestartConfirmedByNextFrame(t *testing.T) {
	d, obs, _ := newTestDevice(t, Config{}, "R1")
	d.run(20)
	d.k += 40 // 8 s off
	d.seq = 0
	d.run(20)
	c := d.h.Bed("R1").Counts()
	if c.Restarts != 1 || c.JumpFrames != 1 || c.Gaps != 1 || c.LateFrames != 0 || c.Samples != 199*50 {
		t.Fatalf("counts %+v: want the restart confirmed, one frame held", c)
	}
	if len(lethalAlarms(obs)) != 0 {
		t.Fatalf("alarms %+v", lethalAlarms(obs))
	}
	// A sequence that jumps ahead in a steady stream and goes on from
	// there (a gateway renumbering) is followed the same way.
	d.seq += 1 << 20
	d.run(5)
	if c := d.h.Bed("R1").Counts(); c.Restarts != 2 || c.JumpFrames != 2 || c.Samples != 223*50 {
		t.Fatalf("counts %+v after a renumbering", c)
	}
}

// TestDeviceClockOff: a device whose clock is steadily off — 40 s or 3 min
// behind (inside the skew window), an hour ahead or days behind (outside
// it) — is not blanked: its data are placed by arrival time once its
// offset is steady (5 s of frames), the recorder gets them at that time,
// and the bed has the technical alarm naming the offset. When the clock
// is put right, the alarm ends and the data go on.
func TestDeviceClockOff(t *testing.T) {
	for _, tc := range []struct {
		off     time.Duration
		text    string
		refused bool // outside the skew window: refused until placed
	}{
		{-40 * time.Second, "DEVICE CLOCK OFF by -40s: data placed by arrival time", false},
		{-3*time.Minute - 12*time.Second, "DEVICE CLOCK OFF by -3m12s: data placed by arrival time", false},
		{time.Hour, "DEVICE CLOCK OFF by +1h0m0s: data placed by arrival time", true},
		{-50 * time.Hour, "DEVICE CLOCK OFF by -50h0m0s: data placed by arrival time", true},
	} {
		t.Run(tc.off.String(), func(t *testing.T) {
			d, obs, rec := newTestDevice(t, Config{}, "C1")
			d.off = tc.off
			d.run(30)
			b := d.h.Bed("C1")
			c := b.Counts()
			if tc.refused != (c.SkewFrames > 0) || c.SkewFrames > 30 || c.LateFrames != 0 || c.JumpFrames != 0 ||
				c.Samples != (150-c.SkewFrames)*50 {
				t.Fatalf("counts %+v", c)
			}
			al := clockAlarms(obs)
			if len(al) != 1 || al[0].Phase != feed.PhaseStart || al[0].Text != tc.text ||
				al[0].Priority != feed.AlarmLow || al[0].Source != feed.SourceTechnical || al[0].Validate() != nil {
				t.Fatalf("clock alarms %+v, want one start %q", al, tc.text)
			}
			if got := b.ClockOffset(); got != tc.off {
				t.Fatalf("ClockOffset %v, want %v", got, tc.off)
			}
			// Once placed, the recorder has the frames at their arrival.
			n := len(rec.starts)
			if late := rec.ats[n-1].UnixMilli() - (rec.starts[n-1] + 200); late < 0 || late > 100 {
				t.Fatalf("the last frame recorded %d ms before its arrival", late)
			}
			if s := b.State(d.clk.now()); s.WaveStale {
				t.Fatalf("state %+v", s)
			}
			if a := b.Analysis(); !a.Active || a.Learning || math.Abs(a.HR-75) > 2 {
				t.Fatalf("analysis %+v", a)
			}
			// The clock is put right (a step, the sequence going on):
			// the step is a jump, confirmed by the next frame; a clock
			// that was outside the skew window has its frames refused
			// until the placement follows (5 s).
			d.off = 0
			d.run(20)
			al = clockAlarms(obs)
			if len(al) != 2 || al[1].Phase != feed.PhaseEnd || b.ClockOffset() != 0 {
				t.Fatalf("after the clock was put right: %+v (offset %v)", al, b.ClockOffset())
			}
			c2 := b.Counts()
			lost := 100 - (c2.Samples-c.Samples)/50
			t.Logf("offset %v: %d frames refused before the placement, %d of the 100 frames after the step not applied", tc.off, c.SkewFrames, lost)
			if c2.LateFrames != 0 || c2.Restarts != 1 || len(lethalAlarms(obs)) != 0 || lost > 30 || !tc.refused && lost > 1 {
				t.Fatalf("counts %+v, alarms %+v", c2, lethalAlarms(obs))
			}
		})
	}
}

// TestForgedFramesCannotPlaceByArrival: frames with a clock 40 s off
// (inside the skew window) among a device's genuine frames — one, or one
// in every five — never make the hub take the device's clock for off:
// they are held as jumps and forgotten, the genuine frames all applied.
func TestForgedFramesCannotPlaceByArrival(t *testing.T) {
	for _, every := range []int{0, 5} {
		t.Run(fmt.Sprint("every ", every), func(t *testing.T) {
			d, obs, _ := newTestDevice(t, Config{}, "F1")
			forged := 0
			for k := range 300 {
				if k == 100 || every > 0 && k%every == 0 && k > 0 {
					f := d.frame()
					d.k, d.seq = d.k-1, d.seq-1 // the genuine frame comes too
					f.StartMs -= 40_000
					d.h.Wave("F1", f)
					forged++
				}
				d.h.Wave("F1", d.frame())
			}
			c := d.h.Bed("F1").Counts()
			if len(clockAlarms(obs)) != 0 || d.h.Bed("F1").ClockOffset() != 0 {
				t.Fatalf("clock alarms %+v from %d forged frames", clockAlarms(obs), forged)
			}
			if c.Samples != 300*50 || c.LateFrames != 0 || c.Restarts != 0 || c.JumpFrames != uint64(forged) {
				t.Fatalf("counts %+v, %d forged", c, forged)
			}
		})
	}
}

// TestNumericsTime: a numerics message of a device that sends waveforms,
// stamped far outside the skew window, changes no value and is counted. A
// numerics-only device (an HL7 monitor) whose clock is an hour off is not
// blanked: each value is applied and placed by arrival (counted), and
// once its offset is steady it is placed by arrival with the clock alarm.
func TestNumericsTime(t *testing.T) {
	d, obs, rec := newTestDevice(t, Config{}, "N1")
	d.run(1)
	seq := uint32(0)
	num := func(off time.Duration, v float64) {
		seq++
		d.h.Numerics("N1", feed.NumFrame{TsMs: d.clk.now().Add(off).UnixMilli(), Seq: seq, Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: v, Valid: true}}})
	}
	num(0, 97)
	num(100*365*24*time.Hour, 50) // ~2125
	if v, _ := d.h.Bed("N1").Vital(feed.MDCSpO2); v.Value != 97 || d.h.Bed("N1").Counts().SkewFrames != 1 || d.h.Counters().SkewFrames != 1 {
		t.Fatalf("SpO2 %+v, counts %+v", v, d.h.Bed("N1").Counts())
	}
	if len(rec.nums) != 1 || len(obs.nums) != 1 {
		t.Fatalf("the refused message was passed on")
	}
	d2, obs2, _ := newTestDevice(t, Config{}, "N2")
	for i := range 20 {
		d2.clk.advance(time.Second)
		d2.h.Numerics("N2", feed.NumFrame{TsMs: d2.clk.now().Add(time.Hour).UnixMilli(), Seq: uint32(i), Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: float64(80 + i), Valid: true}}})
		if v, ok := d2.h.Bed("N2").Vital(feed.MDCSpO2); !ok || v.Value != float64(80+i) {
			t.Fatalf("message %d: SpO2 %+v, want applied", i, v)
		}
		if last := obs2.nums[len(obs2.nums)-1]; last.TsMs != d2.clk.now().UnixMilli() {
			t.Fatalf("message %d placed %d ms from its arrival", i, d2.clk.now().UnixMilli()-last.TsMs)
		}
	}
	if n := d2.h.Bed("N2").Counts().SkewFrames; n == 0 || n > 6 {
		t.Fatalf("%d counted outside the window, want the first few (until the offset is steady)", n)
	}
	if al := clockAlarms(obs2); len(al) != 1 || !strings.Contains(al[0].Text, "+1h0m0s") {
		t.Fatalf("clock alarms %+v", al)
	}
	// A numerics-only device whose times lag a minute (a trend's
	// measurement times) is inside the window: applied, no clock alarm.
	d3, obs3, _ := newTestDevice(t, Config{}, "N3")
	for i := range 60 {
		d3.clk.advance(time.Second)
		d3.h.Numerics("N3", feed.NumFrame{TsMs: d3.clk.now().Add(-time.Minute).UnixMilli(), Seq: uint32(i), Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: 97, Valid: true}}})
	}
	if len(obs3.nums) != 60 || len(clockAlarms(obs3)) != 0 {
		t.Fatalf("%d of 60 applied, clock alarms %+v", len(obs3.nums), clockAlarms(obs3))
	}
}

// BenchmarkClockObserve: what the device-clock estimate costs per frame.
func BenchmarkClockObserve(b *testing.B) {
	var c bedClock
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		c.observe(20+i%7, t0+i*200, driftThreshold.Milliseconds())
		i++
	}
}

// TestClockWorkedExample plays the table of clock.go.
func TestClockWorkedExample(t *testing.T) {
	c := &fakeClock{}
	h := newTestHub(c)
	noon := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		seq               uint32
		t0                time.Time
		arrives           time.Duration // after noon
		skew, jump, rstrt uint64
		samples           uint64
	}{
		{100, noon, 220 * time.Millisecond, 0, 0, 0, 50},
		{1 << 31, time.UnixMilli(7258118400000), 300 * time.Millisecond, 1, 0, 0, 50},
		{1 << 31, noon.Add(300 * time.Millisecond), 350 * time.Millisecond, 1, 1, 0, 50},
		{101, noon.Add(200 * time.Millisecond), 420 * time.Millisecond, 1, 1, 0, 100},
		{0, noon.Add(7 * time.Second), 7220 * time.Millisecond, 1, 2, 0, 100},
		{1, noon.Add(7200 * time.Millisecond), 7420 * time.Millisecond, 1, 2, 1, 150},
	}
	for i, s := range steps {
		c.t = noon.Add(s.arrives)
		h.Wave("01", frame(s.seq, s.t0.UnixMilli()))
		if n := h.Bed("01").Counts(); n.SkewFrames != s.skew || n.JumpFrames != s.jump || n.Restarts != s.rstrt || n.Samples != s.samples || n.LateFrames != 0 {
			t.Fatalf("step %d (seq %d): counts %+v", i, s.seq, n)
		}
	}
	// The break of the restart: 6.6 s, of which the ring shows 1 s.
	got := drain(t, h, "01")
	nan := 0
	for _, v := range got {
		if math.IsNaN(float64(v)) {
			nan++
		}
	}
	if nan != 250 || len(got) != 150+250 {
		t.Fatalf("%d samples, %d of them the break; want 400 and 250", len(got), nan)
	}
}
