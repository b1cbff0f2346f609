package ecg

import "math"

// Beat is one detected QRS complex.
type Beat struct {
	Sample  int64   // the R peak (largest band-passed deflection), in samples of the lead
	Decided int64   // the sample at which the detector decided it
	Amp     float64 // band-passed peak amplitude (mV)
	Energy  float64 // height of the integrated-energy peak
	Late    bool    // found by search-back, after a gap longer than the rhythm allows
	Class   Class   // normal, ventricular or unknown
	Width   float64 // QRS width, seconds (0 when not measured)
	// DominantWidth is the width of the lead's dominant rhythm's QRS then.
	DominantWidth float64
}

// Detector finds QRS complexes in one ECG lead, sample by sample, at any
// rate from 125 to 1000 Hz. It is a Pan–Tompkins detector: band-pass 5–15
// Hz, derivative, square, 150 ms moving integration, then adaptive signal
// and noise levels with a T-wave check and search-back for missed beats.
//
//	x ─ band-pass ─ d/dt ─ ² ─ ∫150 ms ─ peak ─┬─ > strong ─────────────────── beat (T-wave check < 360 ms)
//	                                           ├─ > low, its shape seen before ─ beat (idem)
//	                                           └─ > search ─ kept; a beat if nothing better
//	                                                         comes by 1.66 × the RR average
//
// A beat found on the rising edge is decided when the integrated energy has
// fallen for 100 ms: about 200 ms after the R peak.
type Detector struct {
	fs    float64
	band  qrsBand
	delay int // band-pass delay, samples

	n      int64 // samples seen
	win    int   // integration window, samples
	sq     []float64
	sqPos  int
	sqSum  float64
	bp     []float64 // recent band-passed samples (ring, power of two)
	bpMask int64
	prevBP float64

	// Peak picking on the integrated energy.
	cand     float64
	candAt   int64
	rising   bool
	prevMWI  float64
	confirm  int64 // samples a maximum must stand
	learnEnd int64
	learnMax float64
	learnSum float64

	spk, npk  float64 // signal and noise peak levels (integrated energy)
	last      Beat    // the latest beat
	haveLast  bool
	lastSlope float64
	slopeAvg  float64 // running average of the beats' QRS slopes
	rr        rrAverages
	best      Beat // the best sub-threshold peak since the last beat
	haveBest  bool
	bestSlope float64

	refractory, tWave int64
	lag               int64 // from an R peak to its decision, at most
	cls               classifier
}

// NewDetector returns a detector for a lead sampled at fs Hz.
func NewDetector(fs float64) *Detector {
	d := &Detector{fs: fs, band: newQRSBand(fs), delay: bandDelay(fs)}
	d.win = max(1, int(math.Round(0.150*fs)))
	d.sq = make([]float64, d.win)
	size := 1
	for size < int(0.6*fs)+d.win {
		size <<= 1
	}
	d.bp = make([]float64, size)
	d.bpMask = int64(size - 1)
	d.cls = newClassifier(fs, size)
	d.confirm = int64(math.Round(0.100 * fs))
	d.learnEnd = int64(2 * fs)
	d.refractory = int64(math.Round(0.200 * fs))
	d.tWave = int64(math.Round(0.360 * fs))
	d.rr = newRRAverages(int64(0.8 * fs))
	d.lag = int64(d.win) + d.confirm + int64(d.delay) + int64(0.05*fs)
	return d
}

// wide is the 1–35 Hz copy of the latest sample (the classifier's).
func (d *Detector) wide() float64 { return d.cls.ring[(d.n-1)&d.bpMask] }

// Rate is the lead's sampling rate.
func (d *Detector) Rate() float64 { return d.fs }

// Push adds one sample (mV; NaN for a missing sample) and returns a beat
// when one is decided at this sample.
func (d *Detector) Push(x float64) (Beat, bool) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	if d.n == 0 {
		d.band.reset(x)
	}
	d.cls.push(d.n, x, d.bpMask)
	y := d.band.step(x)
	d.bp[d.n&d.bpMask] = y
	dv := (y - d.prevBP) * d.fs
	d.prevBP = y
	e := dv * dv
	d.sqSum += e - d.sq[d.sqPos]
	d.sq[d.sqPos] = e
	d.sqPos++
	if d.sqPos == d.win {
		// Once a window, sum afresh so rounding cannot build up over days.
		d.sqPos, d.sqSum = 0, 0
		for _, v := range d.sq {
			d.sqSum += v
		}
	}
	mwi := max(d.sqSum, 0) / float64(d.win) // compressed (energyPower) where levels are compared
	n := d.n
	d.n++

	if n < d.learnEnd {
		c := math.Pow(mwi, energyPower)
		d.learnMax = max(d.learnMax, c)
		d.learnSum += c
		if n == d.learnEnd-1 {
			d.spk = 0.5 * d.learnMax
			d.npk = 0.5 * d.learnSum / float64(d.learnEnd)
		}
		d.prevMWI = mwi
		return Beat{}, false
	}

	var out Beat
	found := false
	// A maximum that stood for 100 ms is a peak.
	if d.rising {
		if mwi > d.cand {
			d.cand, d.candAt = mwi, n
		} else if n-d.candAt >= d.confirm {
			d.rising = false
			out, found = d.peak(math.Pow(d.cand, energyPower), d.candAt, n)
		}
	} else if mwi > d.prevMWI {
		d.rising = true
		d.cand, d.candAt = mwi, n
	}
	d.prevMWI = mwi
	if !found {
		out, found = d.searchBack(n)
	}
	return out, found
}

