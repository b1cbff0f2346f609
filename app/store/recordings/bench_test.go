package recordings

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/sim"
)

// BenchmarkDisclosure stores 5 minutes of a 16-bed ward's simulated
// waveforms (ECG II 250 Hz, pleth 125 Hz, respiration 62.5 Hz, with the
// event script: PVCs, bigeminy, leads-off, desaturation, tachycardia) in a
// real file and records the compressed bytes per stored sample
// (disclosure_bytes_per_sample, target ≤ 1.5). The timed loop encodes one
// 10 s chunk of those waveforms per op.
func BenchmarkDisclosure(b *testing.B) {
	msgs := simulate(b, sim.ProfileWard, 16, 5*time.Minute, sim.Config{Events: true, EventsAfter: time.Second})
	file := filepath.Join(b.TempDir(), "recordings.db")
	clk := newClock(t0)
	r, _, err := Open(context.Background(), file, Options{Now: clk.Now, Log: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	replay(r, clk, msgs)
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	cancel()
	st := r.Stats()
	if st.Dropped != 0 || st.Samples == 0 {
		b.Fatalf("stats %+v: want samples and no drops", st)
	}
	fi, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}

	// The same waveforms cut into 10 s chunks, per channel.
	type key struct {
		bed  string
		code uint32
	}
	runs := map[key][]int16{}
	for _, m := range msgs {
		if m.wave != nil {
			for _, c := range m.wave.Channels {
				k := key{m.bed, c.Code}
				runs[k] = append(runs[k], c.Samples...)
			}
		}
	}
	var chunks [][]int16
	samples := 0
	for k, s := range runs {
		per := 2500 // ECG
		switch k.code {
		case feed.MDCPleth:
			per = 1250
		case feed.MDCRespImpedance:
			per = 625
		}
		for len(s) >= per {
			chunks = append(chunks, s[:per])
			samples += per
			s = s[per:]
		}
	}
	enc := newEncoder()
	encoded, n := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := chunks[i%len(chunks)]
		encoded += len(enc.encode(c))
		n += len(c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/sample")
	bps := float64(st.Bytes) / float64(st.Samples)
	b.ReportMetric(bps, "B/sample")
	b.ReportMetric(float64(fi.Size())/float64(st.Samples), "file-B/sample")
	benchout.Record("disclosure_bytes_per_sample", bps, "B")
}

// BenchmarkRecordingsICU64 replays the 64-bed icu load through Numerics and
// Wave, as fast as the writer sustains (the feed waits while the queue is
// over three quarters full, so nothing is dropped), into a real file with
// Run going, and records the rows written per second
// (recordings_rows_per_s_icu64): trend rows and chunk rows. One op is one
// simulated minute of the ward; the minute repeats with its timestamps
// moved on. It also reports samples/s and how many times real time that
// is: at real time the ward makes ~56 rows/s (448 chunks per 10 s, ~10
// numerics per bed per minute) and 72,000 samples/s.
func BenchmarkRecordingsICU64(b *testing.B) {
	msgs := icu64Messages(b)
	file := filepath.Join(b.TempDir(), "recordings.db")
	clk := newClock(t0)
	r, _, err := Open(context.Background(), file, Options{Now: clk.Now, Log: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	limit := cap(r.queue) * 3 / 4
	minutes := 0
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		shift := int64(minutes) * 60_000
		d := time.Duration(shift) * time.Millisecond
		for _, m := range msgs {
			at := m.at.Add(d)
			clk.Set(at)
			if m.wave != nil {
				f := *m.wave
				f.StartMs += shift
				r.Wave(m.bed, &f, at)
			} else {
				f := *m.num
				f.TsMs += shift
				r.Numerics(m.bed, f, at)
			}
			for len(r.queue) > limit {
				time.Sleep(100 * time.Microsecond)
			}
		}
		minutes++
	}
	if err := r.Close(); err != nil { // the last writes count
		b.Fatal(err)
	}
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	st := r.Stats()
	if st.Dropped != 0 || st.WriteErrors != 0 {
		b.Fatalf("stats %+v: want no drops and no write errors", st)
	}
	rows := float64(st.Written)
	realtime := float64(minutes) * 60 / elapsed
	b.ReportMetric(rows/elapsed, "rows/s")
	b.ReportMetric(float64(st.Samples)/elapsed, "samples/s")
	b.ReportMetric(realtime, "x-realtime")
	b.ReportMetric(float64(minutes), "sim-minutes")
	b.ReportMetric(float64(st.Bytes)/float64(st.Samples), "B/sample")
	benchout.Record("recordings_rows_per_s_icu64", rows/elapsed, "rows/s")
}

var (
	icu64Once sync.Once
	icu64Msgs []simMsg
)

// icu64Messages is one simulated minute of the 64-bed icu ward (ECG I, II,
// III, pleth, ABP, respiration and capnogram: 1125 samples/s a bed, and
// numerics every second), made once per test binary.
func icu64Messages(b *testing.B) []simMsg {
	icu64Once.Do(func() {
		end := ms(t0.Add(time.Minute))
		for _, m := range simulate(b, sim.ProfileICU, 64, time.Minute, sim.Config{}) {
			// Exactly one minute, so that it can repeat.
			if (m.wave != nil && m.wave.StartMs < end) || (m.num != nil && m.num.TsMs < end) {
				icu64Msgs = append(icu64Msgs, m)
			}
		}
	})
	if icu64Msgs == nil {
		b.Fatal("no simulated ward")
	}
	return icu64Msgs
}
