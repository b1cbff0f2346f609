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
		{Name: "cara", Role: alarms.ChargeNurse, Password: "charge-nurse-1", PIN: "246802"},
		{Name: "nina", Role: alarms.Nurse, Password: "nurse-nina-1", PIN: "135791"},
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
	if err := s.AddUser(ctx, alarms.Actor{}, NewUser{Name: "x", Role: alarms.Nurse, Password: "123456789012"}); !errors.Is(err, alarms.ErrLoggedOut) {
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
		{NewUser{Name: "bad name!", Role: alarms.Nurse, Password: "123456789012"}, "user name"},
		{NewUser{Name: "short", Role: alarms.Nurse, Password: "12345678901"}, "12 characters"},
		{NewUser{Name: "pin", Role: alarms.Nurse, Password: "123456789012", PIN: "12a456"}, "6 to 12 digits"},
		{NewUser{Name: "NINA", Role: alarms.Nurse, Password: "123456789012"}, "already exists"},
	} {
		if err := s.AddUser(ctx, admin, c.u); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.u, err, c.want)
		}
	}
	// Only admins manage users; refusals are journalled.
	for _, by := range []alarms.Actor{nurse, charge} {
		if err := s.AddUser(ctx, by, NewUser{Name: "eve", Role: alarms.Admin, Password: "a long passphrase"}); !errors.Is(err, alarms.ErrNotAllowed) {
			t.Fatalf("%s added a user: %v", by.Role, err)
		}
		if err := s.SetDisabled(ctx, by, "ada", true); !errors.Is(err, alarms.ErrNotAllowed) {
			t.Fatalf("%s disabled a user: %v", by.Role, err)
		}
		if err := s.Reset(ctx, by, "ada", "a new passphrase", ""); !errors.Is(err, alarms.ErrNotAllowed) {
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
		if strings.Contains(e.New, "correct horse") || strings.Contains(e.Detail, "246802") {
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
	if a, err := s.Login(ctx, "nina", "135791", "st-2"); err != nil || a != (alarms.Actor{Who: "nina", Where: "st-2", Role: alarms.Nurse}) {
		t.Fatalf("PIN login: %+v %v", a, err)
	}
	if a, err := s.Login(ctx, "Cara", "charge-nurse-1", "st-1"); err != nil || a.Role != alarms.ChargeNurse || a.Who != "cara" {
		t.Fatalf("password login, name in other case: %+v %v", a, err)
	}
	if _, err := s.Login(ctx, "nobody", "135791", "st-2"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unknown user: %v", err)
	}
	// Each wrong PIN says how many tries remain; the fifth locks.
	for i := range 4 {
		_, err := s.Login(ctx, "nina", "000000", "st-2")
		if !errors.Is(err, ErrBadLogin) || !strings.Contains(err.Error(), fmt.Sprintf("%d tr", 4-i)) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := s.Login(ctx, "nina", "000000", "st-2"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("the fifth wrong PIN: %v", err)
	}
	if _, err := s.Login(ctx, "nina", "135791", "st-2"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("after 5 failures the right PIN: %v", err)
	}
	now = now.Add(6 * time.Minute)
	if _, err := s.Login(ctx, "nina", "135791", "st-2"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	for range 5 {
		s.Login(ctx, "nina", "000000", "st-2")
	}
	if err := s.Reset(ctx, admin, "nina", "brand-new-pw", "999999"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "nina", "999999", "st-2"); err != nil {
		t.Fatalf("reset did not clear the lockout: %v", err)
	}
	if _, err := s.Login(ctx, "nina", "135791", "st-2"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("old PIN after reset: %v", err)
	}
	if err := s.SetDisabled(ctx, admin, "nina", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "nina", "999999", "st-2"); !errors.Is(err, ErrDisabled) {
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
	if err := s.AddUser(ctx, alarms.Actor{}, NewUser{Name: "demo-admin", Role: alarms.Admin, Password: "demo admin passphrase", Demo: true}); err != nil {
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
	if _, err := s.Login(ctx, "demo-admin", "demo admin passphrase", "st-1"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("demo login outside demo: %v", err)
	}
	if need, _ := s.NeedsFirstAdmin(ctx); !need {
		t.Fatal("a demo admin counts outside demo mode")
	}
	if err := s.AddUser(ctx, admin, NewUser{Name: "d", Role: alarms.Admin, Password: "a long passphrase", Demo: true}); err == nil {
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
	wrong := func() error { _, err := s.Login(ctx, "nina", "000000", "st-2"); return err }
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
		if _, err := s.Login(ctx, "nina", "135791", "st-2"); !errors.Is(err, ErrLockedOut) {
			t.Fatalf("lockout %d: the right PIN a second before its %v are up: %v", i+1, lock, err)
		}
		now = now.Add(2 * time.Second)
	}
	if _, err := s.Login(ctx, "nina", "135791", "st-2"); err != nil {
		t.Fatalf("after the last lockout the right PIN: %v", err)
	}
	if err := wrong(); !strings.Contains(err.Error(), "4 tries left") {
		t.Fatalf("a good login clears the count: %v", err)
	}
}

// The secrets' rules, role by role: nurses and charge nurses a PIN of 6 to
// 12 digits, an admin none; a password of 12 characters at least for
// everyone (an admin's passphrase), with no space at either end.
func TestSecretRules(t *testing.T) {
	for _, c := range []struct {
		role alarms.Role
		pin  string
		want string // "" = accepted
	}{
		{alarms.Nurse, "", ""},
		{alarms.Nurse, "12345", "6 to 12 digits"},
		{alarms.ChargeNurse, "12345", "6 to 12 digits"},
		{alarms.Nurse, "123456", ""},
		{alarms.ChargeNurse, "000000", ""},
		{alarms.Nurse, "123456789012", ""},
		{alarms.Nurse, "1234567890123", "6 to 12 digits"},
		{alarms.Nurse, "12345a", "6 to 12 digits"},
		{alarms.Nurse, "１２３４５６", "6 to 12 digits"}, // full-width digits are not digits here
		{alarms.Admin, "", ""},
		{alarms.Admin, "123456", "an admin logs in with a passphrase, not a PIN"},
		{alarms.Admin, "3333", "an admin logs in with a passphrase, not a PIN"},
	} {
		err := CheckPIN(c.role, c.pin)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckPIN(%s, %q) = %v, want %q", c.role, c.pin, err, c.want)
		}
	}
	for _, c := range []struct {
		role alarms.Role
		pw   string
		want string
	}{
		{alarms.Admin, "eleven char", "an admin's passphrase needs at least 12 characters"},
		{alarms.Admin, "twelve chars", ""},
		{alarms.Admin, "demo admin passphrase", ""},
		{alarms.Nurse, "elevenchars", "a password needs at least 12 characters"},
		{alarms.ChargeNurse, "elevenchars", "a password needs at least 12 characters"},
		{alarms.Nurse, "twelve-chars", ""},
		{alarms.Nurse, "ßßßßßßßßßßßß", ""}, // characters, not bytes
		{alarms.Admin, "ßßßßßßßßßßß", "12 characters"},
		{alarms.Admin, " twelve chars", "must not start or end with a space"},
		{alarms.Nurse, "twelve-chars ", "must not start or end with a space"},
	} {
		err := CheckPassword(c.role, c.pw)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckPassword(%s, %q) = %v, want %q", c.role, c.pw, err, c.want)
		}
	}

	// The same rules in AddUser and Reset.
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	seedUsers(t, s)
	for _, c := range []struct {
		u    NewUser
		want string
	}{
		{NewUser{Name: "nora", Role: alarms.Nurse, Password: "nurse-nora-12", PIN: "13579"}, "6 to 12 digits"},
		{NewUser{Name: "carl", Role: alarms.ChargeNurse, Password: "charge-carl-12", PIN: "24680"}, "6 to 12 digits"},
		{NewUser{Name: "nora", Role: alarms.Nurse, Password: "nurse-nora1", PIN: "135790"}, "12 characters"},
		{NewUser{Name: "eve", Role: alarms.Admin, Password: "a long passphrase", PIN: "135790"}, "an admin logs in with a passphrase, not a PIN"},
		{NewUser{Name: "eve", Role: alarms.Admin, Password: "short phrase"[:11]}, "an admin's passphrase needs at least 12"},
		{NewUser{Name: "nora", Role: alarms.Nurse, Password: "nurse-nora-12", PIN: "135790"}, ""},
		{NewUser{Name: "carl", Role: alarms.ChargeNurse, Password: "charge-carl-12", PIN: "246802468024"}, ""},
		{NewUser{Name: "eve", Role: alarms.Admin, Password: "short phrase"}, ""},
	} {
		err := s.AddUser(ctx, admin, c.u)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddUser(%+v) = %v, want %q", c.u, err, c.want)
		}
	}
	if err := s.AddUser(ctx, admin, NewUser{Name: "eva", Role: alarms.Admin, Password: "a long passphrase", PIN: "135790"}); !errors.Is(err, ErrAdminPIN) {
		t.Errorf("an admin with a PIN: %v, want ErrAdminPIN", err)
	}
	for _, c := range []struct {
		name, pw, pin, want string
	}{
		{"ada", "a new passphrase", "135790", "an admin logs in with a passphrase, not a PIN"},
		{"ada", "new phrase!", "", "an admin's passphrase needs at least 12"},
		{"nina", "nurse-nina-12", "1357", "6 to 12 digits"},
		{"nina", "nurse-nina1", "135790", "a password needs at least 12"},
		{"nobody", "a new passphrase", "", "no user nobody"},
		{"ada", "a new passphrase", "", ""},
		{"nina", "nurse-nina-12", "135790", ""},
	} {
		err := s.Reset(ctx, admin, c.name, c.pw, c.pin)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("Reset(%s, %q, %q) = %v, want %q", c.name, c.pw, c.pin, err, c.want)
		}
	}
	// What was accepted logs in; eve, an admin, with her passphrase.
	for name, secret := range map[string]string{"nora": "135790", "carl": "246802468024", "eve": "short phrase", "ada": "a new passphrase", "nina": "135790"} {
		if a, err := s.Login(ctx, name, secret, "st-1"); err != nil || a.Who != name {
			t.Errorf("login %s: %+v %v", name, a, err)
		}
	}
	if _, err := s.Login(ctx, "ada", "correct horse", "st-1"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("ada's passphrase before the reset: %v", err)
	}
	// None of the refused ones was made.
	users, _ := s.Users(ctx)
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if got := strings.Join(names, " "); got != "ada cara carl eve nina nora" {
		t.Errorf("users %q", got)
	}
}

// setSecret stores a secret the way a journal made before the rules has it
// (a 4-digit PIN, an admin's PIN, an 8-character password), past AddUser's
// checks.
func setSecret(t *testing.T, s *Store, name, column, secret string) {
	t.Helper()
	if _, err := s.DB().Exec("UPDATE users SET "+column+" = ? WHERE name = ?", HashSecret(secret), name); err != nil {
		t.Fatal(err)
	}
}

// Accounts made before the rules still log in, so that no nurse is locked
// out in an emergency, and the login's journal row says what an admin
// should reset; WeakSecrets lists them until the reset. An admin's PIN from
// before the rules does not log in (it counts as a wrong secret), and the
// admin is told it is the passphrase that does.
func TestLegacySecrets(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	seedUsers(t, s)
	setSecret(t, s, "nina", "pin", "1357")          // 4 digits
	setSecret(t, s, "cara", "password", "cara-pw1") // 8 characters
	setSecret(t, s, "ada", "pin", "3333")           // an admin's PIN

	if weak, err := s.WeakSecrets(ctx); err != nil || len(weak) != 0 {
		t.Fatalf("weak secrets before any login: %v %v", weak, err)
	}
	if a, err := s.Login(ctx, "nina", "1357", "st-2"); err != nil || a.Who != "nina" {
		t.Fatalf("a 4-digit PIN from before the rules: %+v %v", a, err)
	}
	if a, err := s.Login(ctx, "cara", "cara-pw1", "st-1"); err != nil || a.Who != "cara" {
		t.Fatalf("an 8-character password from before the rules: %+v %v", a, err)
	}
	if _, err := s.Login(ctx, "nina", "nurse-nina-1", "st-2"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Login(ctx, "ada", "3333", "st-1")
	if !errors.Is(err, ErrBadLogin) || !strings.Contains(err.Error(), "4 tries left") || !strings.Contains(err.Error(), "passphrase, not a PIN") {
		t.Fatalf("an admin's old PIN: %v", err)
	}
	// Said for any digits typed for an admin, right or wrong: it tells
	// nothing of the old PIN.
	if _, err := s.Login(ctx, "ada", "9999", "st-1"); !strings.Contains(fmt.Sprint(err), "3 tries left before the account locks; an admin logs in with a passphrase, not a PIN") {
		t.Fatalf("an admin's wrong digits: %v", err)
	}
	if _, err := s.Login(ctx, "nina", "9999", "st-2"); strings.Contains(fmt.Sprint(err), "passphrase") || !errors.Is(err, ErrBadLogin) {
		t.Fatalf("a nurse's wrong PIN: %v", err)
	}
	if a, err := s.Login(ctx, "ada", "correct horse", "st-1"); err != nil || a.Role != alarms.Admin {
		t.Fatalf("the admin's passphrase: %+v %v", a, err)
	}

	var got []string
	for _, e := range events(t, s, KindLogin) {
		got = append(got, e.Event+" "+e.Who+" "+e.Detail)
	}
	want := []string{
		"login nina login; PIN shorter than 6 digits: an admin should reset it",
		"login cara login; password shorter than 12 characters: an admin should reset it",
		"login nina ",
		"login-failed ada an admin's PIN, not accepted: an admin logs in with the passphrase; an admin should reset the account to remove the PIN",
		"login-failed ada wrong password or PIN",
		"login-failed nina wrong password or PIN",
		"login ada ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("login journal:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	weak, err := s.WeakSecrets(ctx)
	if err != nil || len(weak) != 2 || weak["nina"] != "PIN shorter than 6 digits" || weak["cara"] != "password shorter than 12 characters" {
		t.Fatalf("weak secrets: %q %v", weak, err)
	}
	// An admin's reset clears it (and takes the admin's PIN away).
	now = now.Add(time.Minute)
	if err := s.Reset(ctx, admin, "nina", "nurse-nina-12", "135790"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx, admin, "ada", "correct horse", ""); err != nil {
		t.Fatal(err)
	}
	if weak, _ := s.WeakSecrets(ctx); len(weak) != 1 || weak["cara"] == "" {
		t.Fatalf("weak secrets after nina's reset: %q", weak)
	}
	if _, err := s.Login(ctx, "nina", "1357", "st-2"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("the old PIN after the reset: %v", err)
	}
	users, _ := s.Users(ctx)
	for _, u := range users {
		if u.Name == "ada" && u.HasPIN {
			t.Fatal("the admin's old PIN survived the reset")
		}
	}
}

// A demo journal made before the rules gets the demo's new secrets; one
// that has them is left alone (no reset rows at every start).
func TestRenewDemoUsers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{Demo: true})
	setup := alarms.Actor{Who: "demo-setup", Role: alarms.Admin, Where: "st-1"}
	demo := []NewUser{
		{Name: "demo-admin", Role: alarms.Admin, Password: "demo admin passphrase"},
		{Name: "demo-nurse", Role: alarms.Nurse, Password: "demo-nurse-password", PIN: "111111"},
	}
	if err := s.RenewDemoUsers(ctx, setup, demo); err != nil {
		t.Fatal(err)
	}
	setSecret(t, s, "demo-nurse", "pin", "1111")
	setSecret(t, s, "demo-admin", "pin", "3333")
	resets := func() int {
		n := 0
		for _, e := range events(t, s, KindConfig) {
			if e.Event == "user-reset" {
				n++
			}
		}
		return n
	}
	if err := s.RenewDemoUsers(ctx, setup, demo); err != nil || resets() != 2 {
		t.Fatalf("renewing old demo accounts: %v, %d resets", err, resets())
	}
	if err := s.RenewDemoUsers(ctx, setup, demo); err != nil || resets() != 2 {
		t.Fatalf("renewing current demo accounts: %v, %d resets", err, resets())
	}
	if _, err := s.Login(ctx, "demo-nurse", "111111", "st-1"); err != nil {
		t.Fatalf("demo-nurse's new PIN: %v", err)
	}
	if _, err := s.Login(ctx, "demo-admin", "3333", "st-1"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("demo-admin's old PIN: %v", err)
	}
	if _, err := s.Login(ctx, "demo-admin", "demo admin passphrase", "st-1"); err != nil {
		t.Fatalf("demo-admin's passphrase: %v", err)
	}
	s2 := openTest(t, t.TempDir(), Options{})
	if err := s2.RenewDemoUsers(ctx, setup, demo); err == nil {
		t.Fatal("demo accounts made outside demo mode")
	}
}
