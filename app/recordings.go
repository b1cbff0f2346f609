package app

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store/recordings"
)

// RecordingsFile is the recordings' file name, beside the journal.
const RecordingsFile = "recordings.db"

// Bounds of --wave-keep and --disk-budget.
const (
	minWaveKeep   = 10 * time.Minute
	maxWaveKeep   = 31 * 24 * time.Hour
	minDiskBudget = 16 << 20
)

func checkRecordings(keep time.Duration, budget int64) error {
	if err := checkWaveKeep(keep); err != nil {
		return fmt.Errorf("--wave-keep %w", err)
	}
	if err := checkDiskBudget(budget); err != nil {
		return fmt.Errorf("--disk-budget %w", err)
	}
	return nil
}

func checkWaveKeep(keep time.Duration) error {
	if keep < minWaveKeep || keep > maxWaveKeep {
		return fmt.Errorf("%s: use %s..%s", keep, minWaveKeep, maxWaveKeep)
	}
	return nil
}

func checkDiskBudget(budget int64) error {
	if budget < minDiskBudget {
		return fmt.Errorf("%s: use at least 16MiB", FormatSize(budget))
	}
	return nil
}

// ParseSize reads a size such as 12GiB, 500MB, 2G or 1048576 (bytes).
// K, M, G, T and their -B forms are powers of 1000; KiB, MiB, GiB and TiB
// powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (write it like 12GiB or 500MB)", s)
	}
	mult := map[string]float64{"": 1, "B": 1,
		"K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
	m, ok := mult[strings.ToUpper(unit)]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, unit)
	}
	if v*m >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v * m), nil
}

// FormatSize writes bytes in binary units (12GiB, 1.5MiB).
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v, u = v/1024, u+1
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + units[u]
}

// recordingsTroubles merges the recordings' problems into one technical
// alarm: present while any is, its text naming each.
type recordingsTroubles struct {
	mu      sync.Mutex
	present []string
}

// recordingsText is what the nurse and IT read for each problem.
var recordingsText = map[string]string{
	recordings.TroubleQueue: "Recordings falling behind: trend and waveform data lost",
	recordings.TroubleWrite: "Recordings cannot write (disk full or failing): trends and waveforms wait in memory",
}

func (t *recordingsTroubles) set(problem string, present bool) (msg string, up bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.present = slices.DeleteFunc(t.present, func(p string) bool { return p == problem })
	if present {
		t.present = append(t.present, problem)
	}
	texts := make([]string, len(t.present))
	for i, p := range t.present {
		texts[i] = cmp.Or(recordingsText[p], p)
	}
	return strings.Join(texts, "; "), len(t.present) > 0
}

// openRecordings opens the trend and waveform store beside the journal and
// has the hub feed it. The station runs without it when it cannot be
// opened (a technical alarm says so): a monitor that cannot record must
// still monitor.
func (c *Core) openRecordings(cfg Config, dataDir string) {
	dir := cfg.journalDir(dataDir)
	file := filepath.Join(dir, RecordingsFile)
	var troubles recordingsTroubles
	keep, budget := cmp.Or(cfg.WaveKeep, recordings.DefaultWaveKeep), cmp.Or(cfg.DiskBudget, recordings.DefaultBudget)
	rec, aside, err := recordings.Open(c.ctx, file, recordings.Options{
		WaveKeep: keep, Budget: budget, Log: c.Log.With("component", "recordings"),
		OnTrouble: func(problem string, present bool) {
			msg, up := troubles.set(problem, present)
			c.fault(alarms.CodeRecordings, msg, up)
		},
	})
	if aside != nil {
		c.Log.Error("recordings file unusable, set aside", "reason", aside.Reason, "kept_as", aside.Path)
		c.fault(alarms.CodeRecordings, fmt.Sprintf("Recordings file was unusable (%s); kept as %s, new file started",
			aside.Reason, filepath.Base(aside.Path)), true)
	}
	if err != nil {
		c.Log.Error("recordings unavailable; trends and waveforms are not stored", "file", file, "err", err)
		c.fault(alarms.CodeRecordings, "Recordings unavailable, trends and waveforms not stored: "+err.Error(), true)
		return
	}
	c.Recordings = rec
	c.Hub.SetRecorder(rec)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); rec.Run(c.ctx) }()
	go func() { defer c.wg.Done(); c.purgeSnippets(rec) }()

	st := rec.Stats()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil {
		free := int64(fs.Bavail) * int64(fs.Bsize)
		// The file grows to about 1.5 times the budget (docs/recordings.md).
		if need := (budget - st.Bytes) * 3 / 2; need > free {
			c.Log.Warn("the disk has less free space than the waveform budget still needs; the oldest waveforms will not be kept that long once it fills",
				"free", FormatSize(free), "budget", FormatSize(budget), "stored", FormatSize(st.Bytes))
		}
	}
	c.Log.Info("recordings open", "file", file, "wave_keep", keep, "budget", FormatSize(budget),
		"stored", FormatSize(st.Bytes), "trend_rows", st.TrendRows)
}

// SnippetKeep is how long alarm snippets (the waveforms around each alarm's
// onset) are kept: long after the full disclosure is gone, for the ward's
// event reviews, and then purged so they cannot fill the disk.
const SnippetKeep = 90 * 24 * time.Hour

// purgeSnippets drops the snippets older than SnippetKeep, at start and
// every hour, until the station stops.
func (c *Core) purgeSnippets(rec *recordings.Recordings) {
	tk := time.NewTicker(time.Hour)
	defer tk.Stop()
	for {
		if n, err := rec.PurgeSnippets(c.ctx, time.Now().Add(-SnippetKeep)); err != nil && c.ctx.Err() == nil {
			c.Log.Warn("old alarm snippets not purged", "err", err)
		} else if n > 0 {
			c.Log.Info("old alarm snippets purged", "count", n, "older_than", SnippetKeep)
		}
		select {
		case <-c.ctx.Done():
			return
		case <-tk.C:
		}
	}
}
