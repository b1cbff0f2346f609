package news2

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func reading(v float64, ago time.Duration) Reading {
	return Reading{Value: v, At: t0.Add(-ago), OK: true}
}

// A full set: device values fresh, the nurse's entries charted this morning.
func fullBed() (Device, *Chart) {
	dev := Device{
		RespRate:  reading(22, time.Second),     // 2
		SpO2:      reading(95, time.Second),     // scale 1: 1
		SysBP:     reading(105, 20*time.Minute), // 1
		PulseRate: reading(112, time.Second),    // 2
		HeartRate: reading(60, time.Second),     // (not used: the pulse rate is fresh)
	}
	c := &Chart{}
	for _, e := range []Entry{
		{Kind: ChartConsciousness, Value: float64(Alert), At: t0.Add(-2 * time.Hour), By: "nurse.kim"},
		{Kind: ChartOxygen, Value: 0, At: t0.Add(-2 * time.Hour), By: "nurse.kim"},
		{Kind: ChartTemperature, Value: 38.4, At: t0.Add(-2 * time.Hour), By: "nurse.kim"}, // 1
	} {
		if err := c.Add(e); err != nil {
			panic(err)
		}
	}
	return dev, c
}

func TestAssessSources(t *testing.T) {
	dev, chart := fullBed()
	a := Assess(t0, dev, chart, DefaultFreshness)
	if !a.Complete || a.Total != 7 || a.Band != High {
		t.Fatalf("complete %v total %d band %v, want a complete 7, high (subscores %v)", a.Complete, a.Total, a.Band, a.Sub)
	}
	if got := a.Summary(); got != "NEWS2 7" {
		t.Fatalf("summary %q", got)
	}
	if in := a.Inputs[Pulse]; in.Value != 112 || in.Charted {
		t.Fatalf("pulse from %+v, want the device's SpO2 pulse rate", in)
	}
	if in := a.Inputs[Temperature]; !in.Charted || in.By != "nurse.kim" || in.Value != 38.4 {
		t.Fatalf("temperature from %+v, want the charted one", in)
	}

	// A temperature probe, when fresh, wins over the chart.
	dev.Temperature = reading(36.5, 10*time.Second)
	if in := Assess(t0, dev, chart, DefaultFreshness).Inputs[Temperature]; in.Charted || in.Value != 36.5 {
		t.Fatalf("temperature from %+v, want the probe", in)
	}
	// ...and when stale, the chart counts again.
	dev.Temperature = reading(36.5, 6*time.Minute)
	if in := Assess(t0, dev, chart, DefaultFreshness).Inputs[Temperature]; !in.Charted {
		t.Fatalf("temperature from %+v, want the chart over a stale probe", in)
	}

	// Pulse: the heart rate when the pulse rate is stale.
	dev.PulseRate = reading(112, 6*time.Minute)
	a = Assess(t0, dev, chart, DefaultFreshness)
	if in := a.Inputs[Pulse]; in.Value != 60 || !in.Have {
		t.Fatalf("pulse from %+v, want the heart rate", in)
	}
	if a.Total != 5 || a.Band != Medium {
		t.Fatalf("total %d band %v with pulse 60, want 5, medium", a.Total, a.Band)
	}

	// Stale values are left out: the score is a lower bound, marked so.
	dev.SysBP = reading(80, 61*time.Minute)
	a = Assess(t0, dev, chart, DefaultFreshness)
	if a.Complete || a.Have[SysBP] || !a.Inputs[SysBP].Stale {
		t.Fatalf("a cuff pressure 61 min old was used: %+v", a.Inputs[SysBP])
	}
	if got := a.Summary(); got != "NEWS2 ≥ 4" {
		t.Fatalf("summary %q, want a lower bound", got)
	}
	if m := a.Missing(); len(m) != 1 || m[0] != SysBP {
		t.Fatalf("missing %v", m)
	}

	// Charted entries (2 h old at t0) age out after 12 h.
	a = Assess(t0.Add(9*time.Hour), Device{}, chart, DefaultFreshness)
	if !a.Have[Consciousness] || !a.Have[Oxygen] {
		t.Fatal("entries 11 h old were dropped")
	}
	a = Assess(t0.Add(10*time.Hour+time.Minute), Device{}, chart, DefaultFreshness)
	if a.Have[Consciousness] || !a.Inputs[Consciousness].Stale {
		t.Fatal("an entry 12 h 1 min old was used")
	}

	// Nothing at all: no summary.
	if got := Assess(t0, Device{}, nil, DefaultFreshness).Summary(); got != "" {
		t.Fatalf("summary of nothing %q", got)
	}
	// NaN and invalid readings never count.
	if a := Assess(t0, Device{RespRate: Reading{Value: math.Inf(1), At: t0, OK: true}, SpO2: Reading{Value: 80, At: t0}}, nil, DefaultFreshness); a.Have[RespRate] || a.Have[SpO2] {
		t.Fatal("an infinite or invalid reading was scored")
	}
}

