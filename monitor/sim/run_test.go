package sim

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// fakeBroker hands out recorders as connections and remembers every dial.
type fakeBroker struct {
	mu        sync.Mutex
	conns     map[string][]*recorder
	wills     map[string]string
	failFirst map[string]bool // client ids whose first dial fails
	droppable bool            // connections are Droppers
}

func (fb *fakeBroker) dial(_ context.Context, clientID, willTopic string, will []byte) (Conn, error) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.failFirst[clientID] {
		fb.failFirst[clientID] = false
		return nil, errors.New("connection refused")
	}
	if s, err := feed.DecodeStatus(will); err != nil || s.Online {
		fb.wills[clientID] = "bad will"
	} else {
		fb.wills[clientID] = willTopic
	}
	r := &recorder{}
	fb.conns[clientID] = append(fb.conns[clientID], r)
	if fb.droppable {
		return droppable{r}, nil
	}
	return r, nil
}

func (fb *fakeBroker) connections(clientID string) []*recorder {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return append([]*recorder(nil), fb.conns[clientID]...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func lastStatus(t *testing.T, r *recorder) feed.Status {
	t.Helper()
	msgs := r.messages()
	for k := len(msgs) - 1; k >= 0; k-- {
		if s, err := feed.DecodeStatus(msgs[k].payload); err == nil && msgs[k].retained {
			return s
		}
	}
	t.Fatal("no status")
	return feed.Status{}
}

// TestRun drives Run's loop with virtual ticks through a device-offline event
// (bed "14", 151–171 s with EventsAfter 1 s) and a failed first dial.
func TestRun(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 16, Seed: 9, Events: true, EventsAfter: time.Second})
	fb := &fakeBroker{conns: map[string][]*recorder{}, wills: map[string]string{},
		failFirst: map[string]bool{"vigil-sim-ICU1-01": true}}
	var virtual atomic.Int64
	virtual.Store(t0.UnixMilli())
	clock := func() time.Time { return time.UnixMilli(virtual.Load()) }
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.run(ctx, fb.dial, ticks, clock) }()
	advance := func(to time.Duration) {
		for virtual.Load() < t0.Add(to).UnixMilli() {
			ticks <- time.UnixMilli(virtual.Add(200))
		}
	}
	announced := func(id string, k int) func() bool {
		return func() bool {
			c := fb.connections(id)
			return len(c) > k && len(c[k].messages()) > 0
		}
	}
	for _, name := range w.BedNames()[1:] {
		waitFor(t, "bed "+name+" to connect", announced("vigil-sim-ICU1-"+name, 0))
	}

	advance(160 * time.Second)
	const id14 = "vigil-sim-ICU1-14"
	first := fb.connections(id14)[0]
	if s := lastStatus(t, first); s.Online || !first.isClosed() {
		t.Errorf("bed 14 during its offline event: status online %v, closed %v", s.Online, first.isClosed())
	}
	advance(172 * time.Second)
	waitFor(t, "bed 14 to re-dial", announced(id14, 1))
	advance(180 * time.Second)

	waitFor(t, "bed 01 to connect after a failed dial", announced("vigil-sim-ICU1-01", 0))
	if st := w.Stats(); st.DialErrors != 1 || st.PublishErrors != 0 {
		t.Errorf("stats: %d dial errors, %d publish errors", st.DialErrors, st.PublishErrors)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	// Bed 14's second connection starts with its online status, and its frame
	// sequence continues from the first connection's.
	second := fb.connections(id14)[1]
	msgs := second.messages()
	if s, err := feed.DecodeStatus(msgs[0].payload); err != nil || !s.Online || !msgs[0].retained {
		t.Errorf("bed 14 after re-dial: first message %s", msgs[0].payload)
	}
	seqs := func(r *recorder) []uint32 {
		var out []uint32
		var f feed.WaveFrame
		for _, m := range r.messages() {
			if feed.DecodeWave(m.payload, &f) == nil {
				out = append(out, f.Seq)
			}
		}
		return out
	}
	a, b := seqs(first), seqs(second)
	if len(a) == 0 || len(b) == 0 || b[0] != a[len(a)-1]+1 {
		t.Errorf("bed 14 frame sequence: %d frames ending %v, then %d starting %v", len(a), a[len(a)-1:], len(b), b[:min(1, len(b))])
	}

	for _, name := range w.BedNames() {
		id := "vigil-sim-ICU1-" + name
		if fb.wills[id] != feed.Topic("ICU1", name, feed.StreamStatus) {
			t.Errorf("%s: will %q", id, fb.wills[id])
		}
		for _, c := range fb.connections(id) {
			if s := lastStatus(t, c); !c.isClosed() || s.Online {
				t.Errorf("%s after Run: closed %v, online %v", id, c.isClosed(), s.Online)
			}
		}
	}
}

func TestReannounceRepublishesStatus(t *testing.T) {
	w, err := New(Config{Ward: "W", Beds: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := &statusCounter{}
	pubs := []Publisher{rec, rec}
	t0 := time.UnixMilli(1_732_400_000_000)
	w.Step(t0, pubs)
	w.Step(t0.Add(time.Second), pubs)
	before := rec.n
	w.Reannounce("vigil-sim-W-02")
	w.Step(t0.Add(2*time.Second), pubs)
	if rec.n != before+1 {
		t.Fatalf("%d status messages after Reannounce, want %d", rec.n, before+1)
	}
}

type statusCounter struct{ n int }

func (s *statusCounter) Publish(topic string, _ byte, _ bool, _ []byte) error {
	if strings.HasSuffix(topic, "/status") {
		s.n++
	}
	return nil
}
