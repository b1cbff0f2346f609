package ecg

import (
	"fmt"
	"math"
	"slices"
)

// Condition is a lethal-arrhythmia condition Vigil raises itself, by the
// PhysioNet/CinC 2015 definitions (HIGH priority, latching, no delay):
//
//	asystole                no QRS for 4 s (on any ECG lead)
//	extreme bradycardia     < 40 bpm over 5 consecutive beats
//	extreme tachycardia     > 140 bpm over 17 consecutive beats
//	ventricular tachycardia ≥ 5 consecutive ventricular beats faster than 100 bpm
//	ventricular flutter/fib a fibrillatory waveform for 4 s
//
// and the ventricular ectopy a central station reports besides (MEDIUM,
// not latching, on the first lead's classified beats):
//
//	ventricular bigeminy    the last 8 beats alternate: every other one ventricular
//	ventricular trigeminy   the last 9 beats: every third one ventricular, the others not
//
// each reported until 10 s after the pattern last held (it comes and goes
// beat by beat: one alarm for an episode, not one per break in it). On the
// MIT-BIH records 106, 119 and 208, 79 of the 80 episodes hold PVCs of the
// reference; 100, 101 and 103 show none, noisy 105 one (TestMITBIHEctopy).
// (Runs of 3–4 PVCs are not reported: the classifier finds them in noise,
// thirty times in 105's half hour.)
type Condition uint16

// Conditions.
const (
	Asystole Condition = 1 << iota
	ExtremeBrady
	ExtremeTachy
	VTach
	VFib
	Bigeminy
	Trigeminy
	// Noisy is a technical condition: a run of ventricular complexes is
	// not organised on any lead (see organisation), so VT is not raised
	// from it, and the complexes of its last seconds recur on no lead:
	// noise, not multiform ectopy. Reported until 10 s after the last.
	Noisy

	// Lethal are the PhysioNet 2015 conditions (HIGH, latching).
	Lethal = Asystole | ExtremeBrady | ExtremeTachy | VTach | VFib
	// Ectopy are the ventricular ectopy patterns (MEDIUM, not latching).
	Ectopy = Bigeminy | Trigeminy
)

var conditionNames = map[Condition]string{
	Asystole: "asystole", ExtremeBrady: "extreme bradycardia", ExtremeTachy: "extreme tachycardia",
	VTach: "ventricular tachycardia", VFib: "ventricular fibrillation/flutter",
	Bigeminy: "ventricular bigeminy", Trigeminy: "ventricular trigeminy", Noisy: "ECG noisy",
}

func (c Condition) String() string {
	if n, ok := conditionNames[c]; ok {
		return n
	}
	var s string
	for k := Asystole; k <= Noisy; k <<= 1 {
		if c&k != 0 {
			if s != "" {
				s += ", "
			}
			s += conditionNames[k]
		}
	}
	if s == "" {
		return fmt.Sprintf("Condition(%d)", uint16(c))
	}
	return s
}

// Rhythm analyses a bed's ECG leads (all at one rate) and, when it has one,
// a pulsatile signal (pleth or arterial pressure) as corroboration. Feed it
// one frame at a time (one sample per lead) with Push, or pulse samples
// with PushPulse at their own rate; Conditions says what holds now.
type Rhythm struct {
	fs      float64
	leads   []*leadRhythm
	pulse   *pulseDetector
	hr      *HeartRate // from the first lead's beats
	n       int64      // ECG frames seen
	scratch []Beat
	why     map[Condition]Evidence

	ectopyUntil [2]int64 // bigeminy, trigeminy reported until this frame
	noisyUntil  int64    // Noisy reported until this frame
	noisyWhy    Evidence // the last disorganised run in noise
	gapEnd      int64    // the frame after the latest Gap (0: none)
}

type leadRhythm struct {
	det   *Detector
	beats []Beat // the last 32 beats
	vf    vfFilter
	like  []float64 // like[i]: how alike beats i−1 and i look (unmeasured until known)
	org   orgCache
	rec   recCache
}

