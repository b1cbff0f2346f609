package ecg

import "math"

// biquad is a second-order IIR section (direct form I), designed for the
// sampling rate by the bilinear transform (the RBJ audio-EQ formulas).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func lowPass(fs, f0, q float64) biquad {
	w := 2 * math.Pi * f0 / fs
	c, al := math.Cos(w), math.Sin(w)/(2*q)
	a0 := 1 + al
	return biquad{b0: (1 - c) / 2 / a0, b1: (1 - c) / a0, b2: (1 - c) / 2 / a0, a1: -2 * c / a0, a2: (1 - al) / a0}
}

func highPass(fs, f0, q float64) biquad {
	w := 2 * math.Pi * f0 / fs
	c, al := math.Cos(w), math.Sin(w)/(2*q)
	a0 := 1 + al
	return biquad{b0: (1 + c) / 2 / a0, b1: -(1 + c) / a0, b2: (1 + c) / 2 / a0, a1: -2 * c / a0, a2: (1 - al) / a0}
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}

func (f *biquad) reset(x float64) {
	// Settle on a constant input x: a high-pass outputs 0, a low-pass x.
	dc := (f.b0 + f.b1 + f.b2) / (1 + f.a1 + f.a2)
	f.x1, f.x2 = x, x
	f.y1, f.y2 = dc*x, dc*x
}

// qrsBand is the QRS-enhancing band-pass: 5 Hz high-pass (removes baseline
// wander and most of the P and T waves) and two 15 Hz low-passes (EMG and
// mains), the band of Pan and Tompkins.
type qrsBand struct{ hp, lp1, lp2 biquad }

func newQRSBand(fs float64) qrsBand {
	return qrsBand{hp: highPass(fs, 5, math.Sqrt2/2), lp1: lowPass(fs, 15, math.Sqrt2/2), lp2: lowPass(fs, 15, math.Sqrt2/2)}
}

func (b *qrsBand) step(x float64) float64 { return b.lp2.step(b.lp1.step(b.hp.step(x))) }

func (b *qrsBand) reset(x float64) { b.hp.reset(x); b.lp1.reset(0); b.lp2.reset(0) }

// bandDelay measures the band-pass's delay at fs, in samples: where its
// response to a QRS-like pulse (a 25 ms wide Gaussian) peaks, less where
// the pulse peaks.
func bandDelay(fs float64) int {
	b := newQRSBand(fs)
	n := int(fs) // 1 s
	c := n / 4
	sigma := 0.010 * fs
	best, at := 0.0, 0
	for i := range n {
		d := float64(i - c)
		y := math.Abs(b.step(math.Exp(-d * d / (2 * sigma * sigma))))
		if y > best {
			best, at = y, i
		}
	}
	return max(at-c, 0)
}
