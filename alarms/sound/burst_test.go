package sound

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// standard holds the IEC 60601-1-8 ranges a priority's burst must meet
// (clinical-reference.md §1), in seconds.
type standard struct {
	pulses             int
	widthMin, widthMax float64
	gapMin, gapMax     float64 // spacing between pulses of a group
}

var standards = map[alarms.Priority]standard{
	alarms.High:   {pulses: 10, widthMin: 0.075, widthMax: 0.200, gapMin: 0.050, gapMax: 0.125},
	alarms.Medium: {pulses: 3, widthMin: 0.125, widthMax: 0.250, gapMin: 0.125, gapMax: 0.250},
	alarms.Low:    {pulses: 1, widthMin: 0.125, widthMax: 0.250},
}

var priorities = []alarms.Priority{alarms.High, alarms.Medium, alarms.Low}

// Tolerances between a measured time and the pattern's, in seconds. Edges
// get more: the one-period RMS window that follows the envelope widens
// them a little, by up to 1.2 ms at 8 kHz.
const (
	tolerance     = 0.001
	edgeTolerance = 0.0015
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// checkBurst asserts that m, measured from a burst of p, meets the standard
// and matches p's Pattern.
func checkBurst(t *testing.T, p alarms.Priority, m measurement) {
	t.Helper()
	std, pt := standards[p], PatternOf(p)

	if len(m.pulses) != std.pulses {
		t.Fatalf("%s: %d pulses, want %d", p, len(m.pulses), std.pulses)
	}
	for i, pl := range m.pulses {
		w := pl.width()
		if w < std.widthMin || w > std.widthMax {
			t.Errorf("%s pulse %d: width %s ms outside %s–%s ms", p, i+1, ms(w), ms(std.widthMin), ms(std.widthMax))
		}
		if !near(w, pt.PulseWidth.Seconds(), tolerance) {
			t.Errorf("%s pulse %d: width %s ms, pattern says %v", p, i+1, ms(w), pt.PulseWidth)
		}
		for _, edge := range []struct {
			name string
			d    float64
		}{{"rise", pl.rise}, {"fall", pl.fall}} {
			if edge.d < 0.10*w || edge.d > 0.20*w {
				t.Errorf("%s pulse %d: %s time %s ms is %.1f %% of the width, want 10–20 %%", p, i+1, edge.name, ms(edge.d), 100*edge.d/w)
			}
			if !near(edge.d, pt.RiseTime.Seconds(), edgeTolerance) {
				t.Errorf("%s pulse %d: %s time %s ms, pattern says %v", p, i+1, edge.name, ms(edge.d), pt.RiseTime)
			}
		}
	}
	for i, g := range m.gaps() {
		if !near(g, pt.Gaps[i].Seconds(), tolerance) {
			t.Errorf("%s gap %d: %s ms, pattern says %v", p, i+1, ms(g), pt.Gaps[i])
		}
		if m.gapFloor[i] > 0.01 {
			t.Errorf("%s gap %d: the sound only falls to %.1f %% between pulses, want silence", p, i+1, 100*m.gapFloor[i])
		}
	}
	if p == alarms.Medium {
		for i, g := range m.gaps() {
			if g < std.gapMin || g > std.gapMax {
				t.Errorf("medium gap %d: %s ms outside %s–%s ms", i+1, ms(g), ms(std.gapMin), ms(std.gapMax))
			}
		}
	}

	if m.f0 < 150 || m.f0 > 1000 {
		t.Errorf("%s: fundamental %.2f Hz outside 150–1000 Hz", p, m.f0)
	}
	if !near(m.f0, pt.FundamentalHz, 0.5) {
		t.Errorf("%s: fundamental %.2f Hz, pattern says %v Hz", p, m.f0, pt.FundamentalHz)
	}
	for _, c := range m.components {
		k := math.Round(c / m.f0)
		if k < 1 || !near(c, k*m.f0, 0.005*c) {
			t.Errorf("%s: spectral peak at %.1f Hz is not a harmonic of %.2f Hz", p, c, m.f0)
		}
	}
	if n := m.within15dB(); n < 4 {
		t.Errorf("%s: %d harmonics within 15 dB of the fundamental in 150–4000 Hz, want ≥ 4", p, n)
	}
	if n := len(m.components); n != pt.Harmonics+1 {
		t.Errorf("%s: %d spectral peaks within 30 dB, want the fundamental and %d harmonics", p, n, pt.Harmonics)
	}
	if r := pt.Repeat.Seconds(); r > 0 && m.length >= r {
		t.Errorf("%s: burst lasts %.3f s, longer than its repeat interval %v", p, m.length, pt.Repeat)
	}
}

// checkHighStructure asserts the 3 + 2, pause, 3 + 2 rhythm of HIGH.
func checkHighStructure(t *testing.T, m measurement) {
	t.Helper()
	std := standards[alarms.High]
	g := m.gaps()
	if len(g) != 9 {
		t.Fatalf("high: %d gaps, want 9", len(g))
	}
	short := []int{0, 1, 3, 5, 6, 8}
	for _, i := range short {
		if g[i] < std.gapMin || g[i] > std.gapMax {
			t.Errorf("high gap %d: %s ms outside the pulse spacing %s–%s ms", i+1, ms(g[i]), ms(std.gapMin), ms(std.gapMax))
		}
	}
	// Between pulses 3 and 4 (8 and 9): the place of one left-out pulse,
	// 2·ts + td, clearly longer than the spacing and shorter than the pause.
	for _, i := range []int{2, 7} {
		want := 2*g[i-1] + m.pulses[i].width()
		if !near(g[i], want, 2*tolerance) {
			t.Errorf("high gap %d: %s ms, want 2·ts + td = %s ms", i+1, ms(g[i]), ms(want))
		}
		if g[i] < 1.5*std.gapMax || g[i] >= 0.350 {
			t.Errorf("high gap %d: %s ms does not split 3 + 2", i+1, ms(g[i]))
		}
	}
	if g[4] < 0.350 || g[4] > 1.300 {
		t.Errorf("high pause between the halves: %s ms outside 350–1300 ms", ms(g[4]))
	}
	// The second half repeats the first.
	shift := m.pulses[5].lead - m.pulses[0].lead
	for i := range 5 {
		if d := m.pulses[i+5].lead - m.pulses[i].lead; !near(d, shift, 0.0005) {
			t.Errorf("high pulse %d starts %s ms after pulse %d, pulse 6 %s ms after pulse 1", i+6, ms(d), i+1, ms(shift))
		}
	}
}

func TestBurstMeetsStandard(t *testing.T) {
	for _, p := range priorities {
		t.Run(p.String(), func(t *testing.T) {
			pcm := Burst(p, false, DefaultRate)
			m, err := analyse(pcm, DefaultRate)
			if err != nil {
				t.Fatalf("analyse %s burst: %v", p, err)
			}
			t.Logf("%s at %d Hz: %s", p, DefaultRate, m.report())
			checkBurst(t, p, m)
			if p == alarms.High {
				checkHighStructure(t, m)
			}
		})
	}
}

// Other sample rates give the same sound.
func TestBurstAtOtherRates(t *testing.T) {
	for _, rate := range []int{MinRate, 16000, 48000} {
		for _, p := range priorities {
			t.Run(fmt.Sprintf("%s/%d", p, rate), func(t *testing.T) {
				pcm := Burst(p, false, rate)
				if want := int(math.Ceil(PatternOf(p).Duration().Seconds() * float64(rate))); len(pcm) != want {
					t.Errorf("%d samples, want %d", len(pcm), want)
				}
				m, err := analyse(pcm, rate)
				if err != nil {
					t.Fatalf("analyse %s burst at %d Hz: %v", p, rate, err)
				}
				checkBurst(t, p, m)
				if p == alarms.High {
					checkHighStructure(t, m)
				}
			})
		}
	}
}

func TestBurstsAreDistinguishable(t *testing.T) {
	f0 := map[alarms.Priority]float64{}
	for _, p := range priorities {
		m, err := analyse(Burst(p, false, DefaultRate), DefaultRate)
		if err != nil {
			t.Fatalf("analyse %s: %v", p, err)
		}
		f0[p] = m.f0
	}
	// A ratio of at least 4:3 (a musical fourth) between any two.
	for i, p := range priorities {
		for _, q := range priorities[i+1:] {
			if r := f0[p] / f0[q]; r < 4.0/3-0.01 {
				t.Errorf("%s (%.1f Hz) and %s (%.1f Hz) are too close in pitch", p, f0[p], q, f0[q])
			}
		}
	}
	t.Logf("fundamentals: high %.1f Hz, medium %.1f Hz, low %.1f Hz", f0[alarms.High], f0[alarms.Medium], f0[alarms.Low])
}

func TestLoudBurst(t *testing.T) {
	for _, p := range priorities {
		t.Run(p.String(), func(t *testing.T) {
			quiet, loud := Burst(p, false, DefaultRate), Burst(p, true, DefaultRate)
			if len(quiet) != len(loud) {
				t.Fatalf("loud burst has %d samples, normal %d", len(loud), len(quiet))
			}
			mq, err := analyse(quiet, DefaultRate)
			if err != nil {
				t.Fatal(err)
			}
			ml, err := analyse(loud, DefaultRate)
			if err != nil {
				t.Fatal(err)
			}
			checkBurst(t, p, ml)
			gainRMS := 20 * math.Log10(ml.rms/mq.rms)
			gainPeak := 20 * math.Log10(float64(ml.peak)/float64(mq.peak))
			t.Logf("%s loud: rms %+.3f dB, peak %+.3f dB; peaks %.2f → %.2f dBFS", p, gainRMS, gainPeak, dbfs(float64(mq.peak)), dbfs(float64(ml.peak)))
			if !near(gainRMS, LoudGainDB, 0.05) || !near(gainPeak, LoudGainDB, 0.05) {
				t.Errorf("loud is %+.3f dB (rms), %+.3f dB (peak) over normal, want %+.2f dB", gainRMS, gainPeak, LoudGainDB)
			}
			// Not clipped: the loud burst is the normal one scaled, sample by sample.
			for i := range quiet {
				if d := int(loud[i]) - LoudGain*int(quiet[i]); d < -LoudGain || d > LoudGain {
					t.Fatalf("sample %d: loud %d is not %d × normal %d", i, loud[i], LoudGain, quiet[i])
				}
			}
			if dbfs(float64(mq.peak)) > -5.9 {
				t.Errorf("normal burst peaks at %.2f dBFS, leaving no room for the loud one", dbfs(float64(mq.peak)))
			}
		})
	}
}

func TestBurstEdgesAreSilent(t *testing.T) {
	for _, p := range priorities {
		pcm := Burst(p, false, DefaultRate)
		if pcm[0] != 0 || pcm[len(pcm)-1] != 0 {
			t.Errorf("%s burst starts at %d and ends at %d, want 0 (no click)", p, pcm[0], pcm[len(pcm)-1])
		}
	}
}

func TestBurstOfNothing(t *testing.T) {
	for _, p := range []alarms.Priority{alarms.None, alarms.Priority(-1), alarms.Priority(9)} {
		if pcm := Burst(p, true, DefaultRate); pcm != nil {
			t.Errorf("Burst(%v) has %d samples, want none", p, len(pcm))
		}
		if r := Repeat(p); r != 0 {
			t.Errorf("Repeat(%v) = %v, want 0", p, r)
		}
	}
	for p, want := range map[alarms.Priority]time.Duration{alarms.High: 10 * time.Second, alarms.Medium: 25 * time.Second, alarms.Low: 0} {
		if got := Repeat(p); got != want {
			t.Errorf("Repeat(%v) = %v, want %v", p, got, want)
		}
	}
}

func TestBurstPanicsOnBadRate(t *testing.T) {
	for _, rate := range []int{0, -44100, MinRate - 1, MaxRate + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Burst at rate %d did not panic", rate)
				}
			}()
			Burst(alarms.High, false, rate)
		}()
	}
}

