package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-station/vigil/alarms"
)

// The key is made 0600 outside the data directory on first open; new rows
// are HMAC-chained with it; a key others may read, or one inside the data
// directory, is refused; a lost key stops the open with a clear message.
func TestJournalKey(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "vigil", "journal.key")
	s := openTest(t, dir, Options{KeyFile: keyFile})
	<-s.Append(Event{Kind: KindAlarm, Event: "raised"})
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	key := keyOf(t, Options{KeyFile: keyFile})
	evs, _ := s.Events(context.Background(), Filter{})
	m := hmac.New(sha256.New, key)
	if len(evs) != 1 || !hmac.Equal(evs[0].Hash, rowDigest(m, zeroHash, &evs[0])) {
		t.Fatalf("row 1 is not HMAC-chained with the key")
	}
	s.Close()
	if err := os.Chmod(keyFile, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir, Options{KeyFile: keyFile, Log: quiet()}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a group-readable key: %v", err)
	}
	os.Chmod(keyFile, 0o600)
	if _, err := Open(context.Background(), dir, Options{KeyFile: filepath.Join(dir, "k"), Log: quiet()}); err == nil || !strings.Contains(err.Error(), "inside the data directory") {
		t.Fatalf("a key in the data directory: %v", err)
	}
	os.Rename(keyFile, keyFile+".gone")
	if _, err := Open(context.Background(), dir, Options{KeyFile: keyFile, Log: quiet()}); err == nil || !strings.Contains(err.Error(), "restore it from the backup") {
		t.Fatalf("a lost key: %v", err)
	}
}

// A journal written before 0003 keeps its SHA-256 rows, verifiable as they
// were; the keyed chain starts after them, with a row saying so.
func TestJournalMigratesToTheKeyedChain(t *testing.T) {
	dir := t.TempDir()
	db := oldJournal(t, dir, "0001_journal.sql", "0002_bed_device.sql")
	insertOld(t, db, []Event{{Kind: KindAlarm, Event: "raised"}, {Kind: KindAlarm, Event: "resolved"}})
	db.Close()

	s := openTest(t, dir, Options{KeyFile: filepath.Join(t.TempDir(), "journal.key")})
	<-s.Append(Event{Kind: KindAlarm, Event: "raised"})
	v := mustVerify(t, s)
	evs, _ := s.Events(context.Background(), Filter{})
	if v.HMACFrom != 3 || len(evs) != 4 || evs[2].Event != "journal-chain-keyed" || !hmac.Equal(evs[0].Hash, chainHash(zeroHash, &evs[0])) {
		t.Fatalf("from %d, rows %+v", v.HMACFrom, evs)
	}
}

// users and beds are chained: every change to them writes its config row
// in the same transaction, and a change refused writes neither.
func TestJournalUsersAndBedsChangesAreChained(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	ctx := context.Background()
	admin := alarms.Actor{Who: "ada", Role: alarms.Admin, Where: "st-1"}
	count := func() int {
		var n int
		s.DB().QueryRow("SELECT count(*) FROM events WHERE kind = 'config'").Scan(&n)
		return n
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"add user", func() error {
			return s.AddUser(ctx, admin, NewUser{Name: "nina", Display: "Nina", Role: alarms.Nurse, Password: "correct horse battery"})
		}},
		{"disable", func() error { return s.SetDisabled(ctx, admin, "nina", true) }},
		{"enable", func() error { return s.SetDisabled(ctx, admin, "nina", false) }},
		{"reset", func() error { return s.Reset(ctx, admin, "nina", "another long password", "") }},
		{"save bed", func() error { return s.SaveBed(ctx, admin, "01", "Bed 1", "w1/01", "adult") }},
		{"bind device", func() error { return s.BindDevice(ctx, admin, "01", "dev-1") }},
		{"admit", func() error {
			return s.Admit(ctx, admin, "01", Patient{Name: "Pat", MRN: "123", DOB: "1950-01-01"})
		}},
		{"assign", func() error { return s.Assign(ctx, admin, "01", "nina") }},
		{"limit", func() error { return s.SetLimit(ctx, admin, "01", "hr", 40, 130) }},
		{"standby", func() error { return s.Standby(ctx, admin, "01", true) }},
		{"standby off", func() error { return s.Standby(ctx, admin, "01", false) }},
		{"save bed 2", func() error { return s.SaveBed(ctx, admin, "02", "Bed 2", "w1/02", "adult") }},
		{"transfer", func() error { return s.Transfer(ctx, admin, "01", "02") }},
		{"discharge", func() error { return s.Discharge(ctx, admin, "02") }},
	}
	for _, st := range steps {
		before := count()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if count() <= before {
			t.Errorf("%s changed users or beds without a config row in the chain", st.name)
		}
	}
	before := count()
	if err := s.SaveBed(ctx, alarms.Actor{Who: "nina", Role: alarms.Nurse}, "03", "Bed 3", "w1/03", "adult"); err == nil {
		t.Fatal("a nurse saved a bed")
	}
	var beds int
	s.DB().QueryRow("SELECT count(*) FROM beds WHERE id = '03'").Scan(&beds)
	if beds != 0 || count() != before {
		t.Fatalf("a refused change left a bed (%d) or a config row", beds)
	}
	mustVerify(t, s)
}
