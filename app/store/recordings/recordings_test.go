package recordings

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigil-station/vigil/monitor/feed"
)

var ctx = context.Background()

func num(code uint32, v float64, valid bool) feed.Numeric {
	return feed.Numeric{Code: code, Value: v, Valid: valid}
}

func TestMinuteMedians(t *testing.T) {
	file := tempFile(t)
	r := open(t, file, Options{Now: newClock(t0).Now})
	hr, spo2 := feed.MDCECGHeartRate, feed.MDCSpO2
	frames := []struct {
		off  time.Duration // frame timestamp after t0
		vals []feed.Numeric
	}{
		// Minute 0: HR 70 80 75 (odd count: 75); a NaN, an invalid marker
		// and a value marked invalid are no values.
		{0, []feed.Numeric{num(hr, 70, true)}},
		{10 * time.Second, []feed.Numeric{num(hr, math.NaN(), true)}},
		{20 * time.Second, []feed.Numeric{num(hr, 80, true), num(spo2, 97, true)}},
		{30 * time.Second, []feed.Numeric{num(hr, feed.InvalidSample, true)}},
		{40 * time.Second, []feed.Numeric{num(hr, 999, false)}},
		{59999 * time.Millisecond, []feed.Numeric{num(hr, 75, true)}},
		// Minute 1: HR 60 64 100 62 (even: the mean of 62 and 64); SpO2
		// has no valid value, so no row.
		{60 * time.Second, []feed.Numeric{num(hr, 60, true), num(spo2, 0, false)}},
		{70 * time.Second, []feed.Numeric{num(hr, 64, true), num(spo2, math.NaN(), false)}},
		{80 * time.Second, []feed.Numeric{num(hr, 100, true)}},
		{119999 * time.Millisecond, []feed.Numeric{num(hr, 62, true)}},
		// Minute 2, from its first ms to its last.
		{120 * time.Second, []feed.Numeric{num(hr, 90, true)}},
		{179999 * time.Millisecond, []feed.Numeric{num(hr, 92, true)}},
		// HR 0 is a value (asystole).
		{180 * time.Second, []feed.Numeric{num(hr, 0, true)}},
	}
	for _, f := range frames {
		r.Numerics("03", feed.NumFrame{TsMs: ms(t0.Add(f.off)), Values: f.vals}, t0.Add(f.off))
	}
	// No timestamp: the arrival time counts (minute 4).
	r.Numerics("03", feed.NumFrame{Values: []feed.Numeric{num(hr, 50, true)}}, t0.Add(4*time.Minute+10*time.Second))
	// A late frame for minute 1, which is closed: ignored and counted.
	r.Numerics("03", feed.NumFrame{TsMs: ms(t0.Add(100 * time.Second)), Values: []feed.Numeric{num(hr, 1, true)}}, t0.Add(250*time.Second))
	// Another bed keeps its own minutes.
	r.Numerics("04", feed.NumFrame{TsMs: ms(t0), Values: []feed.Numeric{num(hr, 120, true)}}, t0)
	if got := r.Stats().Late; got != 1 {
		t.Errorf("Stats.Late = %d, want 1", got)
	}
	// Run never started: Close writes everything.
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	r = open(t, file, Options{})
	wantHR := []TrendPoint{
		{t0, 75, 3},
		{t0.Add(time.Minute), 63, 4},
		{t0.Add(2 * time.Minute), 91, 2},
		{t0.Add(3 * time.Minute), 0, 1},
		{t0.Add(4 * time.Minute), 50, 1},
	}
	for _, param := range []string{"HR", "147842"} {
		got, err := r.Trend(ctx, "03", param, t0.Add(-time.Hour), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantHR, got); diff != "" {
			t.Errorf("Trend(%s) (-want +got):\n%s", param, diff)
		}
	}
	got, err := r.Trend(ctx, "03", "SpO2", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]TrendPoint{{t0, 97, 1}}, got); diff != "" {
		t.Errorf("Trend(SpO2) (-want +got):\n%s", diff)
	}
	// The minutes that overlap [1:30, 2:30).
	got, err = r.Trend(ctx, "03", "HR", t0.Add(90*time.Second), t0.Add(150*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantHR[1:3], got); diff != "" {
		t.Errorf("Trend over [1:30, 2:30) (-want +got):\n%s", diff)
	}
	got, err = r.Trend(ctx, "04", "HR", t0, t0.Add(time.Minute))
	if err != nil || len(got) != 1 || got[0].Median != 120 {
		t.Errorf("bed 04: %v, %v; want one minute of 120", got, err)
	}
	if _, err := r.Trend(ctx, "03", "nonsense", t0, t0.Add(time.Hour)); err == nil {
		t.Error("Trend of an unknown parameter succeeded")
	}

	beds, err := r.Beds(ctx)
	if err != nil || !slices.Equal(beds, []string{"03", "04"}) {
		t.Errorf("Beds = %v, %v; want [03 04]", beds, err)
	}
	params, err := r.Params(ctx, "03")
	if err != nil || !slices.Equal(params, []string{"147842", "150456"}) {
		t.Errorf("Params = %v, %v; want [147842 150456]", params, err)
	}
	if s := r.Stats(); s.TrendRows != 7 || s.Chunks != 0 {
		t.Errorf("Stats after reopen: %+v, want 7 trend rows and no chunks", s)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{3, 1}, 2},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{-1, -1, 7, -1, 100}, -1},
	} {
		if got := median(slices.Clone(tt.in)); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A value arriving again for a minute already written (the parameter
// went quiet inside the minute and the sweep closed it) keeps the part
// with more values and does not count a second row.
func TestMinuteWrittenTwice(t *testing.T) {
	file := tempFile(t)
	clk := newClock(t0.Add(2 * time.Minute))
	r := open(t, file, Options{Now: clk.Now})
	stop := run(t, r)
	hr := feed.MDCECGHeartRate
	// Device clock far behind the station: minute t0 is long over.
	for i := range 3 {
		at := clk.Now()
		r.Numerics("01", feed.NumFrame{TsMs: ms(t0) + int64(i)*1000, Values: []feed.Numeric{num(hr, 60, true)}}, at)
	}
	clk.Add(10 * time.Second) // quiet: the sweep closes the minute
	waitFor(t, "first part written", func() bool { return r.Stats().TrendRows == 1 })
	for i := range 5 {
		r.Numerics("01", feed.NumFrame{TsMs: ms(t0) + int64(10+i)*1000, Values: []feed.Numeric{num(hr, 80, true)}}, clk.Now())
	}
	clk.Add(10 * time.Second)
	waitFor(t, "second part written", func() bool { return r.Stats().Written == 2 })
	// The minute before is late for good.
	r.Numerics("01", feed.NumFrame{TsMs: ms(t0) - 1000, Values: []feed.Numeric{num(hr, 99, true)}}, clk.Now())
	if n := r.Stats().Late; n != 1 {
		t.Errorf("Stats.Late = %d, want 1", n)
	}
	stop()
	got, err := r.Trend(ctx, "01", "HR", t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]TrendPoint{{t0, 80, 5}}, got); diff != "" {
		t.Errorf("Trend (-want +got):\n%s", diff)
	}
	if n := r.Stats().TrendRows; n != 1 {
		t.Errorf("Stats.TrendRows = %d, want 1", n)
	}
}

// The writer's sweep closes a chunk whose channel went quiet and a minute
// that is over, without waiting for more data.
func TestSweepClosesStale(t *testing.T) {
	clk := newClock(t0)
	r := open(t, tempFile(t), Options{Now: clk.Now})
	run(t, r)
	ramp := func(i int) int16 { return int16(i % 1000) }
	for k := range 15 { // 3 s of a 10 s chunk
		at := t0.Add(time.Duration(k) * 200 * time.Millisecond)
		r.Wave("01", waveFrame(feed.MDCECGLeadII, 250, 200, 0, ms(at), 50*k, 50, ramp), at)
		if k%5 == 0 {
			r.Numerics("01", feed.NumFrame{TsMs: ms(at), Values: []feed.Numeric{num(feed.MDCSpO2, 96, true)}}, at)
		}
	}
	time.Sleep(200 * time.Millisecond) // several sweeps, with nothing stale yet
	if s := r.Stats(); s.Chunks != 0 || s.TrendRows != 0 {
		t.Fatalf("before anything is stale: %d chunks, %d trend rows; want none", s.Chunks, s.TrendRows)
	}
	clk.Add(8 * time.Second) // the channel has been quiet for 5 s
	waitFor(t, "the stale chunk", func() bool { return r.Stats().Chunks == 1 })
	if n := r.Stats().TrendRows; n != 0 {
		t.Errorf("%d trend rows while the minute is not over", n)
	}
	clk.Set(t0.Add(66 * time.Second))
	waitFor(t, "the finished minute", func() bool { return r.Stats().TrendRows == 1 })
	if s := r.Stats(); s.Samples != 750 {
		t.Errorf("Stats.Samples = %d, want 750", s.Samples)
	}
}

// Segments compare with NaN equal to NaN and times by Equal.
var cmpSeg = cmpopts.EquateNaNs()

func TestGaps(t *testing.T) {
	const code = feed.MDCECGLeadII
	file := tempFile(t)
	// 1.1 s chunks: 275 samples at 250 Hz, so chunks end inside frames.
	r := open(t, file, Options{ChunkSpan: 1100 * time.Millisecond})
	run(t, r)
	base := ms(t0)
	val := func(i int) int16 { return int16(i%400 - 200) }
	var want []Segment
	phys := func(raw int16, gain, baseline float32) float32 {
		c := feed.Channel{Gain: gain, Baseline: baseline}
		return c.Physical(raw)
	}
	addWant := func(start time.Time, rate float64, raws []int16, gain, baseline float32) {
		seg := Segment{Start: start, RateHz: rate}
		for _, x := range raws {
			seg.Samples = append(seg.Samples, phys(x, gain, baseline))
		}
		want = append(want, seg)
	}
	extend := func(raws []int16, gain, baseline float32) {
		for _, x := range raws {
			want[len(want)-1].Samples = append(want[len(want)-1].Samples, phys(x, gain, baseline))
		}
	}
	send := func(f *feed.WaveFrame) []int16 {
		r.Wave("07", f, time.UnixMilli(f.StartMs))
		return f.Channels[0].Samples
	}

	// Segment 1: 3 s at 250 Hz in 200 ms frames, a run of invalid samples
	// inside, and one frame stamped 3 ms late (within tolerance: no gap),
	// the one after the second chunk filled up (at 550 samples), so that
	// the third chunk must start where the second ended, not at its stamp.
	var raws []int16
	for k := range 15 {
		start := base + int64(k)*200
		if k == 11 {
			start += 3
		}
		f := waveFrame(code, 250, 200, 10, start, 50*k, 50, val)
		if k == 4 {
			for i := 10; i < 30; i++ {
				f.Channels[0].Samples[i] = feed.InvalidSample
			}
		}
		raws = append(raws, send(f)...)
	}
	addWant(t0, 250, raws, 200, 10)

	// Segment 2: after a 1 s gap, 2 s more.
	raws = nil
	for k := range 10 {
		raws = append(raws, send(waveFrame(code, 250, 200, 10, base+4000+int64(k)*200, 50*k, 50, val))...)
	}
	addWant(t0.Add(4*time.Second), 250, raws, 200, 10)

	// Segment 3: the rate changes to 500 Hz at 6 s; a second later the
	// gain changes, which splits the chunk but not the segment.
	raws = nil
	for k := range 5 {
		raws = append(raws, send(waveFrame(code, 500, 200, 10, base+6000+int64(k)*200, 100*k, 100, val))...)
	}
	addWant(t0.Add(6*time.Second), 500, raws, 200, 10)
	raws = nil
	for k := range 5 {
		raws = append(raws, send(waveFrame(code, 500, 400, 0, base+7000+int64(k)*200, 100*k, 100, val))...)
	}
	extend(raws, 400, 0)

	// Segment 4: a frame that overlaps the last by 100 ms (a device clock
	// stepping back) starts a new one.
	raws = send(waveFrame(code, 500, 400, 0, base+7900, 0, 100, val))
	addWant(t0.Add(7900*time.Millisecond), 500, raws, 400, 0)

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open(t, file, Options{})
	got, err := r.Disclosure(ctx, "07", "131330", t0.Add(-time.Minute), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpSeg); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	chans, err := r.Channels(ctx, "07")
	if err != nil || !slices.Equal(chans, []string{"131330"}) {
		t.Errorf("Channels = %v, %v; want [131330]", chans, err)
	}

	// A window inside segment 1 and 2: samples in [2.5 s + 1 ms, 4.1 s).
	got, err = r.Disclosure(ctx, "07", "131330", t0.Add(2501*time.Millisecond), t0.Add(4100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("window: %d segments, want 2", len(got))
	}
	// First sample at or after 2.501 s is number 626 (at 2.504 s); the
	// segment runs to 3 s. Then 4.0 s to 4.1 s exclusive: 25 samples.
	if !got[0].Start.Equal(t0.Add(2504*time.Millisecond)) || len(got[0].Samples) != 750-626 {
		t.Errorf("window segment 1: start %v, %d samples; want +2.504s, %d", got[0].Start.Sub(t0), len(got[0].Samples), 750-626)
	}
	if diff := cmp.Diff(want[0].Samples[626:], got[0].Samples, cmpSeg); diff != "" {
		t.Errorf("window segment 1 samples (-want +got):\n%s", diff)
	}
	if !got[1].Start.Equal(t0.Add(4*time.Second)) || len(got[1].Samples) != 25 {
		t.Errorf("window segment 2: start %v, %d samples; want +4s, 25", got[1].Start.Sub(t0), len(got[1].Samples))
	}
	if _, err := r.Disclosure(ctx, "07", "ECG", t0, t0.Add(time.Minute)); err == nil {
		t.Error("Disclosure of a non-numeric code succeeded")
	}
	if got, err := r.Disclosure(ctx, "08", "131330", t0, t0.Add(time.Minute)); err != nil || len(got) != 0 {
		t.Errorf("Disclosure of an unknown bed: %v, %v; want nothing", got, err)
	}
}

func TestCloseFlushesAndReopenKeeps(t *testing.T) {
	file := tempFile(t)
	r := open(t, file, Options{})
	run(t, r)
	sq := func(i int) int16 { return int16((i % 50) * 10) }
	for k := range 15 { // 3 s of a 10 s chunk
		at := t0.Add(time.Duration(k) * 200 * time.Millisecond)
		r.Wave("02", waveFrame(feed.MDCPleth, 125, 1000, 0, ms(at), 25*k, 25, sq), at)
	}
	r.Numerics("02", feed.NumFrame{TsMs: ms(t0), Values: []feed.Numeric{num(feed.MDCSpO2, 95, true)}}, t0)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	before := r.Stats()
	// After Close, frames are ignored, without a panic.
	r.Wave("02", waveFrame(feed.MDCPleth, 125, 1000, 0, ms(t0.Add(3*time.Second)), 0, 25, sq), t0)
	r.Numerics("02", feed.NumFrame{TsMs: ms(t0), Values: []feed.Numeric{num(feed.MDCSpO2, 95, true)}}, t0)
	if s := r.Stats(); s != before {
		t.Errorf("Stats changed after Close: %+v -> %+v", before, s)
	}
	if before.Chunks != 1 || before.Samples != 375 || before.TrendRows != 1 || before.Dropped != 0 {
		t.Errorf("Stats at Close: %+v; want 1 chunk of 375 samples, 1 trend row", before)
	}

	r = open(t, file, Options{})
	if s := r.Stats(); s.Chunks != 1 || s.Samples != 375 || s.TrendRows != 1 || s.Bytes == 0 {
		t.Errorf("Stats after reopen: %+v; want 1 chunk of 375 samples, 1 trend row", s)
	}
	segs, err := r.Disclosure(ctx, "02", "150452", t0, t0.Add(time.Minute))
	if err != nil || len(segs) != 1 || len(segs[0].Samples) != 375 || segs[0].Samples[1] != 0.01 {
		t.Errorf("Disclosure after reopen: %d segments, %v", len(segs), err)
	}
	// Run after Close returns at once.
	r.Close()
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run after Close did not return")
	}
}

func TestRetentionByAge(t *testing.T) {
	file := tempFile(t)
	clk := newClock(t0)
	sig := func(i int) int16 { return int16(i % 100) }
	write := func(at time.Time, bed string) {
		r := open(t, file, Options{Now: clk.Now})
		for k := range 5 { // 1 s
			ft := at.Add(time.Duration(k) * 200 * time.Millisecond)
			r.Wave(bed, waveFrame(feed.MDCECGLeadII, 250, 200, 0, ms(ft), 50*k, 50, sig), ft)
		}
		r.Numerics(bed, feed.NumFrame{TsMs: ms(at), Values: []feed.Numeric{num(feed.MDCECGHeartRate, 70, true)}}, at)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(t0, "01")
	write(t0.Add(48*time.Hour), "02")

	// reopenAt opens the file at now and waits for the first retention
	// (Run applies it before its first write, so a write proves it ran).
	reopenAt := func(now time.Time, opt Options) *Recordings {
		clk.Set(now)
		opt.Now, opt.ChunkSpan = clk.Now, time.Second
		r := open(t, file, opt)
		run(t, r)
		for k := range 6 {
			ft := now.Add(time.Duration(k) * 200 * time.Millisecond)
			r.Wave("99", waveFrame(feed.MDCPleth, 125, 1000, 0, ms(ft), 25*k, 25, sig), ft)
		}
		waitFor(t, "a write", func() bool { return r.Stats().Written > 0 })
		return r
	}

	// 73 h on, the first bed's waveforms are gone, the second's and all
	// trends are kept.
	r := reopenAt(t0.Add(73*time.Hour), Options{})
	segs1, err1 := r.Disclosure(ctx, "01", "131330", t0.Add(-time.Hour), t0.Add(time.Hour))
	segs2, err2 := r.Disclosure(ctx, "02", "131330", t0.Add(47*time.Hour), t0.Add(49*time.Hour))
	if err1 != nil || err2 != nil || len(segs1) != 0 || len(segs2) != 1 || len(segs2[0].Samples) != 250 {
		t.Errorf("after 73 h: bed 01 %d segments (%v), bed 02 %d segments (%v); want 0 and one of 250 samples",
			len(segs1), err1, len(segs2), err2)
	}
	if s := r.Stats(); s.TrendRows != 2 {
		t.Errorf("after 73 h: %d trend rows, want 2", s.TrendRows)
	}
	if beds, _ := r.Beds(ctx); !slices.Equal(beds, []string{"01", "02", "99"}) {
		t.Errorf("Beds = %v, want [01 02 99] (01 still has a trend)", beds)
	}
	r.Close()

	// A TrendKeep under 7 days counts as 7 days: after 6 days both remain.
	r = reopenAt(t0.Add(6*24*time.Hour), Options{TrendKeep: time.Hour})
	if s := r.Stats(); s.TrendRows != 2 {
		t.Errorf("after 6 days with TrendKeep 1h: %d trend rows, want 2", s.TrendRows)
	}
	r.Close()

	// 7 days and a minute after the first minute ended, it goes.
	r = reopenAt(t0.Add(7*24*time.Hour+2*time.Minute), Options{})
	if s := r.Stats(); s.TrendRows != 1 {
		t.Errorf("after 7 days: %d trend rows, want 1", s.TrendRows)
	}
	pts, err := r.Trend(ctx, "02", "HR", t0, t0.Add(72*time.Hour))
	if err != nil || len(pts) != 1 {
		t.Errorf("bed 02 trend after 7 days: %v, %v; want its minute", pts, err)
	}
	if beds, _ := r.Beds(ctx); !slices.Equal(beds, []string{"02", "99"}) {
		t.Errorf("Beds = %v, want [02 99]", beds)
	}
}

func TestRetentionByBudget(t *testing.T) {
	file := tempFile(t)
	const budget = 20_000
	clk := newClock(t0)
	r := open(t, file, Options{ChunkSpan: time.Second, Budget: budget, Now: clk.Now})
	run(t, r)
	// 5 minutes of 3 noisy channels, over 150 kB compressed, in 1 s frames.
	chans := []feed.Channel{
		{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200},
		{Code: feed.MDCPleth, RateHz: 125, Gain: 1000},
		{Code: feed.MDCRespImpedance, RateHz: 62.5, Gain: 1000},
	}
	noiseAt := func(i int) int16 { return int16((i * 7919) % 601) }
	const seconds = 5 * 60
	end := t0.Add(seconds * time.Second)
	for k := range seconds {
		at := t0.Add(time.Duration(k) * time.Second)
		clk.Set(at)
		f := &feed.WaveFrame{StartMs: ms(at)}
		for _, c := range chans {
			// Samples whose time falls in [k, k+1) s: 62 or 63 at 62.5 Hz.
			n := int(math.Ceil(float64(c.RateHz)*float64(k+1)) - math.Ceil(float64(c.RateHz)*float64(k)))
			c.Samples = make([]int16, n)
			for i := range c.Samples {
				c.Samples[i] = noiseAt(k*1000 + i)
			}
			f.Channels = append(f.Channels, c)
		}
		r.Wave("05", f, at)
		if k%20 == 0 {
			time.Sleep(time.Millisecond) // let the writer keep up: no drops
		}
	}
	// The writer keeps to the budget as it goes, after each write that
	// passes it. Once the full chunks are written (300 of ECG, 300 of
	// pleth, 297 of 63 samples of respiration) nothing else can bring the
	// data under the budget.
	waitFor(t, "the full chunks", func() bool { return r.Stats().Written == 300+300+297 })
	waitFor(t, "the budget while running", func() bool { return r.Stats().Bytes <= budget })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Close applies it to the last writes too.
	if s := r.Stats(); s.Bytes > budget || s.Bytes < budget/2 || s.Dropped != 0 {
		t.Errorf("Stats at Close %+v: want between %d and %d bytes kept, nothing dropped", s, budget/2, budget)
	}
	r = open(t, file, Options{Now: clk.Now})
	// The oldest went first: what is left of every channel runs to the end.
	for _, c := range chans {
		segs, err := r.Disclosure(ctx, "05", fmt.Sprint(c.Code), t0, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) != 1 {
			t.Errorf("channel %d: %d segments, want 1", c.Code, len(segs))
			continue
		}
		if got := segs[0].End(); got.Sub(end).Abs() > time.Millisecond {
			t.Errorf("channel %d ends at %v, want %v", c.Code, got.Sub(t0), end.Sub(t0))
		}
		if !segs[0].Start.After(t0.Add(time.Minute)) {
			t.Errorf("channel %d starts at %v: the oldest were not deleted", c.Code, segs[0].Start.Sub(t0))
		}
	}
}

func TestQueueOverflow(t *testing.T) {
	file := tempFile(t)
	tr := &troubles{}
	r := open(t, file, Options{Queue: 4, ChunkSpan: time.Second, OnTrouble: tr.On})
	// No writer yet: the queue fills after 4 chunks and the rest are
	// dropped, without Wave ever blocking.
	sig := func(i int) int16 { return int16(i % 333) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := range 100 { // 20 s, 20 chunks
			at := t0.Add(time.Duration(k) * 200 * time.Millisecond)
			r.Wave("01", waveFrame(feed.MDCECGLeadII, 250, 200, 0, ms(at), 50*k, 50, sig), at)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wave blocked on a full queue")
	}
	s := r.Stats()
	if s.Dropped != 16 || s.Queue != 4 {
		t.Errorf("Stats: %d dropped, %d queued; want 16 and 4", s.Dropped, s.Queue)
	}
	if diff := cmp.Diff([]troubleCall{{TroubleQueue, true}}, tr.get()); diff != "" {
		t.Errorf("OnTrouble calls (-want +got):\n%s", diff)
	}
	// The writer drains the queue and the trouble clears.
	run(t, r)
	waitFor(t, "the queue to drain", func() bool { return tr.has(troubleCall{TroubleQueue, false}) })
	waitFor(t, "4 chunks", func() bool { return r.Stats().Chunks == 4 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]troubleCall{{TroubleQueue, true}, {TroubleQueue, false}}, tr.get()); diff != "" {
		t.Errorf("OnTrouble calls (-want +got):\n%s", diff)
	}
}

// A full disk (here SQLite's own page limit, which fails a write exactly
// as a full file system does, with SQLITE_FULL) loses nothing while the
// queue has room; writing resumes when space returns.
func TestFullDiskRetries(t *testing.T) {
	file := tempFile(t)
	tr := &troubles{}
	r := open(t, file, Options{ChunkSpan: time.Second, OnTrouble: tr.On})
	noisy := func(i int) int16 { return int16((i * 7919) % 20011) }
	feedSeconds := func(from, n int) {
		for k := from * 5; k < (from+n)*5; k++ {
			at := t0.Add(time.Duration(k) * 200 * time.Millisecond)
			r.Wave("01", waveFrame(feed.MDCECGLeadII, 250, 200, 0, ms(at), 50*k, 50, noisy), at)
		}
	}
	stop := run(t, r)
	feedSeconds(0, 2)
	waitFor(t, "2 chunks", func() bool { return r.Stats().Chunks == 2 })
	stop()

	// Fill the "disk": no page beyond those in use.
	var pages int
	if err := r.conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	stop = run(t, r)
	feedSeconds(2, 30)
	waitFor(t, "TroubleWrite", func() bool { return tr.has(troubleCall{TroubleWrite, true}) })
	waitFor(t, "a retry", func() bool { return r.Stats().WriteErrors >= 2 })
	stop()
	if s := r.Stats(); s.Dropped != 0 || s.Chunks >= 32 {
		t.Errorf("while full: %+v; want nothing dropped, not everything written", s)
	}

	// Space returns.
	if _, err := r.conn.ExecContext(ctx, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, "every chunk", func() bool { return r.Stats().Chunks == 32 })
	waitFor(t, "TroubleWrite cleared", func() bool { return tr.has(troubleCall{TroubleWrite, false}) })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open(t, file, Options{})
	segs, err := r.Disclosure(ctx, "01", "131330", t0, t0.Add(time.Minute))
	if err != nil || len(segs) != 1 || len(segs[0].Samples) != 32*250 {
		t.Fatalf("after the disk came back: %d segments, %v; want one of 32 s", len(segs), err)
	}
	for i, v := range segs[0].Samples {
		if want := float32(noisy(i)) / 200; v != want {
			t.Fatalf("sample %d = %v, want %v", i, v, want)
		}
	}
	for _, c := range tr.get() {
		if c.Problem != TroubleWrite {
			t.Errorf("unexpected trouble %+v", c)
		}
	}
}

func TestCorruptFileSetAside(t *testing.T) {
	t.Run("garbage", func(t *testing.T) {
		file := tempFile(t)
		junk := []byte("this is not a database, just a file that happens to be here\n")
		junk = slices.Repeat(junk, 200)
		if err := os.WriteFile(file, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		checkSetAside(t, file, junk)
	})
	t.Run("another application's database", func(t *testing.T) {
		file := tempFile(t)
		db, err := sql.Open("sqlite", file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		old, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		checkSetAside(t, file, old)
	})
}

// checkSetAside opens file, expecting it to be set aside intact and a
// working recordings file made in its place.
func checkSetAside(t *testing.T, file string, old []byte) {
	clk := newClock(t0)
	r, aside, err := Open(ctx, file, Options{Now: clk.Now, Log: quiet()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	if aside == nil {
		t.Fatal("Open did not set the file aside")
	}
	moved, err := os.ReadFile(aside.Path)
	if err != nil || !slices.Equal(moved, old) {
		t.Errorf("set-aside file %s: %v; want the old content unchanged", aside.Path, err)
	}
	r.Numerics("01", feed.NumFrame{TsMs: ms(t0), Values: []feed.Numeric{num(feed.MDCECGHeartRate, 70, true)}}, t0)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2 := open(t, file, Options{})
	if s := r2.Stats(); s.TrendRows != 1 {
		t.Errorf("the new file has %d trend rows, want 1", s.TrendRows)
	}
}

func TestOptionsDefaults(t *testing.T) {
	r := open(t, tempFile(t), Options{})
	o := r.opt
	if o.TrendKeep != 7*24*time.Hour || o.WaveKeep != 72*time.Hour || o.Budget != 12<<30 ||
		o.ChunkSpan != 10*time.Second || o.Queue != DefaultQueue || r.Stats().QueueCap != DefaultQueue {
		t.Errorf("defaults: %+v", o)
	}
	r = open(t, tempFile(t), Options{TrendKeep: time.Hour, ChunkSpan: time.Hour})
	if r.opt.TrendKeep != MinTrendKeep || r.opt.ChunkSpan != MaxChunkSpan {
		t.Errorf("TrendKeep %v, ChunkSpan %v; want %v and %v", r.opt.TrendKeep, r.opt.ChunkSpan, MinTrendKeep, MaxChunkSpan)
	}
}

// A damaged chunk reads as a gap; the rest of the disclosure still comes.
func TestDamagedChunkIsAGap(t *testing.T) {
	file := tempFile(t)
	r := open(t, file, Options{ChunkSpan: time.Second})
	sig := func(i int) int16 { return int16(i % 77) }
	for k := range 15 { // 3 s: 3 chunks
		at := t0.Add(time.Duration(k) * 200 * time.Millisecond)
		r.Wave("01", waveFrame(feed.MDCECGLeadII, 250, 200, 0, ms(at), 50*k, 50, sig), at)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open(t, file, Options{})
	if _, err := r.db.ExecContext(ctx, `UPDATE chunk SET data = x'01010203' WHERE start_ms = ?`, ms(t0.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	segs, err := r.Disclosure(ctx, "01", "131330", t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || len(segs[0].Samples) != 250 || len(segs[1].Samples) != 250 ||
		!segs[1].Start.Equal(t0.Add(2*time.Second)) {
		t.Errorf("got %d segments, want the first and third second", len(segs))
	}
}
