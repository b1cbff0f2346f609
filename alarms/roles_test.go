package alarms

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Every command of the station × every role: allowed or refused as the
// role table says, and every refusal recorded with who, role and what.
func TestRoleMatrix(t *testing.T) {
	type command struct {
		name string
		act  Action // what the table says it needs
		run  func(s *Service) error
	}
	commands := []command{
		{"acknowledge", ActAcknowledge, func(s *Service) error { return s.Acknowledge("none") }},
		{"acknowledge all", ActAcknowledge, func(s *Service) error { return s.AcknowledgeAll("") }},
		{"audio pause", ActAudioPause, func(s *Service) error { return s.PauseAudio() }},
		{"audio pause one", ActAudioPause, func(s *Service) error { return s.PauseAlarmAudio("none") }},
		{"respond", ActRespond, func(s *Service) error { return s.Respond("none", true) }},
		{"alarm pause", ActBedPause, func(s *Service) error { return s.PauseBed("05", time.Minute) }},
		{"audio off", ActAudioOff, func(s *Service) error { return s.SetAudioOff(true) }},
		{"alarm off", ActAlarmOff, func(s *Service) error { return s.SetBedAlarmOff("05", true) }},
		{"limits of her bed", ActLimitsOwnBeds, func(s *Service) error { return s.SetLimit("05", "hr", 45, 110) }},
		{"limits of another bed", ActLimitsAnyBed, func(s *Service) error { return s.SetLimit("06", "hr", 45, 110) }},
	}
	for _, role := range Roles {
		for _, c := range commands {
			t.Run(role.String()+"/"+c.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					svc, _, rec, stop := startService(t, role)
					defer stop()
					svc.cfg.Assigned = func(bed, who string) bool { return bed == "05" && who == "anna" }
					err := c.run(svc)
					refused := errors.Is(err, ErrNotAllowed)
					if want := !Allowed(role, c.act); refused != want {
						t.Fatalf("%s as %s: err %v, want refused=%t", c.name, role, err, want)
					}
					rec.mu.Lock()
					defer rec.mu.Unlock()
					n := 0
					for _, r := range rec.records {
						if r.Event == "refused" {
							n++
							if r.Who != "anna" || r.Role != role.String() || r.Where != "st-1" || r.Detail == "" {
								t.Errorf("refusal record incomplete: %+v", r)
							}
						}
					}
					if want := map[bool]int{true: 1, false: 0}[refused]; n != want {
						t.Fatalf("%d refusal records, want %d: %+v", n, want, rec.records)
					}
				})
			})
		}
	}
}

// Every action has a row in the table, and each role has at least the
// rights of the one below it.
func TestRoleTableIsComplete(t *testing.T) {
	for _, a := range Actions {
		if _, ok := minRole[a]; !ok {
			t.Errorf("action %s has no role", a)
		}
		for i := 1; i < len(Roles); i++ {
			if Allowed(Roles[i-1], a) && !Allowed(Roles[i], a) {
				t.Errorf("%s may %s but %s may not", Roles[i-1], a, Roles[i])
			}
		}
	}
	if Allowed(Admin, "no-such-action") {
		t.Error("an unknown action is allowed")
	}
}

// A locked station refuses commands (and records the attempt); a command
// is reported done only once the journal confirms it.
func TestLockedStationAndDurableCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, hub, rec, stop := startService(t, Nurse)
		defer stop()
		svc.SetOperator(Actor{})
		if err := svc.PauseAudio(); !errors.Is(err, ErrLoggedOut) {
			t.Fatalf("locked: %v", err)
		}
		rec.mu.Lock()
		last := rec.records[len(rec.records)-1]
		rec.mu.Unlock()
		if last.Event != "refused" || !strings.Contains(last.Who, "locked") {
			t.Fatalf("locked refusal not recorded: %+v", last)
		}
		svc.SetOperator(Actor{Who: "bea", Role: Nurse})
		time.Sleep(time.Second)
		synctest.Wait()
		if op := svc.View().Operator; op.Who != "bea" || op.Where != "st-1" {
			t.Fatalf("view operator %+v", op)
		}
		hub.Numerics("05", spo2Frame(70)) // desaturation: HIGH, no delay
		time.Sleep(time.Second)
		synctest.Wait()
		id := svc.View().Alarms[0].ID

		// A journal that never confirms: the ack takes effect, the caller is told it is not recorded.
		svc.cfg.Recorder = stuckRecorder{}
		if err := svc.Acknowledge(id); !errors.Is(err, ErrNotRecorded) {
			t.Fatalf("ack with a stuck journal: %v", err)
		}
		// A journal that fails: the error comes back.
		svc.cfg.Recorder = failingRecorder{}
		if err := svc.PauseAudio(); !errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("pause with a failing journal: %v", err)
		}
	})
}

type stuckRecorder struct{}

func (stuckRecorder) Record(Record) <-chan error { return make(chan error) }

type failingRecorder struct{}

func (failingRecorder) Record(Record) <-chan error {
	ch := make(chan error, 1)
	ch <- errors.New("disk full")
	return ch
}
