package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/app/broker"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/feed"
)

// intruder is a client with no credentials on the ward's broker.
type intruder struct {
	t *testing.T
	c paho.Client

	mu       sync.Mutex
	retained map[string][]byte
}

func newIntruder(t *testing.T, url, filter string) *intruder {
	t.Helper()
	in := &intruder{t: t, retained: map[string][]byte{}}
	o := paho.NewClientOptions().AddBroker(url).SetClientID("intruder-" + t.Name()).SetAutoReconnect(false)
	in.c = paho.NewClient(o)
	if tok := in.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("intruder connect: %v", tok.Error())
	}
	t.Cleanup(func() { in.c.Disconnect(100) })
	if filter != "" {
		tok := in.c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
			in.mu.Lock()
			in.retained[m.Topic()] = m.Payload()
			in.mu.Unlock()
		})
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("intruder subscribe: %v", tok.Error())
		}
	}
	return in
}

func (in *intruder) publish(topic string, retained bool, b []byte) {
	in.t.Helper()
	if tok := in.c.Publish(topic, 1, retained, b); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		in.t.Fatalf("intruder publish: %v", tok.Error())
	}
}

func (in *intruder) copyOf(topic string) []byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.retained[topic]
}

// ackedCopy is the genuine state message of an alarm with its body edited
// to say "acknowledged by intruder at station rogue".
func ackedBody(t *testing.T, body []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["inactivation"], m["acked_by"], m["acked_role"], m["acked_at"], m["station"] = "acknowledged", "intruder", "admin", "rogue", "rogue"
	out, _ := json.Marshal(m)
	return out
}

