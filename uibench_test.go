package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
)

// The window benchmarks run the real station binary in a real window (the
// DISPLAY of the environment, else a private Xvfb at 1920x1080) with the
// embedded broker and a simulated ward (for the grid and the soak, simulated
// devices in a process of their own, so the figures are the station's),
// read its --stats lines and report the figures make bench tracks. Each iteration is one run of the station;
// make bench runs them with -benchtime 1x.
//
// They fail only on broken runs: no stats, the station exiting with an error
// or without its final line, a frame counter that the painted frames do not
// back up, leaks over the soak. Speed and memory targets are logged with the
// figure and whether they are met, never failed on: the machines are shared.

const (
	uibWarmup = 15 * time.Second // startup and the GL driver's JIT: not measured
	// uibPaintedMin is the least share of the frames counted (fps) that the
	// canvas must really paint (fps_painted); below it the fps counter lies.
	uibPaintedMin = 0.8
)

// BenchmarkUIGrid measures the window's frame rate and CPU share with 16 or
// 32 beds of 2 or 3 waveforms: 45 s runs, the median of the stats lines
// after the first 15 s.
func BenchmarkUIGrid(b *testing.B) {
	display := xDisplay(b)
	bin := buildVigil(b)
	for _, c := range []struct {
		name        string
		beds, waves int
		fpsMin      float64 // target, logged only
		cpuMax      float64 // target, logged only (0: none)
	}{
		{"16x2", 16, 2, 25, 100},
		{"32x2", 32, 2, 20, 0},
		{"16x3", 16, 3, 25, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			var figs uibFigures
			var fps, painted, cpu float64
			for i := 0; i < b.N; i++ {
				samples := uibRunFed(b, bin, display, 45*time.Second, 5*time.Second, c.beds,
					"--layout", fmt.Sprint(c.beds), "--waves", fmt.Sprint(c.waves))
				steady := uibSteady(b, samples, uibWarmup)
				uibCheckBeds(b, steady, c.beds)
				fps = uibMedian(b, steady, "fps")
				painted = uibMedian(b, steady, "fps_painted")
				cpu = uibMedian(b, steady, "cpu_pct")
				uibLogCurve(b, steady, "fps", "fps_painted", "cpu_pct", "beds_online", "rss_mb")
				figs.record("ui_fps_"+c.name, fps, "fps")
				figs.record("ui_fps_painted_"+c.name, painted, "fps")
				figs.record("ui_cpu_pct_"+c.name, cpu, "%")
			}
			b.ReportMetric(fps, "fps")
			b.ReportMetric(painted, "fps_painted")
			b.ReportMetric(cpu, "cpu_pct")
			uibTarget(b, "ui_fps_"+c.name, fps, "fps", fps >= c.fpsMin, fmt.Sprintf("≥ %g fps", c.fpsMin))
			if c.cpuMax > 0 {
				uibTarget(b, "ui_cpu_pct_"+c.name, cpu, "%", cpu <= c.cpuMax, fmt.Sprintf("≤ %g %% of one core", c.cpuMax))
			} else {
				b.Logf("ui_cpu_pct_%s = %.1f %% of one core (no target)", c.name, cpu)
			}
			figs.print()
			uibCheckPainted(b, fps, painted)
		})
	}
}

// BenchmarkUIIdle measures the CPU share of the window with no beds
// (embedded broker, --sim 0): a 40 s run, the median after the first 15 s.
func BenchmarkUIIdle(b *testing.B) {
	display := xDisplay(b)
	bin := buildVigil(b)
	var figs uibFigures
	var cpu float64
	for i := 0; i < b.N; i++ {
		samples := uibRun(b, bin, display, 40*time.Second, 5*time.Second, "--sim", "0")
		steady := uibSteady(b, samples, uibWarmup)
		cpu = uibMedian(b, steady, "cpu_pct")
		uibLogCurve(b, steady, "fps", "fps_painted", "cpu_pct", "rss_mb")
		figs.record("ui_idle_cpu_pct", cpu, "%")
	}
	b.ReportMetric(cpu, "cpu_pct")
	uibTarget(b, "ui_idle_cpu_pct", cpu, "%", cpu <= 3, "≤ 3 % of one core")
	figs.print()
}

