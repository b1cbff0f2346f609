package sim

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

func TestParseProfile(t *testing.T) {
	for in, want := range map[string]Profile{"": ProfileWard, "ward": ProfileWard, " ICU ": ProfileICU, "Heavy": ProfileHeavy} {
		if p, err := ParseProfile(in); err != nil || p != want {
			t.Errorf("ParseProfile(%q) = %q, %v, want %q", in, p, err, want)
		}
	}
	_, err := ParseProfile("cardiac")
	if err == nil || !strings.Contains(err.Error(), "ward, icu, heavy") {
		t.Errorf("ParseProfile(cardiac): %v, want an error listing the profiles", err)
	}
	_, err = New(Config{Ward: "ICU1", Beds: 2, Profile: "cardiac"})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "ward, icu, heavy") {
		t.Errorf("New with an unknown profile: %v", err)
	}
	if p := newWard(t, Config{Ward: "ICU1", Beds: 1}).Profile(); p != ProfileWard {
		t.Errorf("default profile %q", p)
	}
	if Profile("cardiac").Channels() != nil || Profile("cardiac").SamplesPerSecond() != 0 {
		t.Error("an unknown profile has channels")
	}
}

// wantChannels is each profile's channel table, in frame order.
var wantChannels = map[Profile][]ChannelInfo{
	ProfileWard: {
		{feed.MDCECGLeadII, "II", 250, 200, "mV"},
		{feed.MDCPleth, "Pleth", 125, 1000, ""},
		{feed.MDCRespImpedance, "Resp", 62.5, 1000, ""},
	},
	ProfileICU: {
		{feed.MDCECGLeadI, "I", 250, 200, "mV"},
		{feed.MDCECGLeadII, "II", 250, 200, "mV"},
		{feed.MDCECGLeadIII, "III", 250, 200, "mV"},
		{feed.MDCPleth, "Pleth", 125, 1000, ""},
		{feed.MDCPressArt, "ABP", 125, 10, "mmHg"},
		{feed.MDCRespImpedance, "Resp", 62.5, 1000, ""},
		{feed.MDCAwayCO2, "CO2", 62.5, 10, "mmHg"},
	},
	ProfileHeavy: {
		{feed.MDCECGLeadI, "I", 500, 200, "mV"},
		{feed.MDCECGLeadII, "II", 500, 200, "mV"},
		{feed.MDCECGLeadIII, "III", 500, 200, "mV"},
		{feed.MDCECGLeadAVR, "aVR", 500, 200, "mV"},
		{feed.MDCECGLeadAVL, "aVL", 500, 200, "mV"},
		{feed.MDCECGLeadAVF, "aVF", 500, 200, "mV"},
		{feed.MDCECGLeadV1, "V1", 500, 200, "mV"},
		{feed.MDCECGLeadV2, "V2", 500, 200, "mV"},
		{feed.MDCECGLeadV3, "V3", 500, 200, "mV"},
		{feed.MDCECGLeadV4, "V4", 500, 200, "mV"},
		{feed.MDCECGLeadV5, "V5", 500, 200, "mV"},
		{feed.MDCECGLeadV6, "V6", 500, 200, "mV"},
		{feed.MDCPleth, "Pleth", 125, 1000, ""},
		{feed.MDCPressArt, "ABP", 125, 10, "mmHg"},
		{feed.MDCPressPulm, "PAP", 125, 10, "mmHg"},
		{feed.MDCPressCVP, "CVP", 125, 10, "mmHg"},
		{feed.MDCPressICP, "ICP", 125, 10, "mmHg"},
		{feed.MDCRespImpedance, "Resp", 62.5, 1000, ""},
		{feed.MDCAwayCO2, "CO2", 62.5, 10, "mmHg"},
	},
}

