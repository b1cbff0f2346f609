package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/vigil-station/vigil/alarms"
)

// slowDesk is a desk whose commands wait until released, as they do on a
// journal whose disk takes seconds per commit (the desk answers only once
// the record is durable).
type slowDesk struct {
	*fakeDesk
	started chan string
	release chan struct{}
}

func (d *slowDesk) Acknowledge(id string) error {
	d.started <- "ack " + id
	<-d.release
	return d.fakeDesk.Acknowledge(id)
}

func (d *slowDesk) PauseAudio() error {
	d.started <- "pause-audio"
	<-d.release
	return d.fakeDesk.PauseAudio()
}

// A command never waits on the UI goroutine: pressed while the desk takes
// its time, the press returns at once, the bar says the command is on its
// way, frames go on being drawn, and the answer comes when the desk gives
// it. Two commands reach the desk in the order they were given.
func TestCommandsNeverWaitOnTheUI(t *testing.T) {
	desk := &slowDesk{fakeDesk: &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))},
		started: make(chan string, 4), release: make(chan struct{})}
	st, _, clk, _ := sizedAlarmStation(t, desk, fyne.NewSize(1920, 1080))
	answered := make(chan struct{}, 4)
	st.sendCmd = func(job func()) { // the real worker, and a signal once each answer is shown
		st.queueCommand(func() { job(); answered <- struct{}{} })
	}
	clk.t = clk.t.Add(time.Second)
	st.Tick()

	first := st.al.rows[0].shown
	// Were the presses to wait for the desk, this frees them after 10 s
	// (and the test fails) rather than hang. Only a press that waited for
	// the desk takes that long: no figure of speed is asserted.
	unstick := time.AfterFunc(10*time.Second, func() {
		for range 2 {
			<-desk.started
			desk.release <- struct{}{}
		}
	})
	test.Tap(st.al.rows[0].ack)
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyP}) // and at once: pause all audio
	if !unstick.Stop() {
		t.Fatal("the presses waited for the desk")
	}
	select {
	case got := <-desk.started:
		if got != "ack "+first.ID {
			t.Fatalf("the desk got %q first", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the acknowledgement never reached the desk")
	}
	if msg := st.Message(); !strings.Contains(msg, "sent") {
		t.Errorf("while the desk works the bar says %q, not that the command is on its way", msg)
	}
	beats := desk.heartbeats
	for range 25 { // a second of frames while the desk still holds the command
		clk.t = clk.t.Add(40 * time.Millisecond)
		st.Tick()
	}
	if desk.heartbeats < beats+25 {
		t.Fatalf("%d frames drawn of 25 while a command was pending", desk.heartbeats-beats)
	}
	desk.release <- struct{}{}
	<-answered
	if msg := st.Message(); msg != "Acknowledged "+alarmName(&first) {
		t.Errorf("after the desk answered the bar says %q", msg)
	}
	if got := <-desk.started; got != "pause-audio" {
		t.Fatalf("the second command reached the desk as %q", got)
	}
	desk.release <- struct{}{}
	<-answered
	if !slices.Equal(desk.calls, []string{"ack " + first.ID, "pause-audio"}) || st.Message() != "All alarm audio paused" {
		t.Fatalf("the desk did %q, the bar says %q", desk.calls, st.Message())
	}
}

// slowSession's logins wait until released (each try is journalled).
type slowSession struct {
	*fakeSession
	started chan string
	release chan struct{}
}

func (s *slowSession) Login(name, secret string) error {
	s.started <- name
	<-s.release
	return s.fakeSession.Login(name, secret)
}

// A login waits for the journal off the UI goroutine too: the dialog says
// it is logging in, the ward goes on drawing, and once the session answers
// the station is unlocked and the command asked for before the login runs.
func TestLoginNeverWaitsOnTheUI(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, clk, _ := sizedAlarmStation(t, desk, fyne.NewSize(1920, 1080))
	sess := &slowSession{fakeSession: &fakeSession{}, started: make(chan string, 1), release: make(chan struct{})}
	st.SetSession(sess, w)
	answered := make(chan struct{}, 2)
	st.sendCmd = func(job func()) { st.queueCommand(func() { job(); answered <- struct{}{} }) }
	st.Tick()
	ran := false
	st.AskLogin(func() { ran = true })
	test.Tap(button(t, w.Canvas().Overlays().Top(), "Nina N.\nnurse"))
	secret := st.sess.secret
	test.Type(secret, "111111")
	unstick := time.AfterFunc(10*time.Second, func() { <-sess.started; sess.release <- struct{}{} })
	secret.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !unstick.Stop() {
		t.Fatal("Enter waited for the session")
	}
	if got := <-sess.started; got != "nina" {
		t.Fatalf("the session was asked for %q", got)
	}
	if st.sess.loginMsg == nil || st.sess.loginMsg.Text != "Logging in…" {
		t.Fatalf("while the session works the dialog does not say it is logging in")
	}
	beats := desk.heartbeats
	for range 10 {
		clk.t = clk.t.Add(40 * time.Millisecond)
		st.Tick()
	}
	if desk.heartbeats < beats+10 || ran {
		t.Fatalf("%d frames of 10 drawn during the login; the command ran before it: %v", desk.heartbeats-beats, ran)
	}
	sess.release <- struct{}{}
	<-answered
	if sess.Operator().Who != "nina" || !ran || w.Canvas().Overlays().Top() != nil {
		t.Fatalf("after the answer: operator %q, command run %v, dialog open %v", sess.Operator().Who, ran, w.Canvas().Overlays().Top() != nil)
	}
}

// slowAdmin's discharges wait until released.
type slowAdmin struct {
	*fakeAdmin
	started chan string
	release chan struct{}
}

func (a *slowAdmin) Discharge(id string) error {
	a.started <- id
	<-a.release
	return a.fakeAdmin.Discharge(id)
}

// An admin's change waits for the journal off the UI goroutine: the panel
// says it is sent, the ward draws on, and the panel says what was done once
// the journal has it.
func TestAdminChangeNeverWaitsOnTheUI(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, clk, _ := sizedAlarmStation(t, desk, fyne.NewSize(1920, 1080))
	st.SetSession(&fakeSession{op: alarms.Actor{Who: "ada", Role: alarms.Admin}}, w)
	adm := &slowAdmin{fakeAdmin: &fakeAdmin{beds: []AdminBed{bed16, bed04}}, started: make(chan string, 1), release: make(chan struct{})}
	st.SetAdmin(adm)
	answered := make(chan struct{}, 1)
	st.sendCmd = func(job func()) { st.queueCommand(func() { job(); answered <- struct{}{} }) }
	st.ShowAdmin()
	root := st.Content()
	test.Tap(button(t, root, "Discharge"))
	unstick := time.AfterFunc(10*time.Second, func() { <-adm.started; adm.release <- struct{}{} })
	test.Tap(button(t, overlay(w), "Discharge"))
	if !unstick.Stop() {
		t.Fatal("the confirmation waited for the journal")
	}
	if got := <-adm.started; got != "16" {
		t.Fatalf("discharged %q", got)
	}
	if l := labels(root); !strings.Contains(l, "Discharge: sent") {
		t.Errorf("while the journal works the panel says %q", l)
	}
	beats := desk.heartbeats
	for range 10 {
		clk.t = clk.t.Add(40 * time.Millisecond)
		st.Tick()
	}
	if desk.heartbeats < beats+10 {
		t.Fatalf("%d frames of 10 drawn during the discharge", desk.heartbeats-beats)
	}
	adm.release <- struct{}{}
	<-answered
	if l := labels(root); !strings.Contains(l, "Discharged Tony Hoare (MRN DEMO-1016) from Bed 16") {
		t.Errorf("after the journal answered the panel says %q", l)
	}
}
