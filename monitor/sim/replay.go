package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/wfdb"
)

// Replay is one bedside device that plays a recording through the feed
// protocol, as a wearable or telemetry transmitter that sends raw signals
// and no analysis would: its waveform channels at their original rates and
// ADC values (gain and baseline from the recording), a frame every
// FrameMs, and its retained online status (offline on the way out). It
// sends no numerics; the station computes what it can from the signals.
//
// Signals map to MDC codes by name (MLII and II → lead II, V1–V6, I, III,
// aVR, aVL, aVF, PLETH, ABP or ART, PAP, CVP, ICP, RESP); the others are
// left out and listed by Skipped. Samples the recording marks as not
// measured are sent as feed.InvalidSample.
type Replay struct {
	cfg     ReplayConfig
	record  string
	chans   []replayChan
	skipped []string
	frames  int64 // frames of FrameMs in the recording
	client  string
	wave    string
	status  string
	waveN   atomic.Uint64
	samples atomic.Uint64
	ended   atomic.Bool
}

// ReplayConfig says how a recording is played.
type ReplayConfig struct {
	Ward    string
	Bed     string  // e.g. "16"
	FrameMs int64   // waveform frame period (200 if 0)
	Speed   float64 // 1 = real time (1 if 0)
	Loop    bool    // start again at the end
	From    float64 // seconds into the recording to start at
}

type replayChan struct {
	code     uint32
	rate     float64
	gain     float32
	baseline float32
	x        []int32
}

// replayCodes maps signal names (upper case) to waveform codes.
var replayCodes = map[string]uint32{
	"MLII": feed.MDCECGLeadII, "II": feed.MDCECGLeadII, "ECG II": feed.MDCECGLeadII, "ECG": feed.MDCECGLeadII,
	"I": feed.MDCECGLeadI, "MLI": feed.MDCECGLeadI, "III": feed.MDCECGLeadIII, "MLIII": feed.MDCECGLeadIII,
	"AVR": feed.MDCECGLeadAVR, "AVL": feed.MDCECGLeadAVL, "AVF": feed.MDCECGLeadAVF,
	"V": feed.MDCECGLeadV1, "V1": feed.MDCECGLeadV1, "MCL1": feed.MDCECGLeadV1, "MCL": feed.MDCECGLeadV1,
	"V2": feed.MDCECGLeadV2, "V3": feed.MDCECGLeadV3, "V4": feed.MDCECGLeadV4, "V5": feed.MDCECGLeadV5, "V6": feed.MDCECGLeadV6,
	"PLETH": feed.MDCPleth, "ABP": feed.MDCPressArt, "ART": feed.MDCPressArt, "PAP": feed.MDCPressPulm,
	"CVP": feed.MDCPressCVP, "ICP": feed.MDCPressICP, "RESP": feed.MDCRespImpedance,
}

// NewReplay prepares a recording for replay.
func NewReplay(rec *wfdb.Record, cfg ReplayConfig) (*Replay, error) {
	if cfg.FrameMs <= 0 {
		cfg.FrameMs = 200
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 1
	}
	if cfg.Speed > 1000 || math.IsNaN(cfg.Speed) {
		return nil, fmt.Errorf("replay: speed %g: want more than 0 and at most 1000", cfg.Speed)
	}
	if !feed.ValidName(cfg.Ward) || !feed.ValidName(cfg.Bed) {
		return nil, fmt.Errorf("replay: ward %q, bed %q: not valid topic names", cfg.Ward, cfg.Bed)
	}
	r := &Replay{cfg: cfg, record: rec.Record}
	used := map[uint32]bool{}
	for i, s := range rec.Signals {
		code, ok := replayCodes[strings.ToUpper(strings.TrimSpace(s.Description))]
		if !ok || used[code] {
			r.skipped = append(r.skipped, s.Description)
			continue
		}
		used[code] = true
		r.chans = append(r.chans, replayChan{code: code, rate: rec.Rate(i), gain: float32(s.Gain),
			baseline: float32(s.Baseline), x: rec.Samples[i]})
	}
	if len(r.chans) == 0 {
		return nil, fmt.Errorf("replay: record %s has no signal Vigil can show (%s)", rec.Record, strings.Join(r.skipped, ", "))
	}
	if cfg.From < 0 || cfg.From >= rec.Duration() {
		return nil, fmt.Errorf("replay: start at %gs: record %s lasts %gs", cfg.From, rec.Record, rec.Duration())
	}
	r.frames = int64(float64(rec.Frames) / rec.FrameRate * 1000 / float64(cfg.FrameMs))
	if r.frames < 1 {
		return nil, fmt.Errorf("replay: record %s is shorter than one frame", rec.Record)
	}
	r.client = fmt.Sprintf("vigil-replay-%s-%s", cfg.Ward, cfg.Bed)
	r.wave = feed.Topic(cfg.Ward, cfg.Bed, feed.StreamWave)
	r.status = feed.Topic(cfg.Ward, cfg.Bed, feed.StreamStatus)
	return r, nil
}