// BenchmarkDisclosureScroll measures how smoothly the full disclosure
// scrolls: a ward of 4 beds records for 30 s, then keys (xdotool) open a
// bed's disclosure and step its cursor back and forth, 30 steps a second,
// for 16 s. Each step redraws every strip of the screen from memory; the
// frames painted while it scrolls are the figure (the station's frame rate,
// 25, is the most it can be).
func BenchmarkDisclosureScroll(b *testing.B) {
	display := xDisplay(b)
	bin := buildVigil(b)
	if _, err := exec.LookPath("xdotool"); err != nil {
		b.Fatalf("xdotool not found (make bench installs it): %v", err)
	}
	var figs uibFigures
	var painted float64
	const start, scroll = 34 * time.Second, 16 * time.Second
	for i := 0; i < b.N; i++ {
		keys := []string{"key", "--delay", "33"}
		for k := 0; k < int(scroll.Seconds())*30/2; k++ {
			keys = append(keys, "Left", "Right")
		}
		script := fmt.Sprintf("sleep %d; xdotool search --sync --name Vigil windowfocus --sync; xdotool key --delay 300 Right Return d; sleep 2; xdotool %s",
			int(start.Seconds())-3, strings.Join(keys, " "))
		driver := func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, "sh", "-c", script)
			cmd.Env = append(os.Environ(), "DISPLAY="+display)
			return cmd
		}
		dir := b.TempDir()
		samples := uibRunIn(b, bin, display, dir, freeAddr(b), start+scroll+6*time.Second, 2*time.Second, driver, "--sim", "4")
		var during []uibSample
		for _, smp := range samples {
			if !smp.final && smp.from >= start+time.Second && smp.t <= start+scroll {
				during = append(during, smp)
			}
		}
		if len(during) < 3 {
			b.Fatalf("%d stats lines while scrolling", len(during))
		}
		if log, _ := os.ReadFile(filepath.Join(dir, "stderr.log")); !strings.Contains(string(log), "title=\"Full disclosure") {
			b.Fatalf("the keys did not open a full disclosure view:\n%s", tail(log, 2000))
		}
		uibLogCurve(b, during, "fps", "fps_painted", "cpu_pct")
		painted = uibMedian(b, during, "fps_painted")
		figs.record("disclosure_scroll_fps", painted, "fps")
	}
	b.ReportMetric(painted, "fps_painted")
	uibTarget(b, "disclosure_scroll_fps", painted, "fps", painted >= 20, "≥ 20 fps")
	figs.print()
}

// BenchmarkStartupFirstWave measures the time from the process's start to
// the first waveform painted, with the default ward of 16 beds: three runs
// of 12 s, the median. The binary is built before the runs (warm start).
func BenchmarkStartupFirstWave(b *testing.B) {
	display := xDisplay(b)
	bin := buildVigil(b)
	var figs uibFigures
	var med float64
	for i := 0; i < b.N; i++ {
		var runs []float64
		for r := 0; r < 3; r++ {
			samples := uibRun(b, bin, display, 12*time.Second, 5*time.Second, "--sim", "16")
			ms, ok := -1.0, false
			for _, s := range samples {
				if v, has := uibField(s.m, "first_wave_ms"); has {
					ms, ok = v, true
				}
			}
			if !ok {
				b.Fatalf("run %d: no first_wave_ms in any stats line: no waveform painted in 12 s", r+1)
			}
			b.Logf("run %d: first waveform painted %.0f ms after the start", r+1, ms)
			runs = append(runs, ms)
		}
		med = uibMedianOf(runs)
		figs.record("startup_first_wave_ms", med, "ms")
	}
	b.ReportMetric(med, "first_wave_ms")
	uibTarget(b, "startup_first_wave_ms", med, "ms", med <= 2000, "≤ 2000 ms")
	figs.print()
}

