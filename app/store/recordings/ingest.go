package recordings

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// row is one closed minute (kind trend) or chunk (kind wave) on its way to
// the writer.
type row struct {
	bed  string
	kind kind
	code uint32

	// trend
	minuteMs int64
	median   float64
	n        int

	// wave
	startMs        float64 // Unix ms of the first sample, exact (fractional)
	rateHz         float32
	gain, baseline float32
	samples        *[]int16 // raw samples, from Recordings.bufs; nil once encoded
	count          int      // len(*samples), kept after encoding
	data           []byte   // codec-1 encoding, made by the writer
}

type kind uint8

const (
	kindTrend kind = iota
	kindWave
)

func (k kind) String() string {
	if k == kindTrend {
		return "trend"
	}
	return "wave"
}

// Staleness rules of the sweep (Run, once a second).
const (
	// A chunk that has received nothing for staleChunk is closed: the
	// device went offline or stopped sending the channel.
	staleChunk = 5 * time.Second
	// A minute is closed once it is over by graceMinute and nothing has
	// arrived for its parameter for graceMinute (a numeric sent once every
	// few minutes, like NIBP, would otherwise wait for its next value).
	graceMinute = 5 * time.Second
	// A bed with nothing open and nothing received for forgetBed is
	// forgotten (discharged, renamed).
	forgetBed = time.Hour
)

// bedAcc is what is open for one bed: a minute per parameter, a chunk per
// channel. Both lists are short (tens), so they are searched linearly.
type bedAcc struct {
	name   string
	params []*minuteAcc
	waves  []*chunkAcc
	lastAt time.Time
}

// minuteAcc collects one parameter's valid values in one minute.
type minuteAcc struct {
	code   uint32
	open   bool
	minute int64 // Unix ms / 60000
	values []float64
	lastAt time.Time // arrival of the last value, valid or not
	// The last minute closed. Values for an earlier one are late and
	// ignored; values for that one reopen it (a device clock behind the
	// station's, after a pause inside the minute) and the writer keeps
	// whichever part has more values.
	written bool
	last    int64
}

// chunkAcc collects one channel's samples into a chunk.
type chunkAcc struct {
	code           uint32
	buf            *[]int16 // the open chunk's samples; nil while none is open
	startMs        float64  // time of the open chunk's first sample
	rateHz         float32  // rate and scaling of the open or last chunk
	gain, baseline float32
	capN           int // samples in a full chunk (ChunkSpan at rateHz)
	// follows: the last chunk closed full, and the next sample is due at
	// nextMs; a frame that starts there continues the run exactly.
	follows bool
	nextMs  float64
	lastAt  time.Time // arrival of the last frame
}

// Numerics adds one numerics frame of bed. Each parameter's valid values
// are collected per wall-clock minute of the frame's timestamp (at when it
// has none); when a later minute begins, the median of the closed one goes
// to the writer. Call it from the feed goroutine; it never blocks and does
// not keep f.
func (r *Recordings) Numerics(bed string, f feed.NumFrame, at time.Time) {
	ts := f.TsMs
	if ts == 0 {
		ts = at.UnixMilli()
	}
	minute := floorDiv(ts, 60_000)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	b := r.bed(bed, at)
	for i := range f.Values {
		v := &f.Values[i]
		m := b.param(v.Code)
		if (m.open && minute < m.minute) || (m.written && minute < m.last) {
			r.stats.late.Add(1) // out of order: that minute is gone
			continue
		}
		if m.open && minute > m.minute {
			if x, ok := m.close(b.name); ok {
				r.enqueue(x)
			}
		}
		if !m.open {
			m.open, m.minute, m.values = true, minute, m.values[:0]
		}
		m.lastAt = at
		if v.Valid && !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0) && v.Value != feed.InvalidSample {
			m.values = append(m.values, v.Value)
		}
	}
	r.mu.Unlock()
	r.afterEnqueue()
}

