package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

var (
	admin  = alarms.Actor{Who: "ada", Where: "st-1", Role: alarms.Admin}
	charge = alarms.Actor{Who: "cara", Where: "st-1", Role: alarms.ChargeNurse}
	nurse  = alarms.Actor{Who: "nina", Where: "st-2", Role: alarms.Nurse}
)

func events(t *testing.T, s *Store, kind string) []Event {
	t.Helper()
	evs, err := s.Events(context.Background(), Filter{Kinds: []string{kind}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func seedUsers(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []NewUser{
		{Name: "ada", Display: "Ada Admin", Role: alarms.Admin, Password: "correct horse"},
		{Name: "cara", Role: alarms.ChargeNurse, Password: "charge-nurse-1", PIN: "2468"},
		{Name: "nina", Role: alarms.Nurse, Password: "nurse-nina-1", PIN: "1357"},
	} {
		if err := s.AddUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFirstAdminUsersAndRefusals(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	if need, _ := s.NeedsFirstAdmin(ctx); !need {
		t.Fatal("an empty journal has an admin")
	}
	// On an empty journal only an admin account can be made, by anyone (the setup).
	if err := s.AddUser(ctx, alarms.Actor{}, NewUser{Name: "x", Role: alarms.Nurse, Password: "12345678"}); !errors.Is(err, alarms.ErrLoggedOut) {
		t.Fatalf("a nurse as the first user: %v", err)
	}
	seedUsers(t, s)
	if need, _ := s.NeedsFirstAdmin(ctx); need {
		t.Fatal("still asks for a first admin")
	}
	for _, c := range []struct {
		u    NewUser
		want string
	}{
		{NewUser{Name: "bad name!", Role: alarms.Nurse, Password: "12345678"}, "user name"},
		{NewUser{Name: "short", Role: alarms.Nurse, Password: "1234567"}, "8 characters"},
		{NewUser{Name: "pin", Role: alarms.Nurse, Password: "12345678", PIN: "12a4"}, "4 to 8 digits"},
		{NewUser{Name: "NINA", Role: alarms.Nurse, Password: "12345678"}, "already exists"},
	} {
		if err := s.AddUser(ctx, admin, c.u); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.u, err, c.want)
		}
	}
	// Only admins manage users; refusals are journalled.
	for _, by := range []alarms.Actor{nurse, charge} {
		if err := s.AddUser(ctx, by, NewUser{Name: "eve", Role: alarms.Admin, Password: "12345678"}); !errors.Is(err, alarms.ErrNotAllowed) {
			t.Fatalf("%s added a user: %v", by.Role, err)
		}
		if err := s.SetDisabled(ctx, by, "ada", true); !errors.Is(err, alarms.ErrNotAllowed) {
			t.Fatalf("%s disabled a user: %v", by.Role, err)
		}
		if err := s.Reset(ctx, by, "ada", "new password", ""); !errors.Is(err, alarms.ErrNotAllowed) {
			t.Fatalf("%s reset a user: %v", by.Role, err)
		}
	}
	if ref := events(t, s, KindRefused); len(ref) != 7 || ref[0].Who != "(locked station)" || ref[1].Who != "nina" || ref[1].Station != "st-2" || !strings.Contains(ref[1].Detail, "add user eve") {
		t.Fatalf("refusals: %+v", ref)
	}
	if err := s.SetDisabled(ctx, admin, "ada", true); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Fatalf("disabled the last admin: %v", err)
	}
	users, _ := s.Users(ctx)
	if len(users) != 3 || users[0].Name != "ada" || users[0].Display != "Ada Admin" || !users[1].HasPIN || users[0].HasPIN {
		t.Fatalf("users %+v", users)
	}
	for _, e := range events(t, s, KindConfig) {
		if strings.Contains(e.New, "correct horse") || strings.Contains(e.Detail, "2468") {
			t.Fatalf("a secret in the journal: %+v", e)
		}
	}
	mustVerify(t, s)
}

func TestLoginLockoutDisableReset(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	seedUsers(t, s)
	if a, err := s.Login(ctx, "nina", "1357", "st-2"); err != nil || a != (alarms.Actor{Who: "nina", Where: "st-2", Role: alarms.Nurse}) {
		t.Fatalf("PIN login: %+v %v", a, err)
	}
	if a, err := s.Login(ctx, "Cara", "charge-nurse-1", "st-1"); err != nil || a.Role != alarms.ChargeNurse || a.Who != "cara" {
		t.Fatalf("password login, name in other case: %+v %v", a, err)
	}
	if _, err := s.Login(ctx, "nobody", "1357", "st-2"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unknown user: %v", err)
	}
	// Each wrong PIN says how many tries remain; the fifth locks.
	for i := range 4 {
		_, err := s.Login(ctx, "nina", "0000", "st-2")
		if !errors.Is(err, ErrBadLogin) || !strings.Contains(err.Error(), fmt.Sprintf("%d tr", 4-i)) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := s.Login(ctx, "nina", "0000", "st-2"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("the fifth wrong PIN: %v", err)
	}
	if _, err := s.Login(ctx, "nina", "1357", "st-2"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("after 5 failures the right PIN: %v", err)
	}
	now = now.Add(6 * time.Minute)
	if _, err := s.Login(ctx, "nina", "1357", "st-2"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	for range 5 {
		s.Login(ctx, "nina", "0000", "st-2")
	}
	if err := s.Reset(ctx, admin, "nina", "brand-new-pw", "9999"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "nina", "9999", "st-2"); err != nil {
		t.Fatalf("reset did not clear the lockout: %v", err)
	}
	if _, err := s.Login(ctx, "nina", "1357", "st-2"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("old PIN after reset: %v", err)
	}
	if err := s.SetDisabled(ctx, admin, "nina", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "nina", "9999", "st-2"); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled: %v", err)
	}
	var got []string
	for _, e := range events(t, s, KindLogin) {
		got = append(got, e.Event)
	}
	want := "login login login-failed " + strings.Repeat("login-failed ", 4) + "login-failed locked-out login-refused login " +
		strings.Repeat("login-failed ", 4) + "login-failed locked-out login login-failed login-refused"
	if strings.Join(got, " ") != want {
		t.Fatalf("login journal:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	mustVerify(t, s)
}

// Demo accounts and beds live only in demo mode: the same file opened
// outside demo mode neither lists nor accepts them.
func TestDemoStaysInDemo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{Demo: true})
	if err := s.AddUser(ctx, alarms.Actor{}, NewUser{Name: "demo-admin", Role: alarms.Admin, Password: "demo-admin", Demo: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBed(ctx, alarms.Actor{Who: "demo-admin", Role: alarms.Admin}, "01", "Bed 1", "icu/01", "adult"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, Options{})
	users, _ := s.Users(ctx)
	beds, _ := s.Beds(ctx)
	if len(users) != 0 || len(beds) != 0 {
		t.Fatalf("demo leaked: %+v %+v", users, beds)
	}
	if _, err := s.Login(ctx, "demo-admin", "demo-admin", "st-1"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("demo login outside demo: %v", err)
	}
	if need, _ := s.NeedsFirstAdmin(ctx); !need {
		t.Fatal("a demo admin counts outside demo mode")
	}
	if err := s.AddUser(ctx, admin, NewUser{Name: "d", Role: alarms.Admin, Password: "12345678", Demo: true}); err == nil {
		t.Fatal("a demo account made outside demo mode")
	}
}

// Lockouts in a row grow (5, 10, then 15 minutes at most) and a lockout
// does not reset the count: only a good login or an admin's reset does.
func TestLockoutsEscalate(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	seedUsers(t, s)
	wrong := func() error { _, err := s.Login(ctx, "nina", "0000", "st-2"); return err }
	for i, lock := range []time.Duration{5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		// After a lockout the first wrong PIN says 4 tries are left: the
		// count ran on.
		if err := wrong(); !errors.Is(err, ErrBadLogin) || !strings.Contains(err.Error(), "4 tries left") {
			t.Fatalf("round %d, first wrong PIN: %v", i+1, err)
		}
		for range 3 {
			wrong()
		}
		if err := wrong(); !errors.Is(err, ErrLockedOut) {
			t.Fatalf("round %d, fifth wrong PIN: %v", i+1, err)
		}
		now = now.Add(lock - time.Second)
		if _, err := s.Login(ctx, "nina", "1357", "st-2"); !errors.Is(err, ErrLockedOut) {
			t.Fatalf("lockout %d: the right PIN a second before its %v are up: %v", i+1, lock, err)
		}
		now = now.Add(2 * time.Second)
	}
	if _, err := s.Login(ctx, "nina", "1357", "st-2"); err != nil {
		t.Fatalf("after the last lockout the right PIN: %v", err)
	}
	if err := wrong(); !strings.Contains(err.Error(), "4 tries left") {
		t.Fatalf("a good login clears the count: %v", err)
	}
}
