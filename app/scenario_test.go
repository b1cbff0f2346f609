package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/sim"
)

// Every clinical scenario, end to end over mosquitto: simulated devices ->
// broker -> station -> alarm engine. Each raises its expected alarm with the
// expected priority within its condition delay + 1 s of the scenario's onset.
func TestScenariosRaiseTheirAlarms(t *testing.T) {
	cases := []struct {
		scenario string
		code     string
		priority alarms.Priority
		delay    time.Duration
		beds     int
	}{
		{"desat", "spo2-desat", alarms.High, 0, 4},
		{"tachy", "hr-high", alarms.Medium, 5 * time.Second, 4},
		{"brady", "hr-low", alarms.Medium, 5 * time.Second, 4},
		{"asystole", alarms.CodeAsystole, alarms.High, 0, 4},
		{"leads-off", alarms.CodeLeadsOff, alarms.Medium, 0, 4},
		{"offline", alarms.CodeOffline, alarms.Medium, 0, 4},
		{"nurse-call", alarms.CodeNurseCall, alarms.Medium, 0, 4},
		{"storm", "spo2-desat", alarms.High, 0, 64},
	}
	if len(cases) != len(sim.Scenarios()) {
		t.Fatalf("%d scenarios tested, %d exist", len(cases), len(sim.Scenarios()))
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			cfg := testConfig(t, mosquittoURL)
			cfg.Station = "st-" + tc.scenario
			core := startStation(t, cfg)
			w, err := sim.New(sim.Config{Ward: cfg.Ward, Beds: tc.beds, Seed: 3, Scenario: tc.scenario, ScenarioBed: 2,
				ScenarioLeadIn: 3 * time.Second, ScenarioHold: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, dialer(mosquittoURL)) }()
			defer func() { cancel(); <-done }()

			want := 1
			if tc.scenario == "storm" {
				want = tc.beds
			}
			var onset time.Time
			waitFor(t, 5*time.Second, "the scenario's onset", func() bool {
				var ok bool
				onset, ok = w.ScenarioOnset()
				return ok
			})
			deadline := onset.Add(tc.delay + 3*time.Second)
			var got []alarms.Alarm
			for time.Now().Before(deadline) {
				got = got[:0]
				for _, a := range core.Alarms.View().Alarms {
					if a.Code == tc.code {
						got = append(got, a)
					}
				}
				if len(got) >= want {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(got) < want {
				t.Fatalf("%d of %d %s alarms within %s of the onset; shown: %v", len(got), want, tc.code, tc.delay+3*time.Second, texts(core))
			}
			var worst time.Duration
			for _, a := range got {
				if a.Priority != tc.priority {
					t.Errorf("%s: priority %v, want %v", a.Text(), a.Priority, tc.priority)
				}
				if tc.scenario != "storm" && a.Bed != "02" {
					t.Errorf("%s on bed %s, want 02", a.Text(), a.Bed)
				}
				worst = max(worst, a.Onset.Sub(onset))
			}
			if worst > tc.delay+time.Second {
				t.Fatalf("raised %s after the onset, want within %s", worst, tc.delay+time.Second)
			}
			st := core.Alarms.Stats()
			msg := fmt.Sprintf("%s: %d× %s raised %s after onset", tc.scenario, len(got), got[0].Text(), worst.Round(time.Millisecond))
			if tc.scenario == "storm" {
				p50, p99 := st.Latency.Quantile(0.5), st.Latency.Quantile(0.99)
				// Reported, not asserted: on a loaded 2-core machine the
				// tail is the machine's. The figure is make bench's
				// (BenchmarkAlarmLatency, alarm_bench_test.go); here the
				// storm must raise every alarm, in time and at its priority.
				msg += fmt.Sprintf("; alarm latency over %d alarms p50 %s p99 %s", st.Latency.Total(), p50, p99)
			}
			t.Log(msg)
		})
	}
}

func texts(c *Core) []string {
	var out []string
	for _, a := range c.Alarms.View().Alarms {
		out = append(out, a.Bed+" "+a.Text())
	}
	return out
}
