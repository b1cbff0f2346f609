package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/benchout"
)

// BenchmarkJournal: confirmed events per second with synchronous=FULL and
// group commit (64 callers each waiting for its row to be durable, like
// acknowledgements from a busy ward), and the p99 time from Record to
// durable. The baseline in the same run is one caller: a commit per row.
func BenchmarkJournal(b *testing.B) {
	run := func(b *testing.B, callers int) (perS float64, p99 time.Duration) {
		s, err := Open(context.Background(), b.TempDir(), Options{Station: "bench", Log: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		var lat monitor.LatencyHist
		var wg sync.WaitGroup
		per := b.N/callers + 1
		b.ResetTimer()
		t0 := time.Now()
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range per {
					t := time.Now()
					if err := <-s.Record(alarms.Record{Event: "acknowledged", AlarmID: "icu/05.spo2-low.1764000000000", Bed: "05",
						Who: "nina", Role: "nurse", Where: "st-1"}); err != nil {
						b.Error(err)
						return
					}
					lat.Add(time.Since(t))
				}
			}()
		}
		wg.Wait()
		el := time.Since(t0)
		b.StopTimer()
		n := per * callers
		return float64(n) / el.Seconds(), lat.Snapshot().Quantile(0.99)
	}
	b.Run("one-caller", func(b *testing.B) {
		perS, p99 := run(b, 1)
		b.ReportMetric(perS, "events/s")
		benchout.Record("journal_events_per_s_one_caller", perS, "events/s")
		_ = p99
	})
	b.Run("64-callers", func(b *testing.B) {
		perS, p99 := run(b, 64)
		b.ReportMetric(perS, "events/s")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		benchout.Record("journal_events_per_s", perS, "events/s")
		benchout.Record("journal_commit_p99_ms", float64(p99.Microseconds())/1000, "ms")
	})
}
