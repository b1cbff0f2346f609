package sim

import (
	"math"
	"math/rand/v2"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Invasive pressures and the capnogram of the icu and heavy profiles. Every
// pressure is tied to the beat schedule that drives the ECG and the pleth,
// and to the breath schedule: spontaneous inspiration lowers the
// intrathoracic pressure, and with it every pressure a little.
//
// The arterial (ABP) and pulmonary artery (PAP) pressures follow a
// two-element Windkessel: each beat ejects a stroke that shows as a fast
// upstroke to the systolic peak, falls to the dicrotic notch when the valve
// closes (the end of ejection, which shortens with the rate like the QT),
// rebounds into a small dicrotic wave and leaves a share of its volume in the
// compliance, which runs off exponentially through diastole. The pressure is
// the sum of all beats' contributions: a short cycle (a PVC) starts from a
// higher diastolic pressure and ejects little, the compensatory pause lets
// the pressure fall lower, and a faster heart raises the diastolic pressure
// while each stroke shrinks with the shorter filling time. The scale and
// floor of each patient's model are solved once so that a steady rhythm at
// the baseline rate gives the patient's systolic and diastolic pressures.

// arterial is one Windkessel pressure model.
type arterial struct {
	delay    float64 // s from the R peak to the foot of the pulse at the catheter
	tau      float64 // s, diastolic run-off time constant
	runoff   float64 // share of a stroke stored in the compliance
	dicrotic float64 // dicrotic wave amplitude, relative to the systolic pulse
	fall     float64 // s, width of the systolic fall at 60/min
	resp     float64 // mmHg lost at the top of a normal inspiration
	scale    float64 // mmHg per model unit
	floor    float64 // mmHg: the pressure the run-off tends to
}

const (
	artUpstroke = 0.08 // s from the foot of a pressure pulse to its systolic peak
	artEjection = 0.30 // s from the foot to the dicrotic notch at 60/min
	fillTau     = 1.0  // s: stroke grows with the filling time as 1-exp(-RR/fillTau)
)

// hemo is a bed's haemodynamics and gas exchange, drawn once from the seed.
type hemo struct {
	art      [2]arterial // ABP, PAP
	cvpBase  float64     // mmHg
	icpBase  float64     // mmHg
	icpPulse float64     // mmHg, amplitude of the percussion wave P1
	etco2    float64     // mmHg at the end of a normal expiration
}

const (
	artABP = iota
	artPAP
)

// newHemo draws the patient's pressures: ABP from the patient's blood
// pressure (the one NIBP measures), PAP about 25/10, CVP about 8, ICP about 10
// with a few mmHg of pulsatility, and an etCO2 about 38 mmHg.
func newHemo(rng *rand.Rand, p *patient) hemo {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	rr := 60 / p.hr
	h := hemo{
		art: [2]arterial{
			artABP: {delay: p.ptt - 0.04, tau: u(1.2, 1.6), runoff: u(0.7, 0.9), dicrotic: u(0.18, 0.26), fall: u(0.07, 0.09), resp: u(2, 4)},
			artPAP: {delay: 0.07, tau: u(0.4, 0.6), runoff: u(0.5, 0.7), dicrotic: u(0.18, 0.26), fall: u(0.06, 0.08), resp: u(1, 3)},
		},
		icpPulse: u(1.5, 3),
		etco2:    u(35, 41),
	}
	h.art[artABP].calibrate(rr, p.sys, p.dia)
	h.art[artPAP].calibrate(rr, u(21, 29), u(8, 13))
	// CVP and ICP: the base that gives the drawn mean over a steady cycle,
	// with a mean lung volume of one half.
	h.cvpBase = u(5, 10) - cvpWavesMean(rr) + cvpResp/2
	h.icpBase = u(7, 13) - h.icpPulse*icpWavesArea(rr)/rr + icpResp/2
	return h
}

// fill is the relative stroke after a sinus cycle of rr seconds.
func fill(rr float64) float64 { return 1 - math.Exp(-rr/fillTau) }

// inotropy is the relative rise of the stroke per beat/min of sinus rate above
// the patient's baseline: the sympathetic drive that speeds the heart also
// strengthens it, so that the systolic pressure rises a little in a
// tachycardia while the shorter filling time narrows the pulse pressure.
const inotropy = 0.003

// qtScale is √RR within limits: how systole shortens with the rate (Bazett).
func qtScale(rr float64) float64 { return math.Sqrt(min(max(rr, 0.36), 1.44)) }

// lobes is the ejection part of one beat's pulse at dt s after its foot: the
// systolic upstroke and fall, and the dicrotic wave after the notch.
func (a *arterial) lobes(dt, rr float64) float64 {
	if dt <= 0 {
		return 0
	}
	q := qtScale(rr)
	var v float64
	if dt < artUpstroke {
		v = smoothstep(dt / artUpstroke)
	} else {
		v = gauss((dt - artUpstroke) / (a.fall * q))
	}
	notch := artEjection * q
	return v + a.dicrotic*gauss((dt-notch-0.03*q)/(0.025*q))
}

// stored is the share of one beat's stroke in the compliance at dt s after its
// foot, before run-off: it fills during ejection.
func (a *arterial) stored(dt, rr float64) float64 {
	if dt <= 0 {
		return 0
	}
	return a.runoff * smoothstep(dt/(artEjection*qtScale(rr)))
}

// calibrate solves scale and floor so that a steady rhythm of cycle rr gives
// sys over dia.
func (a *arterial) calibrate(rr, sys, dia float64) {
	s := fill(rr)
	q := math.Exp(-rr / a.tau)
	charge := s * a.runoff * q / (1 - q) // left by all earlier beats at a foot
	hi, lo := math.Inf(-1), math.Inf(1)
	for i := range 1000 {
		dt := rr * float64(i) / 1000
		u := (charge+s*a.stored(dt, rr))*math.Exp(-dt/a.tau) + s*(a.lobes(dt, rr)+a.lobes(dt+rr, rr))
		hi, lo = max(hi, u), min(lo, u)
	}
	a.scale = (sys - dia) / (hi - lo)
	a.floor = dia - a.scale*lo
}

// steadyCharge is what a steady rhythm of cycle rr leaves in the compliance
// at a foot: the charge of the first beat of the schedule.
func (a *arterial) steadyCharge(rr float64) float64 {
	q := math.Exp(-rr / a.tau)
	return fill(rr) * a.runoff * q / (1 - q)
}

// chargeAfter is the charge at the foot of a beat that follows prev after
// interval s.
func (a *arterial) chargeAfter(prev *beat, c int, interval float64) float64 {
	return math.Exp(-interval/a.tau) * (prev.art[c] + prev.stroke*a.runoff)
}

// footBeat finds the last beat whose pulse foot (R peak + delay) is at or
// before t, and the beat before it. Before the first beat's foot it returns a
// virtual beat one cycle earlier, a copy of the first: the schedule starts in
// a steady rhythm.
func (b *bed) footBeat(t, delay float64) (cur, prev beat, hasPrev bool) {
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		bt := b.beats.at(j)
		if bt.r+delay > t {
			continue
		}
		if j > b.beats.oldest() {
			return *bt, *b.beats.at(j - 1), true
		}
		if j == 0 {
			v := *bt
			v.r -= bt.interval
			return *bt, v, true
		}
		return *bt, beat{}, false
	}
	v := *b.beats.at(0)
	v.r -= v.interval
	return v, beat{}, false
}

