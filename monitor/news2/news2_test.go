package news2

import "testing"

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }
func c(v ACVPU) *ACVPU     { return &v }

// TestBandEdges: every band edge of every parameter, both sides.
func TestBandEdges(t *testing.T) {
	type row struct {
		v    float64
		want int
	}
	cases := []struct {
		p    Param
		obs  func(v float64) Observations
		rows []row
	}{
		{RespRate, func(v float64) Observations { return Observations{RespRate: f(v)} },
			[]row{{0, 3}, {8, 3}, {9, 1}, {11, 1}, {12, 0}, {20, 0}, {21, 2}, {24, 2}, {25, 3}, {60, 3}, {8.4, 3}, {8.5, 1}, {20.49, 0}, {20.5, 2}}},
		{SpO2, func(v float64) Observations { return Observations{SpO2: f(v)} },
			[]row{{50, 3}, {91, 3}, {92, 2}, {93, 2}, {94, 1}, {95, 1}, {96, 0}, {100, 0}, {91.4, 3}, {91.5, 2}}},
		{SpO2, func(v float64) Observations { return Observations{SpO2: f(v), Scale2: true, OnOxygen: b(true)} },
			[]row{{83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1}, {88, 0}, {92, 0}, {93, 1}, {94, 1}, {95, 2}, {96, 2}, {97, 3}, {100, 3}}},
		{SpO2, func(v float64) Observations { return Observations{SpO2: f(v), Scale2: true, OnOxygen: b(false)} },
			[]row{{83, 3}, {84, 2}, {86, 1}, {88, 0}, {92, 0}, {93, 0}, {97, 0}, {100, 0}}},
		{SysBP, func(v float64) Observations { return Observations{SysBP: f(v)} },
			[]row{{60, 3}, {90, 3}, {91, 2}, {100, 2}, {101, 1}, {110, 1}, {111, 0}, {219, 0}, {220, 3}, {260, 3}}},
		{Pulse, func(v float64) Observations { return Observations{Pulse: f(v)} },
			[]row{{30, 3}, {40, 3}, {41, 1}, {50, 1}, {51, 0}, {90, 0}, {91, 1}, {110, 1}, {111, 2}, {130, 2}, {131, 3}, {200, 3}}},
		{Temperature, func(v float64) Observations { return Observations{Temperature: f(v)} },
			[]row{{34, 3}, {35.0, 3}, {35.1, 1}, {36.0, 1}, {36.1, 0}, {38.0, 0}, {38.1, 1}, {39.0, 1}, {39.1, 2}, {41, 2}, {35.04, 3}, {35.05, 1}, {38.04, 0}, {38.05, 1}}},
	}
	for _, tc := range cases {
		for _, r := range tc.rows {
			s := Compute(tc.obs(r.v))
			if !s.Have[tc.p] || s.Sub[tc.p] != r.want {
				t.Errorf("%v %g (%+v): subscore %d (have %v), want %d", tc.p, r.v, tc.obs(r.v), s.Sub[tc.p], s.Have[tc.p], r.want)
			}
		}
	}
	for _, tc := range []struct {
		o    Observations
		p    Param
		want int
	}{
		{Observations{OnOxygen: b(true)}, Oxygen, 2},
		{Observations{OnOxygen: b(false)}, Oxygen, 0},
		{Observations{Consciousness: c(Alert)}, Consciousness, 0},
		{Observations{Consciousness: c(Confusion)}, Consciousness, 3},
		{Observations{Consciousness: c(Voice)}, Consciousness, 3},
		{Observations{Consciousness: c(Pain)}, Consciousness, 3},
		{Observations{Consciousness: c(Unresponsive)}, Consciousness, 3},
	} {
		if s := Compute(tc.o); s.Sub[tc.p] != tc.want || !s.Have[tc.p] {
			t.Errorf("%v: %d, want %d", tc.p, s.Sub[tc.p], tc.want)
		}
	}
}

// TestTotalsAndBands: totals, the single-3 rule and the band edges 4/5 and
// 6/7; a missing parameter makes the score incomplete.
func TestTotalsAndBands(t *testing.T) {
	normal := func() Observations {
		return Observations{RespRate: f(16), SpO2: f(97), OnOxygen: b(false), SysBP: f(125), Pulse: f(72), Consciousness: c(Alert), Temperature: f(36.8)}
	}
	s := Compute(normal())
	if s.Total != 0 || !s.Complete || s.Band != Low || s.AnyThree || len(s.Missing()) != 0 {
		t.Fatalf("normal: %+v", s)
	}
	o := normal()
	o.RespRate = f(7) // 3
	if s := Compute(o); s.Total != 3 || s.Band != LowSingle || !s.AnyThree {
		t.Fatalf("single 3: %+v", s)
	}
	o = normal()
	o.Pulse, o.Temperature, o.SpO2 = f(105), f(38.5), f(94) // 1 + 1 + 1 + 1 (RR 21 → 2)
	o.RespRate = f(21)
	if s := Compute(o); s.Total != 5 || s.Band != Medium {
		t.Fatalf("total 5: %+v", s)
	}
	o.RespRate = f(20) // total 3
	o.SysBP = f(105)   // + 1 = 4
	if s := Compute(o); s.Total != 4 || s.Band != Low {
		t.Fatalf("total 4: %+v", s)
	}
	o = normal()
	o.OnOxygen, o.Pulse, o.SysBP, o.SpO2 = b(true), f(120), f(95), f(95) // 2 + 2 + 2 + 1 = 7
	if s := Compute(o); s.Total != 7 || s.Band != High {
		t.Fatalf("total 7: %+v", s)
	}
	o.SpO2 = f(96) // 6
	if s := Compute(o); s.Total != 6 || s.Band != Medium {
		t.Fatalf("total 6: %+v", s)
	}
	o = normal()
	o.Consciousness, o.Temperature = nil, nil
	if s := Compute(o); s.Complete || len(s.Missing()) != 2 || s.Missing()[0] != Consciousness || s.Missing()[1] != Temperature {
		t.Fatalf("missing: %+v %v", s, s.Missing())
	}
	// Scale 2 needs to know about oxygen to score SpO2 at all.
	if s := Compute(Observations{SpO2: f(95), Scale2: true}); s.Have[SpO2] {
		t.Fatalf("scale 2 without the oxygen entry scored %d", s.Sub[SpO2])
	}
	// NaN is not a value.
	if s := Compute(Observations{Pulse: f(nan())}); s.Have[Pulse] {
		t.Fatal("NaN pulse scored")
	}
}

func nan() float64 { var z float64; return z / z }