func TestProfileChannels(t *testing.T) {
	perSecond := map[Profile]float64{ProfileWard: 437.5, ProfileICU: 1125, ProfileHeavy: 6750}
	for _, p := range Profiles() {
		if got := p.Channels(); !slices.Equal(got, wantChannels[p]) {
			t.Errorf("%s: channels %v", p, got)
		}
		if got := newWard(t, Config{Ward: "ICU1", Beds: 1, Profile: p}).Channels(); !slices.Equal(got, wantChannels[p]) {
			t.Errorf("%s: ward channels %v", p, got)
		}
		if got := p.SamplesPerSecond(); got != perSecond[p] {
			t.Errorf("%s: %v samples/s, want %v", p, got, perSecond[p])
		}
	}
	if n := 64 * ProfileHeavy.SamplesPerSecond(); n != 432_000 {
		t.Errorf("64 heavy beds: %v samples/s", n)
	}
}

// frames decodes the waveform frames of one bed's messages.
func frames(t testing.TB, msgs []message) []feed.WaveFrame {
	t.Helper()
	var out []feed.WaveFrame
	for _, m := range msgs {
		if !strings.HasSuffix(m.topic, "/"+string(feed.StreamWave)) {
			continue
		}
		var f feed.WaveFrame
		if err := feed.DecodeWave(m.payload, &f); err != nil {
			t.Fatalf("%s: DecodeWave: %v", m.topic, err)
		}
		out = append(out, f)
	}
	return out
}

// numerics decodes the numerics messages of one bed's messages.
func numerics(t testing.TB, msgs []message) []feed.NumFrame {
	t.Helper()
	var out []feed.NumFrame
	for _, m := range msgs {
		if !strings.HasSuffix(m.topic, "/"+string(feed.StreamNum)) {
			continue
		}
		n, err := feed.DecodeNum(m.payload)
		if err != nil {
			t.Fatalf("%s: DecodeNum: %v", m.topic, err)
		}
		out = append(out, n)
	}
	return out
}

// series is one channel of a bed's frames laid end to end, in physical units
// (NaN when invalid); sample i is at i/rate s after t0 for a bed without gaps.
func series(fs []feed.WaveFrame, c int) []float64 {
	var out []float64
	for _, f := range fs {
		ch := &f.Channels[c]
		for _, s := range ch.Samples {
			out = append(out, float64(ch.Physical(s)))
		}
	}
	return out
}

