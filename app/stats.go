package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/app/store/recordings"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// StatsLine is one diagnostics record (documented in docs/diagnostics.md).
type StatsLine struct {
	TS             string  `json:"ts"`
	BedsOnline     int     `json:"beds_online"`
	MsgsPerS       float64 `json:"msgs_per_s"`
	SamplesPerS    float64 `json:"samples_per_s"`
	DecodeErrors   uint64  `json:"decode_errors"`
	DroppedSamples uint64  `json:"dropped_samples"`
	Gaps           uint64  `json:"gaps"`
	DupFrames      uint64  `json:"dup_frames"`
	FPS            float64 `json:"fps"`
	FPSPainted     float64 `json:"fps_painted"`
	FirstWaveMs    int64   `json:"first_wave_ms,omitempty"`
	CPUPct         float64 `json:"cpu_pct"`
	RSSMB          float64 `json:"rss_mb"`
	HeapMB         float64 `json:"heap_mb"`
	Goroutines     int     `json:"goroutines"`
	Connected      bool    `json:"broker_connected"`
	BrokerProblem  string  `json:"broker_problem,omitempty"`
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LateFrames     uint64  `json:"late_frames"`
	// Frames refused for a time outside the skew window, held back at a
	// sequence or clock jump, and jumps confirmed as device restarts;
	// messages refused for a bed that is not configured, channels and
	// device alarms beyond a bed's caps.
	SkewFrames      uint64 `json:"skew_frames"`
	JumpFrames      uint64 `json:"jump_frames"`
	DeviceRestarts  uint64 `json:"device_restarts"`
	RefusedBeds     uint64 `json:"refused_beds"`
	RefusedChannels uint64 `json:"refused_channels,omitempty"`
	RefusedAlarms   uint64 `json:"refused_device_alarms,omitempty"`
	// Messages not used because a bed's feed showed another source than
	// its device, and numerics held for their sequence number.
	SourceRefused uint64 `json:"source_refused"`
	NumHeld       uint64 `json:"num_held"`
	BrokerDropped int64  `json:"broker_dropped"`
	// The embedded broker: connections ended by a panic in its packet
	// handling (the attack of a malformed packet), and connections refused
	// (login, access list, client cap, packet size).
	BrokerPanics   int64   `json:"broker_panics,omitempty"`
	BrokerRefused  int64   `json:"broker_refused,omitempty"`
	SimSamplesPerS float64 `json:"sim_samples_per_s,omitempty"`
	MsgsTotal      uint64  `json:"msgs_total"`
	SamplesTotal   uint64  `json:"samples_total"`
	// Alarms: shown now, raised since start, and the latency of zero-delay
	// alarms since start (message received -> alarm shown and published).
	ActiveAlarms      int     `json:"active_alarms"`
	AlarmsRaisedTotal uint64  `json:"alarms_raised_total"`
	AlarmLatencyP50Ms float64 `json:"alarm_latency_ms_p50"`
	AlarmLatencyP99Ms float64 `json:"alarm_latency_ms_p99"`
	AlarmLatencyN     uint64  `json:"alarm_latency_n"`
	AlarmPublishFails uint64  `json:"alarm_publish_failures"`
	StationsOnline    int     `json:"stations_online"`
	// Other stations' messages refused: not verified (by reason), or
	// verified but against this station's rules (remote_refused).
	AlarmSyncRefused   uint64            `json:"alarm_sync_refused"`
	AlarmSyncRefusedBy map[string]uint64 `json:"alarm_sync_refused_by,omitempty"`
	RemoteRefused      uint64            `json:"remote_refused"`
	// The journal and the recordings.
	JournalWritten     uint64  `json:"journal_rows_total"`
	JournalWaiting     int     `json:"journal_waiting"`
	JournalFailures    uint64  `json:"journal_failures"`
	JournalLost        uint64  `json:"journal_lost"`
	JournalCommitP99Ms float64 `json:"journal_commit_p99_ms"`
	RecordingsWritten  uint64  `json:"recordings_rows_total"`
	RecordingsQueue    int     `json:"recordings_queue"`
	RecordingsDropped  uint64  `json:"recordings_dropped"`
	RecordingsWaveMB   float64 `json:"recordings_wave_mb"`
	// Final marks the line written as the station stops: its rates and
	// latencies cover the whole run.
	Final bool `json:"final,omitempty"`
}

// SimStatsLine is one line of `vigil sim --stats`.
type SimStatsLine struct {
	TS            string `json:"ts"`
	Profile       string `json:"profile"`
	Beds          int    `json:"beds"`
	WaveFrames    uint64 `json:"wave_frames"`
	Samples       uint64 `json:"samples"`
	NumFrames     uint64 `json:"num_frames"`
	PublishErrors uint64 `json:"publish_errors"`
	DialErrors    uint64 `json:"dial_errors"`
	Final         bool   `json:"final,omitempty"`
}

