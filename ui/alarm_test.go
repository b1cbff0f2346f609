package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
)

// fakeDesk is an AlarmDesk that records what the station asks of it.
type fakeDesk struct {
	view       *alarms.View
	err        error
	calls      []string
	shown      [][]string
	heartbeats int
	onShown    func(ids []string) // runs inside Shown
}

func (d *fakeDesk) View() *alarms.View { return d.view }

func (d *fakeDesk) call(s string) error {
	d.calls = append(d.calls, s)
	return d.err
}

func (d *fakeDesk) Acknowledge(id string) error     { return d.call("ack " + id) }
func (d *fakeDesk) AcknowledgeAll(bed string) error { return d.call("ack-all " + bed) }
func (d *fakeDesk) PauseAudio() error               { return d.call("pause-audio") }
func (d *fakeDesk) PauseAlarmAudio(id string) error { return d.call("pause-alarm " + id) }
func (d *fakeDesk) Respond(id string, ok bool) error {
	return d.call(fmt.Sprintf("respond %s %v", id, ok))
}
func (d *fakeDesk) Heartbeat() { d.heartbeats++ }

func (d *fakeDesk) Shown(ids []string) {
	if d.onShown != nil {
		d.onShown(ids)
	}
	d.shown = append(d.shown, ids)
}

const (
	idDesat  = "05.spo2-desat.1732399958000"
	idBroker = "..broker-lost.1732399999000"
	idNIBP   = "03.nibp-sys-high.1732399879000"
	idHR     = "07.hr-high.1732399934000"
	idTemp   = "09.temp-high.1732399824000"
)

// alarmView is a station at now with one alarm of every kind the display
// draws: HIGH unacknowledged and escalated on bed 05, a station alarm, an
// acknowledged MEDIUM, a MEDIUM with its own audio pause, a LOW; AUDIO
// PAUSED for 1:54; bed 11 ALARM PAUSED 2:10, bed 12 ALARM OFF.
func alarmView(seq uint64, now time.Time) *alarms.View {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	cond := func(bed, code string, p alarms.Priority, msg string) alarms.Condition {
		return alarms.Condition{Key: bed + "/" + code, Bed: bed, Code: code, Priority: p, Message: msg}
	}
	desat := alarms.Alarm{ID: idDesat, Condition: cond("05", "spo2-desat", alarms.High, "Desat SpO2 84 < 85"),
		Onset: ago(42 * time.Second), Escalation: 1, EscalatedAt: ago(12 * time.Second)}
	broker := alarms.Alarm{ID: idBroker, Condition: cond("", "broker-lost", alarms.High,
		"Station lost the broker: no bed is monitored here"), Onset: ago(5 * time.Second)}
	broker.Source = alarms.Technical
	nibp := alarms.Alarm{ID: idNIBP, Condition: cond("03", "nibp-sys-high", alarms.Medium, "NIBP sys 182 > 160"),
		Onset: ago(125 * time.Second), Acked: true, AckedBy: "nurse"}
	hr := alarms.Alarm{ID: idHR, Condition: cond("07", "hr-high", alarms.Medium, "HR 134 > 120"),
		Onset: ago(70 * time.Second), AudioPaused: now.Add(90 * time.Second)}
	temp := alarms.Alarm{ID: idTemp, Condition: cond("09", "temp-high", alarms.Low, "Temp 38.4 > 38.0"),
		Onset: ago(180 * time.Second)}
	return &alarms.View{
		Seq: seq, At: now, Station: "icu1-a",
		Alarms:   []alarms.Alarm{desat, broker, nibp, hr, temp},
		Sounding: alarms.High, AudioPaused: 114 * time.Second,
		Beds: map[string]alarms.BedView{
			"05": {Priority: alarms.High, Unacked: true, Text: desat.Text(), Count: 1},
			"03": {Priority: alarms.Medium, Text: nibp.Text(), Count: 1},
			"07": {Priority: alarms.Medium, Unacked: true, Text: hr.Text(), Count: 1},
			"09": {Priority: alarms.Low, Unacked: true, Text: temp.Text(), Count: 1},
			"11": {PausedFor: 130 * time.Second},
			"12": {AlarmOff: true},
		},
		Banner: []alarms.Alarm{desat},
	}
}

var patients = []string{"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
	"Donald Knuth", "Frances Allen", "John Backus", "Margaret Hamilton", "Ken Thompson", "Radia Perlman",
	"Tony Hoare", "Leslie Lamport", "Niklaus Wirth", "Shafi Goldwasser", "Dennis Ritchie"}

func bedNames() []string {
	beds := make([]string, 16)
	for i := range beds {
		beds[i] = fmt.Sprintf("%02d", i+1)
	}
	return beds
}

// alarmStation is a 16-bed station at 1920x1080 with desk connected and
// every bed sending 4 s of signals; the clock ends at t0 + 4 s, when the
// view was taken.
func alarmStation(t *testing.T, desk *fakeDesk) (*Station, fyne.Window, *clock) {
	t.Helper()
	st, w, clk, _ := sizedAlarmStation(t, desk, fyne.NewSize(1920, 1080))
	return st, w, clk
}

