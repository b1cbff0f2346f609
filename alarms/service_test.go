package alarms

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
)

// recorder collects what the service fans out.
type recorder struct {
	mu      sync.Mutex
	sounds  []string
	notes   []Notice
	pubs    []Alarm
	records []Record
}

func (r *recorder) Set(p Priority, loud bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := p.String()
	if loud {
		s += "-loud"
	}
	r.sounds = append(r.sounds, s)
}
func (r *recorder) Notify(n Notice)      { r.mu.Lock(); r.notes = append(r.notes, n); r.mu.Unlock() }
func (r *recorder) PublishAlarm(a Alarm) { r.mu.Lock(); r.pubs = append(r.pubs, a); r.mu.Unlock() }
func (r *recorder) Record(x Record) <-chan error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, x)
	ch := make(chan error, 1)
	ch <- nil
	return ch
}
func (r *recorder) lastSound() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sounds) == 0 {
		return ""
	}
	return r.sounds[len(r.sounds)-1]
}

// startService runs a service in the synctest bubble, fed by a real hub.
func startService(t *testing.T, role Role) (*Service, *monitor.Hub, *recorder, func()) {
	rec := &recorder{}
	hub := monitor.NewHub(monitor.Config{Ward: "W", Beds: []string{"05"}})
	svc := NewService(Config{Station: "st-1", Operator: Actor{Who: "anna", Role: role}, Hub: hub,
		Sound: rec, Notifier: rec, Publisher: rec, Recorder: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hub.SetObserver(svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	return svc, hub, rec, func() { cancel(); <-done }
}

func spo2Frame(v float64) feed.NumFrame {
	return feed.NumFrame{TsMs: time.Now().UnixMilli(), Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: v, Valid: true}}}
}

// The SpO2 condition delay, the audio pause with its countdown, and HIGH
// escalation, in virtual time through the service's own goroutine.
func TestServiceDelaysPausesEscalationInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, hub, rec, stop := startService(t, ChargeNurse)
		defer stop()
		// SpO2 88 every second: MEDIUM after its 10 s delay, not before.
		for i := 0; i < 10; i++ {
			hub.Numerics("05", spo2Frame(88))
			time.Sleep(time.Second)
			synctest.Wait()
			if i < 9 && len(svc.View().Alarms) != 0 {
				t.Fatalf("raised after %d s, before the 10 s delay", i+1)
			}
		}
		hub.Numerics("05", spo2Frame(88))
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		v := svc.View()
		if len(v.Alarms) != 1 || v.Alarms[0].Text() != "** SpO2 88 < 90" || rec.lastSound() != "medium" {
			t.Fatalf("after 10 s: %+v, sound %q", v.Alarms, rec.lastSound())
		}
		// Audio pause: silent, the countdown runs, then it sounds again.
		if err := svc.PauseAudio(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		if rec.lastSound() != "none" || svc.View().AudioPaused <= 119*time.Second {
			t.Fatalf("paused: sound %q, countdown %s", rec.lastSound(), svc.View().AudioPaused)
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if cd := svc.View().AudioPaused; cd < 59*time.Second || cd > 61*time.Second { // the view changes when the shown second does
			t.Fatalf("countdown %s after 60 s", cd)
		}
		// A HIGH (desaturation, no delay) breaks through the pause at once.
		hub.Numerics("05", spo2Frame(80))
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if rec.lastSound() != "high" {
			t.Fatalf("desaturation did not break through: %q", rec.lastSound())
		}
		// Unacknowledged: to the charge nurse after 30 s (banner), to every
		// station and louder 60 s later; notifications for each.
		time.Sleep(30*time.Second + 300*time.Millisecond) // + one housekeeping tick
		synctest.Wait()
		if b := svc.View().Banner; len(b) != 1 || b[0].Escalation != 1 {
			t.Fatalf("banner after 30 s: %+v; alarms %+v", b, svc.View().Alarms)
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if rec.lastSound() != "high-loud" {
			t.Fatalf("not louder after the second hop: %q", rec.lastSound())
		}
		esc := 0
		for _, n := range rec.notes {
			if n.Escalated {
				esc++
			}
		}
		if esc != 2 {
			t.Fatalf("%d escalation notices, want 2: %+v", esc, rec.notes)
		}
		if err := svc.Respond(svc.View().Banner[0].ID, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if len(svc.View().Banner) != 0 {
			t.Fatal("banner stays after accepting")
		}
		if err := svc.AcknowledgeAll(""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if rec.lastSound() != "none" {
			t.Fatalf("sound after acknowledging everything: %q", rec.lastSound())
		}
	})
}

// Latching in virtual time: a device asystole alarm that ends stays shown
// and sounding until acknowledged; NO DATA follows the hub's staleness.
func TestServiceLatchingAndNoDataInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, hub, rec, stop := startService(t, Nurse)
		defer stop()
		start := feed.Alarm{ID: "ASY-1", Seq: 1, TsMs: time.Now().UnixMilli(), Priority: feed.AlarmHigh,
			Source: feed.SourcePhysiological, Phase: feed.PhaseStart, State: feed.StateActive, Text: "ASYSTOLE"}
		hub.Alarm("05", start)
		hub.Numerics("05", spo2Frame(97))
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if a := svc.View().Alarms; len(a) != 1 || a[0].Code != CodeAsystole || !a[0].Latching {
			t.Fatalf("device asystole: %+v", a)
		}
		end := start
		end.Seq, end.Phase, end.State = 2, feed.PhaseEnd, feed.StateInactive
		hub.Alarm("05", end)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		a := svc.View().Alarms
		if len(a) == 0 || !a[0].Ended || rec.lastSound() != "high" {
			t.Fatalf("latched alarm after its end: %+v sound %q", a, rec.lastSound())
		}
		if err := svc.Acknowledge(a[0].ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		for _, x := range svc.View().Alarms {
			if x.Code == CodeAsystole {
				t.Fatal("acknowledged ended alarm still shown")
			}
		}
		// Numerics stop: NO DATA after the hub's 10 s staleness (+ one tick).
		time.Sleep(6 * time.Second)
		synctest.Wait()
		found := false
		for _, x := range svc.View().Alarms {
			found = found || x.Code == CodeNoData
		}
		if !found {
			t.Fatalf("no NO DATA after the numerics stopped: %+v", svc.View().Alarms)
		}
		// A nurse may not pause a bed's alarms or switch audio off.
		if err := svc.PauseBed("05", time.Minute); err == nil {
			t.Fatal("nurse paused a bed")
		}
		if err := svc.SetAudioOff(true); err == nil {
			t.Fatal("nurse set AUDIO OFF")
		}
	})
}

// The UI watchdog: heartbeats that stop raise a technical alarm that
// sounds even under AUDIO OFF.
func TestServiceWatchdogInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, rec, stop := startService(t, Admin)
		defer stop()
		if err := svc.SetAudioOff(true); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			svc.Heartbeat()
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if len(svc.View().Alarms) != 0 {
			t.Fatal("watchdog fired while heartbeats came")
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		a := svc.View().Alarms
		if len(a) != 1 || a[0].Code != CodeWatchdog || rec.lastSound() != "high" {
			t.Fatalf("watchdog: %+v sound %q", a, rec.lastSound())
		}
		svc.Heartbeat()
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		if len(svc.View().Alarms) != 1 || !svc.View().Alarms[0].Ended {
			t.Fatalf("watchdog alarm should latch until acknowledged: %+v", svc.View().Alarms)
		}
	})
}

