package sim

import "math"

// episodeKind is one kind of scripted event.
type episodeKind int8

const (
	ectopy        episodeKind = iota // frequent PVCs, then ventricular bigeminy
	leadsOff                         // ECG electrodes off
	desaturation                     // SpO2 falls to ~84 % and recovers
	deviceOffline                    // the monitor drops off the network
	tachycardia                      // sinus rate rises to ~150/min and returns
	bradycardia                      // sinus rate ~35/min (scenario only)
	asystole                         // no beats at all (scenario only)
	nurseCall                        // the patient calls (scenario only)
)

// episode is one entry of the event script: it runs every cycle from start
// for length seconds of the cycle.
type episode struct {
	kind   episodeKind
	bed    int     // bed index in a 16-bed ward
	start  float64 // s into the cycle
	length float64 // s
}

// cycleSeconds is the period of the event script.
const cycleSeconds = 300

// script is the event cycle; offsets are spread so that a demo shows one
// thing at a time.
var script = [...]episode{
	{ectopy, 2, 0, 90},           // PVCs ~12 % of beats for 60 s, then bigeminy for 30 s
	{leadsOff, 10, 100, 6},       // ECG invalid, status leads-off, HR invalid
	{desaturation, 4, 120, 90},   // fall 30 s, hold 30 s, recover 30 s
	{deviceOffline, 13, 150, 20}, // connection closed, nothing published
	{tachycardia, 7, 220, 30},    // rise 5 s, ~150/min for 20 s, return 5 s
}

const (
	pvcShare     = 0.12 // share of sinus beats replaced by a PVC in the "pvc" phase
	pvcPhase     = 60   // s of frequent PVCs before bigeminy
	desatNadir   = 84   // % SpO2 at the bottom of a desaturation
	tachyRate    = 150  // /min at the top of a tachycardia run
	desatHRRise  = 8    // /min: compensatory rise of the heart rate at the nadir
	desatRRRise  = 6    // /min: and of the respiratory rate
	tachyRRRise  = 3    // /min
	perfusionDip = 0.3  // share of pleth amplitude lost at the nadir
)

// assignEpisodes maps the script onto a ward of n beds: each episode goes to
// its bed index modulo n, moved to the next bed without an episode when that
// one is taken. Only a ward of fewer beds than episodes doubles up.
func assignEpisodes(n int) [][]episode {
	out := make([][]episode, n)
	for _, e := range script {
		b := e.bed % n
		for k := range n {
			if c := (e.bed + k) % n; len(out[c]) == 0 {
				b = c
				break
			}
		}
		out[b] = append(out[b], e)
	}
	return out
}

// within returns how far (s) the bed is into an episode of kind k at t.
func (b *bed) within(k episodeKind, t float64) (float64, bool) {
	if b.sc != nil {
		return b.scenarioWithin(k, t)
	}
	if len(b.episodes) == 0 || t < b.w.eventsAfter {
		return 0, false
	}
	c := math.Mod(t-b.w.eventsAfter, cycleSeconds)
	for _, e := range b.episodes {
		if e.kind == k && c >= e.start && c < e.start+e.length {
			return c - e.start, true
		}
	}
	return 0, false
}

// level is the strength of an episode at t, 0..1, with smooth onset and
// offset for the physiological ones of the script; a scenario's condition is
// full strength from its onset to its end.
func (b *bed) level(k episodeKind, t float64) float64 {
	s, ok := b.within(k, t)
	switch {
	case !ok:
		return 0
	case b.sc != nil:
		return 1
	case k == desaturation:
		return plateau(s, 30, 60, 90)
	case k == tachycardia:
		return plateau(s, 5, 25, 30)
	}
	return 1
}

// plateau rises smoothly over [0, up), holds until hold, falls until end.
func plateau(s, up, hold, end float64) float64 {
	switch {
	case s < up:
		return smoothstep(s / up)
	case s < hold:
		return 1
	}
	return smoothstep((end - s) / (end - hold))
}

func smoothstep(x float64) float64 {
	x = min(max(x, 0), 1)
	return x * x * (3 - 2*x)
}

// ectopyAt is the ventricular ectopy scheduled at t.
func (b *bed) ectopyAt(t float64) (frequent, bigeminy bool) {
	s, ok := b.within(ectopy, t)
	return ok && s < pvcPhase, ok && s >= pvcPhase
}

func (b *bed) leadsOff(t float64) bool { _, ok := b.within(leadsOff, t); return ok }
func (b *bed) offline(t float64) bool  { _, ok := b.within(deviceOffline, t); return ok }

// activeEvents names the episodes running at t; a scenario bed names its
// scenario while the condition holds.
func (b *bed) activeEvents(t float64) []string {
	if b.sc != nil {
		if _, ok := b.w.scen.clock.phase(us(t)); ok {
			return []string{b.w.scen.spec.Name}
		}
		return nil
	}
	var names []string
	if f, g := b.ectopyAt(t); f {
		names = append(names, "pvc")
	} else if g {
		names = append(names, "bigeminy")
	}
	for _, n := range [...]struct {
		k    episodeKind
		name string
	}{{desaturation, "desat"}, {tachycardia, "tachy"}, {leadsOff, "leads-off"}, {deviceOffline, "offline"}} {
		if _, ok := b.within(n.k, t); ok {
			names = append(names, n.name)
		}
	}
	return names
}
