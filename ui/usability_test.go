package ui

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
)

// ward is a 16-bed station on the real alarm system (alarms.Service), the
// beds' monitors sending numerics every second, driven in virtual time: the
// usability suite's bench.
type ward struct {
	t    *testing.T
	st   *Station
	w    fyne.Window
	clk  *clock
	hub  *monitor.Hub
	svc  *alarms.Service
	sess *fakeSession
	seq  uint32
	hr   map[string]float64
	spo2 map[string]float64
}

// steppedDesk is the real alarm system driven without its goroutine: a
// command waits for its answer while the test's goroutine steps the
// service (what Run does in the station).
type steppedDesk struct{ *alarms.Service }

func (d steppedDesk) wait(cmd func() error) error {
	done := make(chan error, 1)
	go func() { done <- cmd() }()
	for {
		select {
		case err := <-done:
			return err
		default:
			d.Step()
			time.Sleep(time.Millisecond)
		}
	}
}

func (d steppedDesk) Acknowledge(id string) error {
	return d.wait(func() error { return d.Service.Acknowledge(id) })
}
func (d steppedDesk) AcknowledgeAll(bed string) error {
	return d.wait(func() error { return d.Service.AcknowledgeAll(bed) })
}
func (d steppedDesk) PauseAudio() error { return d.wait(d.Service.PauseAudio) }
func (d steppedDesk) PauseAlarmAudio(id string) error {
	return d.wait(func() error { return d.Service.PauseAlarmAudio(id) })
}
func (d steppedDesk) Respond(id string, accept bool) error {
	return d.wait(func() error { return d.Service.Respond(id, accept) })
}

