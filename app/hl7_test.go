package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/hl7"
	"github.com/vigil-station/vigil/monitor/hl7/hl7test"
	"github.com/vigil-station/vigil/monitor/hl7feed"
)

// startHL7 runs `vigil hl7` on a free port against broker until the test
// ends, and returns its MLLP address and its --stats output.
func startHL7(t testing.TB, broker, ward string, extra ...string) (string, *syncBuffer) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"hl7", "--listen", addr, "--broker", broker, "--ward", ward, "--stats", "-"}, extra...)
	cfg, err := Parse(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StatsEvery = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vigil hl7: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the MLLP listener: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, out
}

// syncBuffer is a bytes.Buffer the bridge writes its --stats lines to
// while the test reads them.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func hl7File(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/hl7/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendHL7 sends one message over conn and returns MSA-1 of its ACK.
func sendHL7(t *testing.T, conn net.Conn, r *hl7.Reader, msg []byte) string {
	t.Helper()
	if err := hl7.WriteMessage(conn, msg); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	raw, err := r.ReadMessage()
	if err != nil {
		t.Fatalf("no ACK: %v", err)
	}
	ack, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("ACK %q: %v", raw, err)
	}
	return ack.Segment("MSA", 1).Field(1)
}

// TestHL7Bridge: a monitor's PCD-01 messages sent with MLLP to `vigil
// hl7` reach a station through the real broker (mosquitto): bed 712-B
// gets its vitals (the cuff pressure as NIBP), its device and patient;
// bed 3-2 keeps an MDC code Vigil does not know, and the monitor's own
// code under a private code named in its status, as other values. A
// message with a bad number is refused (AE) and changes nothing.
func TestHL7Bridge(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)
	addr, stats := startHL7(t, mosquittoURL, cfg.Ward, "--unit", "7W,ICU")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := hl7.NewReader(conn)
	for _, f := range []string{"pcd01_multiparam.hl7", "pcd01_local_codes.hl7", "pcd01_custom_separators.hl7"} {
		if code := sendHL7(t, conn, r, hl7File(t, f)); code != "AA" {
			t.Fatalf("%s: ACK %s", f, code)
		}
	}
	waitFor(t, 10*time.Second, "bed 712-B's vitals at the station", func() bool {
		b := core.Hub.Bed("712-B")
		if b == nil {
			return false
		}
		_, ok := b.Vital(feed.MDCNIBPSys)
		_, ok2 := b.Vital(feed.MDCECGHeartRate)
		return ok && ok2
	})
	b := core.Hub.Bed("712-B")
	for code, want := range map[uint32]float64{feed.MDCECGHeartRate: 128, feed.MDCSpO2: 96, feed.MDCNIBPSys: 134, feed.MDCTemp: 37.6, feed.MDCRespRate: 18} {
		if v, ok := b.Vital(code); !ok || !v.Valid || v.Value != want {
			t.Errorf("712-B code %d: %+v, want %v", code, v, want)
		}
	}
	if st, ok := b.DeviceStatus(); !ok || st.Device != "0012345678ABCDEF" || st.PatientID != "NG0077341" || st.Patient != "" {
		t.Errorf("712-B status %+v", st)
	}
	pvc := hl7feed.PrivateCode("ACM-4417", "99ACM")
	waitFor(t, 10*time.Second, "bed 3-2's other values", func() bool {
		b := core.Hub.Bed("3-2")
		if b == nil {
			return false
		}
		v, ok := b.Vital(192999)
		p, okP := b.Vital(pvc)
		st, _ := b.DeviceStatus()
		return ok && v.Value == 42.5 && okP && p.Value == 4 && st.Names[fmt.Sprint(pvc)] == "PVC rate"
	})
	// The accepted messages' last frames may still be on their way: the
	// count is taken once it has stood still for 300 ms.
	before := core.Hub.Counters()
	for still := 0; still < 3; {
		time.Sleep(100 * time.Millisecond)
		if now := core.Hub.Counters(); now.Messages != before.Messages {
			before, still = now, 0
		} else {
			still++
		}
	}
	if code := sendHL7(t, conn, r, hl7File(t, "bad_nm.hl7")); code != "AE" {
		t.Fatalf("a bad number: ACK %s", code)
	}
	time.Sleep(300 * time.Millisecond)
	if after := core.Hub.Counters(); after.Messages != before.Messages {
		t.Errorf("a refused message reached the station: %d messages before, %d after", before.Messages, after.Messages)
	}
	waitFor(t, 5*time.Second, "the bridge's counters", func() bool {
		var last HL7StatsLine
		lines := strings.Split(strings.TrimSpace(stats.String()), "\n")
		return json.Unmarshal([]byte(lines[len(lines)-1]), &last) == nil && last.Messages == 3 && last.Rejected == 1
	})
}

