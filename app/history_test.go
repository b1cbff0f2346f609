package app

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// --sim-history gives each simulated bed one value a minute over the span
// before the start (bed 05 with its desaturation 3 h ago), the live minutes
// follow without a late or dropped row, and a second start adds none.
func TestSimHistory(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	cfg.Sim, cfg.SimHistory = 5, 4*time.Hour
	core := startStation(t, cfg)
	ctx := context.Background()
	hr := strconv.Itoa(int(feed.MDCECGHeartRate))
	spo2 := strconv.Itoa(int(feed.MDCSpO2))
	now := time.Now()
	waitFor(t, 20*time.Second, "the history written", func() bool {
		pts, err := core.Recordings.Trend(ctx, "05", hr, now.Add(-5*time.Hour), now)
		return err == nil && len(pts) >= 239
	})
	pts, err := core.Recordings.Trend(ctx, "05", spo2, now.Add(-4*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	low := 0
	for _, p := range pts {
		ago := now.Sub(p.At)
		if p.Median < 90 && (ago < 3*time.Hour-time.Minute || ago > 3*time.Hour+22*time.Minute) {
			t.Fatalf("SpO2 %v at %s, outside the desaturation episode", p.Median, p.At)
		}
		if p.Median < 90 {
			low++
		}
	}
	if low < 15 {
		t.Fatalf("%d minutes of desaturation, want about 20", low)
	}
	before := core.Recordings.Stats()
	if before.Dropped != 0 || before.Late != 0 {
		t.Fatalf("history dropped %d and was late %d", before.Dropped, before.Late)
	}
	rows := before.TrendRows
	core.Close()

	again := startStation(t, cfg)
	time.Sleep(500 * time.Millisecond)
	if st := again.Recordings.Stats(); st.TrendRows > rows+100 {
		t.Fatalf("a second start added history again: %d rows, had %d", st.TrendRows, rows)
	}
}
