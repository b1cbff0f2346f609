package ring

import (
	"runtime"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
)

const block = 50 // samples per feed frame, as in the monitor

func BenchmarkPushDrain50(b *testing.B) {
	q := New[float32](4096)
	in := make([]float32, block)
	out := make([]float32, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		q.PushN(in)
		out = q.Drain(out[:0])
	}
}

// BenchmarkRingVsChan times, in the same run, moving 50-sample blocks through
// the ring and through a buffered chan [50]float32, the obvious alternative:
//
//   - same goroutine: PushN(50) then Drain, against a send then a receive;
//   - across goroutines: a producer pushes (sends) b.N blocks while a consumer
//     drains (receives) them. Both have room for 81 blocks and both deliver
//     every sample: the chan producer blocks when the buffer is full, and the
//     ring producer, which never blocks by itself, waits for Len to leave room
//     for a block, so nothing is dropped (checked). The ring's consumer polls
//     (yielding when empty), the chan's parks.
//
// Each part runs b.N blocks, in alternating rounds, under its own clock; the
// reported ns/op is the sum of the four parts. ring/chan is the same-goroutine
// ratio (below 1: the ring is faster), recorded with the per-block times and
// the allocations per PushN(50)+Drain for `make bench`.
func BenchmarkRingVsChan(b *testing.B) {
	var in [block]float32
	for i := range in {
		in[i] = float32(i)
	}
	q := New[float32](4096)
	out := make([]float32, 0, q.Cap())
	ch := make(chan [block]float32, 1)
	var got [block]float32
	var ringT, chanT, ringX, chanX time.Duration

	const rounds = 4
	for r := range rounds {
		k := b.N / rounds
		if r < b.N%rounds {
			k++
		}
		t0 := time.Now()
		for range k {
			q.PushN(in[:])
			out = q.Drain(out[:0])
		}
		t1 := time.Now()
		for range k {
			ch <- in
			got = <-ch
		}
		t2 := time.Now()
		ringT += t1.Sub(t0)
		chanT += t2.Sub(t1)
		ringX += ringCross(b, k, &in)
		chanX += chanCross(b, k, &in)
	}
	if len(out) != block || got != in {
		b.Fatalf("moved %d samples through the ring, %v through the chan", len(out), got[:3])
	}

	n := float64(b.N)
	ringNs, chanNs := float64(ringT.Nanoseconds())/n, float64(chanT.Nanoseconds())/n
	ringXNs, chanXNs := float64(ringX.Nanoseconds())/n, float64(chanX.Nanoseconds())/n
	allocs := testing.AllocsPerRun(1000, func() {
		q.PushN(in[:])
		out = q.Drain(out[:0])
	})
	b.ReportMetric(ringNs, "ring-ns/50")
	b.ReportMetric(chanNs, "chan-ns/50")
	b.ReportMetric(ringNs/chanNs, "ring/chan")
	b.ReportMetric(ringXNs, "ring-cross-ns/50")
	b.ReportMetric(chanXNs, "chan-cross-ns/50")
	b.ReportMetric(ringXNs/chanXNs, "ring/chan-cross")
	benchout.Record("ring_vs_chan_ratio", ringNs/chanNs, "ratio")
	benchout.Record("ring_allocs_per_op", allocs, "allocs")
	benchout.Record("ring_push_drain_50_ns", ringNs, "ns")
	benchout.Record("chan_send_recv_50_ns", chanNs, "ns")
	benchout.Record("ring_vs_chan_cross_ratio", ringXNs/chanXNs, "ratio")
}

// ringCross moves k blocks from this goroutine to a draining one, losslessly.
func ringCross(b *testing.B, k int, in *[block]float32) time.Duration {
	q := New[float32](4096)
	room := q.Cap() - block
	total := uint64(k) * block
	done := make(chan uint64)
	start := time.Now()
	go func() {
		out := make([]float32, 0, q.Cap())
		var seen uint64
		for seen < total {
			out = q.Drain(out[:0])
			if len(out) == 0 {
				runtime.Gosched()
			}
			seen += uint64(len(out))
		}
		done <- seen
	}()
	for range k {
		for q.Len() > room {
			runtime.Gosched()
		}
		q.PushN(in[:])
	}
	seen := <-done
	el := time.Since(start)
	if seen != total || q.Dropped() != 0 {
		b.Fatalf("ring across goroutines: %d of %d samples, %d dropped", seen, total, q.Dropped())
	}
	return el
}

// chanCross moves k blocks from this goroutine to a receiving one.
func chanCross(b *testing.B, k int, in *[block]float32) time.Duration {
	ch := make(chan [block]float32, 4096/block)
	done := make(chan uint64)
	start := time.Now()
	go func() {
		var seen uint64
		for blk := range ch {
			seen += uint64(len(blk))
		}
		done <- seen
	}()
	for range k {
		ch <- *in
	}
	close(ch)
	seen := <-done
	el := time.Since(start)
	if seen != uint64(k)*block {
		b.Fatalf("chan across goroutines: %d of %d samples", seen, uint64(k)*block)
	}
	return el
}