// BenchmarkRSS64Beds is the memory soak: 64 ward beds, 16 per screen, for
// $VIGIL_SOAK (default 3m; the acceptance run uses 30m), stats every 10 s.
// It reports the largest RSS after the first minute and the growth of RSS,
// heap and goroutines over the run, and fails on a leak: goroutines up by
// more than 20 or RSS by more than 30 MB.
func BenchmarkRSS64Beds(b *testing.B) {
	soak := 3 * time.Minute
	if v := os.Getenv("VIGIL_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 2*time.Minute {
			b.Fatalf("VIGIL_SOAK=%q: want a duration of at least 2m (e.g. 30m)", v)
		}
		soak = d
	}
	const every = 10 * time.Second
	display := xDisplay(b)
	bin := buildVigil(b)
	var figs uibFigures
	var maxRSS, rssGrowth, heapGrowth, grGrowth float64
	for i := 0; i < b.N; i++ {
		samples := uibRunFed(b, bin, display, soak, every, 64, "--layout", "16")
		var live []uibSample
		for _, s := range samples {
			if !s.final {
				live = append(live, s)
			}
		}
		b.Logf("soak %s, %d stats lines: t, rss_mb, heap_mb, goroutines, beds_online, fps, fps_painted, cpu_pct", soak, len(live))
		for _, s := range live {
			b.Logf("  %6.0fs %7.1f %7.1f %5.0f %3.0f %5.1f %5.1f %6.1f", s.t.Seconds(),
				uibGet(s.m, "rss_mb"), uibGet(s.m, "heap_mb"), uibGet(s.m, "goroutines"),
				uibGet(s.m, "beds_online"), uibGet(s.m, "fps"), uibGet(s.m, "fps_painted"), uibGet(s.m, "cpu_pct"))
		}
		// rss, heap and goroutines are values at the line's time, not over
		// its interval: the line at 60 s is the first after the first minute.
		var after []uibSample
		for _, s := range live {
			if s.t >= time.Minute-time.Second {
				after = append(after, s)
			}
		}
		if len(after) < 2 {
			b.Fatalf("only %d stats lines after the first minute of a %s soak", len(after), soak)
		}
		uibCheckBeds(b, after, 64)
		maxRSS = 0
		for _, s := range after {
			maxRSS = max(maxRSS, uibGet(s.m, "rss_mb"))
		}
		// Quarters by count of lines: the lines fall on multiples of 10 s,
		// often right on a quarter's edge in time.
		n := len(live)
		q2, q4 := live[n/4:n/2], live[n*3/4:]
		if len(q2) == 0 || len(q4) == 0 {
			b.Fatalf("no stats lines in the second (%d) or last (%d) quarter of the soak", len(q2), len(q4))
		}
		rssGrowth = uibMedian(b, q4, "rss_mb") - uibMedian(b, q2, "rss_mb")
		heapGrowth = uibMedian(b, q4, "heap_mb") - uibMedian(b, q2, "heap_mb")
		grGrowth = uibGet(after[len(after)-1].m, "goroutines") - uibGet(after[0].m, "goroutines")
		b.Logf("second quarter %.0f-%.0fs (%d lines), last quarter %.0f-%.0fs (%d lines); goroutines %.0f at %.0fs, %.0f at %.0fs",
			q2[0].t.Seconds(), q2[len(q2)-1].t.Seconds(), len(q2), q4[0].t.Seconds(), q4[len(q4)-1].t.Seconds(), len(q4),
			uibGet(after[0].m, "goroutines"), after[0].t.Seconds(),
			uibGet(after[len(after)-1].m, "goroutines"), after[len(after)-1].t.Seconds())
		figs.record("rss_mb_64beds", maxRSS, "MB")
		figs.record("rss_mb_64beds_growth", rssGrowth, "MB")
		figs.record("heap_mb_64beds_growth", heapGrowth, "MB")
		figs.record("goroutines_64beds_growth", grGrowth, "goroutines")
	}
	b.ReportMetric(maxRSS, "rss_mb")
	b.ReportMetric(rssGrowth, "rss_growth_mb")
	uibTarget(b, "rss_mb_64beds", maxRSS, "MB", maxRSS <= 300, "≤ 300 MB")
	b.Logf("rss_mb_64beds_growth = %.1f MB, heap_mb_64beds_growth = %.1f MB, goroutines_64beds_growth = %.0f (leak limits: rss ≤ 30 MB, goroutines ≤ 20)",
		rssGrowth, heapGrowth, grGrowth)
	figs.print()
	if grGrowth > 20 {
		b.Errorf("goroutine leak: %.0f more goroutines at the end of the soak than after the first minute (limit 20)", grGrowth)
	}
	if rssGrowth > 30 {
		b.Errorf("memory leak: RSS grew by %.1f MB from the second to the last quarter of the soak (limit 30 MB)", rssGrowth)
	}
}