// TestProfileFrames checks every profile's frames at several frame periods:
// the channels in order, exact and contiguous sample counts (no drift),
// unbroken sequence numbers, and Stats equal to what was received.
func TestProfileFrames(t *testing.T) {
	for _, p := range Profiles() {
		for _, frameMs := range []int{200, 130, 1000} {
			w := newWard(t, Config{Ward: "ICU1", Beds: 3, Seed: 3, Profile: p, FrameMs: frameMs})
			var now time.Time
			recs := make([]*recorder, 3)
			pubs := make([]Publisher, 3)
			for i := range recs {
				recs[i] = &recorder{clock: &now}
				pubs[i] = recs[i]
			}
			const seconds = 26 // a whole number of 62.5 Hz samples and of frames
			for now = t0; !now.After(t0.Add(seconds * time.Second)); now = now.Add(time.Duration(frameMs) * time.Millisecond) {
				if err := w.Step(now, pubs); err != nil {
					t.Fatal(err)
				}
			}
			want := w.Channels()
			st := w.Stats()
			for bed, rec := range recs {
				fs := frames(t, rec.messages())
				if len(fs) != seconds*1000/frameMs {
					t.Fatalf("%s %d ms bed %d: %d frames", p, frameMs, bed, len(fs))
				}
				total := make([]int64, len(want))
				var all uint64
				for k, f := range fs {
					if f.Seq != uint32(k) {
						t.Fatalf("%s bed %d frame %d: seq %d", p, bed, k, f.Seq)
					}
					if len(f.Channels) != len(want) {
						t.Fatalf("%s bed %d frame %d: %d channels", p, bed, k, len(f.Channels))
					}
					end := int64(k+1) * int64(frameMs)
					for c, ch := range f.Channels {
						if ch.Code != want[c].Code || float64(ch.RateHz) != want[c].RateHz || ch.Gain != want[c].Gain || ch.Baseline != 0 {
							t.Fatalf("%s bed %d frame %d channel %d: %+v, want %+v", p, bed, k, c, ch, want[c])
						}
						total[c] += int64(len(ch.Samples))
						all += uint64(len(ch.Samples))
						// After frame k a channel has sent exactly the samples of
						// [0, (k+1)·FrameMs): ceil(rate·end).
						milliHz := int64(want[c].RateHz * 1000)
						if exp := ceilDiv(milliHz*end, 1e6); total[c] != exp {
							t.Fatalf("%s %d ms bed %d frame %d %s: %d samples so far, want %d", p, frameMs, bed, k, want[c].Name, total[c], exp)
						}
					}
					if first := int64(math.Ceil(float64(k*frameMs) * want[0].RateHz / 1000)); f.StartMs != t0.UnixMilli()+first*1000/int64(want[0].RateHz) {
						t.Fatalf("%s bed %d frame %d: start %d", p, bed, k, f.StartMs-t0.UnixMilli())
					}
				}
				for c := range want {
					if exp := want[c].RateHz * seconds; float64(total[c]) != exp {
						t.Errorf("%s %d ms bed %d %s: %d samples in %d s, want %v", p, frameMs, bed, want[c].Name, total[c], seconds, exp)
					}
				}
				if st.PerBedSamples[bed] != all || st.PerBedFrames[bed] != uint64(len(fs)) {
					t.Errorf("%s bed %d: stats %d samples %d frames, received %d, %d", p, bed, st.PerBedSamples[bed], st.PerBedFrames[bed], all, len(fs))
				}
				if exp := p.SamplesPerSecond() * seconds; float64(all) != exp {
					t.Errorf("%s bed %d: %d samples, want %v", p, bed, all, exp)
				}
			}
		}
	}
}

// TestProfileDeterministic: the same seed gives the same bytes, another seed
// other bytes, and an empty profile is the ward profile.
func TestProfileDeterministic(t *testing.T) {
	for _, p := range []Profile{ProfileICU, ProfileHeavy} {
		cfg := Config{Ward: "ICU1", Beds: 3, Seed: 42, Events: true, EventsAfter: 2 * time.Second, Profile: p}
		a := drive(t, newWard(t, cfg), 20*time.Second)
		b := drive(t, newWard(t, cfg), 20*time.Second)
		cfg.Seed++
		c := drive(t, newWard(t, cfg), 2*time.Second)
		for i := range a {
			ma, mb, mc := a[i].messages(), b[i].messages(), c[i].messages()
			if len(ma) != len(mb) {
				t.Fatalf("%s bed %d: %d and %d messages", p, i, len(ma), len(mb))
			}
			for k := range ma {
				if ma[k].topic != mb[k].topic || !bytes.Equal(ma[k].payload, mb[k].payload) {
					t.Fatalf("%s bed %d message %d differs", p, i, k)
				}
			}
			if bytes.Equal(ma[1].payload, mc[1].payload) {
				t.Errorf("%s bed %d: another seed gives the same first frame", p, i)
			}
		}
	}
	a := drive(t, newWard(t, Config{Ward: "ICU1", Beds: 2, Seed: 9}), 5*time.Second)
	b := drive(t, newWard(t, Config{Ward: "ICU1", Beds: 2, Seed: 9, Profile: ProfileWard}), 5*time.Second)
	for i := range a {
		ma, mb := a[i].messages(), b[i].messages()
		if len(ma) != len(mb) {
			t.Fatalf("bed %d: %d and %d messages", i, len(ma), len(mb))
		}
		for k := range ma {
			if !bytes.Equal(ma[k].payload, mb[k].payload) {
				t.Fatalf("bed %d message %d: the default and the ward profile differ", i, k)
			}
		}
	}
}

