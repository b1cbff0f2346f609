package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"
)

func startBroker(t testing.TB, log *slog.Logger, opt Options) *Broker {
	t.Helper()
	b, err := StartWith("127.0.0.1:0", log, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pahoConnect connects an MQTT 3.1.1 client; it fails the test on error.
func pahoConnect(t testing.TB, b *Broker, id, user, pass string) paho.Client {
	t.Helper()
	c, err := pahoTry(b, id, user, pass)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func pahoTry(b *Broker, id, user, pass string) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID(id).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetCleanSession(true)
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	return c, tok.Error()
}

// inbox collects the messages of a subscription.
type inbox struct {
	mu  sync.Mutex
	got []string // "topic payload"
	ch  chan struct{}
}

func subscribe(t testing.TB, c paho.Client, filter string) *inbox {
	t.Helper()
	in := &inbox{ch: make(chan struct{}, 1024)}
	tok := c.Subscribe(filter, 0, func(_ paho.Client, m paho.Message) {
		in.mu.Lock()
		in.got = append(in.got, m.Topic()+" "+string(m.Payload()))
		in.mu.Unlock()
		select {
		case in.ch <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	if st, ok := tok.(*paho.SubscribeToken); ok && st.Result()[filter] == 0x80 {
		t.Fatalf("subscribe %s: refused", filter)
	}
	return in
}

// waitFor waits until a message "topic payload" has arrived and returns
// every message so far.
func (in *inbox) waitFor(t testing.TB, want string) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		got := append([]string(nil), in.got...)
		in.mu.Unlock()
		for _, g := range got {
			if g == want {
				return got
			}
		}
		select {
		case <-in.ch:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no message %q; got %q", want, got)
		}
	}
}

func publish(t testing.TB, c paho.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 0, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// checkServes checks that a fresh client can subscribe and that another
// fresh client's publication reaches it.
func checkServes(t testing.TB, b *Broker, user, pass string) {
	t.Helper()
	sub := pahoConnect(t, b, fmt.Sprintf("check-sub-%d", time.Now().UnixNano()), user, pass)
	in := subscribe(t, sub, "vigil/v1/check/#")
	pub := pahoConnect(t, b, fmt.Sprintf("check-pub-%d", time.Now().UnixNano()), user, pass)
	publish(t, pub, "vigil/v1/check/x", "alive")
	in.waitFor(t, "vigil/v1/check/x alive")
}

// logBuffer is a slog handler target the test can read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTruncatedSubscribe sends the known crash: an MQTT 5 CONNECT, then a
// SUBSCRIBE whose filter lacks its options byte (8 bytes), which panics
// mochi v2.7.9's decoder. Before the broker served connections under a
// recover this ended the test binary, as it ended the station.
func TestTruncatedSubscribe(t *testing.T) {
	var logs logBuffer
	b, err := Start("127.0.0.1:0", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// A well-formed client connected before and through the attacks.
	bystander := pahoConnect(t, b, "bystander", "", "")
	in := subscribe(t, bystander, "vigil/v1/ICU1/+/num")

	attacks := []struct {
		name string
		pkt  []byte
	}{
		{"8-byte SUBSCRIBE without options", truncatedSubscribe},
		{"7-byte SUBSCRIBE with an empty filter", []byte{0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}},
		{"second filter without options", pkt(0x82, appendStr(append(appendStr([]byte{0, 2, 0}, "ok"), 0), "b"))},
	}
	for i, a := range attacks {
		c := dialRaw(t, b.Addr())
		if code, err := c.connack(t, connectPkt(5, "attacker", "", "")); err != nil || code != 0 {
			t.Fatalf("%s: CONNACK %d, %v", a.name, code, err)
		}
		// A subscription first, which the panic must not leave behind.
		c.send(t, subscribePkt(5, "vigil/v1/#"))
		if first, _, err := c.read(5 * time.Second); err != nil || first != 0x90 {
			t.Fatalf("%s: SUBACK: %#x %v", a.name, first, err)
		}
		c.send(t, a.pkt)
		if !c.closed(5 * time.Second) {
			t.Fatalf("%s: the attacker's connection is still open", a.name)
		}
		waitUntil(t, "the panic to be counted", func() bool { return b.Panics() == int64(i+1) })
		if _, ok := b.srv.Clients.Get("attacker"); ok {
			t.Errorf("%s: the attacker's session is still there", a.name)
		}
	}
	if n := b.srv.Topics.Subscribers("vigil/v1/ICU1/bed1/num").Subscriptions; len(n) != 1 {
		t.Errorf("subscribers of a bed's numerics: %v, want the bystander only", n)
	}

	pub := pahoConnect(t, b, "bed1", "", "")
	publish(t, pub, "vigil/v1/ICU1/bed1/num", "42")
	in.waitFor(t, "vigil/v1/ICU1/bed1/num 42")
	if !bystander.IsConnected() {
		t.Error("the bystander was disconnected")
	}
	checkServes(t, b, "", "")
	if s := logs.String(); !strings.Contains(s, "level=ERROR") || !strings.Contains(s, "panicked") ||
		!strings.Contains(s, "SubscribeDecode") {
		t.Errorf("the panic was not logged at Error with its stack:\n%s", s)
	} else if n := strings.Count(s, "panicked"); n != 1 {
		t.Errorf("%d panics logged within a few seconds, want the first only", n)
	}
}

func TestBindNeedsAuth(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		b, err := StartWith(addr, nil, Options{})
		if !errors.Is(err, ErrInsecureBind) {
			if b != nil {
				b.Close()
			}
			t.Errorf("StartWith(%q) without auth: %v, want ErrInsecureBind", addr, err)
		} else if !strings.Contains(err.Error(), "password file") {
			t.Errorf("the error does not say what to do: %v", err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "127.0.0.5:0"} {
		b, err := Start(addr, nil)
		if err != nil {
			t.Errorf("Start(%q): %v", addr, err)
			continue
		}
		b.Close()
	}
	// With authentication any address will do; the test connects over loopback.
	auth := testAuth(t, "", map[string]string{"u": "p"})
	b, err := StartWith("0.0.0.0:0", nil, Options{Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, port, err := net.SplitHostPort(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	local := &Broker{addr: "127.0.0.1:" + port}
	c, err := pahoTry(local, "c", "u", "p")
	if err != nil {
		t.Fatalf("connect with a password over loopback: %v", err)
	}
	c.Disconnect(50)
	if _, err := pahoTry(local, "anon", "", ""); err == nil {
		t.Error("an anonymous client connected to the broker with authentication")
	}
}

// testAuth makes an Auth of users (name -> password), with cheap bcrypt
// hashes, and acl.
func testAuth(t testing.TB, acl string, users map[string]string) *Auth {
	t.Helper()
	var pw strings.Builder
	for u, p := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&pw, "%s:%s\n", u, h)
	}
	p, err := ParsePasswords(strings.NewReader(pw.String()), "passwords")
	if err != nil {
		t.Fatal(err)
	}
	a := &Auth{Passwords: p}
	if acl != "" {
		if a.ACL, err = ParseACL(strings.NewReader(acl), "acl"); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestWrongPasswordRefused(t *testing.T) {
	b := startBroker(t, nil, Options{Auth: testAuth(t, "", map[string]string{"bed1": "s3cret"})})
	for _, v := range []byte{4, 5} {
		bad := byte(5) // mochi answers MQTT 3.1.1 with "not authorized"
		if v == 5 {
			bad = 0x86 // bad username or password
		}
		for _, tc := range []struct{ name, user, pass string }{
			{"wrong password", "bed1", "secret"},
			{"unknown user", "bed9", "s3cret"},
			{"anonymous", "", ""},
			{"72-byte prefix", "bed1", "s3cret" + strings.Repeat("x", 100)},
		} {
			c := dialRaw(t, b.Addr())
			code, err := c.connack(t, connectPkt(v, "c-"+tc.name, tc.user, tc.pass))
			if err != nil || code != bad {
				t.Errorf("v%d %s: CONNACK %#x, %v; want %#x", v, tc.name, code, err, bad)
			}
		}
		// mochi refuses an empty password as a protocol error.
		c := dialRaw(t, b.Addr())
		if code, err := c.connack(t, connectPkt(v, "c-empty", "bed1", "")); err != nil || code == 0 {
			t.Errorf("v%d empty password: CONNACK %#x, %v", v, code, err)
		}
		c = dialRaw(t, b.Addr())
		if code, err := c.connack(t, connectPkt(v, "good", "bed1", "s3cret")); err != nil || code != 0 {
			t.Errorf("v%d right password: CONNACK %#x, %v", v, code, err)
		}
	}
	waitUntil(t, "the refusals to be counted", func() bool { return b.Refused() == 8 })
	checkServes(t, b, "bed1", "s3cret")
}

const wardACL = `
# the station reads every bed; a device writes its own bed's topics only
user station
topic read vigil/v1/#
pattern write vigil/v1/+/%u/#
`

func TestACLDeviceOwnBed(t *testing.T) {
	auth := testAuth(t, wardACL, map[string]string{"station": "st", "bed1": "b1", "bed2": "b2"})
	b := startBroker(t, nil, Options{Auth: auth})
	station := pahoConnect(t, b, "station", "station", "st")
	in := subscribe(t, station, "vigil/v1/#")
	bed1 := pahoConnect(t, b, "dev-bed1", "bed1", "b1")

	publish(t, bed1, "vigil/v1/ICU1/bed2/num", "forged")
	publish(t, bed1, "vigil/v1/ICU1/bed1/num", "own")
	got := in.waitFor(t, "vigil/v1/ICU1/bed1/num own")
	// The same connection's messages arrive in order: the forged one would
	// have come first.
	for _, g := range got {
		if strings.Contains(g, "forged") {
			t.Errorf("the station received bed1's publication on bed2's topic: %q", got)
		}
	}

	// A device may not read the ward, nor a bed.
	c := dialRaw(t, b.Addr())
	if code, err := c.connack(t, connectPkt(5, "dev-bed2", "bed2", "b2")); err != nil || code != 0 {
		t.Fatalf("bed2: CONNACK %#x %v", code, err)
	}
	for _, f := range []string{"vigil/v1/#", "vigil/v1/ICU1/bed2/num", "#"} {
		c.send(t, subscribePkt(5, f))
		first, body, err := c.read(5 * time.Second)
		if err != nil || first != 0x90 || len(body) < 4 || body[len(body)-1] != 0x87 {
			t.Errorf("bed2 subscribing to %s: %#x % x %v, want SUBACK not authorized (0x87)", f, first, body, err)
		}
	}
	// MQTT 5 tells a device its forged publication was refused.
	b5 := append(appendStr(nil, "vigil/v1/ICU1/bed1/alarm"), 0, 7, 0)
	c.send(t, pkt(0x32, append(b5, "forged"...)))
	if first, body, err := c.read(5 * time.Second); err != nil || first != 0x40 || len(body) < 3 || body[2] != 0x87 {
		t.Errorf("bed2's QoS 1 publication on bed1's topic: %#x % x %v, want PUBACK not authorized", first, body, err)
	}

	// Topic aliases name only topics the ACL let the device publish on.
	alias := func(topic string, n byte, payload string) []byte {
		return pkt(0x30, append(append(appendStr(nil, topic), 3, 0x23, 0, n), payload...))
	}
	c.send(t, alias("vigil/v1/ICU1/bed2/num", 1, "aliased"))
	c.send(t, alias("", 1, "by-alias"))
	c.send(t, alias("vigil/v1/ICU1/bed1/num", 2, "forged-alias"))
	c.send(t, alias("", 2, "forged-by-alias"))
	c.send(t, publishPkt(5, "vigil/v1/ICU1/bed2/num", []byte("end")))
	got = in.waitFor(t, "vigil/v1/ICU1/bed2/num end")
	for _, want := range []string{"vigil/v1/ICU1/bed2/num aliased", "vigil/v1/ICU1/bed2/num by-alias"} {
		if !slices.Contains(got, want) {
			t.Errorf("no %q: %q", want, got)
		}
	}
	for _, g := range got {
		if strings.Contains(g, "forged") {
			t.Errorf("the station received a forged message: %q", g)
		}
	}

	// Nor leave a Last Will on another bed's topic (mochi would publish it
	// unchecked): refused at CONNECT; its own bed's is published.
	for v, want := range map[byte]byte{4: 5, 5: 0x87} {
		c := dialRaw(t, b.Addr())
		if code, err := c.connack(t, connectWillPkt(v, "will-bed2", "bed2", "b2", "vigil/v1/ICU1/bed1/status", "forged")); err != nil || code != want {
			t.Errorf("v%d bed2 with a will on bed1's status: CONNACK %#x %v, want %#x", v, code, err, want)
		}
	}
	cw := dialRaw(t, b.Addr())
	if code, err := cw.connack(t, connectWillPkt(4, "will-bed2", "bed2", "b2", "vigil/v1/ICU1/bed2/status", "gone")); err != nil || code != 0 {
		t.Fatalf("bed2 with a will on its own status: CONNACK %#x %v", code, err)
	}
	cw.Close() // no DISCONNECT: the broker publishes the will
	in.waitFor(t, "vigil/v1/ICU1/bed2/status gone")

	// A device may not take the station's client id (and its session).
	c2 := dialRaw(t, b.Addr())
	if code, err := c2.connack(t, connectPkt(4, "station", "bed2", "b2")); err != nil || code != 2 {
		t.Errorf("bed2 as client id station: CONNACK %#x %v, want 2 (identifier rejected)", code, err)
	}
	if !station.IsConnected() {
		t.Error("the station was disconnected")
	}
	publish(t, bed1, "vigil/v1/ICU1/bed1/num", "after")
	for _, g := range in.waitFor(t, "vigil/v1/ICU1/bed1/num after") {
		if strings.Contains(g, "forged") {
			t.Errorf("the station received a forged message: %q", g)
		}
	}
}

func TestClientCap(t *testing.T) {
	b := startBroker(t, nil, Options{MaxClients: 3})
	var conns []*rawConn
	for i := range 3 {
		c := dialRaw(t, b.Addr())
		if code, err := c.connack(t, connectPkt(4, fmt.Sprint("c", i), "", "")); err != nil || code != 0 {
			t.Fatalf("client %d: CONNACK %#x %v", i, code, err)
		}
		conns = append(conns, c)
	}
	for v, want := range map[byte]byte{4: 3, 5: 0x89} { // server unavailable, server busy
		c := dialRaw(t, b.Addr())
		if code, err := c.connack(t, connectPkt(v, "one-too-many", "", "")); err != nil || code != want {
			t.Errorf("v%d fourth client: CONNACK %#x %v, want %#x", v, code, err, want)
		}
		if !c.closed(5 * time.Second) {
			t.Errorf("v%d fourth client still connected", v)
		}
	}
	waitUntil(t, "the refusals to be counted", func() bool { return b.Refused() == 2 })
	conns[0].Close()
	waitUntil(t, "a client to leave", func() bool { return b.srv.Clients.Len() == 2 })
	c := dialRaw(t, b.Addr())
	if code, err := c.connack(t, connectPkt(4, "next", "", "")); err != nil || code != 0 {
		t.Errorf("a client after one left: CONNACK %#x %v", code, err)
	}
}

func TestOversizePacket(t *testing.T) {
	b := startBroker(t, nil, Options{MaxPacketSize: 1024})
	sub := pahoConnect(t, b, "station", "", "")
	in := subscribe(t, sub, "vigil/v1/#")

	c := dialRaw(t, b.Addr())
	if code, err := c.connack(t, connectPkt(4, "big", "", "")); err != nil || code != 0 {
		t.Fatalf("CONNACK %#x %v", code, err)
	}
	c.send(t, publishPkt(4, "vigil/v1/ICU1/bed1/wave", bytes.Repeat([]byte{'x'}, 2000)))
	if !c.closed(5 * time.Second) {
		t.Error("the sender of a 2 KB packet is still connected")
	}
	// Just under the limit still goes through, from another client.
	pub := pahoConnect(t, b, "bed1", "", "")
	publish(t, pub, "vigil/v1/ICU1/bed1/wave", strings.Repeat("y", 900))
	got := in.waitFor(t, "vigil/v1/ICU1/bed1/wave "+strings.Repeat("y", 900))
	if !sub.IsConnected() {
		t.Error("the subscriber was disconnected")
	}
	for _, g := range got {
		if strings.Contains(g, "xxx") {
			t.Error("the oversize message was delivered")
		}
	}
	waitUntil(t, "the refusal to be counted", func() bool { return b.Refused() == 1 })
	// An oversize CONNECT too, and a remaining length announcing 200 MB
	// (which mochi would otherwise allocate).
	for _, p := range [][]byte{
		connectPkt(4, strings.Repeat("i", 2000), "", ""),
		{0x10, 0xff, 0xff, 0xff, 0x5f},
	} {
		c := dialRaw(t, b.Addr())
		c.send(t, p)
		if !c.closed(5 * time.Second) {
			t.Errorf("an oversize CONNECT % x... left the connection open", p[:5])
		}
	}
	checkServes(t, b, "", "")
}

func TestConnectTimeout(t *testing.T) {
	b := startBroker(t, nil, Options{ConnectTimeout: 200 * time.Millisecond})
	c := dialRaw(t, b.Addr())
	start := time.Now()
	if !c.closed(5 * time.Second) {
		t.Fatal("a connection that sent nothing is still open")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
	checkServes(t, b, "", "")
}

// TestCloseWhileConnecting: Close does not wait for a connection that never
// sends its CONNECT, and later connections are refused.
func TestCloseWhileConnecting(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		dialRaw(t, b.Addr())
	}
	pahoConnect(t, b, "c", "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { b.Close(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Close waited for connections that never sent a CONNECT")
	}
}