// NewRhythm returns the analysis of leads ECG leads sampled at fs.
func NewRhythm(fs float64, leads int) *Rhythm {
	r := &Rhythm{fs: fs, hr: NewHeartRate(fs)}
	for range leads {
		r.leads = append(r.leads, &leadRhythm{det: NewDetector(fs), vf: newVFFilter(fs)})
	}
	return r
}

// WithPulse adds a pulsatile signal at rate fs (pleth or arterial pressure).
func (r *Rhythm) WithPulse(fs float64) *Rhythm {
	r.pulse = newPulseDetector(fs)
	return r
}

// Push adds one frame: a sample (mV, NaN when missing) for each lead.
func (r *Rhythm) Push(frame ...float64) {
	for i, l := range r.leads {
		x := math.NaN()
		if i < len(frame) {
			x = frame[i]
		}
		if b, ok := l.det.Push(x); ok {
			if len(l.beats) > 0 && float64(b.Sample-l.beats[len(l.beats)-1].Sample) >= NoBeat*r.fs {
				// After a pause that was asystole the rhythm starts afresh:
				// its length is not a slow rate.
				l.beats, l.like = l.beats[:0], l.like[:0]
			}
			if len(l.beats) >= 32 {
				copy(l.beats, l.beats[1:])
				l.beats = l.beats[:len(l.beats)-1]
				copy(l.like, l.like[1:])
				l.like = l.like[:len(l.like)-1]
			}
			l.beats = append(l.beats, b)
			l.like = append(l.like, unmeasured)
			if i == 0 {
				r.hr.Beat(b.Sample)
			}
		}
		l.vf.push(l.det.wide())
	}
	r.n++
}

// Gap adds n frames that are missing (a break in the feed, or a stretch
// in which every lead was invalid) and marks the break: no beat interval,
// pause or run spans it. The beats before it are forgotten and the heart
// rate starts afresh, and the conditions are judged on the samples after
// it only: asystole once every lead has been silent for 4 s of them, VF
// once two 4 s windows of them were fibrillatory, the rate and ventricular
// conditions on beats found after it. The detectors keep what they learnt
// (their thresholds), so Gap is for short breaks; after a long one, start
// a new Rhythm. The pulse signal gets the same span of missing samples.
func (r *Rhythm) Gap(n int) {
	for range n {
		r.Push()
	}
	if r.pulse != nil {
		for range int(math.Round(float64(n) * r.pulse.fs / r.fs)) {
			r.pulse.push(math.NaN())
		}
	}
	for _, l := range r.leads {
		l.beats, l.like = l.beats[:0], l.like[:0]
		l.vf.fib = 0
	}
	*r.hr = HeartRate{fs: r.fs}
	r.ectopyUntil = [2]int64{}
	r.gapEnd = r.n
}

// Learning reports whether the analysis is still in its first 5 s, when
// it has no rate and raises nothing.
func (r *Rhythm) Learning() bool { return r.n < int64(r.fs*5) }

// HeartRate is the displayed heart rate from the first lead (0: none yet,
// or no beat for 4 s).
func (r *Rhythm) HeartRate() float64 { return r.hr.BPM(r.n) }

// PushPulse adds one sample of the pulsatile signal.
func (r *Rhythm) PushPulse(x float64) {
	if r.pulse != nil {
		r.pulse.push(x)
	}
}

// Evidence says why a condition holds or was held back.
type Evidence struct {
	Lead      int     // lead that shows it (-1: all)
	RateBPM   float64 // ventricular or heart rate over the run
	Beats     int     // beats in the run
	Pulse     bool    // the bed has a pulsatile signal to corroborate with
	PulseBPM  float64 // its rate over the last 4 s (0: none seen)
	PulseSeen bool    // it shows beats in the same window
	// Like and Periodic measure how organised a ventricular run is (the
	// best of its leads; see organisation): set on VTach and Noisy.
	Like, Periodic float64
}

