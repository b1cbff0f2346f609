package broker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestQoS1Burst: the inflight bound (DefaultMaxInflight, not the 65535 of
// before; 1024 dropped hundreds here) drops nothing in a ward's bursts of QoS 1 messages to a
// station-like subscriber (persistent session, ordered handler): 64
// devices that wait for each acknowledgement, as Vigil's do, and a
// station republishing 500 alarm states without waiting, as it does on a
// reconnect. A burst past the bound to a subscriber that has not
// acknowledged is dropped, and Dropped counts it.
func TestQoS1Burst(t *testing.T) {
	b := startBroker(t, nil, Options{})
	var got atomic.Int64
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("station").SetCleanSession(false).
		SetOrderMatters(true).SetAutoReconnect(false)
	st := paho.NewClient(o)
	if tok := st.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer st.Disconnect(50)
	if tok := st.Subscribe("vigil/v1/#", 1, func(paho.Client, paho.Message) {
		time.Sleep(20 * time.Microsecond)
		got.Add(1)
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	const devices, each, republished = 64, 50, 500
	var wg sync.WaitGroup
	for d := range devices {
		c := pahoConnect(t, b, fmt.Sprint("dev", d), "", "")
		wg.Go(func() {
			for i := range each {
				tok := c.Publish(fmt.Sprintf("vigil/v1/ICU1/bed%d/alarm", d), 1, false, fmt.Sprint(i))
				if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Errorf("dev%d: %v", d, tok.Error())
					return
				}
			}
		})
	}
	other := pahoConnect(t, b, "station2", "", "")
	for i := range republished {
		other.Publish(fmt.Sprintf("vigil/v1/ICU1/alarms/bed%d/%d", i%64, i), 1, false, fmt.Sprint(i))
	}
	wg.Wait()
	total := int64(devices*each + republished)
	waitUntil(t, "every message", func() bool { return got.Load() == total || b.Dropped() > 0 })
	if d := b.Dropped(); d != 0 {
		t.Fatalf("dropped %d of %d", d, total)
	}

	// A subscriber that acknowledges nothing: past the bound the broker drops.
	b = startBroker(t, nil, Options{MaxInflight: 256})
	other = pahoConnect(t, b, "station2", "", "")
	c := dialRaw(t, b.Addr())
	if code, err := c.connack(t, connectPkt(4, "deaf", "", "")); err != nil || code != 0 {
		t.Fatalf("CONNACK %#x %v", code, err)
	}
	c.send(t, pkt(0x82, append(appendStr([]byte{0, 1}, "deaf/#"), 1)))
	if first, _, err := c.read(5 * time.Second); err != nil || first != 0x90 {
		t.Fatalf("SUBACK %#x %v", first, err)
	}
	for i := range 256 + 100 {
		other.Publish("deaf/x", 1, false, fmt.Sprint(i))
	}
	waitUntil(t, "the drops to be counted", func() bool { return b.Dropped() == 100 })
}
