package hl7feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/hl7"
)

// pubRec records what the server publishes; fail makes it refuse.
type pubRec struct {
	mu   sync.Mutex
	msgs []pubMsg
	fail error
}

type pubMsg struct {
	topic    string
	qos      byte
	retained bool
	payload  []byte
}

func (p *pubRec) Publish(topic string, qos byte, retained bool, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.msgs = append(p.msgs, pubMsg{topic, qos, retained, append([]byte(nil), payload...)})
	return nil
}

func (p *pubRec) taken() []pubMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pubMsg(nil), p.msgs...)
}

// startServer runs a server on a free local port until the test ends.
func startServer(t *testing.T, cfg ServerConfig) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/hl7/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange sends one framed message on conn and reads the ACK.
func exchange(t *testing.T, conn net.Conn, r *hl7.Reader, msg []byte) (code string, ack *hl7.Message) {
	t.Helper()
	if err := hl7.WriteMessage(conn, msg); err != nil {
		t.Fatal(err)
	}
	return readAck(t, conn, r)
}

func readAck(t *testing.T, conn net.Conn, r *hl7.Reader) (string, *hl7.Message) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := r.ReadMessage()
	if err != nil {
		t.Fatalf("no ACK: %v", err)
	}
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, raw)
	}
	return m.Segment("MSA", 1).Field(1), m
}

// TestServerRoundTrip: over one connection, a good message is published
// (status retained, then its two numerics frames) and acknowledged AA;
// a bad one gets AE with the reason and its place in ERR and publishes
// nothing; garbage in a frame gets AR; the connection carries on.
func TestServerRoundTrip(t *testing.T) {
	pub := &pubRec{}
	s, addr := startServer(t, ServerConfig{MapOptions: MapOptions{Ward: "7W"}, Publisher: pub})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := hl7.NewReader(conn)

	code, ack := exchange(t, conn, r, testdata(t, "pcd01_multiparam.hl7"))
	if code != "AA" || ack.Segment("MSA", 1).Field(2) != "VGM7W12-0000481" {
		t.Fatalf("ACK %q: %q", code, ack.Bytes())
	}
	got := pub.taken()
	if len(got) != 3 || got[0].topic != "vigil/v1/7W/712-B/status" || !got[0].retained || got[1].topic != "vigil/v1/7W/712-B/num" {
		t.Fatalf("published %+v", got)
	}
	for _, m := range got[1:] {
		f, err := feed.DecodeNum(m.payload)
		if err != nil || m.qos != 1 {
			t.Fatalf("num %s (QoS %d): %v", m.payload, m.qos, err)
		}
		if len(f.Values) == 0 {
			t.Fatalf("empty frame %s", m.payload)
		}
	}

	code, ack = exchange(t, conn, r, testdata(t, "bad_nm.hl7"))
	errSeg := ack.Segment("ERR", 1)
	if code != "AE" || errSeg == nil || !strings.Contains(string(ack.Bytes()), "OBX") {
		t.Fatalf("bad number: ACK %q: %q", code, ack.Bytes())
	}
	if len(pub.taken()) != 3 {
		t.Fatalf("a refused message published %d messages", len(pub.taken())-3)
	}

	code, _ = exchange(t, conn, r, []byte("this is not HL7"))
	if code != "AR" {
		t.Fatalf("garbage: ACK %q", code)
	}
	// The same sender again: the status did not change, so only numerics.
	if code, _ = exchange(t, conn, r, testdata(t, "pcd01_multiparam.hl7")); code != "AA" || len(pub.taken()) != 5 {
		t.Fatalf("again: ACK %q, %d published", code, len(pub.taken()))
	}
	st := s.Stats()
	if st.Messages != 2 || st.Rejected != 2 || st.LastRejection == "" {
		t.Fatalf("stats %+v", st)
	}
}

// TestServerBrokerDown: when the broker does not take the messages the
// sender gets AE, so that it sends again; nothing is counted as used.
func TestServerBrokerDown(t *testing.T) {
	pub := &pubRec{fail: errors.New("device not connected to the broker")}
	s, addr := startServer(t, ServerConfig{MapOptions: MapOptions{Ward: "7W"}, Publisher: pub})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	code, ack := exchange(t, conn, hl7.NewReader(conn), testdata(t, "pcd01_multiparam.hl7"))
	if code != "AE" || !strings.Contains(string(ack.Bytes()), "not connected") {
		t.Fatalf("ACK %q: %q", code, ack.Bytes())
	}
	if st := s.Stats(); st.PublishErrors != 1 || st.Messages != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestServerSlowSenders: a sender that stops halfway through a frame, or
// says nothing, is disconnected after the idle timeout; an oversize frame
// is refused (AR) and the connection goes on.
func TestServerSlowSenders(t *testing.T) {
	pub := &pubRec{}
	s, addr := startServer(t, ServerConfig{MapOptions: MapOptions{Ward: "7W"}, Publisher: pub, IdleTimeout: 300 * time.Millisecond})
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	half.Write([]byte{hl7.StartBlock, 'M', 'S', 'H'}) // and then nothing
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	for _, c := range []net.Conn{half, silent} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("the server wrote to an idle sender")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("an idle sender was not disconnected within 5 s")
		}
	}
	big, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	r := hl7.NewReader(big)
	go func() {
		big.Write([]byte{hl7.StartBlock})
		big.Write(make([]byte, hl7.MaxMessageSize+10))
		big.Write([]byte{hl7.EndBlock, hl7.CarriageReturn})
	}()
	if code, _ := readAck(t, big, r); code != "AR" {
		t.Fatalf("oversize frame: ACK %q", code)
	}
	if code, _ := exchange(t, big, r, testdata(t, "pcd01_multiparam.hl7")); code != "AA" {
		t.Fatalf("after an oversize frame: ACK %q", code)
	}
	if st := s.Stats(); st.FrameErrors < 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestServerMaxConns: senders past the limit are refused and counted.