// Conditions returns the conditions that hold at the latest frame, with
// evidence for each, and the ones held back by the pulse signal. The
// evidence map is reused: it is valid until the next call (the hub asks
// once per frame of every bed).
func (r *Rhythm) Conditions() (now Condition, why map[Condition]Evidence, heldBack Condition) {
	if r.why == nil {
		r.why = map[Condition]Evidence{}
	}
	clear(r.why)
	why = r.why
	t := r.n - 1
	if t < int64(r.fs*5) {
		return 0, why, 0 // the detectors are still learning
	}
	// Asystole: every lead silent for 4 s (each lead sees what the others
	// miss: a lead that lost contact is silent too), all of them after the
	// latest gap: missing samples are not silence.
	silent := t-r.gapEnd >= int64(NoBeat*r.fs)
	for _, l := range r.leads {
		if len(l.beats) > 0 && float64(t-l.beats[len(l.beats)-1].Sample) < 4*r.fs {
			silent = false
		}
	}
	if silent && len(r.leads) > 0 {
		ev := r.withPulse(Evidence{Lead: -1})
		if ev.PulseSeen {
			heldBack |= Asystole
		} else {
			now |= Asystole
		}
		why[Asystole] = ev
	}
	var heldFrom int64 // where the disorganised run held back starts
	for i, l := range r.leads {
		// A lead other than the first is trusted for the ventricular
		// conditions only while its beats are the first lead's beats:
		// a lead that sees beats where there are none (noise, a poor
		// electrode) must not raise VT on its own.
		if t < int64(r.fs*warmUp) || i > 0 && r.agreement(i, t) < minAgreement {
			continue
		}
		beats := l.beats
		if i > 0 {
			beats = r.confirmed(i)
		}
		if rate, n, ok := vtRun(beats, t, r.fs, i == 0); ok && now&VTach == 0 {
			from := beats[len(beats)-n].Sample - int64(0.15*r.fs)
			ev := Evidence{Lead: i, RateBPM: rate, Beats: n}
			var org bool
			org, ev.Like, ev.Periodic = r.organised(from)
			switch {
			case org:
				now |= VTach
				why[VTach] = ev
			case heldBack&VTach == 0:
				// Disorganised: not VT. Noise when the complexes of
				// the last seconds recur on no lead; otherwise
				// multiform ectopy (N, V, V couplets…), reported as
				// nothing.
				heldBack |= VTach
				why[VTach] = ev
				heldFrom = from
			}
		}
		if t-r.gapEnd >= int64((vfWindow+1)*r.fs) && // two windows after any gap
			l.vf.fibrillating() && l.vf.waveRate >= vfMinRate && !regular(l.beats, t, r.fs) && !l.vf.organisedVT() {
			if _, seen := why[VFib]; !seen {
				now |= VFib
				why[VFib] = Evidence{Lead: i}
			}
		}
	}
	// Both: when the waveform's own rate (from the VF filter's period) is
	// well above the rate of the complexes found, the detector is missing
	// waves and the rhythm is flutter or fibrillation; otherwise the low
	// leakage is an organised VT's sinusoidal shape.
	if now&VTach != 0 && now&VFib != 0 {
		if r.leads[why[VFib].Lead].vf.waveRate > 1.5*why[VTach].RateBPM {
			now &^= VTach
			delete(why, VTach)
		} else {
			now &^= VFib
			delete(why, VFib)
		}
	}
	switch {
	case now&VTach != 0:
		heldBack &^= VTach // another lead's run is organised
	case heldBack&VTach != 0 && r.noisy(heldFrom, t):
		r.noisyUntil = t + int64(noisyHold*r.fs)
		r.noisyWhy = why[VTach]
	}
	if t <= r.noisyUntil {
		now |= Noisy
		why[Noisy] = r.noisyWhy
	}
	// The pulse, as evidence on the ventricular conditions (never to hold
	// them back: a VT may have a pulse).
	for _, c := range []Condition{VTach, VFib} {
		if ev, ok := why[c]; ok {
			why[c] = r.withPulse(ev)
		}
	}
	// Ectopy, from the first lead's beats, when no lethal condition holds
	// (a VT's beats are not a run of PVCs).
	if now&(Lethal|Noisy) == 0 && t >= int64(r.fs*warmUp) {
		seen := ectopy(r.leads[0].beats, t, r.fs)
		for i, c := range [2]Condition{Bigeminy, Trigeminy} {
			if seen&c != 0 {
				r.ectopyUntil[i] = t + int64(ectopyHold*r.fs)
			}
			if t <= r.ectopyUntil[i] && now&Ectopy == 0 {
				now |= c
				why[c] = Evidence{Lead: 0, Beats: 8 + i} // the beats the pattern spans
			}
		}
	}
	// Rate conditions on the first lead with beats.
	for i, l := range r.leads {
		b := l.beats
		if len(b) < 2 || float64(t-b[len(b)-1].Sample) > 4*r.fs {
			continue
		}
		if rate, ok := spanRate(b, 5, r.fs); ok && rate < 40 {
			now |= ExtremeBrady
			why[ExtremeBrady] = Evidence{Lead: i, RateBPM: rate, Beats: 5}
		}
		if rate, ok := spanRate(b, 17, r.fs); ok && rate > 140 {
			now |= ExtremeTachy
			why[ExtremeTachy] = Evidence{Lead: i, RateBPM: rate, Beats: 17}
		}
		break
	}
	return now, why, heldBack
}

