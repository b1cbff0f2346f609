package news2

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A bed's NEWS2 comes from two places: the device's fresh values
// (respiration, SpO2, systolic pressure, pulse, often temperature) and what
// a nurse charts (consciousness, air or oxygen, the SpO2 scale, temperature
// when no probe), each entry timed and attributed.
//
//	parameter       from                                   fresh for
//	respiration     device                                 Freshness.Device
//	SpO2            device; scale charted                  Freshness.Device (the scale does not age)
//	air or oxygen   charted                                Freshness.Charted
//	systolic BP     device (NIBP, intermittent)            Freshness.NIBP
//	pulse           device: SpO2 pulse rate, else HR       Freshness.Device
//	consciousness   charted                                Freshness.Charted
//	temperature     device probe if fresh, else charted    Freshness.Device / Freshness.Charted
//
// A value older than its freshness is left out: the score is then
// incomplete (a lower bound), never computed from stale data.

// Kind is what a nurse charts.
type Kind int

// Charted kinds.
const (
	ChartConsciousness Kind = iota // Value: an ACVPU level
	ChartOxygen                    // Value: 1 on supplemental oxygen, 0 on air
	ChartScale                     // Value: SpO2 scale 1 or 2
	ChartTemperature               // Value: °C
	nKinds
)

var kindNames = [...]string{"consciousness", "oxygen", "spo2-scale", "temperature"}

func (k Kind) String() string {
	if k >= 0 && k < nKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind reads a kind's name (as String writes it).
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown NEWS2 observation %q", s)
}

var acvpuLetters = "ACVPU"

// String is the level's letter.
func (c ACVPU) String() string {
	if c >= Alert && c <= Unresponsive {
		return acvpuLetters[c : c+1]
	}
	return fmt.Sprintf("ACVPU(%d)", int(c))
}

// ParseACVPU reads a level's letter.
func ParseACVPU(s string) (ACVPU, error) {
	if i := strings.Index(acvpuLetters, strings.ToUpper(strings.TrimSpace(s))); i >= 0 && len(strings.TrimSpace(s)) == 1 {
		return ACVPU(i), nil
	}
	return 0, fmt.Errorf("consciousness %q: want one of A, C, V, P, U", s)
}

// Entry is one charted observation.
type Entry struct {
	Kind  Kind
	Value float64
	At    time.Time
	By    string // who charted it
}

// Check says whether the entry's value is one a chart can hold.
func (e Entry) Check() error {
	v := e.Value
	if !finite(v) {
		return fmt.Errorf("%v: not a number", e.Kind)
	}
	switch e.Kind {
	case ChartConsciousness:
		if v != math.Trunc(v) || v < float64(Alert) || v > float64(Unresponsive) {
			return fmt.Errorf("consciousness %v: want an ACVPU level", v)
		}
	case ChartOxygen:
		if v != 0 && v != 1 {
			return fmt.Errorf("oxygen %v: want 1 (on oxygen) or 0 (air)", v)
		}
	case ChartScale:
		if v != 1 && v != 2 {
			return fmt.Errorf("SpO2 scale %v: want 1 or 2", v)
		}
	case ChartTemperature:
		if v < 25 || v > 45 {
			return fmt.Errorf("temperature %v °C: outside 25–45 °C, not charted", v)
		}
	default:
		return fmt.Errorf("%v: unknown observation", e.Kind)
	}
	return nil
}

// Text is the entry's value as charted ("V", "oxygen", "scale 2", "37.8 °C").
func (e Entry) Text() string {
	switch e.Kind {
	case ChartConsciousness:
		return ACVPU(e.Value).String()
	case ChartOxygen:
		if e.Value == 1 {
			return "oxygen"
		}
		return "air"
	case ChartScale:
		return "scale " + strconv.Itoa(int(e.Value))
	case ChartTemperature:
		return strconv.FormatFloat(e.Value, 'f', 1, 64) + " °C"
	}
	return strconv.FormatFloat(e.Value, 'g', -1, 64)
}

// Chart is a bed's charted observations: the latest of each kind. Safe
// for concurrent use.
type Chart struct {
	mu     sync.Mutex
	latest [nKinds]Entry
	have   [nKinds]bool
}