// stepService is a service driven by Step on a clock the test moves, with
// no hub: conditions are reported on its engine directly.
func stepService(op Actor) (*Service, *clock) {
	c := &clock{time.Unix(1_732_400_000, 0)}
	svc := NewService(Config{Station: "st-1", Operator: op, Clock: c.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return svc, c
}

func bannerKeys(v *View) (out []string) {
	for _, a := range v.Banner {
		out = append(out, a.Key)
	}
	return out
}

// The banner of escalated alarms: in the order of View.Alarms (priority,
// then the newest first); kept while the station is locked, showing what a
// charge nurse would see (Accept asks for a login); an ended alarm is not
// a banner and escalates no further, though it stays latched.
func TestBannerOrderLockedAndEnded(t *testing.T) {
	svc, c := stepService(Actor{})
	svc.e.Report(Condition{Key: "01/a", Bed: "01", Code: "a", Priority: High, Message: "a", Latching: true})
	c.advance(5 * time.Second)
	svc.e.Report(Condition{Key: "02/b", Bed: "02", Code: "b", Priority: High, Message: "b"})
	svc.e.Report(Condition{Key: "03/m", Bed: "03", Code: "m", Priority: Medium, Message: "m"})
	c.advance(125 * time.Second)
	svc.Step() // every one escalated to the charge nurse
	want := "02/b,01/a,03/m"
	if got := strings.Join(bannerKeys(svc.View()), ","); got != want {
		t.Fatalf("locked station: banner %q, want %q; alarms %+v", got, want, svc.View().Alarms)
	}
	svc.SetOperator(Actor{Who: "nina", Role: Nurse})
	svc.Step()
	if got := bannerKeys(svc.View()); len(got) != 0 {
		t.Fatalf("a nurse sees the charge nurse's banners %v", got)
	}
	svc.SetOperator(Actor{Who: "carl", Role: ChargeNurse})
	svc.Step()
	if got := strings.Join(bannerKeys(svc.View()), ","); got != want {
		t.Fatalf("charge nurse: banner %q, want %q", got, want)
	}
	svc.e.Clear("01/a") // latched: ended, waiting for acknowledgement
	c.advance(61 * time.Second)
	svc.Step()
	if got := strings.Join(bannerKeys(svc.View()), ","); got != "02/b,03/m" {
		t.Fatalf("banner %q with 01/a ended", got)
	}
	for _, a := range svc.View().Alarms {
		switch a.Key {
		case "01/a":
			if !a.Ended || a.Escalation != 1 {
				t.Fatalf("the ended alarm: ended %v, escalation %d, want ended at 1", a.Ended, a.Escalation)
			}
		case "02/b":
			if a.Escalation != 2 {
				t.Fatalf("02/b escalation %d, want 2", a.Escalation)
			}
		}
	}
	if len(svc.View().Alarms) != 3 {
		t.Fatalf("the latched alarm is not kept: %+v", svc.View().Alarms)
	}
}

// Accept from the banner acknowledges the alarm: journalled as accepted
// and acknowledged, by the operator in her role; it stops sounding.
func TestServiceAcceptAcknowledgesInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, hub, rec, stop := startService(t, ChargeNurse)
		defer stop()
		for range 31 { // desaturation: HIGH, no delay; numerics every second (no NO DATA)
			hub.Numerics("05", spo2Frame(80))
			time.Sleep(time.Second)
		}
		synctest.Wait()
		b := svc.View().Banner
		if len(b) != 1 {
			t.Fatalf("banner %+v", b)
		}
		if err := svc.Respond(b[0].ID, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		v := svc.View()
		if len(v.Alarms) != 1 || !v.Alarms[0].Acked || v.Alarms[0].AckedBy != "anna" || len(v.Banner) != 0 || rec.lastSound() != "none" {
			t.Fatalf("after Accept: %+v, banner %d, sound %q", v.Alarms, len(v.Banner), rec.lastSound())
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		got := map[string]Record{}
		for _, r := range rec.records {
			if r.AlarmID == b[0].ID {
				got[r.Event] = r
			}
		}
		for _, ev := range []string{"accepted", "acknowledged"} {
			if r := got[ev]; r.Who != "anna" || r.Role != "charge" || r.Where != "st-1" {
				t.Fatalf("%s record %+v", ev, r)
			}
		}
	})
}

// The station's own checks that enter as a bed's alarm (Service.Alarm)
// get their own codes: a feed from another source (CodeSource), a device
// reporting another patient than the admitted one (CodePatient, the
// station's technical alarm, not the device's); a device's own technical
// alarm stays "dev-<id>", device-technical.
func TestServiceStationChecksCodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _, stop := startService(t, Nurse)
		defer stop()
		cases := []struct {
			id, code string
			src      Source
		}{
			{monitor.PatientAlarmID, CodePatient, Technical},
			{monitor.SourceAlarmID, CodeSource, DeviceTechnical},
			{"BATT-LOW", "dev-BATT-LOW", DeviceTechnical},
		}
		for _, tc := range cases {
			svc.Alarm("05", feed.Alarm{ID: tc.id, TsMs: time.Now().UnixMilli(), Priority: feed.AlarmMedium,
				Source: feed.SourceTechnical, Phase: feed.PhaseStart, State: feed.StateActive, Text: tc.id}, time.Now())
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		got := map[string]Alarm{}
		for _, a := range svc.View().Alarms {
			got[a.Message] = a
		}
		for _, tc := range cases {
			a, ok := got[tc.id]
			if !ok || a.Code != tc.code || a.Source != tc.src || a.Priority != Medium {
				t.Errorf("alarm %s: %+v (present %v), want code %s source %v", tc.id, a, ok, tc.code, tc.src)
			}
		}
	})
}
