package monitor

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// A device's clock, as the station sees it.
//
// Every waveform frame and numerics message says when it was measured in
// the device's time; the station knows when it arrived. Their difference,
// the offset (arrival − device time of the frame's end), is the network's
// latency (tens of ms) plus whatever the device's clock is off by. The hub
// keeps the offsets of a bed's last offsetWindow messages and works with
// their median, which one message, or a few, cannot move:
//
//   - Skew. A message whose time, placed as below, lies more than MaxSkew
//     from its arrival is refused and counted (SkewFrames): it cannot move
//     the bed's clock or sequence. (A frame stamped in the year 2200 used to
//     make every genuine frame after it "late".) The one exception is a
//     numerics-only device's numerics (no waveform ever came): counted the
//     same, but their values are applied and placed by arrival — there is
//     no sequence for their time to move, and an HL7 monitor whose clock
//     is wrong must not go blank.
//   - Drift. When the median offset is steadily beyond driftThreshold, the
//     device's clock is off: its times are placed by arrival (the median
//     offset is added to them), inside the skew window or not, and the bed
//     gets the LOW technical alarm ClockAlarmID naming the offset. (The
//     offsets are the waveform frames'; a numerics-only device's are its
//     numerics', whose times are measurement times that may lag — a trend
//     value, an NIBP — so it is placed by arrival only when its clock is
//     steadily beyond MaxSkew, where its values would be refused.) The
//     frames still follow one another by their own clock (the bed's
//     sequence state is kept in device time), so nothing is lost or
//     bridged when the placement starts, changes or ends.
//   - Jumps. A frame that does not follow on from the bed's sequence and
//     time, in a way its arrival cannot explain (a device restart, a clock
//     step, a forged frame), is held back: the bed's state does not move.
//     (A break is explained when as many frames are missing as its time
//     says and its device time moved on as the station's did: its offset
//     within jumpTolerance of the last applied frame's.)
//     If the next frame follows on from it, the jump was real and is
//     committed (Restarts) — the held frame itself is not shown; if the
//     stream goes on from the old state instead, the held frame was an
//     outlier and is forgotten. Either way it counts in JumpFrames.
//
// Worked example, frames of 200 ms, the device's clock right:
//
//	seq  t0 (device)   arrives       what happens
//	100  12:00:00.000  12:00:00.220  in order
//	2³¹  2200-01-01    12:00:00.300  outside MaxSkew: refused (SkewFrames 1)
//	2³¹  12:00:00.300  12:00:00.350  the sequence jumps: held back (JumpFrames 1)
//	101  12:00:00.200  12:00:00.420  follows 100: in order; the held frame is forgotten
//	0    12:00:07.000  12:00:07.220  the sequence went back: held back (JumpFrames 2)
//	1    12:00:07.200  12:00:07.420  follows 0: a restart (Restarts 1), after a 6.6 s break
const (
	// DefaultMaxSkew is how far a message's time may lie from its arrival.
	// Five minutes: wide enough for a bedside clock set by hand, or not
	// synchronised for months (a few minutes off), and for numerics an HL7
	// monitor sends for a measurement some time back; narrow enough that a
	// frame cannot push a bed's clock into the future or the past.
	DefaultMaxSkew = 5 * time.Minute

	// offsetWindow is the number of messages whose offsets a bed keeps:
	// 5 s of waveform frames at 200 ms.
	offsetWindow = 25
	// A device's clock is steadily off when the median offset of its
	// last messages (at least driftMinObs of them, spanning driftMinSpan
	// of arrival time) is beyond driftThreshold, and driftShare of them
	// lie within driftSpread of that median. 2 s is what a conforming link
	// can be late by: vendors quote at most 2 s from device to central
	// (clinical-reference.md §1), and latency alone is not drift. The
	// share and the span keep a single forged frame — or any minority of
	// frames, or a burst of frames delivered late after an outage, whose
	// offsets fall away frame by frame — from placing a device by arrival.
	driftThreshold = 2 * time.Second
	driftSpread    = time.Second
	driftShare     = 0.8
	driftMinObs    = 5
	driftMinSpan   = 4 * time.Second
	// jumpTolerance is how far a frame's offset may lie from the last
	// applied frame's for its time to be believed across a break (frames
	// lost, an outage with the device's clock going on): its device time
	// moved on as the station's did.
	jumpTolerance = 2 * time.Second
)

// ClockAlarmID is the LOW technical alarm of a device whose clock is off:
// its data are placed by arrival time. It ends when the clock is right again.
const ClockAlarmID = "vigil-clock"

