package sound

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// Sample rates Burst accepts. DefaultRate is the rate of the speaker output.
const (
	MinRate     = 8000
	MaxRate     = 192000
	DefaultRate = 44100
)

// Harmonics is how many harmonics each pulse carries above its fundamental
// (2·f0 … 6·f0). Harmonic k has amplitude 1/√k of the fundamental, so the
// 6th is 7.8 dB below it: all five lie within the 15 dB IEC 60601-1-8 asks
// for, and every partial of every priority stays under 3.6 kHz.
const Harmonics = 5

// RiseFraction is the rise time (10 % to 90 % of the envelope) and the fall
// time of every pulse as a fraction of its width: 15 %, mid-way in the
// standard's 10–20 %.
const RiseFraction = 0.15

// Levels. A normal burst peaks at half of full scale (−6 dBFS); the loud
// burst of an escalated alarm is the same waveform at LoudGain times the
// amplitude, +6.0 dB, peaking just under full scale without clipping.
const (
	NormalPeak = 16383
	LoudGain   = 2
	LoudGainDB = 6.02 // 20·log10(LoudGain)
)

// HIGH priority: 10 pulses as 3 + 2, pause, 3 + 2 (IEC 60601-1-8 burst).
const (
	HighFundamentalHz = 600
	HighPulseWidth    = 125 * time.Millisecond // td, standard 75–200 ms
	HighSpacing       = 100 * time.Millisecond // ts, standard 50–125 ms
	// HighGroupGap separates pulses 3 and 4 (and 8 and 9): 2·ts + td, as if
	// one pulse of an even train were left out.
	HighGroupGap = 2*HighSpacing + HighPulseWidth
	// HighPause separates the two 5-pulse halves (pulses 5 and 6),
	// standard 0.35–1.30 s.
	HighPause  = 600 * time.Millisecond
	HighRepeat = 10 * time.Second // burst start to burst start (vendor: ~10 s)
)

// MEDIUM priority: 3 pulses.
const (
	MediumFundamentalHz = 450
	MediumPulseWidth    = 200 * time.Millisecond // standard 125–250 ms
	MediumSpacing       = 200 * time.Millisecond // standard 125–250 ms
	MediumRepeat        = 25 * time.Second       // vendor: ~25 s
)

// LOW priority: 1 pulse, sounded once when LOW starts to sound and not
// repeated (the standard allows ≥ 30 s or no repeat; the tile stays lit).
const (
	LowFundamentalHz = 300
	LowPulseWidth    = 200 * time.Millisecond // standard 125–250 ms
	LowRepeat        = time.Duration(0)       // once
)

// Pattern describes the audible burst of one priority. Times follow the
// standard's definitions: a pulse's width is taken between the 50 % points of
// its envelope, a gap from the 50 % point of one pulse's trailing edge to the
// 50 % point of the next pulse's leading edge, rise and fall between the 10 %
// and 90 % points.
type Pattern struct {
	Priority      alarms.Priority
	FundamentalHz float64
	Harmonics     int             // harmonics above the fundamental
	PulseWidth    time.Duration   // td
	RiseTime      time.Duration   // tr, also the fall time
	Gaps          []time.Duration // ts before every pulse but the first
	Repeat        time.Duration   // burst start to burst start; 0: played once
}

// PatternOf is the burst pattern of p; the zero Pattern for None or an
// unknown priority.
func PatternOf(p alarms.Priority) Pattern {
	switch p {
	case alarms.High:
		s, g := HighSpacing, HighGroupGap
		return Pattern{
			Priority:      alarms.High,
			FundamentalHz: HighFundamentalHz,
			Harmonics:     Harmonics,
			PulseWidth:    HighPulseWidth,
			RiseTime:      riseOf(HighPulseWidth),
			Gaps:          []time.Duration{s, s, g, s, HighPause, s, s, g, s},
			Repeat:        HighRepeat,
		}
	case alarms.Medium:
		return Pattern{
			Priority:      alarms.Medium,
			FundamentalHz: MediumFundamentalHz,
			Harmonics:     Harmonics,
			PulseWidth:    MediumPulseWidth,
			RiseTime:      riseOf(MediumPulseWidth),
			Gaps:          []time.Duration{MediumSpacing, MediumSpacing},
			Repeat:        MediumRepeat,
		}
	case alarms.Low:
		return Pattern{
			Priority:      alarms.Low,
			FundamentalHz: LowFundamentalHz,
			Harmonics:     Harmonics,
			PulseWidth:    LowPulseWidth,
			RiseTime:      riseOf(LowPulseWidth),
			Repeat:        LowRepeat,
		}
	}
	return Pattern{}
}

func riseOf(td time.Duration) time.Duration {
	return time.Duration(math.Round(float64(td) * RiseFraction))
}

// Repeat is the interval from the start of one burst of p to the next while
// p keeps sounding; 0 when p's burst is not repeated (Low) or p is None.
func Repeat(p alarms.Priority) time.Duration { return PatternOf(p).Repeat }

