package alarms

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Param is a parameter Vigil evaluates limits on.
type Param struct {
	Name     string // "hr", "spo2" ... (condition codes are Name + "-low" / "-high")
	Label    string // as a nurse reads it: "HR", "SpO2", "NIBP sys"
	Code     uint32 // the MDC code of the numeric
	Decimals int    // shown in messages
}

// Params are the parameters with limit alarms, in display order.
var Params = []Param{
	{"hr", "HR", feed.MDCECGHeartRate, 0},
	{"spo2", "SpO2", feed.MDCSpO2, 0},
	{"rr", "RR", feed.MDCRespRate, 0},
	{"nibp-sys", "NIBP sys", feed.MDCNIBPSys, 0},
	{"nibp-dia", "NIBP dia", feed.MDCNIBPDia, 0},
	{"nibp-mean", "NIBP mean", feed.MDCNIBPMean, 0},
	{"temp", "Temp", feed.MDCTemp, 1},
	{"abp-sys", "ABP sys", feed.MDCABPSys, 0},
	{"abp-dia", "ABP dia", feed.MDCABPDia, 0},
	{"abp-mean", "ABP mean", feed.MDCABPMean, 0},
	{"etco2", "etCO2", feed.MDCEtCO2, 0},
}

// ParamByName finds a parameter.
func ParamByName(name string) (Param, bool) {
	i := slices.IndexFunc(Params, func(p Param) bool { return p.Name == name })
	if i < 0 {
		return Param{}, false
	}
	return Params[i], true
}

// Limit is one parameter's alarm limits. NaN switches a side off.
type Limit struct {
	Low, High float64
	Priority  Priority
	Delay     time.Duration // condition delay
	Min, Max  float64       // bounds a nurse may set the limits within
}

// Profile is an admin-defined set of limits for a kind of patient.
type Profile struct {
	Name   string
	Limits map[string]Limit // by Param.Name
	Desat  float64          // SpO2 desaturation limit: HIGH, no delay; NaN = off
}

func lim(lo, hi float64, p Priority, delay time.Duration, mn, mx float64) Limit {
	return Limit{Low: lo, High: hi, Priority: p, Delay: delay, Min: mn, Max: mx}
}

var off = math.NaN()

