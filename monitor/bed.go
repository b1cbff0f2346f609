package monitor

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/ring"
)

// Bed is one bed of the ward: its device's channels, vitals and status.
type Bed struct {
	Name string

	hub        *Hub
	configured atomic.Bool                // see Configured
	order      int                        // display order among the configured beds; hub.bedMu
	channels   atomic.Pointer[[]*Channel] // copy-on-write, writer appends

	// writer-only sequence and clock state
	haveSeq  bool
	lastSeq  uint32
	expectMs float64 // expected start of the next frame, Unix ms, device time
	lastOff  int64   // the last applied frame's arrival − its end, ms (see clock.go)
	seen     uint64  // bit i: frame lastSeq-i was received
	pending  pendingJump
	clock    bedClock
	placed   feed.WaveFrame // scratch: a frame placed by arrival, for the recorder
	hubSeq   uint32         // sequence of the alarms the hub raises for the bed (clock)
	clockOff atomic.Int64   // ClockOffset, ns

	lastWave, lastNum atomic.Int64 // UnixNano of arrival; 0 = never
	// numEvery is the usual interval between the device's numerics
	// messages (ns, a running average; 0 = not known yet): a device that
	// sends them every minute (an HL7 monitor's trend) is not NO DATA
	// after the 10 s a device sending them every second is.
	numEvery atomic.Int64

	samples, gaps, dupFrames, lateFrames, rejected atomic.Uint64
	skewFrames, jumpFrames, restarts               atomic.Uint64
	refusedChannels, refusedAlarms                 atomic.Uint64
	sourceRefused, seqHeld                         atomic.Uint64

	// The bed's binding to its device (binding.go).
	numSeq        seqTrack               // writer only
	conflictUntil atomic.Int64           // unix ns; 0 = no conflict
	conflictWhy   atomic.Pointer[string] // the latest conflict's reason

	mu         sync.Mutex
	vitals     map[uint32]Vital
	status     feed.Status
	haveStatus bool
	lastReject string
	alarms     []DeviceAlarm
	events     []DeviceEvent

	analysis      *bedAnalysis // writer only
	analysisState Analysis
}

// Channel is one waveform channel of a bed, feeding one display ring.
type Channel struct {
	Code       uint32
	rate       atomic.Uint32 // float32 bits
	Ring       *ring.Ring[float32]
	received   atomic.Uint64
	invalidRun atomic.Bool // the last frame was all invalid samples
	scratch    []float32   // writer only
}

// RateHz is the channel's current sample rate.
func (c *Channel) RateHz() float32 { return math.Float32frombits(c.rate.Load()) }

// Received is the number of samples received on this channel.
func (c *Channel) Received() uint64 { return c.received.Load() }

// maxBedChannels bounds a bed's channels: the most one frame can carry
// (feed.MaxChannels). A device that sends other codes frame after frame
// cannot grow the bed's rings without end; further codes are refused.
const maxBedChannels = feed.MaxChannels

// Configured reports whether the bed is one of the hub's configured beds
// (Config.Beds, SetConfiguredBeds, ConfigureBed) rather than one that
// appeared on the feed.
func (b *Bed) Configured() bool { return b.configured.Load() }

// channel finds or creates a channel; nil when the bed has maxBedChannels
// already. Writer only.
func (b *Bed) channel(code uint32, rate float32, ringSeconds int) *Channel {
	chans := *b.channels.Load()
	for _, c := range chans {
		if c.Code == code {
			if c.RateHz() != rate {
				c.rate.Store(math.Float32bits(rate))
			}
			return c
		}
	}
	if len(chans) >= maxBedChannels {
		return nil
	}
	c := &Channel{Code: code, Ring: ring.New[float32](int(rate) * ringSeconds)}
	c.rate.Store(math.Float32bits(rate))
	next := append(slices.Clip(*b.channels.Load()), c)
	b.channels.Store(&next)
	return c
}

// Channels returns the bed's channels in order of first appearance.
func (b *Bed) Channels() []*Channel { return *b.channels.Load() }

// Channel returns the channel with the given MDC code, or nil.
func (b *Bed) Channel(code uint32) *Channel {
	for _, c := range b.Channels() {
		if c.Code == code {
			return c
		}
	}
	return nil
}

// Vital is the latest value of one parameter.
type Vital struct {
	Code  uint32
	Value float64
	Valid bool
	Unit  string
	At    time.Time // when the station received it
	// Derived: Vigil computed it from the bed's waveforms (its heart rate
	// from the ECG), the device did not send it.
	Derived bool
}

// Vital returns the latest value of a parameter and whether one was ever received.
func (b *Bed) Vital(code uint32) (Vital, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.vitals[code]
	return v, ok
}

