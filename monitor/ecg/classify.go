package ecg

import "math"

// Class is a beat's origin as the classifier judges it.
type Class int8

// Classes.
const (
	ClassNormal      Class = iota // supraventricular: like the dominant beat
	ClassVentricular              // wide, or premature and unlike the dominant beat
	ClassUnknown                  // not judged (found late, its signal no longer kept)
)

// The classifier sorts beats into morphology clusters on a wide-band copy
// of the lead (1–35 Hz, where a QRS keeps its shape), aligned by
// cross-correlation. The cluster that has taken the most recent beats is
// the dominant, supraventricular rhythm; a beat of another cluster is
// ventricular when its QRS is clearly wider than the dominant one, or when
// it comes early and looks unlike it.
//
//	beat ─ window −100…+150 ms ─ best cluster (corr ≥ 0.85, amplitude within ×0.6–1.6)
//	                                 │ none: a new cluster (the least used one is recycled)
//	                                 └ dominant? N : wide (≥ 1.3×, ≥ +20 ms) or early & unlike? V : N
const (
	maxClusters  = 8
	clusterCorr  = 0.85
	learnBeats   = 8
	wideRatio    = 1.3
	earlyRatio   = 0.85
	unlikeCorr   = 0.7
	countDecay   = 0.98
	templateRate = 0.05
)

type cluster struct {
	tmpl   []float64
	width  float64 // mean QRS width, samples
	amp    float64 // mean peak-to-peak amplitude
	weight float64 // recent beats (decaying count)
	used   bool
}

type classifier struct {
	fs         float64
	wide       qrsWide
	ring       []float64 // wide-band samples (ring, same size as the detector's)
	pre, post  int       // window before and after R, samples
	lagMax     int       // alignment search, samples
	clusters   [maxClusters]cluster
	win, cand  []float64
	beats      int
	rrAvg      float64
	pending    [4]pendingShape // shapes of peaks not taken for beats, newest last
	lastR      int64
	haveLast   bool
	widthFloor float64 // +20 ms, samples
}

// qrsWide keeps the QRS's shape: 1 Hz high-pass, 35 Hz low-pass.
type qrsWide struct{ hp, lp biquad }

func newClassifier(fs float64, ringSize int) classifier {
	c := classifier{fs: fs, wide: qrsWide{hp: highPass(fs, 1, math.Sqrt2/2), lp: lowPass(fs, 35, math.Sqrt2/2)}}
	c.ring = make([]float64, ringSize)
	c.pre, c.post = int(math.Round(0.10*fs)), int(math.Round(0.15*fs))
	c.lagMax = int(math.Round(0.04 * fs))
	c.win = make([]float64, c.pre+c.post+1)
	c.cand = make([]float64, c.pre+c.post+1)
	c.widthFloor = 0.020 * fs
	for i := range c.clusters {
		c.clusters[i].tmpl = make([]float64, len(c.win))
	}
	return c
}

// push keeps the wide-band copy of sample n.
func (c *classifier) push(n int64, x float64, mask int64) {
	if n == 0 {
		c.wide.hp.reset(x)
		c.wide.lp.reset(0)
	}
	c.ring[n&mask] = c.wide.lp.step(c.wide.hp.step(x))
}

// window copies the wide-band samples around r shifted by lag into dst.
func (c *classifier) window(dst []float64, r int64, lag int, oldest, newest int64, mask int64) bool {
	from := r + int64(lag) - int64(c.pre)
	to := r + int64(lag) + int64(c.post)
	if from < oldest || to > newest {
		return false
	}
	for i := range dst {
		dst[i] = c.ring[(from+int64(i))&mask]
	}
	return true
}