// TestLimbLeads checks Einthoven's and Goldberger's relations between the
// limb leads sample by sample, and that lead II is the ward profile's lead II:
// the same beats from the same seed, with the same complexes.
func TestLimbLeads(t *testing.T) {
	ward := drive(t, newWard(t, Config{Ward: "ICU1", Beds: 2, Seed: 17}), 20*time.Second)
	for _, p := range []Profile{ProfileICU, ProfileHeavy} {
		w := newWard(t, Config{Ward: "ICU1", Beds: 2, Seed: 17, Profile: p})
		recs := drive(t, w, 20*time.Second)
		rate := w.Channels()[0].RateHz
		for bed := range recs {
			fs := frames(t, recs[bed].messages())
			raw := func(c int) []float64 { // ADC units
				var v []float64
				for _, f := range fs {
					for _, x := range f.Channels[c].Samples {
						v = append(v, float64(x))
					}
				}
				return v
			}
			i, ii, iii := raw(0), raw(1), raw(2)
			for k := range i {
				if d := iii[k] - (ii[k] - i[k]); math.Abs(d) > 1 {
					t.Fatalf("%s bed %d sample %d: III %v, II−I %v", p, bed, k, iii[k], ii[k]-i[k])
				}
			}
			if p == ProfileHeavy {
				avr, avl, avf := raw(3), raw(4), raw(5)
				for k := range i {
					if math.Abs(avr[k]+(i[k]+ii[k])/2) > 1 || math.Abs(avl[k]-(i[k]-ii[k]/2)) > 1 || math.Abs(avf[k]-(ii[k]-i[k]/2)) > 1 {
						t.Fatalf("%s bed %d sample %d: I %v II %v aVR %v aVL %v aVF %v", p, bed, k, i[k], ii[k], avr[k], avl[k], avf[k])
					}
				}
			}
			// Lead II against the ward profile's, resampled to 250 Hz.
			step := int(rate / 250)
			wardII := series(frames(t, ward[bed].messages()), 0)
			var dev float64
			for k := range wardII {
				dev = max(dev, math.Abs(ii[k*step]/ecgGain-wardII[k]))
			}
			if dev > 0.15 {
				t.Errorf("%s bed %d: lead II differs from the ward profile's by up to %.3f mV", p, bed, dev)
			}
		}
	}
}

// snapshot drives w like drive, and records the beats and breaths each bed
// schedules. A bed that generates nothing for a while (offline) can skip more
// than its history holds: the beats it loses are recorded with a NaN time.
func snapshot(t testing.TB, w *Ward, d time.Duration) ([]*recorder, [][]beat, [][]breath) {
	t.Helper()
	var now time.Time
	n := len(w.beds)
	recs := make([]*recorder, n)
	pubs := make([]Publisher, n)
	for i := range recs {
		recs[i] = &recorder{clock: &now}
		pubs[i] = recs[i]
	}
	beats, breaths := make([][]beat, n), make([][]breath, n)
	for now = t0; !now.After(t0.Add(d)); now = now.Add(200 * time.Millisecond) {
		if err := w.Step(now, pubs); err != nil {
			t.Fatal(err)
		}
		for i, b := range w.beds {
			for len(beats[i]) < b.beats.oldest() {
				beats[i] = append(beats[i], beat{r: math.NaN()})
			}
			for len(breaths[i]) < b.breaths.oldest() {
				breaths[i] = append(breaths[i], breath{start: math.NaN()})
			}
			for j := len(beats[i]); j < b.beats.n; j++ {
				beats[i] = append(beats[i], *b.beats.at(j))
			}
			for j := len(breaths[i]); j < b.breaths.n; j++ {
				breaths[i] = append(breaths[i], *b.breaths.at(j))
			}
		}
	}
	return recs, beats, breaths
}

// window returns the samples of s (rate Hz from t0) in [from, to) s.
func window(s []float64, rate, from, to float64) []float64 {
	i0, i1 := int(math.Ceil(from*rate)), int(math.Ceil(to*rate))
	return s[max(i0, 0):min(i1, len(s))]
}

