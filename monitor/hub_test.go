package monitor

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestHub(c *fakeClock) *Hub {
	return NewHub(Config{Ward: "T", Beds: []string{"01", "02"}, Now: c.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

const t0 = 1_732_400_000_000

// frame builds a 200 ms frame of ECG at 250 Hz whose samples count up from seq*50.
func frame(seq uint32, startMs int64) *feed.WaveFrame {
	s := make([]int16, 50)
	for i := range s {
		s[i] = int16(int(seq)*50 + i)
	}
	return &feed.WaveFrame{Seq: seq, StartMs: startMs, Channels: []feed.Channel{
		{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 1, Samples: s}}}
}

func drain(t *testing.T, h *Hub, bed string) []float32 {
	t.Helper()
	return h.Bed(bed).Channel(feed.MDCECGLeadII).Ring.Drain(nil)
}

func TestInOrderNoGap(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	for i := uint32(0); i < 10; i++ {
		h.Wave("01", frame(i, t0+int64(i)*200))
	}
	got := drain(t, h, "01")
	if len(got) != 500 {
		t.Fatalf("%d samples, want 500", len(got))
	}
	for i, v := range got {
		if v != float32(i) {
			t.Fatalf("sample %d = %v, want %d", i, v, i)
		}
	}
	if n := h.Counters(); n.Gaps != 0 || n.DupFrames != 0 || n.Samples != 500 {
		t.Fatalf("counters %+v", n)
	}
}

func TestMissingFramesMakeABreak(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	h.Wave("01", frame(0, t0))
	h.Wave("01", frame(3, t0+600)) // frames 1 and 2 lost: 400 ms
	got := drain(t, h, "01")
	nan := 0
	for _, v := range got[50:150] {
		if math.IsNaN(float64(v)) {
			nan++
		}
	}
	if len(got) != 200 || nan != 100 {
		t.Fatalf("got %d samples with %d NaN in the gap, want 200 with 100 (400 ms at 250 Hz)", len(got), nan)
	}
	if got[150] != 150 {
		t.Fatalf("first sample after the gap = %v, want 150", got[150])
	}
	if g := h.Counters().Gaps; g != 1 {
		t.Fatalf("gaps = %d, want 1", g)
	}
}

func TestDuplicateDropped(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	h.Wave("01", frame(0, t0))
	h.Wave("01", frame(1, t0+200))
	h.Wave("01", frame(1, t0+200)) // QoS 1 redelivery
	h.Wave("01", frame(0, t0))     // late
	if got := drain(t, h, "01"); len(got) != 100 {
		t.Fatalf("%d samples, want 100", len(got))
	}
	if n := h.Counters(); n.DupFrames != 2 || n.Gaps != 0 {
		t.Fatalf("counters %+v, want 2 duplicates, 0 gaps", n)
	}
}

func TestDeviceResumesAfterSilence(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0 + 200)}
	h := newTestHub(c)
	h.Wave("01", frame(0, t0))
	c.advance(20 * time.Second)
	h.Wave("01", frame(1, t0+20_200)) // seq in order but 20 s later
	got := drain(t, h, "01")
	if len(got) != 100+250 { // capped at one second of break
		t.Fatalf("%d samples, want 350 (break capped at 1 s)", len(got))
	}
	if h.Counters().Gaps != 1 {
		t.Fatal("a 20 s silence was not counted as a gap")
	}
	// A restarted device (seq back to 0, time forward) is accepted from
	// its second frame on, which confirms the restart (the first is held).
	c.advance(10 * time.Second)
	h.Wave("01", frame(0, t0+30_000))
	c.advance(200 * time.Millisecond)
	h.Wave("01", frame(1, t0+30_200))
	if n := h.Counters(); n.DupFrames != 0 || n.LateFrames != 0 || n.Restarts != 1 || n.JumpFrames != 1 || n.Gaps != 2 {
		t.Fatalf("restart: counters %+v", n)
	}
	if got := drain(t, h, "01"); len(got) != 250+50 || got[len(got)-1] != 99 {
		t.Fatalf("after the restart %d samples (last %v), want a 1 s break and frame 1", len(got), got[len(got)-1])
	}
}

func TestRejectChangesNothingElse(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	h.Wave("01", frame(0, t0))
	before := h.Counters()
	for range 1000 {
		h.Reject("vigil/v1/T/01/wave", "01", errors.New("garbage"))
	}
	after := h.Counters()
	if after.DecodeErrors != 1000 {
		t.Fatalf("decode errors %d, want 1000", after.DecodeErrors)
	}
	after.DecodeErrors = before.DecodeErrors
	if after != before {
		t.Fatalf("rejections changed other counters: %+v -> %+v", before, after)
	}
	if got := h.Bed("01").Counts().Rejected; got != 1000 {
		t.Fatalf("bed rejected = %d", got)
	}
}

func TestStaleness(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	b := h.Bed("01")
	if s := b.State(c.now()); s.Seen || s.Online() {
		t.Fatalf("fresh bed state %+v", s)
	}
	h.Wave("01", frame(0, t0))
	h.Numerics("01", feed.NumFrame{TsMs: t0, Values: []feed.Numeric{{Code: feed.MDCECGHeartRate, Value: 70, Valid: true}}})
	if !b.State(c.now()).Online() || h.Online() != 1 {
		t.Fatal("bed with fresh data not online")
	}
	c.advance(2900 * time.Millisecond)
	if !b.State(c.now()).Online() {
		t.Fatal("NO DATA before 3 s")
	}
	c.advance(200 * time.Millisecond)
	if s := b.State(c.now()); !s.WaveStale || !s.NoData() {
		t.Fatalf("no waveform for 3.1 s: state %+v, want NO DATA", s)
	}
	h.Wave("01", frame(1, t0+200))
	c.advance(7 * time.Second) // numerics now 10.1 s old, waveform 7 s
	h.Wave("01", frame(2, t0+400))
	if s := b.State(c.now()); !s.NumStale || s.WaveStale {
		t.Fatalf("numerics 10.1 s old: state %+v, want numerics stale only", s)
	}
	h.Status("01", feed.Status{Device: "d", Online: false})
	if !b.State(c.now()).Offline {
		t.Fatal("offline status not shown")
	}
}

// TestNumericsOnlySlowDevice: a device that says it sends no waveforms
// and sends numerics every 30 s (an HL7 monitor through the bridge) is
// online between its messages and NO DATA once three intervals pass
// without one; a device sending numerics every second is still NO DATA
// after 10 s; a device that never said so is NO DATA without waveforms.
func TestNumericsOnlySlowDevice(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	no := false
	h.Status("01", feed.Status{Device: "hl7", Online: true, Waves: &no})
	h.Status("02", feed.Status{Device: "plain", Online: true})
	hr := func(bed string) {
		h.Numerics(bed, feed.NumFrame{TsMs: c.now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCECGHeartRate, Value: 70, Valid: true}}})
	}
	for range 4 {
		hr("01")
		hr("02")
		c.advance(30 * time.Second)
	}
	if s := h.Bed("02").State(c.now()); !s.WaveStale || !s.NoData() {
		t.Fatalf("a device without waveforms that never said so: %+v, want NO DATA", s)
	}
	hr("01")
	c.advance(60 * time.Second)
	if s := h.Bed("01").State(c.now()); s.NoData() {
		t.Fatalf("numerics every 30 s, the last 60 s ago: %+v, want online", s)
	}
	c.advance(31 * time.Second)
	if s := h.Bed("01").State(c.now()); !s.NumStale || !s.NoData() {
		t.Fatalf("91 s without the 30 s numerics: %+v, want NO DATA", s)
	}
	// A message of three frames (three measurement times) every 60 s:
	// the frames are one message; after a 10 min outage, the rhythm is
	// still about a minute, not ten.
	h3 := newTestHub(c)
	h3.Status("01", feed.Status{Device: "hl7", Online: true, Waves: &no})
	b3 := h3.Bed("01")
	if s := b3.State(c.now()); s.WaveStale {
		t.Fatalf("numerics-only bed, nothing yet: %+v", s)
	}
	msg := func() {
		for range 3 {
			h3.Numerics("01", feed.NumFrame{TsMs: c.now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCTemp, Value: 37, Valid: true}}})
		}
	}
	msg()
	c.advance(60 * time.Second)
	if s := b3.State(c.now()); s.NoData() {
		t.Fatalf("60 s after the first message of a numerics-only device: %+v, want online (%s)", s, b3.NumStale())
	}
	for range 5 {
		msg()
		c.advance(60 * time.Second)
	}
	if d := b3.NumStale(); d < 150*time.Second || d > 200*time.Second {
		t.Fatalf("NO DATA after %s for messages of three frames every 60 s, want ~3 min", d)
	}
	c.advance(10 * time.Minute)
	msg()
	if d := b3.NumStale(); d > 5*time.Minute {
		t.Fatalf("after a 10 min outage the threshold is %s", d)
	}
	// Every second: the station's 10 s stand.
	h2 := newTestHub(c)
	h2.Status("01", feed.Status{Device: "fast", Online: true, Waves: &no})
	for range 20 {
		h2.Numerics("01", feed.NumFrame{TsMs: c.now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: 97, Valid: true}}})
		c.advance(time.Second)
	}
	c.advance(10 * time.Second)
	if s := h2.Bed("01").State(c.now()); !s.NumStale {
		t.Fatalf("11 s without the 1 s numerics: %+v, want NO DATA", s)
	}
}

