package sim

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// TestEvents runs a 16-bed ward through its first event cycle (60 s + 300 s)
// and checks each scripted event in the published feed.
func TestEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("six minutes of a 16-bed ward")
	}
	w := newWard(t, Config{Ward: "ICU1", Beds: 16, Seed: 5, Events: true})
	var now time.Time
	recs := make([]*recorder, 16)
	pubs := make([]Publisher, 16)
	for i := range recs {
		recs[i] = &recorder{clock: &now}
		pubs[i] = recs[i]
	}
	for now = t0; !now.After(t0.Add(370 * time.Second)); now = now.Add(200 * time.Millisecond) {
		if err := w.Step(now, pubs); err != nil {
			t.Fatal(err)
		}
		s := now.Sub(t0).Seconds()
		for bed := range 16 {
			ev := w.EventsAt(bed, now)
			if s < 60 && len(ev) > 0 {
				t.Fatalf("bed %d at %.1f s: %v before EventsAfter", bed, s, ev)
			}
		}
	}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, c := range []struct {
		bed  int
		s    float64
		want string
	}{{2, 61, "pvc"}, {2, 130, "bigeminy"}, {10, 163, "leads-off"}, {4, 200, "desat"}, {13, 220, "offline"}, {7, 290, "tachy"}} {
		if ev := w.EventsAt(c.bed, at(c.s)); !slices.Equal(ev, []string{c.want}) {
			t.Errorf("bed %d at %v s: events %v, want %s", c.bed, c.s, ev, c.want)
		}
	}
	rec := func(bed int) record { return decode(t, w, bed, recs[bed].messages()) }

	t.Run("03 ectopy", func(t *testing.T) {
		peaks := rPeaks(rec(2))
		var early, bigem, bigemBeats int
		for k := 2; k < len(peaks); k++ {
			premature := peaks[k]-peaks[k-1] < 0.75*(peaks[k-1]-peaks[k-2])
			switch s := peaks[k]; {
			case s < 60 && premature:
				early++
			case s >= 122 && s < 148:
				bigemBeats++
				if premature {
					bigem++
				}
			}
		}
		pvcs := 0
		for k := 2; k < len(peaks); k++ {
			if peaks[k] >= 60 && peaks[k] < 120 && peaks[k]-peaks[k-1] < 0.75*(peaks[k-1]-peaks[k-2]) {
				pvcs++
			}
		}
		t.Logf("%d premature beats in the PVC phase, %d of %d in bigeminy", pvcs, bigem, bigemBeats)
		if early > 0 || pvcs < 3 {
			t.Errorf("premature beats: %d before the events, %d in the PVC phase", early, pvcs)
		}
		if bigem < bigemBeats*2/5 {
			t.Errorf("bigeminy: %d premature of %d beats", bigem, bigemBeats)
		}
	})

	t.Run("11 leads off", func(t *testing.T) {
		r := rec(10)
		invalid := 0
		for i, v := range r.ecg {
			if math.IsNaN(v) {
				invalid++
				if s := float64(r.ecgMs[i]) / 1000; s < 160 || s >= 166 {
					t.Fatalf("invalid ECG sample at %.3f s", s)
				}
			}
		}
		if invalid != 6*250 {
			t.Errorf("%d invalid ECG samples, want 1500", invalid)
		}
		var on, off bool
		for _, s := range r.statuses {
			sec := float64(s.TsMs-t0.UnixMilli()) / 1000
			if slices.Equal(s.LeadsOff, []uint32{feed.MDCECGLeadII}) && sec >= 160 && sec < 160.4 {
				on = true
			}
			if len(s.LeadsOff) == 0 && sec >= 166 && sec < 166.4 {
				off = true
			}
		}
		if !on || !off {
			t.Errorf("status: leads-off announced %v, cleared %v", on, off)
		}
		for _, n := range r.nums {
			_, ok := value(n, feed.MDCECGHeartRate)
			if s := secs(n); ok == (s >= 160 && s < 166) {
				t.Errorf("HR valid %v at %v s", ok, s)
			}
		}
	})

	t.Run("05 desaturation", func(t *testing.T) {
		low := 100.0
		for _, n := range rec(4).nums {
			v, ok := value(n, feed.MDCSpO2)
			switch s := secs(n); {
			case !ok:
				t.Fatalf("SpO2 invalid at %v s", s)
			case s < 180 || s > 275:
				if v < 93 {
					t.Errorf("SpO2 %v at %v s, outside the desaturation", v, s)
				}
			default:
				low = min(low, v)
			}
		}
		t.Logf("SpO2 nadir %v", low)
		if low >= 88 || low < 82 {
			t.Errorf("SpO2 nadir %v, want 82..87", low)
		}
	})

	t.Run("08 tachycardia", func(t *testing.T) {
		high := 0.0
		for _, n := range rec(7).nums {
			v, _ := value(n, feed.MDCECGHeartRate)
			switch s := secs(n); {
			case s < 280 || s > 315:
				if v > 120 {
					t.Errorf("HR %v at %v s, outside the tachycardia", v, s)
				}
			default:
				high = max(high, v)
			}
		}
		t.Logf("HR peak %v", high)
		if high <= 130 || high > 160 {
			t.Errorf("HR peak %v, want 131..160", high)
		}
	})

	t.Run("14 offline", func(t *testing.T) {
		msgs := recs[13].messages()
		resumed := -1
		for k, m := range msgs {
			s := m.at.Sub(t0).Seconds()
			if s >= 210 && s < 230 {
				t.Fatalf("published %s at %v s, while offline", m.topic, s)
			}
			if s >= 230 && resumed < 0 {
				resumed = k
			}
		}
		if resumed < 0 {
			t.Fatal("never came back")
		}
		if st, err := feed.DecodeStatus(msgs[resumed].payload); err != nil || !st.Online {
			t.Errorf("first message after the event: %s %v", msgs[resumed].topic, err)
		}
		r := rec(13)
		gaps := 0
		for k, f := range r.frames {
			if f.Seq != uint32(k) {
				t.Fatalf("frame %d has seq %d", k, f.Seq)
			}
			if k > 0 && f.StartMs-r.frames[k-1].StartMs != 200 {
				gaps++
				if d := f.StartMs - r.frames[k-1].StartMs; d < 19_800 || d > 20_200 {
					t.Errorf("gap of %d ms", d)
				}
			}
		}
		if gaps != 1 {
			t.Errorf("%d gaps in the waveform, want 1", gaps)
		}
	})
}
