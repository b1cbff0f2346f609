package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store/dbfile"
)

// wardOf is a closed journal with an admin, a nurse, a bed with a patient
// in it, and a failed login, all through the journal.
func wardOf(t *testing.T) (dir string, opt Options) {
	t.Helper()
	dir = t.TempDir()
	opt = Options{KeyFile: filepath.Join(t.TempDir(), "keys", "journal.key")}
	s := openTest(t, dir, opt)
	ctx := context.Background()
	admin := alarms.Actor{Who: "ada", Role: alarms.Admin, Where: "st-1"}
	for _, err := range []error{
		s.AddUser(ctx, admin, NewUser{Name: "ada", Role: alarms.Admin, Password: "a long admin passphrase"}),
		s.AddUser(ctx, admin, NewUser{Name: "nina", Role: alarms.Nurse, Password: "a long nurse password"}),
		s.SaveBed(ctx, admin, "01", "Bed 1", "w1/01", "adult"),
		s.Admit(ctx, admin, "01", Patient{Name: "Pat Smith", MRN: "123", DOB: "1950-01-01"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Login(ctx, "nina", "not her password", "st-1"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if !s.OpenCheck().OK() {
		t.Fatalf("a new journal fails its open check: %+v", s.OpenCheck())
	}
	v := mustVerify(t, s)
	if !v.OK() {
		t.Fatalf("the ward's own changes do not verify: %v", v)
	}
	var chained int
	s.DB().QueryRow("SELECT count(*) FROM events WHERE state != ''").Scan(&chained)
	if chained != 5 { // four changes and the failed login's count
		t.Fatalf("%d rows carry the tables' state, want 5 (one per change)", chained)
	}
	s.Close()
	return dir, opt
}

func editTables(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// Each edit an attacker with the file (and without the key) would make to
// the mutable tables is reported at the next open, by the full
// verification, and again at every later open.
func TestStateEditedOutsideTheJournalIsCaught(t *testing.T) {
	for name, stmts := range map[string][]string{
		"role raised":       {"UPDATE users SET role = 'admin' WHERE name = 'nina'"},
		"password replaced": {"UPDATE users SET password = (SELECT password FROM users WHERE name = 'ada') WHERE name = 'nina'"},
		"lockout cleared":   {"UPDATE users SET failures = 0"},
		"account added": {"INSERT INTO users(name, display, role, password, created_ms, changed_ms) " +
			"SELECT 'eve', 'Eve', 'admin', password, 1, 1 FROM users WHERE name = 'ada'"},
		"patient renamed": {"UPDATE beds SET patient = 'Somebody Else'"},
		"stay deleted":    {"DELETE FROM stays"},
		"bed feed moved":  {"UPDATE beds SET feed = 'w1/99'"},
	} {
		t.Run(name, func(t *testing.T) {
			dir, opt := wardOf(t)
			editTables(t, dir, stmts...)
			s := openTest(t, dir, opt)
			oc := s.OpenCheck()
			want := "changed outside the journal after row"
			if oc.OK() || !strings.Contains(strings.Join(oc.Problems, "\n"), want) {
				t.Fatalf("the check at open does not say %q: %+v", want, oc.Problems)
			}
			v, err := s.VerifyChain(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK() || !strings.Contains(strings.Join(v.Problems, "\n"), EventTablesChanged) &&
				!strings.Contains(strings.Join(v.Problems, "\n"), "found at open") {
				t.Fatalf("VerifyChain does not report it: %+v", v.Problems)
			}
			s.Close()
			// Recorded in the chain: the finding outlives the open that
			// made it, and a later change does not launder it.
			s = openTest(t, dir, opt)
			if err := s.SaveBed(context.Background(), alarms.Actor{Who: "ada", Role: alarms.Admin}, "02", "Bed 2", "w1/02", "adult"); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = openTest(t, dir, opt)
			if oc := s.OpenCheck(); oc.OK() || !strings.Contains(strings.Join(oc.Problems, "\n"), "found at open") {
				t.Fatalf("a later open no longer reports it: %+v", oc.Problems)
			}
		})
	}
}

// The tables put back as they were leave nothing to report: the digest is
// of what they hold, not of how often they were touched.
func TestStateEditUndoneVerifies(t *testing.T) {
	dir, opt := wardOf(t)
	editTables(t, dir, "UPDATE beds SET label = 'Bed One'", "UPDATE beds SET label = 'Bed 1'")
	s := openTest(t, dir, opt)
	if !s.OpenCheck().OK() {
		t.Fatalf("tables as the journal left them are reported: %+v", s.OpenCheck().Problems)
	}
}

// A journal begun with the chained state starts from empty tables: an
// account slipped into it before its first change is caught.
func TestStateAccountSlippedIntoANewJournal(t *testing.T) {
	dir := t.TempDir()
	opt := Options{KeyFile: filepath.Join(t.TempDir(), "journal.key")}
	s := openTest(t, dir, opt)
	<-s.Append(Event{Kind: KindAlarm, Event: "raised"})
	s.Close()
	editTables(t, dir, "INSERT INTO users(name, display, role, password, created_ms, changed_ms) VALUES ('eve', 'Eve', 'admin', 'x', 1, 1)")
	s = openTest(t, dir, opt)
	if oc := s.OpenCheck(); oc.OK() || !strings.Contains(strings.Join(oc.Problems, "\n"), "since the journal began") {
		t.Fatalf("an account inserted around the journal is not reported: %+v", oc.Problems)
	}
}

// A journal from before migration 0004, with users and beds, keeps every
// row, gets its tables' first state at the open that migrates it, and is
// guarded from then on.
func TestStateMigratesAnOlderJournal(t *testing.T) {
	dir := t.TempDir()
	db := oldJournal(t, dir, "0001_journal.sql", "0002_bed_device.sql")
	for _, q := range []string{
		"INSERT INTO users(name, display, role, password, created_ms, changed_ms) VALUES ('ada', 'Ada', 'admin', 'x', 1, 1)",
		"INSERT INTO beds(id, label, changed_ms) VALUES ('01', 'Bed 1', 1)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	insertOld(t, db, []Event{{Kind: KindConfig, Event: "user-added"}, {Kind: KindConfig, Event: "bed-saved"}})
	db.Close()

	opt := Options{KeyFile: filepath.Join(t.TempDir(), "journal.key")}
	s := openTest(t, dir, opt)
	if !s.OpenCheck().OK() {
		t.Fatalf("the migrated journal is reported: %+v", s.OpenCheck().Problems)
	}
	evs, _ := s.Events(context.Background(), Filter{})
	var chainedAt int64
	for _, e := range evs {
		if e.Event == "journal-state-chained" && e.State != "" {
			chainedAt = e.Seq
		}
	}
	if len(evs) < 4 || evs[0].Event != "user-added" || chainedAt == 0 {
		t.Fatalf("rows after migration: %+v", evs)
	}
	if v := mustVerify(t, s); !v.OK() {
		t.Fatalf("the migrated journal does not verify: %v", v)
	}
	s.Close()
	editTables(t, dir, "UPDATE users SET role = 'nurse'")
	s = openTest(t, dir, opt)
	if s.OpenCheck().OK() {
		t.Fatal("an edit after the migration is not reported")
	}
}

// insertOld appends rows the way a journal before migration 0004 did (no
// state column), SHA-256 chained.
func insertOld(t *testing.T, db *sql.DB, evs []Event) {
	t.Helper()
	prev := zeroHash
	var seq int64
	if err := db.QueryRow("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	for i := range evs {
		e := &evs[i]
		seq++
		e.Seq, e.Prev = seq, prev
		e.Hash = chainHash(prev, e)
		if _, err := db.Exec(`INSERT INTO events(seq, at_ms, kind, event, alarm_id, bed, who, role, station, detail, old, new, prev_hash, hash)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, e.Seq, e.At.UnixMilli(), e.Kind, e.Event, e.AlarmID, e.Bed, e.Who, e.Role,
			e.Station, e.Detail, e.Old, e.New, e.Prev, e.Hash); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
}

// oldJournal is a journal in dir made by an older Vigil: only the
// migrations named.
func oldJournal(t *testing.T, dir string, migrations ...string) *sql.DB {
	t.Helper()
	old := fstest.MapFS{}
	for _, n := range migrations {
		b, err := fs.ReadFile(migrationFiles, "migrations/"+n)
		if err != nil {
			t.Fatal(err)
		}
		old[n] = &fstest.MapFile{Data: b}
	}
	db, _, err := dbfile.Open(context.Background(), filepath.Join(dir, JournalFile), dbfile.Spec{AppID: AppID, Kind: "journal", Migrations: old})
	if err != nil {
		t.Fatal(err)
	}
	return db
}