// Add charts an entry (after Check); an entry older than the one charted
// is kept out (a journal replayed out of order does not undo a newer one).
func (c *Chart) Add(e Entry) error {
	if err := e.Check(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have[e.Kind] && e.At.Before(c.latest[e.Kind].At) {
		return nil
	}
	c.latest[e.Kind], c.have[e.Kind] = e, true
	return nil
}

// Latest is the newest entry of a kind.
func (c *Chart) Latest(k Kind) (Entry, bool) {
	if k < 0 || k >= nKinds {
		return Entry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest[k], c.have[k]
}

// Clear forgets every entry (a new patient in the bed).
func (c *Chart) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.have = [nKinds]bool{}
}

// Reading is a device value and when the station received it.
type Reading struct {
	Value float64
	At    time.Time
	OK    bool // received and valid
}

// Device is what the bed's device sent last.
type Device struct {
	RespRate, SpO2, SysBP, PulseRate, HeartRate, Temperature Reading
}

// Freshness is how old a value may be and still count.
type Freshness struct {
	Device  time.Duration // continuous device values (respiration, SpO2, pulse, temperature probe)
	NIBP    time.Duration // the last non-invasive systolic pressure
	Charted time.Duration // consciousness, air or oxygen, charted temperature
}

// DefaultFreshness: continuous values within 5 minutes, a cuff pressure
// within an hour, charted observations within 12 hours (the RCP's least
// frequent monitoring for a low score).
var DefaultFreshness = Freshness{Device: 5 * time.Minute, NIBP: time.Hour, Charted: 12 * time.Hour}

// Source says where a parameter's value came from.
type Source struct {
	Value   float64
	At      time.Time
	Charted bool   // a nurse charted it (By), else the device sent it
	By      string // who charted it
	Have    bool   // a fresh value was used
	Stale   bool   // there was one, too old to count
}

// Assessment is a bed's NEWS2 with where each parameter came from.
type Assessment struct {
	Score
	Inputs [nParams]Source
	Scale2 bool
	At     time.Time
}

// Assess scores a bed at now from its device values and its chart.
func Assess(now time.Time, dev Device, chart *Chart, fresh Freshness) Assessment {
	a := Assessment{At: now}
	fromDevice := func(p Param, r Reading, maxAge time.Duration) bool {
		if !r.OK || !finite(r.Value) {
			return false
		}
		if now.Sub(r.At) > maxAge {
			a.Inputs[p].Stale = true
			return false
		}
		a.Inputs[p] = Source{Value: r.Value, At: r.At, Have: true}
		return true
	}
	fromChart := func(p Param, k Kind) (Entry, bool) {
		if chart == nil {
			return Entry{}, false
		}
		e, ok := chart.Latest(k)
		if !ok {
			return e, false
		}
		if now.Sub(e.At) > fresh.Charted {
			a.Inputs[p].Stale = true
			return e, false
		}
		a.Inputs[p] = Source{Value: e.Value, At: e.At, Charted: true, By: e.By, Have: true}
		return e, true
	}
	fromDevice(RespRate, dev.RespRate, fresh.Device)
	fromDevice(SysBP, dev.SysBP, fresh.NIBP)
	if !fromDevice(Pulse, dev.PulseRate, fresh.Device) {
		fromDevice(Pulse, dev.HeartRate, fresh.Device)
	}
	if !fromDevice(Temperature, dev.Temperature, fresh.Device) {
		fromChart(Temperature, ChartTemperature)
	}
	fromChart(Oxygen, ChartOxygen)
	fromChart(Consciousness, ChartConsciousness)
	if chart != nil {
		if e, ok := chart.Latest(ChartScale); ok && e.Value == 2 {
			a.Scale2 = true
		}
	}
	fromDevice(SpO2, dev.SpO2, fresh.Device)

	var o Observations
	o.Scale2 = a.Scale2
	val := func(p Param) *float64 {
		if !a.Inputs[p].Have {
			return nil
		}
		v := a.Inputs[p].Value
		return &v
	}
	o.RespRate, o.SpO2, o.SysBP, o.Pulse, o.Temperature = val(RespRate), val(SpO2), val(SysBP), val(Pulse), val(Temperature)
	if a.Inputs[Oxygen].Have {
		on := a.Inputs[Oxygen].Value == 1
		o.OnOxygen = &on
	}
	if a.Inputs[Consciousness].Have {
		c := ACVPU(a.Inputs[Consciousness].Value)
		o.Consciousness = &c
	}
	a.Score = Compute(o)
	return a
}

// Summary is the score as a tile shows it: "NEWS2 5", or "NEWS2 ≥ 3" when
// parameters are missing (they can only add), "" when nothing is scored.
func (a Assessment) Summary() string {
	n := 0
	for _, h := range a.Have {
		if h {
			n++
		}
	}
	switch {
	case n == 0:
		return ""
	case a.Complete:
		return "NEWS2 " + strconv.Itoa(a.Total)
	}
	return "NEWS2 ≥ " + strconv.Itoa(a.Total)
}

// Threes names the parameters scoring 3.
func (a Assessment) Threes() []Param {
	var out []Param
	for p := range nParams {
		if a.Have[p] && a.Sub[p] == 3 {
			out = append(out, p)
		}
	}
	return out
}

// Params lists the seven parameters in chart order.
func Params() []Param {
	out := make([]Param, nParams)
	for p := range nParams {
		out[p] = p
	}
	return out
}

// Response is the RCP's clinical response for the band.
func (b Band) Response() string {
	switch b {
	case LowSingle:
		return "urgent ward-based response: a registered nurse to assess"
	case Medium:
		return "urgent response: review within 1 hour by a clinician competent in acute illness"
	case High:
		return "emergency response: review by a critical-care team, continuous monitoring"
	}
	return "ward-based response: continue routine monitoring"
}

// Watch turns a bed's successive assessments into advisories: one when
// the score reaches 5 (medium) and again at 7 (high), per the RCP bands.
// A continuous score moves with every breath, so a band must hold for
// Hold before it is advised, and an advisory steps down only once the
// score has stayed under its band for Clear: a respiration rate wavering
// between 20 and 21 does not notify every minute.
//
//	score  4 4 5 5 5 ... 5 (Hold) 7 7 ... 7 (Hold) 6 6 ... (Clear) 4 ... (Clear)
//	       -   -           Raise 5          Raise 7        Lower 5       Withdraw
type Watch struct {
	Hold, Clear time.Duration

	shown Band         // the band advised (Low: none)
	above [2]time.Time // since when the score has been ≥ 5, ≥ 7 (zero: not)
	under [2]time.Time // since when it has been < 5, < 7 (zero: not)
}

// Default watch times.
const (
	DefaultHold  = time.Minute
	DefaultClear = 5 * time.Minute
)

// Change is what Update decides.
type Change int

// Changes.
const (
	NoChange Change = iota
	Raise           // a band reached and held: advise it (and notify)
	Lower           // the score stayed under 7: the advisory steps down to 5, quietly
	Withdraw        // the score stayed under 5: no advisory
)

// Update takes the assessment made at a.At and says what becomes of the
// bed's advisory, and its band.
func (w *Watch) Update(a Assessment) (Change, Band) {
	hold, clr := w.Hold, w.Clear
	if hold <= 0 {
		hold = DefaultHold
	}
	if clr <= 0 {
		clr = DefaultClear
	}
	now := a.At
	since := func(t *time.Time, on bool) time.Duration {
		if !on {
			*t = time.Time{}
			return -1
		}
		if t.IsZero() {
			*t = now
		}
		return now.Sub(*t)
	}
	var held, gone [2]bool
	for i, b := range [2]Band{Medium, High} {
		held[i] = since(&w.above[i], a.Band >= b) >= hold
		gone[i] = since(&w.under[i], a.Band < b) >= clr
	}
	switch {
	case held[1] && w.shown < High:
		w.shown = High
		return Raise, High
	case held[0] && w.shown < Medium:
		w.shown = Medium
		return Raise, Medium
	case w.shown == High && gone[0]:
		w.shown = Low
		return Withdraw, Low
	case w.shown == High && gone[1]:
		w.shown = Medium
		return Lower, Medium
	case w.shown == Medium && gone[0]:
		w.shown = Low
		return Withdraw, Low
	}
	return NoChange, w.shown
}

// Shown is the band currently advised (Low: none).
func (w *Watch) Shown() Band { return w.shown }