// TestArterialPressure checks the ABP waveform and numerics of the icu
// profile: each pulse follows its R peak, the numerics are plausible and are
// the waveform's beats (the mean of the maxima and minima of the last four
// cycles within 5 s, foot to foot), and the tachycardia event raises the
// pressure.
func TestArterialPressure(t *testing.T) {
	// Bed 7 of an 8-bed ward has the tachycardia, 220–250 s into the cycle.
	w := newWard(t, Config{Ward: "ICU1", Beds: 8, Seed: 23, Events: true, EventsAfter: time.Second, Profile: ProfileICU})
	const tachyBed = 7
	recs, beats, _ := snapshot(t, w, 260*time.Second)
	abpChan := slices.IndexFunc(w.Channels(), func(c ChannelInfo) bool { return c.Code == feed.MDCPressArt })
	for _, bed := range []int{0, 5, tachyBed} { // 58/min, 105/min, and the tachycardia
		msgs := recs[bed].messages()
		abp := series(frames(t, msgs), abpChan)
		// Each complete cycle's extremes in the waveform.
		type cycle struct{ start, end, hi, lo float64 }
		var cycles []cycle
		delay := w.beds[bed].hemo.art[artABP].delay
		for k := 1; k < len(beats[bed]); k++ {
			start, end := beats[bed][k-1].r+delay, beats[bed][k].r+delay
			if !(start >= 0 && end*125 <= float64(len(abp))) {
				continue
			}
			win := window(abp, 125, start, end)
			cycles = append(cycles, cycle{start, end, slices.Max(win), slices.Min(win)})
		}
		checked := 0
		for _, n := range numerics(t, msgs) {
			ts := secs(n)
			if bed == 5 && ts > 150 {
				break // bed 5 goes offline at 151 s: its waveform has a gap
			}
			sys, ok1 := value(n, feed.MDCABPSys)
			dia, ok2 := value(n, feed.MDCABPDia)
			mean, ok3 := value(n, feed.MDCABPMean)
			if !ok1 || !ok2 || !ok3 {
				t.Fatalf("bed %d at %v s: ABP invalid", bed, ts)
			}
			if sys < 85 || sys > 185 || dia < 45 || dia > 115 || !(dia < mean && mean < sys) {
				t.Errorf("bed %d at %v s: ABP %v/%v (%v)", bed, ts, sys, dia, mean)
			}
			var hi, lo float64
			k := 0
			for j := len(cycles) - 1; j >= 0 && k < 4; j-- {
				if c := cycles[j]; c.end <= ts && c.start >= ts-5 {
					hi, lo, k = hi+c.hi, lo+c.lo, k+1
				}
			}
			if ts < 6 {
				continue // the numerics' cycles may start before t0
			}
			hi, lo = hi/float64(k), lo/float64(k)
			// Noise (0.15 mmHg) lifts the waveform's maxima and lowers its minima a little.
			if math.Abs(hi-sys) > 1.5 || math.Abs(lo-dia) > 1.5 {
				t.Errorf("bed %d at %v s: ABP %v/%v, the waveform's last %d beats %.1f/%.1f", bed, ts, sys, dia, k, hi, lo)
			}
			checked++
		}
		if checked < 140 {
			t.Errorf("bed %d: %d numerics checked", bed, checked)
		}
	}

	// Every beat's pulse peaks 150–350 ms after its R peak.
	abp := series(frames(t, recs[tachyBed].messages()), abpChan)
	for k := 1; k+1 < len(beats[tachyBed]); k++ {
		bt := beats[tachyBed][k]
		if bt.r < 1 || bt.r > 250 || bt.pvc || beats[tachyBed][k+1].r-bt.r < 0.35 {
			continue
		}
		win := window(abp, 125, bt.r, bt.r+0.35)
		at := float64(slices.Index(win, slices.Max(win))) / 125
		if at < 0.15 || at > 0.35 {
			t.Errorf("beat at %.2f s: ABP peak %.0f ms after R", bt.r, at*1000)
		}
	}

	// The tachycardia (221–251 s, at full rate 226–246 s) raises the mean
	// pressure, the diastolic more than the systolic.
	avg := func(code uint32, from, to float64) float64 {
		sum, n := 0.0, 0
		for _, nf := range numerics(t, recs[tachyBed].messages()) {
			if s := secs(nf); s >= from && s < to {
				v, _ := value(nf, code)
				sum, n = sum+v, n+1
			}
		}
		return sum / float64(n)
	}
	baseSys, baseDia, baseMean := avg(feed.MDCABPSys, 190, 220), avg(feed.MDCABPDia, 190, 220), avg(feed.MDCABPMean, 190, 220)
	fastSys, fastDia, fastMean := avg(feed.MDCABPSys, 232, 246), avg(feed.MDCABPDia, 232, 246), avg(feed.MDCABPMean, 232, 246)
	t.Logf("ABP %.0f/%.0f (%.0f) → %.0f/%.0f (%.0f) in the tachycardia", baseSys, baseDia, baseMean, fastSys, fastDia, fastMean)
	if fastMean < baseMean+8 || fastDia-baseDia < fastSys-baseSys || fastSys < baseSys {
		t.Errorf("tachycardia: ABP %.0f/%.0f (%.0f) → %.0f/%.0f (%.0f)", baseSys, baseDia, baseMean, fastSys, fastDia, fastMean)
	}
}

