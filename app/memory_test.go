package app

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"
)

// TestStationMemorySettings: a station run collects at GOGC=50 unless the
// environment sets GOGC, and VIGIL_MEMPROFILE writes a heap profile (a
// gzip-compressed pprof protobuf) when the run ends.
func TestStationMemorySettings(t *testing.T) {
	run := func(t *testing.T, gogc string) (percent int, profile []byte) {
		t.Helper()
		prev := debug.SetGCPercent(100)
		defer debug.SetGCPercent(prev)
		t.Setenv("GOGC", gogc)
		path := filepath.Join(t.TempDir(), "vigil.heap")
		t.Setenv("VIGIL_MEMPROFILE", path)
		cfg := testConfig(t, "")
		cfg.Sim, cfg.Duration = 2, 2*time.Second
		if err := Run(context.Background(), cfg, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		percent = debug.SetGCPercent(100)
		profile, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("VIGIL_MEMPROFILE: %v", err)
		}
		return percent, profile
	}
	t.Run("default", func(t *testing.T) {
		percent, prof := run(t, "")
		if percent != stationGCPercent {
			t.Fatalf("GC percent %d during a station run, want %d", percent, stationGCPercent)
		}
		if len(prof) < 200 || !bytes.HasPrefix(prof, []byte{0x1f, 0x8b}) {
			t.Fatalf("heap profile of %d bytes, not a gzip-compressed pprof profile", len(prof))
		}
	})
	t.Run("GOGC set", func(t *testing.T) {
		if percent, _ := run(t, "100"); percent != 100 {
			t.Fatalf("GC percent %d with GOGC=100 in the environment, want 100", percent)
		}
	})
}
