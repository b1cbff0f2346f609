package ui

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/feed"
)

// fakeLimits is a limit desk with the adult HR and SpO2 limits.
type fakeLimits struct {
	may   error
	calls []string
	rows  []LimitRow
}

func newFakeLimits() *fakeLimits {
	return &fakeLimits{rows: []LimitRow{
		{Param: "hr", Label: "HR", Code: feed.MDCECGHeartRate, Low: 50, High: 120, Min: 25, Max: 250, Step: 5},
		{Param: "spo2", Label: "SpO2", Code: feed.MDCSpO2, Low: 90, High: math.NaN(), Min: 80, Max: 100, Step: 1},
		{Param: "temp", Label: "Temp", Code: feed.MDCTemp, Low: 36, High: 38.5, Min: 33, Max: 42, Step: 0.1, Decimals: 1},
	}}
}

func (f *fakeLimits) BedLimits(string) []LimitRow { return slices.Clone(f.rows) }
func (f *fakeLimits) MayAdjust(string) error      { return f.may }
func (f *fakeLimits) SetLimit(bed, param string, lo, hi float64) error {
	f.calls = append(f.calls, fmt.Sprintf("%s %s %g %g", bed, param, lo, hi))
	for i := range f.rows {
		if f.rows[i].Param == param {
			f.rows[i].Low, f.rows[i].High = lo, hi
		}
	}
	return nil
}

// The bed's detail: every waveform it sends sweeping at the chosen speed,
// numerics with their limits, − and + within the operator's rights, the
// bed's alarms; a golden image of the view.
func TestBedDetail(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, clk := alarmStation(t, desk)
	st.spawn = func(f func()) { f() }
	lim := newFakeLimits()
	st.SetLimitDesk(lim)
	st.ShowBed("05")
	bed, speed := st.Detail()
	if bed != "05" || speed != 25 {
		t.Fatalf("detail of %q at %v mm/s", bed, speed)
	}
	d := st.detail
	if len(d.strips) != 2 || d.codes[0] != feed.MDCECGLeadII || d.codes[1] != feed.MDCPleth {
		t.Fatalf("strips for %v", d.codes)
	}
	feedFrames(st.hub, clk, 100, 2, st.Tick, false, "05", "06")
	st.update(clk.now())
	for i, s := range d.strips {
		if s.Samples() == 0 {
			t.Fatalf("strip %d drew nothing", i)
		}
	}
	// The tiles wait while the detail reads the bed's rings.
	if n := tileOf(t, st, "06").Strips()[0].Samples(); n == 0 {
		t.Fatal("tile 06 never drew")
	}
	before := tileOf(t, st, "06").Strips()[0].Samples()
	feedFrames(st.hub, clk, 200, 1, st.Tick, false, "06")
	if tileOf(t, st, "06").Strips()[0].Samples() != before {
		t.Fatal("a tile drained its ring while a detail was open")
	}
	if got := d.values["hr"].Text; got != "80" {
		t.Fatalf("HR shows %q", got)
	}
	if got := d.limits["hr"].Text; got != "limits 50 – 120" {
		t.Fatalf("HR limits %q", got)
	}
	if got := d.limits["spo2"].Text; got != "limits 90 – off" {
		t.Fatalf("SpO2 limits %q", got)
	}
	if l := labels(st.Content()); !strings.Contains(l, "Desat SpO2 84 < 85") {
		t.Fatalf("the bed's alarm is not listed: %q", l)
	}
	assertGolden(t, "detail.png", w.Canvas().Capture())

	// Quick adjustment: HR high +5, SpO2 low −1, temperature in tenths.
	test.Tap(button(t, st.Content(), "high +"))
	var lowButtons []*widget.Button
	for _, o := range objects(st.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "low −" {
			lowButtons = append(lowButtons, b)
		}
	}
	test.Tap(lowButtons[1])
	test.Tap(lowButtons[2])
	if want := []string{"05 hr 50 125", "05 spo2 89 NaN", "05 temp 35.9 38.5"}; !slices.Equal(lim.calls, want) {
		t.Fatalf("limit calls %q, want %q", lim.calls, want)
	}
	if got := d.limits["hr"].Text; got != "limits 50 – 125" || !strings.Contains(d.status.Text, "journalled") {
		t.Fatalf("after high +: %q, status %q", got, d.status.Text)
	}
	// At the bound, + stays at the bound.
	lim.rows[0].High = 250
	test.Tap(button(t, st.Content(), "high +"))
	if got := lim.calls[len(lim.calls)-1]; got != "05 hr 50 250" {
		t.Fatalf("at the bound: %q", got)
	}

	// Sweep speed.
	for _, o := range objects(st.Content()) {
		if r, ok := o.(*widget.RadioGroup); ok && slices.Contains(r.Options, "50 mm/s") {
			r.SetSelected("50 mm/s")
		}
	}
	for _, s := range st.detail.strips {
		if s.Speed() != 50 {
			t.Fatalf("strip at %v mm/s after choosing 50", s.Speed())
		}
	}
	st.HandleKey(&fyne.KeyEvent{Name: fyne.Key1})
	if _, sp := st.Detail(); sp != 12.5 {
		t.Fatalf("key 1: %v mm/s", sp)
	}

	// A nurse not assigned to the bed sees the limits, cannot change them.
	lim.may = alarms.ErrNotAllowed
	st.ShowBed("05")
	if b := button(t, st.Content(), "high +"); !b.Disabled() {
		t.Fatal("a nurse without the right can tap high +")
	}
	if l := labels(st.Content()); !strings.Contains(l, "Limits: ") {
		t.Fatalf("no word on why the limits are locked: %q", l)
	}
}