func refusedRows(t *testing.T, c *Core) []store.Event {
	t.Helper()
	evs, err := c.Store.Events(context.Background(), store.Filter{Kinds: []string{store.KindRefused}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// An outsider on the ward's broker tries to acknowledge, resolve or invent
// alarms by publishing on the stations' topics: unsigned, re-signed with
// its own key, edited under a genuine signature, replayed, for a bed that is
// not there, and a station's presence forged. Every attempt is refused;
// the alarm under attack stays active and unacknowledged at both stations,
// keeps sounding, and the journal and the technical alarm say what happened.
func TestForgedAlarmStatesRefused(t *testing.T) {
	eachBroker(t, forgedAlarmStates)
}

// eachBroker runs an attack against the stations on Debian's mosquitto and
// on the station's own built-in broker (package broker, as the demo runs it).
func eachBroker(t *testing.T, attack func(t *testing.T, url string)) {
	t.Run("mosquitto", func(t *testing.T) { attack(t, mosquittoURL) })
	t.Run("built-in", func(t *testing.T) {
		b, err := broker.Start("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		attack(t, b.URL())
	})
}

func forgedAlarmStates(t *testing.T, url string) {
	ward := testConfig(t, "").Ward
	acfg := stationConfig(t, ward, "st-a", "charge")
	bcfg := stationConfig(t, ward, "st-b", "nurse")
	acfg.Broker, bcfg.Broker = url, url
	a := startStation(t, acfg)
	b := startStation(t, bcfg)
	bindBeds(t, a, "03")
	bindBeds(t, b, "03")
	dev := newDevice(t, url, ward, "03")
	in := newIntruder(t, url, feed.Root+"/"+ward+"/alarms/03/#")

	dev.num("03", spo2(82))
	var al alarms.Alarm
	waitFor(t, 5*time.Second, "the desaturation at both stations", func() bool {
		x, okA := findAlarm(a, "spo2-desat")
		_, okB := findAlarm(b, "spo2-desat")
		al = x
		return okA && okB
	})
	topic := alarms.StateTopic(feed.Root, ward, al)
	waitFor(t, 3*time.Second, "the retained state at the intruder", func() bool { return in.copyOf(topic) != nil })
	genuine := in.copyOf(topic)

	var env peers.Envelope
	if err := json.Unmarshal(genuine, &env); err != nil || (env.Station != "st-a" && env.Station != "st-b") {
		t.Fatalf("the retained state is not a signed envelope of a station: %v %q", err, genuine)
	}
	body, _ := base64.StdEncoding.DecodeString(env.Body)
	forgedBody := ackedBody(t, body)

	// 1. The edited state, unsigned (a version 1 message), retained.
	in.publish(topic, true, forgedBody)
	// 2. Signed by the intruder's own key, naming itself.
	rogue := peers.NewIdentity("rogue")
	in.publish(topic, true, rogue.Sign(topic, forgedBody, time.Now()))
	// 3. The genuine envelope with the edited body (signature no longer matches).
	edited := env
	edited.Body = base64.StdEncoding.EncodeToString(forgedBody)
	eb, _ := json.Marshal(edited)
	in.publish(topic, true, eb)
	// 4. The genuine message again (a duplicate: nothing new, not a refusal).
	in.publish(topic, false, genuine)
	// 5. A resolution signed by the intruder, and an alarm for a bed that does not exist.
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["phase"], m["state"] = "end", "inactive"
	end, _ := json.Marshal(m)
	in.publish(topic, false, rogue.Sign(topic, end, time.Now()))
	m["bed"], m["key"], m["id"], m["phase"], m["state"] = "99", "99/asystole", "99.asystole.1", "start", "active"
	fake, _ := json.Marshal(m)
	fakeTopic := feed.Root + "/" + ward + "/alarms/99/99.asystole.1"
	in.publish(fakeTopic, true, fake)
	in.publish(fakeTopic, true, rogue.Sign(fakeTopic, fake, time.Now()))
	// 6. Station B's presence, forged offline.
	presence := feed.Root + "/" + ward + "/stations/st-b"
	in.publish(presence, true, []byte(`{"station":"st-b","online":false}`))

	waitFor(t, 5*time.Second, "every forgery refused at both stations", func() bool {
		return a.sync.rejected.Load() >= 7 && b.sync.rejected.Load() >= 7
	})
	time.Sleep(300 * time.Millisecond) // anything taken would have been applied by now
	for _, c := range []*Core{a, b} {
		x, ok := findAlarm(c, "spo2-desat")
		if !ok || x.Acked || x.AckedBy != "" || x.Ended {
			t.Fatalf("station %s: the alarm under attack is %+v (present %v)", c.sync.station, x, ok)
		}
		if p := c.Alarms.View().Sounding; p != alarms.High {
			t.Fatalf("station %s sounds %v, want HIGH", c.sync.station, p)
		}
		if _, ok := findAlarm(c, "asystole"); ok {
			t.Fatalf("station %s shows an invented asystole", c.sync.station)
		}
		waitFor(t, 2*time.Second, "the technical alarm for the refused messages", func() bool {
			_, ok := findAlarm(c, alarms.CodeForged)
			return ok
		})
		reasons := c.sync.refusedByReason()
		for _, r := range []string{"unsigned", "unknown", "signature"} {
			if reasons[r] == 0 {
				t.Errorf("station %s counted no %q refusal: %v", c.sync.station, r, reasons)
			}
		}
	}
	if n := a.sync.stationsOnline(); n != 2 {
		t.Fatalf("station A sees %d stations online after the forged presence, want 2", n)
	}
	var rows []store.Event
	waitFor(t, 3*time.Second, "refusals in A's journal", func() bool { rows = refusedRows(t, a); return len(rows) >= 2 })
	var sources []string
	for _, r := range rows {
		sources = append(sources, r.Station)
	}
	if !strings.Contains(strings.Join(sources, " "), "(unsigned)") || !strings.Contains(strings.Join(sources, " "), "rogue") {
		t.Fatalf("journal rows name %v, want (unsigned) and rogue", sources)
	}
	// Journalled at most once a minute per source, however many arrive.
	before := len(refusedRows(t, a))
	for range 50 {
		in.publish(topic, false, forgedBody)
	}
	time.Sleep(500 * time.Millisecond)
	if after := len(refusedRows(t, a)); after != before {
		t.Fatalf("50 more unsigned messages added %d journal rows, want none within the minute", after-before)
	}

	// Station A's own key (as if stolen) still cannot make a bed: a
	// validly signed alarm for bed 99, which neither station has, is
	// refused by the receiving stations' rules.
	stolen, _, err := peers.LoadOrCreateIdentity(filepath.Join(acfg.DataDir, StationKeyFile), "st-a")
	if err != nil {
		t.Fatal(err)
	}
	m["station"], m["code"], m["message"] = "st-a", "asystole", "ASYSTOLE"
	signedFake, _ := json.Marshal(m)
	refusedBefore := b.Alarms.Stats().RemoteRefused
	in.publish(fakeTopic, false, stolen.Sign(fakeTopic, signedFake, time.Now()))
	waitFor(t, 3*time.Second, "the signed alarm for bed 99 refused at B", func() bool { return b.Alarms.Stats().RemoteRefused > refusedBefore })
	for _, c := range []*Core{a, b} {
		if _, ok := findAlarm(c, "asystole"); ok {
			t.Fatalf("station %s raised a signed alarm for a bed it does not have", c.sync.station)
		}
	}

	// Ever-new claimed names cannot flood the journal either.
	for i := range 100 {
		in.publish(topic, false, peers.NewIdentity(fmt.Sprintf("rogue%03d", i)).Sign(topic, forgedBody, time.Now()))
	}
	waitFor(t, 5*time.Second, "the 100 refusals counted", func() bool { return a.sync.refusedByReason()["unknown"] >= 101 })
	n := 0
	for _, r := range refusedRows(t, a) {
		if strings.HasPrefix(r.Detail, "station message on ") {
			n++
		}
	}
	if n > journalRefusals {
		t.Fatalf("%d rows of refused station messages in the journal within a minute, want at most %d", n, journalRefusals)
	}

	// The genuine stations still share one truth: the station that signed
	// the retained state acknowledges, the other sees it.
	signer, other := a, b
	if env.Station == "st-b" {
		signer, other = b, a
	}
	start := time.Now()
	if err := signer.Alarms.Acknowledge(al.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "the genuine acknowledgement at the other station", func() bool {
		x, _ := findAlarm(other, "spo2-desat")
		return x.Acked && x.AckedAt == signer.sync.station && x.AckedRole == signer.Alarms.Operator().Role
	})
	t.Logf("genuine acknowledgement at %s seen at %s after %s, with %d forgeries refused there",
		signer.sync.station, other.sync.station, time.Since(start).Round(time.Millisecond), other.sync.rejected.Load())

	// The older genuine state (unacknowledged), replayed after the
	// acknowledgement: refused as a replay, and nothing is undone.
	in.publish(topic, false, genuine)
	waitFor(t, 3*time.Second, "the replay refused", func() bool { return other.sync.refusedByReason()["replay"] > 0 })
	for _, c := range []*Core{a, b} {
		if x, _ := findAlarm(c, "spo2-desat"); !x.Acked {
			t.Fatalf("station %s: the acknowledgement was undone by a replay", c.sync.station)
		}
	}
}

// A revoked station's acknowledgement is refused.
func TestRevokedStationRefused(t *testing.T) {
	ward := testConfig(t, "").Ward
	acfg := stationConfig(t, ward, "st-a", "charge")
	bcfg := stationConfig(t, ward, "st-b", "nurse")
	a := startStation(t, acfg)
	b := startStation(t, bcfg)
	bindBeds(t, a, "03")
	bindBeds(t, b, "03")
	dev := newDevice(t, mosquittoURL, ward, "03")
	dev.num("03", spo2(82))
	var id string
	waitFor(t, 5*time.Second, "the alarm at both", func() bool {
		x, okA := findAlarm(a, "spo2-desat")
		_, okB := findAlarm(b, "spo2-desat")
		id = x.ID
		return okA && okB
	})
	tr, err := peers.LoadTrust(acfg.TrustFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Revoke("st-b"); err != nil {
		t.Fatal(err)
	}
	a.sync.housekeeping() // what the station does every 5 s
	if err := b.Alarms.Acknowledge(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the refusal at A", func() bool { return a.sync.refusedByReason()["revoked"] > 0 })
	if x, _ := findAlarm(a, "spo2-desat"); x.Acked {
		t.Fatal("a revoked station's acknowledgement was taken")
	}
	b.sync.housekeeping()
	waitFor(t, 2*time.Second, "the revoked station saying that it is not trusted", func() bool {
		_, ok := findAlarm(b, alarms.CodeUntrusted)
		return ok
	})
}

// Eight bytes after an MQTT 5 CONNECT once stopped the whole station (a
// panic in the embedded broker's decoder). Now the attacker's connection
// ends, and the station, its broker and its ward's feed go on.
func TestBrokerPacketCannotStopStation(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Sim = 2
	core := startStation(t, cfg)
	waitFor(t, 10*time.Second, "the simulated beds' samples", func() bool { return core.Hub.Counters().Samples > 500 })

	c, err := net.Dial("tcp", core.Broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connect := []byte{0x10, 0x0e, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x01, 'x'}
	subscribeNoOptions := []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'}
	if _, err := c.Write(connect); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 {
		t.Fatalf("CONNACK: %x %v", ack, err)
	}
	if _, err := c.Write(subscribeNoOptions); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the broker to end the attacker's connection", func() bool { return core.Broker.Panics() == 1 })
	before := core.Hub.Counters().Samples
	waitFor(t, 5*time.Second, "the feed going on after the attack", func() bool { return core.Hub.Counters().Samples > before+500 })
	if !core.Sub.Connected() {
		t.Fatal("the station lost its broker")
	}
}

// The attacks on a bed's own topics, over mosquitto with no access list
// (what the station does when the broker lets anyone publish): during a
// real desaturation a second publisher sends SpO2 98 four times a second,
// then a status of another device. The desaturation stays raised — one
// alarm, never resolved and raised again — and the bed says why its data
// are not used.
func TestInjectedFeedCannotClearAlarm(t *testing.T) {
	eachBroker(t, injectedFeed)
}

func injectedFeed(t *testing.T, url string) {
	cfg := stationConfig(t, testConfig(t, "").Ward, "st-a", "nurse")
	cfg.Broker = url
	c := startStation(t, cfg)
	bindBeds(t, c, "03")
	if err := c.Store.BindDevice(context.Background(), alarms.Actor{Who: "admin", Where: "st-a", Role: alarms.Admin}, "bed-03", "dev-03"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the binding at the hub", func() bool { return c.Hub.BoundDevice("03") == "dev-03" })
	dev := newDevice(t, url, cfg.Ward, "03")
	dev.status("03", "dev-03")
	dev.num("03", spo2(82))
	waitFor(t, 5*time.Second, "the desaturation", func() bool { _, ok := findAlarm(c, "spo2-desat"); return ok })
	first, _ := findAlarm(c, "spo2-desat")

	in := newIntruder(t, url, "")
	topic := feed.Topic(cfg.Ward, "03", feed.StreamNum)
	for i := range 24 { // 6 s; the device goes on every second
		in.publish(topic, false, []byte(`{"ts":`+fmt.Sprint(time.Now().UnixMilli())+`,"values":{"SpO2":{"v":98}}}`))
		time.Sleep(250 * time.Millisecond)
		if i%4 == 3 {
			dev.num("03", spo2(82))
		}
		if a, ok := findAlarm(c, "spo2-desat"); !ok || a.ID != first.ID {
			t.Fatalf("after injected message %d the desaturation is %+v (present %v)", i, a, ok)
		}
	}
	waitFor(t, 3*time.Second, "the bed's source alarm", func() bool { _, ok := findAlarm(c, alarms.CodeSource); return ok })
	if r := c.Alarms.Stats().Raised; r > 3 { // the desaturation, the source alarm, and at most NO DATA
		t.Fatalf("%d alarms raised: the injection made the desaturation come and go", r)
	}

	// Another device's status on the bed: not applied, flagged.
	in.publish(feed.Topic(cfg.Ward, "03", feed.StreamStatus), true, feed.EncodeStatus(feed.Status{Device: "rogue", Online: true}))
	waitFor(t, 3*time.Second, "the wrong device counted", func() bool { return c.Hub.Bed("03").Counts().SourceRefused > 0 })
	if st, _ := c.Hub.Bed("03").DeviceStatus(); st.Device != "dev-03" {
		t.Fatalf("the station took the other device's status: %+v", st)
	}
	if a, ok := findAlarm(c, "spo2-desat"); !ok || a.ID != first.ID {
		t.Fatal("the desaturation did not survive the attack")
	}
}

// One forged waveform frame once blanked a bed: sequence 2^31 and a start
// in the year 2200 moved the bed's sequence and clock, and every genuine
// frame after it was dropped as late. Now it is refused (skew) and the
// bed's genuine frames all arrive, in sequence.
func TestForgedFrameCannotBlankBed(t *testing.T) {
	eachBroker(t, forgedFrame)
}

func forgedFrame(t *testing.T, url string) {
	cfg := testConfig(t, url)
	cfg.DiscoverBeds, cfg.Sim = false, 2
	c := startStation(t, cfg)
	bed := c.Ward.BedNames()[0]
	waitFor(t, 10*time.Second, "the simulated beds", func() bool { return c.Hub.Counters().Samples > 2000 })
	in := newIntruder(t, url, "")
	frame := fmt.Sprintf(`{"v":1,"seq":2147483648,"t0":%d,"channels":[{"code":131330,"rate":250,"gain":200,"baseline":0,"samples":[%s0]}]}`,
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour).UnixMilli(), strings.Repeat("0,", 49))
	before := c.Hub.Bed(bed).Counts()
	for range 3 {
		in.publish(feed.Topic(cfg.Ward, bed, feed.StreamWave), false, []byte(frame))
	}
	time.Sleep(3 * time.Second) // 15 genuine frames later
	after := c.Hub.Bed(bed).Counts()
	if after.SkewFrames-before.SkewFrames != 3 {
		t.Fatalf("%d forged frames refused for their time, want 3 (counts %+v)", after.SkewFrames-before.SkewFrames, after)
	}
	if after.LateFrames != before.LateFrames || after.Gaps != before.Gaps || after.Samples-before.Samples < 2*250 {
		t.Fatalf("the genuine frames suffered: before %+v, after %+v", before, after)
	}
	if st := c.Hub.Bed(bed).State(time.Now()); st.NoData() {
		t.Fatalf("bed %s shows NO DATA after the forged frames: %+v", bed, st)
	}
}
