package ring

import (
	"math"
	"sync"
	"testing"
	"time"
)

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

// TestConcurrentSequence runs a writer and a reader at once (run with -race):
// every sample the reader sees is greater than the previous one, and samples
// seen plus samples dropped equals samples written.
func TestConcurrentSequence(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	q := New[float64](1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]float64, 50)
		for i := 0; i < n; i += len(buf) {
			for j := range buf {
				buf[j] = float64(i + j)
			}
			q.PushN(buf)
		}
	}()
	seen, last := 0, -1.0
	var dst []float64
	check := func() {
		dst = q.Drain(dst[:0])
		for _, v := range dst {
			if v <= last {
				t.Fatalf("sample %v after %v: out of order", v, last)
			}
			last = v
		}
		seen += len(dst)
	}
	for q.Written() < uint64(n) {
		check()
	}
	wg.Wait()
	check()
	if uint64(seen)+q.Dropped() != uint64(n) {
		t.Fatalf("seen %d + dropped %d != written %d", seen, q.Dropped(), n)
	}
	if last != float64(n-1) {
		t.Fatalf("last sample %v, want %d", last, n-1)
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

func BenchmarkPushDrain50(b *testing.B) {
	q := New[float32](4096)
	in := make([]float32, 50)
	out := make([]float32, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		q.PushN(in)
		out = q.Drain(out[:0])
	}
}
