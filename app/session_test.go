package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
)

// The demo station's session: a wrong PIN is refused, the right one logs
// in, the idle lock logs out after the idle time without input (the alarm
// system keeps running), an action at a locked station is refused with
// ErrLoggedOut, and all of it is in the journal.
func TestSessionLoginIdleLockAndRefusal(t *testing.T) {
	cfg := testConfig(t, "") // the demo: embedded broker, seeded demo users
	cfg.Headless = false     // a station with a window has the idle lock
	cfg.IdleLock = time.Second
	core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	s := core.Session
	if err := s.Login("demo-nurse", "0000"); !errors.Is(err, store.ErrBadLogin) {
		t.Fatalf("wrong PIN: %v", err)
	}
	if err := s.Login("demo-nurse", "111111"); err != nil {
		t.Fatal(err)
	}
	if op := s.Operator(); op.Who != "demo-nurse" || op.Role != alarms.Nurse {
		t.Fatalf("operator %+v", op)
	}
	for range 4 { // input keeps the station unlocked
		time.Sleep(400 * time.Millisecond)
		s.Touch()
	}
	if s.Operator().Who != "demo-nurse" {
		t.Fatal("locked although the nurse kept working")
	}
	waitFor(t, 5*time.Second, "the idle lock", func() bool { return s.Operator().Who == "" })
	if err := core.Alarms.Acknowledge("no-such-alarm"); !errors.Is(err, alarms.ErrLoggedOut) {
		t.Fatalf("an action at a locked station: %v", err)
	}
	if core.Alarms.View() == nil {
		t.Fatal("the alarm system stopped with the lock")
	}
	// The refusal is journalled without the caller waiting for it.
	var all string
	waitFor(t, 3*time.Second, "the refusal in the journal", func() bool {
		evs, err := core.Store.Events(context.Background(), store.Filter{Kinds: []string{store.KindLogin, store.KindRefused}})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range evs {
			seen = append(seen, e.Kind+" "+e.Event+" "+e.Who+" "+e.Detail)
		}
		all = strings.Join(seen, "\n")
		return strings.Contains(all, "refused refused (locked station) acknowledge no-such-alarm")
	})
	for _, want := range []string{"login login-failed demo-nurse", "login login demo-nurse", "login locked demo-nurse automatic lock after 1s without input"} {
		if !strings.Contains(all, want) {
			t.Errorf("journal lacks %q:\n%s", want, all)
		}
	}
}

