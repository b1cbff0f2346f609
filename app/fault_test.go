package app

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
	"github.com/vigil-station/vigil/monitor/sim"
)

// secureBroker is a mosquitto with three listeners: plain TCP with
// passwords, TLS with passwords, and TLS requiring a client certificate.
type secureBroker struct {
	*mosquitto
	plain, tls, mtls int
	pki              testPKI
	user, password   string
}

func startSecureBroker(t *testing.T) *secureBroker {
	t.Helper()
	sb := &secureBroker{user: "station-icu", password: "s3cret-" + strconv.Itoa(rand.IntN(1e6))}
	var err error
	sb.mosquitto, err = newMosquitto(func(port int, dir string) string {
		sb.plain = port
		sb.tls, _ = freePort()
		sb.mtls, _ = freePort()
		sb.pki = newPKI(t, dir, "trusted")
		pw := filepath.Join(dir, "passwd")
		if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, sb.user, sb.password).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
		os.Chmod(pw, 0o644)
		p := sb.pki
		return fmt.Sprintf(`per_listener_settings true
listener %d 127.0.0.1
allow_anonymous false
password_file %s
listener %d 127.0.0.1
allow_anonymous false
password_file %s
cafile %s
certfile %s
keyfile %s
listener %d 127.0.0.1
allow_anonymous true
require_certificate true
cafile %s
certfile %s
keyfile %s
`, sb.plain, pw, sb.tls, pw, p.CA, p.ServerCert, p.ServerKey, sb.mtls, p.CA, p.ServerCert, p.ServerKey)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

// TestRefusedConnections: a wrong password, an untrusted broker certificate,
// plain MQTT to a TLS-only port and a missing client certificate are each
// refused with a clear one-line reason, retried, never crash the station,
// and the password never reaches the log. The right settings then connect,
// and a simulated device publishes over TLS with a user name.
func TestRefusedConnections(t *testing.T) {
	sb := startSecureBroker(t)
	other := newPKI(t, t.TempDir(), "untrusted")
	addr := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

	cases := []struct {
		name, url, user, password string
		tls                       mqttfeed.TLS
		want                      string // in the problem line; "" = connects
	}{
		{"wrong password", "tcp://" + addr(sb.plain), sb.user, "not-the-password", mqttfeed.TLS{}, "wrong user name or password"},
		{"no credentials", "tcp://" + addr(sb.plain), "", "", mqttfeed.TLS{}, "refused the login"},
		{"untrusted certificate", "ssl://" + addr(sb.tls), sb.user, sb.password, mqttfeed.TLS{CAFile: other.CA}, "not signed by a trusted CA"},
		{"plaintext to TLS port", "tcp://" + addr(sb.tls), sb.user, sb.password, mqttfeed.TLS{}, "TLS-only port"},
		{"no client certificate", "ssl://" + addr(sb.mtls), "", "", mqttfeed.TLS{CAFile: sb.pki.CA}, "client certificate"},
		{"password ok", "tcp://" + addr(sb.plain), sb.user, sb.password, mqttfeed.TLS{}, ""},
		{"tls ok", "ssl://" + addr(sb.tls), sb.user, sb.password, mqttfeed.TLS{CAFile: sb.pki.CA}, ""},
		{"client certificate ok", "ssl://" + addr(sb.mtls), "", "", mqttfeed.TLS{CAFile: sb.pki.CA, CertFile: sb.pki.ClientCert, KeyFile: sb.pki.ClientKey}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, tc.url)
			cfg.Username, cfg.Password, cfg.TLS = tc.user, tc.password, tc.tls
			core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer core.Close()
			if tc.want == "" {
				waitFor(t, 10*time.Second, "connected", core.Sub.Connected)
				return
			}
			waitFor(t, 15*time.Second, "two refused attempts", func() bool {
				st := core.Sub.State()
				return !st.Connected && st.Attempts >= 2
			})
			st := core.Sub.State()
			if !strings.Contains(st.Problem, tc.want) || strings.Contains(st.Problem, "\n") {
				t.Fatalf("problem %q, want one line with %q", st.Problem, tc.want)
			}
			if !st.Refused {
				t.Fatalf("%q not marked as a refusal", st.Problem)
			}
			t.Logf("shown: %s (after %d attempts)", st.Problem, st.Attempts)
			core.Close()
			log, err := os.ReadFile(filepath.Join(cfg.DataDir, "vigil.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(log), tc.want) {
				t.Fatalf("log lacks the reason %q:\n%s", tc.want, log)
			}
			for _, secret := range []string{sb.password, "not-the-password"} {
				if strings.Contains(string(log), secret) {
					t.Fatal("the password reached the log")
				}
			}
		})
	}

	// A device publishing over TLS with a user name, to a station on TLS.
	t.Run("data over TLS", func(t *testing.T) {
		url := "ssl://" + addr(sb.tls)
		cfg := testConfig(t, url)
		cfg.Username, cfg.Password, cfg.TLS = sb.user, sb.password, mqttfeed.TLS{CAFile: sb.pki.CA}
		core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer core.Close()
		waitFor(t, 10*time.Second, "station connected over TLS", core.Sub.Connected)
		w, err := sim.New(sim.Config{Ward: cfg.Ward, Beds: 2, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err = w.Run(ctx, func(ctx context.Context, id, willTopic string, will []byte) (sim.Conn, error) {
			return mqttfeed.DialDevice(ctx, mqttfeed.DeviceOptions{Broker: url, ClientID: id, WillTopic: willTopic,
				WillPayload: will, Username: sb.user, Password: sb.password, TLS: mqttfeed.TLS{CAFile: sb.pki.CA}})
		})
		if err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		waitFor(t, 5*time.Second, "every sample over TLS", func() bool { return core.Hub.Counters().Samples == st.Samples })
		if st.Samples == 0 || st.DialErrors != 0 {
			t.Fatalf("sim stats %+v", st)
		}
	})
}

// rawConnDevice is a paho device whose TCP connection the test can cut, as
// when a device loses power: the broker then publishes its Last Will.
type rawConnDevice struct {
	client paho.Client
	conn   net.Conn
}

func dialRawDevice(t *testing.T, broker, ward, bed string) *rawConnDevice {
	t.Helper()
	d := &rawConnDevice{}
	will := feed.EncodeStatus(feed.Status{Device: "RAW-" + bed, Online: false})
	o := paho.NewClientOptions().AddBroker(broker).SetClientID("raw-"+ward+"-"+bed).
		SetAutoReconnect(false).SetKeepAlive(5*time.Second).
		SetBinaryWill(feed.Topic(ward, bed, feed.StreamStatus), will, 1, true).
		SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", u.Host)
			d.conn = c
			return c, err
		})
	d.client = paho.NewClient(o)
	if tok := d.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("device connect:", tok.Error())
	}
	return d
}

