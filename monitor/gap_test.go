package monitor

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/sim"
)

// simLink is one simulated device's connection to the hub: it decodes what
// the device publishes and hands it to the hub, as mqttfeed does, unless
// the link is down (a broker outage: the device's QoS 0 messages are lost).
type simLink struct {
	h    *Hub
	down *bool
	wf   feed.WaveFrame
}

func (l *simLink) Publish(topic string, qos byte, retained bool, payload []byte) error {
	if *l.down {
		return nil
	}
	_, bed, stream, err := feed.ParseTopic(topic)
	if err != nil {
		return err
	}
	switch stream {
	case feed.StreamWave:
		if err := feed.DecodeWaveAny(payload, &l.wf); err != nil {
			return err
		}
		l.h.Wave(bed, &l.wf)
	case feed.StreamNum:
		f, err := feed.DecodeNum(payload)
		if err != nil {
			return err
		}
		l.h.Numerics(bed, f)
	case feed.StreamStatus:
		if len(payload) == 0 {
			return nil
		}
		s, err := feed.DecodeStatus(payload)
		if err != nil {
			return err
		}
		l.h.Status(bed, s)
	}
	return nil
}

// lethalAlarms are the starts of Vigil's own lethal-arrhythmia alarms that obs saw.
func lethalAlarms(obs *recObserver) []feed.Alarm {
	var out []feed.Alarm
	for _, a := range obs.alarms {
		if a.Phase != feed.PhaseStart || !strings.HasPrefix(a.ID, AnalysisAlarmPrefix) {
			continue
		}
		switch strings.TrimPrefix(a.ID, AnalysisAlarmPrefix) {
		case "asystole", "vtach", "vfib", "brady", "tachy":
			out = append(out, a)
		}
	}
	return out
}

// TestSimOutageNoFalseAsystole: simulated beds in sinus rhythm (the ward
// and the icu profiles) while the feed stops for 12 s and resumes — a
// broker outage: every device's frames are lost, their clocks and sequence
// numbers go on — and while one device drops for 12 s (it sends nothing and
// resumes where its sequence left off). No bed may raise a lethal
// arrhythmia from the missing data. (Before the fix every bed raised
// "ASYSTOLE (Vigil ECG analysis)" as it returned: its device's heart rate
// was stale, so Vigil's analysis started, fed 10 s of missing samples first.)
func TestSimOutageNoFalseAsystole(t *testing.T) {
	for _, profile := range []sim.Profile{sim.ProfileWard, sim.ProfileICU} {
		for _, outage := range []string{"feed", "device"} {
			t.Run(string(profile)+"/"+outage, func(t *testing.T) {
				w, err := sim.New(sim.Config{Ward: "T", Beds: 4, Seed: 5, Profile: profile})
				if err != nil {
					t.Fatal(err)
				}
				clk := &fakeClock{time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)}
				obs := &recObserver{}
				h := NewHub(Config{Ward: "T", Beds: w.BedNames(), Now: clk.now, Observer: obs,
					Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
				down := false
				links := make([]sim.Publisher, len(w.BedNames()))
				for i := range links {
					links[i] = &simLink{h: h, down: &down}
				}
				run := func(d time.Duration, pubs []sim.Publisher) {
					for end := clk.t.Add(d); clk.t.Before(end); clk.advance(200 * time.Millisecond) {
						if err := w.Step(clk.t, pubs); err != nil {
							t.Fatal(err)
						}
					}
				}
				run(30*time.Second, links)
				if a := lethalAlarms(obs); len(a) != 0 {
					t.Fatalf("lethal alarms before any outage: %+v", a)
				}
				if outage == "feed" {
					down = true // the broker is away for 12 s
					run(12*time.Second, links)
					down = false
				} else {
					off := append([]sim.Publisher(nil), links...)
					off[1] = nil // bed 2's device is away for 12 s
					run(12*time.Second, off)
				}
				run(30*time.Second, links)
				if a := lethalAlarms(obs); len(a) != 0 {
					t.Fatalf("after a 12 s outage (%s): %+v", outage, a)
				}
				for _, b := range h.Beds() {
					if c := b.Counts(); c.LateFrames != 0 || c.DupFrames != 0 || c.Samples == 0 {
						t.Errorf("bed %s: counts %+v", b.Name, c)
					}
				}
			})
		}
	}
}