func TestUnknownBedAppears(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	h.Wave("99", frame(0, t0))
	beds := h.Beds()
	if len(beds) != 3 || beds[2].Name != "99" || beds[2].Configured() || h.Counters().UnknownBeds != 1 {
		t.Fatalf("beds %v, counters %+v", beds, h.Counters())
	}
}

func BenchmarkHubWave(b *testing.B) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	f := frame(0, t0)
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		f.Seq = i
		f.StartMs = t0 + int64(i)*200
		c.advance(200 * time.Millisecond) // frames arrive as they end
		h.Wave("01", f)
		i++
	}
}

// Frames out of order: a frame that arrives after a later one is late (its
// place is already a break on the strip) and dropped; the same frame again,
// or any frame twice, is a duplicate. Both are counted apart, per bed.
func TestOutOfOrderAndDuplicatesClassified(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	h.Wave("01", frame(0, t0))
	h.Wave("01", frame(1, t0+200))
	h.Wave("01", frame(3, t0+600)) // 2 missing: a break
	h.Wave("01", frame(2, t0+400)) // 2 arrives late: dropped
	h.Wave("01", frame(2, t0+400)) // and again: now a duplicate
	h.Wave("01", frame(1, t0+200)) // redelivered: duplicate
	h.Wave("01", frame(4, t0+800))
	n := h.Counters()
	if n.Gaps != 1 || n.LateFrames != 1 || n.DupFrames != 2 {
		t.Fatalf("counters %+v, want 1 gap, 1 late, 2 duplicates", n)
	}
	if bc := h.Bed("01").Counts(); bc.LateFrames != 1 || bc.DupFrames != 2 || bc.Samples != 4*50 {
		t.Fatalf("bed counts %+v", bc)
	}
	got := drain(t, h, "01")
	// 0,1 then a 200 ms break (50 NaN), then 3, 4: nothing of the late frame.
	if len(got) != 5*50 {
		t.Fatalf("%d samples in the ring, want 250", len(got))
	}
	for i, v := range got {
		switch {
		case i < 100 && v != float32(i):
			t.Fatalf("sample %d = %v", i, v)
		case i >= 100 && i < 150 && !math.IsNaN(float64(v)):
			t.Fatalf("sample %d = %v, want the break", i, v)
		case i >= 150 && v != float32(i):
			t.Fatalf("sample %d = %v, want %d (frame 3 onwards)", i, v, i)
		}
	}
}

