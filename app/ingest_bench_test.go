package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
)

// The bare subscriber is the baseline of the ingest benchmark: paho with the
// station's settings and subscriptions, whose handler only counts. It runs
// as a separate process (this test binary started again with
// VIGIL_BARE_BROKER set) so that its CPU time is its own.
func bareSubscriberMain() bool {
	broker := os.Getenv("VIGIL_BARE_BROKER")
	if broker == "" {
		return false
	}
	ward := os.Getenv("VIGIL_BARE_WARD")
	var msgs, bytes atomic.Uint64
	count := func(_ paho.Client, m paho.Message) {
		msgs.Add(1)
		bytes.Add(uint64(len(m.Payload())))
	}
	ready := make(chan struct{}, 1)
	base := feed.Root + "/" + ward + "/+/"
	subs := map[string]byte{base + "wave": 0, base + "num": 0, base + "status": 1, base + "alarm": 1, base + "event": 1}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID("vigil-bare-" + ward).
		SetCleanSession(false).SetOrderMatters(true).SetKeepAlive(5 * time.Second).
		SetPingTimeout(3 * time.Second).SetAutoReconnect(true).SetDefaultPublishHandler(count).
		SetOnConnectHandler(func(c paho.Client) {
			if tok := c.SubscribeMultiple(subs, count); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				select {
				case ready <- struct{}{}:
				default:
				}
			}
		})
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		fmt.Println("error", tok.Error())
		os.Exit(1)
	}
	<-ready
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	fmt.Printf("count %d %d\n", msgs.Load(), bytes.Load())
	c.Disconnect(100)
	os.Exit(0)
	return true
}

// procCPU is a process's CPU time: the sum over its threads of the run time
// in /proc/<pid>/task/*/schedstat (nanoseconds), falling back to the
// utime+stime of /proc/<pid>/stat (10 ms ticks).
func procCPU(pid int) (time.Duration, error) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += ns
		}
	}
	if sum > 0 {
		return time.Duration(sum), nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // USER_HZ = 100 on Linux
}

type ingestResult struct {
	stationCPU, bareCPU, simCPU, brokerCPU float64 // % of one core
	published, received                    uint64  // samples
	simErrors                              uint64
	bareMsgs, stationMsgs                  uint64
	p50, p99                               float64 // ms
	lateOrGap                              uint64
	recRows, recDropped                    uint64 // recordings: rows written, rows lost
	recMB                                  float64
}

// buildVigil builds the station binary once per benchmark run.
func buildVigil(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "vigil")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vigil-station/vigil")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lastJSON reads the last line of a JSON-lines file into v.
func lastJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return json.Unmarshal([]byte(lines[len(lines)-1]), v)
}

