package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
)

// lastSeqOf is the last row of the journal file (read while no station has
// it open).
func lastSeqOf(t *testing.T, file string) int64 {
	t.Helper()
	db, err := store.OpenReadOnly(file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT coalesce(max(seq), 0) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// cutJournal deletes the rows after seq as someone with the file would:
// the append-only trigger dropped, the rows deleted, the trigger put back.
func cutJournal(t *testing.T, file string, seq int64) {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"DROP TRIGGER events_append_only_delete",
		fmt.Sprintf("DELETE FROM events WHERE seq > %d", seq),
		"CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
}

// twoStations starts stations A and B of a new ward, each publishing its
// journal checkpoint every 200 ms.
func twoStations(t *testing.T) (ward string, acfg, bcfg Config, a, b *Core) {
	t.Helper()
	ward = testConfig(t, "").Ward
	acfg = stationConfig(t, ward, "st-a", "nurse")
	bcfg = stationConfig(t, ward, "st-b", "nurse")
	acfg.JournalCheckpointEvery, bcfg.JournalCheckpointEvery = 200*time.Millisecond, 200*time.Millisecond
	return ward, acfg, bcfg, startStation(t, acfg), startStation(t, bcfg)
}

// keptOf is the highest seq of station's checkpoints c kept.
func keptOf(c *Core, station string) int64 {
	var n sql.NullInt64
	_ = c.Store.DB().QueryRow("SELECT max(seq) FROM peer_checkpoints WHERE station = ?", station).Scan(&n)
	return n.Int64
}

// A station's journal cut or rewritten on its own host, with the key and
// its local checkpoint gone too (so that the station's own check finds
// nothing), is caught by what the ward kept: the other station's kept
// checkpoints (--peer), the broker's retained one (--broker), and the
// station itself at its next start (a technical alarm).
func TestJournalCheckpointsKeptByTheWard(t *testing.T) {
	ward, acfg, bcfg, a, b := twoStations(t)
	for i := range 12 {
		if err := <-a.Store.Append(store.Event{Kind: store.KindConfig, Event: "note", Who: "admin", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	file, cpFile := a.Store.File(), a.Store.CheckpointFile()
	a.Close() // the final checkpoint, acknowledged before the link closes
	final := lastSeqOf(t, file)
	waitFor(t, 5*time.Second, fmt.Sprintf("station B keeping A's checkpoint at seq %d", final), func() bool { return keptOf(b, "st-a") >= final })
	if a.jsync.published.Load() < 1 {
		t.Fatalf("A published %d checkpoints", a.jsync.published.Load())
	}

	verify := func(extra ...string) (string, error) {
		return runCLI(t, append([]string{"journal", "verify", "--data", acfg.DataDir}, extra...)...)
	}
	peer := []string{"--peer", bcfg.DataDir}
	broker := []string{"--broker", mosquittoURL, "--ward", ward}
	for _, extra := range [][]string{nil, peer, broker} {
		if out, err := verify(extra...); err != nil || !strings.Contains(out, "hash chain: ok") {
			t.Fatalf("verify %v before any tampering: %v\n%s", extra, err, out)
		}
	}

	// The attacker cuts the last 6 rows and deletes the local checkpoint.
	cutJournal(t, file, final-6)
	if err := os.Remove(cpFile); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "hash chain: ok") {
		t.Fatalf("the local check alone was expected to miss the cut (no checkpoint left): %v\n%s", err, out)
	}
	for _, extra := range [][]string{peer, broker} {
		out, err := verify(extra...)
		want := fmt.Sprintf("but it ends at seq %d", final-6)
		t.Logf("verify %v:\n%s", extra, out)
		if !errors.Is(err, ErrJournalBroken) || !strings.Contains(out, "problem: cut: ") || !strings.Contains(out, want) {
			t.Fatalf("verify %v after the cut: %v\n%s", extra, err, out)
		}
	}

	// Restarted, the station gets the broker's retained copy of its own
	// checkpoint and raises the alarm.
	again := startStation(t, acfg)
	x := awaitAlarm(t, again, alarms.CodeJournalCheckpoint, "the journal checkpoint's technical alarm")
	if !strings.Contains(x.Message, "cut") || !strings.Contains(x.Message, "vigil journal verify") {
		t.Fatalf("the alarm says %q", x.Message)
	}
	rows, err := again.Store.Events(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range rows {
		found = found || e.Event == "journal-checkpoint-mismatch"
	}
	if !found {
		t.Fatal("the mismatch is not journalled")
	}
	again.Close()
}

// With the key, the attacker refills the cut rows with others, properly
// chained: locally the journal verifies; the ward's copies say it was
// rewritten.
func TestJournalRewrittenWithTheKeyCaughtByThePeer(t *testing.T) {
	_, acfg, bcfg, a, b := twoStations(t)
	for i := range 4 {
		<-a.Store.Append(store.Event{Kind: store.KindAlarm, Event: "acknowledged", Who: "nina", Detail: fmt.Sprint(i)})
	}
	file, cpFile := a.Store.File(), a.Store.CheckpointFile()
	a.Close()
	final := lastSeqOf(t, file)
	waitFor(t, 5*time.Second, "station B keeping A's last checkpoint", func() bool { return keptOf(b, "st-a") >= final })

	cutJournal(t, file, final-4)
	os.Remove(cpFile)
	s, err := store.Open(context.Background(), acfg.DataDir, store.Options{Station: "st-a"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 { // other rows, chained with the key
		<-s.Append(store.Event{Kind: store.KindAlarm, Event: "acknowledged", Who: "someone else", Detail: fmt.Sprint(i)})
	}
	s.Close()
	if out, err := runCLI(t, "journal", "verify", "--data", acfg.DataDir); err != nil {
		t.Fatalf("locally the refilled journal was expected to verify: %v\n%s", err, out)
	}
	out, err := runCLI(t, "journal", "verify", "--data", acfg.DataDir, "--peer", bcfg.DataDir)
	if !errors.Is(err, ErrJournalBroken) || !strings.Contains(out, "problem: rewritten: row ") {
		t.Fatalf("verify --peer after the rewrite: %v\n%s", err, out)
	}
}

// Checkpoints that are not what they claim are refused and counted, not
// kept: another station's name on the topic, unsigned bytes.
func TestJournalCheckpointForgeriesRefused(t *testing.T) {
	ward := testConfig(t, "").Ward
	acfg := stationConfig(t, ward, "st-a", "nurse")
	a := startStation(t, acfg)
	in := newIntruder(t, mosquittoURL, "#")
	in.publish(journalTopic(ward, "st-b"), true, []byte(`{"station":"st-b","seq":999999,"hash":"00"}`))
	// A's own signed checkpoint replayed on another station's topic.
	own := a.sync.id.Sign(journalTopic(ward, "st-a"), []byte(`{"station":"st-a","seq":1,"hash":"00"}`), time.Now())
	in.publish(journalTopic(ward, "st-c"), true, own)
	waitFor(t, 5*time.Second, "both refused", func() bool { return a.sync.rejected.Load() >= 2 })
	if n := a.jsync.kept.Load(); n != 0 || keptOf(a, "st-b") != 0 {
		t.Fatalf("a forged checkpoint was kept (%d)", n)
	}
	if _, ok := findAlarm(a, alarms.CodeForged); !ok {
		t.Fatal("no technical alarm for the refused station messages")
	}
}
