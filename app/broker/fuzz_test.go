package broker

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The fuzz harness: one broker per process, two subscribers to '#' that
// stay connected (MQTT 3.1.1 through paho, MQTT 5 on a raw socket that
// reads and discards) so that what the fuzzed clients publish is encoded
// and written to them too, then for every input a connection that sends a
// CONNECT variant and the input's bytes, and a fresh well-formed client
// that must still connect, subscribe, publish and receive.

type fuzzBroker struct {
	b      *Broker
	logs   *logBuffer
	probes atomic.Int64
	seen   int // of logs, checked for panics
}

func newFuzzBroker(t testing.TB) *fuzzBroker {
	fb := &fuzzBroker{logs: new(logBuffer)}
	var err error
	fb.b, err = StartWith("127.0.0.1:0", slog.New(slog.NewTextHandler(fb.logs, nil)),
		Options{ConnectTimeout: 2 * time.Second, logEveryPanic: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.b.Close() })
	sub := pahoConnect(t, fb.b, "standing-sub-v311", "", "")
	subscribe(t, sub, "#")
	c := dialRaw(t, fb.b.Addr())
	if code, err := c.connack(t, connectPkt(5, "standing-sub-v5", "", "")); err != nil || code != 0 {
		t.Fatalf("standing MQTT 5 subscriber: %#x %v", code, err)
	}
	c.send(t, pkt(0x82, append(appendStr([]byte{0, 1, 0}, "#"), 0x02)))
	go func() {
		for {
			if _, _, err := c.read(time.Hour); err != nil {
				return
			}
		}
	}()
	return fb
}

// connectVariants are the CONNECTs a fuzz input may start with (its first
// byte chooses; the last variant sends none).
func connectVariant(sel byte) []byte {
	props := func(p ...byte) []byte { return append(appendVarInt(nil, len(p)), p...) }
	switch sel % 8 {
	case 0:
		return connectPkt(4, "fuzz", "", "")
	case 1:
		return connectPkt(5, "fuzz", "", "")
	case 2: // MQTT 3.1
		b := append(appendStr(nil, "MQIsdp"), 3, 0x02, 0, 30)
		return pkt(0x10, appendStr(b, "fuzz31"))
	case 3: // MQTT 5, session kept, with properties and a will
		b := append(appendStr(nil, "MQTT"), 5, 0x02|0x04|0x08|0x20, 0, 30)
		b = append(b, props(0x11, 0, 0, 0, 10, 0x21, 0, 4, 0x22, 0, 8, 0x27, 0, 0, 1, 0)...)
		b = appendStr(b, "fuzz5w")
		b = append(b, props(0x18, 0, 0, 0, 1, 0x01, 1)...)
		b = appendStr(b, "vigil/v1/fz/will/status")
		b = appendStr(b, "gone")
		return pkt(0x10, b)
	case 4: // MQTT 3.1.1 with a will, QoS 1 retained
		b := append(appendStr(nil, "MQTT"), 4, 0x02|0x04|0x08|0x20, 0, 30)
		b = appendStr(b, "fuzz4w")
		b = appendStr(b, "vigil/v1/fz/will4/status")
		return pkt(0x10, appendStr(b, "gone"))
	case 5: // MQTT 5, empty client id (the broker assigns one)
		return connectPkt(5, "", "", "")
	case 6:
		return connectPkt(4, "", "", "")
	}
	return nil
}