// The detail lists the values of parameters without limits under "Other
// values": by name when Vigil knows it (CVP) or the device named its own
// code (PVC rate), else by code, with the unit as sent (an HL7 monitor's
// index Vigil has no name for); the section is hidden while there are none.
func TestDetailOtherValues(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, clk := alarmStation(t, desk)
	st.spawn = func(f func()) { f() }
	st.ShowBed("05")
	d := st.detail
	feedFrames(st.hub, clk, 100, 2, st.Tick, true, "05")
	st.update(clk.now())
	if d.otherB.Visible() {
		t.Fatalf("other values shown with none: %q", d.other.Text)
	}
	st.hub.Status("05", feed.Status{Device: "hl7-mon", Online: true, Names: map[string]string{"67109000": "PVC rate"}})
	st.hub.Numerics("05", feed.NumFrame{TsMs: clk.now().UnixMilli(), Seq: 900, Values: []feed.Numeric{
		{Code: feed.MDCCVPMean, Value: 8, Valid: true, Unit: "mm[Hg]"},
		{Code: 192999, Value: 42.5, Valid: true, Unit: "MDC_DIM_DIMLESS"},
		{Code: 67109000, Value: 4, Valid: true, Unit: "{events}/min"},
	}})
	clk.t = clk.t.Add(time.Second)
	st.update(clk.now())
	if !d.otherB.Visible() || !strings.Contains(d.other.Text, "CVP") || !strings.Contains(d.other.Text, "MDC 192999") ||
		!strings.Contains(d.other.Text, "42.5 MDC_DIM_DIMLESS") || !strings.Contains(d.other.Text, "PVC rate") {
		t.Fatalf("other values %q (shown %v)", d.other.Text, d.otherB.Visible())
	}
	if strings.Contains(d.other.Text, "HR") || strings.Contains(d.other.Text, "SpO2") {
		t.Fatalf("parameters with limits listed as other: %q", d.other.Text)
	}
	// 20 s on, the device still sends its vitals but no longer the CVP:
	// the CVP shows no value, the vitals stay.
	for range 20 {
		clk.t = clk.t.Add(time.Second)
		numerics(st.hub, "05", clk.now().UnixMilli(), uint32(1000+clk.t.Unix()%1000))
	}
	st.update(clk.now())
	if !strings.Contains(d.other.Text, "--") || strings.Contains(d.other.Text, " 8 mm[Hg]") {
		t.Fatalf("a value the device stopped sending still shown: %q", d.other.Text)
	}
}

// The detail draws a value that is out of range in its alarm's colour, as
// the tile does: bed 05's SpO2 under its desaturation, bed 13's crossed NIBP
// members and none of the others.
func TestDetailColoursOutOfRangeValues(t *testing.T) {
	desk := &fakeDesk{view: manyAlarms(1, time.UnixMilli(t0+4000))}
	st, _, clk := alarmStation(t, desk)
	st.spawn = func(f func()) { f() }
	st.ShowBed("05")
	clk.t = clk.t.Add(time.Second)
	st.update(clk.now())
	if c := st.detail.values["spo2"].Color; c != ColorAlarmHigh {
		t.Errorf("bed 05 SpO2 in %v under a HIGH desaturation", c)
	}
	if c := st.detail.values["hr"].Color; c != ColorECG {
		t.Errorf("bed 05 HR in %v with no HR alarm", c)
	}
	v := manyAlarms(2, clk.t)
	for i := range v.Alarms {
		if v.Alarms[i].Bed == "13" {
			v.Alarms[i].Message = "NIBP 166/88 (112)  sys > 160, mean > 110"
		}
	}
	desk.view = v
	st.ShowBed("13")
	clk.t = clk.t.Add(time.Second)
	st.update(clk.now())
	d := st.detail
	if d.values["nibp-sys"].Color != ColorAlarmMedium || d.values["nibp-mean"].Color != ColorAlarmMedium ||
		d.values["nibp-dia"].Color == ColorAlarmMedium {
		t.Errorf("bed 13 NIBP sys %v dia %v mean %v", d.values["nibp-sys"].Color, d.values["nibp-dia"].Color, d.values["nibp-mean"].Color)
	}
}
