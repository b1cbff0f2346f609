package app

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
)

// floodResult is what one flood against a 16-bed station measured.
type floodResult struct {
	heapGrowthMB float64       // live heap after the flood minus before
	desatAfter   time.Duration // from the device's message to the alarm shown
	refusedBeds  uint64
	junk         uint64 // rejected messages
	junkMB       float64
	samples      uint64 // waveform samples of the simulated beds received, every one in sequence
}

// flood runs the attack of the security issue: one client publishes
// numerics for 10,000 invented beds and 100 MB of junk at a station with 16
// simulated beds and one bound bed, over mosquitto; in the middle of it the
// bound bed's device reports a desaturation.
func flood(t testing.TB) floodResult {
	cfg := testConfig(t.(*testing.T), mosquittoURL)
	cfg.DiscoverBeds = false
	cfg.Sim = 16
	core := startStation(t.(*testing.T), cfg)
	bindBeds(t.(*testing.T), core, "17")
	waitFor(t.(*testing.T), 10*time.Second, "the simulated beds", func() bool { return core.Hub.Counters().Samples > 5000 })
	dev := newDevice(t.(*testing.T), mosquittoURL, cfg.Ward, "17")
	dev.num("17", spo2(97))
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	before := heap()
	gapsBefore := core.Hub.Counters().Gaps

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mosquittoURL).SetClientID("flood-" + cfg.Ward))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("connect:", tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(topic string, b []byte) {
		tok := pub.Publish(topic, 0, false, b)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal("publish:", tok.Error())
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	num := feed.EncodeNum(feed.NumFrame{TsMs: time.Now().UnixMilli(), Seq: 1, Values: []feed.Numeric{spo2(80)}})
	junk := make([]byte, 256<<10)
	var junkBytes int
	var desatAt time.Time
	for i := range 10_000 {
		send(feed.Topic(cfg.Ward, fmt.Sprintf("x%05d", i), feed.StreamNum), num)
		if i%25 == 0 { // 400 junk frames of 256 KiB: 100 MB, on invented and real beds' topics
			for j := range junk {
				junk[j] = byte(rng.Uint32())
			}
			bed := fmt.Sprintf("y%05d", i)
			if i%50 == 0 {
				bed = fmt.Sprintf("%02d", 1+i%16)
			}
			send(feed.Topic(cfg.Ward, bed, feed.StreamWave), junk)
			junkBytes += len(junk)
		}
		if i == 5000 {
			desatAt = dev.num("17", spo2(82))
		}
	}
	var raised time.Time
	waitFor(t.(*testing.T), 30*time.Second, "the desaturation of bed 17 during the flood", func() bool {
		a, ok := findAlarm(core, "spo2-desat")
		if ok && a.Bed == "17" && raised.IsZero() {
			raised = time.Now()
		}
		return ok
	})
	// The flood has drained when the station has counted every message
	// (invented beds' numerics refused, junk rejected at decoding).
	waitFor(t.(*testing.T), 60*time.Second, "the flood drained", func() bool {
		c := core.Hub.Counters()
		return c.RefusedBeds >= 10_000 && c.DecodeErrors >= 400
	})
	after := heap()
	c := core.Hub.Counters()
	if a, _ := findAlarm(core, "spo2-desat"); a.Bed != "17" {
		t.Fatalf("the desaturation is on bed %q", a.Bed)
	}
	if n := len(core.Hub.Beds()); n != 17 {
		t.Fatalf("the station has %d beds after the flood, want 17 (16 simulated, 1 bound)", n)
	}
	// No alarm of an invented bed (a loaded machine may show a simulated
	// bed's NO DATA while the flood holds its frames back: logged).
	for _, a := range core.Alarms.View().Alarms {
		if hb := core.Hub.Bed(a.Bed); hb == nil {
			t.Fatalf("an alarm for a bed that does not exist: %s %s", a.Bed, a.Text())
		}
		if a.Code != "spo2-desat" {
			t.Logf("also active after the flood: bed %s %s", a.Bed, a.Text())
		}
	}
	// The genuine feed loses nothing: every frame of the 16 beds arrives
	// in sequence (a lost frame is a gap).
	if g := c.Gaps - gapsBefore; g != 0 || c.LateFrames != 0 || c.DupFrames != 0 {
		t.Fatalf("the simulated beds' feed lost frames under the flood: %d gaps, %d late, %d duplicates", g, c.LateFrames, c.DupFrames)
	}
	return floodResult{heapGrowthMB: after - before, desatAfter: raised.Sub(desatAt), refusedBeds: c.RefusedBeds,
		junk: c.DecodeErrors, junkMB: float64(junkBytes) / (1 << 20), samples: c.Samples}
}

// TestFloodOfInventedBeds: the station creates no bed, no alarm and keeps
// no state for invented bed names, grows its heap by at most 20 MB under
// the flood, and still raises a real desaturation in the middle of it.
func TestFloodOfInventedBeds(t *testing.T) {
	r := flood(t)
	t.Logf("heap %+.1f MB; %d messages for invented beds refused, %d junk messages (%.0f MB) rejected; desaturation shown %s after its message; %d samples of the 16 beds, none lost",
		r.heapGrowthMB, r.refusedBeds, r.junk, r.junkMB, r.desatAfter.Round(time.Millisecond), r.samples)
	if r.heapGrowthMB > 20 {
		t.Fatalf("the flood grew the heap by %.1f MB, more than 20", r.heapGrowthMB)
	}
	if r.refusedBeds != 10_000 || r.junk != 400 {
		t.Fatalf("%d invented beds' messages refused (want 10000), %d junk messages rejected (want 400)", r.refusedBeds, r.junk)
	}
	benchout.Record("flood_heap_growth_mb", r.heapGrowthMB, "MB")
	benchout.Record("flood_desat_latency_ms", float64(r.desatAfter.Microseconds())/1000, "ms")
}