// After a journal was set aside (corrupt or foreign), the window offers no
// "create the first admin" to whoever is at the keyboard: that is done on
// the host, from the command line; the technical alarm says how.
func TestFirstAdminFromCommandLineAfterSetAside(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	if err := os.WriteFile(filepath.Join(cfg.DataDir, store.JournalFile), bytes.Repeat([]byte("not a journal "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	core := startStation(t, cfg)
	if core.Session.NeedsFirstAdmin() {
		t.Fatal("the window would offer to create the first admin of the new journal")
	}
	err := core.Session.CreateFirstAdmin("mallory", "Mallory", "a-long-passphrase-1")
	if err == nil || !strings.Contains(err.Error(), "vigil users add") {
		t.Fatalf("CreateFirstAdmin after a set-aside journal: %v", err)
	}
	a := awaitAlarm(t, core, alarms.CodeJournal, "the journal's technical alarm")
	if !strings.Contains(a.Message, "vigil users add NAME --role admin") {
		t.Errorf("the alarm says %q", a.Message)
	}
	// A fresh, empty journal still offers it (first start).
	fresh := startStation(t, testConfig(t, mosquittoURL))
	if !fresh.Session.NeedsFirstAdmin() {
		t.Error("a first start offers no first admin")
	}
}

// The station throttles guessing across accounts: after 5 wrong logins in
// a row at the station, each next attempt waits (2 s, doubling, at most
// 30 s) without reaching the journal's check; a right login after the wait
// goes through and clears the throttle.
func TestStationLoginThrottle(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)
	admin := alarms.Actor{Who: "admin", Role: alarms.Admin, Where: "test"}
	for _, u := range []string{"nina", "omar", "pia"} {
		if err := core.Store.AddUser(context.Background(), admin, store.NewUser{Name: u, Role: alarms.Nurse,
			Password: "correct-horse-" + u, PIN: "135790"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	s := core.Session
	s.now = func() time.Time { return now }
	users := []string{"nina", "omar", "pia"}
	if err := s.Login("nina", "135790"); err != nil { // Nina is at the station
		t.Fatal(err)
	}
	for i := range StationFreeTries {
		if err := s.Login(users[i%3], "000000"); !errors.Is(err, store.ErrBadLogin) {
			t.Fatalf("wrong try %d: %v", i+1, err)
		}
	}
	// The next try, even with the right PIN, waits.
	err := s.Login("pia", "135790")
	if err == nil || !strings.Contains(err.Error(), "try again in 2 s") {
		t.Fatalf("a try within the wait: %v", err)
	}
	// The wrong tries took nothing from the nurse logged in: she still
	// silences per her role while the logins wait.
	if op := s.Operator(); op.Who != "nina" {
		t.Fatalf("the throttle logged out %q", op.Who)
	}
	if err := core.Alarms.PauseAudio(); err != nil {
		t.Fatalf("audio pause by the logged-in nurse while the logins are throttled: %v", err)
	}
	now = now.Add(2 * time.Second)
	if err := s.Login("omar", "999999"); !errors.Is(err, store.ErrBadLogin) {
		t.Fatalf("after the wait a wrong PIN: %v", err)
	}
	if err := s.Login("pia", "135790"); err == nil || !strings.Contains(err.Error(), "try again in 4 s") {
		t.Fatalf("the wait doubles: %v", err)
	}
	now = now.Add(4 * time.Second)
	if err := s.Login("pia", "135790"); err != nil {
		t.Fatalf("the right PIN after the wait: %v", err)
	}
	if err := s.Login("nina", "000000"); !errors.Is(err, store.ErrBadLogin) {
		t.Fatalf("after a good login the throttle is clear: %v", err)
	}
}

// The demo's accounts follow the ward's rules (6-digit PINs for the
// nurses, a passphrase and no PIN for the admin); the DEMO band says what
// logs in, and the old demo PINs no longer do. A restart on the same demo
// journal leaves the accounts as they are.
func TestDemoAccountsFollowTheRules(t *testing.T) {
	for _, u := range demoUsers {
		if err := store.CheckPassword(u.Role, u.Password); err != nil {
			t.Errorf("%s's password: %v", u.Name, err)
		}
		if err := store.CheckPIN(u.Role, u.PIN); err != nil {
			t.Errorf("%s's PIN: %v", u.Name, err)
		}
		if (u.PIN == "") != (u.Role == alarms.Admin) {
			t.Errorf("%s (%s) has PIN %q", u.Name, u.Role, u.PIN)
		}
	}
	band := DemoCredentials()
	for _, want := range []string{"demo-nurse PIN 111111", "demo-charge PIN 222222", "demo-admin passphrase “demo admin passphrase”"} {
		if !strings.Contains(band, want) {
			t.Errorf("the DEMO band %q lacks %q", band, want)
		}
	}
	if strings.Contains(band, "3333") {
		t.Errorf("the DEMO band still shows the admin's PIN: %q", band)
	}

	cfg := testConfig(t, "") // the demo: embedded broker, seeded demo users
	core, err := Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := core.Session
	for _, c := range []struct{ name, secret string }{{"demo-admin", "3333"}, {"demo-nurse", "1111"}} {
		if err := s.Login(c.name, c.secret); !errors.Is(err, store.ErrBadLogin) {
			t.Errorf("the old demo secret %s/%s: %v", c.name, c.secret, err)
		}
	}
	for _, c := range []struct {
		name, secret string
		role         alarms.Role
	}{
		{"demo-admin", "demo admin passphrase", alarms.Admin},
		{"demo-charge", "222222", alarms.ChargeNurse},
		{"demo-charge", "demo-charge-password", alarms.ChargeNurse},
		{"demo-nurse", "111111", alarms.Nurse},
		{"demo-nurse", "demo-nurse-password", alarms.Nurse},
	} {
		if err := s.Login(c.name, c.secret); err != nil {
			t.Errorf("%s with %q: %v", c.name, c.secret, err)
		} else if op := s.Operator(); op.Who != c.name || op.Role != c.role {
			t.Errorf("%s logged in as %+v", c.name, op)
		}
	}
	for _, u := range s.Users() {
		if u.Name == "demo-admin" && u.HasPIN {
			t.Error("demo-admin has a PIN")
		}
	}
	core.Close()

	core, err = Start(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	if err := core.Session.Login("demo-nurse", "111111"); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	evs, err := core.Store.Events(context.Background(), store.Filter{Kinds: []string{store.KindConfig}})
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, e := range evs {
		switch e.Event {
		case "user-reset":
			t.Errorf("a restart reset a demo account: %+v", e)
		case "user-added":
			added++
		}
	}
	if added != len(demoUsers) {
		t.Errorf("%d demo accounts added, want %d", added, len(demoUsers))
	}
}