// TestArterialShape checks the noise-free ABP and PAP of one cycle: an
// upstroke, a systolic peak, a dicrotic notch with a rebound, a diastolic
// run-off, within the patient's range.
func TestArterialShape(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 8, Seed: 29, Profile: ProfileHeavy})
	drive(t, w, 10*time.Second)
	for i, b := range w.beds {
		for c, name := range []string{"ABP", "PAP"} {
			a := &b.hemo.art[c]
			var foot float64
			for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
				if foot = b.beats.at(j).r + a.delay; foot < 8 {
					break
				}
			}
			next := math.Inf(1)
			for j := b.beats.oldest(); j < b.beats.n; j++ {
				if f := b.beats.at(j).r + a.delay; f > foot {
					next = min(next, f)
				}
			}
			var v []float64
			for ts := foot; ts < next; ts += 0.002 {
				v = append(v, b.arterialPressure(c, ts))
			}
			peak := slices.Index(v, slices.Max(v))
			// The notch: the first local minimum after the peak, then a rebound.
			notch := -1
			for k := peak + 1; k+1 < len(v); k++ {
				if v[k] < v[k-1] && v[k] <= v[k+1] {
					notch = k
					break
				}
			}
			if notch < 0 {
				t.Errorf("bed %d %s: no dicrotic notch", i, name)
				continue
			}
			rebound := slices.Max(v[notch:min(notch+50, len(v))]) - v[notch]
			t.Logf("bed %d %s: %.0f/%.0f, peak %d ms after the foot, notch %d ms at %.0f mmHg, rebound %.1f", i, name, v[peak], slices.Min(v), peak*2, notch*2, v[notch], rebound)
			if peak*2 < 50 || peak*2 > 150 || notch*2 < 150 || notch*2 > 450 || rebound < 0.3 {
				t.Errorf("bed %d %s: peak at %d ms, notch at %d ms, rebound %.1f mmHg", i, name, peak*2, notch*2, rebound)
			}
			lo, hi := slices.Min(v), v[peak]
			if c == artABP && (hi < 90 || hi > 180 || lo < 50 || lo > 110) || c == artPAP && (hi < 15 || hi > 35 || lo < 3 || lo > 16) {
				t.Errorf("bed %d %s: %.0f/%.0f", i, name, hi, lo)
			}
		}
	}
}