// withPulse adds the pulsatile signal's testimony to ev.
func (r *Rhythm) withPulse(ev Evidence) Evidence {
	if r.pulse != nil {
		ev.Pulse = true
		ev.PulseBPM, ev.PulseSeen = r.pulse.rate(4)
	}
	return ev
}

const (
	regularWindow = 6.0  // seconds of beats judged for a regular rhythm
	warmUp        = 10.0 // seconds before VT and VF are judged (classifier and VF filter settle)
	minAgreement  = 0.8  // share of a lead's recent beats the first lead must also see
)

// agreement is the share of lead i's beats of the last 10 s that the first
// lead also found (1 when lead i found none).
func (r *Rhythm) agreement(i int, t int64) float64 {
	from := t - int64(10*r.fs)
	n, m := 0, 0
	for _, b := range r.leads[i].beats {
		if b.Sample < from {
			continue
		}
		n++
		if r.seenByFirst(b) {
			m++
		}
	}
	if n == 0 {
		return 1
	}
	return float64(m) / float64(n)
}

// confirmed is lead i's beats that the first lead also found: a run on
// another lead counts only the beats both leads saw.
func (r *Rhythm) confirmed(i int) []Beat {
	out := r.scratch[:0]
	for _, b := range r.leads[i].beats {
		if r.seenByFirst(b) {
			out = append(out, b)
		}
	}
	r.scratch = out
	return out
}

// seenByFirst reports whether the first lead has a beat within 150 ms of b.
func (r *Rhythm) seenByFirst(b Beat) bool {
	tol := int64(0.15 * r.fs)
	for _, a := range r.leads[0].beats {
		if a.Sample >= b.Sample-tol && a.Sample <= b.Sample+tol {
			return true
		}
	}
	return false
}

// regular reports whether the lead's beats of the last 6 s form a regular
// rhythm (at least 4 beats, intervals within 15 % of their mean, slower
// than 250 bpm): an organised rhythm is not fibrillation whatever the
// waveform's spectrum. (6 s, not the VF filter's 4: at 60 a minute 4 s
// hold 3 or 4 beats, and a paced rhythm's wide, smooth complexes can look
// fibrillatory to the filter.)
func regular(b []Beat, t int64, fs float64) bool {
	from := t - int64(regularWindow*fs)
	var rr []float64
	for i := 1; i < len(b); i++ {
		if b[i-1].Sample >= from {
			rr = append(rr, float64(b[i].Sample-b[i-1].Sample))
		}
	}
	if len(rr) < 3 {
		return false
	}
	mean := 0.0
	for _, v := range rr {
		mean += v
	}
	mean /= float64(len(rr))
	if mean < 60/250.0*fs {
		return false // faster than 250 bpm: flutter waves, not an organised rhythm
	}
	for _, v := range rr {
		if math.Abs(v-mean) > 0.15*mean {
			return false
		}
	}
	return true
}

