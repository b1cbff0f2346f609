package app

import (
	"math"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/feed"
)

// The trend view's data on a running station: minute medians from the
// recordings, the bed's limits from the alarm engine (SpO2's low limit and,
// apart, its desaturation limit), the desaturation onset from the journal.
func TestTrendDeskOnAStation(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	cfg.Operator = "nina"
	cfg.NumStale, cfg.WaveStale = time.Hour, time.Hour
	core := startStation(t, cfg)
	dev := newDevice(t, mosquittoURL, cfg.Ward, "03")
	now := time.Now()
	// Three earlier minutes (their values stamped by the device), then now.
	for i, v := range []float64{97, 96, 95} {
		at := now.Add(time.Duration(i-3) * time.Minute)
		dev.seq++
		b := feed.EncodeNum(feed.NumFrame{TsMs: at.UnixMilli(), Seq: dev.seq, Values: []feed.Numeric{spo2(v), {Code: feed.MDCECGHeartRate, Value: 70 + v - 95, Valid: true}}})
		if err := dev.d.Publish(feed.Topic(cfg.Ward, "03", feed.StreamNum), 1, false, b); err != nil {
			t.Fatal(err)
		}
	}
	dev.num("03", spo2(80))
	waitFor(t, 5*time.Second, "the desaturation alarm", func() bool { _, ok := findAlarm(core, "spo2-desat"); return ok })
	desk := trendDesk{core}
	waitFor(t, 10*time.Second, "three closed SpO2 minutes in the trend", func() bool {
		series, err := desk.Trends("03", now.Add(-time.Hour), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range series {
			if s.Label == "SpO2" && len(s.Points) >= 3 {
				if s.Points[0].V != 97 || s.Points[1].V != 96 || s.Points[2].V != 95 {
					t.Fatalf("SpO2 minutes %+v", s.Points)
				}
				if s.Low != 90 || !math.IsNaN(s.High) || s.Desat != 85 {
					t.Fatalf("SpO2 limits %v..%v desat %v, want the low limit 90, no high limit, the desaturation limit 85 apart", s.Low, s.High, s.Desat)
				}
				return len(s.Marks) == 1 && s.Marks[0].Priority == alarms.High
			}
		}
		return false
	})
	series, _ := desk.Trends("03", now.Add(-time.Hour), time.Now().Add(time.Minute))
	var labels []string
	for _, s := range series {
		labels = append(labels, s.Label)
	}
	if len(series) != 2 || labels[0] != "HR" || labels[1] != "SpO2" {
		t.Fatalf("series %q, want HR and SpO2 (the parameters recorded)", labels)
	}
	if len(series[0].Marks) != 0 {
		t.Fatalf("HR has alarm marks %+v", series[0].Marks)
	}
}

// Which chart marks an alarm's onset: its parameter's limits, SpO2's
// desaturation, and a blood pressure's one alarm (alarms.LimitGroups) on
// each of its members' charts.
func TestTrendMarksOfAlarms(t *testing.T) {
	for _, tc := range []struct {
		id, param string
		want      bool
	}{
		{"05.hr-high.1732400000000", "hr", true},
		{"05.hr-high.1732400000000", "spo2", false},
		{"05.spo2-desat.1732400000000", "spo2", true},
		{"05.nibp-limit.1732400000000", "nibp-sys", true},
		{"05.nibp-limit.1732400000000", "nibp-dia", true},
		{"05.nibp-limit.1732400000000", "nibp-mean", true},
		{"05.nibp-limit.1732400000000", "abp-sys", false},
		{"ICU.05.abp-limit.1732400000000", "abp-mean", true},
		{"05.nibp-sys-high.1732400000000", "nibp-sys", true}, // journalled before groups
		{"05.abp-limit.1732400000000", "hr", false},
	} {
		if got := alarmOfParam(tc.id, tc.param); got != tc.want {
			t.Errorf("alarmOfParam(%q, %q) = %v, want %v", tc.id, tc.param, got, tc.want)
		}
	}
}
