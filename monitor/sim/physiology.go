package sim

import (
	"math"
	"math/rand/v2"
)

// patient is a bed's baseline physiology, drawn once from the seed.
type patient struct {
	name      string
	hr        float64 // sinus rate, /min
	spo2      float64 // %
	rr        float64 // breaths/min
	temp      float64 // °C
	sys, dia  float64 // mmHg
	rsa       float64 // respiratory sinus arrhythmia, fraction of the rate
	ptt       float64 // pulse transit time, R peak to pleth foot, s
	plethAmp  float64 // pleth pulse amplitude, normalised units
	respAmp   float64 // impedance excursion of a normal breath
	wander    float64 // ECG baseline wander with respiration, mV
	tempPhase float64 // of the slow temperature drift, rad
	sinus     [5]wave // P, Q, R, S, T
	pvc       [3]wave // wide R, deep S, opposite T
}

// wave is one Gaussian component of a complex (McSharry et al., 2003):
// centred at s from the R peak (or pleth foot), amplitude amp, width sd s.
type wave struct{ at, amp, sd float64 }

func (g wave) value(dt float64) float64 {
	x := (dt - g.at) / g.sd
	if x*x > 16 {
		return 0
	}
	return g.amp * math.Exp(-0.5*x*x)
}

// newPatient draws bed i's patient. Some beds sit at the edges so that the
// ward is not uniform: bed index i%8 == 0 is a calm, bradycardic patient,
// i%8 == 5 a febrile, tachycardic, tachypnoeic one with a low SpO2.
func newPatient(rng *rand.Rand, i int, name string) patient {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	p := patient{
		name:      name,
		hr:        u(64, 96),
		spo2:      u(95.5, 98.5),
		rr:        u(13, 20),
		temp:      u(36.6, 37.3),
		sys:       u(105, 150),
		rsa:       u(0.02, 0.04),
		ptt:       u(0.20, 0.23),
		plethAmp:  u(0.55, 0.70),
		respAmp:   u(0.8, 1.2),
		wander:    u(0.03, 0.08),
		tempPhase: u(0, 2*math.Pi),
	}
	p.dia = p.sys*u(0.55, 0.65) + 5
	switch i % 8 {
	case 0:
		p.hr, p.spo2, p.rr, p.temp = 58, 99, 12, 36.4
	case 5:
		p.hr, p.spo2, p.rr, p.temp = 105, 94, 22, 37.6
	}
	r := u(1.0, 1.5) // R amplitude, mV
	p.sinus = [5]wave{
		{-0.17, u(0.10, 0.16), 0.022}, // P
		{-0.028, -0.08 * r, 0.008},    // Q
		{0, r, 0.010},                 // R
		{0.030, -0.18 * r, 0.010},     // S
		{0.25, u(0.22, 0.35), 0.045},  // T: centre and width scale with √RR
	}
	p.pvc = [3]wave{
		{0, 1.4 * r, 0.026},      // wide, tall R: no P wave
		{0.075, -0.45 * r, 0.03}, // deep, slurred S
		{0.32, -0.4, 0.07},       // T opposite to the QRS
	}
	return p
}

// beat is one scheduled heartbeat.
type beat struct {
	r        float64 // R-peak time, s since the ward's origin
	interval float64 // R-R from the previous beat, s
	sinusRR  float64 // sinus cycle length when scheduled, s: scales the QT
	pvc      bool
	pulse    float64    // relative pleth pulse amplitude, 0 = none reaches the finger
	stroke   float64    // relative stroke volume (icu, heavy): pulse, filling and inotropy
	art      [2]float64 // ABP and PAP Windkessel charge at this beat's pulse foot, from the earlier beats
}

// breath is one scheduled breath: inspiration then expiration.
type breath struct {
	start, dur, depth float64
}

// history is a fixed ring of the most recent schedule entries.
type history[T any] struct {
	buf []T
	n   int // entries pushed in all
}

func (h *history[T]) push(v T)    { h.buf[h.n%len(h.buf)] = v; h.n++ }
func (h *history[T]) at(j int) *T { return &h.buf[j%len(h.buf)] }
func (h *history[T]) last() *T    { return h.at(h.n - 1) }
func (h *history[T]) oldest() int { return max(0, h.n-len(h.buf)) }

