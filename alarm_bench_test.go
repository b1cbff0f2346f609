package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
)

// BenchmarkAlarmLatency runs the real station in a real window under Xvfb
// with 64 simulated icu beds and the storm scenario (every bed desaturates
// and every device raises a HIGH alarm at the same instant), and reports the
// station's alarm latency: from receipt of the message that crossed the
// limit to the alarm drawn in the window and published to the other
// stations. One iteration is one 85 s run (make bench runs it once).
func BenchmarkAlarmLatency(b *testing.B) {
	display := xDisplay(b)
	dir := b.TempDir()
	bin := buildVigil(b)
	for i := 0; i < b.N; i++ {
		addr := freeAddr(b)
		stats := filepath.Join(dir, "stats.jsonl")
		_ = os.Remove(stats)
		cmd := exec.Command(bin, "--listen", addr, "--data", dir, "--sim", "64", "--profile", "icu",
			"--scenario", "storm", "--audio", "off", "--notify=false", "--stats", stats, "--stats-every", "5s",
			"--duration", "85s")
		cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_RUNTIME_DIR="+dir)
		logf, _ := os.Create(filepath.Join(dir, "stderr.log"))
		cmd.Stderr = logf
		start := time.Now()
		if err := cmd.Run(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			b.Fatalf("station: %v\n%s", err, tail(log, 3000))
		}
		last := lastStats(stats)
		if last == nil || last["final"] != true {
			b.Fatalf("no final stats line after %s: %v", time.Since(start), last)
		}
		n, _ := last["alarm_latency_n"].(float64)
		p50, _ := last["alarm_latency_ms_p50"].(float64)
		p99, _ := last["alarm_latency_ms_p99"].(float64)
		fps, _ := last["fps"].(float64)
		if n < 64 {
			b.Fatalf("only %.0f zero-delay alarms measured, want at least the storm's 64: %v", n, last)
		}
		b.Logf("64 icu beds, storm: %.0f alarms, latency p50 %.2f ms p99 %.2f ms; window %.1f fps, %v %% CPU, %v beds online",
			n, p50, p99, fps, last["cpu_pct"], last["beds_online"])
		benchout.Record("alarm_latency_p50_ms", p50, "ms")
		benchout.Record("alarm_latency_p99_ms", p99, "ms")
		benchout.Record("alarm_latency_alarms", n, "alarms")
	}
	benchout.Print()
}