func TestRejectsCountedPerDeviceAndBounded(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	bad := errors.New("bad frame")
	h.Reject("vigil/v1/T/01/wave", "01", bad)
	h.Reject("vigil/v1/T/01/wave", "01", bad)
	h.Reject("vigil/v1/T/77/wave", "77", bad)
	for i := range 3 * maxRejectNames {
		h.Reject("x", "dev"+strconv.Itoa(i), bad)
	}
	if h.Bed("77") != nil {
		t.Fatal("a reject created a bed")
	}
	byName := map[string]uint64{}
	var total uint64
	for _, r := range h.Rejects() {
		byName[r.Device] = r.Count
		total += r.Count
	}
	if byName["01"] != 2 || byName["77"] != 1 || byName[OtherDevices] == 0 {
		t.Fatalf("per device %v", byName)
	}
	if len(byName) > maxRejectNames+2 {
		t.Fatalf("%d names kept: unbounded", len(byName))
	}
	if want := uint64(3 + 3*maxRejectNames); total != want || h.Counters().DecodeErrors != want {
		t.Fatalf("total %d, counter %d, want %d", total, h.Counters().DecodeErrors, want)
	}
}

func TestLatencyMeasuredFromFrameEnd(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	for i := range 100 {
		start := t0 + int64(i)*200
		// arrives 3 ms after its last sample, except every 50th: 40 ms
		late := int64(3)
		if i%50 == 49 {
			late = 40
		}
		c.t = time.UnixMilli(start + 200 + late)
		h.Wave("01", frame(uint32(i), start))
	}
	p50, p99 := h.Latency()
	if p50 < 3 || p50 > 3.25 || p99 < 40 || p99 > 40.25 {
		t.Fatalf("p50 %v ms, p99 %v ms; want 3 and 40", p50, p99)
	}
}