const (
	beatHistory   = 32 // PR needs 9 perfusing pulses even in bigeminy
	breathHistory = 8
	ecgLookback   = 0.65 // s a complex lasts after its R peak
	ecgLookahead  = 0.27 // s its P wave starts before the R peak
	pulseLength   = 0.8  // s a pleth pulse lasts after its foot
	pulseTimeToPk = 0.09 // s from pleth foot to systolic peak
	minPulse      = 0.35 // relative amplitude the oximeter counts as a pulse
	rateBeats     = 8    // R-R intervals averaged for HR and PR
	rateBreaths   = 4    // breaths averaged for RR
)

// scheduleBeats extends the beat schedule past t.
func (b *bed) scheduleBeats(t float64) {
	for b.beats.last().r < t+ecgLookahead {
		b.beats.push(b.nextBeat())
	}
}

// nextBeat schedules the beat after the last one. The sinus node fires at the
// current sinus rate; a PVC comes early (60–70 % of the cycle) and is followed
// by a full compensatory pause, the next sinus beat falling two cycles after
// the last sinus one.
func (b *bed) nextBeat() beat {
	prev := *b.beats.last()
	b.hrDrift = 0.97*b.hrDrift + 0.4*b.rhythm.NormFloat64()
	rr := 60 / b.sinusRate(prev.r)
	nb := beat{sinusRR: rr, pulse: 1 + 0.04*b.rhythm.NormFloat64()}
	frequent, bigeminy := b.ectopyAt(prev.r)
	switch {
	case prev.pvc:
		nb.interval = max(2*rr-prev.interval, rr)
		nb.pulse *= 1.15 // post-extrasystolic potentiation
	case bigeminy || (frequent && b.rhythm.Float64() < pvcShare):
		coupling := 0.60 + 0.10*b.rhythm.Float64()
		if bigeminy {
			coupling = 0.62 // fixed coupling, a pulse too weak to count
		}
		nb.interval, nb.pvc = coupling*rr, true
		nb.pulse = min(max((coupling-0.58)*5, 0), 0.45) // little stroke volume
	default:
		nb.interval = rr
	}
	nb.r = prev.r + nb.interval
	if b.sc != nil && b.sc.rhythm {
		b.edgeBeat(&prev, &nb)
	}
	if b.w.profile.pressure {
		nb.stroke = nb.pulse * fill(nb.sinusRR) * (1 + inotropy*max(60/nb.sinusRR-b.p.hr, 0))
		for c := range b.hemo.art {
			nb.art[c] = b.hemo.art[c].chargeAfter(&prev, c, nb.interval)
		}
	}
	return nb
}

// sinusRate is the sinus node's rate at t: baseline, slow random walk,
// events, and respiratory sinus arrhythmia (faster on inspiration).
func (b *bed) sinusRate(t float64) float64 {
	hr := b.p.hr + b.hrDrift
	hr += b.level(tachycardia, t) * max(tachyRate-hr, 0)
	if b.sc != nil {
		hr += b.level(bradycardia, t) * (bradyRate - hr)
	}
	hr += desatHRRise * b.level(desaturation, t)
	shape, _ := b.breathAt(t)
	return hr * (1 + b.p.rsa*(2*shape-1))
}

// breathAt returns the lung volume shape (0 at end-expiration, 1 at
// end-inspiration) and the depth of the breath at t.
func (b *bed) breathAt(t float64) (shape, depth float64) {
	for last := b.breaths.last(); last.start+last.dur <= t; last = b.breaths.last() {
		b.breaths.push(b.nextBreath(last.start + last.dur))
	}
	for j := b.breaths.n - 1; j >= b.breaths.oldest(); j-- {
		if br := b.breaths.at(j); t >= br.start {
			return inflation((t - br.start) / br.dur), br.depth
		}
	}
	return 0, 1
}

func (b *bed) nextBreath(start float64) breath {
	rate := b.p.rr + desatRRRise*b.level(desaturation, start) + tachyRRRise*b.level(tachycardia, start)
	dur := 60 / rate * min(max(1+0.05*b.breathing.NormFloat64(), 0.85), 1.15)
	depth := min(max(1+0.08*b.breathing.NormFloat64(), 0.8), 1.2)
	return breath{start: start, dur: dur, depth: depth}
}

// inflation is the breath shape over one cycle: a cosine rise over the
// inspiration (40 % of the cycle) and a slower cosine fall.
func inflation(phase float64) float64 {
	const insp = 0.4
	if phase < insp {
		return 0.5 - 0.5*math.Cos(math.Pi*phase/insp)
	}
	return 0.5 + 0.5*math.Cos(math.Pi*(phase-insp)/(1-insp))
}

