package store

// Alarm burden: the hospital's alarm inventory (US Joint Commission
// NPSG.06.01.01 asks for one) and the figures an alarm-safety committee
// works from, read back from the journal's alarm trail.
//
// An alarm instance is the journal rows that share its alarm_id:
//
//	raised              alarm_id, bed, detail = "*** SpO2 84 < 90" (the priority prefix, the message)
//	escalated-priority  detail = the text at its new, higher priority
//	escalated           one hop of secondary notification
//	acknowledged        who acknowledged it (the first one counts)
//	ended               a latched alarm's condition is gone; it waits for acknowledgement
//	resolved            gone: who == "" when the system resolved it (its condition ended),
//	                    a person when an acknowledgement resolved a latched alarm
//
// The burden is computed from the inventory by a pure function
// (ComputeBurden), so its rules are tested without a database.

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// AutoResolveWindow is how soon after it was raised an alarm must end by
// itself to count as auto-resolved: a condition delay of about this length
// would have kept it silent (clinical-reference §1: a 10–15 s SpO2 delay
// cut SpO2 alarms by ~60 %).
const AutoResolveWindow = 10 * time.Second

// NoisiestFraction is the share of beds reported as the noisiest: the
// noisiest 10 % of patients produce 57–82 % of all alarms
// (clinical-reference §1), so these are the beds to look at first.
const NoisiestFraction = 0.10

// Thresholds of the suggestions. No standard gives these numbers
// (clinical-reference §1: "no standard number exists"); they are a
// starting point for the ward's alarm committee, which the figures
// themselves let it check and change.
const (
	// DelayMinAutoResolved is the fewest alarms of one parameter at one bed
	// that ended by themselves within AutoResolveWindow before a delay is
	// suggested: one or two blips are not a pattern, and every delay
	// postpones the true alarms too.
	DelayMinAutoResolved = 5
	// DelayMinShare is the share of a (bed, parameter)'s alarms that must
	// have ended by themselves within AutoResolveWindow: at half or more, a
	// delay removes most of that parameter's noise at the bed, not a tail.
	DelayMinShare = 0.5
	// ReviewPerBedDay is the rate of one parameter's alarms at one bed, per
	// bed-day, from which its limits are worth a review: 12 a day is one
	// every two hours around the clock from a single parameter, too often
	// for each to be acted on (one ICU saw ~350 alarms per patient per day,
	// 72–99 % of them false or non-actionable, clinical-reference §1).
	ReviewPerBedDay = 12.0
	// ReviewMinAlarms is the fewest alarms behind a limit review, so that a
	// short window with two alarms does not extrapolate to a high rate.
	ReviewMinAlarms = 6
)

// AlarmRecord is one alarm instance: a row of the alarm inventory.
type AlarmRecord struct {
	ID           string
	Bed          string          // "" for a station-wide alarm (broker lost, display watchdog, journal)
	Param        string          // ParamOf: "hr", "spo2", "nibp", "desat", "asystole", "leads-off", "device", "other" ...
	Code         string          // the condition as the id carries it: "hr-high", "dev.ASY-1"
	Priority     alarms.Priority // the highest it reached (escalated-priority rows raise it)
	Text         string          // as raised: "** HR 134 > 120"
	Raised       time.Time
	AckedBy      string    // the first acknowledgement; "" when none
	AckedAt      time.Time // zero when never acknowledged
	ResolvedAt   time.Time // zero while it is still active (or latched)
	ResolvedBy   string    // "" when the system resolved it
	Escalations  int       // secondary-notification hops
	AutoResolved bool      // resolved by the system within AutoResolveWindow of being raised, never acknowledged
}

// TimeToAck is how long the alarm waited for its first acknowledgement;
// false when it was never acknowledged.
func (r AlarmRecord) TimeToAck() (time.Duration, bool) {
	if r.AckedAt.IsZero() {
		return 0, false
	}
	return r.AckedAt.Sub(r.Raised), true
}

// autoResolved applies the rule of AlarmRecord.AutoResolved.
func autoResolved(r *AlarmRecord) bool {
	return !r.ResolvedAt.IsZero() && r.ResolvedBy == "" && r.AckedAt.IsZero() &&
		r.ResolvedAt.Sub(r.Raised) <= AutoResolveWindow
}

