package app

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
)

// vigil users list names the accounts that logged in with a secret from
// before the rules, so that an admin resets them.
func TestUsersListShowsWeakSecrets(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), dir, store.Options{Station: "st"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := alarms.Actor{Who: "ada", Role: alarms.Admin}
	for _, u := range []store.NewUser{
		{Name: "ada", Role: alarms.Admin, Password: "a long admin passphrase"},
		{Name: "nina", Role: alarms.Nurse, Password: "a long nurse password", PIN: "135792"},
	} {
		if err := s.AddUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// An account as an older Vigil made it: a 4-digit PIN.
	db, err := sql.Open("sqlite", filepath.Join(dir, store.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE users SET pin = ? WHERE name = 'nina'", store.HashSecret("1357")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = store.Open(context.Background(), dir, store.Options{Station: "st"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "nina", "1357", "st"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out, err := runCLI(t, "users", "list", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	var nina, ada string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "nina"):
			nina = l
		case strings.HasPrefix(l, "ada"):
			ada = l
		}
	}
	if !strings.Contains(nina, "PIN shorter than 6 digits: reset it") || strings.Contains(ada, "reset it") {
		t.Fatalf("users list:\n%s", out)
	}
}