// uibSample is one stats line of a run.
type uibSample struct {
	from, t time.Duration // the interval the line covers, from the start of the run
	final   bool
	m       map[string]any
}

// uibRun runs the station for dur with a fresh data directory and a free
// broker port, writing stats every `every`, and returns its stats lines. It
// fails b when the station exits with an error, hangs, or ends without its
// final stats line.
func uibRun(b *testing.B, bin, display string, dur, every time.Duration, args ...string) []uibSample {
	b.Helper()
	return uibRunIn(b, bin, display, b.TempDir(), freeAddr(b), dur, every, nil, args...)
}

// uibRunFed is uibRun for a ward of beds fed from outside, as a station's
// devices are: the simulated devices run as their own process (vigil sim)
// on the station's embedded broker, so the CPU and memory measured are the
// station's alone. The beds are configured first, by a short run of the
// demo ward of that many beds on the same data directory (the journal keeps
// them).
func uibRunFed(b *testing.B, bin, display string, dur, every time.Duration, beds int, args ...string) []uibSample {
	b.Helper()
	dir, addr := b.TempDir(), freeAddr(b)
	seed := exec.Command(bin, "--listen", addr, "--data", dir, "--audio", "off", "--notify=false",
		"--sim", fmt.Sprint(beds), "--duration", "3s")
	seed.Env = append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_RUNTIME_DIR="+dir)
	if out, err := seed.CombinedOutput(); err != nil {
		b.Fatalf("configuring %d beds: %v\n%s", beds, err, tail(out, 2000))
	}
	devices := func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, "sim", "--broker", "tcp://"+addr, "--beds", fmt.Sprint(beds),
			"--duration", dur.String())
		cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
		return cmd
	}
	return uibRunIn(b, bin, display, dir, addr, dur, every, devices, append([]string{"--sim", "0"}, args...)...)
}

// uibRunIn runs the station in dir with its broker on addr; devices, if not
// nil, is started a second after the station and stopped with it.
func uibRunIn(b *testing.B, bin, display, dir, addr string, dur, every time.Duration,
	devices func(context.Context) *exec.Cmd, args ...string) []uibSample {
	b.Helper()
	stats := filepath.Join(dir, "stats.jsonl")
	args = append([]string{"--listen", addr, "--data", dir, "--audio", "off", "--notify=false",
		"--stats", stats, "--stats-every", every.String(), "--duration", dur.String()}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), dur+90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_RUNTIME_DIR="+dir)
	logPath := filepath.Join(dir, "stderr.log")
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var dev *exec.Cmd
	var devOut strings.Builder
	if devices != nil {
		time.Sleep(time.Second) // the broker listens
		dev = devices(ctx)
		dev.Stdout, dev.Stderr = &devOut, &devOut
		if err := dev.Start(); err != nil {
			b.Fatalf("simulated devices: %v", err)
		}
	}
	err = cmd.Wait()
	if dev != nil {
		_ = dev.Process.Signal(os.Interrupt)
		_ = dev.Wait()
	}
	log, _ := os.ReadFile(logPath)
	if ctx.Err() != nil {
		b.Fatalf("vigil %s: still running %s after a --duration of %s, killed\n%s",
			strings.Join(args, " "), time.Since(start).Round(time.Second), dur, tail(log, 3000))
	}
	if err != nil {
		b.Fatalf("vigil %s: %v\n%s", strings.Join(args, " "), err, tail(log, 3000))
	}
	samples := uibReadStats(b, stats, start, every)
	if len(samples) == 0 || !samples[len(samples)-1].final {
		b.Fatalf("vigil %s: %d stats lines and no final line after %s\n%s",
			strings.Join(args, " "), len(samples), time.Since(start).Round(time.Second), tail(log, 3000))
	}
	return samples
}

