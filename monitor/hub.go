package monitor

import (
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Defaults for staleness (issue: no waveform for 3 s or no numerics for 10 s
// marks the stream NO DATA) and for the display rings.
const (
	DefaultWaveStale   = 3 * time.Second
	DefaultNumStale    = 10 * time.Second
	DefaultRingSeconds = 16
	// maxBreak is the longest run of gap markers a gap inserts in a display
	// ring: enough for a visible break, not so much that a long outage wipes
	// the strip at once when the device returns.
	maxBreak = time.Second
)

// Config configures a Hub. Zero values take the defaults.
type Config struct {
	Ward        string
	Beds        []string // beds known in advance, in display order
	WaveStale   time.Duration
	NumStale    time.Duration
	RingSeconds int
	// MaxSkew is how far a waveform frame's or numerics message's time may
	// lie from its arrival at the station (once a device whose clock is
	// steadily off is placed by arrival, see clock.go); a message beyond
	// it is refused and counted (SkewFrames). DefaultMaxSkew when 0.
	MaxSkew time.Duration
	// RefuseUnknownBeds: a message for a bed that is not configured
	// (Config.Beds, SetConfiguredBeds, ConfigureBed) creates no bed; it is
	// refused and counted by name (Rejects, Counters.RefusedBeds), so that
	// messages under invented bed names cannot grow the station's memory.
	// False, the default, lets a bed appear with its first message.
	RefuseUnknownBeds bool
	Now               func() time.Time
	Log               *slog.Logger
	Observer          Observer // told of every applied numerics, status, alarm and event message; may be nil
	Recorder          Recorder // given every accepted waveform frame and numerics message to store; may be nil
}

// Recorder stores what the hub accepted (trends and full disclosure). Its
// methods run on the feed's message goroutine, must not block and must not
// keep f after they return. Duplicate and late waveform frames, which the
// hub drops, are not passed on.
type Recorder interface {
	Numerics(bed string, f feed.NumFrame, at time.Time)
	Wave(bed string, f *feed.WaveFrame, at time.Time)
}

// Observer is told of the clinically relevant messages after the hub has
// applied them (the alarm engine's input). Its methods run on the feed's
// message goroutine and must not block; at is the station's receipt time.
type Observer interface {
	Numerics(bed string, f feed.NumFrame, at time.Time)
	Status(bed string, s feed.Status, at time.Time)
	Alarm(bed string, a feed.Alarm, at time.Time)
	Event(bed string, e feed.Event, at time.Time)
}

// Hub routes decoded feed messages into per-bed, per-channel rings and keeps
// each bed's latest vitals and device status.
//
// Writer methods (Wave, Numerics, Status, Reject) must be called from one
// goroutine: the feed's ordered message handler. Reader methods are safe from
// any goroutine. Each display ring has exactly one reader, the UI.
type Hub struct {
	cfg  Config
	beds atomic.Pointer[[]*Bed] // copy-on-write, in display order; replaced under bedMu

	bedMu      sync.Mutex
	byID       map[string]*Bed   // bedMu
	configured map[string]int    // bedMu: the configured beds and their display order
	bindings   map[string]string // bedMu: bed -> the device bound to it

	msgs, samples, decodeErrors, gaps, dupFrames, lateFrames, unknownBeds atomic.Uint64
	skewFrames, jumpFrames, restarts, refusedBeds                         atomic.Uint64
	refusedChannels, refusedAlarms                                        atomic.Uint64
	sourceRefused, conflicts, seqHeld                                     atomic.Uint64
	lastRejectLog                                                         atomic.Int64

	latency LatencyHist

	alarmMsgs, eventMsgs, dupAlarms atomic.Uint64

	rejMu         sync.Mutex
	rejectsByName map[string]*rejectCount // rejects of names that are not (yet) beds; bounded
}

// maxRejectNames bounds the per-name reject table, so that a flood of
// garbage under random bed names cannot grow memory: beyond it, rejects are
// counted under OtherDevices.
const maxRejectNames = 1024

// OtherDevices is the name under which rejects are counted once the
// per-name table is full.
const OtherDevices = "(other)"

type rejectCount struct {
	n    uint64
	last string
}

// NewHub creates a hub with cfg.Beds registered.
func NewHub(cfg Config) *Hub {
	if cfg.WaveStale <= 0 {
		cfg.WaveStale = DefaultWaveStale
	}
	if cfg.NumStale <= 0 {
		cfg.NumStale = DefaultNumStale
	}
	if cfg.RingSeconds <= 0 {
		cfg.RingSeconds = DefaultRingSeconds
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	h := &Hub{cfg: cfg, byID: map[string]*Bed{}, configured: map[string]int{}}
	empty := []*Bed{}
	h.beds.Store(&empty)
	h.SetConfiguredBeds(cfg.Beds)
	return h
}

// SetConfiguredBeds makes names, in this order, the configured beds (in
// place of Config.Beds and earlier calls): each is created if it is not
// there yet and shown first, in this order. A bed no longer named stays
// with its data, shown after the configured beds; with RefuseUnknownBeds
// its messages are refused from now on. Safe from any goroutine.
func (h *Hub) SetConfiguredBeds(names []string) {
	h.bedMu.Lock()
	defer h.bedMu.Unlock()
	clear(h.configured)
	for _, name := range names {
		if _, dup := h.configured[name]; !dup && name != "" {
			h.configured[name] = len(h.configured)
		}
	}
	h.arrangeLocked()
}

// ConfigureBed adds name to the configured beds, after the others (nothing
// changes if it is one already). Safe from any goroutine.
func (h *Hub) ConfigureBed(name string) {
	h.bedMu.Lock()
	defer h.bedMu.Unlock()
	if _, ok := h.configured[name]; ok || name == "" {
		return
	}
	h.configured[name] = len(h.configured)
	h.arrangeLocked()
}

// ConfiguredBeds lists the configured beds in display order.
func (h *Hub) ConfiguredBeds() []string {
	h.bedMu.Lock()
	defer h.bedMu.Unlock()
	out := make([]string, len(h.configured))
	for name, i := range h.configured {
		out[i] = name
	}
	return out
}

// arrangeLocked creates the configured beds that are missing, marks every
// bed configured or not, and publishes the display order. h.bedMu held.
func (h *Hub) arrangeLocked() {
	for name := range h.configured {
		if _, ok := h.byID[name]; !ok {
			h.byID[name] = newBed(h, name)
		}
	}
	next := make([]*Bed, 0, len(h.byID))
	for _, b := range h.byID {
		i, ok := h.configured[b.Name]
		b.configured.Store(ok)
		b.order = i
		next = append(next, b)
	}
	slices.SortFunc(next, func(a, b *Bed) int {
		// Configured beds first, in their configured order; then the
		// others by name.
		ac, bc := a.configured.Load(), b.configured.Load()
		switch {
		case ac && bc:
			return a.order - b.order
		case ac:
			return -1
		case bc:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	h.beds.Store(&next)
}

func newBed(h *Hub, name string) *Bed {
	b := &Bed{Name: name, hub: h}
	empty := []*Channel{}
	b.channels.Store(&empty)
	return b
}

// SetObserver sets the observer of applied messages. Call it before the
// feed starts (before any writer call).
func (h *Hub) SetObserver(o Observer) { h.cfg.Observer = o }

// SetRecorder sets the recorder of accepted frames. Call it before the hub
// is fed.
func (h *Hub) SetRecorder(r Recorder) { h.cfg.Recorder = r }

// Ward is the ward this hub serves.
func (h *Hub) Ward() string { return h.cfg.Ward }

// bed finds or creates the bed a message of stream is for; nil when the
// bed is not configured and RefuseUnknownBeds is set (the message is then
// counted by name). Writer only.
func (h *Hub) bed(name string, stream feed.Stream) *Bed {
	h.bedMu.Lock()
	b, ok := h.byID[name]
	if !ok && !h.cfg.RefuseUnknownBeds {
		b = newBed(h, name)
		h.byID[name] = b
		h.arrangeLocked()
	}
	h.bedMu.Unlock()
	switch {
	case b == nil:
		h.refusedBeds.Add(1)
		h.countByName(name, "bed not configured")
		h.logRefused(name, stream, "bed not configured", h.refusedBeds.Load())
	case !ok:
		h.unknownBeds.Add(1)
		h.cfg.Log.Info("new bed on the feed", "ward", h.cfg.Ward, "bed", name)
	case h.cfg.RefuseUnknownBeds && !b.configured.Load():
		// A bed that was configured and is no more.
		h.refusedBeds.Add(1)
		h.countByName(name, "bed not configured")
		h.logRefused(name, stream, "bed not configured", h.refusedBeds.Load())
		return nil
	}
	return b
}

// logRefused logs a refused message, at most once a second with the
// decode rejects (the counts are exact).
func (h *Hub) logRefused(bedName string, stream feed.Stream, why string, total uint64) {
	now := h.cfg.Now().UnixNano()
	if last := h.lastRejectLog.Load(); now-last >= int64(time.Second) && h.lastRejectLog.CompareAndSwap(last, now) {
		h.cfg.Log.Warn("refused feed message", "ward", h.cfg.Ward, "bed", bedName, "stream", stream, "why", why, "refused_total", total)
	}
}

// Beds returns the beds in display order. The slice must not be modified.
func (h *Hub) Beds() []*Bed { return *h.beds.Load() }

// Bed returns the named bed, or nil.
func (h *Hub) Bed(name string) *Bed {
	for _, b := range h.Beds() {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Wave applies a decoded waveform frame. Writer only.
func (h *Hub) Wave(bedName string, f *feed.WaveFrame) {
	h.msgs.Add(1)
	b := h.bed(bedName, feed.StreamWave)
	if b == nil {
		return
	}
	now := h.cfg.Now()
	if !h.usable(b, bedName, feed.StreamWave, now) {
		return
	}
	frameMs := f.Channels[0].DurationMs()
	nowMs := float64(now.UnixNano()) / 1e6
	offMs := int64(math.Round(nowMs - (float64(f.StartMs) + frameMs)))
	h.observeClock(b, bedName, offMs, driftThreshold.Milliseconds(), now)
	start := float64(f.StartMs) // the device's time: the sequence is kept in it
	if h.skewed(start+frameMs+float64(b.clock.place), nowMs) {
		h.skewFrames.Add(1)
		b.skewFrames.Add(1)
		h.logRefused(bedName, feed.StreamWave, "time outside the skew window", h.skewFrames.Load())
		return
	}
	breakMs, ok := h.sequence(b, bedName, f.Seq, start, frameMs, offMs, nowMs)
	if !ok {
		return
	}

	var n uint64
	for i := range f.Channels {
		fc := &f.Channels[i]
		c := b.channel(fc.Code, fc.RateHz, h.cfg.RingSeconds)
		if c == nil {
			// Beyond maxBedChannels: a device cannot grow the bed without end.
			h.refusedChannels.Add(1)
			b.refusedChannels.Add(1)
			continue
		}
		if breakMs > 0 {
			gapN := int(math.Min(breakMs, float64(maxBreak.Milliseconds())) * float64(fc.RateHz) / 1000)
			for range gapN {
				c.Ring.Push(float32(math.NaN()))
			}
		}
		buf := c.scratch[:0]
		invalid := 0
		for _, s := range fc.Samples {
			v := fc.Physical(s)
			if s == feed.InvalidSample {
				invalid++
			}
			buf = append(buf, v)
		}
		c.scratch = buf
		c.Ring.PushN(buf)
		c.received.Add(uint64(len(buf)))
		c.invalidRun.Store(invalid == len(buf))
		n += uint64(len(buf))
	}
	h.samples.Add(n)
	b.samples.Add(n)
	b.lastWave.Store(now.UnixNano())
	h.analyse(b, bedName, f, breakMs, now)
	if b.clock.place == 0 {
		// (A device placed by arrival has no latency the station can measure.)
		endMs := float64(f.StartMs) + frameMs
		h.latency.Add(time.Duration((nowMs - endMs) * 1e6))
	}
	if h.cfg.Recorder != nil {
		if b.clock.place == 0 {
			h.cfg.Recorder.Wave(bedName, f, now)
		} else {
			// Placed by arrival: the recorder stores it at that time.
			b.placed = *f
			b.placed.StartMs += b.clock.place
			h.cfg.Recorder.Wave(bedName, &b.placed, now)
			b.placed.Channels = nil // the caller's, not ours to keep
		}
	}
}

// pendingJump is a frame that jumped in sequence or time, held back until
// the next frame says whether it was a restart or an outlier.
type pendingJump struct {
	valid bool
	seq   uint32
	endMs float64 // device time of its end, Unix ms
}

// sequence places a frame starting at start (device time, Unix ms) and
// arriving offMs after its end in its bed's sequence: whether to apply it,
// and after what break in the data (ms). See the package doc and clock.go
// for the rules. Writer only.
func (h *Hub) sequence(b *Bed, bedName string, seq uint32, start, frameMs float64, offMs int64, nowMs float64) (breakMs float64, ok bool) {
	if !b.haveSeq {
		b.pending.valid = false
		b.follow(seq, start+frameMs, offMs, 64)
		return 0, true
	}
	tol := 2*frameMs + 500   // the jitter of a device's frame times
	ahead := seq - b.lastSeq // modular: small means ahead, huge means behind
	d := start - b.expectMs
	switch {
	case ahead == 1 && math.Abs(d) <= tol:
		// in order
	case (ahead == 0 || ahead > 1<<31) && start < b.expectMs-frameMs/2:
		// An old frame. Seen before: a duplicate (QoS 1 redelivery, a
		// gateway sending twice). Not seen: late — its place was already
		// drawn as a break and the strip has moved on.
		behind := b.lastSeq - seq
		if behind < 64 && b.seen&(1<<behind) != 0 {
			h.dupFrames.Add(1)
			b.dupFrames.Add(1)
		} else {
			h.lateFrames.Add(1)
			b.lateFrames.Add(1)
			if behind < 64 {
				b.seen |= 1 << behind
			}
		}
		return 0, false
	case ahead >= 1 && ahead <= 1<<31 && d > -tol && float64(ahead-1)*frameMs <= d+tol && abs64(offMs-b.lastOff) <= jumpTolerance.Milliseconds():
		// Frames lost, or the device was silent with its clock going on:
		// as many frames missing as the time says, and the time agrees
		// with the arrival. A break of their duration.
		breakMs = max(float64(ahead-1)*frameMs, d)
	default:
		// A jump in sequence or time that the arrival does not explain.
		if p := &b.pending; p.valid && seq == p.seq+1 && math.Abs(start-p.endMs) <= tol {
			// The frame before it jumped the same way: a restart (or a
			// clock step), committed. The break is what the station saw
			// of it, by its own clock: at least the held frame.
			p.valid = false
			h.restarts.Add(1)
			b.restarts.Add(1)
			arrivalGap := nowMs - float64(b.lastWave.Load())/1e6 - 2*frameMs
			breakMs = max(frameMs, arrivalGap)
			h.gaps.Add(1)
			b.gaps.Add(1)
			b.follow(seq, start+frameMs, offMs, 64)
			h.cfg.Log.Info("device restart or clock step: sequence and time follow the new frames", "ward", h.cfg.Ward, "bed", bedName, "seq", seq)
			return breakMs, true
		}
		b.pending = pendingJump{valid: true, seq: seq, endMs: start + frameMs}
		h.jumpFrames.Add(1)
		b.jumpFrames.Add(1)
		h.logRefused(bedName, feed.StreamWave, "sequence or time jumped: held until the next frame confirms it", h.jumpFrames.Load())
		return 0, false
	}
	// The stream goes on from the bed's state: a held jump was an outlier.
	b.pending.valid = false
	if breakMs > 0 {
		h.gaps.Add(1)
		b.gaps.Add(1)
	}
	b.follow(seq, start+frameMs, offMs, ahead)
	return breakMs, true
}

// follow moves the bed's sequence to frame seq, ending at endMs (device
// time) and arriving offMs after, ahead of the last one (64 or more:
// forget what was seen).
func (b *Bed) follow(seq uint32, endMs float64, offMs int64, ahead uint32) {
	if ahead >= 64 {
		b.seen = 0
	} else {
		b.seen <<= ahead
	}
	b.seen |= 1
	b.haveSeq = true
	b.lastSeq = seq
	b.expectMs = endMs
	b.lastOff = offMs
}

// Numerics applies a decoded numerics message. Writer only.
func (h *Hub) Numerics(bedName string, f feed.NumFrame) {
	h.msgs.Add(1)
	b := h.bed(bedName, feed.StreamNum)
	if b == nil {
		return
	}
	now := h.cfg.Now()
	use, conflict := b.numSeq.decide(f.Seq, valuesSum(f.Values), now.UnixNano())
	if conflict {
		h.conflict(b, bedName, "TWO SOURCES, data not used: the numerics' sequence numbers interleave", now)
	}
	if !h.usable(b, bedName, feed.StreamNum, now) {
		return
	}
	if !use {
		h.seqHeld.Add(1)
		b.seqHeld.Add(1)
		return
	}
	if f.TsMs != 0 {
		// The device's clock, as for waveform frames (from the numerics
		// only when it sends none: see clock.go). The values are stamped
		// with their arrival: a message moves no sequence or clock of the
		// bed but this.
		nowMs := now.UnixMilli()
		waves := b.lastWave.Load() != 0
		if !waves {
			h.observeClock(b, bedName, nowMs-f.TsMs, h.cfg.MaxSkew.Milliseconds(), now)
		}
		f.TsMs += b.clock.place
		if h.skewed(float64(f.TsMs), float64(nowMs)) {
			h.skewFrames.Add(1)
			b.skewFrames.Add(1)
			if waves {
				// The device's clock is known from its frames, and this
				// message's is not it: refused.
				h.logRefused(bedName, feed.StreamNum, "time outside the skew window", h.skewFrames.Load())
				return
			}
			// A numerics-only device (an HL7 monitor, its own
			// observation times) is not blanked for its clock: its
			// values are placed by arrival.
			f.TsMs = nowMs
		}
	}
	b.mu.Lock()
	if b.vitals == nil {
		b.vitals = map[uint32]Vital{}
	}
	for _, v := range f.Values {
		b.vitals[v.Code] = Vital{Code: v.Code, Value: v.Value, Valid: v.Valid, Unit: v.Unit, At: now}
	}
	b.mu.Unlock()
	if prev := b.lastNum.Swap(now.UnixNano()); prev != 0 {
		// The device's rhythm: gaps between its messages. Frames that
		// come together (one HL7 message, a value per measurement time)
		// are one message; an outage longer than three usual intervals
		// counts as three, so that it does not teach the station to wait.
		if gap := now.UnixNano() - prev; gap >= int64(minNumGap) {
			if e := b.numEvery.Load(); e == 0 {
				b.numEvery.Store(gap)
			} else {
				b.numEvery.Store(e + (min(gap, 3*e)-e)/5)
			}
		}
	}
	if h.cfg.Observer != nil {
		h.cfg.Observer.Numerics(bedName, f, now)
	}
	if h.cfg.Recorder != nil {
		h.cfg.Recorder.Numerics(bedName, f, now)
	}
}

// Status applies a device status message. Writer only.
func (h *Hub) Status(bedName string, s feed.Status) {
	h.msgs.Add(1)
	b := h.bed(bedName, feed.StreamStatus)
	if b == nil {
		return
	}
	now := h.cfg.Now()
	h.checkStatus(b, bedName, s, now)
	if !h.usable(b, bedName, feed.StreamStatus, now) {
		return
	}
	b.mu.Lock()
	b.status = s
	b.haveStatus = true
	b.mu.Unlock()
	if h.cfg.Observer != nil {
		h.cfg.Observer.Status(bedName, s, now)
	}
}

// Reject counts a message that failed to decode. It changes nothing else:
// the bed is not created and nothing of the message is applied. bedName is
// the bed from the topic, empty when the topic itself was bad. Writer only.
func (h *Hub) Reject(topic, bedName string, err error) {
	h.decodeErrors.Add(1)
	h.bedMu.Lock()
	b, ok := h.byID[bedName]
	h.bedMu.Unlock()
	if ok {
		b.rejected.Add(1)
		b.mu.Lock()
		b.lastReject = err.Error()
		b.mu.Unlock()
	} else {
		name := bedName
		if name == "" {
			name = "(bad topic)"
		}
		h.countByName(name, err.Error())
	}
	// Log at most once a second so a flood cannot flood the log; the count is exact.
	now := h.cfg.Now().UnixNano()
	if last := h.lastRejectLog.Load(); now-last >= int64(time.Second) && h.lastRejectLog.CompareAndSwap(last, now) {
		h.cfg.Log.Warn("rejected feed message", "topic", topic, "err", err, "rejected_total", h.decodeErrors.Load())
	}
}

// countByName counts a rejected or refused message of a name that is not
// a bed, in the bounded per-name table.
func (h *Hub) countByName(name, why string) {
	h.rejMu.Lock()
	defer h.rejMu.Unlock()
	if h.rejectsByName == nil {
		h.rejectsByName = map[string]*rejectCount{}
	}
	rc, ok := h.rejectsByName[name]
	if !ok && len(h.rejectsByName) >= maxRejectNames {
		name = OtherDevices
		rc, ok = h.rejectsByName[name]
	}
	if !ok {
		rc = &rejectCount{}
		h.rejectsByName[name] = rc
	}
	rc.n++
	rc.last = why
}

// DeviceRejects is one device's count of rejected messages and the reason
// for the last one.
type DeviceRejects struct {
	Device string // the bed name from the topic
	Count  uint64
	Last   string
}

// Rejects lists every device with rejected messages, by name.
func (h *Hub) Rejects() []DeviceRejects {
	var out []DeviceRejects
	for _, b := range h.Beds() {
		if n := b.rejected.Load(); n > 0 {
			b.mu.Lock()
			out = append(out, DeviceRejects{b.Name, n, b.lastReject})
			b.mu.Unlock()
		}
	}
	h.rejMu.Lock()
	for name, rc := range h.rejectsByName {
		out = append(out, DeviceRejects{name, rc.n, rc.last})
	}
	h.rejMu.Unlock()
	slices.SortFunc(out, func(a, b DeviceRejects) int {
		switch {
		case a.Device < b.Device:
			return -1
		case a.Device > b.Device:
			return 1
		}
		return 0
	})
	return out
}

// Latency returns the frame latency quantiles p50 and p99 in ms since start.
func (h *Hub) Latency() (p50, p99 float64) {
	s := h.latency.Snapshot()
	return float64(s.Quantile(0.5).Microseconds()) / 1000, float64(s.Quantile(0.99).Microseconds()) / 1000
}

// LatencySnapshot copies the frame latency histogram (see LatencyHist).
func (h *Hub) LatencySnapshot() LatencySnapshot { return h.latency.Snapshot() }

// Counters are the hub's running totals.
type Counters struct {
	Messages     uint64 // messages decoded and handed to the hub (duplicates and late frames included)
	Samples      uint64 // waveform samples accepted
	DecodeErrors uint64 // messages rejected
	Gaps         uint64 // breaks in a bed's waveform (missing frames or time)
	DupFrames    uint64 // duplicate frames dropped (seen before)
	LateFrames   uint64 // frames that came after their place was drawn as a break, dropped
	UnknownBeds  uint64 // beds that appeared on the feed without being configured
	DeviceAlarms uint64 // device alarm messages applied
	Events       uint64 // point events applied
	DupMessages  uint64 // alarm or event messages received twice (QoS 1 redelivery), ignored
	Dropped      uint64 // display samples overwritten before the display read them
	// SkewFrames: waveform frames and numerics messages refused because
	// their time lay outside MaxSkew of their arrival.
	SkewFrames uint64
	// JumpFrames: waveform frames held back because their sequence or
	// time jumped (a restart, a clock step, a forged frame); not shown.
	JumpFrames uint64
	// Restarts: jumps that the following frame confirmed (a device
	// restart or clock step): the bed's sequence follows the new frames.
	Restarts uint64
	// RefusedBeds: messages refused because their bed is not configured
	// (RefuseUnknownBeds); counted by name in Rejects.
	RefusedBeds uint64
	// RefusedChannels: channels of frames not applied because their bed
	// has maxBedChannels channels already.
	RefusedChannels uint64
	// RefusedAlarms: device alarm messages refused because their bed
	// holds maxBedAlarms active alarms already.
	RefusedAlarms uint64
	// SourceRefused: messages not used because their bed's feed showed
	// another source than its device (binding.go); SourceConflicts: how
	// often that began.
	SourceRefused, SourceConflicts uint64
	// NumHeld: numerics messages not used for their sequence number (a
	// duplicate, a jump held until the next message confirms it, or one
	// that does not follow the device's numbers).
	NumHeld uint64
}

// Counters returns the running totals.
func (h *Hub) Counters() Counters {
	c := Counters{
		Messages:     h.msgs.Load(),
		Samples:      h.samples.Load(),
		DecodeErrors: h.decodeErrors.Load(),
		Gaps:         h.gaps.Load(),
		DupFrames:    h.dupFrames.Load(),
		LateFrames:   h.lateFrames.Load(),
		DeviceAlarms: h.alarmMsgs.Load(),
		Events:       h.eventMsgs.Load(),
		DupMessages:  h.dupAlarms.Load(),
		UnknownBeds:  h.unknownBeds.Load(),

		SkewFrames:      h.skewFrames.Load(),
		JumpFrames:      h.jumpFrames.Load(),
		Restarts:        h.restarts.Load(),
		RefusedBeds:     h.refusedBeds.Load(),
		RefusedChannels: h.refusedChannels.Load(),
		RefusedAlarms:   h.refusedAlarms.Load(),
		SourceRefused:   h.sourceRefused.Load(), SourceConflicts: h.conflicts.Load(), NumHeld: h.seqHeld.Load(),
	}
	for _, b := range h.Beds() {
		for _, ch := range b.Channels() {
			c.Dropped += ch.Ring.Dropped()
		}
	}
	return c
}

// Online counts beds whose waveform and numerics are both fresh.
func (h *Hub) Online() int {
	now := h.cfg.Now()
	n := 0
	for _, b := range h.Beds() {
		if b.State(now).Online() {
			n++
		}
	}
	return n
}
