package recordings

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchout.Print()
	os.Exit(code)
}

var t0 = time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// quiet is a logger for tests that expect failures.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// open opens a recordings file in dir and closes it at the end of the test.
func open(t testing.TB, file string, opt Options) *Recordings {
	t.Helper()
	if opt.Log == nil {
		opt.Log = quiet()
	}
	if opt.Now == nil {
		// The tests' data are from around t0: a clock stopped there keeps
		// the sweep and retention from seeing them as old.
		opt.Now = newClock(t0).Now
	}
	r, aside, err := Open(context.Background(), file, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if aside != nil {
		t.Fatalf("Open set %s aside: %s", file, aside.Reason)
	}
	r.sweepEvery = 20 * time.Millisecond // the sweep's rules go by opt.Now; only the tests' wait is shorter
	t.Cleanup(func() { r.Close() })
	return r
}

func tempFile(t testing.TB) string { return filepath.Join(t.TempDir(), "recordings.db") }

// run starts the writer; the returned stop cancels it and waits for it.
func run(t testing.TB, r *Recordings) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// troubles records OnTrouble calls.
type troubles struct {
	mu    sync.Mutex
	calls []troubleCall
}

type troubleCall struct {
	Problem string
	Present bool
}

func (tr *troubles) On(problem string, present bool) {
	tr.mu.Lock()
	tr.calls = append(tr.calls, troubleCall{problem, present})
	tr.mu.Unlock()
}

func (tr *troubles) get() []troubleCall {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]troubleCall(nil), tr.calls...)
}

func (tr *troubles) has(c troubleCall) bool {
	for _, x := range tr.get() {
		if x == c {
			return true
		}
	}
	return false
}

// waveFrame builds a one-channel frame of n samples from first at rate Hz,
// starting at startMs; gen gives sample i of the channel's whole run.
func waveFrame(code uint32, rate, gain, baseline float32, startMs int64, first, n int, gen func(i int) int16) *feed.WaveFrame {
	s := make([]int16, n)
	for i := range s {
		s[i] = gen(first + i)
	}
	return &feed.WaveFrame{StartMs: startMs, Channels: []feed.Channel{{Code: code, RateHz: rate, Gain: gain, Baseline: baseline, Samples: s}}}
}

// ms is t as Unix ms.
func ms(t time.Time) int64 { return t.UnixMilli() }
