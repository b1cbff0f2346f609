// Package ring is a single-producer, single-consumer lock-free ring of samples
// for the display path: the writer (the feed's ordered MQTT handler) never
// blocks, the reader (the UI's render tick) drains everything new in one call,
// and when the reader falls behind the oldest samples are overwritten and
// counted, never silently lost.
//
// Positions are 64-bit counters that never wrap in practice; a slot is
// pos & mask. Every slot is an atomic word, so a reader copying a slot that the
// writer overwrites at the same moment is race-free; the reader then re-reads
// the write position and discards what may have been overwritten under it.
//
// Worked example, capacity 8 (mask 7), reader at r=3, writer at w=13:
//
//	slot:      0    1    2    3    4    5    6    7
//	holds pos: 8    9   10   11   12    5    6    7
//	                                    ^ oldest still held: w-cap = 5
//
//	Drain: avail = w-r = 10 > cap 8, so positions 3 and 4 were overwritten:
//	       dropped += 2, r = 5; copy positions 5..12 (slots 5,6,7,0,1,2,3,4).
//	       Then read wi, the end of the batch the writer has begun: if it is 15,
//	       positions below wi-cap = 7 (5 and 6) may hold newer data: drop
//	       those 2 too, keep 7..12. (w alone is not enough: PushN stores a
//	       whole batch of slots before it advances w.)
//	       Finally r = 13.
//
// Values are stored as float64 bits, so float32 and float64 samples (NaN marks
// a gap or invalid sample) round-trip exactly.
package ring

import (
	"math"
	"math/bits"
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
	r     atomic.Uint64 // written by the reader only; atomic so Len and Dropped are safe anywhere
	_     [56]byte
	drop  atomic.Uint64
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

// Cap is the number of samples the ring holds.
func (q *Ring[T]) Cap() int { return len(q.slots) }

// Push appends one sample. Writer only. Never blocks, never allocates.
func (q *Ring[T]) Push(v T) {
	w := q.w.Load()
	q.wi.Store(w + 1)
	q.slots[w&q.mask].Store(math.Float64bits(float64(v)))
	q.w.Store(w + 1)
}

// PushN appends samples in order. Writer only.
func (q *Ring[T]) PushN(vs []T) {
	w := q.w.Load()
	q.wi.Store(w + uint64(len(vs)))
	for i, v := range vs {
		q.slots[(w+uint64(i))&q.mask].Store(math.Float64bits(float64(v)))
	}
	q.w.Store(w + uint64(len(vs)))
}

// Written is the total number of samples ever pushed.
func (q *Ring[T]) Written() uint64 { return q.w.Load() }

// Dropped is the number of samples overwritten before the reader took them.
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
// counted in Dropped and left out, so dst never holds a torn sequence.
func (q *Ring[T]) Drain(dst []T) []T {
	r := q.r.Load()
	w := q.w.Load()
	size := uint64(len(q.slots))
	if w-r > size {
		q.drop.Add(w - r - size)
		r = w - size
	}
	start := len(dst)
	for p := r; p < w; p++ {
		dst = append(dst, T(math.Float64frombits(q.slots[p&q.mask].Load())))
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
func (q *Ring[T]) Skip() { q.r.Store(q.w.Load()) }