// BenchmarkHL7Load: 200 senders, each with its own connection and bed,
// send one PCD-01 message a second (staggered over the second) to `vigil
// hl7`, which publishes to a real broker (mosquitto, TCP_NODELAY); the
// time from the end of a message's frame to its ACK is measured. Runs
// for $VIGIL_HL7_LOAD (default 20s). Targets: p99 ≤ 50 ms at 200 msg/s.
func BenchmarkHL7Load(b *testing.B) {
	const senders = 200
	run := 20 * time.Second
	if v := os.Getenv("VIGIL_HL7_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		run = d
	}
	mq, err := newMosquitto(func(port int, dir string) string { return plainConf(port, dir) + "set_tcp_nodelay true\n" })
	if err != nil {
		b.Fatal(err)
	}
	if err := mq.Start(); err != nil {
		b.Fatal(err)
	}
	defer mq.Close()
	addr, _ := startHL7(b, mq.URL(), "7W", "--max-senders", "1000")
	tmpl := string(hl7File(b, "pcd01_multiparam.hl7"))
	for range b.N {
		lat := make(chan time.Duration, senders*int(run/time.Second+2))
		errs := make(chan error, senders)
		start := time.Now().Add(500 * time.Millisecond)
		for i := range senders {
			go func() {
				errs <- hl7Sender(addr, tmpl, i, start.Add(time.Duration(i)*time.Second/senders), run, lat)
			}()
		}
		for range senders {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		close(lat)
		var all []time.Duration
		for d := range lat {
			all = append(all, d)
		}
		slices.Sort(all)
		p := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
		rate := float64(len(all)) / run.Seconds()
		b.ReportMetric(p(0.5), "p50_ms")
		b.ReportMetric(p(0.99), "p99_ms")
		b.ReportMetric(rate, "msgs/s")
		benchout.Record("hl7_ack_p99_ms", p(0.99), "ms")
		benchout.Record("hl7_msgs_per_s", rate, "msgs/s")
		b.Logf("%d messages in %s from %d senders: ACK p50 %.2f ms, p99 %.2f ms, max %.2f ms", len(all), run, senders, p(0.5), p(0.99), p(1))
	}
}

// hl7Sender connects, then from first sends one message a second for
// run, each with its own control ID, for bed S<i>-1; every ACK must be AA.
func hl7Sender(addr, tmpl string, i int, first time.Time, run time.Duration, lat chan<- time.Duration) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := hl7.NewReader(conn)
	tmpl = strings.ReplaceAll(tmpl, "7W^712^B", fmt.Sprintf("7W^S%d^1", i))
	for k := 0; ; k++ {
		at := first.Add(time.Duration(k) * time.Second)
		if !at.Before(first.Add(run)) {
			return nil
		}
		time.Sleep(time.Until(at))
		msg := strings.ReplaceAll(tmpl, "VGM7W12-0000481", fmt.Sprintf("L%d-%d", i, k))
		if err := hl7.WriteMessage(conn, []byte(msg)); err != nil {
			return err
		}
		sent := time.Now()
		conn.SetReadDeadline(sent.Add(10 * time.Second))
		raw, err := r.ReadMessage()
		if err != nil {
			return fmt.Errorf("sender %d: %w", i, err)
		}
		lat <- time.Since(sent)
		if !bytes.Contains(raw, []byte("MSA|AA|")) {
			return fmt.Errorf("sender %d: ACK %q", i, raw)
		}
	}
}

