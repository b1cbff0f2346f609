package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

func sourceAlarms(obs *recObserver) (out []feed.Alarm) {
	for _, a := range obs.alarms {
		if a.ID == SourceAlarmID {
			out = append(out, a)
		}
	}
	return out
}

func spo2Num(seq uint32, ts time.Time, v float64) feed.NumFrame {
	return feed.NumFrame{TsMs: ts.UnixMilli(), Seq: seq, Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: v, Valid: true}}}
}

func spo2Of(t *testing.T, h *Hub, bed string) float64 {
	t.Helper()
	v, _ := h.Bed(bed).Vital(feed.MDCSpO2)
	return v.Value
}

// The attack of the security issue: during a real desaturation a second
// publisher on the bed's topic sends SpO2 98 four times a second. None of
// its values is used — whatever its sequence numbers — and the bed's feed
// is flagged; the device's own values go on being used once it is alone.
func TestInjectedNumericsNeverUsed(t *testing.T) {
	for _, inj := range []struct {
		name string
		seq  func(i int, dev uint32) uint32
	}{
		{"no sequence number", func(int, uint32) uint32 { return 0 }},
		{"its own sequence", func(i int, _ uint32) uint32 { return 5000 + uint32(i) }},
		{"random numbers", func(i int, _ uint32) uint32 { return uint32(i*2654435761) ^ 0x9e3779b9 }},
		{"the device's last number", func(_ int, dev uint32) uint32 { return dev }},
	} {
		t.Run(inj.name, func(t *testing.T) {
			d, obs, _ := newTestDevice(t, Config{}, "03")
			dev := uint32(100)
			d.h.Numerics("03", spo2Num(dev, d.clk.now(), 82))
			for i := range 72 { // 18 s: the device every second, the intruder four times a second
				d.clk.advance(250 * time.Millisecond)
				d.h.Numerics("03", spo2Num(inj.seq(i, dev), d.clk.now(), 98))
				if got := spo2Of(t, d.h, "03"); got != 82 {
					t.Fatalf("after injected message %d the bed shows SpO2 %v", i, got)
				}
				if i%4 == 3 {
					dev++
					d.h.Numerics("03", spo2Num(dev, d.clk.now(), 82))
				}
			}
			for _, n := range obs.nums {
				if n.Values[0].Value == 98 {
					t.Fatal("an injected value reached the alarm engine")
				}
			}
			al := sourceAlarms(obs)
			if len(al) != 1 || !strings.Contains(al[0].Text, "TWO SOURCES") || al[0].Phase != feed.PhaseStart {
				t.Fatalf("source alarms %+v", al)
			}
			if _, on := d.h.Bed("03").SourceConflict(); !on {
				t.Fatal("the bed does not show the conflict")
			}
			// The intruder stops: after SourceHold the device alone is used again.
			for range 40 {
				d.clk.advance(time.Second)
				dev++
				d.h.Numerics("03", spo2Num(dev, d.clk.now(), 83))
			}
			if got := spo2Of(t, d.h, "03"); got != 83 {
				t.Fatalf("the device alone again: SpO2 %v, want 83", got)
			}
			if al := sourceAlarms(obs); len(al) != 2 || al[1].Phase != feed.PhaseEnd {
				t.Fatalf("source alarm not ended: %+v", al)
			}
			if c := d.h.Bed("03").Counts(); c.SourceRefused == 0 || c.NumHeld == 0 {
				t.Fatalf("counts %+v", c)
			}
		})
	}
}

// A device that restarts (its numbers start again) and one that numbers
// nothing are not conflicts; a restart loses one message at most.
func TestNumericsRestartIsNotAConflict(t *testing.T) {
	d, obs, _ := newTestDevice(t, Config{}, "03")
	seq := uint32(500)
	for i := range 10 {
		d.clk.advance(time.Second)
		d.h.Numerics("03", spo2Num(seq+uint32(i), d.clk.now(), 97))
	}
	for i := range 10 { // restarted: 0, 1, 2 ...
		d.clk.advance(time.Second)
		d.h.Numerics("03", spo2Num(uint32(i), d.clk.now(), float64(90+i)))
	}
	if got := spo2Of(t, d.h, "03"); got != 99 || len(sourceAlarms(obs)) != 0 {
		t.Fatalf("after a restart: SpO2 %v, source alarms %+v", got, sourceAlarms(obs))
	}
	if n := d.h.Bed("03").Counts().NumHeld; n != 2 {
		t.Fatalf("%d messages held at the restart, want 2 (restartConfirm at one a second)", n)
	}
	// Duplicates (a QoS 1 redelivery) are dropped without a conflict.
	d.h.Numerics("03", spo2Num(9, d.clk.now(), 99))
	if len(sourceAlarms(obs)) != 0 {
		t.Fatal("a duplicate raised a conflict")
	}
	u, uobs, _ := newTestDevice(t, Config{}, "04")
	for i := range 10 {
		u.clk.advance(time.Second)
		u.h.Numerics("04", spo2Num(0, u.clk.now(), float64(90+i)))
	}
	if got := spo2Of(t, u.h, "04"); got != 99 || len(sourceAlarms(uobs)) != 0 {
		t.Fatalf("an unnumbered device: SpO2 %v, source alarms %+v", got, sourceAlarms(uobs))
	}
}

