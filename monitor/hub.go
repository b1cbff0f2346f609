package monitor

import (
	"log/slog"
	"math"
	"slices"
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
	Now         func() time.Time
	Log         *slog.Logger
	Observer    Observer // told of every applied numerics, status, alarm and event message; may be nil
	Recorder    Recorder // given every accepted waveform frame and numerics message to store; may be nil
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
	beds atomic.Pointer[[]*Bed] // copy-on-write, sorted by name; writer replaces it
	byID map[string]*Bed        // writer only

	msgs, samples, decodeErrors, gaps, dupFrames, lateFrames, unknownBeds atomic.Uint64
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
	h := &Hub{cfg: cfg, byID: map[string]*Bed{}}
	empty := []*Bed{}
	h.beds.Store(&empty)
	for _, name := range cfg.Beds {
		h.bed(name, true)
	}
	return h
}

// SetObserver sets the observer of applied messages. Call it before the
// feed starts (before any writer call).
func (h *Hub) SetObserver(o Observer) { h.cfg.Observer = o }

// SetRecorder sets the recorder of accepted frames. Call it before the hub
// is fed.
func (h *Hub) SetRecorder(r Recorder) { h.cfg.Recorder = r }

// Ward is the ward this hub serves.
func (h *Hub) Ward() string { return h.cfg.Ward }

// bed finds or creates a bed. Writer only (and NewHub).
func (h *Hub) bed(name string, configured bool) *Bed {
	if b, ok := h.byID[name]; ok {
		return b
	}
	b := &Bed{Name: name, Configured: configured, hub: h}
	empty := []*Channel{}
	b.channels.Store(&empty)
	h.byID[name] = b
	old := *h.beds.Load()
	next := append(slices.Clip(old), b)
	if !configured {
		h.unknownBeds.Add(1)
		h.cfg.Log.Info("new bed on the feed", "ward", h.cfg.Ward, "bed", name)
	}
	slices.SortStableFunc(next, func(a, b *Bed) int {
		// Configured beds keep their configured order, first.
		switch {
		case a.Configured && !b.Configured:
			return -1
		case !a.Configured && b.Configured:
			return 1
		case !a.Configured && !b.Configured:
			if a.Name < b.Name {
				return -1
			} else if a.Name > b.Name {
				return 1
			}
		}
		return 0
	})
	h.beds.Store(&next)
	return b
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
	b := h.bed(bedName, false)
	now := h.cfg.Now()
	frameMs := f.Channels[0].DurationMs()

	breakMs := 0.0
	if b.haveSeq {
		ahead := f.Seq - b.lastSeq // modular: small means ahead, huge means behind
		switch {
		case ahead == 1:
			// in order; a device that stopped and resumed keeps counting but
			// its clock jumped: that is a gap in time.
			if d := float64(f.StartMs) - b.expectMs; d > 2*frameMs+500 {
				breakMs = d
			}
		case ahead == 0 || ahead > 1<<31:
			if float64(f.StartMs) < b.expectMs-frameMs/2 {
				// An old frame. Seen before: a duplicate (QoS 1 redelivery,
				// a gateway sending twice). Not seen: late — its place was
				// already drawn as a break and the strip has moved on.
				behind := b.lastSeq - f.Seq
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
				return
			}
			// seq went back but time went forward: the device restarted.
			breakMs = max(0, float64(f.StartMs)-b.expectMs)
			ahead = 64 // forget what was seen
		default:
			// frames missing: insert a break of their duration.
			breakMs = max(float64(ahead-1)*frameMs, float64(f.StartMs)-b.expectMs)
		}
		if ahead >= 64 {
			b.seen = 0
		} else {
			b.seen <<= ahead
		}
	}
	b.seen |= 1
	if breakMs > 0 {
		h.gaps.Add(1)
		b.gaps.Add(1)
	}
	b.haveSeq = true
	b.lastSeq = f.Seq
	b.expectMs = float64(f.StartMs) + frameMs

	var n uint64
	for i := range f.Channels {
		fc := &f.Channels[i]
		c := b.channel(fc.Code, fc.RateHz, h.cfg.RingSeconds)
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
	endMs := float64(f.StartMs) + frameMs
	h.latency.Add(time.Duration((float64(now.UnixNano())/1e6 - endMs) * 1e6))
	if h.cfg.Recorder != nil {
		h.cfg.Recorder.Wave(bedName, f, now)
	}
}

// Numerics applies a decoded numerics message. Writer only.
func (h *Hub) Numerics(bedName string, f feed.NumFrame) {
	h.msgs.Add(1)
	b := h.bed(bedName, false)
	now := h.cfg.Now()
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
	b := h.bed(bedName, false)
	b.mu.Lock()
	b.status = s
	b.haveStatus = true
	b.mu.Unlock()
	if h.cfg.Observer != nil {
		h.cfg.Observer.Status(bedName, s, h.cfg.Now())
	}
}

// Reject counts a message that failed to decode. It changes nothing else:
// the bed is not created and nothing of the message is applied. bedName is
// the bed from the topic, empty when the topic itself was bad. Writer only.
func (h *Hub) Reject(topic, bedName string, err error) {
	h.decodeErrors.Add(1)
	if b, ok := h.byID[bedName]; ok {
		b.rejected.Add(1)
		b.mu.Lock()
		b.lastReject = err.Error()
		b.mu.Unlock()
	} else {
		name := bedName
		if name == "" {
			name = "(bad topic)"
		}
		h.rejMu.Lock()
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
		rc.last = err.Error()
		h.rejMu.Unlock()
	}
	// Log at most once a second so a flood cannot flood the log; the count is exact.
	now := h.cfg.Now().UnixNano()
	if last := h.lastRejectLog.Load(); now-last >= int64(time.Second) && h.lastRejectLog.CompareAndSwap(last, now) {
		h.cfg.Log.Warn("rejected feed message", "topic", topic, "err", err, "rejected_total", h.decodeErrors.Load())
	}
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