// TestCapnogram checks the CO2 waveform against the breath schedule: zero in
// inspiration, a plateau in expiration that the etCO2 numeric reports, and
// awRR equal to the impedance respiration rate.
func TestCapnogram(t *testing.T) {
	for _, p := range []Profile{ProfileICU, ProfileHeavy} {
		for _, bed := range []int{0, 5} { // 12/min and 22/min
			w := newWard(t, Config{Ward: "ICU1", Beds: 6, Seed: 31, Profile: p})
			recs, _, all := snapshot(t, w, 60*time.Second)
			msgs, breaths := recs[bed].messages(), all[bed]
			co2Chan := slices.IndexFunc(w.Channels(), func(c ChannelInfo) bool { return c.Code == feed.MDCAwayCO2 })
			co2 := series(frames(t, msgs), co2Chan)
			checked := 0
			for k, br := range breaths {
				end := br.start + br.dur
				if !(br.start >= 0 && end <= 59) {
					continue
				}
				insp := window(co2, 62.5, br.start+co2Downswing, br.start+0.4*br.dur)
				if hi := slices.Max(insp); hi > 0.6 {
					t.Errorf("%s bed %d breath %d: CO2 up to %.1f mmHg in inspiration", p, bed, k, hi)
				}
				plateau := window(co2, 62.5, br.start+0.4*br.dur+co2PhaseII, end)
				lo, hi := slices.Min(plateau), slices.Max(plateau)
				if lo < 25 || hi > 50 || hi-lo > 0.15*hi {
					t.Errorf("%s bed %d breath %d: plateau %.1f..%.1f mmHg", p, bed, k, lo, hi)
				}
				// The next numerics report this breath's end-tidal value.
				for _, n := range numerics(t, msgs) {
					if s := secs(n); s >= end && (k+1 == len(breaths) || s < breaths[k+1].start+breaths[k+1].dur) {
						et, ok := value(n, feed.MDCEtCO2)
						if !ok || math.Abs(et-hi) > 1 {
							t.Errorf("%s bed %d at %v s: etCO2 %v, plateau ends at %.1f", p, bed, s, et, hi)
						}
						checked++
					}
				}
			}
			if checked < 10 {
				t.Errorf("%s bed %d: %d etCO2 values checked", p, bed, checked)
			}
			for _, n := range numerics(t, msgs) {
				awrr, ok := value(n, feed.MDCCO2RespRate)
				rr, _ := value(n, feed.MDCRespRate)
				if !ok || awrr != rr {
					t.Errorf("%s bed %d at %v s: awRR %v, RR %v", p, bed, secs(n), awrr, rr)
				}
			}
		}
	}
}

// TestHeavyPressures checks the plausibility of the heavy profile's
// pressure numerics and their agreement with the waveforms.
func TestHeavyPressures(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 4, Seed: 37, Profile: ProfileHeavy})
	recs := drive(t, w, 30*time.Second)
	chans := w.Channels()
	index := func(code uint32) int {
		return slices.IndexFunc(chans, func(c ChannelInfo) bool { return c.Code == code })
	}
	for bed, rec := range recs {
		msgs := rec.messages()
		fs := frames(t, msgs)
		pap, cvp, icp := series(fs, index(feed.MDCPressPulm)), series(fs, index(feed.MDCPressCVP)), series(fs, index(feed.MDCPressICP))
		for _, n := range numerics(t, msgs) {
			ts := secs(n)
			get := func(code uint32) float64 {
				v, ok := value(n, code)
				if !ok {
					t.Fatalf("bed %d at %v s: %d missing or invalid", bed, ts, code)
				}
				return v
			}
			sys, dia, mean := get(feed.MDCPAPSys), get(feed.MDCPAPDia), get(feed.MDCPAPMean)
			c, i := get(feed.MDCCVPMean), get(feed.MDCICPMean)
			if sys < 15 || sys > 40 || dia < 3 || dia > 18 || !(dia < mean && mean < sys) || c < 1 || c > 14 || i < 4 || i > 18 {
				t.Errorf("bed %d at %v s: PAP %v/%v (%v) CVP %v ICP %v", bed, ts, sys, dia, mean, c, i)
			}
			if ts < 6 {
				continue
			}
			win := window(pap, 125, ts-5, ts)
			if hi, lo := slices.Max(win), slices.Min(win); hi < sys-1 || hi > sys+6 || lo > dia+1 || lo < dia-6 {
				t.Errorf("bed %d at %v s: PAP %v/%v, waveform %.1f..%.1f", bed, ts, sys, dia, lo, hi)
			}
			for _, m := range []struct {
				name string
				v    float64
				s    []float64
			}{{"CVP", c, cvp}, {"ICP", i, icp}} {
				win := window(m.s, 125, ts-5, ts)
				avg := 0.0
				for _, x := range win {
					avg += x
				}
				if avg /= float64(len(win)); math.Abs(avg-m.v) > 2 || slices.Max(win)-slices.Min(win) < 1 {
					t.Errorf("bed %d at %v s: %s %v, waveform mean %.1f", bed, ts, m.name, m.v, avg)
				}
			}
		}
	}
}

