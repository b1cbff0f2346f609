package app

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// device is a bare bedside device publishing numerics by hand.
type device struct {
	t    *testing.T
	d    *mqttfeed.Device
	ward string
	seq  uint32
}

func newDevice(t *testing.T, url, ward, bed string) *device {
	t.Helper()
	d, err := mqttfeed.DialDevice(context.Background(), mqttfeed.DeviceOptions{Broker: url,
		ClientID: "dev-" + ward + "-" + bed, WillTopic: feed.Topic(ward, bed, feed.StreamStatus),
		WillPayload: feed.EncodeStatus(feed.Status{Device: "dev-" + bed, Online: false})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return &device{t: t, d: d, ward: ward}
}

func (d *device) num(bed string, vals ...feed.Numeric) time.Time {
	d.seq++
	now := time.Now()
	b := feed.EncodeNum(feed.NumFrame{TsMs: now.UnixMilli(), Seq: d.seq, Values: vals})
	if err := d.d.Publish(feed.Topic(d.ward, bed, feed.StreamNum), 0, false, b); err != nil {
		d.t.Fatal(err)
	}
	return now
}

// status publishes the device's retained status naming it device.
func (d *device) status(bed, device string) {
	b := feed.EncodeStatus(feed.Status{Device: device, Online: true, TsMs: time.Now().UnixMilli()})
	if err := d.d.Publish(feed.Topic(d.ward, bed, feed.StreamStatus), 1, true, b); err != nil {
		d.t.Fatal(err)
	}
}

func spo2(v float64) feed.Numeric { return feed.Numeric{Code: feed.MDCSpO2, Value: v, Valid: true} }

func findAlarm(c *Core, code string) (alarms.Alarm, bool) {
	for _, a := range c.Alarms.View().Alarms {
		if a.Code == code {
			return a, true
		}
	}
	return alarms.Alarm{}, false
}

// awaitAlarm waits (5 s at most) for c to show an alarm of code, and
// returns it.
func awaitAlarm(t *testing.T, c *Core, code, what string) alarms.Alarm {
	t.Helper()
	var a alarms.Alarm
	waitFor(t, 5*time.Second, what, func() bool {
		var ok bool
		a, ok = findAlarm(c, code)
		return ok
	})
	return a
}

// wardTrust is one trust list per test ward, shared by its stations.
var wardTrust sync.Map // ward -> path

// enrol makes the station's key in its data directory and puts it on its
// ward's trust list, as an admin would before the station joins the ward.
func enrol(t *testing.T, cfg *Config) *peers.Identity {
	t.Helper()
	p, _ := wardTrust.LoadOrStore(cfg.Ward, filepath.Join(t.TempDir(), "trusted-stations"))
	cfg.TrustFile = p.(string)
	id, _, err := peers.LoadOrCreateIdentity(filepath.Join(cfg.journalDir(cfg.DataDir), StationKeyFile), cfg.Station)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := peers.LoadTrust(cfg.TrustFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Enrol(cfg.Station, id.Pub); err != nil {
		t.Fatal(err)
	}
	return id
}

func stationConfig(t *testing.T, ward, station, role string) Config {
	cfg := testConfig(t, mosquittoURL)
	cfg.Ward, cfg.Station, cfg.Role, cfg.Operator = ward, station, role, role+"."+station
	cfg.DiscoverBeds = false // only bound beds exist (bindBeds)
	enrol(t, &cfg)
	cfg.ClientID = "vigil-" + ward + "-" + station
	cfg.NumStale = time.Hour // this test is about one alarm, not NO DATA
	cfg.WaveStale = time.Hour
	return cfg
}

// Two stations on one ward show the same alarms; an acknowledgement at one
// appears at the other within 1 s; a station that restarts recovers the
// active alarms from the retained states; a resolution clears them all.
func TestTwoStationsOneTruth(t *testing.T) {
	ward := testConfig(t, "").Ward
	acfg := stationConfig(t, ward, "st-a", "charge")
	bcfg := stationConfig(t, ward, "st-b", "nurse")
	c3cfg := stationConfig(t, ward, "st-c", "nurse") // all three enrolled before any starts
	a := startStation(t, acfg)
	b := startStation(t, bcfg)
	dev := newDevice(t, mosquittoURL, ward, "05")
	// Bed 05 is bound at both: a restarted station recovers the alarms of
	// its beds (another station's state never makes a bed).
	bindBeds(t, a, "05")
	bindBeds(t, b, "05")

	dev.num("05", spo2(80))
	var idA, idB string
	waitFor(t, 5*time.Second, "the desaturation alarm at both stations", func() bool {
		x, okA := findAlarm(a, "spo2-desat")
		y, okB := findAlarm(b, "spo2-desat")
		idA, idB = x.ID, y.ID
		return okA && okB
	})
	if idA != idB {
		t.Fatalf("the stations disagree on the alarm's id: %s, %s", idA, idB)
	}
	if x, _ := findAlarm(a, "spo2-desat"); x.Text() != "*** Desat SpO2 80 < 85" || x.Priority != alarms.High {
		t.Fatalf("alarm %q priority %v", x.Text(), x.Priority)
	}

	start := time.Now()
	if err := b.Alarms.Acknowledge(idB); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "the acknowledgement at station A", func() bool {
		x, _ := findAlarm(a, "spo2-desat")
		return x.Acked
	})
	took := time.Since(start)
	x, _ := findAlarm(a, "spo2-desat")
	if took > time.Second || x.AckedBy != "nurse.st-b" || x.AckedAt != "st-b" {
		t.Fatalf("acknowledgement reached A after %s, by %q at %q", took, x.AckedBy, x.AckedAt)
	}
	if v := a.Alarms.View(); v.Sounding != alarms.None {
		t.Fatalf("station A still sounds %v after the acknowledgement: %+v", v.Sounding, v.Alarms)
	}
	t.Logf("acknowledgement at B shown at A after %s", took.Round(time.Millisecond))

	// B restarts: the alarm comes back from the retained state, acknowledged,
	// before any new numerics arrive.
	b.Close()
	b2 := startStation(t, bcfg)
	defer func() {
		if t.Failed() {
			t.Logf("restarted station: refused %v, remote refused %d, alarms %+v", b2.sync.refusedByReason(),
				b2.Alarms.Stats().RemoteRefused, b2.Alarms.View().Alarms)
		}
	}()
	waitFor(t, 3*time.Second, "the recovered alarm at the restarted station", func() bool {
		y, ok := findAlarm(b2, "spo2-desat")
		return ok && y.ID == idA && y.Acked
	})

	// The condition ends: resolved everywhere, and nothing retained is left.
	dev.num("05", spo2(97))
	waitFor(t, 3*time.Second, "resolution at both stations", func() bool {
		_, okA := findAlarm(a, "spo2-desat")
		_, okB := findAlarm(b2, "spo2-desat")
		return !okA && !okB
	})
	c3 := startStation(t, c3cfg)
	time.Sleep(time.Second) // any retained state would have arrived by now
	if _, ok := findAlarm(c3, "spo2-desat"); ok {
		t.Fatal("a resolved alarm was recovered by a new station")
	}
	if n := c3.Alarms.Stats().RemoteRefused; n != 0 {
		t.Fatalf("the new station refused %d alarm states: something retained was left", n)
	}
	if n := a.sync.stationsOnline(); n != 3 {
		t.Fatalf("station A sees %d stations online, want 3 (A, B, C)", n)
	}
}

// The station's diagnostics carry the alarm counters.
func TestAlarmStatsOverMosquitto(t *testing.T) {
	cfg := stationConfig(t, testConfig(t, "").Ward, "st-s", "nurse")
	c := startStation(t, cfg)
	bindBeds(t, c, "07")
	dev := newDevice(t, mosquittoURL, cfg.Ward, "07")
	dev.num("07", spo2(70), feed.Numeric{Code: feed.MDCECGHeartRate, Value: 80, Valid: true})
	waitFor(t, 5*time.Second, "the alarm", func() bool { return c.Alarms.Stats().Raised == 1 })
	st := c.Alarms.Stats()
	if st.Active != 1 || st.Latency.Total() != 1 {
		t.Fatalf("stats %+v", st)
	}
	if p99 := st.Latency.Quantile(0.99); p99 <= 0 || p99 > 250*time.Millisecond {
		t.Fatalf("alarm latency %s", p99)
	}
	var sb strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		reportStats(ctx, &sb, time.Hour, statsSource{hub: c.Hub, alarms: c.Alarms, sync: c.sync})
		close(done)
	}()
	cancel()
	<-done
	for _, want := range []string{`"active_alarms":1`, `"alarms_raised_total":1`, `"alarm_latency_ms_p99":`, `"alarm_latency_n":1`} {
		if !strings.Contains(sb.String(), want) {
			t.Fatalf("stats line lacks %s: %s", want, sb.String())
		}
	}
}