// patientHub is a hub of 16 beds whose devices are online and name their
// patients.
func patientHub(clk *clock) *monitor.Hub {
	h := newHub(clk, bedNames()...)
	for i, b := range bedNames() {
		h.Status(b, feed.Status{Device: "SIM-" + b, Online: true, Patient: patients[i]})
	}
	return h
}

// sizedAlarmStation is alarmStation in a window of size, with its hub.
func sizedAlarmStation(t *testing.T, desk AlarmDesk, size fyne.Size) (*Station, fyne.Window, *clock, *monitor.Hub) {
	t.Helper()
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	beds := bedNames()
	h := patientHub(clk)
	st := NewStation(h, nil, clk.now)
	st.sendCmd = func(f func()) { f() } // commands answer at once (the worker: TestCommandsNeverWaitOnTheUI)
	st.SetAlarmDesk(desk)
	w := test.NewTempWindow(t, st.Content())
	w.SetPadded(false)
	w.Resize(size)
	feedBeds(h, clk, 4, st.Tick, beds...)
	st.Tick()
	return st, w, clk, h
}

func tileOf(t *testing.T, st *Station, bed string) *Tile {
	t.Helper()
	for _, tl := range st.Tiles() {
		if tl.Bed() != nil && tl.Bed().Name == bed {
			return tl
		}
	}
	t.Fatalf("no tile shows bed %s", bed)
	return nil
}

// abs is o's rectangle on the canvas, moved by the insets (left, top, right,
// bottom; positive shrinks).
func abs(o fyne.CanvasObject, l, tp, r, b int) image.Rectangle {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	s := o.Size()
	return image.Rect(int(p.X)+l, int(p.Y)+tp, int(p.X+s.Width)-r, int(p.Y+s.Height)-b)
}

func rgb8(c color.Color) (r, g, b uint32) {
	r, g, b, _ = c.RGBA()
	return r >> 8, g >> 8, b >> 8
}

func isRed(c color.Color) bool    { r, g, b := rgb8(c); return r > 180 && g < 70 && b < 70 }
func isYellow(c color.Color) bool { r, g, b := rgb8(c); return r > 200 && g > 160 && b < 80 }
func isCyan(c color.Color) bool   { r, g, b := rgb8(c); return r < 60 && g > 150 && b > 180 }

