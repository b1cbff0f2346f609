package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vigil-station/vigil/monitor"
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
	CPUPct         float64 `json:"cpu_pct"`
	RSSMB          float64 `json:"rss_mb"`
	Goroutines     int     `json:"goroutines"`
	Connected      bool    `json:"broker_connected"`
	BrokerDropped  int64   `json:"broker_dropped"`
	SimSamplesPerS float64 `json:"sim_samples_per_s,omitempty"`
}

// statsSource is what the reporter reads; each may be nil.
type statsSource struct {
	hub           *monitor.Hub
	frames        func() uint64
	connected     func() bool
	brokerDropped func() int64
	simSamples    func() uint64
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

// reportStats writes a StatsLine to w every interval until ctx ends.
func reportStats(ctx context.Context, w io.Writer, every time.Duration, src statsSource) {
	type snap struct {
		at                    time.Time
		cpu                   time.Duration
		msgs, samples, frames uint64
		sim                   uint64
	}
	take := func() snap {
		s := snap{at: time.Now(), cpu: cpuTime()}
		if src.hub != nil {
			c := src.hub.Counters()
			s.msgs, s.samples = c.Messages, c.Samples
		}
		if src.frames != nil {
			s.frames = src.frames()
		}
		if src.simSamples != nil {
			s.sim = src.simSamples()
		}
		return s
	}
	prev := take()
	tk := time.NewTicker(every)
	defer tk.Stop()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		cur := take()
		dt := cur.at.Sub(prev.at).Seconds()
		line := StatsLine{
			TS:         cur.at.UTC().Format(time.RFC3339),
			CPUPct:     round1(100 * (cur.cpu - prev.cpu).Seconds() / dt),
			RSSMB:      round1(rssMB()),
			Goroutines: runtime.NumGoroutine(),
			FPS:        round1(float64(cur.frames-prev.frames) / dt),
		}
		if src.hub != nil {
			c := src.hub.Counters()
			line.BedsOnline = src.hub.Online()
			line.MsgsPerS = round1(float64(cur.msgs-prev.msgs) / dt)
			line.SamplesPerS = round1(float64(cur.samples-prev.samples) / dt)
			line.DecodeErrors = c.DecodeErrors
			line.DroppedSamples = c.Dropped
			line.Gaps = c.Gaps
			line.DupFrames = c.DupFrames
		}
		if src.connected != nil {
			line.Connected = src.connected()
		}
		if src.brokerDropped != nil {
			line.BrokerDropped = src.brokerDropped()
		}
		if src.simSamples != nil {
			line.SimSamplesPerS = round1(float64(cur.sim-prev.sim) / dt)
		}
		_ = enc.Encode(line)
		prev = cur
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
