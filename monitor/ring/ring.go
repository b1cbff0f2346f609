// Package ring is a single-producer, single-consumer lock-free ring of samples
// for the display path: the writer (the feed's ordered MQTT handler) never
// blocks, the reader (the UI's render tick) drains everything new in one call,
// and when the reader falls behind the oldest samples are overwritten and
// counted, never silently lost.
//
// # Layout
//
// A ring of capacity C (a power of two; New rounds up) has C slots and three
// counters of positions, each counting samples since New:
//
//	w   samples below w are completely written (advanced after a batch)
//	wi  samples below wi may be being written (advanced before a batch; w <= wi)
//	r   samples below r were drained, dropped or skipped (reader only)
//
// Position p lives in slot p & (C-1), so p and p+C share a slot. Every slot is
// an atomic word holding a sample's float64 bits: float32 and float64 samples
// (NaN marks a gap or an invalid sample) round-trip exactly.
//
// # Worked example, capacity 8
//
// The writer pushes the values 0, 1, 2, ... so a slot shows the position it
// holds; "." is a slot never written.
//
//	                      slot: 0  1  2  3  4  5  6  7     r   w  dropped
//	New(8)                      .  .  .  .  .  .  .  .     0   0     0
//	PushN(0 1 2)                0  1  2  .  .  .  .  .     0   3     0
//	PushN(3 4 5 6)              0  1  2  3  4  5  6  .     0   7     0
//	Drain -> [0 1 2 3 4 5 6]    0  1  2  3  4  5  6  .     7   7     0
//	PushN(7 .. 12)              8  9 10 11 12  5  6  7     7  13     0
//	                               (8..12 wrapped into slots 0..4)
//	PushN(13 14 15 16)         16  9 10 11 12 13 14 15     7  17     0
//	                               (the writer lapped the reader:
//	                                7 and 8 were overwritten by 15 and 16)
//	Drain -> [9 .. 16]         16  9 10 11 12 13 14 15    17  17     2
//	                               (w-r = 10 > 8: the 2 oldest unread
//	                                are gone; count them, copy 9..16)
//
// The writer can also lap the reader while Drain is copying. Continue with
// PushN(17 .. 22), so w = 23 and slots 1..6 hold 17..22. Drain loads r = 17 and
// w = 23 and starts copying slots 1..6; meanwhile the writer runs
// PushN(23 .. 27): it stores wi = 28, then overwrites slots 7, 0, 1, 2, 3
// (positions 15, 16, 17, 18, 19), then stores w = 28. The copy may hold
// [25 26 27 20 21 22], or 17 here and 26 there: whatever it got, Drain then
// loads wi = 28, and every position below wi-8 = 20 shares a slot with a
// position the writer may have stored, so 17, 18 and 19 are discarded and
// counted (dropped = 5), Drain returns [20 21 22] and r = 23. The discard is
// conservative: the copy of 17 may have been taken before the overwrite.
//
// # Why the reader can detect an overwrite
//
// Go's atomic operations are sequentially consistent. The writer stores wi
// before the first slot of a batch and w after the last, and the reader loads
// w before it copies and wi after. Every position p it copies (w-C <= p < w)
// was completely written before w was published, so the only other value its
// slot can hold is that of some position q >= p+C. If the reader's load of the slot observed the
// store of q, everything the writer did before that store, including
// wi = (end of q's batch) > q >= p+C, is visible to the reader's later load of
// wi. So if the reader then sees wi <= p+C, the copy of p is p's own value.
// Positions below wi-C are the ones it cannot vouch for, and those are dropped.
//
// # Accounting
//
// Dropped grows when Drain notices a loss, not when the writer overwrites.
// After the writer stops and the reader drains once more, the samples the
// reader got plus Dropped equal Written (less anything Skip discarded). The
// samples one Drain returns are consecutive, and the ones it drops come right
// before its first (or, if it returns none, before the next Drain's first), so
// a reader can tell exactly where the gaps are.
package ring

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
)

// Sample is what a ring can hold.
type Sample interface{ ~float32 | ~float64 }

// Ring is a single-producer, single-consumer ring. The zero value is not
// usable; call New.
type Ring[T Sample] struct {
	_     [64]byte      // keep the hot counters off neighbouring cache lines
	w     atomic.Uint64 // positions below w are written
	wi    atomic.Uint64 // positions below wi may be being written (w <= wi)
	_     [48]byte
	r     atomic.Uint64 // written by the reader only; atomic so Len is safe anywhere
	drop  atomic.Uint64 // written by the reader only, next to r
	_     [48]byte
	slots []atomic.Uint64
	mask  uint64
}

