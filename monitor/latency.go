package monitor

import (
	"sync/atomic"
	"time"
)

// Latency buckets: 0.25 ms wide up to 100 ms, 5 ms wide up to 2 s, then one
// overflow bucket. Fine where the targets are (tens of ms), coarse beyond.
const (
	fineStep    = 250 * time.Microsecond
	fineBuckets = 400 // 0..100 ms
	coarseStep  = 5 * time.Millisecond
	coarseCount = 380 // 100 ms..2 s
	latBuckets  = fineBuckets + coarseCount + 1
)

// LatencyHist counts frame latencies, from the moment the frame's last
// sample existed at the device (start time + duration) to its write into the
// display rings. The writer adds; anyone may snapshot.
type LatencyHist struct {
	b      [latBuckets]atomic.Uint64
	skewed atomic.Uint64 // frames that arrived "before" they ended: device clock ahead
}

func bucketOf(d time.Duration) int {
	switch {
	case d < fineBuckets*fineStep:
		return int(d / fineStep)
	case d < fineBuckets*fineStep+coarseCount*coarseStep:
		return fineBuckets + int((d-fineBuckets*fineStep)/coarseStep)
	}
	return latBuckets - 1
}

// upper is the upper edge of bucket i (the value a quantile reports).
func upper(i int) time.Duration {
	if i < fineBuckets {
		return time.Duration(i+1) * fineStep
	}
	return fineBuckets*fineStep + time.Duration(i-fineBuckets+1)*coarseStep
}

// Add records one latency. A negative one (device clock ahead of the
// station's) counts in bucket 0 and as skewed.
func (h *LatencyHist) Add(d time.Duration) {
	if d < 0 {
		h.skewed.Add(1)
		d = 0
	}
	h.b[bucketOf(d)].Add(1)
}

// LatencySnapshot is a copy of the counts at one moment.
type LatencySnapshot struct {
	Counts [latBuckets]uint64
	Skewed uint64
}

// Snapshot copies the counts.
func (h *LatencyHist) Snapshot() LatencySnapshot {
	var s LatencySnapshot
	for i := range h.b {
		s.Counts[i] = h.b[i].Load()
	}
	s.Skewed = h.skewed.Load()
	return s
}

// Sub returns the counts added between prev and s.
func (s LatencySnapshot) Sub(prev LatencySnapshot) LatencySnapshot {
	var d LatencySnapshot
	for i := range s.Counts {
		d.Counts[i] = s.Counts[i] - prev.Counts[i]
	}
	d.Skewed = s.Skewed - prev.Skewed
	return d
}

// Total is the number of latencies counted.
func (s LatencySnapshot) Total() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Quantile returns the latency below which a fraction q of the counts fall
// (the upper edge of that bucket); 0 when empty.
func (s LatencySnapshot) Quantile(q float64) time.Duration {
	n := s.Total()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = max(rank, 1)
	var acc uint64
	for i, c := range s.Counts {
		acc += c
		if acc >= rank {
			return upper(i)
		}
	}
	return upper(latBuckets - 1)
}
