package monitor

import (
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

func bedNames(h *Hub) []string {
	var out []string
	for _, b := range h.Beds() {
		out = append(out, b.Name)
	}
	return out
}

// TestRefuseUnknownBeds: with RefuseUnknownBeds a message of any stream for
// a bed that is not configured creates no bed: it is refused and counted by
// name (not as a decode error). Beds configured at run time are shown in
// their configured order and take messages; a bed no longer configured
// keeps its data and is shown after them, its messages refused.
func TestRefuseUnknownBeds(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0 + 200)}
	h := NewHub(Config{Ward: "T", Beds: []string{"01", "02"}, RefuseUnknownBeds: true, Now: c.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	all := func(bed string, seq uint32) {
		h.Wave(bed, frame(seq, t0+int64(seq)*200))
		h.Numerics(bed, feed.NumFrame{TsMs: c.now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: 97, Valid: true}}})
		h.Status(bed, feed.Status{Device: "d", Online: true})
		h.Alarm(bed, feed.Alarm{ID: "A", Seq: seq, TsMs: c.now().UnixMilli(), Priority: feed.AlarmLow, Source: feed.SourceTechnical,
			Phase: feed.PhaseStart, State: feed.StateActive, Text: "x"})
		h.Event(bed, feed.Event{ID: "E", Seq: seq, TsMs: c.now().UnixMilli(), Kind: feed.EventButton})
	}
	all("99", 0)
	if h.Bed("99") != nil || len(h.Beds()) != 2 {
		t.Fatalf("beds %v: an unknown bed was created", bedNames(h))
	}
	n := h.Counters()
	if n.RefusedBeds != 5 || n.DecodeErrors != 0 || n.UnknownBeds != 0 || n.Messages != 5 {
		t.Fatalf("counters %+v", n)
	}
	if r := h.Rejects(); len(r) != 1 || r[0].Device != "99" || r[0].Count != 5 || r[0].Last != "bed not configured" {
		t.Fatalf("rejects %+v", r)
	}
	h.ConfigureBed("99")
	all("99", 0)
	b := h.Bed("99")
	if b == nil || !b.Configured() || b.Counts().Samples != 50 || len(b.DeviceAlarms()) != 1 || len(b.Events()) != 1 {
		t.Fatalf("configured bed 99: %+v", b)
	}
	if got := bedNames(h); !slices.Equal(got, []string{"01", "02", "99"}) {
		t.Fatalf("beds %v", got)
	}
	all("01", 0)
	h.SetConfiguredBeds([]string{"99", "02"})
	if got := bedNames(h); !slices.Equal(got, []string{"99", "02", "01"}) || h.Bed("01").Configured() {
		t.Fatalf("beds %v after reconfiguring", got)
	}
	if got := h.ConfiguredBeds(); !slices.Equal(got, []string{"99", "02"}) {
		t.Fatalf("configured %v", got)
	}
	all("01", 1)
	if c := h.Bed("01").Counts(); c.Samples != 50 || h.Counters().RefusedBeds != 10 {
		t.Fatalf("bed 01, no longer configured: %+v, counters %+v", c, h.Counters())
	}
	// The default: a bed appears with its first message.
	h2 := newTestHub(c)
	h2.Wave("77", frame(0, t0))
	if b := h2.Bed("77"); b == nil || b.Configured() || h2.Counters().UnknownBeds != 1 {
		t.Fatalf("default hub: bed 77 %+v", b)
	}
}

// TestBedChannelsBounded: a device sending a new channel code in every
// frame gets at most maxBedChannels channels; the rest are refused and
// counted, the frames' other channels applied.
func TestBedChannelsBounded(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := newTestHub(c)
	for i := range 50 {
		f := frame(uint32(i), t0+int64(i)*200)
		f.Channels = append(f.Channels, feed.Channel{Code: 900_000 + uint32(i), RateHz: 250, Gain: 1, Samples: f.Channels[0].Samples})
		c.advance(200 * time.Millisecond)
		h.Wave("01", f)
	}
	b := h.Bed("01")
	if n := len(b.Channels()); n != maxBedChannels {
		t.Fatalf("%d channels, want %d", n, maxBedChannels)
	}
	if got, want := b.Counts().RefusedChannels, uint64(50-(maxBedChannels-1)); got != want || h.Counters().RefusedChannels != want {
		t.Fatalf("%d channels refused, want %d", got, want)
	}
	if got := b.Channel(feed.MDCECGLeadII).Received(); got != 50*50 {
		t.Fatalf("ECG: %d samples, want all 2500", got)
	}
}