// arterialPressure is pressure c (artABP or artPAP) at t in mmHg, without noise.
func (b *bed) arterialPressure(c int, t float64) float64 {
	a := &b.hemo.art[c]
	cur, prev, ok := b.footBeat(t, a.delay)
	dt := t - cur.r - a.delay
	s := cur.stroke
	u := (cur.art[c]+s*a.stored(dt, cur.sinusRR))*math.Exp(-dt/a.tau) + s*a.lobes(dt, cur.sinusRR)
	if ok {
		u += prev.stroke * a.lobes(dt+cur.interval, prev.sinusRR)
	}
	shape, depth := b.breathAt(t)
	p := a.floor + a.scale*u - a.resp*depth*shape
	if c == artPAP {
		p += papHypoxia * b.level(desaturation, t) // hypoxic pulmonary vasoconstriction
	}
	return p
}

// papHypoxia is the rise of the pulmonary pressures at the nadir of a
// desaturation, mmHg.
const papHypoxia = 6

// The central venous pressure: an a wave after each P wave (none after a
// PVC), the c wave as the tricuspid valve bulges, the x descent, the v wave as
// the atrium fills at the end of systole and the y descent when the valve
// opens, all tied to the R peak; spontaneous inspiration lowers it.
var cvpWaves = [...]wave{
	{-0.05, 3, 0.04},   // a
	{0.06, 1.2, 0.025}, // c
	{0.20, -2, 0.06},   // x descent
	{0.36, 2.5, 0.05},  // v
	{0.50, -1.8, 0.07}, // y descent
}

const (
	cvpResp = 3   // mmHg lost at the top of a normal inspiration
	icpResp = 1.2 // mmHg
)

// cvpWavesMean is the mean the CVP waves add over a steady cycle of rr s.
func cvpWavesMean(rr float64) float64 {
	q, area := qtScale(rr), 0.0
	for k, g := range cvpWaves {
		sd := g.sd
		if k >= 2 {
			sd *= q
		}
		area += g.amp * sd * math.Sqrt(2*math.Pi)
	}
	return area / rr
}