// Pulses is the number of pulses in the burst.
func (pt Pattern) Pulses() int {
	if pt.PulseWidth == 0 {
		return 0
	}
	return len(pt.Gaps) + 1
}

// ramp is the length of the raised-cosine edge whose 10 %–90 % time is the
// rise time: the half cosine 0.5·(1−cos(πu)) passes 10 % at u = 0.2048 and
// 90 % at u = 0.7952.
func (pt Pattern) ramp() time.Duration {
	frac := (math.Acos(-0.8) - math.Acos(0.8)) / math.Pi
	return time.Duration(float64(pt.RiseTime) / frac)
}

// Onsets are the times of the 50 % points of the pulses' leading edges,
// counted from the start of the burst (the foot of the first rising edge).
func (pt Pattern) Onsets() []time.Duration {
	n := pt.Pulses()
	if n == 0 {
		return nil
	}
	on := make([]time.Duration, n)
	on[0] = pt.ramp() / 2
	for i := 1; i < n; i++ {
		on[i] = on[i-1] + pt.PulseWidth + pt.Gaps[i-1]
	}
	return on
}

// Duration is the length of the burst, from the foot of the first rising
// edge to the foot of the last falling edge.
func (pt Pattern) Duration() time.Duration {
	on := pt.Onsets()
	if len(on) == 0 {
		return 0
	}
	return on[len(on)-1] + pt.PulseWidth + pt.ramp()/2
}

// Name is the burst's name as sinks see it: "high", "high-loud", "medium" …
func Name(p alarms.Priority, loud bool) string {
	if loud {
		return p.String() + "-loud"
	}
	return p.String()
}

// Burst is the 16-bit mono PCM of one burst of p at rate samples per second,
// in the loud variant when loud is set; nil for None or an unknown priority.
// It panics when rate is outside MinRate…MaxRate, a programming error.
func Burst(p alarms.Priority, loud bool, rate int) []int16 {
	if rate < MinRate || rate > MaxRate {
		panic(fmt.Sprintf("sound: sample rate %d outside %d…%d", rate, MinRate, MaxRate))
	}
	pt := PatternOf(p)
	if pt.Pulses() == 0 {
		return nil
	}
	peak := float64(NormalPeak)
	if loud {
		peak *= LoudGain
	}
	return pt.synthesize(rate, peak)
}

// synthesize renders the pattern with the waveform scaled so its peak is
// peak (before the envelope).
func (pt Pattern) synthesize(rate int, peak float64) []int16 {
	fs := float64(rate)
	ramp := pt.ramp().Seconds()
	td := pt.PulseWidth.Seconds()
	pcm := make([]int16, int(math.Ceil(pt.Duration().Seconds()*fs)))
	scale := peak / pt.tonePeak()

	for _, on := range pt.Onsets() {
		start := on.Seconds() - ramp/2 // foot of the rising edge
		length := td + ramp            // foot to foot
		first := int(math.Ceil(start * fs))
		last := min(int(math.Floor((start+length)*fs)), len(pcm)-1)
		for i := first; i <= last; i++ {
			u := float64(i)/fs - start // time into the pulse
			v := math.Round(pt.tone(u) * envelope(u, length, ramp) * scale)
			pcm[i] = int16(max(-math.MaxInt16, min(math.MaxInt16, v)))
		}
	}
	return pcm
}

// tone is the unscaled harmonic complex at t seconds: partial k (1 is the
// fundamental) has amplitude 1/√k and Schroeder phase −πk(k−1)/N, which
// keeps the crest factor low so the burst is loud for its peak level.
func (pt Pattern) tone(t float64) float64 {
	n := pt.Harmonics + 1
	var s float64
	for k := 1; k <= n; k++ {
		fk := float64(k)
		phase := -math.Pi * fk * (fk - 1) / float64(n)
		s += math.Sin(2*math.Pi*fk*pt.FundamentalHz*t+phase) / math.Sqrt(fk)
	}
	return s
}

// tonePeak is the largest magnitude of tone over one period of the
// fundamental, found on a fine grid.
func (pt Pattern) tonePeak() float64 {
	const steps = 8192
	period := 1 / pt.FundamentalHz
	var m float64
	for i := range steps {
		m = max(m, math.Abs(pt.tone(period*float64(i)/steps)))
	}
	return m
}

// envelope is a pulse's amplitude u seconds after the foot of its rising
// edge: a raised-cosine rise over ramp seconds, flat top, and a mirrored fall
// ending length seconds after the foot.
func envelope(u, length, ramp float64) float64 {
	switch {
	case u <= 0 || u >= length:
		return 0
	case u < ramp:
		return 0.5 * (1 - math.Cos(math.Pi*u/ramp))
	case u > length-ramp:
		return 0.5 * (1 - math.Cos(math.Pi*(length-u)/ramp))
	}
	return 1
}