func (d *rawConnDevice) publish(t *testing.T, topic string, qos byte, retained bool, payload []byte) {
	t.Helper()
	tok := d.client.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("publish:", tok.Error())
	}
}

func waveAt(seq uint32, start time.Time) []byte {
	return feed.AppendWave(nil, &feed.WaveFrame{Seq: seq, StartMs: start.UnixMilli(), Channels: []feed.Channel{
		{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200, Samples: make([]int16, 50)}}})
}

// TestDeviceStopsThenVanishes: a device that stops publishing reads NO DATA
// once the threshold passes (not before); when its connection dies, its Last
// Will marks it offline.
func TestDeviceStopsThenVanishes(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)
	d := dialRawDevice(t, mosquittoURL, cfg.Ward, "07")
	d.publish(t, feed.Topic(cfg.Ward, "07", feed.StreamStatus), 1, true, feed.EncodeStatus(feed.Status{Device: "RAW-07", Online: true}))
	start := time.Now()
	var last time.Time
	for i := range 15 {
		ts := start.Add(time.Duration(i) * 200 * time.Millisecond)
		time.Sleep(time.Until(ts))
		d.publish(t, feed.Topic(cfg.Ward, "07", feed.StreamWave), 0, false, waveAt(uint32(i), ts.Add(-200*time.Millisecond)))
		if i%5 == 0 {
			d.publish(t, feed.Topic(cfg.Ward, "07", feed.StreamNum), 0, false,
				feed.EncodeNum(feed.NumFrame{TsMs: ts.UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCECGHeartRate, Value: 70, Valid: true}}}))
		}
		last = time.Now()
	}
	state := func() monitor.State {
		if b := core.Hub.Bed("07"); b != nil {
			return b.State(time.Now())
		}
		return monitor.State{}
	}
	waitFor(t, 2*time.Second, "bed 07 online", func() bool { return state().Online() })
	// The device is connected but silent.
	time.Sleep(time.Until(last.Add(2500 * time.Millisecond)))
	if st := state(); st.WaveStale {
		t.Fatalf("NO DATA after %s, before the 3 s threshold", time.Since(last))
	}
	waitFor(t, 1500*time.Millisecond, "NO DATA within the threshold", func() bool { return state().NoData() })
	noData := time.Since(last)
	if st := state(); st.Offline {
		t.Fatal("offline while the device is still connected")
	}
	// Power loss: the connection dies without a DISCONNECT.
	d.conn.Close()
	cut := time.Now()
	waitFor(t, 15*time.Second, "the Last Will marks the bed offline", func() bool { return state().Offline })
	t.Logf("NO DATA %.1f s after the last frame (threshold 3 s); offline %.1f s after the connection died",
		noData.Seconds(), time.Since(cut).Seconds())
}

