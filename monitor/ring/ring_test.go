package ring

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchout.Print()
	os.Exit(code)
}

func TestDrainInOrder(t *testing.T) {
	q := New[float32](8)
	q.PushN([]float32{1, 2, 3})
	got := q.Drain(nil)
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("Drain = %v, want [1 2 3]", got)
	}
	if got := q.Drain(nil); len(got) != 0 {
		t.Fatalf("second Drain = %v, want empty", got)
	}
}

func TestOverwriteCountsDrops(t *testing.T) {
	q := New[float32](8)
	for i := 0; i < 13; i++ {
		q.Push(float32(i))
	}
	got := q.Drain(nil)
	if len(got) != 8 || got[0] != 5 || got[7] != 12 {
		t.Fatalf("Drain = %v, want 5..12", got)
	}
	if q.Dropped() != 5 {
		t.Fatalf("Dropped = %d, want 5", q.Dropped())
	}
}

func TestNaNRoundTrips(t *testing.T) {
	q := New[float32](4)
	q.Push(float32(math.NaN()))
	if got := q.Drain(nil); !math.IsNaN(float64(got[0])) {
		t.Fatalf("got %v, want NaN", got)
	}
}

func seq(from, to int) []float64 {
	s := make([]float64, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, float64(i))
	}
	return s
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWorkedExample replays the example in the package documentation,
// including the Drain that the writer laps while it copies: that interleaving
// is staged by hand (wi advanced and slots overwritten between the copy and
// the check is what a concurrent PushN does), so the torn copy is certain.
func TestWorkedExample(t *testing.T) {
	q := New[float64](8)
	step := func(name string, got, want []float64, w, r, dropped uint64) {
		t.Helper()
		if !equal(got, want) || q.Written() != w || q.r.Load() != r || q.Dropped() != dropped {
			t.Fatalf("%s: Drain %v w %d r %d dropped %d; want %v w %d r %d dropped %d",
				name, got, q.Written(), q.r.Load(), q.Dropped(), want, w, r, dropped)
		}
	}
	q.PushN(seq(0, 3))
	q.PushN(seq(3, 7))
	step("first", q.Drain(nil), seq(0, 7), 7, 7, 0)
	q.PushN(seq(7, 13))
	q.PushN(seq(13, 17))
	if q.Len() != 8 {
		t.Fatalf("Len = %d after the lap, want 8", q.Len())
	}
	step("lapped", q.Drain(nil), seq(9, 17), 17, 17, 2)
	q.PushN(seq(17, 23))

	// The writer's PushN(23..27) as it would land in the middle of the copy:
	// wi first, then three of its slot stores (slots 7, 0, 1), w not yet.
	q.wi.Store(28)
	for p := uint64(23); p < 26; p++ {
		q.slots[p&q.mask].Store(math.Float64bits(float64(p)))
	}
	got := q.Drain(nil) // the copy of slot 1 reads 25, not 17
	step("torn", got, seq(20, 23), 23, 23, 5)
	for p := uint64(26); p < 28; p++ {
		q.slots[p&q.mask].Store(math.Float64bits(float64(p)))
	}
	q.w.Store(28)
	step("after", q.Drain(nil), seq(23, 28), 28, 28, 5)
}

// TestDrainDiscardsWhatTheWriterBegan: a batch the writer has announced (wi)
// but not finished makes every unread position that shares a slot with it
// suspect, even if the slot still holds the old value.
func TestDrainDiscardsWhatTheWriterBegan(t *testing.T) {
	q := New[float64](8)
	q.PushN(seq(0, 6))
	q.wi.Store(6 + 5) // a PushN of 5 has begun: positions 6..10 reach slots 6, 7, 0, 1, 2
	got := q.Drain(nil)
	if !equal(got, seq(3, 6)) || q.Dropped() != 3 {
		t.Fatalf("Drain = %v dropped %d, want [3 4 5] dropped 3", got, q.Dropped())
	}
}

func TestPushNLongerThanCap(t *testing.T) {
	q := New[float64](8)
	q.Push(-1)
	q.PushN(seq(0, 21))
	got := q.Drain([]float64{42})
	if !equal(got, append([]float64{42}, seq(13, 21)...)) || q.Dropped() != 14 || q.Written() != 22 {
		t.Fatalf("Drain = %v dropped %d written %d, want [42 13..20] dropped 14 written 22",
			got, q.Dropped(), q.Written())
	}
}

// TestWrapAtEveryOffset pushes and drains batches of every length at every
// slot offset, so each split of a batch across the end of the slots is seen.
func TestWrapAtEveryOffset(t *testing.T) {
	q := New[float64](8)
	next := 0
	var dst []float64
	for off := 0; off < 8; off++ {
		for n := 0; n <= 8; n++ {
			q.Skip()
			for range off {
				q.Push(-1)
			}
			q.Skip()
			q.PushN(seq(next, next+n))
			dst = q.Drain(dst[:0])
			if !equal(dst, seq(next, next+n)) {
				t.Fatalf("offset %d length %d: Drain = %v", off, n, dst)
			}
			next += n
		}
	}
	if q.Dropped() != 0 {
		t.Fatalf("Dropped = %d, want 0", q.Dropped())
	}
}

func TestNewRoundsUp(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{-5, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 4}, {8, 8}, {100, 128}, {1000, 1024}, {1025, 2048},
	} {
		q := New[float32](c.in)
		if q.Cap() != c.want {
			t.Errorf("New(%d).Cap() = %d, want %d", c.in, q.Cap(), c.want)
		}
		for i := range c.want + 3 {
			q.Push(float32(i))
		}
		got := q.Drain(nil)
		if len(got) != c.want || got[0] != 3 || q.Dropped() != 3 {
			t.Errorf("New(%d): after %d pushes Drain = %v dropped %d", c.in, c.want+3, got, q.Dropped())
		}
	}
}

// TestNewHugeCapacity: rounding up used to double an int until it reached
// the capacity, which for capacities above 2^62 overflows to 0 and spins
// forever. It must panic at once instead.
func TestNewHugeCapacity(t *testing.T) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		New[float32](math.MaxInt)
	}()
	select {
	case p := <-done:
		if p == nil {
			t.Fatal("New(MaxInt) returned; want a panic")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("New(MaxInt) still running after 5s")
	}
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	q := New[float32](1024)
	in := make([]float32, 50)
	out := make([]float32, 0, q.Cap())
	if a := testing.AllocsPerRun(1000, func() {
		q.Push(1)
		q.PushN(in)
		out = q.Drain(out[:0])
		_ = q.Len()
	}); a != 0 {
		t.Fatalf("%v allocations per Push+PushN+Drain, want 0", a)
	}
}
