package ecg

import "math"

// A ventricular tachycardia is organised: its complexes repeat. Either
// consecutive complexes look alike (a monomorphic VT: their 1–35 Hz shapes,
// −100…+150 ms about the R peak, correlate once aligned within ±40 ms), or
// the lead's waveform repeats at the run's cycle (a sinusoidal VT, whose
// complexes the detector finds at shifting phases, so that the shapes about
// its marks differ). Noise and motion artefact do neither, so a run that is
// disorganised on every lead is reported as a noisy ECG, not as VT.
//
// Two complexes are alike when their shapes correlate and their sizes
// (standard deviations) are within a ratio of 0.6, as the classifier's
// clusters; a run's likeness is the mean over its consecutive pairs (of
// the last 32 beats), each pair measured once. On the 2015 Challenge VT
// records this holds back the noise of v115l and the motion artefact of
// v127l and v128s, and never all of a true VT's: each of the ten raised
// its alarm in the window.
const (
	likeRun     = 0.6 // mean correlation of consecutive complexes, at least
	likeAmp     = 0.6 // their sizes' ratio, at least (as the classifier's clusters)
	periodicRun = 0.7 // autocorrelation at the cycle, at least
)

// organisation measures lead l's complexes since sample from, on the VF
// filter's copy of its 1–35 Hz signal (the last 4 s): the mean likeness of
// consecutive complexes, and the waveform's periodicity (its largest
// autocorrelation at a lag of 0.2–0.6 s: 100–300 a minute).
func (l *leadRhythm) organisation(from int64) (like, periodic float64) {
	if len(l.beats) == 0 {
		return 0, 0
	}
	last := l.beats[len(l.beats)-1].Sample
	c := &l.org
	if !c.valid || c.last != last {
		// The waveform's periodicity depends on the beats' times only
		// through the cache: once per beat.
		c.periodic, _ = l.vf.periodicity(0.2, 0.6)
		c.valid, c.last = true, last
	}
	v := &l.vf
	fs := v.fs
	step := max(1, int64(fs/250)) // every 4 ms at most: the shapes and lags need no finer steps
	pre, post, lag := int64(0.1*fs), int64(0.15*fs), int64(0.04*fs)
	oldest := v.n - int64(len(v.buf)) // first sample still kept
	sum, pairs := 0.0, 0
	for i := 1; i < len(l.beats); i++ {
		a, b := l.beats[i-1].Sample, l.beats[i].Sample
		if a < from {
			continue
		}
		if l.like[i] == unmeasured {
			// Each pair is measured once, as soon as both complexes
			// are whole in the kept signal (never, when the first has
			// already gone).
			if a-pre-lag < max(oldest, 0) || b+post+lag >= v.n {
				continue
			}
			l.like[i] = l.alike(a, b, pre, post, lag, step)
		}
		sum += l.like[i]
		pairs++
	}
	if pairs > 0 {
		like = sum / float64(pairs)
	}
	return like, c.periodic
}

// unmeasured marks a pair of complexes not yet compared.
const unmeasured = -2.0

// recurrence is the share of lead l's complexes since from that look like
// one of the (up to 4) complexes before them in its last 4 s: near 1 for
// any rhythm of recurring shapes (even N, V, V couplets), low for noise,
// whose complexes look like nothing before them.
func (l *leadRhythm) recurrence(from int64) float64 {
	if len(l.beats) == 0 {
		return 1
	}
	c := &l.rec
	if last := l.beats[len(l.beats)-1].Sample; !c.valid || c.last != last || c.from != from {
		*c = recCache{valid: true, last: last, from: from, rec: l.measureRecurrence(from)}
	}
	return c.rec
}

func (l *leadRhythm) measureRecurrence(from int64) float64 {
	v := &l.vf
	fs := v.fs
	step := max(1, int64(fs/250))
	pre, post, lag := int64(0.1*fs), int64(0.15*fs), int64(0.04*fs)
	oldest := max(v.n-int64(len(v.buf)), 0)
	n, seen := 0, 0
	for i, b := range l.beats {
		if b.Sample < from || b.Sample+post+lag >= v.n {
			continue
		}
		n++
		for j := max(0, i-4); j < i; j++ {
			a := l.beats[j].Sample
			if a-pre-lag < oldest {
				continue
			}
			if l.alike(a, b.Sample, pre, post, lag, step) >= clusterCorr {
				seen++
				break
			}
		}
	}
	if n == 0 {
		return 1
	}
	return float64(seen) / float64(n)
}

// orgCache and recCache keep measures of a lead until its next beat.
type orgCache struct {
	valid    bool
	last     int64
	periodic float64
}

type recCache struct {
	valid      bool
	last, from int64
	rec        float64
}

// alike is how much the complexes at samples a and b look alike: their
// best correlation once aligned within ±lag, 0 when their sizes differ.
func (l *leadRhythm) alike(a, b, pre, post, lag, step int64) float64 {
	best := -1.0
	for d := -lag; d <= lag; d += step {
		c, sa, sb := l.vf.correlate(a-pre, b+d-pre, (pre+post)/step+1, step)
		if min(sa, sb) < likeAmp*max(sa, sb) {
			c = 0 // alike in shape, not in size: not the same complex
		}
		best = max(best, c)
	}
	return best
}

// correlate is the Pearson correlation of n samples, every step-th, of
// the kept signal from sample a and from sample b (0 when either is flat),
// and their standard deviations (their sizes).
func (v *vfFilter) correlate(a, b, n, step int64) (c, sdA, sdB float64) {
	m := int64(len(v.buf))
	var sa, sb, saa, sbb, sab float64
	for k := range n {
		x, y := v.buf[(a+k*step)%m], v.buf[(b+k*step)%m]
		sa += x
		sb += y
		saa += x * x
		sbb += y * y
		sab += x * y
	}
	f := float64(n)
	cov := sab - sa*sb/f
	va, vb := saa-sa*sa/f, sbb-sb*sb/f
	if va <= 0 || vb <= 0 {
		return 0, 0, 0
	}
	return cov / math.Sqrt(va*vb), math.Sqrt(va / f), math.Sqrt(vb / f)
}

// noisy reports whether the complexes since from, and at most those of
// the last 3.5 s, recur on no lead.
func (r *Rhythm) noisy(from, t int64) bool {
	from = max(from, t-int64(3.5*r.fs))
	for _, l := range r.leads {
		// From the lead's first beat since then: the key of its cache
		// changes with the beats, not with every frame.
		f := from
		for _, b := range l.beats {
			if b.Sample >= from {
				f = b.Sample
				break
			}
		}
		if l.recurrence(f) >= 0.5 {
			return false
		}
	}
	return true
}

// organised reports whether any lead shows the complexes since from as an
// organised rhythm, and the best measures seen.
func (r *Rhythm) organised(from int64) (ok bool, like, periodic float64) {
	for _, l := range r.leads {
		a, b := l.organisation(from)
		like, periodic = max(like, a), max(periodic, b)
	}
	return like >= likeRun || periodic >= periodicRun, like, periodic
}