// TestHeavyEvents runs a one-bed heavy ward, which has every episode of the
// script, through ectopy and leads-off: each PVC shows on every lead, and
// while the leads are off every lead is invalid and the status lists them all.
func TestHeavyEvents(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 1, Seed: 41, Events: true, EventsAfter: 2 * time.Second, Profile: ProfileHeavy})
	recs, all, _ := snapshot(t, w, 112*time.Second)
	msgs, beats := recs[0].messages(), all[0]
	fs := frames(t, msgs)
	chans := w.Channels()
	const rate = 500

	// PVCs (2–92 s): on every lead a complex unlike the sinus ones.
	for c := range 12 {
		lead := series(fs, c)
		complexAt := func(r float64) []float64 { return window(lead, rate, r-0.1, r+0.2) }
		var sinus []float64 // mean sinus complex
		ns := 0
		for _, bt := range beats {
			if !bt.pvc && bt.r > 0.5 && bt.r < 2 {
				cx := complexAt(bt.r)
				if sinus == nil {
					sinus = make([]float64, len(cx))
				}
				for k := range min(len(cx), len(sinus)) {
					sinus[k] += cx[k]
				}
				ns++
			}
		}
		for k := range sinus {
			sinus[k] /= float64(ns)
		}
		pvcs := 0
		for _, bt := range beats {
			if !bt.pvc || !(bt.r >= 3 && bt.r <= 90) {
				continue
			}
			pvcs++
			cx := complexAt(bt.r)
			var diff float64
			for k := range min(len(cx), len(sinus)) {
				diff = max(diff, math.Abs(cx[k]-sinus[k]))
			}
			if p2p := slices.Max(cx) - slices.Min(cx); p2p < 0.3 || diff < 0.3 {
				t.Errorf("%s: PVC at %.2f s: %.2f mV peak to peak, %.2f mV from the sinus complex", chans[c].Name, bt.r, p2p, diff)
			}
		}
		if pvcs < 10 {
			t.Errorf("%s: %d PVCs", chans[c].Name, pvcs)
		}
	}

	// Leads off at 102–108 s: every ECG sample invalid, every other valid.
	for c, ch := range chans {
		for k, v := range series(fs, c) {
			s := float64(k) / ch.RateHz
			off := s >= 102 && s < 108
			if math.IsNaN(v) != (off && c < 12) {
				t.Fatalf("%s sample at %.3f s: %v", ch.Name, s, v)
			}
		}
	}
	var on, off bool
	codes := make([]uint32, 12)
	for c := range codes {
		codes[c] = chans[c].Code
	}
	for _, m := range msgs {
		if !strings.HasSuffix(m.topic, "/"+string(feed.StreamStatus)) {
			continue
		}
		s, err := feed.DecodeStatus(m.payload)
		if err != nil {
			t.Fatal(err)
		}
		sec := float64(s.TsMs-t0.UnixMilli()) / 1000
		switch {
		case sec >= 102 && sec < 102.4:
			on = slices.Equal(s.LeadsOff, codes)
		case sec >= 108 && sec < 108.4:
			off = len(s.LeadsOff) == 0
		}
	}
	if !on || !off {
		t.Errorf("status: all leads off announced %v, cleared %v", on, off)
	}
}