func newWard(t *testing.T, size fyne.Size) *ward {
	t.Helper()
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	beds := bedNames()
	h := patientHub(clk)
	svc := alarms.NewService(alarms.Config{Station: "st-1", Hub: h, Clock: clk.now, Display: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h.SetObserver(svc)
	st := NewStation(h, nil, clk.now)
	st.sendCmd = func(f func()) { f() } // commands answer at once (the worker: TestCommandsNeverWaitOnTheUI)
	st.SetAlarmDesk(steppedDesk{svc})
	w := test.NewTempWindow(t, st.Content())
	w.SetPadded(false)
	w.Resize(size)
	wd := &ward{t: t, st: st, w: w, clk: clk, hub: h, svc: svc, hr: map[string]float64{}, spo2: map[string]float64{}}
	wd.sess = &fakeSession{}
	wd.sess.onLogin = func() { svc.SetOperator(wd.sess.op) }
	st.SetSession(wd.sess, w)
	for _, b := range beds {
		wd.hr[b], wd.spo2[b] = 80, 97
	}
	wd.run(2 * time.Second)
	return wd
}

// run lets d pass: numerics every second from every bed, the alarm system
// and the window every 100 ms.
func (wd *ward) run(d time.Duration) {
	end := wd.clk.t.Add(d)
	for wd.clk.t.Before(end) {
		if wd.clk.t.UnixMilli()%1000 == 0 {
			wd.seq++
			for b := range wd.hr {
				wd.hub.Numerics(b, feed.NumFrame{TsMs: wd.clk.t.UnixMilli(), Seq: wd.seq, Values: []feed.Numeric{
					{Code: feed.MDCECGHeartRate, Value: wd.hr[b], Valid: true},
					{Code: feed.MDCSpO2, Value: wd.spo2[b], Valid: true},
					{Code: feed.MDCRespRate, Value: 16, Valid: true},
				}})
			}
		}
		wd.svc.Step()
		wd.st.Tick()
		wd.clk.t = wd.clk.t.Add(100 * time.Millisecond)
	}
	wd.svc.Step()
	wd.st.Tick()
}

func (wd *ward) rowOf(bed string) *alarmRow {
	for _, r := range wd.st.al.rows[:wd.st.al.nRows] {
		if r.Visible() && r.shown.Bed == bed {
			return r
		}
	}
	return nil
}

func (wd *ward) alarm(bed, code string) (alarms.Alarm, bool) {
	for _, a := range wd.svc.View().Alarms {
		if a.Bed == bed && a.Code == code {
			return a, true
		}
	}
	return alarms.Alarm{}, false
}

// The nurse's, the charge nurse's main tasks on the real alarm system at
// 1280×800, with the report's cases as they happen: an alarm ending under
// the pointer while a new one comes, the locked station's key, the
// escalation taken by the charge nurse.
func TestUsabilityNurseAndChargeNurse(t *testing.T) {
	wd := newWard(t, fyne.NewSize(1280, 800))
	st := wd.st
	y0 := wd.gridY()
	wd.sess.op = alarms.Actor{Who: "nina", Role: alarms.Nurse, Where: "st-1"}
	wd.svc.SetOperator(wd.sess.op)

	// Bed 05 desaturates: a HIGH alarm, first in the bar, the tile's SpO2
	// in red, the patient's name kept.
	wd.spo2["05"] = 80
	wd.run(3 * time.Second)
	r := wd.rowOf("05")
	if r == nil || r != st.al.rows[0] || r.shown.Priority != alarms.High {
		t.Fatalf("bed 05's desaturation is not first in the bar (%v)", r)
	}
	tl := tileOf(t, st, "05")
	if tl.spo2Value.Color != ColorAlarmHigh || tl.patientText.Text == "" || !strings.Contains(tl.alarmText.Text, "Desat") {
		t.Fatalf("tile 05: SpO2 in %v, name %q, alarm %q", tl.spo2Value.Color, tl.patientText.Text, tl.alarmText.Text)
	}

	// Bed 14's HR goes to 150 (the HR limit waits 5 s). The nurse moves to
	// bed 05's Acknowledge; its SpO2 comes back and the alarm ends by
	// itself, and bed 14's is raised, while the pointer is there.
	wd.hr["14"] = 150
	wd.run(4500 * time.Millisecond)
	if _, ok := wd.alarm("14", "hr-high"); ok {
		t.Fatal("bed 14's HR alarm came before its delay")
	}
	r.ack.MouseIn(nil)
	wd.spo2["05"] = 97
	wd.run(2 * time.Second)
	if _, ok := wd.alarm("14", "hr-high"); !ok {
		t.Fatal("bed 14's HR 150 raised nothing")
	}
	if st.al.rows[0].shown.Bed != "05" {
		t.Fatalf("the rows moved under the pointer: row 0 is bed %s", st.al.rows[0].shown.Bed)
	}
	test.Tap(st.al.rows[0].ack)
	if a, _ := wd.alarm("14", "hr-high"); a.Acked {
		t.Fatal("the press on bed 05's row acknowledged bed 14")
	}
	if !strings.Contains(st.Message(), "Bed 05") {
		t.Errorf("the refusal says %q", st.Message())
	}
	// The pointer leaves; the bar shows the new order; a press on bed 14's
	// row acknowledges bed 14 and says so.
	st.al.rows[0].ack.MouseOut()
	wd.run(holdGrace + reactionTime/2)
	r = wd.rowOf("14")
	if r == nil {
		t.Fatal("bed 14's alarm is not in the bar after the grace")
	}
	// Pressed right as it moved into the row: refused, said.
	test.Tap(r.ack)
	if a, _ := wd.alarm("14", "hr-high"); a.Acked || !strings.Contains(st.Message(), "just changed") {
		t.Fatalf("a press as the row changed: acknowledged %v, the bar says %q", a.Acked, st.Message())
	}
	wd.run(time.Second)
	r = wd.rowOf("14")
	if r == nil {
		t.Fatal("bed 14's alarm is not in the bar")
	}
	test.Tap(r.ack)
	wd.run(200 * time.Millisecond)
	if a, _ := wd.alarm("14", "hr-high"); !a.Acked || a.AckedBy != "nina" {
		t.Fatalf("bed 14 after its Acknowledge: %+v", a)
	}
	if !strings.HasPrefix(st.Message(), "Acknowledged Bed 14 ** HR") {
		t.Errorf("the bar says %q", st.Message())
	}

	// P pauses the audio: the station bar says AUDIO PAUSED with its time.
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyP})
	wd.run(time.Second)
	if !st.al.audioBox.Visible() || !strings.HasPrefix(st.al.audioTxt.Text, "AUDIO PAUSED 1:5") {
		t.Fatalf("after P: %q (visible %v)", st.al.audioTxt.Text, st.al.audioBox.Visible())
	}

	// The nurse locks the station and leaves. Bed 03 desaturates; nobody
	// answers; after 30 s it escalates to the charge nurse. The locked
	// station still shows it, with Accept.
	wd.sess.Lock("locked by hand")
	wd.svc.SetOperator(alarms.Actor{})
	wd.spo2["03"] = 79
	wd.run(33 * time.Second)
	r = wd.rowOf("03")
	if r == nil || !r.escalated || !r.accept.Visible() {
		t.Fatalf("bed 03's escalated alarm on the locked station: %v", r)
	}
	// The charge nurse presses Accept: the login comes first, then the
	// Accept, which also acknowledges.
	test.Tap(r.accept)
	dlg := wd.w.Canvas().Overlays().Top()
	if dlg == nil {
		t.Fatal("Accept on a locked station asked for no login")
	}
	test.Tap(button(t, dlg, "Carl C.\ncharge nurse"))
	enter(st.LoginSecret(), "222222")
	wd.run(200 * time.Millisecond)
	a, _ := wd.alarm("03", "spo2-desat")
	if a.AcceptedBy != "carl" || !a.Acked {
		t.Fatalf("bed 03 after Accept: accepted by %q, acknowledged %v", a.AcceptedBy, a.Acked)
	}
	if !strings.HasPrefix(st.Message(), "Accepted Bed 03") {
		t.Errorf("the bar says %q", st.Message())
	}
	// Locked again, A on the ward: the login opens, the key's character
	// stays out of the PIN, and after the login only what was on screen
	// when A was pressed is acknowledged, not bed 09's alarm raised while
	// the login was typed.
	wd.sess.Lock("locked by hand")
	wd.svc.SetOperator(alarms.Actor{})
	wd.hr["07"] = 150
	wd.run(7 * time.Second)
	if _, ok := wd.alarm("07", "hr-high"); !ok {
		t.Fatal("bed 07's HR raised nothing")
	}
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyA})
	pin := st.sess.secret
	if pin == nil {
		t.Fatal("A on the locked station opened no login")
	}
	pin.TypedRune('a')
	wd.hr["09"] = 150
	wd.run(7 * time.Second)
	test.Tap(button(t, wd.w.Canvas().Overlays().Top(), "Carl C.\ncharge nurse"))
	for range 6 {
		pin.TypedRune('2')
	}
	pin.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	wd.run(200 * time.Millisecond)
	if got := wd.sess.logins[len(wd.sess.logins)-1]; got != "carl:222222" {
		t.Fatalf("the login typed %q", got)
	}
	if a, _ := wd.alarm("07", "hr-high"); !a.Acked {
		t.Error("bed 07, on screen when A was pressed, is not acknowledged")
	}
	if a, ok := wd.alarm("09", "hr-high"); !ok || a.Acked {
		t.Errorf("bed 09's alarm raised after A: present %v, acknowledged %v", ok, a.Acked)
	}

	// The grid never moved through all of it.
	if y := wd.gridY(); y != y0 {
		t.Errorf("the grid moved from y %v to %v", y0, y)
	}
	if cs := clipped(wd.w, st); len(cs) > 0 {
		reportClips(t, "after the tasks", cs)
	}
}

func (wd *ward) gridY() float32 {
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(wd.st.grid).Y
}