// cvp is the central venous pressure at t in mmHg, without noise.
func (b *bed) cvp(t float64) float64 {
	v := b.hemo.cvpBase
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		bt := b.beats.at(j)
		dt := t - bt.r
		if dt > 0.8 {
			break
		}
		if dt < -0.25 {
			continue
		}
		q := qtScale(bt.sinusRR)
		for k, g := range cvpWaves {
			switch {
			case k == 0 && bt.pvc:
				continue // no atrial contraction before a PVC
			case k >= 2:
				g.at, g.sd = g.at*q, g.sd*q
			}
			v += g.value(dt)
		}
	}
	shape, depth := b.breathAt(t)
	return v - cvpResp*depth*shape
}

// The intracranial pressure pulse: percussion (P1), tidal (P2) and dicrotic
// (P3) waves, decreasing as in a compliant brain, a little after the arterial
// pulse reaches the skull.
var icpWaves = [...]wave{
	{0.06, 1, 0.03},    // P1
	{0.16, 0.75, 0.05}, // P2
	{0.30, 0.45, 0.05}, // P3
}

func icpWavesArea(rr float64) float64 {
	q, area := qtScale(rr), 0.0
	for k, g := range icpWaves {
		sd := g.sd
		if k > 0 {
			sd *= q
		}
		area += g.amp * sd * math.Sqrt(2*math.Pi)
	}
	return area
}

// icp is the intracranial pressure at t in mmHg, without noise.
func (b *bed) icp(t float64) float64 {
	v := b.hemo.icpBase
	delay := b.p.ptt - 0.08
	for j := b.beats.n - 1; j >= b.beats.oldest(); j-- {
		bt := b.beats.at(j)
		dt := t - bt.r - delay
		if dt > 0.7 {
			break
		}
		if dt < -0.2 || bt.pulse == 0 {
			continue
		}
		q := qtScale(bt.sinusRR)
		for k, g := range icpWaves {
			if k > 0 {
				g.at, g.sd = g.at*q, g.sd*q
			}
			v += b.hemo.icpPulse * bt.pulse * g.value(dt)
		}
	}
	shape, depth := b.breathAt(t)
	return v - icpResp*depth*shape
}

// pressureStats reads a pressure off its model over the last complete
// cardiac cycles before t (at most 4, within 5 s), sampled at the waveform's
// instants: the mean of the cycles' maxima and minima, and the mean pressure.
// Cycles start at each beat's R peak plus delay. ok is false without a
// complete cycle.
func (b *bed) pressureStats(t, delay float64, f func(float64) float64) (sys, dia, mean float64, ok bool) {
	if b.sc != nil && b.sc.rhythm {
		// A scenario's numerics follow its edges: the cycles of the current
		// rhythm when there is one, and no pulse at all in asystole.
		if _, arrest := b.within(asystole, t); arrest {
			return b.pulselessStats(t, f)
		}
		if sys, dia, mean, ok = b.cycleStats(t, delay, b.rhythmSince(t), f); ok {
			return sys, dia, mean, ok
		}
	}
	return b.cycleStats(t, delay, math.Inf(-1), f)
}

// pressureRate is the sampling rate the pressure numerics are read at, mHz.
const pressureRate = 125_000

// cycleStats is pressureStats over the cycles of beats at or after since.
func (b *bed) cycleStats(t, delay, since float64, f func(float64) float64) (sys, dia, mean float64, ok bool) {
	const milliHz = pressureRate
	end := t
	lowest := b.beats.oldest()
	if lowest == 0 {
		lowest = -1 // the virtual beat before the first
	}
	n, count, sum := 0, 0, 0.0
	for j := b.beats.n - 1; j >= lowest && n < 4; j-- {
		var r float64
		if j >= 0 {
			r = b.beats.at(j).r
		} else {
			first := b.beats.at(0)
			r = first.r - first.interval
		}
		start := r + delay
		if start > t {
			continue
		}
		if start < t-5 || r < since {
			break
		}
		if end < t { // [start, end) is a complete cycle
			hi, lo := math.Inf(-1), math.Inf(1)
			for i := int64(math.Ceil(start * milliHz / 1000)); ; i++ {
				ts := float64(i) * 1000 / milliHz
				if ts >= end {
					break
				}
				v := f(ts)
				hi, lo = max(hi, v), min(lo, v)
				sum += v
				count++
			}
			if hi >= lo {
				sys, dia, n = sys+hi, dia+lo, n+1
			}
		}
		end = start
	}
	if n == 0 || count == 0 {
		return 0, 0, 0, false
	}
	return sys / float64(n), dia / float64(n), sum / float64(count), true
}