// TestMalformedBurst: 10,000 malformed messages of many kinds, under random
// bed names too, while four beds publish: every one is counted as a reject,
// none applied, no bed created, and every good sample still arrives.
func TestMalformedBurst(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)
	w, err := sim.New(sim.Config{Ward: cfg.Ward, Beds: 4, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, dialer(mosquittoURL)) }()
	waitFor(t, 10*time.Second, "beds online", func() bool { return core.Hub.Online() == 4 })

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mosquittoURL).SetClientID("burst-" + cfg.Ward))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("connect:", tok.Error())
	}
	defer pub.Disconnect(100)
	good := waveAt(0, time.Now())
	badVersion := append([]byte(nil), good...)
	badVersion[2] = 9
	kinds := []func(r *rand.Rand) (bed string, s feed.Stream, p []byte){
		func(r *rand.Rand) (string, feed.Stream, []byte) { // random bytes
			b := make([]byte, r.IntN(64))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return "01", feed.StreamWave, b
		},
		func(r *rand.Rand) (string, feed.Stream, []byte) {
			return "02", feed.StreamWave, good[:r.IntN(len(good))]
		},
		func(r *rand.Rand) (string, feed.Stream, []byte) { return "03", feed.StreamWave, badVersion },
		func(r *rand.Rand) (string, feed.Stream, []byte) {
			return "04", feed.StreamNum, []byte(`{"ts":1732400000000,"values":{"HR":{"v":1e400}}}`)
		},
		func(r *rand.Rand) (string, feed.Stream, []byte) {
			return "01", feed.StreamStatus, []byte(`{"online":true}`)
		},
		func(r *rand.Rand) (string, feed.Stream, []byte) {
			return "x" + strconv.Itoa(r.IntN(5000)), feed.StreamNum, []byte(`{`)
		},
	}
	const burst = 10_000
	r := rand.New(rand.NewPCG(1, 2))
	before := core.Hub.Counters()
	var toks []paho.Token
	for i := range burst {
		bed, s, p := kinds[i%len(kinds)](r)
		toks = append(toks, pub.Publish(feed.Topic(cfg.Ward, bed, s), 1, false, p))
		if len(toks) == 500 {
			for _, tok := range toks {
				if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatal("publish:", tok.Error())
				}
			}
			toks = toks[:0]
		}
	}
	waitFor(t, 20*time.Second, "10,000 rejects counted", func() bool {
		return core.Hub.Counters().DecodeErrors-before.DecodeErrors >= burst
	})
	time.Sleep(time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := core.Hub.Counters().DecodeErrors - before.DecodeErrors; n != burst {
		t.Fatalf("%d rejects counted, want exactly %d", n, burst)
	}
	st := w.Stats()
	waitFor(t, 5*time.Second, "every good sample delivered", func() bool {
		for i, n := range w.BedNames() {
			if core.Hub.Bed(n).Counts().Samples != st.PerBedSamples[i] {
				return false
			}
		}
		return true
	})
	if len(core.Hub.Beds()) != 4 {
		t.Fatalf("%d beds after the burst: garbage created beds", len(core.Hub.Beds()))
	}
	var perDevice uint64
	for _, rj := range core.Hub.Rejects() {
		perDevice += rj.Count
	}
	if perDevice != core.Hub.Counters().DecodeErrors {
		t.Fatalf("per-device rejects %d != total %d", perDevice, core.Hub.Counters().DecodeErrors)
	}
	t.Logf("%d malformed messages rejected and counted; %d good samples all delivered", burst, st.Samples)
}