// share is the fraction of the pixels of rect in img that match.
func share(img image.Image, rect image.Rectangle, match func(color.Color) bool) float64 {
	n, hit := 0, 0
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			n++
			if match(img.At(x, y)) {
				hit++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}

// header and left border of a tile, inside the thick border.
func headerRect(tl *Tile) image.Rectangle {
	r := abs(tl, 8, 8, 8, 0)
	r.Max.Y = r.Min.Y + int(tl.head.raster.Size().Height) - 10
	return r
}

func borderRect(tl *Tile) image.Rectangle {
	r := abs(tl, 1, 40, 0, 10)
	r.Max.X = r.Min.X + 3
	return r
}

func TestAlarmDisplay(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, clk := alarmStation(t, desk)
	al := &st.al

	// t0 + 4 s is a whole number of both flash periods: every flash is lit.
	// The bar's order: HIGH before MEDIUM before LOW, unacknowledged before
	// acknowledged, the newest first; two rows at 1080 pixels (three from
	// 1200).
	img := w.Canvas().Capture()
	wantRows := []struct{ msg, age, marks string }{
		{"*** Station lost the broker: no bed is monitored here", "0:05", ""},
		{"*** Bed 05  Desat SpO2 84 < 85", "0:42", "ESCALATED"},
	}
	if al.nRows != 2 {
		t.Fatalf("the bar has %d rows at 1080 pixels", al.nRows)
	}
	for i, want := range wantRows {
		r := al.rows[i]
		if !r.Visible() || r.msg.Text != want.msg || r.age.Text != want.age || r.marks.Text != want.marks {
			t.Errorf("row %d shows %q %q %q (visible %v), want %q %q %q", i, r.msg.Text, r.age.Text, r.marks.Text,
				r.Visible(), want.msg, want.age, want.marks)
		}
	}
	// The escalated alarm is a row of its own place in the order, with
	// Accept and Reject; the line under the rows explains them.
	if r := al.rows[1]; !r.escalated || !r.accept.Visible() || !r.reject.Visible() || r.pause.Visible() {
		t.Errorf("escalated row: accept %v reject %v pause %v", r.accept.Visible(), r.reject.Visible(), r.pause.Visible())
	}
	if !strings.Contains(st.Message(), "Accept = you respond (it is acknowledged)") {
		t.Errorf("the bar's line says %q", st.Message())
	}
	if !al.more.Visible() || al.more.Text != "+ 3 more  incl. ** MEDIUM" || al.more.Importance != widget.WarningImportance {
		t.Errorf("the three alarms beyond the bar are counted as %q (%v)", al.more.Text, al.more.Importance)
	}
	if !al.audioBox.Visible() || al.audioTxt.Text != "AUDIO PAUSED 1:54" {
		t.Errorf("AUDIO PAUSED box visible %v, says %q", al.audioBox.Visible(), al.audioTxt.Text)
	}
	// The tile keeps the patient's name beside the alarm.
	if got, name := tileOf(t, st, "05").alarmText.Text, tileOf(t, st, "05").patientText.Text; got != "*** Desat SpO2 84 < 85" || name != "Barbara Liskov" {
		t.Errorf("tile 05 header says %q beside %q", got, name)
	}
	if got := tileOf(t, st, "01").patientText.Text; got != "Ada Lovelace" {
		t.Errorf("tile 01 (no alarm) header says %q", got)
	}
	if got := tileOf(t, st, "11").badgeText; got.Text != "ALARM PAUSED 2:10" || !got.Visible() {
		t.Errorf("tile 11 badge %q visible %v", got.Text, got.Visible())
	}
	if got := tileOf(t, st, "12").badgeText.Text; got != "ALARM OFF" {
		t.Errorf("tile 12 badge %q", got)
	}

	// Lit: bed 05 red, 07 yellow, 09 cyan; the HIGH row red.
	t05, t07, t09, t03, t01 := tileOf(t, st, "05"), tileOf(t, st, "07"), tileOf(t, st, "09"), tileOf(t, st, "03"), tileOf(t, st, "01")
	row0 := abs(al.rows[1], 24, 2, 0, 2)
	row0.Max.X = row0.Min.X + 380
	check := func(when, what string, rect image.Rectangle, match func(color.Color) bool, atLeast, atMost float64) {
		t.Helper()
		if f := share(img, rect, match); f < atLeast || f > atMost {
			t.Errorf("%s: %s is %.0f %% that colour, want %.0f–%.0f %%", when, what, 100*f, 100*atLeast, 100*atMost)
		}
	}
	check("lit", "bed 05 header", headerRect(t05), isRed, 0.6, 1)
	check("lit", "bed 05 border", borderRect(t05), isRed, 0.95, 1)
	check("lit", "HIGH row", row0, isRed, 0.6, 1)
	check("lit", "bed 07 header", headerRect(t07), isYellow, 0.6, 1)
	check("lit", "bed 09 header", headerRect(t09), isCyan, 0.6, 1)
	check("lit", "bed 01 header", headerRect(t01), isRed, 0, 0)
	check("lit", "bed 01 border", borderRect(t01), isRed, 0, 0)
	assertGolden(t, "station_alarms.png", img)

	// 250 ms on, HIGH is in its dark half, MEDIUM (1 s half period) still
	// lit. The dark half keeps a coloured frame round the tile.
	clk.t = clk.t.Add(250 * time.Millisecond)
	st.Tick()
	img = w.Canvas().Capture()
	check("HIGH dark", "bed 05 header", headerRect(t05), isRed, 0, 0)
	check("HIGH dark", "bed 05 border", borderRect(t05), isRed, 0.6, 1)
	check("HIGH dark", "HIGH row", row0, isRed, 0, 0)
	check("HIGH dark", "bed 07 header", headerRect(t07), isYellow, 0.6, 1)
	check("HIGH dark", "bed 09 header", headerRect(t09), isCyan, 0.6, 1)

	// At t0 + 5 s MEDIUM is dark, HIGH lit again, LOW steady; the clocks
	// moved a second on.
	clk.t = time.UnixMilli(t0 + 5000)
	st.Tick()
	img = w.Canvas().Capture()
	check("MEDIUM dark", "bed 05 header", headerRect(t05), isRed, 0.6, 1)
	check("MEDIUM dark", "bed 07 header", headerRect(t07), isYellow, 0, 0)
	check("MEDIUM dark", "bed 07 border", borderRect(t07), isYellow, 0.6, 1)
	check("MEDIUM dark", "bed 09 header", headerRect(t09), isCyan, 0.6, 1)
	// Acknowledged MEDIUM: steady thin yellow border, dimmed header, never bright.
	check("MEDIUM dark", "bed 03 border", borderRect(t03), isYellow, 0.3, 0.7)
	check("MEDIUM dark", "bed 03 header", headerRect(t03), isYellow, 0, 0)
	if al.audioTxt.Text != "AUDIO PAUSED 1:53" || al.rows[1].age.Text != "0:43" ||
		tileOf(t, st, "11").badgeText.Text != "ALARM PAUSED 2:09" {
		t.Errorf("a second on: box %q, age %q, bed 11 %q", al.audioTxt.Text, al.rows[1].age.Text,
			tileOf(t, st, "11").badgeText.Text)
	}
}

func TestAlarmCommands(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, clk := alarmStation(t, desk)
	al := &st.al
	clk.t = clk.t.Add(time.Second) // the rows have been on screen a second
	press := func(b fyne.Tappable, want ...string) {
		t.Helper()
		desk.calls = nil
		test.Tap(b)
		if !slices.Equal(desk.calls, want) {
			t.Errorf("desk got %q, want %q", desk.calls, want)
		}
	}
	press(al.rows[1].ack, "ack "+idDesat)
	if want := "Acknowledged Bed 05 *** Desat SpO2 84 < 85"; st.Message() != want {
		t.Errorf("after Acknowledge the bar says %q, want %q", st.Message(), want)
	}
	press(al.rows[0].pause, "pause-alarm "+idBroker)
	if !strings.HasPrefix(st.Message(), "Audio paused for station *** Station lost the broker") {
		t.Errorf("after Pause audio the bar says %q", st.Message())
	}
	press(al.rows[1].accept, "respond "+idDesat+" true")
	if !strings.Contains(st.Message(), "Accepted Bed 05") || !strings.Contains(st.Message(), "acknowledged") {
		t.Errorf("after Accept the bar says %q", st.Message())
	}
	press(al.rows[1].reject, "respond "+idDesat+" false")
	press(al.audioAll, "pause-audio")
	if st.Message() != "All alarm audio paused" {
		t.Errorf("after Pause all audio the bar says %q", st.Message())
	}
	// Acknowledge all acknowledges, one by one, the unacknowledged alarms
	// the screen showed.
	press(al.ackAll, "ack "+idDesat, "ack "+idBroker, "ack "+idHR, "ack "+idTemp)
	if !strings.HasPrefix(st.Message(), "Acknowledged 4 alarms:") {
		t.Errorf("after Acknowledge all the bar says %q", st.Message())
	}

	// A refused command is said for a while, then the line goes back.
	desk.err = alarms.ErrNotAllowed
	press(al.rows[1].accept, "respond "+idDesat+" true")
	if !strings.Contains(st.Message(), "not allowed for this role") || al.msg.Color != colorError {
		t.Fatalf("the bar says %q in %v", st.Message(), al.msg.Color)
	}
	clk.t = clk.t.Add(messageShownFor + time.Second)
	st.Tick()
	if strings.Contains(st.Message(), "not allowed") {
		t.Error("the error stays up")
	}
	desk.err = errors.New("the alarm system did not answer")
	press(al.rows[1].ack, "ack "+idDesat)
	if !strings.Contains(st.Message(), "did not answer") {
		t.Errorf("the bar says %q", st.Message())
	}
}

// The first bullet of the usability report: an alarm resolves just as its
// Acknowledge is pressed; the rows move up and the press lands on another
// bed's ASYSTOLE. Now the rows hold still under the pointer, the command
// goes by id, and a gone or just-changed alarm is refused in words.
func TestAlarmBarHoldsStillUnderThePointer(t *testing.T) {
	now := time.UnixMilli(t0 + 4000)
	cond := func(bed, code string, p alarms.Priority, msg string) alarms.Condition {
		return alarms.Condition{Key: bed + "/" + code, Bed: bed, Code: code, Priority: p, Message: msg}
	}
	desat := alarms.Alarm{ID: "05.desat", Condition: cond("05", "spo2-desat", alarms.High, "Desat SpO2 84 < 85"), Onset: now.Add(-2 * time.Second)}
	asys := alarms.Alarm{ID: "14.asys", Condition: cond("14", "asystole", alarms.High, "ASYSTOLE"), Onset: now.Add(-10 * time.Second)}
	hr := alarms.Alarm{ID: "08.hr", Condition: cond("08", "hr-high", alarms.Medium, "HR 150 > 120"), Onset: now.Add(-20 * time.Second)}
	view := func(seq uint64, as ...alarms.Alarm) *alarms.View {
		return &alarms.View{Seq: seq, At: now, Alarms: as, Beds: map[string]alarms.BedView{}}
	}
	desk := &fakeDesk{view: view(1, desat, asys, hr)}
	st, _, clk := alarmStation(t, desk)
	al := &st.al
	if al.rows[0].ID() != "05.desat" || al.rows[1].ID() != "14.asys" {
		t.Fatalf("rows %q %q", al.rows[0].ID(), al.rows[1].ID())
	}
	clk.t = clk.t.Add(2 * time.Second)
	st.Tick()
	// The nurse moves to bed 05's Acknowledge; the desaturation resolves.
	al.rows[0].ack.MouseIn(nil)
	desk.view = view(2, asys, hr)
	clk.t = clk.t.Add(100 * time.Millisecond)
	st.Tick()
	if al.rows[0].ID() != "05.desat" || !al.rows[0].gone || al.rows[1].ID() != "14.asys" {
		t.Fatalf("under the pointer the rows moved: %q (gone %v), %q", al.rows[0].ID(), al.rows[0].gone, al.rows[1].ID())
	}
	desk.calls = nil
	test.Tap(al.rows[0].ack)
	if len(desk.calls) != 0 {
		t.Fatalf("a press on the gone row did %q", desk.calls)
	}
	if !strings.Contains(st.Message(), "Bed 05") || !strings.Contains(st.Message(), "ended") {
		t.Errorf("the refusal says %q", st.Message())
	}
	// A new HIGH arrives while the pointer is still there: it is counted,
	// the rows stay.
	vt := alarms.Alarm{ID: "03.vt", Condition: cond("03", "vtach", alarms.High, "V-TACH"), Onset: clk.t}
	desk.view = view(3, vt, asys, hr)
	clk.t = clk.t.Add(100 * time.Millisecond)
	st.Tick()
	if al.rows[0].ID() != "05.desat" || al.more.Text != "+ 2 more  incl. *** HIGH" || al.more.Importance != widget.DangerImportance {
		t.Errorf("held: row 0 %q, more %q (%v)", al.rows[0].ID(), al.more.Text, al.more.Importance)
	}
	// The pointer leaves; after the grace the new order shows.
	al.rows[0].ack.MouseOut()
	clk.t = clk.t.Add(holdGrace / 2)
	st.Tick()
	if al.rows[0].ID() != "05.desat" {
		t.Errorf("the order changed within the grace")
	}
	clk.t = clk.t.Add(holdGrace)
	st.Tick()
	if al.rows[0].ID() != "03.vt" || al.rows[1].ID() != "14.asys" {
		t.Fatalf("after the grace: %q %q", al.rows[0].ID(), al.rows[1].ID())
	}
	// A press right after a row changed is refused: it was aimed at what
	// was there before.
	desk.calls = nil
	test.Tap(al.rows[0].ack)
	if len(desk.calls) != 0 || !strings.Contains(st.Message(), "just changed") {
		t.Errorf("a press %v after the change did %q and says %q", reactionTime, desk.calls, st.Message())
	}
	clk.t = clk.t.Add(reactionTime)
	test.Tap(al.rows[0].ack)
	if !slices.Equal(desk.calls, []string{"ack 03.vt"}) || st.Message() != "Acknowledged Bed 03 *** V-TACH" {
		t.Errorf("the press on a still row did %q and says %q", desk.calls, st.Message())
	}
	// The pointer resting on the bar holds a new order back at most maxHold.
	al.rows[1].MouseIn(nil)
	desk.view = view(4, hr)
	clk.t = clk.t.Add(time.Second)
	st.Tick()
	if al.rows[0].ID() != "03.vt" || !al.rows[0].gone {
		t.Fatalf("held row 0 %q gone %v", al.rows[0].ID(), al.rows[0].gone)
	}
	clk.t = clk.t.Add(maxHold)
	st.Tick()
	if al.rows[0].ID() != "08.hr" || al.rows[1].Visible() {
		t.Errorf("after maxHold: row 0 %q, row 1 visible %v", al.rows[0].ID(), al.rows[1].Visible())
	}
}

// An alarm that changed between the drawing and the press is refused by
// name: acknowledged by someone else, or its priority changed.
func TestAlarmCommandRefusedWhenChanged(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, clk := alarmStation(t, desk)
	clk.t = clk.t.Add(time.Second)
	// The desk's newest view has bed 05's desaturation acknowledged by
	// anna; the screen still shows the last one drawn.
	v := alarmView(2, clk.t)
	v.Alarms[0].Acked, v.Alarms[0].AckedBy = true, "anna"
	desk.view = v
	desk.calls = nil
	test.Tap(st.al.rows[1].ack)
	if len(desk.calls) != 0 || st.Message() != "Acknowledge not needed: Bed 05 *** Desat SpO2 84 < 85 was already acknowledged by anna" {
		t.Errorf("desk got %q, the bar says %q", desk.calls, st.Message())
	}
}

// The bar is as high with one alarm as with ten: the grid under it never
// moves when alarms come and go, or when audio is paused.
func TestAlarmBarHeightIsFixed(t *testing.T) {
	desk := &fakeDesk{view: &alarms.View{Seq: 1, At: time.UnixMilli(t0 + 4000), Beds: map[string]alarms.BedView{}}}
	st, _, clk := alarmStation(t, desk)
	gridY := func() float32 { return fyne.CurrentApp().Driver().AbsolutePositionForObject(st.grid).Y }
	y0 := gridY()
	if st.Message() != "No alarms" {
		t.Errorf("an empty bar says %q", st.Message())
	}
	for i, v := range []*alarms.View{alarmView(2, clk.t), {Seq: 3, At: clk.t, AudioPaused: time.Minute}, {Seq: 4, At: clk.t}} {
		if v.Beds == nil {
			v.Beds = map[string]alarms.BedView{}
		}
		desk.view = v
		clk.t = clk.t.Add(3 * time.Second)
		st.Tick()
		if y := gridY(); y != y0 {
			t.Errorf("view %d: the grid moved from y %v to %v", i, y0, y)
		}
	}
}

func TestAlarmShownOncePerSeq(t *testing.T) {
	desk := &fakeDesk{}
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	st := NewStation(newHub(clk, bedNames()...), nil, clk.now)
	st.sendCmd = func(f func()) { f() } // commands answer at once (the worker: TestCommandsNeverWaitOnTheUI)
	w := test.NewTempWindow(t, st.Content())
	w.Resize(fyne.NewSize(1920, 1080))
	st.Tick()
	if desk.heartbeats != 0 || st.al.audioBox.Visible() || st.al.rows[0].Visible() {
		t.Fatal("a station without a desk shows alarm parts")
	}

	st.SetAlarmDesk(desk)
	desk.view = alarmView(1, clk.t)
	var drawn string
	desk.onShown = func([]string) { drawn = st.al.rows[0].msg.Text }
	st.Tick()
	if desk.heartbeats != 1 || len(desk.shown) != 1 {
		t.Fatalf("after one frame: %d heartbeats, %d Shown calls", desk.heartbeats, len(desk.shown))
	}
	if drawn != "*** Station lost the broker: no bed is monitored here" {
		t.Errorf("Shown was called before the bar was rebuilt (first row %q)", drawn)
	}
	// Every alarm of the view: two rows, and three under "+ 3 more".
	if want := []string{idDesat, idBroker, idNIBP, idHR, idTemp}; !slices.Equal(desk.shown[0], want) {
		t.Errorf("Shown %q, want %q", desk.shown[0], want)
	}
	for range 5 {
		clk.t = clk.t.Add(33 * time.Millisecond)
		st.Tick()
	}
	// The same Seq in a new snapshot is not news either.
	same := alarmView(1, clk.t)
	desk.view = same
	st.Tick()
	if desk.heartbeats != 7 || len(desk.shown) != 1 {
		t.Fatalf("after 7 frames of one Seq: %d heartbeats, %d Shown calls", desk.heartbeats, len(desk.shown))
	}

	// Seq 2: an alarm of a bed that is not on the grid, beyond the bar's rows.
	v := alarmView(2, clk.t)
	far := alarms.Alarm{ID: "99.hr-low.1", Condition: alarms.Condition{Bed: "99", Code: "hr-low",
		Priority: alarms.Medium, Message: "HR 38 < 40"}, Onset: clk.t.Add(-time.Hour)}
	v.Alarms = slices.Insert(v.Alarms, 4, far)
	v.Beds["99"] = alarms.BedView{Priority: alarms.Medium, Unacked: true, Text: far.Text(), Count: 1}
	desk.view = v
	st.Tick()
	if len(desk.shown) != 2 {
		t.Fatalf("Seq change: %d Shown calls, want 2", len(desk.shown))
	}
	// Bed 99 is neither listed nor on a tile, but counted in "+ 4 more".
	if want := []string{idDesat, idBroker, idNIBP, idHR, "99.hr-low.1", idTemp}; !slices.Equal(desk.shown[1], want) {
		t.Errorf("Shown %q, want %q", desk.shown[1], want)
	}
	if st.al.more.Text != "+ 4 more  incl. ** MEDIUM" || st.al.more.Importance != widget.WarningImportance {
		t.Errorf("more says %q (%v)", st.al.more.Text, st.al.more.Importance)
	}
	st.Tick()
	if len(desk.shown) != 2 || desk.heartbeats != 9 {
		t.Fatalf("%d Shown calls, %d heartbeats", len(desk.shown), desk.heartbeats)
	}

	// Disconnected, the station shows no alarm state and asks nothing.
	st.SetAlarmDesk(nil)
	st.Tick()
	if desk.heartbeats != 9 || st.al.rows[0].Visible() || st.al.audioBox.Visible() || st.al.more.Visible() ||
		tileOf(t, st, "05").Alarm().Priority != alarms.None || tileOf(t, st, "05").borderW != 0 {
		t.Error("alarm state left on screen after the desk was removed")
	}
}

// "+ K more" opens the whole list, in the bar's order, each row with its
// commands.
func TestAllAlarmsList(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, clk := alarmStation(t, desk)
	test.Tap(st.al.more)
	rows := st.AllAlarmRows()
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID())
	}
	if want := []string{idBroker, idDesat, idHR, idNIBP, idTemp}; !slices.Equal(ids, want) {
		t.Fatalf("the whole list is %q, want %q", ids, want)
	}
	clk.t = clk.t.Add(time.Second)
	desk.calls = nil
	test.Tap(rows[4].ack)
	if !slices.Equal(desk.calls, []string{"ack " + idTemp}) {
		t.Errorf("the list's row did %q", desk.calls)
	}
}