// TestHL7ReadmeExample: the message the README's nc example sends is one
// the bridge accepts (AA), for bed 17 of ICU1 with HR and SpO2.
func TestHL7ReadmeExample(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "printf '\\x0bMSH") {
			line = l
		}
	}
	if line == "" {
		t.Fatal("no printf example in the README")
	}
	format := line[len("printf '"):strings.LastIndex(line, "' ")]
	ts := time.Now().Format("20060102150405-0700")
	msg := strings.NewReplacer(`\x0b`, "", `\x1c`, "", `\r`, "\r", `\\`, `\`, "%s", ts).Replace(format)
	pub := &readmePub{}
	srv := hl7feed.NewServer(hl7feed.ServerConfig{MapOptions: hl7feed.MapOptions{Ward: "ICU1"}, Publisher: pub})
	ack, err := hl7.Parse(srv.Handle([]byte(msg), "readme"))
	if err != nil {
		t.Fatal(err)
	}
	if code := ack.Segment("MSA", 1).Field(1); code != "AA" {
		t.Fatalf("ACK %s: %q", code, ack.Bytes())
	}
	if len(pub.topics) != 2 || pub.topics[1] != "vigil/v1/ICU1/17/num" || !strings.Contains(pub.last, `"147842":{"v":72`) {
		t.Fatalf("published %q, last %s", pub.topics, pub.last)
	}
}

type readmePub struct {
	topics []string
	last   string
}

func (p *readmePub) Publish(topic string, _ byte, _ bool, payload []byte) error {
	p.topics, p.last = append(p.topics, topic), string(payload)
	return nil
}

// TestHL7AlarmReports: a station started with --alarm-hl7 reports its
// alarm's start and acknowledgement to a paging system's MLLP listener as
// ORU^R40, and journals each delivery; a device's desaturation through
// mosquitto is the alarm.
func TestHL7AlarmReports(t *testing.T) {
	rx := hl7test.Listen(t, "127.0.0.1:0")
	cfg := stationConfig(t, testConfig(t, "").Ward, "st-hl7", "charge")
	cfg.AlarmHL7 = rx.Addr()
	c := startStation(t, cfg)
	bindBeds(t, c, "05")
	dev := newDevice(t, mosquittoURL, cfg.Ward, "05")
	dev.num("05", spo2(80))
	next := func(what string) string {
		select {
		case m := <-rx.Next():
			return string(m.Bytes())
		case <-time.After(10 * time.Second):
			t.Fatalf("no ORU^R40 for %s", what)
			return ""
		}
	}
	start := next("the desaturation")
	if !strings.Contains(start, "ORU^R40") || !strings.Contains(start, "SpO2") || !strings.Contains(start, "start") || !strings.Contains(start, "^^05") {
		t.Fatalf("start report %q", strings.ReplaceAll(start, "\r", "\n"))
	}
	a, ok := findAlarm(c, "spo2-desat")
	if !ok {
		t.Fatal("no desaturation alarm at the station")
	}
	if err := c.Alarms.Acknowledge(a.ID); err != nil {
		t.Fatal(err)
	}
	if ack := next("the acknowledgement"); !strings.Contains(ack, "alert-acknowledged") {
		t.Fatalf("acknowledgement report %q", strings.ReplaceAll(ack, "\r", "\n"))
	}
	waitFor(t, 5*time.Second, "two deliveries journalled", func() bool {
		evs, err := c.Store.Events(context.Background(), store.Filter{Kinds: []string{store.KindAlarm}})
		n := 0
		for _, e := range evs {
			if e.Event == "hl7-delivered" && e.AlarmID == a.ID {
				n++
			}
		}
		return err == nil && n == 2
	})
	if st := c.HL7Out.Stats(); st.Delivered != 2 || !st.Up {
		t.Fatalf("sender %+v", st)
	}
}

// TestHL7InsideStation: with [hl7] listen in its configuration file the
// station runs the bridge itself, publishing through its own connection:
// the monitor's bed appears with its vitals; the file's units and alarm
// endpoint are read too.
func TestHL7InsideStation(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	file := writeConfig(t, fmt.Sprintf("[hl7]\nlisten = %q\nunits = [\"7W\"]\nalarms = \"127.0.0.1:1\"\n", addr))
	fc, err := Parse([]string{"--config", file}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if fc.HL7.Listen != addr || len(fc.HL7.Units) != 1 || fc.AlarmHL7 != "127.0.0.1:1" {
		t.Fatalf("from the file: listen %q, units %q, alarms %q", fc.HL7.Listen, fc.HL7.Units, fc.AlarmHL7)
	}
	cfg := testConfig(t, mosquittoURL)
	cfg.HL7.Listen, cfg.HL7.Units = fc.HL7.Listen, fc.HL7.Units
	core := startStation(t, cfg)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if code := sendHL7(t, conn, hl7.NewReader(conn), hl7File(t, "pcd01_multiparam.hl7")); code != "AA" {
		t.Fatalf("ACK %s", code)
	}
	waitFor(t, 10*time.Second, "bed 712-B's heart rate", func() bool {
		b := core.Hub.Bed("712-B")
		if b == nil {
			return false
		}
		v, ok := b.Vital(feed.MDCECGHeartRate)
		return ok && v.Value == 128
	})
	if st := core.HL7.Stats(); st.Messages != 1 {
		t.Fatalf("bridge %+v", st)
	}
	if _, err := Parse([]string{"--config", writeConfig(t, "[hl7]\nalarms = \"pager\"\n")}, io.Discard); err == nil {
		t.Fatal("hl7.alarms without a port: accepted")
	}
}

// TestHL7TLS: with --mllp-cert and --mllp-key the listener speaks TLS: a
// sender that trusts the CA gets its ACK; a plain-TCP sender gets none.
func TestHL7TLS(t *testing.T) {
	pki := newPKI(t, t.TempDir(), "mllp")
	cfg := testConfig(t, mosquittoURL)
	addr, _ := startHL7(t, mosquittoURL, cfg.Ward, "--unit", "7W", "--mllp-cert", pki.ServerCert, "--mllp-key", pki.ServerKey)
	pem, err := os.ReadFile(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if code := sendHL7(t, conn, hl7.NewReader(conn), hl7File(t, "pcd01_multiparam.hl7")); code != "AA" {
		t.Fatalf("over TLS: ACK %s", code)
	}
	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	hl7.WriteMessage(plain, hl7File(t, "pcd01_multiparam.hl7"))
	plain.SetReadDeadline(time.Now().Add(3 * time.Second))
	if raw, err := hl7.NewReader(plain).ReadMessage(); err == nil {
		t.Fatalf("a plain sender got an answer: %q", raw)
	}
}

// `vigil hl7 --listen` wins over the configuration file's [hl7] listen;
// without the flag, the file's is used.
func TestHL7ListenFlagWins(t *testing.T) {
	file := writeConfig(t, "[hl7]\nlisten = \"127.0.0.1:3000\"\n")
	cfg, err := Parse([]string{"hl7", "--listen", "127.0.0.1:4000", "--config", file}, io.Discard)
	if err != nil || cfg.HL7.Listen != "127.0.0.1:4000" {
		t.Fatalf("listen %q, %v", cfg.HL7.Listen, err)
	}
	cfg, err = Parse([]string{"hl7", "--config", file}, io.Discard)
	if err != nil || cfg.HL7.Listen != "127.0.0.1:3000" {
		t.Fatalf("listen %q, %v", cfg.HL7.Listen, err)
	}
}
