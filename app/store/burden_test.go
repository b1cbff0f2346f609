package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-station/vigil/alarms"
)

// burdenT0 is the start of the scenario's 24 h window.
var burdenT0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// burdenJournal writes a recorded scenario through the Store's real
// writer, one row at a time in the order a station would.
type burdenJournal struct {
	t    *testing.T
	s    *Store
	now  atomic.Int64 // the Store's clock, Unix ms
	wait []<-chan error
}

func newBurdenJournal(t *testing.T) *burdenJournal {
	j := &burdenJournal{t: t}
	j.now.Store(burdenT0.Add(48 * time.Hour).UnixMilli())
	j.s = openTest(t, t.TempDir(), Options{Now: func() time.Time { return time.UnixMilli(j.now.Load()).UTC() }})
	return j
}

// id is the alarm id the engine gives a condition of bed with onset at.
func burdenID(bed, code string, at time.Time) string {
	return fmt.Sprintf("%s.%s.%d", alarms.IDPart(bed), code, at.UnixMilli())
}

func (j *burdenJournal) row(at time.Time, ev, id, bed, who, detail string) {
	j.wait = append(j.wait, j.s.Record(alarms.Record{At: at, Event: ev, AlarmID: id, Bed: bed, Who: who, Where: "st-1",
		Detail: detail}))
}

func (j *burdenJournal) raise(at time.Time, bed, code, text string) string {
	id := burdenID(bed, code, at)
	j.row(at, "raised", id, bed, "", text)
	return id
}

func (j *burdenJournal) ack(at time.Time, id, bed, who string) {
	j.row(at, "acknowledged", id, bed, who, "")
}

func (j *burdenJournal) resolve(at time.Time, id, bed, who, why string) {
	j.row(at, "resolved", id, bed, who, why)
}

func (j *burdenJournal) durable() {
	j.t.Helper()
	for _, c := range j.wait {
		if err := <-c; err != nil {
			j.t.Fatal(err)
		}
	}
	j.wait = nil
}