// spanRate is the rate over the last n beats (n−1 intervals).
func spanRate(b []Beat, n int, fs float64) (float64, bool) {
	if len(b) < n {
		return 0, false
	}
	span := b[len(b)-1].Sample - b[len(b)-n].Sample
	if span <= 0 {
		return 0, false
	}
	return 60 * fs * float64(n-1) / float64(span), true
}

// vtRun finds a run of at least 5 consecutive ventricular beats faster
// than 100 bpm (any 5 consecutive beats of it) that is still going on, its
// last beat within 2 s. A beat counts as ventricular when the classifier
// says so; on the first lead (wct) also when it is 120 ms wide or more in a
// rhythm whose dominant beat is that wide too: a wide-complex tachycardia
// is treated as VT, as the guidelines ask, even when it is all the lead has
// shown. (Not on the other leads: a V1-like lead's wide normal beats would
// make every sinus tachycardia VT.)
func vtRun(b []Beat, t int64, fs float64, wct bool) (rate float64, n int, ok bool) {
	end := len(b)
	if end == 0 || float64(t-b[end-1].Sample) > 2*fs {
		return 0, 0, false
	}
	ventricular := func(x Beat) bool {
		return x.Class == ClassVentricular || wct && x.Width >= wideQRS && x.DominantWidth >= wideQRS
	}
	start := end
	for start > 0 && ventricular(b[start-1]) {
		start--
	}
	n = end - start
	if n < 5 || !wideRun(b[start:end]) {
		return 0, 0, false
	}
	for i := start; i+4 < end; i++ {
		if r := 60 * fs * 4 / float64(b[i+4].Sample-b[i].Sample); r > rate {
			rate = r
		}
	}
	return rate, n, rate > 100
}

// ectopy finds the ectopy patterns at the latest beats (the last within
// 2 s).
func ectopy(b []Beat, t int64, fs float64) (found Condition) {
	if len(b) == 0 || float64(t-b[len(b)-1].Sample) > 2*fs {
		return 0
	}
	// every k-th of the last n beats ventricular (at some phase), the
	// others not, none unjudged
	every := func(k, n int) bool {
		if len(b) < n {
			return false
		}
		last := b[len(b)-n:]
		for phase := range k {
			ok := true
			for i, x := range last {
				if x.Class == ClassUnknown || (x.Class == ClassVentricular) != (i%k == phase) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	switch {
	case every(2, 8):
		return Bigeminy
	case every(3, 9):
		return Trigeminy
	}
	return 0
}

// ectopyHold is how long an ectopy pattern is reported after it last held, s.
const ectopyHold = 10.0

// noisyHold is how long Noisy is reported after the last disorganised run, s.
const noisyHold = 10.0

// wideQRS is the width of a wide QRS complex, seconds.
const wideQRS = 0.120

// wideRun reports whether a run's complexes are wide, as ventricular
// complexes are: the median of their measured widths 120 ms or more, or
// 20 ms or more wider than the dominant rhythm's then. (Narrow complexes
// the classifier found early and unlike the dominant beat are a
// supraventricular run, not VT.) A run with no measured width passes.
func wideRun(b []Beat) bool {
	var w [32]float64
	n := 0
	for _, x := range b {
		if x.Width > 0 && n < len(w) {
			w[n] = x.Width
			n++
		}
	}
	if n == 0 {
		return true
	}
	ws := w[:n]
	slices.Sort(ws)
	med := ws[n/2]
	if n%2 == 0 {
		med = (ws[n/2-1] + ws[n/2]) / 2
	}
	return med >= wideQRS || med >= b[len(b)-1].DominantWidth+0.020
}
