package monitor

import (
	"fmt"
	"io"
	"log/slog"
	"math"
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

// gapECG is lead II in mV at t s of the device's time: a 1 mV, 25 ms wide
// QRS every 0.8 s (75/min), and a flat line from asystoleAt on (never when
// it is negative).
func gapECG(t, asystoleAt float64) float64 {
	if asystoleAt >= 0 && t >= asystoleAt {
		return 0
	}
	ph := math.Mod(t, 0.8) - 0.3
	return math.Exp(-ph * ph / (2 * 0.01 * 0.01))
}

// gapRun is one outage of the analysis test.
type gapRun struct {
	gap        float64 // s without frames, from 30 s of the device's time on
	mode       string  // "lost": frames lost, seq skips; "paused": the device sent nothing, seq goes on; "restart": seq from 0
	asystoleAt float64 // device time at which the ECG goes flat; < 0: never
}

const gapFrom = 30.0 // s of sinus rhythm before the gap

// run feeds bed G1 with 200 ms frames of gapECG, each arriving 20 ms after
// it ends, without the frames of the gap, for 30 s after it; it returns
// what the observer saw and, per frame after the gap, the bed's Analysis.
func (g gapRun) run(t *testing.T) (*recObserver, *Hub) {
	t.Helper()
	clk := &fakeClock{}
	obs := &recObserver{}
	h := NewHub(Config{Ward: "T", Beds: []string{"G1"}, Now: clk.now, Observer: obs,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	gapStart, gapEnd := int(gapFrom/0.2), int(math.Round((gapFrom+g.gap)/0.2))
	var seq uint32
	for k := 0; k < gapEnd+150; k++ {
		if k >= gapStart && k < gapEnd {
			if g.mode == "lost" {
				seq++
			}
			continue
		}
		if k == gapEnd && g.mode == "restart" {
			seq = 0
		}
		s := make([]int16, 50)
		for i := range s {
			s[i] = int16(math.Round(gapECG(float64(k)*0.2+float64(i)/250, g.asystoleAt) * 200))
		}
		f := &feed.WaveFrame{Seq: seq, StartMs: t0 + int64(k)*200,
			Channels: []feed.Channel{{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200, Samples: s}}}
		seq++
		clk.t = time.UnixMilli(t0 + int64(k+1)*200 + 20)
		h.Wave("G1", f)
		if k == gapEnd+1 && g.gap > 3 {
			if a := h.Bed("G1").Analysis(); !a.Active || !a.Learning {
				t.Errorf("just after a %v s gap the analysis is %+v, want learning", g.gap, a)
			}
		}
		if k == gapEnd+2 && g.gap <= 3 {
			if a := h.Bed("G1").Analysis(); !a.Active || a.Learning {
				t.Errorf("just after a %v s gap the analysis is %+v, want going on", g.gap, a)
			}
		}
	}
	return obs, h
}

// TestGapsAreNotRhythms: outages of 1 s to 5 min — frames lost while the
// device's clock and sequence go on, the device silent and resuming its
// sequence, a device restart with the sequence from 0 — in a sinus rhythm
// at 75/min, with no asystole, with an asystole that starts during the gap
// (the ECG is flat when the data return), or one that starts 1 s after
// they return. No lethal arrhythmia is raised from the missing data, and
// the real asystole is raised with a known latency: 4 s after the flat
// line is there to see (ecg: silent 4 s), and after a gap longer than the
// NO DATA threshold (3 s) not sooner than 5 s after the data return,
// when the analysis that restarted has learnt.
func TestGapsAreNotRhythms(t *testing.T) {
	for _, gap := range []float64{1, 2, 3, 5, 12, 30, 60, 300} {
		for _, mode := range []string{"lost", "paused", "restart"} {
			for _, asy := range []string{"none", "during", "after"} {
				g := gapRun{gap: gap, mode: mode, asystoleAt: -1}
				resume := gapFrom + gap // device time at which frames come again
				switch asy {
				case "during":
					g.asystoleAt = gapFrom + gap/2
				case "after":
					g.asystoleAt = resume + 1
				}
				t.Run(fmt.Sprintf("%vs/%s/%s", gap, mode, asy), func(t *testing.T) {
					obs, h := g.run(t)
					if c := h.Bed("G1").Counts(); c.LateFrames != 0 || c.SkewFrames != 0 || c.Gaps == 0 {
						t.Errorf("counts %+v", c)
					}
					var asystole []float64 // when each asystole start came, s of device time
					for _, a := range lethalAlarms(obs) {
						at := float64(a.TsMs-t0) / 1000
						if a.ID != AnalysisAlarmPrefix+"asystole" || g.asystoleAt < 0 || at < g.asystoleAt {
							t.Errorf("false alarm at %.1f s (gap %.0f–%.0f s): %s", at, gapFrom, resume, a.Text)
							continue
						}
						asystole = append(asystole, at)
					}
					if g.asystoleAt < 0 {
						return
					}
					// The data the analysis has: from the resume (a frame
					// later after a restart: the first frame after a
					// sequence jump is held until the next confirms it).
					data := resume
					if mode == "restart" {
						data += 0.2
					}
					// Silent for 4 s: from the last beat it saw, or from
					// the data's return when it saw none.
					silent := data
					for b := 0.3; b < g.asystoleAt; b += 0.8 {
						if b >= data {
							silent = b
						}
					}
					want := silent + 4
					if gap > 3 {
						want = max(want, data+5) // learning again after a long gap
					}
					if len(asystole) != 1 || asystole[0] < want-0.05 || asystole[0] > want+0.45 {
						t.Fatalf("asystole raised at %v s, want once at %.1f s (flat from %.1f s, data from %.1f s)", asystole, want, g.asystoleAt, data)
					}
				})
			}
		}
	}
}
