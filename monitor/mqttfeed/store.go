package mqttfeed

import (
	"bytes"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyStore is paho's in-flight message store keeping each packet as its
// encoding and handing out a new packet on every Get. paho's own memory
// store hands back the very packet being sent: on a reconnect its resume
// sets that packet's DUP flag while the new connection's writer may be
// encoding it, a data race inside paho (eclipse-paho/paho.mqtt.golang#703,
// open) that -race reports in the broker-outage tests. With copies, resume
// only ever changes a packet no one else holds.
type copyStore struct {
	mu   sync.Mutex
	open bool
	m    map[string][]byte
}

var _ paho.Store = (*copyStore)(nil)

func newCopyStore() *copyStore { return &copyStore{m: map[string][]byte{}} }

func (s *copyStore) Open() {
	s.mu.Lock()
	s.open = true
	s.mu.Unlock()
}

// Put keeps m's encoding. paho calls it from the goroutine that made m,
// before m is handed to the writer, so encoding it here races with nothing.
func (s *copyStore) Put(key string, m packets.ControlPacket) {
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		return // unencodable: not kept, as a closed store would not keep it
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.m[key] = b.Bytes()
	}
}

// Get decodes a new packet from the kept encoding (nil when none).
func (s *copyStore) Get(key string) packets.ControlPacket {
	s.mu.Lock()
	b, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	p, err := packets.ReadPacket(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	return p
}

func (s *copyStore) All() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	return keys
}

func (s *copyStore) Del(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

func (s *copyStore) Close() {
	s.mu.Lock()
	s.open = false
	s.mu.Unlock()
}

func (s *copyStore) Reset() {
	s.mu.Lock()
	s.m = map[string][]byte{}
	s.mu.Unlock()
}