func TestServerMaxConns(t *testing.T) {
	s, addr := startServer(t, ServerConfig{MapOptions: MapOptions{Ward: "7W"}, Publisher: &pubRec{}, MaxConns: 2})
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Refused != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Refused != 1 || st.Connections != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestServerReviewCases: a training message (MSH-11 T) is refused, not
// shown as a patient's data; a sender that gives up a frame halfway and
// starts again gets one ACK, for the new message; a value marked wrong or
// deleted (OBX-11 W, D) is no value.
func TestServerReviewCases(t *testing.T) {
	pub := &pubRec{}
	_, addr := startServer(t, ServerConfig{MapOptions: MapOptions{Ward: "7W"}, Publisher: pub})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := hl7.NewReader(conn)
	msg := testdata(t, "pcd01_multiparam.hl7")
	training := strings.Replace(string(msg), "|P|2.6|", "|T|2.6|", 1)
	if code, ack := exchange(t, conn, r, []byte(training)); code != "AE" || !strings.Contains(string(ack.Bytes()), "training") {
		t.Fatalf("training message: ACK %s %q", code, ack.Bytes())
	}
	if len(pub.taken()) != 0 {
		t.Fatal("a training message was published")
	}
	// Half a frame, then the whole message again: one ACK, AA.
	conn.Write(append([]byte{hl7.StartBlock}, msg[:40]...))
	if code, ack := exchange(t, conn, r, msg); code != "AA" || ack.Segment("MSA", 1).Field(2) != "VGM7W12-0000481" {
		t.Fatalf("after an abandoned frame: ACK %s", code)
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if extra, err := r.ReadMessage(); err == nil {
		t.Fatalf("a second ACK for one message: %q", extra)
	}
	wrong := strings.Replace(string(msg), "|128|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|H|||R|", "|128|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|H|||W|", 1)
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	before := len(pub.taken())
	if code, _ := exchange(t, conn2, hl7.NewReader(conn2), []byte(wrong)); code != "AA" {
		t.Fatalf("OBX-11 W: ACK %s", code)
	}
	for _, m := range pub.taken()[before:] {
		if strings.Contains(m.topic, "/num") && strings.Contains(string(m.payload), `"147842":{"v":128`) {
			t.Fatalf("a value marked wrong was sent as a value: %s", m.payload)
		}
	}
}

// TestCutUTF8: texts are made valid UTF-8 and cut at a character, so a
// status always decodes (a Latin-1 name, a long name of multi-byte letters).
func TestCutUTF8(t *testing.T) {
	latin1 := "Bj\xf6rk"
	if got := cut(latin1, 64); got != "Bj?rk" {
		t.Errorf("cut(latin-1) = %q", got)
	}
	long := strings.Repeat("é", 40) // 80 bytes
	got := cut(long, 64)
	if len(got) > 64 || !utf8.ValidString(got) {
		t.Errorf("cut(80 bytes of é, 64) = %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	st := feed.Status{Device: "d", Online: true, Patient: cut(strings.Repeat("Ö", 100), 128),
		Names: map[string]string{fmt.Sprint(feed.PrivatePartition + 5): cut(strings.Repeat("ß", 50), 64)}}
	if _, err := feed.DecodeStatus(feed.EncodeStatus(st)); err != nil {
		t.Errorf("status with cut names: %v", err)
	}
}

// TestServerMaxBeds: invented beds in PV1-3 cannot grow the bridge's state:
// past MaxBeds a message for one more bed is refused (AE), the beds it
// serves go on.
func TestServerMaxBeds(t *testing.T) {
	pub := &pubRec{}
	_, addr := startServer(t, ServerConfig{MapOptions: MapOptions{Ward: "7W"}, Publisher: pub, MaxBeds: 3})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := hl7.NewReader(conn)
	msg := testdata(t, "pcd01_multiparam.hl7")
	for i, bed := range []string{"B", "C", "D", "E", "F"} {
		m := bytes.ReplaceAll(msg, []byte("^712^B"), []byte("^712^"+bed))
		code, _ := exchange(t, conn, r, m)
		if want := map[bool]string{true: "AA", false: "AE"}[i < 3]; code != want {
			t.Fatalf("bed %d (%s): ACK %s, want %s", i, bed, code, want)
		}
	}
	if code, _ := exchange(t, conn, r, msg); code != "AA" {
		t.Fatalf("a bed already served: ACK %s", code)
	}
}