// Vitals returns the latest value of every parameter received, by code.
func (b *Bed) Vitals() []Vital {
	b.mu.Lock()
	out := make([]Vital, 0, len(b.vitals))
	for _, v := range b.vitals {
		out = append(out, v)
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(x, y Vital) int { return cmp.Compare(x.Code, y.Code) })
	return out
}

// DeviceStatus returns the latest status message and whether one was received.
func (b *Bed) DeviceStatus() (feed.Status, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.haveStatus
}

// Counts are a bed's running totals (see Counters for what each counts).
type Counts struct {
	Samples, Gaps, DupFrames, LateFrames, Rejected uint64
	SkewFrames, JumpFrames, Restarts               uint64
	RefusedChannels, RefusedAlarms                 uint64
	SourceRefused                                  uint64 // messages not used while the feed showed another source
	NumHeld                                        uint64 // numerics not used for their sequence number (seqTrack)
}

// Counts returns the bed's running totals.
func (b *Bed) Counts() Counts {
	return Counts{Samples: b.samples.Load(), Gaps: b.gaps.Load(), DupFrames: b.dupFrames.Load(),
		LateFrames: b.lateFrames.Load(), Rejected: b.rejected.Load(),
		SkewFrames: b.skewFrames.Load(), JumpFrames: b.jumpFrames.Load(), Restarts: b.restarts.Load(),
		RefusedChannels: b.refusedChannels.Load(), RefusedAlarms: b.refusedAlarms.Load(),
		SourceRefused: b.sourceRefused.Load(), NumHeld: b.seqHeld.Load()}
}

// State is what the station knows of a bed's device at one moment.
type State struct {
	Seen      bool // anything ever received
	WaveSeen  bool // a waveform was ever received
	NumSeen   bool // numerics were ever received
	WaveStale bool // no waveform within the threshold: NO DATA
	NumStale  bool // no numerics within the threshold: NO DATA
	Offline   bool // the device said it is offline (status, or its Last Will)
	LeadsOff  bool // ECG leads off reported, or the ECG is all invalid samples
	ProbeOff  bool
}

// numStale is how long the bed may go without numerics: the station's
// threshold, or three of the device's usual intervals when that is longer
// (at most 10 min). A numerics-only device whose rhythm is not known yet
// (its first message) gets numOnlyFirst.
func (b *Bed) numStale(noWaves bool) time.Duration {
	d := b.hub.cfg.NumStale
	e := time.Duration(b.numEvery.Load())
	if e == 0 && noWaves {
		return max(d, numOnlyFirst)
	}
	if 3*e > d {
		d = min(3*e, maxNumStale)
	}
	return d
}

// NumStale is how long the bed may go without numerics before it reads
// NO DATA (see numStale).
func (b *Bed) NumStale() time.Duration {
	b.mu.Lock()
	noWaves := b.noWavesLocked()
	b.mu.Unlock()
	return b.numStale(noWaves)
}

// noWavesLocked: the device said it sends no waveforms. b.mu held.
func (b *Bed) noWavesLocked() bool {
	return b.haveStatus && b.status.Waves != nil && !*b.status.Waves
}

const (
	maxNumStale  = 10 * time.Minute       // the most a slow device's interval sets
	numOnlyFirst = 90 * time.Second       // a numerics-only device before its second message
	minNumGap    = 500 * time.Millisecond // closer messages are one message
)

// Online reports whether the bed is delivering fresh data.
func (s State) Online() bool { return s.Seen && !s.WaveStale && !s.NumStale && !s.Offline }

// NoData reports whether the bed should read NO DATA.
func (s State) NoData() bool { return !s.Online() }

// State evaluates the bed's device state at now. Staleness is computed on
// read, so a tile shows NO DATA the moment the threshold passes.
func (b *Bed) State(now time.Time) State {
	var s State
	lw, ln := b.lastWave.Load(), b.lastNum.Load()
	s.Seen = lw != 0 || ln != 0
	s.WaveSeen, s.NumSeen = lw != 0, ln != 0
	n := now.UnixNano()
	b.mu.Lock()
	if b.haveStatus {
		s.Offline = !b.status.Online
		s.LeadsOff = len(b.status.LeadsOff) > 0
		s.ProbeOff = len(b.status.ProbeOff) > 0
	}
	noWaves := b.noWavesLocked()
	b.mu.Unlock()
	// A device that says it sends no waveforms (numerics only) is not NO
	// DATA for the lack of them.
	s.WaveStale = !noWaves && (lw == 0 || time.Duration(n-lw) > b.hub.cfg.WaveStale)
	s.NumStale = ln == 0 || time.Duration(n-ln) > b.numStale(noWaves)
	if c := b.Channel(feed.MDCECGLeadII); c != nil && c.invalidRun.Load() && !s.WaveStale {
		s.LeadsOff = true
	}
	return s
}
