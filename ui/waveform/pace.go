package waveform

import (
	"math"
	"time"
)

// Playout pacing. Feeds deliver waveforms in frames (the simulator and most
// bedside devices send 200 ms at a time), so a strip that drew each frame as
// it arrived would jump five times a second. The pacer instead lets a strip
// draw dt × rate samples every frame from a short buffer, like a jitter
// buffer in a telephone:
//
//   - it starts playing once the buffer holds the largest recent burst plus a
//     reserve (one frame interval and some slack);
//   - it measures, over each second, how low the buffer ran; a buffer that
//     never came near the reserve is latency nobody needs, so it plays a
//     little faster (up to 1.5×) until that surplus is gone;
//   - if it runs dry (a frame came late) it waits for the buffer to refill
//     and keeps more slack from then on, forgetting it slowly (half of it in about two minutes);
//   - seconds behind (the window was busy or hidden), it draws down to the
//     reserve at once.
//
// Nothing is dropped: every sample is drawn, at most sooner than real time.
const (
	paceWindow   = time.Second // how often the surplus is measured
	paceSlack    = 0.03        // s, least reserve on top of a frame interval
	paceMaxSlack = 1.0         // s, most reserve after late arrivals
	paceMaxBurst = 1.0         // s, largest burst that sets the start level
	paceBurstDec = 0.98        // per arrival: a burst is forgotten in ~100 arrivals
	paceCatchUp  = 2.0         // s beyond the reserve: draw down at once
	paceMaxDt    = 0.25        // s, the most one frame's credit covers
	paceMaxSpeed = 1.5
)

type pacer struct {
	last    time.Time // previous frame
	winEnd  time.Time // end of the current measuring window
	frame   float64   // frame interval, s (moving average)
	burst   float64   // largest recent arrival, s (decays)
	slack   float64   // reserve against late arrivals, s
	credit  float64   // samples due, fractional
	speed   float64   // playout speed, 1 = real time
	low     float64   // least buffered in this window, s
	playing bool

	underruns uint64
}

// arrived notes n samples drained at once.
func (p *pacer) arrived(n int, rate float64) {
	if n <= 0 {
		return
	}
	p.burst = max(min(float64(n)/rate, paceMaxBurst), p.burst*paceBurstDec)
}

// reserve is the least the buffer should hold while playing, in seconds.
func (p *pacer) reserve() float64 { return p.frame + max(p.slack, paceSlack) }

// target is the playout delay the pacer settles at, as a duration.
func (p *pacer) target() time.Duration {
	return time.Duration((p.burst + p.reserve()) * float64(time.Second))
}

// release returns how many of the pending samples to draw in the frame at
// now.
func (p *pacer) release(now time.Time, pending int, rate float64) int {
	if p.last.IsZero() {
		p.last, p.speed, p.slack = now, 1, paceSlack
		p.newWindow(now)
	}
	dt := min(max(now.Sub(p.last).Seconds(), 0), paceMaxDt)
	p.last = now
	if dt > 0 {
		if p.frame == 0 {
			p.frame = dt
		} else {
			p.frame += (dt - p.frame) * 0.1
		}
	}
	reserve := p.reserve()
	buffered := float64(pending) / rate
	if !p.playing {
		if pending == 0 || buffered < p.burst+reserve {
			return 0
		}
		p.playing, p.credit, p.speed = true, 0, 1
		p.newWindow(now)
	}
	if buffered-reserve > paceCatchUp {
		k := pending - int(math.Ceil(reserve*rate))
		p.credit = 0
		p.newWindow(now)
		return k
	}
	p.credit += dt * rate * p.speed
	k := int(p.credit)
	if float64(k) >= float64(pending) {
		if p.credit > float64(pending) {
			// Ran dry: the next frame is late. Refill before going on, and
			// keep more in reserve from now on.
			p.playing = false
			p.slack = min(2*p.slack+0.02, paceMaxSlack)
			p.underruns++
		}
		k, p.credit = pending, 0
	} else {
		p.credit -= float64(k)
	}
	p.low = min(p.low, float64(pending-k)/rate)
	if !now.Before(p.winEnd) {
		// The buffer never ran below low this window: the part of it above
		// the reserve is surplus delay, played off over the next window.
		if surplus := p.low - reserve; surplus > 0.02 {
			p.speed = 1 + min(surplus/paceWindow.Seconds(), paceMaxSpeed-1)
		} else {
			p.speed = 1
		}
		p.slack = max(paceSlack, p.slack*0.995)
		p.newWindow(now)
	}
	return k
}

func (p *pacer) newWindow(now time.Time) {
	p.low = math.Inf(1)
	p.winEnd = now.Add(paceWindow)
}
