package broker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Raw MQTT over a TCP socket, for the tests that must send what no client
// library would.

func appendVarInt(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func appendStr(b []byte, s string) []byte {
	b = append(b, byte(len(s)>>8), byte(len(s)))
	return append(b, s...)
}

// pkt frames body as one packet with the given first byte.
func pkt(first byte, body []byte) []byte {
	return append(appendVarInt([]byte{first}, len(body)), body...)
}

// connectPkt is a CONNECT for protocol version v (4 = 3.1.1, 5) with a
// clean session, a 60 s keepalive and, when user is not empty, a username
// and password.
func connectPkt(v byte, id, user, pass string) []byte {
	var flags byte = 0x02
	if user != "" {
		flags |= 0xC0
	}
	b := appendStr(nil, "MQTT")
	b = append(b, v, flags, 0, 60)
	if v == 5 {
		b = append(b, 0) // no properties
	}
	b = appendStr(b, id)
	if user != "" {
		b = appendStr(b, user)
		b = appendStr(b, pass)
	}
	return pkt(0x10, b)
}

// connectWillPkt is connectPkt with a QoS 0 Last Will.
func connectWillPkt(v byte, id, user, pass, willTopic, will string) []byte {
	b := appendStr(nil, "MQTT")
	b = append(b, v, 0xC0|0x04|0x02, 0, 60)
	if v == 5 {
		b = append(b, 0)
	}
	b = appendStr(b, id)
	if v == 5 {
		b = append(b, 0) // no will properties
	}
	b = appendStr(b, willTopic)
	b = appendStr(b, will)
	b = appendStr(b, user)
	return pkt(0x10, appendStr(b, pass))
}

// subscribePkt subscribes to filter at QoS 0 (packet id 1).
func subscribePkt(v byte, filter string) []byte {
	b := []byte{0, 1}
	if v == 5 {
		b = append(b, 0)
	}
	b = appendStr(b, filter)
	return pkt(0x82, append(b, 0))
}

// publishPkt publishes payload on topic at QoS 0.
func publishPkt(v byte, topic string, payload []byte) []byte {
	b := appendStr(nil, topic)
	if v == 5 {
		b = append(b, 0)
	}
	return pkt(0x30, append(b, payload...))
}

// truncatedSubscribe is the 8-byte MQTT 5 SUBSCRIBE whose only topic
// filter lacks its subscription-options byte: packet id 1, no properties,
// filter "a". mochi v2.7.9 indexes past the end of the packet decoding it.
var truncatedSubscribe = []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'}

type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(t testing.TB, b []byte) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// read reads one packet: its first byte and its body.
func (c *rawConn) read(timeout time.Duration) (byte, []byte, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	first, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; ; i++ {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("bad remaining length")
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return first, body, nil
}

// connack sends CONNECT and returns the CONNACK's reason code.
func (c *rawConn) connack(t testing.TB, connect []byte) (byte, error) {
	t.Helper()
	c.send(t, connect)
	first, body, err := c.read(5 * time.Second)
	if err != nil {
		return 0, err
	}
	if first != 0x20 || len(body) < 2 {
		return 0, fmt.Errorf("want CONNACK, got %#x % x", first, body)
	}
	return body[1], nil
}

// closed reports whether the broker closes the connection within timeout
// (reading and discarding whatever it sends first).
func (c *rawConn) closed(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, _, err := c.read(time.Until(deadline)); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
	return false
}
