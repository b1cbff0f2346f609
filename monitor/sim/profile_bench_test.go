package sim

import (
	"testing"
	"time"
)

// benchStep64 measures one Step of a 64-bed ward of profile p with 200 ms
// frames, and reports the share of one core the simulator needs in real time.
func benchStep64(b *testing.B, p Profile) { benchStep(b, 64, p) }

// benchStep times one Step of a ward of beds devices of profile p, with every
// publication discarded, and reports the share of one core it needs at 200 ms frames.
func benchStep(b *testing.B, beds int, p Profile) {
	w := newWard(b, Config{Ward: "ICU1", Beds: beds, Seed: 1, Events: true, Profile: p})
	pubs := make([]Publisher, beds)
	for i := range pubs {
		pubs[i] = discard{}
	}
	now := t0
	for range 50 { // past the first status and NIBP
		now = now.Add(200 * time.Millisecond)
		_ = w.Step(now, pubs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(200 * time.Millisecond)
		if err := w.Step(now, pubs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200e6, "core")
}

func BenchmarkStep64Ward(b *testing.B)  { benchStep64(b, ProfileWard) }
func BenchmarkStep64ICU(b *testing.B)   { benchStep64(b, ProfileICU) }
func BenchmarkStep64Heavy(b *testing.B) { benchStep64(b, ProfileHeavy) }