// seeds are well-formed and ill-formed packet sequences to mutate.
func fuzzSeeds() [][]byte {
	v5props := []byte{0x26, 0, 1, 'k', 0, 1, 'v', 0x02, 0, 0, 0, 60, 0x23, 0, 3, 0x01, 1, 0x03, 0, 2, 'a', '/'}
	pub5 := func(first byte, topic string, id bool, props []byte, payload string) []byte {
		b := appendStr(nil, topic)
		if id {
			b = append(b, 0, 9)
		}
		b = append(appendVarInt(b, len(props)), props...)
		return pkt(first, append(b, payload...))
	}
	sub5 := append(appendStr(append([]byte{0, 3}, append(appendVarInt(nil, 2), 0x0b, 7)...), "vigil/v1/+/+/#"), 0x2e)
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	return [][]byte{
		cat([]byte{0}, subscribePkt(4, "a/#"), publishPkt(4, "a/b", []byte("x")), []byte{0xc0, 0}, []byte{0xe0, 0}),
		cat([]byte{1}, truncatedSubscribe),
		cat([]byte{1}, pkt(0x82, sub5), pub5(0x33, "vigil/v1/fz/bed1/num", true, v5props, "{}"),
			pub5(0x34, "vigil/v1/fz/bed1/alarm", true, nil, "x"), []byte{0x62, 2, 0, 9}),
		cat([]byte{1}, pub5(0x30, "", false, []byte{0x23, 0, 1}, "alias without topic")),
		cat([]byte{1}, pub5(0x30, "t/a", false, []byte{0x23, 0, 1}, "set"), pub5(0x30, "", false, []byte{0x23, 0, 1}, "use")),
		cat([]byte{1}, pkt(0xa2, append(appendStr([]byte{0, 4, 0}, "a/#"), 0))), // UNSUBSCRIBE
		cat([]byte{1}, pkt(0xf0, []byte{0x18, 0})),                              // AUTH
		cat([]byte{1}, []byte{0xe0, 2, 0x04, 0}),                                // DISCONNECT with will
		cat([]byte{3}, publishPkt(5, "vigil/v1/fz/bed2/wave", bytes.Repeat([]byte{1}, 300)), []byte{0xe0, 0}),
		cat([]byte{4}, pkt(0x82, append(appendStr([]byte{0, 1}, "x/+"), 1)), []byte{0x40, 2, 0, 1}, []byte{0x50, 2, 0, 1}),
		cat([]byte{2}, publishPkt(4, "$SYS/x", nil), publishPkt(4, "a/+", nil), publishPkt(4, "a/#", nil)),
		cat([]byte{0}, []byte{0x30, 0x7f, 0, 3, 'a', '/', 'b'}),    // remaining length longer than what follows
		cat([]byte{0}, []byte{0x30, 0x02, 0, 9, 'a', '/', 'b'}),    // shorter than the topic
		cat([]byte{0}, []byte{0x82, 0xff, 0xff, 0xff, 0xff, 0x7f}), // a five-byte remaining length
		cat([]byte{0}, pkt(0x82, append(appendStr([]byte{0, 1}, "$share/g/a/#"), 1))),
		cat([]byte{7}, connectPkt(5, "x", "", "")[:9]),                                 // truncated CONNECT
		cat([]byte{7}, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 9, 2, 0, 0, 0, 0}), // protocol level 9
		cat([]byte{7}, []byte{0x20, 2, 0, 0}),                                          // CONNACK as first packet
		cat([]byte{5}, connectPkt(5, "again", "", "")),                                 // a second CONNECT
		cat([]byte{6}, pkt(0x32, append(appendStr(nil, "q/1"), 0, 0)), pkt(0x3c, appendStr(nil, "q/2"))),
	}
}

// run sends one input: a CONNECT variant, then the rest of data.
func (fb *fuzzBroker) run(t testing.TB, data []byte) {
	if len(data) == 0 {
		return
	}
	c, err := net.DialTimeout("tcp", fb.b.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Millisecond))
	if cp := connectVariant(data[0]); cp != nil {
		c.Write(cp)
	}
	c.Write(data[1:])
	// Read what comes back until the broker closes or stops answering.
	r := bufio.NewReader(c)
	for {
		if _, err := r.ReadByte(); err != nil {
			break
		}
	}
}