// runIngest measures one profile: mosquitto on loopback, `vigil sim` with
// beds devices publishing, the headless station and the bare subscriber both
// subscribed in the same run. CPU is read from /proc over a window after
// every device has connected; samples are compared after the simulator has
// stopped and everything in flight has arrived.
func runIngest(b *testing.B, bin, profile string, beds int, warm, window time.Duration) ingestResult {
	mq, err := newMosquitto(func(port int, dir string) string {
		// Without it, mosquitto's Nagle delay meets the receiver's delayed
		// ACK and small frames wait up to ~40 ms (see docs/deployment.md).
		return plainConf(port, dir) + "set_tcp_nodelay true\n"
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := mq.Start(); err != nil {
		b.Fatal(err)
	}
	defer mq.Close()
	dir := b.TempDir()
	ward := "BENCH"
	stats := filepath.Join(dir, "station.jsonl")
	station := exec.Command(bin, "--broker", mq.URL(), "--ward", ward, "--headless", "--data", dir, "--discover-beds",
		"--stats", stats, "--stats-every", "5s", "--client-id", "bench-station")
	station.Stderr = os.Stderr
	if err := station.Start(); err != nil {
		b.Fatal(err)
	}
	defer station.Process.Kill()

	bare := exec.Command(os.Args[0], "-test.run", "^$")
	bare.Env = append(os.Environ(), "VIGIL_BARE_BROKER="+mq.URL(), "VIGIL_BARE_WARD="+ward)
	bareOut, _ := bare.StdoutPipe()
	if err := bare.Start(); err != nil {
		b.Fatal(err)
	}
	defer bare.Process.Kill()
	bareLines := bufio.NewScanner(bareOut)
	if !bareLines.Scan() || bareLines.Text() != "ready" {
		b.Fatalf("bare subscriber: %q", bareLines.Text())
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var l StatsLine
		if lastJSON(stats, &l) == nil && l.Connected {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("station did not connect")
		}
		time.Sleep(200 * time.Millisecond)
	}

	simStats := filepath.Join(dir, "sim.jsonl")
	simCmd := exec.Command(bin, "sim", "--broker", mq.URL(), "--ward", ward, "--beds", strconv.Itoa(beds),
		"--profile", profile, "--events=false", "--duration", (warm + window + 2*time.Second).String(), "--stats", simStats)
	simCmd.Stderr = os.Stderr
	if err := simCmd.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(warm)
	pids := []int{station.Process.Pid, bare.Process.Pid, simCmd.Process.Pid, mq.cmd.Process.Pid}
	cpu0 := make([]time.Duration, len(pids))
	for i, p := range pids {
		cpu0[i], _ = procCPU(p)
	}
	t0 := time.Now()
	time.Sleep(window)
	pct := make([]float64, len(pids))
	el := time.Since(t0)
	for i, p := range pids {
		c, _ := procCPU(p)
		pct[i] = 100 * float64(c-cpu0[i]) / float64(el)
	}
	if err := simCmd.Wait(); err != nil {
		b.Fatalf("vigil sim: %v", err)
	}
	time.Sleep(2 * time.Second) // in flight
	station.Process.Signal(syscall.SIGTERM)
	bare.Process.Signal(syscall.SIGTERM)
	var r ingestResult
	r.stationCPU, r.bareCPU, r.simCPU, r.brokerCPU = pct[0], pct[1], pct[2], pct[3]
	if bareLines.Scan() {
		fmt.Sscanf(bareLines.Text(), "count %d", &r.bareMsgs)
	}
	bare.Wait()
	if err := station.Wait(); err != nil {
		b.Fatalf("station: %v", err)
	}
	var fin StatsLine
	if err := lastJSON(stats, &fin); err != nil || !fin.Final {
		b.Fatalf("station's final stats line: %v %+v", err, fin)
	}
	var simFin SimStatsLine
	if err := lastJSON(simStats, &simFin); err != nil || !simFin.Final {
		b.Fatalf("simulator's final stats line: %v %+v", err, simFin)
	}
	r.published, r.received = simFin.Samples, fin.SamplesTotal
	r.simErrors = simFin.PublishErrors
	r.stationMsgs = fin.MsgsTotal
	r.p50, r.p99 = fin.LatencyP50Ms, fin.LatencyP99Ms
	r.lateOrGap = fin.Gaps + fin.LateFrames + fin.DupFrames
	r.recRows, r.recDropped, r.recMB = fin.RecordingsWritten, fin.RecordingsDropped, fin.RecordingsWaveMB
	return r
}

// BenchmarkIngest is the ward-scale ingest measurement of `make bench`:
// 64 beds of the icu and the heavy profile (see monitor/sim).
func BenchmarkIngest(b *testing.B) {
	bin := buildVigil(b)
	warm, window := 8*time.Second, 60*time.Second
	profiles := []string{"icu", "heavy"}
	if s := os.Getenv("VIGIL_BENCH_PROFILES"); s != "" {
		profiles = strings.Split(s, ",")
	}
	for _, p := range profiles {
		b.Run(p+"64", func(b *testing.B) {
			r := runIngest(b, bin, p, 64, warm, window)
			lost := float64(r.published) - float64(r.received)
			b.Logf("%s x64: station %.1f%% CPU, bare subscriber %.1f%% (ratio %.2f), sim %.1f%%, mosquitto %.1f%%; "+
				"samples published %d, received %d, lost %.0f; sim publish errors %d; messages bare %d station %d; "+
				"latency p50 %.2f ms p99 %.2f ms; gaps+late+dup %d; recordings %d rows written (%.1f MB of waveforms), %d dropped",
				p, r.stationCPU, r.bareCPU, r.stationCPU/r.bareCPU, r.simCPU, r.brokerCPU,
				r.published, r.received, lost, r.simErrors, r.bareMsgs, r.stationMsgs, r.p50, r.p99, r.lateOrGap,
				r.recRows, r.recMB, r.recDropped)
			b.ReportMetric(r.stationCPU, "station_cpu_%")
			b.ReportMetric(lost, "samples_lost")
			benchout.Record("ingest_cpu_pct_"+p+"64", r.stationCPU, "pct_of_core")
			if p == "icu" {
				benchout.Record("ingest_ratio_vs_bare_icu64", r.stationCPU/r.bareCPU, "ratio")
				benchout.Record("samples_lost_icu64", lost, "samples")
				benchout.Record("publish_ring_p50_ms_icu64", r.p50, "ms")
				benchout.Record("publish_ring_p99_ms_icu64", r.p99, "ms")
				benchout.Record("bare_cpu_pct_icu64", r.bareCPU, "pct_of_core")
				benchout.Record("recordings_dropped_icu64", float64(r.recDropped), "rows")
			} else {
				benchout.Record("samples_lost_heavy64", lost, "samples")
				benchout.Record("ingest_ratio_vs_bare_heavy64", r.stationCPU/r.bareCPU, "ratio")
				benchout.Record("publish_ring_p99_ms_heavy64", r.p99, "ms")
			}
			benchout.Record("samples_published_"+p+"64", float64(r.published), "samples")
		})
	}
}