// statsSource is what the reporter reads; each may be nil.
type statsSource struct {
	hub           *monitor.Hub
	frames        func() uint64
	painted       func() uint64
	firstWave     func() time.Time
	link          func() mqttfeed.LinkState
	brokerDropped func() int64
	broker        interface {
		Panics() int64
		Refused() int64
	}
	simSamples func() uint64
	alarms     *alarms.Service
	sync       *alarmSync
	journal    func() store.Stats
	recordings func() recordings.Stats
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB is the resident set size from /proc (0 where unavailable).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(string(f[1]), 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}

// heapMB is the Go heap in use (live and not yet collected objects).
func heapMB() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// reportStats writes a StatsLine to w every interval until ctx ends, then a
// final line covering the whole run.
func reportStats(ctx context.Context, w io.Writer, every time.Duration, src statsSource) {
	type snap struct {
		at                    time.Time
		cpu                   time.Duration
		msgs, samples, frames uint64
		painted               uint64
		sim                   uint64
		lat                   monitor.LatencySnapshot
	}
	take := func() snap {
		s := snap{at: time.Now(), cpu: cpuTime()}
		if src.hub != nil {
			c := src.hub.Counters()
			s.msgs, s.samples = c.Messages, c.Samples
			s.lat = src.hub.LatencySnapshot()
		}
		if src.frames != nil {
			s.frames = src.frames()
		}
		if src.painted != nil {
			s.painted = src.painted()
		}
		if src.simSamples != nil {
			s.sim = src.simSamples()
		}
		return s
	}
	first := snap{at: processStart} // the final line covers the whole run
	prev := take()
	tk := time.NewTicker(every)
	defer tk.Stop()
	enc := json.NewEncoder(w)
	line := func(prev, cur snap) StatsLine {
		dt := cur.at.Sub(prev.at).Seconds()
		l := StatsLine{
			TS:         cur.at.UTC().Format(time.RFC3339),
			CPUPct:     round1(100 * (cur.cpu - prev.cpu).Seconds() / dt),
			RSSMB:      round1(rssMB()),
			HeapMB:     round1(heapMB()),
			Goroutines: runtime.NumGoroutine(),
			FPS:        round1(float64(cur.frames-prev.frames) / dt),
			FPSPainted: round1(float64(cur.painted-prev.painted) / dt),
		}
		if src.firstWave != nil {
			if t := src.firstWave(); !t.IsZero() {
				l.FirstWaveMs = t.Sub(processStart).Milliseconds()
			}
		}
		if src.hub != nil {
			c := src.hub.Counters()
			l.BedsOnline = src.hub.Online()
			l.MsgsPerS = round1(float64(cur.msgs-prev.msgs) / dt)
			l.SamplesPerS = round1(float64(cur.samples-prev.samples) / dt)
			l.MsgsTotal, l.SamplesTotal = cur.msgs, cur.samples
			l.DecodeErrors = c.DecodeErrors
			l.DroppedSamples = c.Dropped
			l.Gaps = c.Gaps
			l.DupFrames = c.DupFrames
			l.LateFrames = c.LateFrames
			l.SkewFrames, l.JumpFrames, l.DeviceRestarts = c.SkewFrames, c.JumpFrames, c.Restarts
			l.RefusedBeds, l.RefusedChannels, l.RefusedAlarms = c.RefusedBeds, c.RefusedChannels, c.RefusedAlarms
			l.SourceRefused, l.NumHeld = c.SourceRefused, c.NumHeld
			lat := cur.lat.Sub(prev.lat)
			l.LatencyP50Ms = float64(lat.Quantile(0.5).Microseconds()) / 1000
			l.LatencyP99Ms = float64(lat.Quantile(0.99).Microseconds()) / 1000
		}
		if src.link != nil {
			st := src.link()
			l.Connected, l.BrokerProblem = st.Connected, st.Problem
		}
		if src.broker != nil {
			l.BrokerPanics, l.BrokerRefused = src.broker.Panics(), src.broker.Refused()
		}
		if src.brokerDropped != nil {
			l.BrokerDropped = src.brokerDropped()
		}
		if src.alarms != nil {
			st := src.alarms.Stats()
			l.ActiveAlarms, l.AlarmsRaisedTotal, l.AlarmLatencyN = st.Active, st.Raised, st.Latency.Total()
			l.AlarmLatencyP50Ms = float64(st.Latency.Quantile(0.5).Microseconds()) / 1000
			l.AlarmLatencyP99Ms = float64(st.Latency.Quantile(0.99).Microseconds()) / 1000
			l.RemoteRefused = st.RemoteRefused
		}
		if src.sync != nil {
			l.AlarmPublishFails = src.sync.failures.Load()
			l.StationsOnline = src.sync.stationsOnline()
			l.AlarmSyncRefused = src.sync.rejected.Load()
			if by := src.sync.refusedByReason(); len(by) > 0 {
				l.AlarmSyncRefusedBy = by
			}
		}
		if src.journal != nil {
			j := src.journal()
			l.JournalWritten, l.JournalWaiting, l.JournalFailures, l.JournalLost = j.Written, j.Waiting, j.Failures, j.Lost
			l.JournalCommitP99Ms = j.CommitP99
		}
		if src.recordings != nil {
			r := src.recordings()
			l.RecordingsWritten, l.RecordingsQueue, l.RecordingsDropped = r.Written, r.Queue, r.Dropped
			l.RecordingsWaveMB = math.Round(float64(r.Bytes)/(1<<20)*100) / 100
		}
		if src.simSamples != nil {
			l.SimSamplesPerS = round1(float64(cur.sim-prev.sim) / dt)
		}
		return l
	}
	for {
		select {
		case <-ctx.Done():
			l := line(first, take())
			l.Final = true
			_ = enc.Encode(l)
			return
		case <-tk.C:
		}
		cur := take()
		_ = enc.Encode(line(prev, cur))
		prev = cur
	}
}

// processStart is when the process started: the final line's CPU share and
// rates cover the whole run.
var processStart = time.Now()

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