// check fails the test unless a fresh well-formed client can subscribe,
// publish and receive its message, and unless every panic the broker
// caught was the known one.
func (fb *fuzzBroker) check(t testing.TB) {
	t.Helper()
	n := fb.probes.Add(1)
	c := dialRaw(t, fb.b.Addr())
	defer c.Close()
	id := fmt.Sprintf("probe-%d", n)
	if code, err := c.connack(t, connectPkt(4, id, "", "")); err != nil || code != 0 {
		t.Fatalf("a fresh client could not connect: CONNACK %#x, %v", code, err)
	}
	topic := "probe/" + id
	c.send(t, subscribePkt(4, topic))
	c.send(t, publishPkt(4, topic, []byte("alive")))
	for got := false; !got; {
		first, body, err := c.read(5 * time.Second)
		if err != nil {
			t.Fatalf("a fresh client did not receive its message: %v", err)
		}
		got = first&0xf0 == 0x30 && bytes.HasSuffix(body, []byte("alive"))
	}
	c.send(t, []byte{0xe0, 0})
	fb.forgetSessions()
	logs := fb.logs.String()
	fresh := logs[fb.seen:]
	fb.seen = len(logs)
	for _, line := range strings.Split(fresh, "\n") {
		if strings.Contains(line, "panicked") && !strings.Contains(line, "packets.(*Packet).SubscribeDecode") {
			t.Fatalf("a panic other than the known SUBSCRIBE one: %s", line)
		}
	}
}

// forgetSessions drops the sessions fuzzed clients left (clean session
// false): they would fill MaxClients, which is not what this tests.
func (fb *fuzzBroker) forgetSessions() {
	for id, cl := range fb.b.srv.Clients.GetAll() {
		if cl.Closed() && !strings.HasPrefix(id, "standing-") {
			fb.b.srv.UnsubscribeClient(cl)
			cl.ClearInflights()
			fb.b.srv.Clients.Delete(id)
		}
	}
}

// FuzzBrokerPackets sends a CONNECT variant (chosen by the input's first
// byte, or none) and then the input's bytes to the broker over TCP, then
// checks that a fresh client is still served.
func FuzzBrokerPackets(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	fb := newFuzzBroker(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb.run(t, data)
		fb.check(t)
	})
}

// TestBrokerSurvivesGarbage runs mutations of the fuzz seeds (bit flips,
// truncations, changed lengths, random bytes) without the fuzzing engine.
func TestBrokerSurvivesGarbage(t *testing.T) {
	fb := newFuzzBroker(t)
	rng := rand.New(rand.NewPCG(1, 2))
	seeds := fuzzSeeds()
	for i := range 400 {
		d := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		switch i % 5 {
		case 0: // flip bits
			for range 1 + rng.IntN(4) {
				if len(d) > 1 {
					d[1+rng.IntN(len(d)-1)] ^= 1 << rng.IntN(8)
				}
			}
		case 1: // truncate
			if len(d) > 2 {
				d = d[:1+rng.IntN(len(d)-1)]
			}
		case 2: // a wrong remaining length
			if len(d) > 2 {
				d[2] = byte(rng.IntN(256))
			}
		case 3: // random packets after a CONNECT
			d = d[:1]
			for range 1 + rng.IntN(5) {
				body := make([]byte, rng.IntN(40))
				for j := range body {
					body[j] = byte(rng.IntN(256))
				}
				d = append(d, pkt(byte(rng.IntN(256)), body)...)
			}
		case 4: // a seed spliced onto another
			d = append(d, seeds[rng.IntN(len(seeds))][1:]...)
		}
		d[0] = byte(rng.IntN(8))
		fb.run(t, d)
		if i%4 == 3 {
			fb.check(t)
		}
	}
	fb.check(t)
	checkServes(t, fb.b, "", "")
	t.Logf("%d inputs; %d connections closed after a panic, %d refused", 400, fb.b.Panics(), fb.b.Refused())
}