// ecg is lead II in mV at t: the complexes of the beats around t, baseline
// wander with respiration, and a little noise.
func (b *bed) ecg(t float64) float64 {
	v := 0.0
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		bt := b.beats.at(j)
		dt := t - bt.r
		if dt > ecgLookback {
			break
		}
		if dt < -ecgLookahead {
			continue
		}
		if bt.pvc {
			for _, g := range b.p.pvc {
				v += g.value(dt)
			}
			continue
		}
		qt := math.Sqrt(min(max(bt.sinusRR, 0.36), 1.44)) // Bazett
		for _, g := range b.p.sinus[:4] {
			v += g.value(dt)
		}
		tw := b.p.sinus[4]
		v += wave{tw.at * qt, tw.amp, tw.sd * qt}.value(dt)
	}
	shape, _ := b.breathAt(t)
	return v + b.p.wander*(shape-0.5) + 0.012*b.noise.NormFloat64()
}

// pleth is the normalised pulse oximeter wave at t: a systolic peak and a
// diastolic wave after the dicrotic notch, one pulse per perfusing beat a
// pulse transit time after its R peak, amplitude modulated by respiration
// and by perfusion.
func (b *bed) pleth(t float64) float64 {
	v := 0.0
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		bt := b.beats.at(j)
		dt := t - bt.r - b.p.ptt
		if dt > pulseLength {
			break
		}
		if dt < -0.1 || bt.pulse == 0 {
			continue
		}
		qt := math.Sqrt(min(max(bt.sinusRR, 0.36), 1.44))
		v += bt.pulse * (lobe(dt, pulseTimeToPk, 1, 0.045, 0.075) + lobe(dt, pulseTimeToPk+0.24*qt, 0.38, 0.07, 0.1))
	}
	shape, depth := b.breathAt(t)
	amp := b.p.plethAmp * (1 - perfusionDip*b.level(desaturation, t)) * (1 + 0.06*(2*depth*shape-1))
	return min(max(0.12+amp*v+0.003*b.noise.NormFloat64(), 0), 1)
}

// lobe is a Gaussian that rises with width rise and falls with width fall:
// the fast upstroke and slower run-off of a pressure pulse.
func lobe(dt, at, amp, rise, fall float64) float64 {
	if dt > at {
		return wave{at, amp, fall}.value(dt)
	}
	return wave{at, amp, rise}.value(dt)
}

// resp is the thoracic impedance wave at t: -0.5 at end-expiration, rising
// with the depth of each breath.
func (b *bed) resp(t float64) float64 {
	shape, depth := b.breathAt(t)
	return b.p.respAmp*(depth*shape-0.5) + 0.004*b.noise.NormFloat64()
}

// heartRate is 60 over the mean of the last R-R intervals up to t.
func (b *bed) heartRate(t float64) (float64, bool) {
	b.scheduleBeats(t)
	if b.sc != nil && b.sc.rhythm {
		return b.scenarioHeartRate(t)
	}
	last := -1
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		if b.beats.at(j).r <= t {
			last = j
			break
		}
	}
	first := max(b.beats.oldest(), last-rateBeats)
	if last < 0 || first >= last {
		return 0, false
	}
	return 60 * float64(last-first) / (b.beats.at(last).r - b.beats.at(first).r), true
}

// pulseRate is what the oximeter counts: pulses strong enough to see whose
// systolic peak has arrived by t.
func (b *bed) pulseRate(t float64) (float64, bool) {
	b.scheduleBeats(t)
	if b.sc != nil && b.sc.rhythm {
		return b.scenarioPulseRate(t)
	}
	n, newest, oldest := 0, 0.0, 0.0
	for j := b.beats.n - 1; j >= b.beats.oldest() && n <= rateBeats; j-- {
		bt := b.beats.at(j)
		peak := bt.r + b.p.ptt + pulseTimeToPk
		if peak > t || bt.pulse < minPulse {
			continue
		}
		if n == 0 {
			newest = peak
		}
		oldest = peak
		n++
	}
	if n < 2 || newest <= oldest {
		return 0, false
	}
	return 60 * float64(n-1) / (newest - oldest), true
}

// respRate is 60 over the mean duration of the last breaths completed by t.
func (b *bed) respRate(t float64) float64 {
	b.breathAt(t)
	n, sum := 0, 0.0
	for j := b.breaths.n - 1; j >= b.breaths.oldest() && n < rateBreaths; j-- {
		if br := b.breaths.at(j); br.start+br.dur <= t {
			n, sum = n+1, sum+br.dur
		}
	}
	if n == 0 {
		return b.p.rr
	}
	return 60 * float64(n) / sum
}
