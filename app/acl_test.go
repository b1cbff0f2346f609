package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// shippedAuthConf is the tested section of docs/mosquitto/vigil.conf, with
// the shipped vigil.acl and a password file made here, on a plain loopback
// listener (TLS is tested on its own).
func shippedAuthConf(t *testing.T, users map[string]string) func(port int, dir string) string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join("..", "docs", "mosquitto", "vigil.conf"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(conf), "# --- authentication and access (tested) ---\n")
	section, _, ok2 := strings.Cut(rest, "# --- end ---")
	if !ok || !ok2 {
		t.Fatal("docs/mosquitto/vigil.conf: the tested section's markers are gone")
	}
	acl, err := os.ReadFile(filepath.Join("..", "docs", "mosquitto", "vigil.acl"))
	if err != nil {
		t.Fatal(err)
	}
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatal("mosquitto_passwd (package mosquitto) is needed: ", err)
	}
	return func(port int, dir string) string {
		pw := filepath.Join(dir, "vigil.passwd")
		for u, p := range users {
			args := []string{"-b", pw, u, p}
			if _, err := os.Stat(pw); err != nil {
				args = append([]string{"-c"}, args...)
			}
			if out, err := exec.Command(passwd, args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v %s", err, out)
			}
		}
		_ = os.Chmod(pw, 0o644) // the broker reads it after dropping root
		if err := os.WriteFile(filepath.Join(dir, "vigil.acl"), acl, 0o644); err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer("/etc/mosquitto/vigil.passwd", pw, "/etc/mosquitto/vigil.acl", filepath.Join(dir, "vigil.acl")).Replace(section)
		return fmt.Sprintf("per_listener_settings false\nlistener %d 127.0.0.1\n", port) + s
	}
}

// The shipped mosquitto configuration, end to end: stations and devices log
// in; a device publishes only its own bed, so another device cannot clear a
// bed's alarm or reach the stations' topics; nobody without an account
// connects; the stations still share one truth.
func TestShippedMosquittoACL(t *testing.T) {
	users := map[string]string{"station-icu1-a": "pw-a", "station-icu1-b": "pw-b",
		"dev-0007a1b2": "pw-dev03", "dev-0007a1c9": "pw-dev04"}
	mq, err := newMosquitto(shippedAuthConf(t, users))
	if err != nil {
		t.Fatal(err)
	}
	if err := mq.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mq.Close)
	url := mq.URL()

	config := func(name, user string) Config {
		cfg := stationConfig(t, "ICU1", name, "nurse") // enrols the station
		cfg.Broker, cfg.Username, cfg.Password = url, user, users[user]
		cfg.ClientID = "vigil-acl-" + name
		cfg.JournalCheckpointEvery = 200 * time.Millisecond
		return cfg
	}
	acfg, bcfg := config("st-a", "station-icu1-a"), config("st-b", "station-icu1-b") // both enrolled before either starts
	a := startStation(t, acfg)
	b := startStation(t, bcfg)
	bindBeds(t, a, "03", "04")
	bindBeds(t, b, "03", "04")

	dial := func(user, pw string) (*mqttfeed.Device, error) {
		return mqttfeed.DialDevice(context.Background(), mqttfeed.DeviceOptions{Broker: url, ClientID: "c-" + user,
			Username: user, Password: pw})
	}
	// No account, wrong password: refused at connect.
	o := paho.NewClientOptions().AddBroker(url).SetClientID("anon").SetAutoReconnect(false).SetConnectTimeout(3 * time.Second)
	if tok := paho.NewClient(o).Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Fatal("an anonymous client connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	if d, err := mqttfeed.DialDevice(ctx, mqttfeed.DeviceOptions{Broker: url, ClientID: "c-wrong", Username: "dev-0007a1b2", Password: "guess"}); err == nil {
		d.Close()
		t.Fatal("a wrong password connected")
	}
	cancel()

	dev03, err := dial("dev-0007a1b2", users["dev-0007a1b2"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev03.Close)
	dev04, err := dial("dev-0007a1c9", users["dev-0007a1c9"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev04.Close)
	seq := uint32(0)
	num := func(d *mqttfeed.Device, bed string, v float64) {
		seq++
		b := feed.EncodeNum(feed.NumFrame{TsMs: time.Now().UnixMilli(), Seq: seq, Values: []feed.Numeric{spo2(v)}})
		if err := d.Publish(feed.Topic("ICU1", bed, feed.StreamNum), 1, false, b); err != nil {
			t.Fatal(err)
		}
	}

	num(dev03, "03", 82)
	waitFor(t, 5*time.Second, "bed 03's desaturation at both stations", func() bool {
		_, okA := findAlarm(a, "spo2-desat")
		_, okB := findAlarm(b, "spo2-desat")
		return okA && okB
	})
	first, _ := findAlarm(a, "spo2-desat")

	// The other bed's device tries to end bed 03's alarm, and to forge a
	// station's state; bed 03's own device tries to publish on bed 04.
	for range 8 {
		num(dev04, "03", 98)
	}
	forged := []byte(`{"id":"x"}`)
	if err := dev04.Publish(feed.Root+"/ICU1/alarms/03/"+first.ID, 1, true, forged); err != nil {
		t.Fatal(err)
	}
	num(dev03, "04", 60)
	num(dev04, "04", 97) // and its own bed, which it may
	waitFor(t, 5*time.Second, "bed 04's genuine numerics", func() bool {
		bed := a.Hub.Bed("04")
		if bed == nil {
			return false
		}
		v, ok := bed.Vital(feed.MDCSpO2)
		return ok && v.Value == 97
	})
	time.Sleep(300 * time.Millisecond)
	for _, c := range []*Core{a, b} {
		x, ok := findAlarm(c, "spo2-desat")
		if !ok || x.ID != first.ID || x.Bed != "03" {
			t.Fatalf("station %s: bed 03's alarm was ended or replaced by another device (%+v, %v)", c.sync.station, x, ok)
		}
		if v, _ := c.Hub.Bed("03").Vital(feed.MDCSpO2); v.Value != 82 {
			t.Fatalf("station %s shows SpO2 %v on bed 03: another device's value", c.sync.station, v.Value)
		}
		if n := c.sync.rejected.Load(); n != 0 {
			t.Fatalf("station %s received %d messages the access list should have stopped", c.sync.station, n)
		}
		if v, _ := c.Hub.Bed("04").Vital(feed.MDCSpO2); v.Value == 60 {
			t.Fatalf("station %s took bed 03's device's value on bed 04", c.sync.station)
		}
	}
	// Each keeps the other's signed journal checkpoint (published at
	// connection), under the stations' lines of the access list.
	waitFor(t, 5*time.Second, "each station's journal checkpoint kept by the other", func() bool {
		return a.jsync.kept.Load() > 0 && b.jsync.kept.Load() > 0
	})
	// The stations, logged in, still share one truth.
	if err := b.Alarms.Acknowledge(first.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "the acknowledgement at A", func() bool {
		x, _ := findAlarm(a, "spo2-desat")
		return x.Acked
	})
}
