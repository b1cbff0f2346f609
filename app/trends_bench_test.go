package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store/recordings"
	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/ui"
)

// BenchmarkTrendOpen24h is opening a bed's 24 h trends: six parameters'
// minute medians read from a recordings file holding 72 h of them, and
// each drawn as a 1600×170 chart — what the trend view does off the UI
// thread before it shows anything (trend_open_24h_ms).
func BenchmarkTrendOpen24h(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	file := filepath.Join(b.TempDir(), RecordingsFile)
	now := time.Now().Truncate(time.Minute)
	start := now.Add(-72 * time.Hour)
	rec, _, err := recordings.Open(context.Background(), file, recordings.Options{Log: log, Now: func() time.Time { return now }, Queue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	go rec.Run(context.Background())
	codes := []uint32{feed.MDCECGHeartRate, feed.MDCSpO2, feed.MDCRespRate, feed.MDCNIBPSys, feed.MDCNIBPDia, feed.MDCTemp}
	for m := 0; m <= 72*60; m++ {
		at := start.Add(time.Duration(m) * time.Minute)
		vals := make([]feed.Numeric, len(codes))
		for i, c := range codes {
			vals[i] = feed.Numeric{Code: c, Value: float64(60 + i*10 + m%7), Valid: true}
		}
		for _, bed := range []string{"01", "02"} {
			rec.Numerics(bed, feed.NumFrame{TsMs: at.UnixMilli(), Values: vals}, at)
		}
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	rec, _, err = recordings.Open(context.Background(), file, recordings.Options{Log: log})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	c := &Core{Recordings: rec, ctx: context.Background(), Alarms: alarms.NewService(alarms.Config{Log: log})}
	desk := trendDesk{c}
	b.ResetTimer()
	for range b.N {
		series, err := desk.Trends("01", now.Add(-24*time.Hour), now)
		if err != nil || len(series) != len(codes) || len(series[0].Points) < 24*60 {
			b.Fatalf("%d series, %v", len(series), err)
		}
		for _, s := range series {
			if _, err := ui.RenderTrend(s, now.Add(-24*time.Hour), now, 1600, 170); err != nil {
				b.Fatal(err)
			}
		}
	}
	ms := float64(b.Elapsed().Milliseconds()) / float64(b.N)
	b.ReportMetric(ms, "ms/open")
	benchout.Record("trend_open_24h_ms", ms, "ms")
}
