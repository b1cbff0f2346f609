package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
	"github.com/vigil-station/vigil/monitor/sim"
)

var mosquittoURL string

// TestMain starts one real mosquitto on a free loopback port for the run.
func TestMain(m *testing.M) {
	if bareSubscriberMain() {
		return
	}
	// The journal key of every test station: one file of the test run's,
	// not the tester's ~/.config/vigil.
	keyDir := ""
	if os.Getenv(store.KeyEnv) == "" {
		var err error
		if keyDir, err = os.MkdirTemp("", "vigil-key-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv(store.KeyEnv, filepath.Join(keyDir, "journal.key"))
	}
	mq, err := newMosquitto(plainConf)
	if err == nil {
		err = mq.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need mosquitto (make test installs it):", err)
		os.Exit(1)
	}
	mosquittoURL = mq.URL()
	code := m.Run()
	mq.Close()
	benchout.Print()
	if keyDir != "" {
		os.RemoveAll(keyDir)
	}
	os.Exit(code)
}

func testConfig(t *testing.T, broker string) Config {
	cfg := Config{Command: CmdStation, Ward: "IT" + fmt.Sprint(time.Now().UnixNano()%100000), Broker: broker,
		Listen: "127.0.0.1:0", FrameMs: 200, FPS: 25, StatsEvery: time.Second, Headless: true,
		DataDir: t.TempDir(), ClientID: fmt.Sprintf("vigil-test-%d", time.Now().UnixNano()),
		// Most tests are about what the feed brings: they take every bed
		// (commissioning). The security tests bind their beds (bindBeds).
		DiscoverBeds: true}
	return cfg
}

// bindBeds binds feed beds of the station's ward in its bed administration,
// as an admin would, and waits until the station takes their data.
func bindBeds(t *testing.T, c *Core, beds ...string) {
	t.Helper()
	admin := alarms.Actor{Who: "admin", Where: c.sync.station, Role: alarms.Admin}
	for _, b := range beds {
		if err := c.Store.SaveBed(context.Background(), admin, "bed-"+b, "Bed "+b, c.Hub.Ward()+"/"+b, "adult"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 3*time.Second, "the beds configured at the station", func() bool {
		return len(c.Hub.ConfiguredBeds()) >= len(beds)
	})
}

func dialer(url string) sim.Dialer {
	return func(ctx context.Context, id, willTopic string, will []byte) (sim.Conn, error) {
		return mqttfeed.DialDevice(ctx, mqttfeed.DeviceOptions{Broker: url, ClientID: id, WillTopic: willTopic, WillPayload: will})
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startStation starts a headless station core for cfg, closed at the end of
// the test, and waits until it is subscribed.
func startStation(t *testing.T, cfg Config) *Core {
	t.Helper()
	core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Close)
	waitFor(t, 10*time.Second, "station subscribed", core.Sub.Connected)
	return core
}

// runFourBeds publishes 4 simulated beds through url for a few seconds to a
// headless station and checks that every waveform sample arrived, in order.
func runFourBeds(t *testing.T, core *Core, url, ward string) {
	waitFor(t, 10*time.Second, "station subscribed", core.Sub.Connected)
	w, err := sim.New(sim.Config{Ward: ward, Beds: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, dialer(url)) }()
	time.Sleep(4 * time.Second)
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Samples < 4*2*437 { // 4 beds, at least 2 of the 4 s at 437.5 samples/s
		t.Fatalf("simulator published only %d samples", st.Samples)
	}
	names := w.BedNames()
	waitFor(t, 5*time.Second, "every published sample at the station", func() bool {
		for i, n := range names {
			b := core.Hub.Bed(n)
			if b == nil || b.Counts().Samples != st.PerBedSamples[i] {
				return false
			}
		}
		return true
	})
	c := core.Hub.Counters()
	if c.Gaps != 0 || c.DupFrames != 0 || c.DecodeErrors != 0 {
		t.Fatalf("frames out of sequence or rejected: %+v", c)
	}
	for i, n := range names {
		b := core.Hub.Bed(n)
		ecg := b.Channel(feed.MDCECGLeadII)
		if ecg == nil || ecg.Received() == 0 {
			t.Fatalf("bed %s: no ECG channel", n)
		}
		// ~250 Hz x seconds published: the ECG share of the bed's samples.
		if want := float64(st.PerBedSamples[i]) * 250 / 437.5; float64(ecg.Received()) < want-15 || float64(ecg.Received()) > want+15 {
			t.Fatalf("bed %s: %d ECG samples, want about %.0f", n, ecg.Received(), want)
		}
		if _, ok := b.Vital(feed.MDCECGHeartRate); !ok {
			t.Fatalf("bed %s: no heart rate received", n)
		}
	}
	t.Logf("%d beds, %d samples published and received in sequence, 0 gaps", len(names), st.Samples)
}

func TestEverySampleOverMosquitto(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	runFourBeds(t, core, mosquittoURL, cfg.Ward)
}

func TestEverySampleOverEmbeddedBroker(t *testing.T) {
	cfg := testConfig(t, "")
	core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	if core.Broker == nil || core.Ward != nil {
		t.Fatal("expected the embedded broker and no built-in simulator with Sim 0")
	}
	runFourBeds(t, core, core.URL, cfg.Ward)
	if d := core.Broker.Dropped(); d != 0 {
		t.Fatalf("embedded broker dropped %d messages", d)
	}
}

// TestGarbageIsCountedAndChangesNothing publishes malformed payloads on feed
// topics: each is counted as a decode error and nothing else changes.
func TestGarbageIsCountedAndChangesNothing(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mosquittoURL).SetClientID("garbage-" + cfg.Ward))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("connect:", tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(topic string, payload []byte) {
		tok := pub.Publish(topic, 1, false, payload)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal("publish:", tok.Error())
		}
	}
	// One good frame first, so there is accepted data that must survive.
	good := &feed.WaveFrame{Seq: 0, StartMs: time.Now().UnixMilli(), Channels: []feed.Channel{
		{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200, Samples: make([]int16, 50)}}}
	send(feed.Topic(cfg.Ward, "01", feed.StreamWave), feed.AppendWave(nil, good))
	waitFor(t, 5*time.Second, "the good frame", func() bool { return core.Hub.Counters().Samples == 50 })
	before := core.Hub.Counters()

	garbage := []struct {
		bed     string
		stream  feed.Stream
		payload []byte
	}{
		{"01", feed.StreamWave, []byte("\x00\x01garbage")},
		{"01", feed.StreamWave, feed.AppendWave(nil, good)[:40]}, // truncated
		{"01", feed.StreamNum, []byte(`{"ts":"yesterday"}`)},
		{"01", feed.StreamNum, []byte(`{"ts":1732400000000,"values":{"HR":{"v":"NaN"},"bogus":{"v":1}}}`)},
		{"01", feed.StreamStatus, []byte(`not json`)},
		{"77", feed.StreamWave, []byte("VW\x01\x01")},                                                                 // unknown bed, malformed
		{"01", feed.StreamNum, []byte(`{"ts":1732400000000,"values":{"HR":{"v":60}}}` + strings.Repeat(" ", 64<<10))}, // over the size cap, unread
	}
	for _, g := range garbage {
		send(feed.Topic(cfg.Ward, g.bed, g.stream), g.payload)
	}
	waitFor(t, 5*time.Second, "rejections counted", func() bool {
		return core.Hub.Counters().DecodeErrors == uint64(len(garbage))
	})
	after := core.Hub.Counters()
	after.DecodeErrors = before.DecodeErrors
	if after != before {
		t.Fatalf("garbage changed the station: %+v -> %+v", before, after)
	}
	if core.Hub.Bed("77") != nil {
		t.Fatal("a malformed message created a bed")
	}
	if _, ok := core.Hub.Bed("01").Vital(feed.MDCECGHeartRate); ok {
		t.Fatal("a rejected numerics message was half-applied")
	}
	if n := core.Hub.Bed("01").Counts().Rejected; n != 6 {
		t.Fatalf("bed 01 counts %d rejections, want 6", n)
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := testConfig(t, "")
	cfg.Listen = l.Addr().String()
	_, err = Start(context.Background(), cfg, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("started on a taken port")
	}
	for _, want := range []string{"--listen", "--broker tcp://" + cfg.Listen} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("message %q does not name %q", err, want)
		}
	}
}

func TestParse(t *testing.T) {
	cfg, err := Parse(nil, io.Discard)
	if err != nil || cfg.Command != CmdStation || cfg.Sim != 16 || cfg.Broker != "" || cfg.Listen != DefaultListen {
		t.Fatalf("default: %+v %v", cfg, err)
	}
	cfg, err = Parse([]string{"--broker", "ssl://h:8883"}, io.Discard)
	if err != nil || cfg.Sim != 0 {
		t.Fatalf("--broker: sim %d %v", cfg.Sim, err)
	}
	cfg, err = Parse([]string{"sim", "--beds", "4", "--ward", "W2"}, io.Discard)
	if err != nil || cfg.Command != CmdSim || cfg.Sim != 4 || cfg.Ward != "W2" {
		t.Fatalf("sim: %+v %v", cfg, err)
	}
	for _, bad := range [][]string{{"--ward", "a/b"}, {"--broker", "h:1883"}, {"bogus"}, {"--fps", "0"}, {"sim", "--beds", "-1"}} {
		if _, err := Parse(bad, io.Discard); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