// qrsAt locates the R peak for an energy peak at m: the largest band-passed
// deflection in the integration window before it, moved back by the
// band-pass delay; and the steepest band-passed slope there.
func (d *Detector) qrsAt(m int64) (r int64, amp, slope float64) {
	from := max(m-int64(d.win)-int64(0.05*d.fs), 0, d.n-int64(len(d.bp))+1)
	best := -1.0
	for i := from; i <= m; i++ {
		v := d.bp[i&d.bpMask]
		if a := math.Abs(v); a > best {
			best, r, amp = a, i, v
		}
		if i > from {
			slope = max(slope, math.Abs(v-d.bp[(i-1)&d.bpMask]))
		}
	}
	return max(r-int64(d.delay), 0), amp, slope * d.fs
}

// thresholds on a peak's (compressed) integrated energy: above strong it
// is a beat; above low, a beat when its shape recurs (see peak); above
// search, a candidate for search-back.
//
// Pan and Tompkins take a quarter of the way from the noise level to the
// signal level, halved when the rhythm is irregular. That takes much of
// record 105's noise for beats, and a strict threshold alone misses the
// small ectopic beats of a bigeminy (EC13's waveform 3a then reads 40
// bpm). So a peak must be strong (half the way) or, at half that, look
// like beats before it: noise rarely repeats a shape. On the shared
// MIT-BIH records, 105's false beats fall from 63 to 42 for 2 more missed,
// at the cost of 5 of 106's multiform PVCs (small, and each unlike the
// last). Shares of 0.45 to 0.55 all give 105 a +P of 98 % or more.
func (d *Detector) thresholds() (strong, low, search float64) {
	strong = d.npk + strongShare*(d.spk-d.npk)
	return strong, strong / 2, strong / 4
}

const strongShare = 0.5

// peak classifies an energy peak at m, decided at sample now.
func (d *Detector) peak(v float64, m, now int64) (Beat, bool) {
	r, amp, slope := d.qrsAt(m)
	b := Beat{Sample: r, Decided: now, Amp: amp, Energy: v}
	strong, low, search := d.thresholds()
	if d.haveLast && r-d.last.Sample < d.refractory {
		// Within 200 ms of a beat: the same complex or impossible.
		return Beat{}, false
	}
	tWave := d.isTWave(r, slope)
	if v > low && !tWave && (v > strong || d.cls.recurs(r, d.n-int64(len(d.bp))+1, d.n-1, d.bpMask)) {
		d.spk = 0.125*v + 0.875*d.spk
		d.accept(&b, slope)
		return b, true
	}
	d.npk = 0.125*v + 0.875*d.npk
	if v > search && !tWave && (!d.haveBest || v > d.best.Energy) {
		d.best, d.haveBest, d.bestSlope = b, true, slope
	}
	return Beat{}, false
}

// isTWave: a peak within 360 ms of the last beat with less than half the
// slope of that QRS, or of the beats' average, is its T wave.
func (d *Detector) isTWave(r int64, slope float64) bool {
	return d.haveLast && r-d.last.Sample < d.tWave && (slope < 0.5*d.lastSlope || slope < 0.5*d.slopeAvg)
}

// searchBack accepts the best sub-threshold peak when no beat came for
// 1.66 RR averages.
func (d *Detector) searchBack(now int64) (Beat, bool) {
	// Wait until every peak up to the limit has been decided.
	if !d.haveBest || !d.haveLast || now-d.last.Sample < d.rr.missLimit()+d.lag {
		return Beat{}, false
	}
	b := d.best
	b.Decided, b.Late = now, true
	d.spk = 0.25*b.Energy + 0.75*d.spk
	d.accept(&b, d.bestSlope)
	return b, true
}

func (d *Detector) accept(b *Beat, slope float64) {
	b.Class, b.Width, b.DominantWidth = d.cls.classify(b.Sample, d.n-int64(len(d.bp))+1, d.n-1, d.bpMask)
	if d.haveLast {
		d.rr.add(b.Sample - d.last.Sample)
	}
	d.last, d.haveLast, d.lastSlope = *b, true, slope
	if d.slopeAvg == 0 {
		d.slopeAvg = slope
	}
	d.slopeAvg = 0.125*slope + 0.875*d.slopeAvg
	d.haveBest = false
}

// rrAverages keeps Pan and Tompkins' two RR averages: of the last 8
// intervals, and of the last 8 within 92–116 % of the regular average.
type rrAverages struct {
	all, reg       [8]int64
	nAll, nReg     int
	off            int // intervals in a row outside the regular band
	avgAll, avgReg float64
}

func newRRAverages(init int64) rrAverages {
	r := rrAverages{avgAll: float64(init), avgReg: float64(init)}
	return r
}

func (r *rrAverages) add(rr int64) {
	r.all[r.nAll%8] = rr
	r.nAll++
	r.avgAll = mean(r.all[:min(r.nAll, 8)])
	if f := float64(rr); f > 0.92*r.avgReg && f < 1.16*r.avgReg {
		r.reg[r.nReg%8] = rr
		r.nReg++
		r.avgReg = mean(r.reg[:min(r.nReg, 8)])
		r.off = 0
		return
	}
	// Eight in a row outside the regular band: the rhythm has changed, and
	// its new average becomes the regular one.
	if r.off++; r.off >= 8 {
		r.reg, r.nReg, r.avgReg, r.off = r.all, min(r.nAll, 8), r.avgAll, 0
	}
}

func (r *rrAverages) missLimit() int64 { return int64(1.66 * r.avgReg) }

func mean(v []int64) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

// energyPower compresses the integrated energy (mean squared slope) before
// the thresholds: wide, slow complexes such as the PVCs of a bigeminy carry
// a fraction of a narrow QRS's energy, and at the power 1 of Pan–Tompkins
// they fall under the low threshold (EC13's waveform 3a then reads half
// its rate). 0.85 keeps them above it.
const energyPower = 0.85
