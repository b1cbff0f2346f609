package waveform

import (
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// paceRun feeds a pacer bursts of burst seconds every period (plus a random
// lateness up to jitter), with the sender's clock running drift faster, and
// ticks it every frame for dur. It returns what each tick released, the
// buffered seconds after each tick, the samples sent and the underruns.
type paceResult struct {
	released []int
	buffered []float64
	sent     int
	drawn    int
	under    uint64
}

func paceRun(rate float64, burst, period, frame, jitter, drift, dur time.Duration, seed uint64) paceResult {
	var p pacer
	rng := rand.New(rand.NewPCG(seed, 1))
	t0 := time.Unix(1_700_000_000, 0)
	var res paceResult
	pending := 0
	nextSend := time.Duration(0)
	sendNo := 0
	perBurst := int(math.Round(burst.Seconds() * rate * (1 + drift.Seconds())))
	due := time.Duration(0) // arrival of the next burst, lateness included
	for now := time.Duration(0); now < dur; now += frame {
		arrived := 0
		for due <= now {
			arrived += perBurst
			sendNo++
			nextSend = time.Duration(sendNo) * period
			due = nextSend
			if jitter > 0 {
				due += time.Duration(rng.Int64N(int64(jitter)))
			}
		}
		pending += arrived
		res.sent += arrived
		p.arrived(arrived, rate)
		k := p.release(t0.Add(now), pending, rate)
		pending -= k
		res.drawn += k
		res.released = append(res.released, k)
		res.buffered = append(res.buffered, float64(pending)/rate)
	}
	res.under = p.underruns
	return res
}

// A feed of 200 ms frames, drawn at 25 fps, sweeps smoothly: after the
// start every frame draws 40 ms worth (10 ECG samples, give or take the
// trimming of surplus delay), never a whole burst, and it never runs dry.
func TestPaceSmoothSweep(t *testing.T) {
	r := paceRun(250, 200*time.Millisecond, 200*time.Millisecond, 40*time.Millisecond, 0, 0, 60*time.Second, 1)
	if r.under != 0 {
		t.Fatalf("%d underruns on a steady feed", r.under)
	}
	if r.drawn+int(r.buffered[len(r.buffered)-1]*250+0.5) != r.sent {
		t.Fatalf("drawn %d + buffered != sent %d", r.drawn, r.sent)
	}
	start := 0
	for start < len(r.released) && r.released[start] == 0 {
		start++
	}
	if start*40 > 500 {
		t.Fatalf("first samples drawn after %d ms", start*40)
	}
	hist := map[int]int{}
	for _, k := range r.released[start+75:] { // after 3 s
		hist[k]++
		if k < 8 || k > 16 {
			t.Fatalf("a frame drew %d samples (want about 10 each frame); histogram %v", k, hist)
		}
	}
	// The delay settles near the reserve: a frame and the slack above the
	// burst still to be drawn.
	maxBuf := 0.0
	for _, b := range r.buffered[len(r.buffered)-250:] {
		maxBuf = max(maxBuf, b)
	}
	if maxBuf > 0.35 {
		t.Fatalf("buffer reaches %.3f s in the last 10 s; want the surplus trimmed (≤ 0.35 s)", maxBuf)
	}
	t.Logf("started after %d ms; samples per frame %v; buffer ≤ %.3f s at the end", start*40, hist, maxBuf)
}

// Frames up to 150 ms late cause a few stalls while the pacer learns, then
// none: the reserve grows to cover the lateness.
func TestPaceLearnsJitter(t *testing.T) {
	r := paceRun(250, 200*time.Millisecond, 200*time.Millisecond, 40*time.Millisecond, 150*time.Millisecond, 0, 30*time.Second, 7)
	first := r.under
	r2 := paceRun(250, 200*time.Millisecond, 200*time.Millisecond, 40*time.Millisecond, 150*time.Millisecond, 0, 120*time.Second, 7)
	late := r2.under - first
	if late > 0 {
		t.Fatalf("underruns: %d in the first 30 s, %d more in the next 90 s; want the reserve to absorb the jitter", first, late)
	}
	if r2.drawn+int(math.Round(r2.buffered[len(r2.buffered)-1]*250)) != r2.sent {
		t.Fatal("samples lost")
	}
	maxBuf := 0.0
	for _, b := range r2.buffered {
		maxBuf = max(maxBuf, b)
	}
	if maxBuf > 1.0 {
		t.Fatalf("buffer reached %.2f s with 150 ms of jitter", maxBuf)
	}
	t.Logf("underruns %d in 30 s, %d in the next 90 s; buffer ≤ %.3f s", first, late, maxBuf)
}

// A sender whose clock runs 1 % fast does not make the delay grow without
// bound: the surplus is played off.
func TestPaceClockDrift(t *testing.T) {
	r := paceRun(125, 200*time.Millisecond, 200*time.Millisecond, 40*time.Millisecond, 0, 10*time.Millisecond, 10*time.Minute, 3)
	last := r.buffered[len(r.buffered)-1]
	maxBuf := 0.0
	for _, b := range r.buffered[len(r.buffered)/2:] {
		maxBuf = max(maxBuf, b)
	}
	if maxBuf > 0.5 {
		t.Fatalf("with a 1 %% fast sender the buffer reached %.3f s in the second 5 min (last %.3f s)", maxBuf, last)
	}
	if r.under != 0 {
		t.Fatalf("%d underruns", r.under)
	}
}

// Bursts of a whole second (a device that sends once a second) still sweep
// every frame.
func TestPaceSlowFrames(t *testing.T) {
	r := paceRun(250, time.Second, time.Second, 40*time.Millisecond, 0, 0, 30*time.Second, 5)
	if r.under != 0 {
		t.Fatalf("%d underruns", r.under)
	}
	for i, k := range r.released[len(r.released)/2:] {
		if k == 0 || k > 20 {
			t.Fatalf("frame %d drew %d samples; want every frame to draw about 10", i, k)
		}
	}
}

// Seconds behind (a view kept the strip from ticking) it draws down to the
// reserve at once instead of lagging for the rest of the shift.
func TestPaceCatchUp(t *testing.T) {
	var p pacer
	t0 := time.Unix(1_700_000_000, 0)
	pending := 0
	for i := 0; i < 50; i++ { // 2 s of normal play
		if i%5 == 0 {
			pending += 50
			p.arrived(50, 250)
		}
		pending -= p.release(t0.Add(time.Duration(i)*40*time.Millisecond), pending, 250)
	}
	pending += 30 * 250 // 30 s arrive in one drain after 30 s without frames
	p.arrived(30*250, 250)
	k := p.release(t0.Add(32*time.Second), pending, 250)
	left := float64(pending-k) / 250
	if left > 0.5 {
		t.Fatalf("after the backlog %.2f s still buffered", left)
	}
	if k < 29*250 {
		t.Fatalf("drew %d of the backlog", k)
	}
}

type burstSource struct {
	rate float32
	next []float32
}

func (b *burstSource) Drain(dst []float32) []float32 {
	dst = append(dst, b.next...)
	b.next = b.next[:0]
	return dst
}
func (b *burstSource) RateHz() float32 { return b.rate }

// The strip draws every frame from a feed of bursts and loses nothing: what
// it drew and what it holds add up to what the source gave.
func TestStripPacesBursts(t *testing.T) {
	test.NewTempApp(t)
	src := &burstSource{rate: 250}
	s := NewStrip(src, color.NRGBA{G: 255, A: 255}, Scale{Min: -1, Max: 1}, Speed25)
	w := test.NewTempWindow(t, s)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(400, 80))
	t0 := time.Unix(1_700_000_000, 0)
	sent := 0
	var last uint64
	var drewEvery []uint64
	for i := 0; i < 100; i++ {
		if i%5 == 0 {
			for k := 0; k < 50; k++ {
				src.next = append(src.next, float32(math.Sin(float64(sent+k)/10)))
			}
			sent += 50
		}
		s.Tick(t0.Add(time.Duration(i) * 40 * time.Millisecond))
		drewEvery = append(drewEvery, s.Samples()-last)
		last = s.Samples()
	}
	if int(s.Samples())+s.Pending() != sent {
		t.Fatalf("drawn %d + pending %d != sent %d", s.Samples(), s.Pending(), sent)
	}
	for i, d := range drewEvery[50:] {
		if d == 0 {
			t.Fatalf("frame %d drew nothing: %v", 50+i, drewEvery)
		}
	}
	if l := s.Latency(); l < 200*time.Millisecond || l > 400*time.Millisecond {
		t.Fatalf("latency %v for 200 ms bursts at 25 fps", l)
	}
	s.Clear()
	if s.Pending() != 0 {
		t.Fatal("Clear kept samples to draw")
	}
}

