package app

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
)

// runCLI runs one vigil command line and returns its output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cfg, err := Parse(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = Run(context.Background(), cfg, &out, io.Discard)
	return out.String(), err
}

// seedJournal writes n rows into the journal in dir.
func seedJournal(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := store.Open(context.Background(), dir, store.Options{Station: "st"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := <-s.Append(store.Event{Kind: store.KindAlarm, Event: "raised", Bed: "01", Detail: "row"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A demo station started with --data DIR keeps its journal in DIR/demo:
// vigil journal verify/export --data DIR find it and say which was used.
func TestJournalCLIFindsTheDemoJournal(t *testing.T) {
	t.Setenv(store.KeyEnv, filepath.Join(t.TempDir(), "journal.key"))
	dir := t.TempDir()
	seedJournal(t, filepath.Join(dir, "demo"), 3)
	out, err := runCLI(t, "journal", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "hash chain: ok") {
		t.Fatalf("verify --data DIR of a demo station: %v\n%s", err, out)
	}
	if !strings.Contains(out, filepath.Join(dir, "demo", store.JournalFile)) || !strings.Contains(out, "demo") {
		t.Fatalf("verify does not say it used the demo's journal:\n%s", out)
	}
	out, err = runCLI(t, "journal", "export", "--data", dir, "--format", "json")
	if err != nil || strings.Count(out, `"seq"`) != 3 {
		t.Fatalf("export --data DIR of a demo station: %v\n%s", err, out)
	}
	// A ward's own journal wins over a demo's beside it.
	seedJournal(t, dir, 1)
	out, err = runCLI(t, "journal", "export", "--data", dir, "--format", "json")
	if err != nil || strings.Count(out, `"seq"`) != 1 {
		t.Fatalf("export with both journals should use DIR/journal.db: %v\n%s", err, out)
	}
	// Neither: the answer names both places.
	empty := t.TempDir()
	_, err = runCLI(t, "journal", "verify", "--data", empty)
	if err == nil || !strings.Contains(err.Error(), "demo") {
		t.Fatalf("no journal: %v", err)
	}
}

// Issue 23: the last two rows deleted (triggers dropped and put back) and
// a row edited: vigil journal verify says so, with a non-zero exit.
func TestJournalCLIVerifyReportsTampering(t *testing.T) {
	t.Setenv(store.KeyEnv, filepath.Join(t.TempDir(), "journal.key"))
	for name, stmt := range map[string]string{
		"cut":  "DELETE FROM events WHERE seq > 8",
		"edit": "UPDATE events SET detail = 'nothing' WHERE seq = 9",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			seedJournal(t, filepath.Join(dir, "demo"), 10)
			if out, err := runCLI(t, "journal", "verify", "--data", dir); err != nil {
				t.Fatalf("before: %v\n%s", err, out)
			}
			db, err := sql.Open("sqlite", filepath.Join(dir, "demo", store.JournalFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"DROP TRIGGER events_append_only_update", "DROP TRIGGER events_append_only_delete", stmt,
				"CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END",
				"CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END"} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			out, err := runCLI(t, "journal", "verify", "--data", dir)
			want := map[string]string{"cut": "problem: cut: the journal ends at seq 8 but the checkpoint says 10",
				"edit": "problem: row 9 was changed"}[name]
			if !errors.Is(err, ErrJournalBroken) || !strings.Contains(out, want) || strings.Contains(out, "hash chain: ok") {
				t.Fatalf("verify after the %s: %v\n%s", name, err, out)
			}
		})
	}
}

// A station that opens a journal whose history was cut raises the
// journal's technical alarm at start, naming the cut.
func TestStationAlarmsOnCutJournal(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	core := startStation(t, cfg)
	admin := alarms.Actor{Who: "admin", Role: alarms.Admin, Where: "test"}
	for i := range 5 {
		<-core.Store.Append(store.Event{Kind: store.KindConfig, Event: "note", Who: admin.Who, Detail: fmt.Sprint(i)})
	}
	path := core.Store.File()
	core.Close()
	// Cut the last two rows as someone with file access would.
	cutJournal(t, path, lastSeqOf(t, path)-2)
	again := startStation(t, cfg)
	a := awaitAlarm(t, again, alarms.CodeJournal, "the journal's technical alarm")
	if !strings.Contains(a.Message, "cut") || !strings.Contains(a.Message, "vigil journal verify") {
		t.Fatalf("the alarm says %q", a.Message)
	}
}
