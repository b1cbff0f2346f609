package ecg

import "math"

// vfFilter is Kuo and Dillman's VF filter: a fibrillatory waveform is close
// to a sinusoid, so a band-stop filter tuned to its own mean period (from
// the ratio of the signal's mean magnitude to its mean slope) leaves little
// of it: leakage = Σ|x[i] + x[i−N]| / Σ(|x[i]| + |x[i−N]|) with N half a
// period. It runs once a second over the last 4 s of a 1–35 Hz copy of the
// lead (the classifier's copy, not filtered twice); two windows in a row below 0.5 make the rhythm fibrillatory. (Kuo
// and Dillman's 0.625 is met by a tenth of the seconds of MIT-BIH record
// 208, frequent PVCs and fusion beats; 0.5 by none of the shared records'
// seconds.)
type vfFilter struct {
	fs       float64
	buf      []float64 // the last 4 s (ring)
	n        int64
	every    int64
	leakage  float64
	waveRate float64 // the window's dominant rate (waves a minute), from its mean period
	fib      int     // consecutive windows below the threshold
	// periodic is the window's largest autocorrelation at a lag of
	// 0.2–0.6 s, and cycle that lag (s): measured in the fibrillatory
	// windows only.
	periodic, cycle float64
}

const (
	// vfMinRate: fibrillation and flutter waves come 150 to 500 a minute;
	// a slower wave that looks fibrillatory to the filter is the wide,
	// smooth complex of a paced or bundle-branch-block rhythm.
	vfMinRate = 150.0
	vfLeakage = 0.5
	vfWindow  = 4.0 // seconds
	vfMinP2P  = 0.15
)

func newVFFilter(fs float64) vfFilter {
	return vfFilter{fs: fs, buf: make([]float64, int(vfWindow*fs)), every: int64(fs), leakage: 1}
}

// push adds one sample of the lead's 1–35 Hz copy.
func (v *vfFilter) push(wide float64) {
	v.buf[v.n%int64(len(v.buf))] = wide
	v.n++
	if v.n >= int64(len(v.buf)) && v.n%v.every == 0 {
		v.leakage = v.measure()
		if v.leakage < vfLeakage {
			v.fib++
			v.periodic, v.cycle = v.periodicity(0.2, 0.6)
		} else {
			v.fib = 0
		}
	}
}

// measure computes the leakage of the window in v.buf.
func (v *vfFilter) measure() float64 {
	m := len(v.buf)
	at := func(i int) float64 { return v.buf[(v.n+int64(i))%int64(m)] } // oldest first
	var mag, slope float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range m {
		x := at(i)
		mag += math.Abs(x)
		lo, hi = min(lo, x), max(hi, x)
		if i > 0 {
			slope += math.Abs(x - at(i-1))
		}
	}
	if slope == 0 || hi-lo < vfMinP2P {
		return 1 // flat or tiny: not fibrillation (asystole is judged elsewhere)
	}
	n := int(math.Floor(math.Pi*mag/slope + 0.5))
	if n < 1 || n >= m {
		return 1
	}
	v.waveRate = 60 * v.fs / float64(2*n)
	var num, den float64
	for i := n; i < m; i++ {
		a, b := at(i), at(i-n)
		num += math.Abs(a + b)
		den += math.Abs(a) + math.Abs(b)
	}
	if den == 0 {
		return 1
	}
	return num / den
}

// fibrillating: the latest 4 s window was fibrillatory.
func (v *vfFilter) fibrillating() bool { return v.fib >= 2 }

// organisedVT: the fibrillatory window repeats itself closely at a cycle
// slower than 250 a minute. That is a sinusoidal VT, whose complexes the
// detector finds irregularly at its onset, not fibrillation (irregular)
// nor flutter (faster).
func (v *vfFilter) organisedVT() bool { return v.periodic >= vtPeriodic && v.cycle > 60.0/250 }

// vtPeriodic is the autocorrelation above which a fibrillatory-looking
// window is an organised VT.
const vtPeriodic = 0.8

// periodicity is the window's largest autocorrelation at a lag from lo to
// hi seconds, and that lag.
func (v *vfFilter) periodicity(lo, hi float64) (best, lag float64) {
	if v.n < int64(len(v.buf)) {
		return 0, 0
	}
	step := max(1, int64(math.Round(v.fs/125))) // 8 ms steps: enough for cycles of 200–600 ms
	oldest := v.n - int64(len(v.buf))
	for d := int64(lo * v.fs); d <= int64(hi*v.fs); d += step {
		if c, _, _ := v.correlate(oldest+d, oldest, (int64(len(v.buf))-d)/step, step); c > best {
			best, lag = c, float64(d)/v.fs
		}
	}
	return best, lag
}

// pulseDetector finds the upstrokes of a pleth or arterial pressure
// waveform (the rise of its 0.5–8 Hz copy past a third of the recent
// largest rise) to tell whether blood is moving.
type pulseDetector struct {
	fs     float64
	hp, lp biquad
	prev   float64
	peak   float64 // recent largest slope (decays)
	decay  float64
	refr   int64
	last   int64
	n      int64
	beats  []int64 // recent upstrokes
	rising bool
}

func newPulseDetector(fs float64) *pulseDetector {
	return &pulseDetector{fs: fs, hp: highPass(fs, 0.5, math.Sqrt2/2), lp: lowPass(fs, 8, math.Sqrt2/2),
		decay: math.Pow(0.5, 1/(3*fs)), refr: int64(0.3 * fs), last: -1 << 40}
}

func (p *pulseDetector) push(x float64) {
	n := p.n
	p.n++
	if math.IsNaN(x) || math.IsInf(x, 0) || x == -32768 {
		p.rising = false
		return
	}
	if n == 0 {
		p.hp.reset(x)
		p.lp.reset(0)
	}
	y := p.lp.step(p.hp.step(x))
	s := (y - p.prev) * p.fs
	p.prev = y
	p.peak = max(p.peak*p.decay, s)
	th := p.peak / 3
	if s > th && th > 0 && !p.rising && n-p.last > p.refr {
		p.rising = true
		p.last = n
		if len(p.beats) >= 16 {
			copy(p.beats, p.beats[1:])
			p.beats = p.beats[:len(p.beats)-1]
		}
		p.beats = append(p.beats, n)
	} else if s < 0 {
		p.rising = false
	}
}

// rate returns the pulse rate over the last window seconds and whether the
// signal shows pulses there: at least 3 upstrokes, at intervals of 0.3 to
// 2 s.
func (p *pulseDetector) rate(window float64) (float64, bool) {
	from := p.n - int64(window*p.fs)
	in := p.beats // in time order: the window is a tail of it
	for len(in) > 0 && in[0] < from {
		in = in[1:]
	}
	if len(in) < 3 {
		return 0, false
	}
	for i := 1; i < len(in); i++ {
		d := float64(in[i]-in[i-1]) / p.fs
		if d < 0.3 || d > 2 {
			return 0, false
		}
	}
	return 60 * p.fs * float64(len(in)-1) / float64(in[len(in)-1]-in[0]), true
}