// Profiles are the built-in limit profiles. The delays follow
// clinical-reference §1: SpO2 10 s ("smart delay"), HR 5 s, none for the
// desaturation limit; NIBP is a single measurement, so it has none either.
var Profiles = map[string]Profile{
	"adult": {Name: "adult", Desat: 85, Limits: map[string]Limit{
		"hr":        lim(50, 120, Medium, 5*time.Second, 25, 250),
		"spo2":      lim(90, off, Medium, 10*time.Second, 80, 100),
		"rr":        lim(8, 30, Medium, 10*time.Second, 4, 60),
		"nibp-sys":  lim(90, 160, Medium, 0, 50, 250),
		"nibp-dia":  lim(50, 90, Medium, 0, 30, 150),
		"nibp-mean": lim(60, 110, Medium, 0, 40, 180),
		"temp":      lim(36, 38.5, Low, 10*time.Second, 33, 42),
		"abp-sys":   lim(90, 160, Medium, 5*time.Second, 50, 250),
		"abp-dia":   lim(50, 90, Medium, 5*time.Second, 30, 150),
		"abp-mean":  lim(60, 110, Medium, 5*time.Second, 40, 180),
		"etco2":     lim(30, 45, Medium, 10*time.Second, 15, 80),
	}},
	"paediatric": {Name: "paediatric", Desat: 85, Limits: map[string]Limit{
		"hr":        lim(70, 150, Medium, 5*time.Second, 40, 250),
		"spo2":      lim(92, off, Medium, 10*time.Second, 80, 100),
		"rr":        lim(15, 40, Medium, 10*time.Second, 8, 80),
		"nibp-sys":  lim(80, 130, Medium, 0, 50, 180),
		"nibp-dia":  lim(40, 80, Medium, 0, 25, 120),
		"nibp-mean": lim(50, 95, Medium, 0, 30, 140),
		"temp":      lim(36, 38.5, Low, 10*time.Second, 33, 42),
		"abp-sys":   lim(80, 130, Medium, 5*time.Second, 50, 180),
		"abp-dia":   lim(40, 80, Medium, 5*time.Second, 25, 120),
		"abp-mean":  lim(50, 95, Medium, 5*time.Second, 30, 140),
		"etco2":     lim(30, 45, Medium, 10*time.Second, 15, 80),
	}},
	"neonatal": {Name: "neonatal", Desat: 80, Limits: map[string]Limit{
		"hr":        lim(100, 180, Medium, 5*time.Second, 60, 250),
		"spo2":      lim(88, 95, Medium, 10*time.Second, 80, 100), // high limit: oxygen toxicity
		"rr":        lim(30, 60, Medium, 10*time.Second, 10, 100),
		"nibp-sys":  lim(50, 90, Medium, 0, 30, 120),
		"nibp-dia":  lim(25, 60, Medium, 0, 15, 90),
		"nibp-mean": lim(30, 60, Medium, 0, 20, 100),
		"temp":      lim(36.5, 37.5, Low, 10*time.Second, 33, 40),
		"abp-sys":   lim(50, 90, Medium, 5*time.Second, 30, 120),
		"abp-dia":   lim(25, 60, Medium, 5*time.Second, 15, 90),
		"abp-mean":  lim(30, 60, Medium, 5*time.Second, 20, 100),
		"etco2":     lim(30, 45, Medium, 10*time.Second, 15, 80),
	}},
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string { return []string{"adult", "paediatric", "neonatal"} }

// BedLimits are one bed's limits: a profile and the overrides set for it.
type BedLimits struct {
	Profile   string
	Overrides map[string]Limit
}

// Limit returns the effective limit of parameter name.
func (b BedLimits) Limit(name string) (Limit, bool) {
	if l, ok := b.Overrides[name]; ok {
		return l, true
	}
	p, ok := Profiles[b.Profile]
	if !ok {
		p = Profiles["adult"]
	}
	l, ok := p.Limits[name]
	return l, ok
}

// Desat is the bed's desaturation limit.
func (b BedLimits) Desat() float64 {
	p, ok := Profiles[b.Profile]
	if !ok {
		p = Profiles["adult"]
	}
	return p.Desat
}

// WithLimit returns the limits with parameter name set to lo..hi, checked
// against the profile's bounds.
func (b BedLimits) WithLimit(name string, lo, hi float64) (BedLimits, error) {
	l, ok := b.Limit(name)
	if !ok {
		return b, fmt.Errorf("no parameter %q", name)
	}
	for _, v := range []float64{lo, hi} {
		if !math.IsNaN(v) && (v < l.Min || v > l.Max) {
			return b, fmt.Errorf("%s limit %g is outside the profile's bounds %g–%g", name, v, l.Min, l.Max)
		}
	}
	if !math.IsNaN(lo) && !math.IsNaN(hi) && lo >= hi {
		return b, fmt.Errorf("%s: the low limit %g must be below the high limit %g", name, lo, hi)
	}
	l.Low, l.High = lo, hi
	o := make(map[string]Limit, len(b.Overrides)+1)
	for k, v := range b.Overrides {
		o[k] = v
	}
	o[name] = l
	return BedLimits{Profile: b.Profile, Overrides: o}, nil
}

func format(v float64, decimals int) string { return strconv.FormatFloat(v, 'f', decimals, 64) }

// Evaluate turns one numerics message of a bed into reports and clears on e:
// each parameter's low and high limit, and the SpO2 desaturation limit.
// since is the device's time of the message (the condition's start when it
// is new); received when it arrived.
func Evaluate(e *Engine, bed string, lim BedLimits, values []feed.Numeric, since, received time.Time) {
	for _, p := range Params {
		i := slices.IndexFunc(values, func(n feed.Numeric) bool { return n.Code == p.Code })
		if i < 0 {
			continue // not in this message: the previous verdict stands
		}
		v := values[i]
		l, _ := lim.Limit(p.Name)
		lowKey, highKey := bed+"/"+p.Name+"-low", bed+"/"+p.Name+"-high"
		if !v.Valid || math.IsNaN(v.Value) {
			e.Clear(lowKey) // no value: the technical alarm (leads off, probe off) speaks
			e.Clear(highKey)
			if p.Name == "spo2" {
				e.Clear(bed + "/spo2-desat")
			}
			continue
		}
		val := format(v.Value, p.Decimals)
		if p.Name == "spo2" {
			if d := lim.Desat(); !math.IsNaN(d) && v.Value < d {
				e.ReportAt(Condition{Bed: bed, Code: "spo2-desat", Priority: High, Source: Physiological,
					Message: "Desat SpO2 " + val + " < " + format(d, 0), Value: v.Value, Limit: d, Since: since}, received)
				e.Clear(lowKey) // the desaturation alarm supersedes the low limit
				continue
			}
			e.Clear(bed + "/spo2-desat")
		}
		check := func(key, code string, crossed bool, limit float64, op string) {
			if !crossed {
				e.Clear(key)
				return
			}
			e.ReportAt(Condition{Key: key, Bed: bed, Code: code, Priority: l.Priority, Source: Physiological,
				Message: p.Label + " " + val + " " + op + " " + format(limit, p.Decimals),
				Value:   v.Value, Limit: limit, Delay: l.Delay, Since: since}, received)
		}
		check(lowKey, p.Name+"-low", !math.IsNaN(l.Low) && v.Value < l.Low, l.Low, "<")
		check(highKey, p.Name+"-high", !math.IsNaN(l.High) && v.Value > l.High, l.High, ">")
	}
}