// Skipped lists the recording's signals that are not replayed.
func (r *Replay) Skipped() []string { return r.skipped }

// Codes lists the replayed channels' waveform codes.
func (r *Replay) Codes() []uint32 {
	out := make([]uint32, len(r.chans))
	for i, c := range r.chans {
		out[i] = c.code
	}
	return out
}

// Frames and Samples count what was published.
func (r *Replay) Frames() uint64  { return r.waveN.Load() }
func (r *Replay) Samples() uint64 { return r.samples.Load() }

// Ended reports whether a replay without Loop reached its end.
func (r *Replay) Ended() bool { return r.ended.Load() }

func (r *Replay) statusMsg(online bool, now time.Time) []byte {
	return feed.EncodeStatus(feed.Status{Device: "replay:" + r.record, Model: "Vigil replay", Online: online, TsMs: now.UnixMilli()})
}

// frame fills f with frame k of the recording (frame k of the playing, so
// k past the end wraps when looping) and returns false past the end.
func (r *Replay) frame(f *feed.WaveFrame, k int64, epochMs int64) bool {
	if !r.cfg.Loop && k >= r.frames-int64(r.cfg.From*1000)/r.cfg.FrameMs {
		return false
	}
	f.Seq = uint32(k)
	if len(f.Channels) != len(r.chans) {
		f.Channels = make([]feed.Channel, len(r.chans))
	}
	for c, ch := range r.chans {
		// The samples whose time falls in [k·FrameMs, (k+1)·FrameMs).
		i0 := int64(math.Ceil(ch.rate * float64(k*r.cfg.FrameMs) / 1000))
		i1 := int64(math.Ceil(ch.rate * float64((k+1)*r.cfg.FrameMs) / 1000))
		if c == 0 {
			f.StartMs = epochMs + int64(math.Round(float64(i0)*1000/ch.rate))
		}
		out := &f.Channels[c]
		out.Code, out.RateHz, out.Gain, out.Baseline = ch.code, float32(ch.rate), ch.gain, ch.baseline
		out.Samples = out.Samples[:0]
		n := int64(len(ch.x))
		skip := int64(math.Round(r.cfg.From * ch.rate))
		for i := i0 + skip; i < i1+skip; i++ {
			v := int32(wfdb.Invalid)
			if j := i % n; r.cfg.Loop || i < n {
				v = ch.x[j]
			}
			if v < math.MinInt16 || v > math.MaxInt16 {
				v = wfdb.Invalid
			}
			out.Samples = append(out.Samples, int16(v))
		}
	}
	return true
}

// Run dials the device (again every second until it connects or ctx
// ends), announces it online and plays the recording in real time (or at
// Speed), until ctx ends or, without Loop, the recording does; then it
// announces it offline and closes the connection.
func (r *Replay) Run(ctx context.Context, dial Dialer) error {
	if dial == nil {
		return errors.New("replay: nil Dialer")
	}
	will := r.statusMsg(false, time.Now())
	var conn Conn
	for conn == nil {
		c, err := dial(ctx, r.client, r.status, will)
		if err == nil && c != nil {
			conn = c
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(redialEvery):
		}
	}
	defer conn.Close()
	start := time.Now()
	if err := conn.Publish(r.status, 1, true, r.statusMsg(true, start)); err != nil {
		return fmt.Errorf("replay: announce: %w", err)
	}
	period := time.Duration(float64(time.Duration(r.cfg.FrameMs)*time.Millisecond) / r.cfg.Speed)
	tick := time.NewTicker(period)
	defer tick.Stop()
	var f feed.WaveFrame
	next := int64(0)
	for {
		select {
		case <-ctx.Done():
			_ = conn.Publish(r.status, 1, true, r.statusMsg(false, time.Now()))
			return nil
		case now := <-tick.C:
			// Frames due by now (a late tick catches up, never skips).
			due := int64(float64(now.Sub(start)) / float64(period))
			for ; next < due; next++ {
				if !r.frame(&f, next, start.UnixMilli()) {
					r.ended.Store(true)
					_ = conn.Publish(r.status, 1, true, r.statusMsg(false, time.Now()))
					return nil
				}
				// A fresh buffer each time: the connection may still be
				// writing the previous one out when Publish returns.
				size := 16
				for _, ch := range f.Channels {
					size += 18 + 2*len(ch.Samples)
				}
				buf := feed.AppendWave(make([]byte, 0, size), &f)
				if err := conn.Publish(r.wave, 0, false, buf); err != nil {
					continue // counted by the connection's owner; the device goes on
				}
				r.waveN.Add(1)
				for _, ch := range f.Channels {
					r.samples.Add(uint64(len(ch.Samples)))
				}
			}
		}
	}
}
