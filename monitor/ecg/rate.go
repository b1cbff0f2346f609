package ecg

import "math"

// HeartRate is the displayed heart rate: 60 over the mean of the last 12
// RR intervals (the averaging monitors disclose under IEC 60601-2-27),
// so a bigeminal rhythm reads its true beat rate and not half of it. While
// no beat comes, the open interval counts once it is clearly longer than
// any recent one, so the rate falls during a pause and reads 0 after NoBeat
// seconds.
type HeartRate struct {
	fs   float64
	rr   [12]int64
	n    int
	last int64
	seen bool
}

// NoBeat is how long without a beat the rate reads 0 (asystole).
const NoBeat = 4.0

// NewHeartRate returns a meter for beats numbered in samples at fs.
func NewHeartRate(fs float64) *HeartRate { return &HeartRate{fs: fs} }

// Beat adds a beat at sample r.
func (h *HeartRate) Beat(r int64) {
	if h.seen {
		if rr := r - h.last; rr > int64(0.2*h.fs) && rr < int64(NoBeat*h.fs) {
			h.rr[h.n%len(h.rr)] = rr
			h.n++
		} else if rr >= int64(NoBeat*h.fs) {
			h.n = 0 // after a pause the rhythm starts afresh
		}
	}
	h.last, h.seen = r, true
}

// BPM is the rate at sample now (0 until two beats, or after NoBeat
// seconds without one).
func (h *HeartRate) BPM(now int64) float64 {
	if !h.seen || h.n == 0 {
		return 0
	}
	open := now - h.last
	if float64(open) >= NoBeat*h.fs {
		return 0
	}
	k := min(h.n, len(h.rr))
	var sum, longest int64
	for i := range k {
		sum += h.rr[i]
		longest = max(longest, h.rr[i])
	}
	// A pause longer than any recent interval (with room for the
	// detector's decision delay) counts as an interval so far.
	if float64(open) > 1.2*float64(longest)+0.3*h.fs {
		sum += open
		k++
	}
	return 60 * h.fs * float64(k) / float64(sum)
}

// HRReading is what a heart-rate meter showed over a waveform.
type HRReading struct {
	Final    float64 `json:"hr_bpm"`  // the rate at the end
	Min      float64 `json:"min_bpm"` // lowest after settling
	Max      float64 `json:"max_bpm"` // highest after settling
	Beats    int     `json:"beats"`
	Duration float64 `json:"seconds"`
}

// MeterHR runs the detector and the meter over a lead sampled at fs (mV)
// and reports the displayed rate once a second from settle seconds on.
func MeterHR(x []float64, fs, settle float64) HRReading {
	d, h := NewDetector(fs), NewHeartRate(fs)
	r := HRReading{Min: math.Inf(1), Max: math.Inf(-1), Duration: float64(len(x)) / fs}
	every := int64(fs)
	for i, v := range x {
		if b, ok := d.Push(v); ok {
			h.Beat(b.Sample)
			r.Beats++
		}
		if n := int64(i); n%every == 0 && float64(n) >= settle*fs {
			bpm := h.BPM(n)
			r.Min, r.Max = min(r.Min, bpm), max(r.Max, bpm)
		}
	}
	r.Final = h.BPM(int64(len(x)))
	if math.IsInf(r.Min, 0) {
		r.Min, r.Max = r.Final, r.Final
	}
	return r
}
