package recordings

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/sim"
)

// simMsg is one message of the simulated ward, decoded as the station
// decodes it: a waveform frame or a numerics frame of a bed.
type simMsg struct {
	bed  string
	at   time.Time // the Step that published it
	wave *feed.WaveFrame
	num  *feed.NumFrame
}

// simSink is a bed's connection to the "broker": it decodes and keeps.
type simSink struct {
	at   *time.Time
	msgs *[]simMsg
}

func (s simSink) Publish(topic string, _ byte, _ bool, payload []byte) error {
	_, bed, stream, err := feed.ParseTopic(topic)
	if err != nil {
		return err
	}
	switch stream {
	case feed.StreamWave:
		f := new(feed.WaveFrame)
		if err := feed.DecodeWaveAny(payload, f); err != nil {
			return err
		}
		*s.msgs = append(*s.msgs, simMsg{bed: bed, at: *s.at, wave: f})
	case feed.StreamNum:
		f, err := feed.DecodeNum(payload)
		if err != nil {
			return err
		}
		*s.msgs = append(*s.msgs, simMsg{bed: bed, at: *s.at, num: &f})
	}
	return nil
}

// simulate runs a ward of beds of profile p from t0 for d and returns its
// waveform and numerics messages in publication order.
func simulate(t testing.TB, p sim.Profile, beds int, d time.Duration, cfg sim.Config) []simMsg {
	t.Helper()
	cfg.Ward, cfg.Beds, cfg.Profile = "ICU1", beds, p
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	w, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var (
		now  time.Time
		msgs []simMsg
	)
	pubs := make([]sim.Publisher, beds)
	for i := range pubs {
		pubs[i] = simSink{at: &now, msgs: &msgs}
	}
	for now = t0; !now.After(t0.Add(d)); now = now.Add(200 * time.Millisecond) {
		if err := w.Step(now, pubs); err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

// replay feeds msgs to r as the feed goroutine would, moving clk along.
func replay(r *Recordings, clk *clock, msgs []simMsg) {
	for _, m := range msgs {
		clk.Set(m.at)
		if m.wave != nil {
			r.Wave(m.bed, m.wave, m.at)
		} else {
			r.Numerics(m.bed, *m.num, m.at)
		}
	}
}

// The simulated ward's waveforms come back from the file as the same
// physical values (feed.Channel.Physical of the same raw samples, so equal
// to the last bit, NaN where invalid), one segment per channel, and its
// trends are the medians of the numerics it sent. Queries run all along,
// beside the writer.
func TestSimulatedWardRoundTrip(t *testing.T) {
	const beds, seconds = 4, 110
	// The event script from 1 s: PVCs, then leads-off (invalid ECG) at 101–107 s.
	msgs := simulate(t, sim.ProfileWard, beds, seconds*time.Second, sim.Config{Events: true, EventsAfter: time.Second})
	file := tempFile(t)
	clk := newClock(t0)
	r := open(t, file, Options{Now: clk.Now})
	run(t, r)

	var stopReads atomic.Bool
	var reads sync.WaitGroup
	var readErr atomic.Value
	reads.Add(1)
	go func() {
		defer reads.Done()
		for !stopReads.Load() {
			if _, err := r.Disclosure(ctx, "01", "131330", t0, t0.Add(time.Hour)); err != nil {
				readErr.Store(err)
			}
			if _, err := r.Trend(ctx, "02", "HR", t0, t0.Add(time.Hour)); err != nil {
				readErr.Store(err)
			}
			if _, err := r.Beds(ctx); err != nil {
				readErr.Store(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	replay(r, clk, msgs)
	stopReads.Store(true)
	reads.Wait()
	if err := readErr.Load(); err != nil {
		t.Errorf("query beside the writer: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// What went in, per bed and channel, and the numerics per minute.
	type key struct {
		bed  string
		code uint32
	}
	type sent struct {
		start  time.Time
		rate   float64
		values []float32
	}
	in := map[key]*sent{}
	minutes := map[key]map[int64][]float64{}
	invalid := 0
	for _, m := range msgs {
		if m.num != nil {
			for _, v := range m.num.Values {
				k := key{m.bed, v.Code}
				if minutes[k] == nil {
					minutes[k] = map[int64][]float64{}
				}
				if v.Valid {
					minute := m.num.TsMs / 60_000 * 60_000
					minutes[k][minute] = append(minutes[k][minute], v.Value)
				}
			}
			continue
		}
		for _, c := range m.wave.Channels {
			k := key{m.bed, c.Code}
			if in[k] == nil {
				in[k] = &sent{start: time.UnixMilli(m.wave.StartMs), rate: float64(c.RateHz)}
			}
			for _, s := range c.Samples {
				in[k].values = append(in[k].values, c.Physical(s))
				if s == feed.InvalidSample {
					invalid++
				}
			}
		}
	}
	if invalid == 0 {
		t.Fatal("the simulation sent no invalid samples: the test covers less than it should")
	}
	if len(in) != beds*3 {
		t.Fatalf("%d bed channels simulated, want %d", len(in), beds*3)
	}

	r = open(t, file, Options{Now: clk.Now})
	stored := 0
	for k, want := range in {
		segs, err := r.Disclosure(ctx, k.bed, fmt.Sprint(k.code), t0.Add(-time.Minute), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) != 1 {
			t.Errorf("bed %s channel %d: %d segments, want 1", k.bed, k.code, len(segs))
			continue
		}
		got := segs[0]
		if !got.Start.Equal(want.start) || got.RateHz != want.rate {
			t.Errorf("bed %s channel %d: start %v at %v Hz, want %v at %v Hz", k.bed, k.code, got.Start, got.RateHz, want.start, want.rate)
		}
		if diff := cmp.Diff(want.values, got.Samples, cmpSeg); diff != "" {
			t.Errorf("bed %s channel %d samples (-want +got):\n%s", k.bed, k.code, diff)
		}
		stored += len(got.Samples)
	}
	if s := r.Stats(); s.Samples != int64(stored) || s.Dropped != 0 {
		t.Errorf("Stats %+v: want %d samples, nothing dropped", s, stored)
	}

	trends := 0
	for k, byMinute := range minutes {
		var want []TrendPoint
		for minute, vals := range byMinute {
			if len(vals) > 0 {
				want = append(want, TrendPoint{time.UnixMilli(minute).UTC(), refMedian(vals), len(vals)})
			}
		}
		slices.SortFunc(want, func(a, b TrendPoint) int { return a.At.Compare(b.At) })
		got, err := r.Trend(ctx, k.bed, fmt.Sprint(k.code), t0.Add(-time.Minute), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpEmptyPoints); diff != "" {
			t.Errorf("bed %s parameter %d trend (-want +got):\n%s", k.bed, k.code, diff)
		}
		trends += len(got)
	}
	if trends < beds*5*2 {
		t.Errorf("%d trend rows, want at least 2 minutes of 5 parameters for %d beds", trends, beds)
	}
}

var cmpEmptyPoints = cmp.Comparer(func(a, b []TrendPoint) bool {
	return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b))
})

// refMedian is the median the slow, obvious way.
func refMedian(vals []float64) float64 {
	s := slices.Sorted(slices.Values(vals))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
