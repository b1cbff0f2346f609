package mqttfeed

import (
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// The store hands out a new packet on each Get, equal to what was put, so
// paho's resume may set DUP on it while the original is being written.
func TestCopyStoreHandsOutCopies(t *testing.T) {
	s := newCopyStore()
	s.Open()
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.Qos, p.MessageID, p.TopicName, p.Payload, p.Retain = 1, 7, "vigil/v1/ICU1/alarm/x", []byte(`{"a":1}`), true
	s.Put("o.7", p)
	a, b := s.Get("o.7").(*packets.PublishPacket), s.Get("o.7").(*packets.PublishPacket)
	if a == b || a == p {
		t.Fatal("Get returned a packet already handed out")
	}
	a.Dup = true
	if b.Dup || p.Dup {
		t.Fatal("changing one copy changed another")
	}
	if b.MessageID != 7 || b.TopicName != p.TopicName || string(b.Payload) != `{"a":1}` || !b.Retain || b.Qos != 1 {
		t.Fatalf("copy %+v differs from %+v", b, p)
	}
	if keys := s.All(); len(keys) != 1 || keys[0] != "o.7" {
		t.Fatalf("keys %v", keys)
	}
	s.Del("o.7")
	if s.Get("o.7") != nil {
		t.Fatal("deleted packet still there")
	}
	s.Close()
	s.Put("o.8", p)
	if s.Get("o.8") != nil {
		t.Fatal("a closed store kept a packet")
	}
}