func TestAudioOffOnStationBar(t *testing.T) {
	desk := &fakeDesk{}
	v := alarmView(1, time.UnixMilli(t0+4000))
	v.AudioOff, v.AudioPaused, v.Banner = true, 0, nil
	v.Alarms = v.Alarms[1:2] // the station's own alarm only
	v.Beds = map[string]alarms.BedView{"11": v.Beds["11"], "12": v.Beds["12"]}
	desk.view = v
	st, w, _ := alarmStation(t, desk)
	al := &st.al
	if !al.audioBox.Visible() || al.audioTxt.Text != "AUDIO OFF" {
		t.Fatalf("AUDIO OFF visible %v says %q", al.audioBox.Visible(), al.audioTxt.Text)
	}
	if got := al.rows[0].msg.Text; got != "*** Station lost the broker: no bed is monitored here" || al.rows[1].Visible() {
		t.Fatalf("bar shows %q (second row visible %v)", got, al.rows[1].Visible())
	}
	// The box sits on the station bar, clear of the link state and clock.
	box, link := abs(al.audioBox, 0, 0, 0, 0), abs(st.linkText, 0, 0, 0, 0)
	if box.Min.Y > 4 || box.Overlaps(link) || box.Overlaps(abs(st.clock, 0, 0, 0, 0)) {
		t.Fatalf("AUDIO OFF box at %v, link text at %v", box, link)
	}
	img := w.Canvas().Capture()
	if f := share(img, box, isYellow); f < 0.4 {
		t.Fatalf("AUDIO OFF box is only %.0f %% yellow", 100*f)
	}
	top := abs(st.al.panel, 0, 0, 0, 0)
	crop := image.NewRGBA(image.Rect(0, 0, 1920, top.Min.Y))
	for y := range crop.Rect.Dy() {
		for x := range crop.Rect.Dx() {
			crop.Set(x, y, img.At(x, y))
		}
	}
	assertGolden(t, "station_bar_audio_off.png", crop)
}