// burdenScenario is a day of a three-bed ward, with what happens just
// before, at and after the window's edges:
//
//	bed 01  14 x "** SpO2 86 < 90": 10 end by themselves within 10 s (one at exactly
//	        10 s), 4 acknowledged by anna after 45 s; one HR alarm raised before the window
//	bed 02  *** Asystole, latched, acknowledged by ben after 8 s; * NIBP raised to ** and
//	        never acknowledged nor resolved; a device's ** HR alarm acknowledged after 15 s;
//	        ** HR low raised 10 s before the window's end, acknowledged 3 min after it
//	        (190 s); an HR low raised after the window
//	bed 03  *** desaturation escalated twice, acknowledged by dora after 90 s; ECG leads
//	        off for 3 s; * RR high ending by itself after 10.001 s (too late to count)
//	station broker lost (no bed)
func burdenScenario(t *testing.T) *burdenJournal {
	j := newBurdenJournal(t)
	t0 := burdenT0
	s := time.Second

	early := t0.Add(-time.Hour)
	id := j.raise(early, "01", "hr-high", "** HR 130 > 120")
	j.ack(t0.Add(10*time.Minute), id, "01", "anna")
	j.resolve(t0.Add(11*time.Minute), id, "01", "", "condition ended")

	for i := range 14 {
		at := t0.Add(time.Hour + time.Duration(i)*30*time.Minute)
		id := j.raise(at, "01", "spo2-low", "** SpO2 86 < 90")
		switch {
		case i < 9:
			j.resolve(at.Add(5*s), id, "01", "", "condition ended")
		case i == 9:
			j.resolve(at.Add(10*s), id, "01", "", "condition ended")
		default:
			j.row(at.Add(20*s), "audio-paused", id, "01", "anna", "for 2m0s")
			j.ack(at.Add(45*s), id, "01", "anna")
			j.resolve(at.Add(2*time.Minute), id, "01", "", "condition ended")
		}
	}
	j.wait = append(j.wait, j.s.Append(Event{At: t0.Add(90 * time.Minute), Kind: KindLogin, Event: "login", Bed: "01", Who: "anna"}))

	at := t0.Add(2 * time.Hour)
	id = j.raise(at, "02", alarms.CodeAsystole, "*** Asystole")
	j.row(at.Add(4*s), "ended", id, "02", "", "condition ended; latched until acknowledged")
	j.ack(at.Add(8*s), id, "02", "ben")
	j.resolve(at.Add(8*s), id, "02", "ben", "acknowledged after its condition ended")

	at = t0.Add(3 * time.Hour)
	id = j.raise(at, "02", "nibp-sys-high", "* NIBP sys 165 > 160")
	j.row(at.Add(time.Minute), "escalated-priority", id, "02", "", "** NIBP sys 185 > 160")

	at = t0.Add(4 * time.Hour)
	id = j.raise(at, "02", "dev.HR-7", "** HR 150 > 120 (from station st-2)")
	j.ack(at.Add(15*s), id, "02", "anna")
	j.resolve(at.Add(time.Minute), id, "02", "", "condition ended")

	at = t0.Add(24*time.Hour - 10*s)
	id = j.raise(at, "02", "hr-low", "** HR 38 < 40")
	j.ack(t0.Add(24*time.Hour+3*time.Minute), id, "02", "carl")
	j.resolve(t0.Add(24*time.Hour+4*time.Minute), id, "02", "", "condition ended")
	j.raise(t0.Add(25*time.Hour), "02", "hr-low", "** HR 37 < 40")

	at = t0.Add(5 * time.Hour)
	id = j.raise(at, "03", "spo2-desat", "*** SpO2 79 < 80")
	j.row(at.Add(30*s), "escalated", id, "03", "", "to the charge nurse")
	j.row(at.Add(60*s), "escalated", id, "03", "", "to every station")
	j.row(at.Add(70*s), "accepted", id, "03", "dora", "")
	j.ack(at.Add(90*s), id, "03", "dora")
	j.resolve(at.Add(3*time.Minute), id, "03", "", "condition ended")

	at = t0.Add(6 * time.Hour)
	id = j.raise(at, "03", alarms.CodeLeadsOff, "** ECG leads off")
	j.resolve(at.Add(3*s), id, "03", "", "condition ended")

	at = t0.Add(7 * time.Hour)
	id = j.raise(at, "03", "rr-high", "* RR 32 > 30")
	j.resolve(at.Add(10*s+time.Millisecond), id, "03", "", "condition ended")

	at = t0.Add(8 * time.Hour)
	id = j.raise(at, "", alarms.CodeBrokerLost, "*** Station lost the broker: no bed is monitored here")
	j.resolve(at.Add(20*s), id, "", "", "condition ended")

	j.durable()
	return j
}