// TestOutOfOrderOverBroker: frames delivered out of order and redelivered
// over a real broker are placed or dropped by sequence and counted.
func TestOutOfOrderOverBroker(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)
	d := dialRawDevice(t, mosquittoURL, cfg.Ward, "05")
	t0 := time.Now().Add(-2 * time.Second)
	order := []uint32{0, 1, 3, 2, 2, 1, 4, 5}
	for _, seq := range order {
		d.publish(t, feed.Topic(cfg.Ward, "05", feed.StreamWave), 1, false, waveAt(seq, t0.Add(time.Duration(seq)*200*time.Millisecond)))
	}
	// The message counter moves when a frame arrives, its samples a moment
	// later: wait for the last frame's samples too.
	waitFor(t, 5*time.Second, "every frame handled", func() bool {
		b := core.Hub.Bed("05")
		return core.Hub.Counters().Messages >= uint64(len(order)) && b != nil && b.Counts().Samples >= 5*50
	})
	c := core.Hub.Bed("05").Counts()
	if c.Gaps != 1 || c.LateFrames != 1 || c.DupFrames != 2 || c.Samples != 5*50 {
		t.Fatalf("counts %+v: want 1 gap, 1 late, 2 duplicates, 250 samples", c)
	}
}

// TestBrokerOutage stops the broker for 30 s under a 16-bed load, ten times:
// the station notices within 5 s, every bed reads NO DATA, it reconnects
// within 5 s of the broker's return and data flows again; goroutines and
// heap do not grow from cycle to cycle.
func TestBrokerOutage(t *testing.T) {
	t.Parallel()
	outage := 30 * time.Second
	cycles := 10
	if s := os.Getenv("VIGIL_OUTAGE_SECONDS"); s != "" { // shorter runs while developing
		n, _ := strconv.Atoi(s)
		outage = time.Duration(n) * time.Second
	}
	if s := os.Getenv("VIGIL_OUTAGE_CYCLES"); s != "" {
		cycles, _ = strconv.Atoi(s)
	}
	mq, err := newMosquitto(plainConf)
	if err != nil {
		t.Fatal(err)
	}
	if err := mq.Start(); err != nil {
		t.Fatal(err)
	}
	defer mq.Close()
	cfg := testConfig(t, mq.URL())
	cfg.Sim = 16
	cfg.Events = false
	core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	allOnline := func() bool { return core.Hub.Online() == 16 }
	waitFor(t, 15*time.Second, "16 beds online", allOnline)

	var baseG int
	var baseHeap uint64
	for cycle := 1; cycle <= cycles; cycle++ {
		mq.Stop()
		stopped := time.Now()
		waitFor(t, 5*time.Second, "connection loss noticed", func() bool { return !core.Sub.Connected() })
		lost := time.Since(stopped)
		waitFor(t, 5*time.Second, "every bed NO DATA", func() bool {
			for _, b := range core.Hub.Beds() {
				if !b.State(time.Now()).NoData() {
					return false
				}
			}
			return true
		})
		time.Sleep(time.Until(stopped.Add(outage)))
		if err := mq.Start(); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		waitFor(t, 5*time.Second, "reconnected within 5 s", core.Sub.Connected)
		reconnect := time.Since(back)
		before := core.Hub.Counters().Samples
		waitFor(t, 10*time.Second, "16 beds drawing again", allOnline)
		waitFor(t, 5*time.Second, "samples flowing", func() bool { return core.Hub.Counters().Samples > before+16*400 })
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		g := runtime.NumGoroutine()
		t.Logf("cycle %d: loss noticed in %.1f s, reconnected in %.1f s, %d goroutines, heap %.1f MB",
			cycle, lost.Seconds(), reconnect.Seconds(), g, float64(ms.HeapAlloc)/(1<<20))
		if cycle == 1 {
			baseG, baseHeap = g, ms.HeapAlloc
			continue
		}
		if g > baseG+8 {
			t.Fatalf("goroutines grew from %d to %d over %d outages", baseG, g, cycle-1)
		}
		if ms.HeapAlloc > baseHeap+baseHeap/2+8<<20 {
			t.Fatalf("heap grew from %d to %d bytes over %d outages", baseHeap, ms.HeapAlloc, cycle-1)
		}
	}
	// No heart stopped: the feed coming back after each outage is never
	// analysed as asystole, VT or VF (they latch, so any would still show).
	time.Sleep(6 * time.Second) // past the analysis' learning period after the last return
	for _, a := range core.Alarms.View().Alarms {
		switch a.Code {
		case alarms.CodeAsystole, alarms.CodeVTach, alarms.CodeVFib:
			t.Fatalf("a false lethal alarm after the outages: bed %s %s", a.Bed, a.Text())
		}
	}
}
