package store

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTest(t *testing.T, dir string, opt Options) *Store {
	t.Helper()
	if opt.Log == nil {
		opt.Log = quiet()
	}
	if opt.Station == "" {
		opt.Station = "st-1"
	}
	s, err := Open(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustVerify(t *testing.T, s *Store) ChainReport {
	t.Helper()
	v, err := s.VerifyChain(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() {
		t.Fatalf("journal does not verify: %+v", v)
	}
	return v
}

// Rows from many goroutines are all durable when their channel answers,
// committed in groups, chained, and the chain verifies after a reopen.
func TestAppendGroupCommitAndChain(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if err := <-s.Record(alarms.Record{Event: "acknowledged", AlarmID: "a", Who: "anna", Where: "st-1",
					Detail: strings.Repeat("x", g+i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Written != 800 || st.Commits >= 800 {
		t.Fatalf("stats %+v: want 800 rows in fewer commits", st)
	}
	s.Close()
	s = openTest(t, dir, Options{})
	if v := mustVerify(t, s); v.Rows != 800 {
		t.Fatalf("%d rows after reopen", v.Rows)
	}
}

// Rows cannot be changed or removed; if someone goes around the guards,
// verify finds it.
func TestAppendOnlyAndTamperDetected(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	for _, ev := range []string{"raised", "acknowledged", "ended", "resolved"} {
		if err := <-s.Record(alarms.Record{Event: ev, AlarmID: "W/05.spo2-low.1", Bed: "05"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, q := range []string{"UPDATE events SET who = 'mallory' WHERE seq = 2", "DELETE FROM events WHERE seq = 3"} {
		if _, err := s.DB().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustVerify(t, s)
	if _, err := s.DB().ExecContext(ctx, "DROP TRIGGER events_append_only_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, "UPDATE events SET who = 'mallory' WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	v, err := s.VerifyChain(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(v.Problems, "\n")
	if v.OK() || !strings.Contains(got, "trigger events_append_only_update is missing") || !strings.Contains(got, "row 2 was changed") {
		t.Fatalf("tampering not found: %+v", v)
	}
}

// A file that is not a database, or someone else's database, is set aside
// with a timestamp and a new journal started; nothing is overwritten.
func TestCorruptOrForeignJournalSetAside(t *testing.T) {
	for name, prepare := range map[string]func(file string){
		"garbage": func(file string) { os.WriteFile(file, []byte(strings.Repeat("not a database ", 500)), 0o600) },
		"foreign": func(file string) {
			db, err := sql.Open("sqlite", file)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, JournalFile)
			prepare(file)
			before, _ := os.ReadFile(file)
			s := openTest(t, dir, Options{})
			a := s.SetAside()
			if a == nil || !strings.Contains(a.Path, ".unusable-") {
				t.Fatalf("not set aside: %+v", a)
			}
			after, err := os.ReadFile(a.Path)
			if err != nil || string(after) != string(before) {
				t.Fatalf("the set-aside file differs from the original (%v)", err)
			}
			evs, err := s.Events(context.Background(), Filter{Kinds: []string{KindTechnical}})
			if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Detail, filepath.Base(a.Path)) {
				t.Fatalf("the new journal does not say so: %+v %v", evs, err)
			}
			mustVerify(t, s)
		})
	}
}

func TestExport(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	now := t0
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	for i := range 10 {
		now = t0.Add(time.Duration(i) * time.Minute)
		if err := <-s.Record(alarms.Record{At: now, Event: "raised", Bed: "05", Detail: `SpO2 "88", < 90`}); err != nil {
			t.Fatal(err)
		}
	}
	var csvOut, jsonOut strings.Builder
	n, err := s.Export(context.Background(), &csvOut, t0.Add(2*time.Minute), t0.Add(5*time.Minute), "csv")
	if err != nil || n != 3 {
		t.Fatalf("csv: %d rows, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "seq,at,kind") || !strings.Contains(lines[1], `"SpO2 ""88"", < 90"`) ||
		!strings.HasPrefix(lines[1], "3,2026-11-24T08:02:00Z,alarm,raised") {
		t.Fatalf("csv:\n%s", csvOut.String())
	}
	if n, err := s.Export(context.Background(), &jsonOut, time.Time{}, time.Time{}, "json"); err != nil || n != 10 ||
		!strings.HasPrefix(jsonOut.String(), `[{"seq":1,"at":"2026-11-24T08:00:00Z","kind":"alarm"`) {
		t.Fatalf("json %d %v:\n%s", n, err, jsonOut.String())
	}
	if _, err := s.Export(context.Background(), io.Discard, time.Time{}, time.Time{}, "xml"); err == nil {
		t.Fatal("xml accepted")
	}
}
