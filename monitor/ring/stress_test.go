package ring

import (
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
)

// stressEnv names the environment variable that sets the number of samples
// TestStressSequence pushes through each ring, e.g. VIGIL_RING_STRESS=100000000.
// When it is set the test also records ring_stress_samples and
// ring_stress_dropped (totals over the rings it ran) for `make bench`.
const stressEnv = "VIGIL_RING_STRESS"

// stressSamples is how many samples each ring of TestStressSequence carries.
func stressSamples(t *testing.T) (n uint64, fromEnv bool) {
	if s, ok := os.LookupEnv(stressEnv); ok {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("%s=%q: want a positive number of samples", stressEnv, s)
		}
		return n, true
	}
	if testing.Short() {
		return 200_000, false
	}
	return 2_000_000, false
}

var stressTotal struct{ samples, dropped atomic.Uint64 }

// TestStressSequence runs one writer and one reader flat out (run it with
// -race). The writer pushes the sequence 0, 1, 2, ... in batches of 1 to 64
// samples; the reader drains continuously and checks every sample it gets:
//
//   - it decodes to a sequence number below Written (nothing torn or invented);
//   - within one Drain the numbers are consecutive;
//   - the gap before the first sample of a Drain (since the last sample seen)
//     equals exactly what Dropped grew by since then;
//   - at the end the last number is n-1 and seen + Dropped == n == Written.
//
// Both instantiations the monitor could use run: float64 carries i as
// float64(i); float32 carries i as the i-th positive float32 (the float32
// whose bits are i), so the value is exact far beyond 2^24 and a torn or
// stale slot decodes to the wrong number.
func TestStressSequence(t *testing.T) {
	n, fromEnv := stressSamples(t)
	t.Run("float64", func(t *testing.T) {
		stress(t, n,
			func(i uint64) float64 { return float64(i) },
			func(v float64) (uint64, bool) {
				i := uint64(v)
				return i, v >= 0 && float64(i) == v
			})
	})
	t.Run("float32", func(t *testing.T) {
		if n >= 0x7f80_0000 {
			t.Skipf("%d samples: the float32 encoding stops at %d", n, 0x7f80_0000)
		}
		stress(t, n,
			func(i uint64) float32 { return math.Float32frombits(uint32(i)) },
			func(v float32) (uint64, bool) {
				b := math.Float32bits(v)
				return uint64(b), b < 0x7f80_0000
			})
	})
	if fromEnv {
		benchout.Record("ring_stress_samples", float64(stressTotal.samples.Load()), "samples")
		benchout.Record("ring_stress_dropped", float64(stressTotal.dropped.Load()), "samples")
	}
}

func stress[T Sample](t *testing.T, n uint64, enc func(uint64) T, dec func(T) (uint64, bool)) {
	q := New[T](100) // not a power of two: 128 slots
	if q.Cap() != 128 {
		t.Fatalf("New(100).Cap() = %d, want 128", q.Cap())
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // the writer
		defer close(done)
		buf := make([]T, 64)
		x := uint64(0x9e3779b97f4a7c15)
		for i := uint64(0); i < n && !stop.Load(); {
			x ^= x << 13 // xorshift64
			x ^= x >> 7
			x ^= x << 17
			k := min(1+x%64, n-i)
			if k == 1 {
				q.Push(enc(i))
			} else {
				for j := range k {
					buf[j] = enc(i + j)
				}
				q.PushN(buf[:k])
			}
			i += k
		}
	}()
	defer func() { stop.Store(true); <-done }() // also when a check fails

	start := time.Now()
	var (
		next     uint64 // every number below next was seen or dropped
		seen     uint64
		drops    uint64 // Dropped after the last Drain
		pending  uint64 // drops not yet matched by a gap
		drains   uint64
		gapDrain uint64 // drains that found a gap
		dst      = make([]T, 0, q.Cap())
	)
	drain := func() {
		dst = q.Drain(dst[:0])
		drains++
		d := q.Dropped()
		pending += d - drops
		drops = d
		if len(dst) == 0 {
			return
		}
		first, ok := dec(dst[0])
		if !ok || first < next {
			t.Fatalf("drain %d: first sample %v (number %d, ok %v) after number %d", drains, dst[0], first, ok, next-1)
		}
		if gap := first - next; gap != pending {
			t.Fatalf("drain %d: %d samples missing before %d, but Dropped grew by %d", drains, gap, first, pending)
		} else if gap > 0 {
			gapDrain++
		}
		pending = 0
		for k, v := range dst {
			if i, ok := dec(v); !ok || i != first+uint64(k) {
				t.Fatalf("drain %d: sample %d is %v (number %d, ok %v), want number %d", drains, k, v, i, ok, first+uint64(k))
			}
		}
		next = first + uint64(len(dst))
		seen += uint64(len(dst))
		if w := q.Written(); next > w {
			t.Fatalf("drain %d: saw number %d but only %d written", drains, next-1, w)
		}
	}
	for {
		select {
		case <-done:
		default:
			drain()
			continue
		}
		break
	}
	drain() // everything after the writer's last batch
	el := time.Since(start)
	if w := q.Written(); w != n || next != n || pending != 0 || seen+q.Dropped() != n {
		t.Fatalf("written %d, next %d, unmatched drops %d, seen %d + dropped %d; want %d, %d, 0, sum %d",
			w, next, pending, seen, q.Dropped(), n, n, n)
	}
	stressTotal.samples.Add(n)
	stressTotal.dropped.Add(q.Dropped())
	t.Logf("%d samples in %v (%.1f M/s): %d seen, %d dropped in %d of %d drains",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds()/1e6, seen, q.Dropped(), gapDrain, drains)
}
