package sim

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/wfdb"
)

// testRecord is a 2-signal record: MLII at 360 Hz counting up from 0, and
// an unmappable signal; 3 s long.
func testRecord(t *testing.T) *wfdb.Record {
	t.Helper()
	h, err := wfdb.ParseHeader(strings.NewReader("t 3 360 1080\nt.dat 16 200(10)/mV 16 0 0 0 0 MLII\nt.dat 16 1 16 0 0 0 0 XYZ\nt.dat 16x2 50/mmHg 16 0 0 0 0 ABP\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &wfdb.Record{Header: h, Samples: make([][]int32, 3)}
	for i := range 1080 {
		rec.Samples[0] = append(rec.Samples[0], int32(i))
		rec.Samples[1] = append(rec.Samples[1], 7)
	}
	for i := range 2160 {
		rec.Samples[2] = append(rec.Samples[2], int32(-i))
	}
	rec.Samples[0][5] = wfdb.Invalid
	return rec
}

func TestReplayFrames(t *testing.T) {
	r, err := NewReplay(testRecord(t), ReplayConfig{Ward: "W", Bed: "16"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Codes(); len(got) != 2 || got[0] != feed.MDCECGLeadII || got[1] != feed.MDCPressArt || len(r.Skipped()) != 1 || r.Skipped()[0] != "XYZ" {
		t.Fatalf("codes %v, skipped %v", got, r.Skipped())
	}
	var f feed.WaveFrame
	var ecg, abp []int16
	k := int64(0)
	for ; r.frame(&f, k, 1000); k++ {
		if f.Seq != uint32(k) || f.StartMs != 1000+k*200 {
			t.Fatalf("frame %d: seq %d start %d", k, f.Seq, f.StartMs)
		}
		c := f.Channels[0]
		if c.RateHz != 360 || c.Gain != 200 || c.Baseline != 10 || len(c.Samples) != 72 || len(f.Channels[1].Samples) != 144 {
			t.Fatalf("frame %d: %+v", k, c)
		}
		ecg, abp = append(ecg, c.Samples...), append(abp, f.Channels[1].Samples...)
	}
	if k != 15 || len(ecg) != 1080 || len(abp) != 2160 {
		t.Fatalf("%d frames, %d ECG and %d ABP samples", k, len(ecg), len(abp))
	}
	for i, v := range ecg {
		want := int16(i)
		if i == 5 {
			want = feed.InvalidSample
		}
		if v != want {
			t.Fatalf("ECG sample %d = %d, want %d", i, v, want)
		}
	}
	if abp[2159] != -2159 {
		t.Fatalf("ABP last sample %d", abp[2159])
	}
	// Looping wraps the samples and goes on counting frames.
	r.cfg.Loop = true
	if !r.frame(&f, 15, 0) || f.Channels[0].Samples[0] != 0 || f.Seq != 15 || f.StartMs != 3000 {
		t.Fatalf("frame 15 of a loop: seq %d start %d first %d", f.Seq, f.StartMs, f.Channels[0].Samples[0])
	}
	// Starting 1 s in: the first frame holds samples 360..431.
	r2, err := NewReplay(testRecord(t), ReplayConfig{Ward: "W", Bed: "16", From: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; r2.frame(&f, int64(n), 0); n++ {
		if n == 0 && f.Channels[0].Samples[0] != 360 {
			t.Fatalf("first sample from 1 s: %d", f.Channels[0].Samples[0])
		}
	}
	if n != 10 {
		t.Fatalf("%d frames from 1 s of a 3 s record, want 10", n)
	}
	for _, bad := range []ReplayConfig{{Ward: "W/x", Bed: "1"}, {Ward: "W", Bed: ""}, {Ward: "W", Bed: "1", Speed: 5000}, {Ward: "W", Bed: "1", From: 3}} {
		if _, err := NewReplay(testRecord(t), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

type captureConn struct {
	mu     sync.Mutex
	topics []string
	status []feed.Status
	waves  [][]byte // kept as handed over, not copied: a reused buffer would show
	closed bool
}

func (c *captureConn) Publish(topic string, qos byte, retained bool, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topics = append(c.topics, topic)
	if strings.HasSuffix(topic, "/status") {
		s, _ := feed.DecodeStatus(payload)
		c.status = append(c.status, s)
	} else {
		c.waves = append(c.waves, payload)
	}
	return nil
}

func (c *captureConn) Close() { c.mu.Lock(); c.closed = true; c.mu.Unlock() }

// TestReplayRun plays the 3 s record at 30× speed: online, 15 frames,
// offline, closed.
func TestReplayRun(t *testing.T) {
	r, err := NewReplay(testRecord(t), ReplayConfig{Ward: "W", Bed: "16", Speed: 30})
	if err != nil {
		t.Fatal(err)
	}
	conn := &captureConn{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx, func(ctx context.Context, id, will string, payload []byte) (Conn, error) {
		if id != "vigil-replay-W-16" || will != feed.Topic("W", "16", feed.StreamStatus) {
			t.Errorf("dialled %q with will on %q", id, will)
		}
		return conn, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !r.Ended() || r.Frames() != 15 || r.Samples() != 1080+2160 {
		t.Fatalf("ended %v, %d frames, %d samples", r.Ended(), r.Frames(), r.Samples())
	}
	if len(conn.status) != 2 || !conn.status[0].Online || conn.status[1].Online || !conn.closed {
		t.Fatalf("status %+v, closed %v", conn.status, conn.closed)
	}
	// Each payload is still its own frame after the run (a connection may
	// write a payload out after Publish returned).
	for k, p := range conn.waves {
		var f feed.WaveFrame
		if err := feed.DecodeWave(p, &f); err != nil || f.Seq != uint32(k) {
			t.Fatalf("payload %d decodes to seq %d (%v)", k, f.Seq, err)
		}
	}
}