// pulselessStats reads a pressure without pulses: its highest, lowest and
// mean value over the last second before t.
func (b *bed) pulselessStats(t float64, f func(float64) float64) (sys, dia, mean float64, ok bool) {
	hi, lo, sum, n := math.Inf(-1), math.Inf(1), 0.0, 0
	for i := int64(math.Ceil((t - 1) * pressureRate / 1000)); ; i++ {
		ts := float64(i) * 1000 / pressureRate
		if ts >= t {
			break
		}
		v := f(ts)
		hi, lo, sum, n = max(hi, v), min(lo, v), sum+v, n+1
	}
	return hi, lo, sum / float64(n), n > 0
}

// The capnogram: zero while fresh gas is inspired, then as expiration begins
// the dead space washes out (phase II, a steep rise over about 0.3 s) and
// alveolar gas gives a plateau that still rises slowly (phase III) to the
// end-tidal value; the next inspiration brings it down within 0.1 s.
const (
	co2PhaseII   = 0.3  // s
	co2Downswing = 0.1  // s
	co2Plateau   = 0.88 // share of etCO2 at the start of the plateau
)

// endTidal is the etCO2 of breath br, mmHg: lower after a deep breath and
// when the patient hyperventilates (desaturation, tachycardia).
func (b *bed) endTidal(br *breath) float64 {
	et := b.hemo.etco2 * (1 - 0.3*(br.depth-1))
	return et - 4*b.level(desaturation, br.start) - 2*b.level(tachycardia, br.start)
}

// co2 is the airway CO2 at t, mmHg, without noise.
func (b *bed) co2(t float64) float64 {
	b.breathAt(t)
	for j := b.breaths.n - 1; j >= b.breaths.oldest(); j-- {
		br := b.breaths.at(j)
		if t < br.start {
			continue
		}
		ph := t - br.start
		insp := 0.4 * br.dur
		if ph >= insp { // expiration
			te, exp := ph-insp, br.dur-insp
			return b.endTidal(br) * smoothstep(te/co2PhaseII) * (co2Plateau + (1-co2Plateau)*te/exp)
		}
		if ph < co2Downswing {
			prev := br // the first breath follows one like itself
			if j > b.breaths.oldest() {
				prev = b.breaths.at(j - 1)
			}
			return b.endTidal(prev) * (1 - smoothstep(ph/co2Downswing))
		}
		return 0
	}
	return 0
}

// lastEndTidal is the etCO2 of the last breath completed by t, the plateau's
// end.
func (b *bed) lastEndTidal(t float64) float64 {
	b.breathAt(t)
	for j := b.breaths.n - 1; j >= b.breaths.oldest(); j-- {
		if br := b.breaths.at(j); br.start+br.dur <= t {
			return b.endTidal(br)
		}
	}
	return b.endTidal(b.breaths.at(b.breaths.oldest())) // the first breath is not over yet
}

// profileNumerics appends the numerics of the profile's extra parameters at
// t, read off the same models as the waveforms.
func (b *bed) profileNumerics(vals []feed.Numeric, t float64) []feed.Numeric {
	spec := b.w.profile
	mmHg := func(code uint32, v float64, ok bool) feed.Numeric {
		return feed.Numeric{Code: code, Value: math.Round(v), Valid: ok, Unit: "mmHg"}
	}
	if spec.pressure {
		sys, dia, mean, ok := b.pressureStats(t, b.hemo.art[artABP].delay, func(ts float64) float64 { return b.arterialPressure(artABP, ts) })
		vals = append(vals, mmHg(feed.MDCABPSys, sys, ok), mmHg(feed.MDCABPDia, dia, ok), mmHg(feed.MDCABPMean, mean, ok))
	}
	if spec.heavy {
		sys, dia, mean, ok := b.pressureStats(t, b.hemo.art[artPAP].delay, func(ts float64) float64 { return b.arterialPressure(artPAP, ts) })
		vals = append(vals, mmHg(feed.MDCPAPSys, sys, ok), mmHg(feed.MDCPAPDia, dia, ok), mmHg(feed.MDCPAPMean, mean, ok))
		_, _, cvp, ok := b.pressureStats(t, 0, b.cvp)
		vals = append(vals, mmHg(feed.MDCCVPMean, cvp, ok))
		_, _, icp, ok := b.pressureStats(t, b.p.ptt-0.08, b.icp)
		vals = append(vals, mmHg(feed.MDCICPMean, icp, ok))
	}
	if spec.co2 {
		vals = append(vals, mmHg(feed.MDCEtCO2, b.lastEndTidal(t), true),
			feed.Numeric{Code: feed.MDCCO2RespRate, Value: math.Round(b.respRate(t)), Valid: true, Unit: "/min"})
	}
	return vals
}
