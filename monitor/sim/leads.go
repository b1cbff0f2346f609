package sim

import (
	"math"
	"math/rand/v2"
)

// The multi-lead ECG of the icu and heavy profiles is one cardiac model seen
// from several leads. Each component of a complex (sinus P, Q, R, S, T; PVC
// R, S, T) is a Gaussian in time, as in the single-lead model, times a fixed
// heart vector in three dimensions (after the dipole extension of McSharry's
// model by Sameni et al., 2007). A lead sees the dot product of its lead
// vector with the heart vector, so at each instant the model evaluates the
// eight component activations once and projects them onto the leads with a
// per-patient weight matrix. I, II and V1–V6 are projected; III, aVR, aVL and
// aVF are derived from I and II as monitors do, so Einthoven's law holds
// sample by sample, noise included.
//
// Axes (Frank's convention): x to the patient's left, y to the feet, z to the
// back. The heart vectors are scaled so that lead II sees exactly the
// amplitudes of the single-lead model: lead II of the icu and heavy profiles
// has the same morphology as the ward profile's.

// Components of the cardiac model.
const (
	compP = iota
	compQ
	compR
	compS
	compT
	compPVCR
	compPVCS
	compPVCT
	nComp
)

// maxMeasured is the number of leads projected from the model: I, II, V1–V6.
const maxMeasured = 8

// vec3 is a direction or lead vector (x left, y inferior, z posterior).
type vec3 [3]float64

func (a vec3) dot(b vec3) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// leadVectors are the torso projections of I, II and V1–V6: how many mV each
// lead reads for a 1 mV heart vector along x, y, z. The frontal leads are close
// to Einthoven's triangle; the precordial ones are larger the closer the
// electrode is to the heart (V2–V4) and turn from the right-anterior chest (V1)
// round to the left side (V6), which gives the usual R-wave progression. They
// follow the shape of Dower's inverse transform without claiming its exact
// coefficients.
var leadVectors = [maxMeasured]vec3{
	{0.63, -0.24, 0.06},  // I
	{0.24, 1.07, -0.13},  // II
	{-0.52, 0.16, -0.92}, // V1
	{0.04, 0.16, -1.39},  // V2
	{0.88, 0.10, -1.28},  // V3
	{1.21, 0.13, -0.60},  // V4
	{1.13, 0.13, -0.09},  // V5
	{0.83, 0.08, 0.23},   // V6
}

// leadWander is the respiratory baseline wander of each projected lead,
// relative to lead II's.
var leadWander = [maxMeasured]float64{0.6, 1, 0.8, 0.9, 0.9, 0.9, 0.8, 0.7}

// ecgNoise is the standard deviation of the noise on each recorded lead, mV.
const ecgNoise = 0.012

// ecgModel is a bed's cardiac model projected onto its leads.
type ecgModel struct {
	measured int                         // leads projected: 2 (I, II) or 8 (I, II, V1–V6)
	weight   [maxMeasured][nComp]float64 // mV per unit activation of each component
	wander   [maxMeasured]float64        // mV of baseline wander per unit of lung volume
	comp     [nComp]float64              // activations at the current instant (scratch)
	lead     [maxMeasured]float64        // projected leads at the current instant (scratch)
}

// newECGModel draws the patient's heart vectors: the electrical axes of the
// P wave, the QRS and the T wave, and the origin of their PVCs (right
// ventricular outflow tract, left-bundle-branch-block-like, or left
// ventricle, right-bundle-branch-block-like).
func newECGModel(rng *rand.Rand, p *patient, measured int) ecgModel {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	deg := math.Pi / 180
	axis := func(a, z float64) vec3 { return vec3{math.Cos(a * deg), math.Sin(a * deg), z} }
	qrs := u(15, 70) // frontal QRS axis, degrees
	dirs := [nComp]vec3{
		compP: axis(u(40, 70), 0),
		compQ: {-0.5, -0.3, -0.8}, // septal: rightward and anterior
		compR: axis(qrs, u(0.4, 0.8)),
		compS: {-0.4, -0.6, 0.6},                 // terminal: right, superior, posterior
		compT: axis(qrs-u(5, 25), u(-0.6, -0.4)), // roughly along the QRS, anterior
	}
	if rng.Float64() < 0.6 {
		dirs[compPVCR] = vec3{0.4, 0.9, 0.5} // RVOT: inferior axis, leftward, posterior
		dirs[compPVCS] = vec3{-0.5, -0.2, 0.6}
	} else {
		dirs[compPVCR] = vec3{-0.4, 0.7, -0.6} // left ventricle: inferior, rightward, anterior
		dirs[compPVCS] = vec3{0.6, -0.3, 0.4}
	}
	dirs[compPVCT] = vec3{-dirs[compPVCR][0], -dirs[compPVCR][1], -dirs[compPVCR][2]}
	// Lead II amplitude of each component in the single-lead model.
	ampII := [nComp]float64{
		p.sinus[0].amp, p.sinus[1].amp, p.sinus[2].amp, p.sinus[3].amp, p.sinus[4].amp,
		p.pvc[0].amp, p.pvc[1].amp, p.pvc[2].amp,
	}
	m := ecgModel{measured: measured}
	for k, d := range dirs {
		scale := ampII[k] / leadVectors[1].dot(d) // heart vector magnitude
		for l := range measured {
			m.weight[l][k] = scale * leadVectors[l].dot(d)
		}
	}
	for l := range measured {
		m.wander[l] = p.wander * leadWander[l]
	}
	return m
}

// gauss is exp(-x²/2), zero beyond 4 standard deviations as in wave.value.
func gauss(x float64) float64 {
	if x*x > 16 {
		return 0
	}
	return math.Exp(-0.5 * x * x)
}

// ecgLeads writes the bed's ECG leads at t, in mV, into out in the profile's
// lead order (I, II, III, aVR, aVL, aVF, V1–V6, as many as out holds).
func (b *bed) ecgLeads(t float64, out []float64) {
	m := &b.ecg12
	c := &m.comp
	*c = [nComp]float64{}
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
			for k, g := range b.p.pvc {
				c[compPVCR+k] += gauss((dt - g.at) / g.sd)
			}
			continue
		}
		qt := math.Sqrt(min(max(bt.sinusRR, 0.36), 1.44)) // Bazett
		for k, g := range b.p.sinus[:4] {
			c[k] += gauss((dt - g.at) / g.sd)
		}
		tw := b.p.sinus[4]
		c[compT] += gauss((dt - tw.at*qt) / (tw.sd * qt))
	}
	shape, _ := b.breathAt(t)
	sw := shape - 0.5
	for l := range m.measured {
		w := &m.weight[l]
		v := m.wander[l]*sw + ecgNoise*b.noise.NormFloat64()
		for k := range nComp {
			v += w[k] * c[k]
		}
		m.lead[l] = v
	}
	i, ii := m.lead[0], m.lead[1]
	derived := [6]float64{i, ii, ii - i, -(i + ii) / 2, i - ii/2, ii - i/2}
	n := copy(out, derived[:])
	if len(out) > n {
		copy(out[n:], m.lead[2:m.measured])
	}
}