// The sweep moves at the paper speed: 25 mm/s at 96 dpi is 94.5 pixels a
// second, whatever the rate of the samples, in segments that tile the strip.
func TestStripPaperSpeed(t *testing.T) {
	test.NewTempApp(t)
	for _, rate := range []float32{125, 250, 500} {
		src := &burstSource{rate: rate}
		s := NewStrip(src, color.NRGBA{G: 255, A: 255}, Scale{Min: -1, Max: 1}, Speed25)
		w := test.NewTempWindow(t, s)
		w.SetPadded(false)
		w.Resize(fyne.NewSize(600, 80))
		t0 := time.Unix(1_700_000_000, 0)
		n := int(rate) // one second
		for i := 0; i < 4*n; i++ {
			src.next = append(src.next, 0)
		}
		for i := 0; i <= 250; i++ { // 10 s of frames: everything drawn
			s.Tick(t0.Add(time.Duration(i) * 40 * time.Millisecond))
		}
		if s.Pending() != 0 {
			t.Fatalf("%d samples still pending", s.Pending())
		}
		want := 4 * Speed25 * dpi / 25.4
		if math.Abs(s.cursor-want) > 1 {
			t.Fatalf("%g Hz: 4 s moved the cursor %.1f px, want %.1f", rate, s.cursor, want)
		}
		if s.nsegs < 2 || s.segs[0].x0 != 0 || s.segs[s.nsegs-1].x1 != s.img.Bounds().Dx() {
			t.Fatalf("segments %d do not tile the strip", s.nsegs)
		}
		for i := 1; i < s.nsegs; i++ {
			if s.segs[i].x0 != s.segs[i-1].x1 {
				t.Fatalf("segment %d starts at %d, the one before ends at %d", i, s.segs[i].x0, s.segs[i-1].x1)
			}
		}
	}
}