// maxCapacity bounds New: beyond it the rounded-up size would not fit in an int.
const maxCapacity = 1 << (bits.UintSize - 2)

// New returns a ring holding at least capacity samples: capacity rounded up to
// a power of two, and at least 1. It panics if capacity is above 2^62 (2^30 on
// 32-bit platforms); make panics well before that for lack of memory.
func New[T Sample](capacity int) *Ring[T] {
	if capacity > maxCapacity {
		panic("ring: capacity too large")
	}
	n := 1
	if capacity > 1 {
		n = 1 << bits.Len(uint(capacity-1))
	}
	return &Ring[T]{slots: make([]atomic.Uint64, n), mask: uint64(n - 1)}
}

// Cap is the number of samples the ring holds (a power of two).
func (q *Ring[T]) Cap() int { return len(q.slots) }

// Push appends one sample. Writer only. Never blocks, never allocates.
func (q *Ring[T]) Push(v T) {
	w := q.w.Load()
	q.wi.Store(w + 1)
	q.slots[w&q.mask].Store(math.Float64bits(float64(v)))
	q.w.Store(w + 1)
}

// PushN appends samples in order. Writer only. Never blocks, never allocates.
func (q *Ring[T]) PushN(vs []T) {
	w := q.w.Load()
	end := w + uint64(len(vs))
	q.wi.Store(end)
	if len(vs) > len(q.slots) {
		// The older ones would be overwritten by this very call; no reader
		// can take them (they are below end-Cap, and below wi-Cap meanwhile).
		vs = vs[len(vs)-len(q.slots):]
	}
	i := int((end - uint64(len(vs))) & q.mask)
	head := q.slots[i:min(i+len(vs), len(q.slots))]
	src := vs[:len(head)]
	for k := range head {
		head[k].Store(math.Float64bits(float64(src[k])))
	}
	src = vs[len(head):]
	tail := q.slots[:len(src)]
	for k := range tail {
		tail[k].Store(math.Float64bits(float64(src[k])))
	}
	q.w.Store(end)
}

// Written is the total number of samples ever pushed.
func (q *Ring[T]) Written() uint64 { return q.w.Load() }

// Dropped is the number of samples Drain found overwritten, or possibly
// overwritten, before it could take them. It is updated by Drain (see the
// package documentation), so it lags while the reader is not draining.
func (q *Ring[T]) Dropped() uint64 { return q.drop.Load() }

// Len is the number of unread samples (at most Cap).
func (q *Ring[T]) Len() int {
	n := q.w.Load() - q.r.Load()
	if n > uint64(len(q.slots)) {
		n = uint64(len(q.slots))
	}
	return int(n)
}

// Drain appends every unread sample to dst, oldest first, and returns it.
// Reader only. Samples the writer overwrote before or during the copy are
// counted in Dropped and left out, so dst never holds a torn sequence. It does
// not allocate when dst has room for Cap more samples.
func (q *Ring[T]) Drain(dst []T) []T {
	r := q.r.Load()
	w := q.w.Load()
	if w == r {
		return dst // nothing new: no stores, so a polling reader stays cheap
	}
	size := uint64(len(q.slots))
	if w-r > size {
		q.drop.Add(w - r - size)
		r = w - size
	}
	start := len(dst)
	n := int(w - r)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	i := int(r & q.mask)
	head := q.slots[i:min(i+n, len(q.slots))]
	o := out[:len(head)]
	for k := range head {
		o[k] = T(math.Float64frombits(head[k].Load()))
	}
	o = out[len(head):]
	tail := q.slots[:len(o)]
	for k := range tail {
		o[k] = T(math.Float64frombits(tail[k].Load()))
	}
	// Anything the writer lapped, or began to, while we copied is suspect:
	// position p shares its slot with p+size, so p is safe only if the writer
	// has not started on p+size (wi counts slots it may be storing into now).
	if wi := q.wi.Load(); wi-r > size {
		lost := min(wi-r-size, w-r)
		q.drop.Add(lost)
		dst = append(dst[:start], dst[start+int(lost):]...)
	}
	q.r.Store(w)
	return dst
}

// Skip discards every unread sample without counting them as dropped: for a
// reader that resynchronises on purpose (for example a view that was hidden).
// Reader only.
func (q *Ring[T]) Skip() { q.r.Store(q.w.Load()) }
