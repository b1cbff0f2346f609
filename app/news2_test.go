package app

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/news2"
)

func observationRows(t *testing.T, c *Core) []store.Event {
	t.Helper()
	evs, err := c.Store.Events(context.Background(), store.Filter{Kinds: []string{store.KindObservation}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// NEWS2 end to end on a demo ward (embedded broker, simulated devices, a
// real journal): a nurse's entries are checked, journaled with who and
// when, scored with the device's fresh values, read back after a restart,
// and kept apart per patient; a score that reaches 5 and holds makes an
// advisory, journaled, that the alarm view lists apart from the alarms.
func TestNEWS2ChartingAndAdvisory(t *testing.T) {
	cfg := testConfig(t, "") // the demo ward, journal in a temp dir
	cfg.Sim = 4
	cfg.Operator, cfg.Role = "nurse.kim", "nurse"
	c, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close() }()
	const bed = "01"
	waitFor(t, 10*time.Second, "bed 01's numerics", func() bool {
		a, ok := c.News.Assess(bed)
		return ok && a.Have[news2.RespRate] && a.Have[news2.SpO2] && a.Have[news2.Pulse]
	})
	// The demo charted its patients at admission: alert, on air.
	a, _ := c.News.Assess(bed)
	if in := a.Inputs[news2.Consciousness]; !in.Charted || in.By != "demo-nurse" || news2.ACVPU(in.Value) != news2.Alert ||
		a.Sub[news2.Oxygen] != 0 || a.Band >= news2.Medium {
		t.Fatalf("the demo's chart: consciousness %+v, subscores %v", in, a.Sub)
	}
	seeded := len(observationRows(t, c))

	// Refused: a value no chart holds, a bed bound to nothing.
	if err := c.News.Chart(bed, news2.ChartTemperature, 61); err == nil {
		t.Fatal("61 °C charted")
	}
	if err := c.News.Chart("99", news2.ChartConsciousness, 0); !errors.Is(err, errUnbound) {
		t.Fatalf("charting for an unbound feed: %v", err)
	}
	if n := len(observationRows(t, c)); n != seeded {
		t.Fatalf("%d observation rows from refused entries", n-seeded)
	}

	// New confusion (3) and oxygen (2): 5 or more whatever the device says.
	if err := c.News.Chart(bed, news2.ChartConsciousness, float64(news2.Confusion)); err != nil {
		t.Fatal(err)
	}
	if err := c.News.Chart(bed, news2.ChartOxygen, 1); err != nil {
		t.Fatal(err)
	}
	a, _ = c.News.Assess(bed)
	in := a.Inputs[news2.Consciousness]
	if !in.Charted || in.By != "nurse.kim" || a.Sub[news2.Consciousness] != 3 || a.Sub[news2.Oxygen] != 2 {
		t.Fatalf("consciousness %+v, subscores %v", in, a.Sub)
	}
	if a.Band < news2.Medium {
		t.Fatalf("band %v with C and oxygen charted (total %d)", a.Band, a.Total)
	}
	rows := observationRows(t, c)[seeded:]
	if len(rows) != 2 || rows[0].Event != evCharted || rows[0].Who != "nurse.kim" || rows[0].Role != "nurse" ||
		rows[0].Detail != "consciousness C" || rows[0].Old != "DEMO-1001" {
		t.Fatalf("journal rows %+v", rows)
	}

	// The score holds at 5+ for the hold time: an advisory, listed apart
	// from the alarms, journaled.
	time.Sleep(1500 * time.Millisecond) // the once-a-second check sees the 5 first
	c.News.skew.Store(int64(2 * news2.DefaultHold))
	waitFor(t, 5*time.Second, "the NEWS2 advisory", func() bool {
		for _, adv := range c.Alarms.View().Advisories {
			if adv.Bed == bed && adv.Kind == advisoryKindNEWS2 && strings.Contains(adv.Text, "reached 5") {
				return true
			}
		}
		return false
	})
	for _, al := range c.Alarms.View().Alarms {
		if strings.Contains(al.Message, "NEWS2") {
			t.Fatalf("NEWS2 became an alarm: %+v", al)
		}
	}
	waitFor(t, 5*time.Second, "the advisory in the journal", func() bool {
		for _, r := range observationRows(t, c) {
			if r.Event == evAdvisory && r.Bed == bed && strings.Contains(r.Detail, "urgent response") {
				return true
			}
		}
		return false
	})

	// A restart reads the chart back.
	c.Close()
	c, err = Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bed 01 again", func() bool { _, ok := c.News.Assess(bed); return ok })
	a, _ = c.News.Assess(bed)
	if in := a.Inputs[news2.Consciousness]; !in.Charted || in.By != "nurse.kim" || news2.ACVPU(in.Value) != news2.Confusion {
		t.Fatalf("after a restart consciousness is %+v", in)
	}

	// Another patient in the bed starts a new chart.
	admin := alarms.Actor{Who: "admin.lee", Role: alarms.Admin, Where: "test"}
	if err := c.Store.Discharge(context.Background(), admin, bed); err != nil {
		t.Fatal(err)
	}
	if err := c.Store.Admit(context.Background(), admin, bed, store.Patient{Name: "New Patient", MRN: "MRN-9", DOB: "1950-02-03"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the new patient's empty chart", func() bool {
		a, _ := c.News.Assess(bed)
		return !a.Have[news2.Consciousness]
	})
}

// The NEWS2 freshness settings come from flags or the configuration file,
// within their ranges.
func TestNEWS2FreshnessConfig(t *testing.T) {
	cfg, err := Parse([]string{"--news2-fresh", "2m", "--news2-chart-fresh", "4h"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NEWS2Fresh != 2*time.Minute || cfg.NEWS2ChartFresh != 4*time.Hour || cfg.NEWS2NIBPFresh != 0 {
		t.Fatalf("parsed %v %v %v", cfg.NEWS2Fresh, cfg.NEWS2NIBPFresh, cfg.NEWS2ChartFresh)
	}
	if _, err := Parse([]string{"--news2-fresh", "2s"}, io.Discard); err == nil {
		t.Fatal("--news2-fresh 2s accepted")
	}
}
