package sound

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// This file measures a burst the way a bench check of IEC 60601-1-8 would:
// pulses from the envelope (50 % points for width and spacing, 10 %–90 % for
// rise and fall), the fundamental and harmonic levels from a spectrum of one
// pulse's steady part. It knows nothing of how Burst builds the sound.

type measuredPulse struct {
	lead, trail float64 // s, 50 % points of the leading and trailing edges
	rise, fall  float64 // s, 10 %–90 % times of the edges
}

func (p measuredPulse) width() float64 { return p.trail - p.lead }

type harmonic struct {
	k  int     // multiple of the fundamental
	hz float64 // measured frequency
	db float64 // level relative to the fundamental
}

type measurement struct {
	rate       int
	pulses     []measuredPulse
	gapFloor   []float64 // lowest envelope (re its maximum) within each gap
	components []float64 // Hz of every spectral peak within 30 dB of the largest
	f0         float64   // Hz
	harmonics  []harmonic
	peak       int     // largest |sample|
	rms        float64 // of the whole burst
	length     float64 // s
}

func (m measurement) gaps() []float64 {
	var g []float64
	for i := 1; i < len(m.pulses); i++ {
		g = append(g, m.pulses[i].lead-m.pulses[i-1].trail)
	}
	return g
}

// within15dB counts the harmonics in 150–4000 Hz no more than 15 dB below
// the fundamental.
func (m measurement) within15dB() int {
	n := 0
	for _, h := range m.harmonics {
		if h.hz >= 150 && h.hz <= 4000 && h.db >= -15 {
			n++
		}
	}
	return n
}

func ms(s float64) string { return fmt.Sprintf("%.1f", s*1000) }

func msList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = ms(x)
	}
	return strings.Join(s, " ")
}

// report is the measurement in one paragraph, for t.Logf.
func (m measurement) report() string {
	var b strings.Builder
	widths, rises, falls := make([]float64, len(m.pulses)), make([]float64, len(m.pulses)), make([]float64, len(m.pulses))
	for i, p := range m.pulses {
		widths[i], rises[i], falls[i] = p.width(), p.rise, p.fall
	}
	fmt.Fprintf(&b, "%d pulses; width ms [%s]; gaps ms [%s]; rise ms [%s]; fall ms [%s]\n",
		len(m.pulses), msList(widths), msList(m.gaps()), msList(rises), msList(falls))
	fmt.Fprintf(&b, "    fundamental %.2f Hz; harmonics", m.f0)
	floor := math.Inf(-1)
	for _, h := range m.harmonics {
		if h.db < -60 {
			floor = max(floor, h.db)
			continue
		}
		fmt.Fprintf(&b, " %d×=%.0f Hz %.1f dB;", h.k, h.hz, h.db)
	}
	if !math.IsInf(floor, -1) {
		fmt.Fprintf(&b, " higher multiples ≤ %.0f dB;", floor)
	}
	fmt.Fprintf(&b, " %d within 15 dB in 150–4000 Hz\n", m.within15dB())
	fmt.Fprintf(&b, "    peak %d (%.2f dBFS), rms %.1f (%.2f dBFS), length %.3f s",
		m.peak, dbfs(float64(m.peak)), m.rms, dbfs(m.rms), m.length)
	return b.String()
}

func dbfs(v float64) float64 { return 20 * math.Log10(v/32768) }