// uibReadStats reads the stats lines of a run started at start. A line's
// time comes from its ts (whole seconds, so up to 1 s early), else from its
// place in the file.
func uibReadStats(b *testing.B, path string, start time.Time, every time.Duration) []uibSample {
	f, err := os.Open(path)
	if err != nil {
		b.Fatalf("stats: %v", err)
	}
	defer f.Close()
	var out []uibSample
	var prev time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		s := uibSample{from: prev, final: m["final"] == true, m: m}
		if ts, ok := m["ts"].(string); ok {
			if at, err := time.Parse(time.RFC3339, ts); err == nil {
				s.t = at.Sub(start)
			}
		}
		if s.t <= 0 && !s.final {
			s.t = time.Duration(len(out)+1) * every
		}
		if s.final {
			s.from = 0 // the final line covers the whole run
		}
		prev = s.t
		out = append(out, s)
	}
	return out
}

// uibSteady is the stats lines (not the final one) whose interval starts
// after warm; it fails b when there is none.
func uibSteady(b *testing.B, samples []uibSample, warm time.Duration) []uibSample {
	b.Helper()
	var out []uibSample
	for _, s := range samples {
		if !s.final && s.from >= warm-time.Second {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		b.Fatalf("no stats line after the first %s (%d lines in all)", warm, len(samples))
	}
	return out
}

func uibField(m map[string]any, key string) (float64, bool) {
	v, ok := m[key].(float64)
	return v, ok
}

func uibGet(m map[string]any, key string) float64 {
	v, _ := uibField(m, key)
	return v
}

// uibMedian is the median of key over samples; it fails b when no line has it.
func uibMedian(b *testing.B, samples []uibSample, key string) float64 {
	b.Helper()
	var vs []float64
	for _, s := range samples {
		if v, ok := uibField(s.m, key); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		b.Fatalf("no %q in %d stats lines", key, len(samples))
	}
	return uibMedianOf(vs)
}

func uibMedianOf(vs []float64) float64 {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// uibCheckBeds logs when not every bed was online, and fails b when none was:
// the window then drew an empty ward and the figures mean nothing.
func uibCheckBeds(b *testing.B, samples []uibSample, beds int) {
	b.Helper()
	online := uibMedian(b, samples, "beds_online")
	if online == 0 {
		b.Fatalf("no bed online in the measured stats lines (want %d): the simulated ward did not reach the window", beds)
	}
	if online < float64(beds) {
		b.Logf("warning: median %.0f of %d beds online while measured", online, beds)
	}
}

// uibCheckPainted fails b when the canvas painted fewer than uibPaintedMin
// of the frames counted.
func uibCheckPainted(b *testing.B, fps, painted float64) {
	b.Helper()
	if painted < uibPaintedMin*fps {
		b.Errorf("fps_painted %.1f is below %.0f %% of fps %.1f: the window counts frames the canvas does not paint, so the fps figure overstates what is drawn",
			painted, uibPaintedMin*100, fps)
	}
}

func uibLogCurve(b *testing.B, samples []uibSample, keys ...string) {
	b.Helper()
	b.Logf("measured lines (t: %s):", strings.Join(keys, ", "))
	for _, s := range samples {
		vals := make([]string, len(keys))
		for i, k := range keys {
			if v, ok := uibField(s.m, k); ok {
				vals[i] = fmt.Sprint(v)
			} else {
				vals[i] = "-"
			}
		}
		b.Logf("  %5.0fs  %s", s.t.Seconds(), strings.Join(vals, "  "))
	}
}

// uibTarget logs a figure with the target and whether it is met.
// Targets are never failed on: the measuring machines are shared and noisy.
func uibTarget(b *testing.B, name string, v float64, unit string, met bool, target string) {
	b.Helper()
	verdict := "met"
	if !met {
		verdict = "NOT met"
	}
	b.Logf("%s = %.1f %s (target %s): %s", name, v, unit, target, verdict)
}

// uibFigures records tracked figures and prints the BENCH lines of only
// those it recorded, so two benchmarks in one process print no line twice.
type uibFigures struct{ names []string }

func (f *uibFigures) record(name string, v float64, unit string) {
	benchout.Record(name, v, unit)
	if !slices.Contains(f.names, name) {
		f.names = append(f.names, name)
	}
}

func (f *uibFigures) print() {
	var sb strings.Builder
	benchout.Fprint(&sb)
	for _, line := range strings.Split(sb.String(), "\n") {
		if fs := strings.Fields(line); len(fs) >= 2 && slices.Contains(f.names, fs[1]) {
			fmt.Println(line)
		}
	}
}