// Scale 2 scores SpO2 only when the chart says air or oxygen (above 92 %
// the score depends on it), and the scale does not age.
func TestAssessScale2(t *testing.T) {
	c := &Chart{}
	if err := c.Add(Entry{Kind: ChartScale, Value: 2, At: t0.Add(-72 * time.Hour), By: "dr.ode"}); err != nil {
		t.Fatal(err)
	}
	dev := Device{SpO2: reading(97, time.Second)}
	a := Assess(t0, dev, c, DefaultFreshness)
	if !a.Scale2 || a.Have[SpO2] {
		t.Fatalf("scale 2 without air/oxygen charted: scale2 %v, SpO2 scored %v", a.Scale2, a.Have[SpO2])
	}
	if err := c.Add(Entry{Kind: ChartOxygen, Value: 1, At: t0.Add(-time.Minute), By: "nurse.kim"}); err != nil {
		t.Fatal(err)
	}
	a = Assess(t0, dev, c, DefaultFreshness)
	if a.Sub[SpO2] != 3 || a.Sub[Oxygen] != 2 {
		t.Fatalf("97 %% on oxygen, scale 2: SpO2 %d oxygen %d, want 3 and 2", a.Sub[SpO2], a.Sub[Oxygen])
	}
	if th := a.Threes(); len(th) != 1 || th[0] != SpO2 {
		t.Fatalf("threes %v", th)
	}
}

func TestChartEntries(t *testing.T) {
	bad := []Entry{
		{Kind: ChartConsciousness, Value: 5},
		{Kind: ChartConsciousness, Value: 1.5},
		{Kind: ChartOxygen, Value: 2},
		{Kind: ChartScale, Value: 3},
		{Kind: ChartTemperature, Value: 50},
		{Kind: ChartTemperature, Value: 0 / zero()},
		{Kind: Kind(9), Value: 1},
	}
	c := &Chart{}
	for _, e := range bad {
		if err := c.Add(e); err == nil {
			t.Errorf("%+v charted", e)
		}
	}
	// An older entry does not replace a newer one.
	_ = c.Add(Entry{Kind: ChartConsciousness, Value: float64(Voice), At: t0})
	_ = c.Add(Entry{Kind: ChartConsciousness, Value: float64(Alert), At: t0.Add(-time.Hour)})
	if e, _ := c.Latest(ChartConsciousness); ACVPU(e.Value) != Voice || e.Text() != "V" {
		t.Fatalf("latest %+v (%s)", e, e.Text())
	}
	c.Clear()
	if _, ok := c.Latest(ChartConsciousness); ok {
		t.Fatal("a cleared chart kept an entry")
	}
	for _, s := range []string{"A", "c", " V ", "P", "U"} {
		if _, err := ParseACVPU(s); err != nil {
			t.Errorf("ParseACVPU(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "X", "AC", "alert"} {
		if _, err := ParseACVPU(s); err == nil {
			t.Errorf("ParseACVPU(%q) accepted", s)
		}
	}
	for k := range nKinds {
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, err)
		}
	}
}

func zero() float64 { return 0 }

// The watch advises 5 and 7 once each, after they hold, and steps down only
// after the score has stayed under for the clear time.
func TestWatch(t *testing.T) {
	w := Watch{Hold: time.Minute, Clear: 5 * time.Minute}
	at := t0
	step := func(total int, d time.Duration) (Change, Band) {
		t.Helper()
		var last Change
		var band Band
		changes := 0
		for end := at.Add(d); at.Before(end); at = at.Add(time.Second) {
			a := Assessment{At: at}
			a.Total = total
			switch {
			case total >= 7:
				a.Band = High
			case total >= 5:
				a.Band = Medium
			}
			c, b := w.Update(a)
			if c != NoChange {
				last, band = c, b
				changes++
			}
		}
		if changes > 1 {
			t.Fatalf("%d changes in one step", changes)
		}
		return last, band
	}
	if c, _ := step(4, 10*time.Minute); c != NoChange {
		t.Fatalf("4: %v", c)
	}
	// Wavering 4/5 every few seconds: never held for a minute.
	for range 20 {
		if c, _ := step(5, 30*time.Second); c != NoChange {
			t.Fatalf("wavering: %v", c)
		}
		if c, _ := step(4, 5*time.Second); c != NoChange {
			t.Fatalf("wavering: %v", c)
		}
	}
	if c, b := step(5, 61*time.Second); c != Raise || b != Medium {
		t.Fatalf("5 held: %v %v", c, b)
	}
	if c, _ := step(6, 10*time.Minute); c != NoChange {
		t.Fatalf("5 to 6: %v", c)
	}
	if c, b := step(7, 61*time.Second); c != Raise || b != High {
		t.Fatalf("7 held: %v %v", c, b)
	}
	// Back to 4 briefly, then 5 again: the advisory stays.
	if c, _ := step(4, 4*time.Minute); c != NoChange {
		t.Fatalf("4 for 4 min: %v", c)
	}
	if c, b := step(6, 6*time.Minute); c != Lower || b != Medium {
		t.Fatalf("6 for 6 min after 7: %v %v", c, b)
	}
	if c, b := step(3, 6*time.Minute); c != Withdraw || b != Low {
		t.Fatalf("3 for 6 min: %v %v", c, b)
	}
	if w.Shown() != Low {
		t.Fatalf("shown %v", w.Shown())
	}
	// A new rise advises again.
	if c, b := step(8, 2*time.Minute); c != Raise || b != High {
		t.Fatalf("8 after withdrawal: %v %v", c, b)
	}
}
