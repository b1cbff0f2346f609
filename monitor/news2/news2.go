// Package news2 computes the National Early Warning Score 2 (Royal College
// of Physicians, 2017) from a bed's observations: the seven parameters'
// subscores, the total and the clinical-response band. It is advisory,
// never an alarm, and it scores only what it is given: a missing parameter
// makes the score incomplete, not zero.
//
//	parameter             3        2        1        0              1           2           3
//	respiration /min      ≤ 8               9–11     12–20                      21–24       ≥ 25
//	SpO2 scale 1 %        ≤ 91     92–93    94–95    ≥ 96
//	SpO2 scale 2 %        ≤ 83     84–85    86–87    88–92,         93–94 on O2 95–96 on O2 ≥ 97 on O2
//	                                                 ≥ 93 on air
//	air or oxygen                  oxygen            air
//	systolic BP mmHg      ≤ 90     91–100   101–110  111–219                                ≥ 220
//	pulse /min            ≤ 40              41–50    51–90          91–110      111–130     ≥ 131
//	consciousness                                    alert                                  C, V, P or U
//	temperature °C        ≤ 35.0            35.1–36.0 36.1–38.0     38.1–39.0   ≥ 39.1
//
// Values are rounded as they are charted: rates, SpO2 and pressure to the
// nearest whole number, temperature to 0.1 °C.
package news2

import (
	"fmt"
	"math"
)

// Param is one of the seven NEWS2 parameters.
type Param int

// Params, in chart order.
const (
	RespRate Param = iota
	SpO2
	Oxygen
	SysBP
	Pulse
	Consciousness
	Temperature
	nParams
)

var paramNames = [...]string{"respiration rate", "SpO2", "air or oxygen", "systolic BP", "pulse", "consciousness", "temperature"}

func (p Param) String() string {
	if p >= 0 && p < nParams {
		return paramNames[p]
	}
	return fmt.Sprintf("Param(%d)", int(p))
}

// ACVPU is the level of consciousness.
type ACVPU int

// Levels: alert, new confusion, voice, pain, unresponsive.
const (
	Alert ACVPU = iota
	Confusion
	Voice
	Pain
	Unresponsive
)

// Observations are what the score is computed from; nil means not
// available (not measured, stale or not entered).
type Observations struct {
	RespRate      *float64 // /min
	SpO2          *float64 // %
	OnOxygen      *bool    // supplemental oxygen
	SysBP         *float64 // mmHg
	Pulse         *float64 // /min
	Consciousness *ACVPU
	Temperature   *float64 // °C
	Scale2        bool     // SpO2 scale 2 (hypercapnic respiratory failure, target 88–92 %), chosen per patient by a clinician
}

// Band is the clinical response the total calls for.
type Band int

// Bands.
const (
	Low       Band = iota // 0–4, no single 3: ward-based response
	LowSingle             // 0–4 with a single parameter scoring 3: urgent ward-based response
	Medium                // 5–6: urgent response, review within 1 h
	High                  // 7 or more: emergency response
)

func (b Band) String() string {
	switch b {
	case Low:
		return "low"
	case LowSingle:
		return "low (single parameter 3)"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return fmt.Sprintf("Band(%d)", int(b))
}

// Score is a computed NEWS2.
type Score struct {
	Sub      [nParams]int  // subscores (0 where missing)
	Have     [nParams]bool // which parameters were scored
	Total    int
	Complete bool // all seven parameters present: only then is the total a NEWS2
	AnyThree bool // some parameter scores 3
	Band     Band
}

// Missing lists the parameters the score lacks.
func (s Score) Missing() []Param {
	var out []Param
	for p := range nParams {
		if !s.Have[p] {
			out = append(out, p)
		}
	}
	return out
}

// Compute scores the observations.
func Compute(o Observations) Score {
	var s Score
	set := func(p Param, v int) { s.Sub[p], s.Have[p] = v, true }
	if o.RespRate != nil && finite(*o.RespRate) {
		set(RespRate, respRate(math.Round(*o.RespRate)))
	}
	if o.SpO2 != nil && finite(*o.SpO2) && (!o.Scale2 || o.OnOxygen != nil) {
		v := math.Round(*o.SpO2)
		if o.Scale2 {
			set(SpO2, spo2Scale2(v, *o.OnOxygen))
		} else {
			set(SpO2, spo2Scale1(v))
		}
	}
	if o.OnOxygen != nil {
		set(Oxygen, map[bool]int{true: 2, false: 0}[*o.OnOxygen])
	}
	if o.SysBP != nil && finite(*o.SysBP) {
		set(SysBP, sysBP(math.Round(*o.SysBP)))
	}
	if o.Pulse != nil && finite(*o.Pulse) {
		set(Pulse, pulse(math.Round(*o.Pulse)))
	}
	if o.Consciousness != nil {
		v := 0
		if *o.Consciousness != Alert {
			v = 3
		}
		set(Consciousness, v)
	}
	if o.Temperature != nil && finite(*o.Temperature) {
		set(Temperature, temperature(math.Round(*o.Temperature*10)/10))
	}
	s.Complete = true
	for p := range nParams {
		s.Total += s.Sub[p]
		s.AnyThree = s.AnyThree || s.Sub[p] == 3
		s.Complete = s.Complete && s.Have[p]
	}
	switch {
	case s.Total >= 7:
		s.Band = High
	case s.Total >= 5:
		s.Band = Medium
	case s.AnyThree:
		s.Band = LowSingle
	}
	return s
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func respRate(v float64) int {
	switch {
	case v <= 8:
		return 3
	case v <= 11:
		return 1
	case v <= 20:
		return 0
	case v <= 24:
		return 2
	}
	return 3
}

func spo2Scale1(v float64) int {
	switch {
	case v <= 91:
		return 3
	case v <= 93:
		return 2
	case v <= 95:
		return 1
	}
	return 0
}

func spo2Scale2(v float64, onO2 bool) int {
	switch {
	case v <= 83:
		return 3
	case v <= 85:
		return 2
	case v <= 87:
		return 1
	case v <= 92 || !onO2:
		return 0
	case v <= 94:
		return 1
	case v <= 96:
		return 2
	}
	return 3
}

func sysBP(v float64) int {
	switch {
	case v <= 90:
		return 3
	case v <= 100:
		return 2
	case v <= 110:
		return 1
	case v <= 219:
		return 0
	}
	return 3
}

func pulse(v float64) int {
	switch {
	case v <= 40:
		return 3
	case v <= 50:
		return 1
	case v <= 90:
		return 0
	case v <= 110:
		return 1
	case v <= 130:
		return 2
	}
	return 3
}

func temperature(v float64) int {
	switch {
	case v <= 35.0:
		return 3
	case v <= 36.0:
		return 1
	case v <= 38.0:
		return 0
	case v <= 39.0:
		return 1
	}
	return 2
}