// Wave adds one waveform frame of bed. Each channel's samples are appended
// to its open chunk, which is closed and sent to the writer when it spans
// ChunkSpan, or before the frame when the frame does not follow on (a gap
// or overlap of more than 1.5 sample periods) or changes rate or scaling.
// Call it from the feed goroutine; it never blocks and does not keep f.
func (r *Recordings) Wave(bed string, f *feed.WaveFrame, at time.Time) {
	start := float64(f.StartMs)
	if f.StartMs == 0 {
		start = float64(at.UnixMilli())
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	b := r.bed(bed, at)
	for i := range f.Channels {
		c := &f.Channels[i]
		if len(c.Samples) == 0 || !(c.RateHz > 0 && c.RateHz <= feed.MaxRateHz) || c.Gain == 0 ||
			math.IsNaN(float64(c.Gain)) || math.IsInf(float64(c.Gain), 0) ||
			math.IsNaN(float64(c.Baseline)) || math.IsInf(float64(c.Baseline), 0) {
			continue // nothing to store, or no way to read it back (feed.DecodeWave refuses these)
		}
		r.addSamples(b.name, b.wave(c.Code), c, start, at)
	}
	r.mu.Unlock()
	r.afterEnqueue()
}

// addSamples appends one channel's samples of a frame starting at start.
// Callers hold r.mu.
func (r *Recordings) addSamples(bed string, k *chunkAcc, c *feed.Channel, start float64, at time.Time) {
	if k.buf != nil || k.follows {
		period := 1000 / float64(k.rateHz)
		next := k.nextMs
		if k.buf != nil {
			next = k.startMs + float64(len(*k.buf))*period
		}
		// Frame times are whole ms and may be those of another channel's
		// first sample, so allow a period and a half either way, plus a ms.
		if c.RateHz == k.rateHz && c.Gain == k.gain && c.Baseline == k.baseline &&
			math.Abs(start-next) <= 1.5*period+1 {
			start = next // the run goes on: keep its exact timing
		} else if k.buf != nil {
			r.enqueue(k.close(bed))
		}
		k.follows = false
	}
	k.lastAt = at
	s := c.Samples
	for len(s) > 0 {
		if k.buf == nil {
			k.open(r, c, start, r.opt.ChunkSpan)
		}
		n := min(len(s), k.capN-len(*k.buf))
		*k.buf = append(*k.buf, s[:n]...)
		s = s[n:]
		if len(*k.buf) == k.capN {
			// Full: the next chunk starts exactly where this one ends.
			start = k.startMs + float64(k.capN)*1000/float64(k.rateHz)
			r.enqueue(k.close(bed))
			k.follows, k.nextMs = true, start
		}
	}
}

func (k *chunkAcc) open(r *Recordings, c *feed.Channel, start float64, span time.Duration) {
	k.startMs, k.rateHz, k.gain, k.baseline = start, c.RateHz, c.Gain, c.Baseline
	k.capN = max(1, int(math.Ceil(span.Seconds()*float64(c.RateHz))))
	k.buf = r.buffer(k.capN)
}

// close hands the open chunk over as a row; the chunk is then closed.
func (k *chunkAcc) close(bed string) row {
	x := row{bed: bed, kind: kindWave, code: k.code, startMs: k.startMs, rateHz: k.rateHz,
		gain: k.gain, baseline: k.baseline, samples: k.buf, count: len(*k.buf)}
	k.buf = nil
	return x
}

// close computes the closed minute's row: false when it had no valid value.
func (m *minuteAcc) close(bed string) (row, bool) {
	m.open, m.written, m.last = false, true, m.minute
	if len(m.values) == 0 {
		return row{}, false
	}
	return row{bed: bed, kind: kindTrend, code: m.code, minuteMs: m.minute * 60_000,
		median: median(m.values), n: len(m.values)}, true
}

// median of values, which it sorts. The mean of the two middle values for
// an even count.
func median(values []float64) float64 {
	slices.Sort(values)
	n := len(values)
	if n%2 == 1 {
		return values[n/2]
	}
	return (values[n/2-1] + values[n/2]) / 2
}

// buffer returns an empty sample buffer with room for n samples.
func (r *Recordings) buffer(n int) *[]int16 {
	if p, ok := r.bufs.Get().(*[]int16); ok && cap(*p) >= n {
		*p = (*p)[:0]
		return p
	}
	s := make([]int16, 0, n)
	return &s
}

// recycle returns a sample buffer once its samples are encoded.
func (r *Recordings) recycle(p *[]int16) {
	if p != nil {
		r.bufs.Put(p)
	}
}

// bed returns bed's accumulators, making them on first sight. Callers hold r.mu.
func (r *Recordings) bed(name string, at time.Time) *bedAcc {
	b := r.beds[name]
	if b == nil {
		// A copy: name may be a slice of a longer string (the topic) that
		// the rows would otherwise keep alive.
		name = strings.Clone(name)
		b = &bedAcc{name: name}
		r.beds[name] = b
	}
	b.lastAt = at
	return b
}

func (b *bedAcc) param(code uint32) *minuteAcc {
	for _, m := range b.params {
		if m.code == code {
			return m
		}
	}
	m := &minuteAcc{code: code}
	b.params = append(b.params, m)
	return m
}

func (b *bedAcc) wave(code uint32) *chunkAcc {
	for _, k := range b.waves {
		if k.code == code {
			return k
		}
	}
	k := &chunkAcc{code: code}
	b.waves = append(b.waves, k)
	return k
}

// closeAll closes everything open on the bed and appends the rows to dst.
// Callers hold r.mu.
func (b *bedAcc) closeAll(r *Recordings, dst []row) []row {
	for _, m := range b.params {
		if m.open {
			if x, ok := m.close(b.name); ok {
				dst = append(dst, x)
			}
		}
	}
	for _, k := range b.waves {
		if k.buf != nil {
			dst = append(dst, k.close(b.name))
		}
	}
	return dst
}

// sweep closes the minutes and chunks that nothing will close (see the
// staleness rules) and returns their rows, for the writer to add to its
// batch directly.
func (r *Recordings) sweep(now time.Time, dst []row) []row {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return dst
	}
	nowMs := now.UnixMilli()
	for name, b := range r.beds {
		idle := true
		for _, m := range b.params {
			if !m.open {
				continue
			}
			end := (m.minute + 1) * 60_000
			if nowMs >= end+graceMinute.Milliseconds() && now.Sub(m.lastAt) >= graceMinute {
				if x, ok := m.close(name); ok {
					dst = append(dst, x)
				}
				continue
			}
			idle = false
		}
		for _, k := range b.waves {
			if k.buf == nil {
				continue
			}
			if now.Sub(k.lastAt) >= staleChunk {
				// Should the channel resume where it stopped (a stalled
				// connection catching up), it goes on seamlessly.
				k.follows, k.nextMs = true, k.startMs+float64(len(*k.buf))*1000/float64(k.rateHz)
				dst = append(dst, k.close(name))
				continue
			}
			idle = false
		}
		if idle && now.Sub(b.lastAt) >= forgetBed {
			delete(r.beds, name)
		}
	}
	return dst
}

// enqueue hands a row to the writer without blocking; when the queue is
// full the row is dropped and counted. Callers hold r.mu; afterEnqueue
// reports the change of trouble once they have let go.
func (r *Recordings) enqueue(x row) {
	select {
	case r.queue <- x:
	default:
		r.recycle(x.samples)
		r.stats.dropped.Add(1)
		r.pendingOverflow.Store(true)
	}
}

// afterEnqueue reports the queue overflowing, or recovering once it has
// drained to half. Called by the feed goroutine after each frame, without r.mu.
func (r *Recordings) afterEnqueue() {
	if r.pendingOverflow.Swap(false) {
		if !r.overflow.Load() {
			r.opt.Log.Warn("recordings: write queue full, dropping rows", "queue", cap(r.queue))
		}
		r.setTrouble(TroubleQueue, true)
		return
	}
	if r.overflow.Load() && len(r.queue) <= cap(r.queue)/2 {
		r.opt.Log.Info("recordings: write queue drained", "dropped_total", r.stats.dropped.Load())
		r.setTrouble(TroubleQueue, false)
	}
}

// floorDiv is a/b rounded towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