// width is the QRS width in a window: the span, around the R peak, where
// the slope stays above a sixth of its largest value.
func (c *classifier) width(w []float64) (width, p2p float64) {
	maxS := 0.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 1; i < len(w); i++ {
		maxS = max(maxS, math.Abs(w[i]-w[i-1]))
	}
	for _, v := range w {
		lo, hi = min(lo, v), max(hi, v)
	}
	first, last := -1, -1
	for i := 1; i < len(w); i++ {
		if math.Abs(w[i]-w[i-1]) >= maxS/6 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return float64(last - first + 1), hi - lo
}

// classify judges the beat with R peak r; oldest and newest bound the
// samples still in the ring.
func (c *classifier) classify(r, oldest, newest, mask int64) (cls Class, width, dominant float64) {
	rr := 0.0
	if c.haveLast {
		rr = float64(r - c.lastR)
	}
	c.lastR, c.haveLast = r, true
	if !c.window(c.win, r, 0, oldest, newest, mask) {
		return ClassUnknown, 0, 0
	}
	// The best-matching cluster, over the alignment lags.
	best, bestCorr, bestLag := -1, -1.0, 0
	for lag := -c.lagMax; lag <= c.lagMax; lag++ {
		if !c.window(c.cand, r, lag, oldest, newest, mask) {
			continue
		}
		for k := range c.clusters {
			cl := &c.clusters[k]
			if !cl.used {
				continue
			}
			if v := correlate(c.cand, cl.tmpl); v > bestCorr {
				best, bestCorr, bestLag = k, v, lag
			}
		}
	}
	if best >= 0 {
		c.window(c.win, r, bestLag, oldest, newest, mask)
	}
	w, p2p := c.width(c.win)
	if best >= 0 && bestCorr >= clusterCorr && p2p > 0.6*c.clusters[best].amp && p2p < 1.6*c.clusters[best].amp &&
		w < wideRatio*c.clusters[best].width+c.widthFloor {
		cl := &c.clusters[best]
		for i, v := range c.win {
			cl.tmpl[i] += templateRate * (v - cl.tmpl[i])
		}
		cl.width += templateRate * (w - cl.width)
		cl.amp += templateRate * (p2p - cl.amp)
	} else {
		// A new shape: recycle the least used cluster.
		best = 0
		for k := range c.clusters {
			if !c.clusters[k].used {
				best = k
				break
			}
			if c.clusters[k].weight < c.clusters[best].weight {
				best = k
			}
		}
		cl := &c.clusters[best]
		copy(cl.tmpl, c.win)
		cl.width, cl.amp, cl.weight, cl.used = w, p2p, 0, true
	}
	heaviest := 0.0
	for k := range c.clusters {
		c.clusters[k].weight *= countDecay
		if k == best {
			c.clusters[k].weight++
		}
		heaviest = max(heaviest, c.clusters[k].weight)
	}
	// The dominant rhythm: the narrowest of the clusters that hold a good
	// share of the recent beats (in a bigeminy the ectopic cluster is as
	// heavy as the normal one, and wider).
	dom := -1
	for k := range c.clusters {
		cl := &c.clusters[k]
		if cl.used && cl.weight >= 0.3*heaviest && (dom < 0 || cl.width < c.clusters[dom].width) {
			dom = k
		}
	}
	c.beats++
	early := rr > 0 && c.rrAvg > 0 && rr < earlyRatio*c.rrAvg
	cls = ClassNormal
	if c.beats > learnBeats && best != dom {
		d := &c.clusters[dom]
		wide := w >= wideRatio*d.width && w >= d.width+c.widthFloor
		if wide || early && correlate(c.win, d.tmpl) < unlikeCorr {
			cls = ClassVentricular
		}
	}
	if rr > 0 && cls == ClassNormal {
		if c.rrAvg == 0 {
			c.rrAvg = rr
		}
		c.rrAvg += 0.125 * (rr - c.rrAvg)
	}
	return cls, w / c.fs, c.clusters[dom].width / c.fs
}

func correlate(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var ab, aa, bb float64
	for i := range a {
		x, y := a[i]-ma, b[i]-mb
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// pendingShape is a peak's shape that was not taken for a beat.
type pendingShape struct {
	tmpl []float64
	amp  float64
	at   int64 // its R peak
}

// recurs reports whether the shape about r is one seen before: like one
// of the clusters' beats, or like a shape that recurs saw in the last 10 s
// and refused (which it then forgets). A shape seen nowhere is kept for
// the next calls.
func (c *classifier) recurs(r, oldest, newest, mask int64) bool {
	if !c.window(c.win, r, 0, oldest, newest, mask) {
		return true // cannot judge: as before
	}
	_, p2p := c.width(c.win)
	like := func(tmpl []float64, amp float64) bool {
		if p2p <= 0.6*amp || p2p >= 1.6*amp {
			return false
		}
		for lag := -c.lagMax; lag <= c.lagMax; lag++ {
			if c.window(c.cand, r, lag, oldest, newest, mask) && correlate(c.cand, tmpl) >= clusterCorr {
				return true
			}
		}
		return false
	}
	for k := range c.clusters {
		if cl := &c.clusters[k]; cl.used && like(cl.tmpl, cl.amp) {
			return true
		}
	}
	recent := r - int64(10*c.fs)
	for k := range c.pending {
		if ps := &c.pending[k]; ps.tmpl != nil && ps.at >= recent && like(ps.tmpl, ps.amp) {
			ps.at = -1 << 62
			return true
		}
	}
	first := c.pending[0]
	copy(c.pending[:], c.pending[1:])
	if first.tmpl == nil {
		first.tmpl = make([]float64, len(c.win))
	}
	copy(first.tmpl, c.win)
	first.amp, first.at = p2p, r
	c.pending[len(c.pending)-1] = first
	return false
}