// The published constants themselves lie within the standard's ranges.
func TestPatternConstants(t *testing.T) {
	checks := []struct {
		name     string
		v        time.Duration
		min, max time.Duration
	}{
		{"HighPulseWidth", HighPulseWidth, 75 * time.Millisecond, 200 * time.Millisecond},
		{"HighSpacing", HighSpacing, 50 * time.Millisecond, 125 * time.Millisecond},
		{"HighPause", HighPause, 350 * time.Millisecond, 1300 * time.Millisecond},
		{"MediumPulseWidth", MediumPulseWidth, 125 * time.Millisecond, 250 * time.Millisecond},
		{"MediumSpacing", MediumSpacing, 125 * time.Millisecond, 250 * time.Millisecond},
		{"LowPulseWidth", LowPulseWidth, 125 * time.Millisecond, 250 * time.Millisecond},
	}
	for _, c := range checks {
		if c.v < c.min || c.v > c.max {
			t.Errorf("%s = %v outside %v–%v", c.name, c.v, c.min, c.max)
		}
	}
	for _, p := range priorities {
		pt := PatternOf(p)
		if top := float64(pt.Harmonics+1) * pt.FundamentalHz; top >= float64(MinRate)/2 {
			t.Errorf("%s: highest partial %.0f Hz aliases at %d Hz", p, top, MinRate)
		}
		if pt.Pulses() != standards[p].pulses {
			t.Errorf("%s: Pulses() = %d, want %d", p, pt.Pulses(), standards[p].pulses)
		}
	}
	if LowRepeat != 0 && LowRepeat < 30*time.Second {
		t.Errorf("LowRepeat = %v: must be 0 (once) or ≥ 30 s", LowRepeat)
	}
	if got := 20 * math.Log10(LoudGain); !near(got, LoudGainDB, 0.005) {
		t.Errorf("LoudGainDB = %v, LoudGain gives %.3f dB", LoudGainDB, got)
	}
}
