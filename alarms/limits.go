package alarms

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Param is a parameter Vigil evaluates limits on.
type Param struct {
	Name     string // "hr", "spo2" ... (condition codes are Name + "-low" / "-high", but a LimitGroup member's)
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

// Condition codes of the parameter groups' limit alarms (LimitGroups).
const (
	CodeNIBPLimit = "nibp-limit" // a NIBP reading's sys, dia or mean out of range
	CodeABPLimit  = "abp-limit"  // the arterial pressure's sys, dia or mean out of range
)

// LimitGroup is a set of parameters that are one measurement (a blood
// pressure's systolic, diastolic and mean values): each member keeps its
// own limits, but together they raise one alarm, of condition code Code,
// whatever is out of range and in which direction. Its message names the
// reading and every crossed limit, e.g. "NIBP 166/95 (112)  sys > 160,
// mean > 110"; its priority is the highest of the crossed limits'.
type LimitGroup struct {
	Name    string   // "nibp", "abp"
	Label   string   // as a nurse reads it: "NIBP"
	Code    string   // the alarm's condition code: CodeNIBPLimit ...
	MDC     uint32   // the compound MDC code of the measurement (MDC_PRESS_BLD_NONINV 150020 ...)
	Members []string // Param names in the reading's order: sys, dia, mean (three)
	Short   []string // how the message names each member: "sys", "dia", "mean"
}

// LimitGroups are the parameter groups. Their members' codes
// ("nibp-sys-high" ...) are not raised: the group's code is.
var LimitGroups = []LimitGroup{
	{Name: "nibp", Label: "NIBP", Code: CodeNIBPLimit, MDC: 150020, // MDC_PRESS_BLD_NONINV
		Members: []string{"nibp-sys", "nibp-dia", "nibp-mean"}, Short: []string{"sys", "dia", "mean"}},
	{Name: "abp", Label: "ABP", Code: CodeABPLimit, MDC: 150032, // MDC_PRESS_BLD_ART
		Members: []string{"abp-sys", "abp-dia", "abp-mean"}, Short: []string{"sys", "dia", "mean"}},
}

// GroupOf finds the group a parameter (by Param.Name) is a member of.
func GroupOf(param string) (LimitGroup, bool) {
	for _, g := range LimitGroups {
		if slices.Contains(g.Members, param) {
			return g, true
		}
	}
	return LimitGroup{}, false
}

// LimitGroupByCode finds the group whose alarm has condition code code.
func LimitGroupByCode(code string) (LimitGroup, bool) {
	for _, g := range LimitGroups {
		if g.Code == code {
			return g, true
		}
	}
	return LimitGroup{}, false
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
// each parameter's low and high limit, each parameter group's (LimitGroups)
// limits as one alarm, and the SpO2 desaturation limit. A parameter the
// message does not carry keeps its verdict; an invalid value clears its
// alarms (the technical alarm, leads off or probe off, speaks). since is the
// device's time of the message (the condition's start when it is new);
// received when it arrived.
func Evaluate(e *Engine, bed string, lim BedLimits, values []feed.Numeric, since, received time.Time) {
	for _, p := range Params {
		if _, grouped := GroupOf(p.Name); grouped {
			continue
		}
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
	for i := range LimitGroups {
		evaluateGroup(e, bed, lim, &LimitGroups[i], values, since, received)
	}
}

// evaluateGroup raises or clears the one alarm of a parameter group. A
// message with none of its members keeps the verdict; otherwise a member
// that is absent or invalid counts as in range. The alarm is there while
// any member is out of its own limits:
//
//	reading 166/88 (112), adult limits sys 90–160, dia 50–90, mean 60–110
//	-> "NIBP 166/88 (112)  sys > 160, mean > 110", Value 166, Limit 160
//
// Value and Limit are the first crossed member's (sys, dia, mean); the
// priority is the highest of the crossed limits', the condition delay the
// shortest of theirs (the group alarms no later than any member's own limit
// would have).
func evaluateGroup(e *Engine, bed string, lim BedLimits, g *LimitGroup, values []feed.Numeric, since, received time.Time) {
	var at [3]int // index of each member in values, -1 when absent
	seen := false
	for m, name := range g.Members {
		p, _ := ParamByName(name)
		at[m] = slices.IndexFunc(values, func(n feed.Numeric) bool { return n.Code == p.Code })
		seen = seen || at[m] >= 0
	}
	if !seen {
		return // not in this message: the previous verdict stands
	}
	key := bed + "/" + g.Code
	shown := [3]string{"---", "---", "---"}
	var crossed []string
	c := Condition{Key: key, Bed: bed, Code: g.Code, Source: Physiological, Since: since,
		Value: math.NaN(), Limit: math.NaN()}
	for m, name := range g.Members {
		// An alarm of the per-member codes before groups (a retained state
		// from an older station) ends with the next reading.
		e.Clear(bed + "/" + name + "-low")
		e.Clear(bed + "/" + name + "-high")
		if at[m] < 0 {
			continue
		}
		v := values[at[m]]
		if !v.Valid || math.IsNaN(v.Value) {
			continue
		}
		p, _ := ParamByName(name)
		shown[m] = format(v.Value, p.Decimals)
		l, _ := lim.Limit(name)
		var op string
		var limit float64
		switch {
		case !math.IsNaN(l.Low) && v.Value < l.Low:
			op, limit = "<", l.Low
		case !math.IsNaN(l.High) && v.Value > l.High:
			op, limit = ">", l.High
		default:
			continue
		}
		crossed = append(crossed, g.Short[m]+" "+op+" "+format(limit, p.Decimals))
		if len(crossed) == 1 {
			c.Value, c.Limit, c.Priority, c.Delay = v.Value, limit, l.Priority, l.Delay
		}
		c.Priority, c.Delay = max(c.Priority, l.Priority), min(c.Delay, l.Delay)
	}
	if len(crossed) == 0 {
		e.Clear(key)
		return
	}
	c.Message = g.Label + " " + shown[0] + "/" + shown[1] + " (" + shown[2] + ")  " + strings.Join(crossed, ", ")
	e.ReportAt(c, received)
}