// TestDeviceAlarmsBounded: a bed keeps at most maxBedAlarms device alarms;
// a new one takes the place of the oldest ended one, and when every one is
// active it is refused and counted (not passed on): a flood cannot grow
// the bed, and it does not push out the alarms that are active.
func TestDeviceAlarmsBounded(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0)}
	obs := &recObserver{}
	h := NewHub(Config{Ward: "T", Now: c.now, Observer: obs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	al := func(id string, seq uint32, phase feed.AlarmPhase) {
		state := feed.StateActive
		if phase == feed.PhaseEnd {
			state = feed.StateInactive
		}
		h.Alarm("05", feed.Alarm{ID: id, Seq: seq, TsMs: t0, Priority: feed.AlarmMedium, Source: feed.SourceTechnical,
			Phase: phase, State: state, Text: id})
	}
	for i := range maxBedAlarms + 10 {
		al("A"+strconv.Itoa(i), uint32(i), feed.PhaseStart)
	}
	b := h.Bed("05")
	if n := len(b.DeviceAlarms()); n != maxBedAlarms || b.Counts().RefusedAlarms != 10 || h.Counters().RefusedAlarms != 10 {
		t.Fatalf("%d alarms kept, counts %+v", n, b.Counts())
	}
	if len(obs.alarms) != maxBedAlarms {
		t.Fatalf("%d alarms passed on, want %d", len(obs.alarms), maxBedAlarms)
	}
	al("A3", 100, feed.PhaseEnd)
	al("NEW", 101, feed.PhaseStart)
	got := b.DeviceAlarms()
	if len(got) != maxBedAlarms || !slices.ContainsFunc(got, func(d DeviceAlarm) bool { return d.ID == "NEW" }) ||
		slices.ContainsFunc(got, func(d DeviceAlarm) bool { return d.ID == "A3" }) || b.Counts().RefusedAlarms != 10 {
		t.Fatalf("after an end, a new alarm: %d kept, counts %+v", len(got), b.Counts())
	}
}

// TestUnknownBedFloodBoundedMemory: 10,000 invented bed names, each sending
// a frame, numerics, a status, an alarm and an event, against a hub that
// refuses unknown beds, grow its memory by little, while every frame of the
// genuine bed among them is applied.
func TestUnknownBedFloodBoundedMemory(t *testing.T) {
	c := &fakeClock{time.UnixMilli(t0 + 200)}
	h := NewHub(Config{Ward: "T", Beds: []string{"01"}, RefuseUnknownBeds: true, Now: c.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	names := make([]string, 10_000)
	for i := range names {
		names[i] = "x" + strconv.Itoa(i)
	}
	f := frame(0, t0)
	num := feed.NumFrame{TsMs: t0, Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: 97, Valid: true}}}
	st := feed.Status{Device: "d", Online: true}
	a := feed.Alarm{ID: "A", Seq: 1, TsMs: t0, Priority: feed.AlarmHigh, Source: feed.SourcePhysiological,
		Phase: feed.PhaseStart, State: feed.StateActive, Text: "x"}
	e := feed.Event{ID: "E", Seq: 1, TsMs: t0, Kind: feed.EventNurseCall}
	h.Wave("01", frame(0, t0))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, name := range names {
		h.Wave(name, f)
		h.Numerics(name, num)
		h.Status(name, st)
		h.Alarm(name, a)
		h.Event(name, e)
		if i%10 == 0 {
			c.advance(200 * time.Millisecond)
			seq := uint32(i/10 + 1)
			h.Wave("01", frame(seq, t0+int64(seq)*200))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(names)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d kB over 50,000 messages of 10,000 unknown beds", grew/1024)
	if grew > 5<<20 {
		t.Fatalf("heap grew by %d bytes, want under 5 MB", grew)
	}
	if n := len(h.Beds()); n != 1 {
		t.Fatalf("%d beds", n)
	}
	if got := h.Bed("01").Counts(); got.Samples != 1001*50 || got.Gaps != 0 {
		t.Fatalf("the genuine bed: %+v, want all 1001 frames", got)
	}
	if n := h.Counters(); n.RefusedBeds != 50_000 {
		t.Fatalf("counters %+v", n)
	}
	var total uint64
	for _, r := range h.Rejects() {
		total += r.Count
	}
	if len(h.Rejects()) > maxRejectNames+1 || total != 50_000 {
		t.Fatalf("%d names, %d refused in the table", len(h.Rejects()), total)
	}
}

// BenchmarkRefusedUnknownBed: the cost of refusing a frame for a bed that
// is not configured (the table of names full).
func BenchmarkRefusedUnknownBed(b *testing.B) {
	c := &fakeClock{time.UnixMilli(t0)}
	h := NewHub(Config{Ward: "T", RefuseUnknownBeds: true, Now: c.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	names := make([]string, 4*maxRejectNames)
	for i := range names {
		names[i] = "x" + strconv.Itoa(i)
	}
	f := frame(0, t0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Wave(names[i%len(names)], f)
		i++
	}
}
