package app

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/app/store/recordings"
	"github.com/vigil-station/vigil/monitor/feed"
)

// A headless station over a real broker: its alarms and the operator's
// acknowledgement are in the journal, which `vigil journal verify` passes;
// every waveform sample the hub accepted is in the recordings, and the
// numerics make trend minutes.
func TestStationJournalsAndRecords(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	cfg.Sim = 2
	cfg.Operator, cfg.Role = "nina", "charge"
	cfg.NumStale, cfg.WaveStale = time.Hour, time.Hour
	start := time.Now()
	core := startStation(t, cfg)
	dev := newDevice(t, mosquittoURL, cfg.Ward, "07")
	dev.num("07", spo2(80))
	var id string
	waitFor(t, 5*time.Second, "the desaturation alarm", func() bool {
		a, ok := findAlarm(core, "spo2-desat")
		id = a.ID
		return ok
	})
	if err := core.Alarms.Acknowledge(id); err != nil {
		t.Fatal(err)
	}
	dev.num("07", spo2(82))
	waitFor(t, 10*time.Second, "3 s of waveforms from both simulated beds", func() bool {
		for _, n := range core.Ward.BedNames() {
			b := core.Hub.Bed(n)
			if b == nil || b.Channel(feed.MDCECGLeadII) == nil || b.Channel(feed.MDCECGLeadII).Received() < 750 {
				return false
			}
		}
		return true
	})
	core.Close()
	received := map[string]uint64{}
	for _, n := range core.Ward.BedNames() {
		received[n] = core.Hub.Bed(n).Channel(feed.MDCECGLeadII).Received()
	}

	// The journal, through the command IT would run.
	vcfg, err := Parse([]string{"journal", "verify", "--data", cfg.DataDir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), vcfg, &out, io.Discard); err != nil || !strings.Contains(out.String(), "hash chain: ok") {
		t.Fatalf("vigil journal verify: %v\n%s", err, out.String())
	}
	st, err := store.Open(context.Background(), cfg.DataDir, store.Options{Station: "check", Log: core.Log})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(context.Background(), store.Filter{Kinds: []string{store.KindAlarm}})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var raised, acked bool
	for _, e := range evs {
		if e.AlarmID == id && e.Event == "raised" {
			raised = true
		}
		if e.AlarmID == id && e.Event == "acknowledged" && e.Who == "nina" && e.Role == "charge" {
			acked = true
		}
	}
	if !raised || !acked {
		t.Fatalf("journal of alarm %s: raised %v, acknowledged by nina %v (%d alarm rows)", id, raised, acked, len(evs))
	}

	// The recordings: every accepted ECG sample, and a trend minute.
	rec, _, err := recordings.Open(context.Background(), filepath.Join(cfg.DataDir, RecordingsFile), recordings.Options{Log: core.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	for bed, n := range received {
		segs, err := rec.Disclosure(context.Background(), bed, "131330", start.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		stored := 0
		for _, s := range segs {
			stored += len(s.Samples)
		}
		if uint64(stored) != n {
			t.Fatalf("bed %s: %d ECG samples stored in %d segments, %d accepted by the hub", bed, stored, len(segs), n)
		}
		t.Logf("bed %s: %d ECG samples accepted, %d stored (%d segments)", bed, n, stored, len(segs))
	}
	tr, err := rec.Trend(context.Background(), "07", "SpO2", start.Add(-time.Minute), time.Now().Add(time.Minute))
	if err != nil || len(tr) == 0 {
		t.Fatalf("SpO2 trend of bed 07: %v %v", tr, err)
	}
	if got := tr[len(tr)-1]; got.Median != 81 && got.Median != 80 && got.Median != 82 {
		t.Fatalf("SpO2 trend of bed 07: %+v, want the median of 80 and 82", tr)
	}
}

// A recordings file that is not one is set aside; the station runs, records
// into a new file, and a LOW technical alarm tells IT.
func TestForeignRecordingsSetAside(t *testing.T) {
	cfg := testConfig(t, mosquittoURL)
	cfg.Operator = "nina"
	garbage := bytes.Repeat([]byte("not a database "), 500)
	if err := os.WriteFile(filepath.Join(cfg.DataDir, RecordingsFile), garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	core := startStation(t, cfg)
	a := awaitAlarm(t, core, alarms.CodeRecordings, "the recordings' technical alarm")
	if a.Priority != alarms.Low || !strings.Contains(a.Message, "Recordings file was unusable") {
		t.Fatalf("alarm %v %q", a.Priority, a.Message)
	}
	if core.Recordings == nil {
		t.Fatal("the station did not start new recordings")
	}
	kept, _ := filepath.Glob(filepath.Join(cfg.DataDir, RecordingsFile+".unusable-*"))
	if len(kept) != 1 {
		t.Fatalf("set-aside files: %v", kept)
	}
	if b, err := os.ReadFile(kept[0]); err != nil || !bytes.Equal(b, garbage) {
		t.Fatalf("the unusable file was not kept byte for byte (%v)", err)
	}
	t.Logf("technical alarm %q", a.Message)
}