func TestDeviceAlarmsMirroredAndDeduplicated(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	v, lim := 84.0, 90.0
	start := feed.Alarm{ID: "SPO2-LO-1", Seq: 1, TsMs: t0, Code: 196652, Param: feed.MDCSpO2, Priority: feed.AlarmHigh,
		Source: feed.SourcePhysiological, Phase: feed.PhaseStart, State: feed.StateActive, Value: &v, Limit: &lim, Text: "SpO2 84 < 90"}
	h.Alarm("01", start)
	h.Alarm("01", start) // QoS 1 redelivery
	c.advance(5 * time.Second)
	end := start
	end.Seq, end.TsMs, end.Phase, end.State = 2, t0+5000, feed.PhaseEnd, feed.StateInactive
	h.Alarm("01", end)
	got := h.Bed("01").DeviceAlarms()
	if len(got) != 1 || !got[0].Ended || got[0].Messages != 2 || got[0].Priority != feed.AlarmHigh ||
		got[0].Text != "SpO2 84 < 90" || !got[0].Started.Equal(time.UnixMilli(t0)) {
		t.Fatalf("device alarms %+v", got)
	}
	ev := feed.Event{ID: "CALL-1", Seq: 1, TsMs: t0, Kind: feed.EventNurseCall}
	h.Event("02", ev)
	h.Event("02", ev)
	if n := h.Counters(); n.DeviceAlarms != 2 || n.Events != 1 || n.DupMessages != 2 {
		t.Fatalf("counters %+v", n)
	}
	if e := h.Bed("02").Events(); len(e) != 1 || e[0].Kind != feed.EventNurseCall {
		t.Fatalf("events %+v", e)
	}
	// A device flooding alarm ids keeps a bounded list.
	for i := range 500 {
		a := start
		a.ID, a.Seq = "FLOOD-"+strconv.Itoa(i), uint32(i+10)
		h.Alarm("03", a)
	}
	if n := len(h.Bed("03").DeviceAlarms()); n != maxBedAlarms {
		t.Fatalf("%d alarms kept, want %d", n, maxBedAlarms)
	}
}

type recorded struct {
	waves []uint32 // sequence numbers of the frames passed on
	nums  int
}

func (r *recorded) Wave(bed string, f *feed.WaveFrame, at time.Time) {
	r.waves = append(r.waves, f.Seq)
}
func (r *recorded) Numerics(bed string, f feed.NumFrame, at time.Time) {
	r.nums++
}

// The recorder gets what the hub accepted: not the duplicates and late
// frames it dropped.
func TestRecorderGetsAcceptedFramesOnly(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	rec := &recorded{}
	h.SetRecorder(rec)
	h.Wave("01", frame(0, t0))
	h.Wave("01", frame(1, t0+200))
	h.Wave("01", frame(1, t0+200)) // duplicate
	h.Wave("01", frame(0, t0))     // late
	h.Wave("01", frame(3, t0+600)) // after a gap: accepted
	h.Numerics("01", feed.NumFrame{TsMs: t0, Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: 97, Valid: true}}})
	if len(rec.waves) != 3 || rec.waves[0] != 0 || rec.waves[1] != 1 || rec.waves[2] != 3 || rec.nums != 1 {
		t.Fatalf("recorder got frames %v and %d numerics, want [0 1 3] and 1", rec.waves, rec.nums)
	}
}
