package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
)

// The log rotates at its size cap, keeps three old files, never splits a
// record, and is 0600.
func TestLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.log")
	l, err := openRotatingLog(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 100 {
		fmt.Fprintf(l, "record %03d %s\n", i, strings.Repeat("x", 80))
	}
	for _, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if st.Size() > 1000 {
			t.Errorf("%s is %d bytes, over the cap", filepath.Base(p), st.Size())
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %v", filepath.Base(p), st.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if !strings.HasPrefix(line, "record ") || len(line) != 91 {
				t.Fatalf("%s has a split record %q", filepath.Base(p), line)
			}
		}
	}
	if _, err := os.Stat(path + ".4"); err == nil {
		t.Error("a fourth old log is kept")
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "record 099") {
		t.Error("the newest record is not in the current log")
	}
}

// The data directory is the station user's only (0700), the log 0600, and
// an export is journalled with who, what and when.
func TestDataDirModesAndExportJournalled(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	if err := os.Chmod(cfg.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	core := startStation(t, cfg)
	modes := func() {
		t.Helper()
		jdir := cfg.journalDir(cfg.DataDir)
		for p, want := range map[string]os.FileMode{cfg.DataDir: 0o700, filepath.Join(cfg.DataDir, "vigil.log"): 0o600,
			filepath.Join(jdir, store.JournalFile): 0o600, filepath.Join(jdir, store.JournalFile+"-wal"): 0o600,
			filepath.Join(jdir, store.JournalFile+"-shm"): 0o600, filepath.Join(jdir, RecordingsFile): 0o600,
			filepath.Join(jdir, RecordingsFile+"-wal"): 0o600} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != want {
				t.Errorf("%s is mode %v, want %v", filepath.Base(p), st.Mode().Perm(), want)
			}
		}
	}
	modes()
	// A journal an older Vigil left readable by others is made the
	// owner's at the next start.
	core.Close()
	for _, f := range []string{store.JournalFile, RecordingsFile} {
		if err := os.Chmod(filepath.Join(cfg.journalDir(cfg.DataDir), f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	core = startStation(t, cfg)
	modes()
	core.Alarms.SetOperator(alarms.Actor{Who: "nina", Role: alarms.Nurse, Where: "st"})
	core.journalExport(filepath.Join(cfg.DataDir, "exports", "vigil-bed05-20261208-alarm.png"))
	var rows []store.Event
	waitFor(t, 3*time.Second, "the export in the journal", func() bool {
		var err error
		rows, err = core.Store.Events(context.Background(), store.Filter{Kinds: []string{store.KindConfig}, Who: "nina"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Event == "exported" && r.Who == "nina" && r.Detail == "vigil-bed05-20261208-alarm.png" && !r.At.IsZero() {
				return true
			}
		}
		return false
	})
}