// AlarmInventory returns the alarms raised in [from, to) — of bed, or of
// every bed and the station when bed is "" — oldest first, each with what
// happened to it later, even after to (an acknowledgement an hour later
// still belongs to the alarm). An id raised twice (a merge from another
// station) is one alarm, from its first raise.
func (s *Store) AlarmInventory(ctx context.Context, from, to time.Time, bed string) ([]AlarmRecord, error) {
	sub := "SELECT alarm_id FROM events WHERE kind = ? AND event = 'raised' AND alarm_id != '' AND at_ms >= ? AND at_ms < ?"
	args := []any{KindAlarm, KindAlarm, from.UnixMilli(), to.UnixMilli()}
	if bed != "" {
		sub += " AND bed = ?"
		args = append(args, bed)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at_ms, event, alarm_id, bed, who, detail FROM events
		WHERE kind = ? AND alarm_id != '' AND alarm_id IN (`+sub+`) ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("alarm inventory: %w", err)
	}
	defer rows.Close()
	byID := map[string]*AlarmRecord{}
	var order []*AlarmRecord
	for rows.Next() {
		var atMs int64
		var ev, id, rbed, who, detail string
		if err := rows.Scan(&atMs, &ev, &id, &rbed, &who, &detail); err != nil {
			return nil, fmt.Errorf("alarm inventory: %w", err)
		}
		at := time.UnixMilli(atMs).UTC()
		r := byID[id]
		if r == nil {
			if ev != "raised" {
				continue // a row of an alarm before its raise: not from this journal's view of it
			}
			param, code := ParamOf(id, rbed, detail)
			r = &AlarmRecord{ID: id, Bed: rbed, Param: param, Code: code, Priority: alarms.PriorityOfText(detail),
				Text: detail, Raised: at}
			byID[id] = r
			order = append(order, r)
			continue
		}
		switch ev {
		case "escalated-priority":
			r.Priority = max(r.Priority, alarms.PriorityOfText(detail))
		case "escalated":
			r.Escalations++
		case "acknowledged":
			if r.AckedAt.IsZero() {
				r.AckedAt, r.AckedBy = at, who
			}
		case "resolved":
			if r.ResolvedAt.IsZero() {
				r.ResolvedAt, r.ResolvedBy = at, who
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alarm inventory: %w", err)
	}
	out := make([]AlarmRecord, 0, len(order))
	for _, r := range order {
		// The first raise decides: an id first raised before from is not
		// this window's, even if a second raise row falls inside it.
		if r.Raised.Before(from) || !r.Raised.Before(to) || (bed != "" && r.Bed != bed) {
			continue
		}
		r.AutoResolved = autoResolved(r)
		out = append(out, *r)
	}
	slices.SortStableFunc(out, func(a, b AlarmRecord) int {
		return cmp.Or(a.Raised.Compare(b.Raised), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Burden reads the inventory of [from, to) for bed ("" = the ward) and
// computes its burden. The window is first clipped to what the journal can
// know: it ends no later than now (Options.Now) and starts no earlier than
// the journal's first row, since before that this station monitored
// nothing; Burden.From and To say which window the figures cover.
func (s *Store) Burden(ctx context.Context, from, to time.Time, bed string) (Burden, error) {
	if now := s.opt.Now(); now.Before(to) {
		to = now
	}
	var first *int64
	if err := s.db.QueryRowContext(ctx, "SELECT min(at_ms) FROM events").Scan(&first); err != nil {
		return Burden{}, fmt.Errorf("alarm burden: %w", err)
	}
	if first == nil { // an empty journal
		return ComputeBurden(nil, from, from), nil
	}
	if f := time.UnixMilli(*first).UTC(); f.After(from) {
		from = f
	}
	if !to.After(from) {
		return ComputeBurden(nil, from, from), nil
	}
	recs, err := s.AlarmInventory(ctx, from, to, bed)
	if err != nil {
		return Burden{}, err
	}
	return ComputeBurden(recs, from, to), nil
}

// ParamOf names the parameter or condition an alarm is about, from its id,
// its bed and its raised text. An alarm id is the condition key with '/'
// turned into '.' and the onset in Unix ms appended (alarms.alarmID):
//
//	"05.hr-high.1732400000000"     a limit alarm          -> "hr" (code "hr-high")
//	"05.spo2-desat.1732400000000"  SpO2 desaturation      -> "desat"
//	"05.asystole.1732400000000"    Vigil's own arrhythmia -> "asystole"
//	"05.leads-off.1732400000000"   technical              -> "leads-off"
//	"05.dev.ASY-1.1732400000000"   a device's own alarm   -> from its text: "asystole", "hr", ... or "device"
//	".broker-lost.1732400000000"   station-wide           -> "broker-lost"
//	"05.nibp-limit.1732400000000"  a blood pressure       -> "nibp" (its one alarm, alarms.LimitGroups)
//
// Parameter names are alarms.Params' names (a member's own code, as
// "nibp-sys-high" journalled before the groups, stays the member's
// "nibp-sys") and alarms.LimitGroups' names ("nibp", "abp"); every other
// condition keeps its alarms.Code* name. Anything not recognised is "other".
// code is the condition part of the id ("hr-high", "dev.ASY-1"), "" when
// none is found.
func ParamOf(id, bed, text string) (param, code string) {
	code = conditionCode(id, bed)
	if code == "" {
		return "other", ""
	}
	if dev, ok := strings.CutPrefix(code, "dev."); ok && dev != "" {
		return deviceParam(text), code
	}
	return paramOfCode(code), code
}

// conditionCode is the id without its bed and onset.
func conditionCode(id, bed string) string {
	rest := id
	if i := strings.LastIndexByte(rest, '.'); i >= 0 && allDigits(rest[i+1:]) {
		rest = rest[:i]
	}
	prefix := alarms.IDPart(bed) + "."
	if c, ok := strings.CutPrefix(rest, prefix); ok && c != "" {
		return c
	}
	// The bed does not lead the id (a hand-made or foreign id): look for a
	// known condition between dots, as the trend view does.
	dotted := "." + rest + "."
	if i := strings.Index(dotted, ".dev."); i >= 0 {
		if c := strings.TrimSuffix(dotted[i+1:], "."); c != "dev" {
			return c
		}
	}
	best := ""
	for _, c := range knownCodes() {
		if strings.Contains(dotted, "."+c+".") && len(c) > len(best) {
			best = c
		}
	}
	return best
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// otherCodes are the condition codes that are not limit alarms.
var otherCodes = []string{alarms.CodeAsystole, alarms.CodeVFib, alarms.CodeVTach, alarms.CodeNurseCall,
	alarms.CodeOffline, alarms.CodeNoData, alarms.CodeLeadsOff, alarms.CodeProbeOff, alarms.CodeBrokerLost,
	alarms.CodeJournal, alarms.CodeRecordings, alarms.CodeWatchdog, alarms.CodeAudio}

// codeDesat is the SpO2 desaturation alarm's code (alarms/limits.go).
const codeDesat = "spo2-desat"

func knownCodes() []string {
	out := append([]string{codeDesat}, otherCodes...)
	for _, p := range alarms.Params {
		out = append(out, p.Name+"-low", p.Name+"-high")
	}
	for _, g := range alarms.LimitGroups {
		out = append(out, g.Code)
	}
	return out
}

func paramOfCode(code string) string {
	if code == codeDesat {
		return "desat"
	}
	if slices.Contains(otherCodes, code) {
		return code
	}
	if g, ok := alarms.LimitGroupByCode(code); ok {
		return g.Name // a blood pressure's one alarm: "nibp", "abp"
	}
	// A group member's own code ("nibp-sys-high", journalled before the
	// groups) stays the member's.
	for _, side := range []string{"-low", "-high"} {
		if name, ok := strings.CutSuffix(code, side); ok {
			if _, ok := alarms.ParamByName(name); ok {
				return name
			}
		}
	}
	return "other"
}

// deviceParam reads a bedside device's alarm text: a lethal arrhythmia, a
// sensor off, or a message that starts with a parameter's label ("HR 150 >
// 120"); "device" when none of these.
func deviceParam(text string) string {
	t := strings.TrimSpace(strings.TrimLeft(text, "* "))
	squeezed := strings.ToUpper(strings.NewReplacer("-", "", " ", "", "_", "").Replace(t))
	switch {
	case strings.Contains(squeezed, "ASYSTOLE"):
		return alarms.CodeAsystole
	case strings.Contains(squeezed, "VFIB"), strings.Contains(squeezed, "VENTFIB"), strings.Contains(squeezed, "VFLUT"),
		squeezed == "VF":
		return alarms.CodeVFib
	case strings.Contains(squeezed, "VTACH"), strings.Contains(squeezed, "VENTTACH"), squeezed == "VT":
		return alarms.CodeVTach
	case strings.Contains(squeezed, "LEADOFF"), strings.Contains(squeezed, "LEADSOFF"):
		return alarms.CodeLeadsOff
	case strings.Contains(squeezed, "PROBEOFF"), strings.Contains(squeezed, "SENSOROFF"):
		return alarms.CodeProbeOff
	}
	best, bestLen := "", 0
	starts := func(name, label string) {
		l := label
		if len(t) >= len(l) && strings.EqualFold(t[:len(l)], l) && (len(t) == len(l) || !isLetter(t[len(l)])) &&
			len(l) > bestLen {
			best, bestLen = name, len(l)
		}
	}
	for _, p := range alarms.Params {
		starts(p.Name, p.Label)
	}
	for _, g := range alarms.LimitGroups { // "NIBP 190/95": the reading, not a member
		starts(g.Name, g.Label)
	}
	if best != "" {
		return best
	}
	return "device"
}

// limitGroup finds the parameter group (alarms.LimitGroups) named param.
func limitGroup(param string) (alarms.LimitGroup, bool) {
	for _, g := range alarms.LimitGroups {
		if g.Name == param {
			return g, true
		}
	}
	return alarms.LimitGroup{}, false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// ParamLabel is a parameter or condition name (ParamOf) as a nurse reads
// it: "HR", "SpO2 desaturation", "ECG leads off".
func ParamLabel(param string) string {
	if p, ok := alarms.ParamByName(param); ok {
		return p.Label
	}
	if g, ok := limitGroup(param); ok {
		return g.Label // "NIBP"
	}
	switch param {
	case "desat":
		return "SpO2 desaturation"
	case alarms.CodeAsystole:
		return "Asystole"
	case alarms.CodeVFib:
		return "VF"
	case alarms.CodeVTach:
		return "VT"
	case alarms.CodeNurseCall:
		return "Nurse call"
	case alarms.CodeOffline:
		return "Device offline"
	case alarms.CodeNoData:
		return "NO DATA"
	case alarms.CodeLeadsOff:
		return "ECG leads off"
	case alarms.CodeProbeOff:
		return "SpO2 probe off"
	case alarms.CodeBrokerLost:
		return "Broker lost"
	case alarms.CodeJournal:
		return "Journal"
	case alarms.CodeRecordings:
		return "Recordings"
	case alarms.CodeWatchdog:
		return "Display not responding"
	case alarms.CodeAudio:
		return "Alarm sound"
	case "device":
		return "Device alarm (other)"
	}
	return "Other"
}

// AckBucket is one bar of the time-to-acknowledge histogram.
type AckBucket struct {
	Label string
	Below time.Duration // upper bound, exclusive; 0 for the last two bars (open-ended, never acknowledged)
	Count int
}

type ackBound struct {
	label string
	below time.Duration
}

// ackBounds are the histogram's upper bounds; the bar after them is "5 min
// or more", then "not acknowledged".
var ackBounds = []ackBound{
	{"under 10 s", 10 * time.Second},
	{"10–30 s", 30 * time.Second},
	{"30–60 s", time.Minute},
	{"1–2 min", 2 * time.Minute},
	{"2–5 min", 5 * time.Minute},
}

// AckStats is the time-to-acknowledge distribution of a set of alarms.
// Quantiles are nearest-rank over the acknowledged alarms (a time some
// alarm really waited); zero when none was acknowledged.
type AckStats struct {
	Acked, NotAcked  int
	Median, P90, Max time.Duration
	Hist             []AckBucket // ackBounds' bars, "5 min or more", "not acknowledged"
}

// Tally is the burden of a set of alarms over some bed-days.
type Tally struct {
	Alarms            int
	BedDays           float64
	PerBedDay         float64 // Alarms / BedDays; 0 when BedDays is 0
	High, Medium, Low int     // by priority (an alarm raised without a prefix counts in Alarms only)
	AutoResolved      int     // resolved by the system within AutoResolveWindow, never acknowledged
	AutoShare         float64 // AutoResolved / Alarms
	Ack               AckStats
}

// Rate is n per bed-day of t (0 when t covers no time).
func (t Tally) Rate(n int) float64 {
	if t.BedDays <= 0 {
		return 0
	}
	return float64(n) / t.BedDays
}

// ParamBurden is one parameter's (or condition's) share.
type ParamBurden struct {
	Param string // ParamOf
	Label string // ParamLabel
	Tally
}

// BedBurden is one bed's burden.
type BedBurden struct {
	Bed string
	Tally
	ByParam  []ParamBurden // most alarms first
	Noisiest bool          // among the noisiest NoisiestFraction of the beds
}

// PriorityRate is how many alarms of one priority, and per bed-day.
type PriorityRate struct {
	Priority  alarms.Priority
	Alarms    int
	PerBedDay float64
}

// Suggestion kinds.
const (
	SuggestDelay  = "delay"  // an alarm condition delay for a parameter at a bed
	SuggestLimits = "limits" // a review of a parameter's limits at a bed
	SuggestSignal = "signal" // lethal-arrhythmia alarms that end by themselves: check the ECG signal, never delay
	SuggestSensor = "sensor" // frequent technical alarms: check the sensor and its connection
)

// Suggestion is a change worth the ward's review, with the figures behind
// it. It is advice to people, never applied by itself.
type Suggestion struct {
	Kind         string // Suggest*
	Bed, Param   string
	Alarms       int     // of Param at Bed in the window
	AutoResolved int     // of those, auto-resolved
	PerBedDay    float64 // Alarms per bed-day
	Text         string  // one sentence, as shown
}

// BedDaysRule says in one sentence how Burden counts bed-days, for a
// screen or a report to show beside the figures.
const BedDaysRule = "Bed-days: each bed with an alarm in the window counts the whole window; beds without alarms count none."

// Burden is the alarm burden of a window.
//
// Bed-days: each bed with at least one alarm raised in the window counts
// the whole window (To-From, in days). The journal does not say reliably
// when a bed was monitored (standby, empty beds and device outages are not
// all journalled), so this is the simple, stated rule: a bed occupied only
// part of the window is under-rated, and a bed without any alarm adds no
// bed-days (so the ward rate is per alarming bed). Station-wide alarms (no
// bed: broker lost, display watchdog, journal) are no patient's burden:
// they are counted in StationWide and left out of every other figure.
type Burden struct {
	From, To      time.Time
	Ward          Tally          // every bed's alarms; BedDays is the sum over beds
	Beds          []BedBurden    // noisiest first (alarms per bed-day, then alarms, then bed)
	ByParam       []ParamBurden  // per ward bed-day, most alarms first
	ByPriority    []PriorityRate // high, medium, low
	Noisiest      []string       // the noisiest NoisiestFraction of the beds (at least one when any)
	NoisiestShare float64        // their share of the ward's alarms
	StationWide   int
	Suggestions   []Suggestion // strongest first
}

// ComputeBurden computes the burden of recs raised in [from, to); records
// outside the window are ignored. It is a pure function.
func ComputeBurden(recs []AlarmRecord, from, to time.Time) Burden {
	b := Burden{From: from, To: to}
	days := 0.0
	if to.After(from) {
		days = to.Sub(from).Hours() / 24
	}
	var ward []AlarmRecord
	perBed := map[string][]AlarmRecord{}
	for _, r := range recs {
		if r.Raised.Before(from) || !r.Raised.Before(to) {
			continue
		}
		if r.Bed == "" {
			b.StationWide++
			continue
		}
		ward = append(ward, r)
		perBed[r.Bed] = append(perBed[r.Bed], r)
	}
	wardDays := days * float64(len(perBed))
	b.Ward = tally(ward, wardDays)
	b.ByParam = byParam(ward, wardDays)
	for _, pn := range []struct {
		p alarms.Priority
		n int
	}{{alarms.High, b.Ward.High}, {alarms.Medium, b.Ward.Medium}, {alarms.Low, b.Ward.Low}} {
		b.ByPriority = append(b.ByPriority, PriorityRate{Priority: pn.p, Alarms: pn.n, PerBedDay: b.Ward.Rate(pn.n)})
	}
	for bed, rs := range perBed {
		b.Beds = append(b.Beds, BedBurden{Bed: bed, Tally: tally(rs, days), ByParam: byParam(rs, days)})
	}
	slices.SortFunc(b.Beds, func(x, y BedBurden) int {
		return cmp.Or(cmp.Compare(y.PerBedDay, x.PerBedDay), cmp.Compare(y.Alarms, x.Alarms), cmp.Compare(x.Bed, y.Bed))
	})
	if len(b.Beds) > 0 {
		n := max(1, int(math.Ceil(NoisiestFraction*float64(len(b.Beds))-1e-9)))
		loud := 0
		for i := range n {
			b.Beds[i].Noisiest = true
			b.Noisiest = append(b.Noisiest, b.Beds[i].Bed)
			loud += b.Beds[i].Alarms
		}
		b.NoisiestShare = float64(loud) / float64(b.Ward.Alarms)
	}
	for _, bb := range b.Beds {
		for _, p := range bb.ByParam {
			b.Suggestions = append(b.Suggestions, suggest(bb.Bed, p)...)
		}
	}
	kindOrder := map[string]int{SuggestSignal: 0, SuggestDelay: 1, SuggestLimits: 2, SuggestSensor: 3}
	slices.SortStableFunc(b.Suggestions, func(x, y Suggestion) int {
		return cmp.Or(cmp.Compare(y.PerBedDay, x.PerBedDay), cmp.Compare(x.Bed, y.Bed), cmp.Compare(x.Param, y.Param),
			cmp.Compare(kindOrder[x.Kind], kindOrder[y.Kind]))
	})
	return b
}

func tally(rs []AlarmRecord, bedDays float64) Tally {
	t := Tally{Alarms: len(rs), BedDays: bedDays}
	t.PerBedDay = t.Rate(t.Alarms)
	var acks []time.Duration
	t.Ack.Hist = make([]AckBucket, 0, len(ackBounds)+2)
	for _, b := range ackBounds {
		t.Ack.Hist = append(t.Ack.Hist, AckBucket{Label: b.label, Below: b.below})
	}
	t.Ack.Hist = append(t.Ack.Hist, AckBucket{Label: "5 min or more"}, AckBucket{Label: "not acknowledged"})
	for _, r := range rs {
		switch r.Priority {
		case alarms.High:
			t.High++
		case alarms.Medium:
			t.Medium++
		case alarms.Low:
			t.Low++
		}
		if r.AutoResolved {
			t.AutoResolved++
		}
		d, ok := r.TimeToAck()
		if !ok {
			t.Ack.NotAcked++
			t.Ack.Hist[len(t.Ack.Hist)-1].Count++
			continue
		}
		d = max(d, 0) // a clock stepped back between raise and acknowledgement
		acks = append(acks, d)
		i := slices.IndexFunc(ackBounds, func(b ackBound) bool { return d < b.below })
		if i < 0 {
			i = len(ackBounds)
		}
		t.Ack.Hist[i].Count++
	}
	if t.Alarms > 0 {
		t.AutoShare = float64(t.AutoResolved) / float64(t.Alarms)
	}
	t.Ack.Acked = len(acks)
	if len(acks) > 0 {
		slices.Sort(acks)
		t.Ack.Median, t.Ack.P90, t.Ack.Max = nearestRank(acks, 0.5), nearestRank(acks, 0.9), acks[len(acks)-1]
	}
	return t
}

// nearestRank is the q-quantile of sorted ds: the value at rank ⌈q·n⌉.
func nearestRank(ds []time.Duration, q float64) time.Duration {
	k := int(math.Ceil(q*float64(len(ds))-1e-9)) - 1
	return ds[min(max(k, 0), len(ds)-1)]
}

func byParam(rs []AlarmRecord, bedDays float64) []ParamBurden {
	groups := map[string][]AlarmRecord{}
	for _, r := range rs {
		groups[r.Param] = append(groups[r.Param], r)
	}
	out := make([]ParamBurden, 0, len(groups))
	for p, g := range groups {
		out = append(out, ParamBurden{Param: p, Label: ParamLabel(p), Tally: tally(g, bedDays)})
	}
	slices.SortFunc(out, func(x, y ParamBurden) int {
		return cmp.Or(cmp.Compare(y.Alarms, x.Alarms), cmp.Compare(x.Param, y.Param))
	})
	return out
}

func isLethal(param string) bool {
	return param == alarms.CodeAsystole || param == alarms.CodeVFib || param == alarms.CodeVTach
}

// suggest is what the thresholds say about one parameter at one bed.
func suggest(bed string, p ParamBurden) []Suggestion {
	_, limitParam := alarms.ParamByName(p.Param)
	if _, group := limitGroup(p.Param); group {
		limitParam = true // a blood pressure's one alarm: its delay and limits are the members'
	}
	base := Suggestion{Bed: bed, Param: p.Param, Alarms: p.Alarms, AutoResolved: p.AutoResolved, PerBedDay: p.PerBedDay}
	var out []Suggestion
	selfEnding := p.AutoResolved >= DelayMinAutoResolved && p.AutoShare >= DelayMinShare
	often := p.Alarms >= ReviewMinAlarms && p.PerBedDay >= ReviewPerBedDay
	ended := fmt.Sprintf("%d of %d %s alarms (%.0f %%) ended by themselves within %s", p.AutoResolved, p.Alarms, p.Label,
		100*p.AutoShare, fmtSeconds(AutoResolveWindow))
	rate := fmt.Sprintf("%.1f %s alarms per bed-day (%d in the window)", p.PerBedDay, p.Label, p.Alarms)
	switch {
	case limitParam:
		if selfEnding {
			s := base
			s.Kind, s.Text = SuggestDelay, fmt.Sprintf("Consider an alarm delay for %s at bed %s: %s.", p.Label, bed, ended)
			out = append(out, s)
		}
		if often {
			s := base
			s.Kind, s.Text = SuggestLimits, fmt.Sprintf("Review the %s limits at bed %s: %s.", p.Label, bed, rate)
			out = append(out, s)
		}
	case p.Param == "desat": // HIGH and without delay by design: only its limit is open to review
		if often {
			s := base
			s.Kind, s.Text = SuggestLimits, fmt.Sprintf("Review the SpO2 desaturation limit at bed %s: %s.", bed, rate)
			out = append(out, s)
		}
	case isLethal(p.Param):
		if selfEnding {
			s := base
			s.Kind, s.Text = SuggestSignal, fmt.Sprintf("Check the ECG signal at bed %s (electrodes, lead choice): %s, "+
				"as artefact does. Never delay a lethal-arrhythmia alarm.", bed, ended)
			out = append(out, s)
		}
	case p.Param == alarms.CodeLeadsOff || p.Param == alarms.CodeProbeOff || p.Param == alarms.CodeNoData ||
		p.Param == alarms.CodeOffline:
		if often {
			s := base
			s.Kind, s.Text = SuggestSensor, fmt.Sprintf("Check the sensor and its connection at bed %s: %s.", bed, rate)
			out = append(out, s)
		}
	}
	return out
}

func fmtSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s" }

// InventoryHeader is the alarm inventory's CSV header.
var InventoryHeader = []string{"alarm_id", "bed", "parameter", "condition", "priority", "text", "raised",
	"acknowledged_by", "acknowledged_at", "time_to_ack_s", "resolved_at", "resolved_by", "auto_resolved_10s", "escalations"}

// WriteInventoryCSV writes the inventory: the header, then one row per
// alarm. Times are RFC 3339 in UTC (to the millisecond the journal keeps);
// time_to_ack_s and the times of what has not happened are empty.
func WriteInventoryCSV(w io.Writer, recs []AlarmRecord) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(InventoryHeader); err != nil {
		return err
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for _, r := range recs {
		ack := ""
		if d, ok := r.TimeToAck(); ok {
			ack = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		}
		prio := ""
		if r.Priority != alarms.None {
			prio = strings.ToUpper(r.Priority.String())
		}
		if err := cw.Write([]string{r.ID, r.Bed, r.Param, r.Code, prio, r.Text, ts(r.Raised), r.AckedBy, ts(r.AckedAt), ack,
			ts(r.ResolvedAt), r.ResolvedBy, strconv.FormatBool(r.AutoResolved), strconv.Itoa(r.Escalations)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