// analyse measures pcm sampled at rate.
func analyse(pcm []int16, rate int) (measurement, error) {
	m := measurement{rate: rate, length: float64(len(pcm)) / float64(rate)}
	if len(pcm) == 0 {
		return m, errors.New("no samples")
	}
	fs := float64(rate)
	x := make([]float64, len(pcm))
	var sq float64
	for i, v := range pcm {
		x[i] = float64(v)
		sq += x[i] * x[i]
		m.peak = max(m.peak, abs(int(v)))
	}
	m.rms = math.Sqrt(sq / float64(len(x)))

	// A coarse envelope (10 ms window) finds the first pulse; the middle
	// half of it is steady enough for the spectrum.
	coarse := normalize(rmsEnvelope(x, fs/100))
	a, b, ok := firstAbove(coarse, 0.5)
	if !ok {
		return m, errors.New("no pulse above half the maximum level")
	}
	seg := x[a+(b-a)/4 : b-(b-a)/4]
	if err := m.spectrum(seg, fs); err != nil {
		return m, err
	}

	// The fine envelope: RMS over one period of the fundamental.
	env := normalize(rmsEnvelope(x, fs/m.f0))
	m.pulses, m.gapFloor = pulses(env, fs)
	if len(m.pulses) == 0 {
		return m, errors.New("no pulse in the fine envelope")
	}
	return m, nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// rmsEnvelope is the RMS of x over a window of w samples (w may be
// fractional) centred on each sample. Over exactly one period of a steady
// tone it is flat, whatever the waveform.
func rmsEnvelope(x []float64, w float64) []float64 {
	sum := make([]float64, len(x)+1) // prefix sums of squares
	for i, v := range x {
		sum[i+1] = sum[i] + v*v
	}
	// at is the sum of squares of x before the (fractional) index t.
	at := func(t float64) float64 {
		t = max(0, min(float64(len(x)), t))
		i := int(t)
		if i == len(x) {
			return sum[i]
		}
		return sum[i] + (t-float64(i))*x[i]*x[i]
	}
	env := make([]float64, len(x))
	for i := range x {
		c := float64(i) + 0.5 // centre of sample i
		env[i] = math.Sqrt(max(0, at(c+w/2)-at(c-w/2)) / w)
	}
	return env
}

func normalize(v []float64) []float64 {
	var top float64
	for _, x := range v {
		top = max(top, x)
	}
	out := make([]float64, len(v))
	if top == 0 {
		return out
	}
	for i, x := range v {
		out[i] = x / top
	}
	return out
}

func firstAbove(env []float64, th float64) (a, b int, ok bool) {
	for a = 0; a < len(env) && env[a] < th; a++ {
	}
	if a == len(env) {
		return 0, 0, false
	}
	for b = a; b < len(env) && env[b] >= th; b++ {
	}
	return a, b, true
}

// crossing is the interpolated time (in samples) where env passes th
// between samples i-1 and i.
func crossing(env []float64, i int, th float64) float64 {
	if i <= 0 {
		return 0
	}
	d := env[i] - env[i-1]
	if d == 0 {
		return float64(i)
	}
	return float64(i-1) + (th-env[i-1])/d
}

// pulses finds the pulses of a normalized envelope and the lowest level
// inside each gap between them.
func pulses(env []float64, fs float64) ([]measuredPulse, []float64) {
	var out []measuredPulse
	var floors []float64
	prevEnd := -1
	for i := 1; i < len(env); {
		if !(env[i-1] < 0.5 && env[i] >= 0.5) {
			i++
			continue
		}
		start := i
		end := start
		for end < len(env) && env[end] >= 0.5 {
			end++
		}
		var p measuredPulse
		p.lead = crossing(env, start, 0.5) / fs
		// rising edge: last 10 % crossing before, first 90 % crossing after
		j := start
		for j > 0 && env[j-1] >= 0.1 {
			j--
		}
		k := start
		for k < end && env[k] < 0.9 {
			k++
		}
		p.rise = (crossing(env, k, 0.9) - crossing(env, j, 0.1)) / fs
		if end < len(env) {
			p.trail = crossing(env, end, 0.5) / fs
			j = end // first sample under 50 %
			for j < len(env) && env[j] >= 0.1 {
				j++
			}
			k = end
			for k > start && env[k-1] < 0.9 {
				k--
			}
			// crossings of a falling edge: between k-1 (≥ 90 %) and k
			fall90 := crossing(env, k, 0.9)
			fall10 := float64(len(env) - 1)
			if j < len(env) {
				fall10 = crossing(env, j, 0.1)
			}
			p.fall = (fall10 - fall90) / fs
		} else {
			p.trail = float64(len(env)-1) / fs
		}
		if prevEnd >= 0 {
			floor := 1.0
			for _, v := range env[prevEnd:start] {
				floor = min(floor, v)
			}
			floors = append(floors, floor)
		}
		out = append(out, p)
		prevEnd = end
		i = end + 1
	}
	return out, floors
}

// amplitude is the amplitude of the component of x at f Hz, through a
// Blackman window, by the Goertzel recurrence.
func amplitude(x, w []float64, wsum, f, fs float64) float64 {
	omega := 2 * math.Pi * f / fs
	coeff := 2 * math.Cos(omega)
	var s1, s2 float64
	for n, v := range x {
		s := v*w[n] + coeff*s1 - s2
		s2, s1 = s1, s
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(0, power)) / wsum
}

func blackman(n int) ([]float64, float64) {
	w := make([]float64, n)
	var sum float64
	for i := range w {
		t := 2 * math.Pi * float64(i) / float64(n-1)
		w[i] = 0.42 - 0.5*math.Cos(t) + 0.08*math.Cos(2*t)
		sum += w[i]
	}
	return w, sum
}

// refine finds the frequency of largest amplitude within ±span Hz of f.
func refine(x, w []float64, wsum, f, span, fs float64) (hz, amp float64) {
	for g := f - span; g <= f+span; g += 0.01 {
		if a := amplitude(x, w, wsum, g, fs); a > amp {
			hz, amp = g, a
		}
	}
	return hz, amp
}

// spectrum finds the spectral peaks of seg in 100–4000 Hz, takes the lowest
// as the fundamental and measures each harmonic up to 4000 Hz.
func (m *measurement) spectrum(seg []float64, fs float64) error {
	w, wsum := blackman(len(seg))
	top := min(4000.0, fs/2-50)
	var freqs, amps []float64
	for f := 100.0; f <= top; f++ {
		freqs = append(freqs, f)
		amps = append(amps, amplitude(seg, w, wsum, f, fs))
	}
	var peakAmp float64
	for _, a := range amps {
		peakAmp = max(peakAmp, a)
	}
	if peakAmp == 0 {
		return errors.New("silent spectrum")
	}
	for i := 1; i+1 < len(amps); i++ {
		if amps[i] > amps[i-1] && amps[i] >= amps[i+1] && amps[i] >= peakAmp*math.Pow(10, -30.0/20) {
			hz, _ := refine(seg, w, wsum, freqs[i], 1, fs)
			m.components = append(m.components, hz)
		}
	}
	if len(m.components) == 0 {
		return errors.New("no spectral peak")
	}
	var a0 float64
	m.f0, a0 = refine(seg, w, wsum, m.components[0], 1, fs)
	for k := 2; float64(k)*m.f0 <= top; k++ {
		hz, a := refine(seg, w, wsum, float64(k)*m.f0, 2, fs)
		m.harmonics = append(m.harmonics, harmonic{k: k, hz: hz, db: 20 * math.Log10(a/a0)})
	}
	return nil
}