// bedClock is what a bed's messages say of its device's clock. Writer only.
type bedClock struct {
	off    [offsetWindow]int64 // offsets, ms: arrival − device time (ring)
	at     [offsetWindow]int64 // arrival, Unix ms
	sorted [offsetWindow]int64 // off[:n], in order
	n      int                 // offsets kept (≤ offsetWindow)
	next   int                 // ring position of the next offset
	median int64               // of off[:n]
	steady bool                // the offsets agree (see driftShare)
	// place is added to the device's times to place them (ms): 0 while the
	// device's clock is believed, the median offset while it is off.
	place int64
}

// observe adds one message's offset and re-evaluates the placement with
// the threshold thMs (driftThreshold for waveform frames); it returns how
// much the placement moved (ms, 0 mostly).
func (c *bedClock) observe(offMs, atMs, thMs int64) (moved int64) {
	// The sorted copy: out with the offset that leaves the ring, in with
	// the new one (no sort per message).
	v := c.sorted[:c.n]
	if c.n == offsetWindow {
		i, _ := slices.BinarySearch(v, c.off[c.next])
		v = slices.Delete(v, i, i+1)
	}
	i, _ := slices.BinarySearch(v, offMs)
	v = slices.Insert(v, i, offMs)
	c.off[c.next], c.at[c.next] = offMs, atMs
	c.next = (c.next + 1) % offsetWindow
	c.n = len(v)
	c.median = v[c.n/2]
	oldest := c.at[0]
	if c.n == offsetWindow {
		oldest = c.at[c.next]
	}
	lo, _ := slices.BinarySearch(v, c.median-driftSpread.Milliseconds())
	hi, _ := slices.BinarySearch(v, c.median+driftSpread.Milliseconds()+1)
	c.steady = c.n >= driftMinObs && atMs-oldest >= driftMinSpan.Milliseconds() &&
		float64(hi-lo) >= driftShare*float64(c.n)
	if !c.steady {
		return 0
	}
	old, th := c.place, thMs
	switch {
	case c.place != 0 && abs64(c.median) < th/2:
		c.place = 0 // the clock is right again
	case c.place == 0 && abs64(c.median) > th, c.place != 0 && abs64(c.median-c.place) > th:
		c.place = c.median
	}
	return c.place - old
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// deviceOffset is how far the device's clock is off when placed by
// arrival: device time − station time, rounded to the second.
func (c *bedClock) deviceOffset() time.Duration {
	return (-time.Duration(c.place) * time.Millisecond).Round(time.Second)
}

// offsetText is an offset as the alarm names it: "+3m12s", "-40s".
func offsetText(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).String()
	}
	return "+" + d.String()
}

// clockAlarm is the clock alarm's message: start (on) with the offset, a
// continue with a new offset, or its end.
func clockAlarm(phase feed.AlarmPhase, off time.Duration, now time.Time) feed.Alarm {
	a := technicalAlarm(ClockAlarmID, 0, fmt.Sprintf("DEVICE CLOCK OFF by %s: data placed by arrival time", offsetText(off)), phase != feed.PhaseEnd, now)
	a.Priority = feed.AlarmLow
	a.Phase = phase
	return a
}

// skewed reports whether a time placed at placedMs is outside the skew
// window of the arrival at nowMs.
func (h *Hub) skewed(placedMs, nowMs float64) bool {
	return math.Abs(nowMs-placedMs) > float64(h.cfg.MaxSkew.Milliseconds())
}

// observeClock adds a message's offset to the bed's clock (beyond thMs
// steadily: off) and tells the observer when the placement starts, changes
// or ends. It returns how much the placement moved (ms).
func (h *Hub) observeClock(b *Bed, bedName string, offMs, thMs int64, now time.Time) int64 {
	moved := b.clock.observe(offMs, now.UnixMilli(), thMs)
	if moved == 0 {
		return 0
	}
	phase := feed.PhaseContinue
	switch {
	case b.clock.place == 0:
		phase = feed.PhaseEnd
	case b.clock.place == moved:
		phase = feed.PhaseStart
	}
	off := b.clock.deviceOffset()
	b.clockOff.Store(int64(off))
	if phase == feed.PhaseEnd {
		h.cfg.Log.Info("device clock right again", "ward", h.cfg.Ward, "bed", bedName)
	} else {
		h.cfg.Log.Warn("device clock off: data placed by arrival time", "ward", h.cfg.Ward, "bed", bedName, "offset", offsetText(off))
	}
	if h.cfg.Observer != nil {
		b.hubSeq++
		a := clockAlarm(phase, off, now)
		a.Seq = b.hubSeq
		h.cfg.Observer.Alarm(bedName, a, now)
	}
	return moved
}

// ClockOffset is how far the bed's device clock is off (device − station)
// while its data are placed by arrival time; 0 while its clock is believed.
func (b *Bed) ClockOffset() time.Duration { return time.Duration(b.clockOff.Load()) }