func burdenFind(t *testing.T, recs []AlarmRecord, code string, raised time.Time) AlarmRecord {
	t.Helper()
	for _, r := range recs {
		if r.Code == code && r.Raised.Equal(raised) {
			return r
		}
	}
	t.Fatalf("no %s alarm raised at %s in the inventory", code, raised)
	return AlarmRecord{}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func TestBurdenInventoryFromJournal(t *testing.T) {
	j := burdenScenario(t)
	ctx := context.Background()
	t0 := burdenT0
	recs, err := j.s.AlarmInventory(ctx, t0, t0.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 22 {
		t.Fatalf("%d alarms in the inventory, want 22 (21 of beds, 1 station-wide)", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Raised.Before(recs[i-1].Raised) {
			t.Fatalf("inventory not oldest first at %d", i)
		}
	}
	for _, r := range recs {
		if r.Raised.Before(t0) || !r.Raised.Before(t0.Add(24*time.Hour)) {
			t.Errorf("alarm raised at %s is outside the window", r.Raised)
		}
	}

	hrLow := burdenFind(t, recs, "hr-low", t0.Add(24*time.Hour-10*time.Second))
	want := AlarmRecord{ID: burdenID("02", "hr-low", hrLow.Raised), Bed: "02", Param: "hr", Code: "hr-low",
		Priority: alarms.Medium, Text: "** HR 38 < 40", Raised: t0.Add(24*time.Hour - 10*time.Second),
		AckedBy: "carl", AckedAt: t0.Add(24*time.Hour + 3*time.Minute), ResolvedAt: t0.Add(24*time.Hour + 4*time.Minute)}
	if d := cmp.Diff(want, hrLow); d != "" {
		t.Errorf("alarm acknowledged after the window (-want +got):\n%s", d)
	}
	if d, ok := hrLow.TimeToAck(); !ok || d != 190*time.Second {
		t.Errorf("time to acknowledge %v %v, want 190 s", d, ok)
	}

	nibp := burdenFind(t, recs, "nibp-sys-high", t0.Add(3*time.Hour))
	if nibp.Priority != alarms.Medium || !nibp.ResolvedAt.IsZero() || !nibp.AckedAt.IsZero() || nibp.AutoResolved ||
		nibp.Param != "nibp-sys" || nibp.Text != "* NIBP sys 165 > 160" {
		t.Errorf("the never-resolved NIBP alarm: %+v", nibp)
	}
	asy := burdenFind(t, recs, alarms.CodeAsystole, t0.Add(2*time.Hour))
	if asy.AckedBy != "ben" || asy.ResolvedBy != "ben" || asy.AutoResolved || asy.Priority != alarms.High {
		t.Errorf("the latched asystole: %+v", asy)
	}
	desat := burdenFind(t, recs, "spo2-desat", t0.Add(5*time.Hour))
	if desat.Escalations != 2 || desat.AckedBy != "dora" || desat.Param != "desat" {
		t.Errorf("the escalated desaturation: %+v", desat)
	}
	dev := burdenFind(t, recs, "dev.HR-7", t0.Add(4*time.Hour))
	if dev.Param != "hr" || dev.AckedBy != "anna" {
		t.Errorf("the device's HR alarm: %+v", dev)
	}
	if r := burdenFind(t, recs, "rr-high", t0.Add(7*time.Hour)); r.AutoResolved {
		t.Error("an alarm ending 10.001 s after it was raised counted as auto-resolved within 10 s")
	}
	if r := burdenFind(t, recs, "spo2-low", t0.Add(time.Hour+9*30*time.Minute)); !r.AutoResolved {
		t.Error("an alarm ending exactly 10 s after it was raised did not count as auto-resolved")
	}
	if r := burdenFind(t, recs, alarms.CodeLeadsOff, t0.Add(6*time.Hour)); !r.AutoResolved || r.Param != alarms.CodeLeadsOff {
		t.Errorf("leads off for 3 s: %+v", r)
	}
	var auto int
	for _, r := range recs {
		if r.AutoResolved {
			auto++
		}
	}
	if auto != 11 { // 10 SpO2 and the leads off; the broker was lost for 20 s
		t.Errorf("%d auto-resolved, want 11", auto)
	}

	bed02, err := j.s.AlarmInventory(ctx, t0, t0.Add(24*time.Hour), "02")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range bed02 {
		codes = append(codes, r.Code)
	}
	if want := []string{"asystole", "nibp-sys-high", "dev.HR-7", "hr-low"}; !slices.Equal(codes, want) {
		t.Errorf("bed 02's inventory %q, want %q", codes, want)
	}
	// A window that starts before the early HR alarm sees it, with its
	// acknowledgement from inside the next window.
	early, err := j.s.AlarmInventory(ctx, t0.Add(-2*time.Hour), t0, "01")
	if err != nil || len(early) != 1 || early[0].AckedBy != "anna" {
		t.Fatalf("the alarm before the window: %+v %v", early, err)
	}
	if d, _ := early[0].TimeToAck(); d != 70*time.Minute {
		t.Fatalf("the alarm before the window waited %v, want 70 min", d)
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBurdenFromJournal(t *testing.T) {
	j := burdenScenario(t)
	t0 := burdenT0
	b, err := j.s.Burden(context.Background(), t0, t0.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if !b.From.Equal(t0) || !b.To.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("window %s – %s, want the day asked for", b.From, b.To)
	}
	w := b.Ward
	if w.Alarms != 21 || b.StationWide != 1 || !approx(w.BedDays, 3) || !approx(w.PerBedDay, 7) {
		t.Errorf("ward: %d alarms, %d station-wide, %.3f bed-days, %.3f per bed-day; want 21, 1, 3, 7",
			w.Alarms, b.StationWide, w.BedDays, w.PerBedDay)
	}
	if w.High != 2 || w.Medium != 18 || w.Low != 1 {
		t.Errorf("priorities H %d M %d L %d, want 2 18 1", w.High, w.Medium, w.Low)
	}
	wantPrio := []PriorityRate{{alarms.High, 2, 2.0 / 3}, {alarms.Medium, 18, 6}, {alarms.Low, 1, 1.0 / 3}}
	if d := cmp.Diff(wantPrio, b.ByPriority, cmp.Comparer(approx)); d != "" {
		t.Errorf("per priority (-want +got):\n%s", d)
	}
	if w.AutoResolved != 11 || !approx(w.AutoShare, 11.0/21) {
		t.Errorf("auto-resolved %d (%.3f), want 11 of 21", w.AutoResolved, w.AutoShare)
	}
	// Acknowledged after 8, 15, 45, 45, 45, 45, 90 and 190 s.
	a := w.Ack
	if a.Acked != 8 || a.NotAcked != 13 || a.Median != 45*time.Second || a.P90 != 190*time.Second || a.Max != 190*time.Second {
		t.Errorf("time to acknowledge: %+v", a)
	}
	var hist []int
	var names []string
	for _, h := range a.Hist {
		hist, names = append(hist, h.Count), append(names, h.Label)
	}
	if want := []int{1, 1, 4, 1, 1, 0, 13}; !slices.Equal(hist, want) {
		t.Errorf("histogram %v %q, want %v", hist, names, want)
	}

	var beds []string
	for _, bb := range b.Beds {
		beds = append(beds, fmt.Sprintf("%s:%d:%.0f:%v", bb.Bed, bb.Alarms, bb.PerBedDay, bb.Noisiest))
	}
	if want := []string{"01:14:14:true", "02:4:4:false", "03:3:3:false"}; !slices.Equal(beds, want) {
		t.Errorf("beds %q, want %q", beds, want)
	}
	if !slices.Equal(b.Noisiest, []string{"01"}) || !approx(b.NoisiestShare, 14.0/21) {
		t.Errorf("noisiest %q with %.3f of the alarms, want bed 01 with 14/21", b.Noisiest, b.NoisiestShare)
	}
	b01, b02 := b.Beds[0], b.Beds[1]
	if b01.AutoResolved != 10 || b01.Ack.Median != 45*time.Second || b01.Medium != 14 {
		t.Errorf("bed 01: %+v", b01.Tally)
	}
	if b02.Ack.Acked != 3 || b02.Ack.Median != 15*time.Second || b02.High != 1 || b02.Medium != 3 || b02.Ack.NotAcked != 1 {
		t.Errorf("bed 02: %+v", b02.Tally)
	}
	if len(b02.ByParam) == 0 || b02.ByParam[0].Param != "hr" || b02.ByParam[0].Alarms != 2 {
		t.Errorf("bed 02 by parameter: %+v", b02.ByParam)
	}

	var params []string
	for _, p := range b.ByParam {
		params = append(params, fmt.Sprintf("%s=%d", p.Param, p.Alarms))
	}
	if want := []string{"spo2=14", "hr=2", "asystole=1", "desat=1", "leads-off=1", "nibp-sys=1", "rr=1"}; !slices.Equal(params, want) {
		t.Errorf("by parameter %q, want %q", params, want)
	}
	if p := b.ByParam[0]; !approx(p.PerBedDay, 14.0/3) || p.Label != "SpO2" || p.AutoResolved != 10 {
		t.Errorf("SpO2 over the ward: %+v", p)
	}

	var sugg []string
	for _, s := range b.Suggestions {
		sugg = append(sugg, s.Kind+" "+s.Bed+" "+s.Param)
	}
	if want := []string{"delay 01 spo2", "limits 01 spo2"}; !slices.Equal(sugg, want) {
		t.Fatalf("suggestions %q, want %q", sugg, want)
	}
	if got := b.Suggestions[0].Text; got != "Consider an alarm delay for SpO2 at bed 01: 10 of 14 SpO2 alarms (71 %) ended by themselves within 10 s." {
		t.Errorf("delay suggestion %q", got)
	}
	if got := b.Suggestions[1].Text; got != "Review the SpO2 limits at bed 01: 14.0 SpO2 alarms per bed-day (14 in the window)." {
		t.Errorf("limits suggestion %q", got)
	}

	one, err := j.s.Burden(context.Background(), t0, t0.Add(24*time.Hour), "03")
	if err != nil {
		t.Fatal(err)
	}
	if one.Ward.Alarms != 3 || !approx(one.Ward.BedDays, 1) || len(one.Beds) != 1 || !one.Beds[0].Noisiest ||
		one.StationWide != 0 || one.Ward.Ack.Median != 90*time.Second {
		t.Errorf("bed 03 alone: %+v", one)
	}
}

// The window is clipped to what the journal can know: not past now, not
// before its first row.
func TestBurdenWindowClipped(t *testing.T) {
	j := burdenScenario(t)
	t0 := burdenT0
	j.now.Store(t0.Add(12 * time.Hour).UnixMilli())
	b, err := j.s.Burden(context.Background(), t0.Add(-48*time.Hour), t0.Add(48*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if !b.From.Equal(t0.Add(-time.Hour)) || !b.To.Equal(t0.Add(12*time.Hour)) {
		t.Fatalf("window %s – %s, want the first row (%s) to now (%s)", b.From, b.To, t0.Add(-time.Hour), t0.Add(12*time.Hour))
	}
	// bed 01: the early HR and 14 SpO2; bed 02: three before noon; bed 03: three.
	if b.Ward.Alarms != 21 || !approx(b.Ward.BedDays, 3*13.0/24) || len(b.Beds) != 3 || b.Beds[0].Alarms != 15 || b.Beds[1].Alarms != 3 {
		t.Fatalf("clipped: %d alarms over %.4f bed-days, beds %+v", b.Ward.Alarms, b.Ward.BedDays, b.Beds)
	}
	if !approx(b.Beds[0].PerBedDay, 15/(13.0/24)) {
		t.Errorf("bed 01: %.3f per bed-day, want %.3f", b.Beds[0].PerBedDay, 15/(13.0/24))
	}
	empty := openTest(t, t.TempDir(), Options{})
	if e, err := empty.Burden(context.Background(), t0, t0.Add(time.Hour), ""); err != nil || e.Ward.Alarms != 0 || e.Ward.BedDays != 0 {
		t.Fatalf("empty journal: %+v %v", e, err)
	}
}

func TestBurdenInventoryCSV(t *testing.T) {
	j := burdenScenario(t)
	t0 := burdenT0
	recs, err := j.s.AlarmInventory(context.Background(), t0, t0.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteInventoryCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 23 || !slices.Equal(rows[0], InventoryHeader) {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	byID := map[string]map[string]string{}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		byID[m["alarm_id"]] = m
	}
	check := func(id string, want map[string]string) {
		t.Helper()
		got, ok := byID[id]
		if !ok {
			t.Fatalf("no row for %s", id)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", id, k, got[k], v)
			}
		}
	}
	check(burdenID("02", "hr-low", t0.Add(24*time.Hour-10*time.Second)), map[string]string{
		"bed": "02", "parameter": "hr", "condition": "hr-low", "priority": "MEDIUM", "text": "** HR 38 < 40",
		"raised": "2026-11-25T07:59:50Z", "acknowledged_by": "carl", "acknowledged_at": "2026-11-25T08:03:00Z",
		"time_to_ack_s": "190", "resolved_at": "2026-11-25T08:04:00Z", "resolved_by": "", "auto_resolved_10s": "false",
		"escalations": "0"})
	check(burdenID("02", "nibp-sys-high", t0.Add(3*time.Hour)), map[string]string{
		"priority": "MEDIUM", "acknowledged_by": "", "acknowledged_at": "", "time_to_ack_s": "", "resolved_at": "",
		"auto_resolved_10s": "false"})
	check(burdenID("01", "spo2-low", t0.Add(time.Hour)), map[string]string{
		"parameter": "spo2", "time_to_ack_s": "", "resolved_at": "2026-11-24T09:00:05Z", "auto_resolved_10s": "true"})
	check(burdenID("03", "spo2-desat", t0.Add(5*time.Hour)), map[string]string{
		"parameter": "desat", "priority": "HIGH", "escalations": "2", "time_to_ack_s": "90", "acknowledged_by": "dora"})
	check(burdenID("02", "dev.HR-7", t0.Add(4*time.Hour)), map[string]string{
		"parameter": "hr", "condition": "dev.HR-7", "text": "** HR 150 > 120 (from station st-2)", "time_to_ack_s": "15"})
	check(burdenID("", alarms.CodeBrokerLost, t0.Add(8*time.Hour)), map[string]string{
		"bed": "", "parameter": "broker-lost", "priority": "HIGH"})

	// Fractions of a second are kept; an empty inventory is a header alone.
	buf.Reset()
	r := AlarmRecord{ID: "x", Raised: t0, AckedAt: t0.Add(12500 * time.Millisecond)}
	if err := WriteInventoryCSV(&buf, []AlarmRecord{r}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ",2026-11-24T08:00:12.5Z,12.5,") {
		t.Errorf("sub-second acknowledgement: %s", buf.String())
	}
	buf.Reset()
	if err := WriteInventoryCSV(&buf, nil); err != nil || strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("empty inventory: %q %v", buf.String(), err)
	}
}

func TestBurdenParamOf(t *testing.T) {
	for _, c := range []struct {
		id, bed, text string
		param, code   string
	}{
		{"05.hr-low.1732400000000", "05", "** HR 38 < 40", "hr", "hr-low"},
		{"05.spo2-high.1732400000000", "05", "* SpO2 100 > 99", "spo2", "spo2-high"},
		{"05.spo2-desat.1732400000000", "05", "*** SpO2 79 < 80", "desat", "spo2-desat"},
		{"05.nibp-sys-high.1", "05", "", "nibp-sys", "nibp-sys-high"},
		{"05.abp-mean-low.1", "05", "", "abp-mean", "abp-mean-low"},
		// A blood pressure's one alarm (alarms.LimitGroups) is its group's.
		{"05.nibp-limit.1", "05", "** NIBP 166/95 (112)  sys > 160", "nibp", "nibp-limit"},
		{"05.abp-limit.1732400000000", "05", "** ABP 84/48 (60)  sys < 90", "abp", "abp-limit"},
		{"ICU.05.nibp-limit.17", "ICU.05", "", "nibp", "nibp-limit"}, // found between dots
		{"W/05.abp-limit.1", "05", "", "abp", "abp-limit"},
		{"05.nibp-limit-high.1", "05", "", "other", "nibp-limit-high"},
		{"05.etco2-high.1", "05", "", "etco2", "etco2-high"},
		{"05.temp-high", "05", "", "temp", "temp-high"}, // no onset
		{"05.asystole.1732400000000", "05", "*** Asystole", "asystole", "asystole"},
		{"05.vfib.1", "05", "", "vfib", "vfib"},
		{"05.nurse-call.1", "05", "** Nurse call", "nurse-call", "nurse-call"},
		{"05.no-data.1", "05", "** NO DATA", "no-data", "no-data"},
		{"05.offline.1", "05", "", "offline", "offline"},
		{"05.probe-off.1", "05", "", "probe-off", "probe-off"},
		{".broker-lost.1732400000000", "", "*** Station lost the broker", "broker-lost", "broker-lost"},
		{".ui-watchdog.1", "", "", "ui-watchdog", "ui-watchdog"},
		{".recordings.1", "", "", "recordings", "recordings"},
		{"Bed_5.leads-off.17", "Bed 5", "", "leads-off", "leads-off"},
		{"ICU.05.rr-low.17", "ICU/05", "", "rr", "rr-low"},
		{"ICU.05.temp-high.17", "ICU.05", "", "temp", "temp-high"},
		{"05.dev.ASY-1.1732400000000", "05", "*** ASYSTOLE", "asystole", "dev.ASY-1"},
		{"05.dev.7.1732400000000", "05", "*** V-Fib", "vfib", "dev.7"},
		{"05.dev.7.1", "05", "*** VT", "vtach", "dev.7"},
		{"05.dev.7.1", "05", "** HR 150 > 120", "hr", "dev.7"},
		{"05.dev.7.1", "05", "** NIBP sys 190 > 160", "nibp-sys", "dev.7"},
		{"05.dev.7.1", "05", "** NIBP 190/95 (120)", "nibp", "dev.7"},
		{"05.dev.7.1", "05", "** ABP mean 40 < 60", "abp-mean", "dev.7"},
		{"05.dev.7.1", "05", "* NIBPX", "device", "dev.7"},
		{"05.dev.7.1", "05", "** SpO2 probe off", "probe-off", "dev.7"},
		{"05.dev.7.1", "05", "** ECG LEAD OFF", "leads-off", "dev.7"},
		{"05.dev.7.1", "05", "* HRV low", "device", "dev.7"}, // "HR" is not a word of it
		{"05.dev.7.1", "05", "* PVC run", "device", "dev.7"},
		{"05.dev.a.b.1", "05", "", "device", "dev.a.b"},
		{"W/05.spo2-low.1", "05", "", "spo2", "spo2-low"}, // not the engine's form: found between dots
		{"x.05.dev.Q.1", "05", "** SpO2 80", "spo2", "dev.Q"},
		{"05.hr-sideways.1", "05", "", "other", "hr-sideways"},
		{"05.zz-low.1", "05", "", "other", "zz-low"},
		{"weird", "05", "", "other", ""},
		{"", "", "", "other", ""},
		{"1732400000000", "", "", "other", ""},
	} {
		p, code := ParamOf(c.id, c.bed, c.text)
		if p != c.param || code != c.code {
			t.Errorf("ParamOf(%q, %q, %q) = %q, %q; want %q, %q", c.id, c.bed, c.text, p, code, c.param, c.code)
		}
	}
	for p, want := range map[string]string{"hr": "HR", "nibp-sys": "NIBP sys", "nibp": "NIBP", "abp": "ABP", "desat": "SpO2 desaturation",
		"leads-off": "ECG leads off", "device": "Device alarm (other)", "other": "Other", "nonsense": "Other"} {
		if got := ParamLabel(p); got != want {
			t.Errorf("ParamLabel(%q) = %q, want %q", p, got, want)
		}
	}
}

// burdenRecs makes n alarms of param at bed in the day from burdenT0, auto
// of them auto-resolved.
func burdenRecs(bed, param string, prio alarms.Priority, n, auto int) []AlarmRecord {
	var out []AlarmRecord
	for i := range n {
		at := burdenT0.Add(time.Duration(i+1) * time.Minute)
		r := AlarmRecord{ID: fmt.Sprintf("%s.%s.%d", bed, param, i), Bed: bed, Param: param, Priority: prio, Raised: at}
		if i < auto {
			r.ResolvedAt, r.AutoResolved = at.Add(3*time.Second), true
		} else {
			r.AckedAt, r.AckedBy = at.Add(time.Duration(i)*time.Minute), "nina"
		}
		out = append(out, r)
	}
	return out
}

// The suggestions' thresholds, at and just below each.
func TestBurdenSuggestionThresholds(t *testing.T) {
	day := func(rs ...[]AlarmRecord) Burden {
		return ComputeBurden(slices.Concat(rs...), burdenT0, burdenT0.Add(24*time.Hour))
	}
	kinds := func(b Burden) []string {
		var out []string
		for _, s := range b.Suggestions {
			out = append(out, s.Kind+" "+s.Bed+" "+s.Param)
		}
		return out
	}
	for _, c := range []struct {
		name string
		b    Burden
		want []string
	}{
		{"delay at the thresholds", day(burdenRecs("01", "hr", alarms.Medium, 10, DelayMinAutoResolved)), []string{"delay 01 hr"}},
		{"share below half", day(burdenRecs("01", "hr", alarms.Medium, 11, 5)), nil},
		{"too few self-ending", day(burdenRecs("01", "hr", alarms.Medium, 4, 4)), nil},
		{"limits at the rate", day(burdenRecs("01", "rr", alarms.Low, 12, 0)), []string{"limits 01 rr"}},
		{"limits below the rate", day(burdenRecs("01", "rr", alarms.Low, 11, 0)), nil},
		{"a blood pressure's one alarm is a limit parameter", day(burdenRecs("01", "nibp", alarms.Medium, 20, 15)),
			[]string{"delay 01 nibp", "limits 01 nibp"}},
		{"abp", day(burdenRecs("01", "abp", alarms.Medium, 12, 0)), []string{"limits 01 abp"}},
		{"old per-member rows still count", day(burdenRecs("01", "nibp-sys", alarms.Medium, 12, 0)), []string{"limits 01 nibp-sys"}},
		{"both", day(burdenRecs("01", "spo2", alarms.Medium, 20, 15)), []string{"delay 01 spo2", "limits 01 spo2"}},
		{"desaturation: never a delay", day(burdenRecs("01", "desat", alarms.High, 20, 20)), []string{"limits 01 desat"}},
		{"lethal: the signal, never a delay", day(burdenRecs("01", "asystole", alarms.High, 30, 30)), []string{"signal 01 asystole"}},
		{"sensor", day(burdenRecs("01", "leads-off", alarms.Medium, 12, 12)), []string{"sensor 01 leads-off"}},
		{"nurse calls are not alarm settings", day(burdenRecs("01", "nurse-call", alarms.Medium, 40, 40)), nil},
		{"strongest first", day(burdenRecs("01", "rr", alarms.Low, 13, 0), burdenRecs("02", "hr", alarms.Low, 30, 0)),
			[]string{"limits 02 hr", "limits 01 rr"}},
	} {
		if got := kinds(c.b); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// A short window: 6 alarms in 6 h is 24 per bed-day, enough.
	short := ComputeBurden(burdenRecs("01", "hr", alarms.Low, 6, 0), burdenT0, burdenT0.Add(6*time.Hour))
	if got := kinds(short); !slices.Equal(got, []string{"limits 01 hr"}) || !approx(short.Ward.PerBedDay, 24) {
		t.Errorf("6 in 6 h: %q at %.1f per bed-day", got, short.Ward.PerBedDay)
	}
	// ... but 5 alarms in 1 h (120 per bed-day) are too few to go on.
	if got := kinds(ComputeBurden(burdenRecs("01", "hr", alarms.Low, 5, 0), burdenT0, burdenT0.Add(time.Hour))); got != nil {
		t.Errorf("5 in 1 h: %q", got)
	}
}

func TestBurdenNoisiestAndEdges(t *testing.T) {
	var recs []AlarmRecord
	for i := range 11 { // bed 00 has 1 alarm ... bed 10 has 11
		recs = append(recs, burdenRecs(fmt.Sprintf("%02d", i), "hr", alarms.Medium, i+1, 0)...)
	}
	b := ComputeBurden(recs, burdenT0, burdenT0.Add(24*time.Hour))
	if !slices.Equal(b.Noisiest, []string{"10", "09"}) || !approx(b.NoisiestShare, 21.0/66) {
		t.Errorf("11 beds: noisiest %q (%.3f), want 10 and 09 (ceil of 10 %%)", b.Noisiest, b.NoisiestShare)
	}
	b = ComputeBurden(recs[10:], burdenT0, burdenT0.Add(24*time.Hour)) // beds 04 ... 10: 7 beds
	if len(b.Noisiest) != 1 || b.Noisiest[0] != "10" || !b.Beds[0].Noisiest || b.Beds[1].Noisiest {
		t.Errorf("7 beds: noisiest %q", b.Noisiest)
	}
	// Records outside the window are ignored; nothing is not a division by zero.
	out := ComputeBurden(burdenRecs("01", "hr", alarms.Medium, 3, 0), burdenT0.Add(time.Hour), burdenT0.Add(2*time.Hour))
	if out.Ward.Alarms != 0 || out.Noisiest != nil || out.Ward.PerBedDay != 0 || out.Ward.Ack.Median != 0 {
		t.Errorf("outside the window: %+v", out)
	}
	none := ComputeBurden(nil, burdenT0, burdenT0)
	if none.Ward.Alarms != 0 || len(none.Ward.Ack.Hist) != 7 || none.Ward.AutoShare != 0 || math.IsNaN(none.NoisiestShare) {
		t.Errorf("nothing: %+v", none)
	}
	// Quantiles are nearest-rank.
	for _, c := range []struct {
		secs        []float64
		median, p90 time.Duration
	}{
		{[]float64{5}, secs(5), secs(5)},
		{[]float64{1, 2}, secs(1), secs(2)},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, secs(5), secs(9)},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, secs(6), secs(10)},
	} {
		var ds []time.Duration
		for _, s := range c.secs {
			ds = append(ds, secs(s))
		}
		if m, p := nearestRank(ds, 0.5), nearestRank(ds, 0.9); m != c.median || p != c.p90 {
			t.Errorf("%v: median %v p90 %v, want %v %v", c.secs, m, p, c.median, c.p90)
		}
	}
}