// A frame whose flash phase does not turn allocates nothing.
func TestAlarmFrameAllocs(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, clk := alarmStation(t, desk)
	clk.t = time.UnixMilli(t0 + 10_000)
	st.Tick()
	allocs := testing.AllocsPerRun(100, func() {
		clk.t = clk.t.Add(time.Millisecond)
		st.Tick()
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per frame", allocs)
	}
	if desk.heartbeats < 100 || len(desk.shown) != 1 {
		t.Fatalf("%d heartbeats, %d Shown calls", desk.heartbeats, len(desk.shown))
	}
}

func TestFlashPhase(t *testing.T) {
	at := func(ms int64) time.Time { return time.UnixMilli(t0 + ms) }
	for _, c := range []struct {
		p   alarms.Priority
		ms  int64
		lit bool
	}{
		{alarms.High, 0, true}, {alarms.High, 249, true}, {alarms.High, 250, false}, {alarms.High, 499, false},
		{alarms.High, 500, true}, {alarms.Medium, 999, true}, {alarms.Medium, 1000, false},
		{alarms.Medium, 1999, false}, {alarms.Low, 250, true}, {alarms.Low, 1500, true},
	} {
		if got := flashLit(at(c.ms), c.p); got != c.lit {
			t.Errorf("%v at +%d ms lit %v, want %v", c.p, c.ms, got, c.lit)
		}
	}
	for d, want := range map[time.Duration]string{0: "0:00", 42 * time.Second: "0:42",
		114 * time.Second: "1:54", 3725 * time.Second: "1:02:05"} {
		if got := clockText(floorSeconds(d)); got != want {
			t.Errorf("%v reads %q, want %q", d, got, want)
		}
	}
	if got := ceilSeconds(113*time.Second + time.Millisecond); got != 114 {
		t.Errorf("countdown 113.001 s reads %d s", got)
	}
}

func TestAlarmRowMarks(t *testing.T) {
	test.NewTempApp(t)
	now := time.UnixMilli(t0)
	r := newAlarmRow(func(bool) {}, func(*alarmRow) {}, func(*alarmRow) {}, func(*alarmRow, bool) {})
	latched := alarms.Alarm{ID: "a", Condition: alarms.Condition{Bed: "02", Priority: alarms.High,
		Message: "Asystole", Latching: true}, Onset: now.Add(-61 * time.Minute), Ended: true, Escalation: 2,
		AcceptedBy: "charge-anna"}
	r.set(&latched, false, now)
	if r.msg.Text != "*** Bed 02  Asystole" || r.age.Text != "1:01:00" || r.marks.Text != "ENDED  ACCEPTED by charge-anna" {
		t.Errorf("latched ended alarm reads %q %q %q", r.msg.Text, r.age.Text, r.marks.Text)
	}
	// Ended but unacknowledged still flashes: it still sounds.
	r.flash(now.Add(250 * time.Millisecond))
	if r.bg.FillColor != colorRow || r.painted != paintDark {
		t.Errorf("ended unacknowledged HIGH at its dark phase: %v", r.bg.FillColor)
	}
	low := alarms.Alarm{ID: "b", Condition: alarms.Condition{Bed: "04", Priority: alarms.Low, Message: "SpO2 probe off"},
		Onset: now, Acked: true}
	r.set(&low, false, now)
	if r.marks.Text != "ACK'D" || r.bg.FillColor != dim(ColorAlarmLow) || r.block.FillColor != ColorAlarmLow {
		t.Errorf("acknowledged LOW: marks %q, ground %v, block %v", r.marks.Text, r.bg.FillColor, r.block.FillColor)
	}
}

func TestTileAlarmHeaderAndBadge(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	h := newHub(clk, "01")
	h.Status("01", feed.Status{Device: "SIM-1", Online: true, Patient: "Ada Lovelace"})
	tile := NewTile(h.Bed("01"))
	w := test.NewTempWindow(t, tile)
	w.Resize(fyne.NewSize(476, 262))
	tile.Update(clk.t)
	tile.SetAlarm(alarms.BedView{Priority: alarms.Medium, Unacked: true, Text: "** HR 134 > 120", Count: 3}, clk.t)
	if got := tile.alarmText.Text; got != "** HR 134 > 120  (+2)" || !tile.alarmText.TextStyle.Bold || tile.patientText.Text == "" {
		t.Errorf("header %q (bold %v) beside %q", got, tile.alarmText.TextStyle.Bold, tile.patientText.Text)
	}
	if tile.head.bg != ColorAlarmMedium || tile.bedText.Color != ColorBlack || tile.borderW != 6 {
		t.Errorf("lit MEDIUM: header %v, ink %v, border %v", tile.head.bg, tile.bedText.Color, tile.borderW)
	}
	tile.SetAlarm(alarms.BedView{Priority: alarms.Medium, Text: "** HR 134 > 120", Count: 1}, clk.t)
	if tile.head.bg != dim(ColorAlarmMedium) || tile.borderW != 2 || tile.bedText.Color != ColorWhite {
		t.Errorf("acknowledged MEDIUM: header %v, border %v", tile.head.bg, tile.borderW)
	}
	tile.SetAlarm(alarms.BedView{PausedFor: 90 * time.Second}, clk.t)
	if tile.patientText.Text != "Ada Lovelace" || tile.alarmText.Text != "" || tile.borderW != 0 || tile.head.bg != tile.hdrBase {
		t.Errorf("no alarm: header %q %v, border %v", tile.patientText.Text, tile.head.bg, tile.borderW)
	}
	if tile.badgeText.Text != "ALARM PAUSED 1:30" || !tile.badgeBG.Visible() {
		t.Errorf("badge %q visible %v", tile.badgeText.Text, tile.badgeBG.Visible())
	}
	clk.t = clk.t.Add(1500 * time.Millisecond)
	tile.Update(clk.t)
	if tile.badgeText.Text != "ALARM PAUSED 1:29" {
		t.Errorf("badge %q 1.5 s on", tile.badgeText.Text)
	}
	// The badge fits the waveform area and its text fits the badge.
	if tw, bw := tile.badgeText.MinSize().Width, tile.badgeBG.Size().Width; tw > bw {
		t.Errorf("badge text %v wide in a badge of %v", tw, bw)
	}
	tile.SetAlarm(alarms.BedView{AlarmOff: true}, clk.t)
	if tile.badgeText.Text != "ALARM OFF" {
		t.Errorf("badge %q", tile.badgeText.Text)
	}
	tile.SetAlarm(alarms.BedView{}, clk.t)
	if tile.badgeText.Text != "" || tile.badgeBG.Visible() {
		t.Errorf("badge %q left (visible %v)", tile.badgeText.Text, tile.badgeBG.Visible())
	}
}

// The alarm keys: P pauses the audio, A acknowledges everything.
func TestAlarmKeys(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, _, _ := alarmStation(t, desk)
	all := "ack " + idDesat + ",ack " + idBroker + ",ack " + idHR + ",ack " + idTemp
	for key, want := range map[fyne.KeyName]string{fyne.KeyP: "pause-audio", fyne.KeyA: all, fyne.KeyZ: ""} {
		desk.calls = nil
		st.TypedKey(&fyne.KeyEvent{Name: key})
		if got := strings.Join(desk.calls, ","); got != want {
			t.Errorf("key %s: desk got %q, want %q", key, got, want)
		}
	}
}

// A station that makes no sound says so on its bar, all the time.
func TestSoundNoteOnStationBar(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	st.SetSoundNote("NO SOUND (--audio off)")
	box := abs(st.al.soundBox, 0, 0, 0, 0)
	if !st.al.soundBox.Visible() || box.Min.Y > 4 || box.Overlaps(abs(st.linkText, 0, 0, 0, 0)) ||
		box.Overlaps(abs(st.al.audioBox, 0, 0, 0, 0)) {
		t.Fatalf("sound note visible %v at %v", st.al.soundBox.Visible(), box)
	}
	if f := share(w.Canvas().Capture(), box, isYellow); f < 0.4 {
		t.Fatalf("the note's box is %.0f %% yellow", 100*f)
	}
	st.SetSoundNote("")
	if st.al.soundBox.Visible() {
		t.Fatal("the note stays")
	}
}