// A bed bound to its device: a status naming another device, or saying
// "no waveforms" while they arrive, makes the bed's data unusable for
// SourceHold, flagged; the forged status is not applied (NO DATA is not
// switched off, the patient's name not changed).
func TestBoundDevice(t *testing.T) {
	d, obs, _ := newTestDevice(t, Config{}, "03")
	d.h.BindDevice("03", "dev-0007a1b2")
	d.h.Status("03", feed.Status{Device: "dev-0007a1b2", Online: true, Patient: "Ada"})
	d.run(2)
	samples := d.h.Bed("03").Counts().Samples
	d.h.Status("03", feed.Status{Device: "rogue", Online: true, Patient: "Nobody"})
	al := sourceAlarms(obs)
	if len(al) != 1 || !strings.Contains(al[0].Text, `"rogue" sends, "dev-0007a1b2" is bound`) {
		t.Fatalf("source alarms %+v", al)
	}
	if st, _ := d.h.Bed("03").DeviceStatus(); st.Patient != "Ada" {
		t.Fatalf("the other device's status was applied: %+v", st)
	}
	d.run(2)
	if c := d.h.Bed("03").Counts(); c.Samples != samples || c.SourceRefused != 11 { // the status and 10 frames
		t.Fatalf("waveforms used during the conflict: %+v (had %d samples)", c, samples)
	}
	// A device alarm may still raise (the safe side), but not end.
	d.h.Alarm("03", feed.Alarm{ID: "ASY-1", Seq: 1, TsMs: d.clk.now().UnixMilli(), Priority: feed.AlarmHigh,
		Source: feed.SourcePhysiological, Phase: feed.PhaseStart, State: feed.StateActive, Text: "ASYSTOLE"})
	d.h.Alarm("03", feed.Alarm{ID: "ASY-1", Seq: 2, TsMs: d.clk.now().UnixMilli(), Priority: feed.AlarmHigh,
		Source: feed.SourcePhysiological, Phase: feed.PhaseEnd, State: feed.StateInactive, Text: "ASYSTOLE"})
	if da := d.h.Bed("03").DeviceAlarms(); len(da) != 1 || da[0].Phase == feed.PhaseEnd {
		t.Fatalf("device alarms during the conflict %+v", da)
	}
	d.run(SourceHold.Seconds() + 2) // the bound device goes on: refused until the hold has passed
	if c := d.h.Bed("03").Counts(); c.Samples <= samples {
		t.Fatal("the bound device's waveforms are not used after the hold")
	}
	if al := sourceAlarms(obs); len(al) != 2 || al[1].Phase != feed.PhaseEnd {
		t.Fatalf("source alarms %+v", al)
	}

	// "No waveforms" while they arrive: NO DATA would be switched off.
	no := false
	d.h.Status("03", feed.Status{Device: "dev-0007a1b2", Online: true, Waves: &no})
	if al := sourceAlarms(obs); len(al) != 3 || !strings.Contains(al[2].Text, "no waveforms") {
		t.Fatalf("source alarms %+v", al)
	}
	if st, _ := d.h.Bed("03").DeviceStatus(); st.Waves != nil {
		t.Fatal("the contradicting status was applied")
	}
	// An unbound bed takes any device (its id is shown for the admin to pin).
	d.h.Status("05", feed.Status{Device: "dev-x", Online: true})
	if st, ok := d.h.Bed("05").DeviceStatus(); !ok || st.Device != "dev-x" {
		t.Fatalf("an unbound bed's status: %+v %v", st, ok)
	}
}
