package alarms

import (
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// One source's flood fills its own share of the engine's queue: another
// bed's numerics, the other stations' states and the operator's commands
// still get in, and the flood's excess is counted.
func TestFloodCannotStarveOtherSources(t *testing.T) {
	s := NewService(Config{Station: "st"}) // not running: nothing drains the queue
	f := feed.NumFrame{TsMs: time.Now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: 98, Valid: true}}}
	for range 50_000 {
		s.Numerics("03", f, time.Now())
	}
	if got := s.Stats().InputDropped; got != 50_000-maxPerSource {
		t.Fatalf("dropped %d of bed 03's flood, want %d", got, 50_000-maxPerSource)
	}
	if !s.push(input{kind: inNum, bed: "04", num: f, at: time.Now()}) {
		t.Fatal("bed 04's numerics were crowded out by bed 03's flood")
	}
	for range 5000 {
		s.Remote(Alarm{ID: "x"})
	}
	if !s.push(input{kind: inNum, bed: "05", num: f}) || !s.push(input{kind: inCmd, cmd: func(*Engine) error { return nil }}) {
		t.Fatal("a flood of station states crowded out a bed or a command")
	}
	s.drain()
	if !s.push(input{kind: inNum, bed: "03", num: f}) {
		t.Fatal("bed 03 still refused after the queue drained")
	}
}
