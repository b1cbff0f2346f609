package recordings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-station/vigil/monitor/feed"
)

// snipECG and snipPleth are the raw samples fed by feedSnippetBed: sample i
// of the run that began at the feed's start. Noise, so that the budget is
// reached; an invalid ECG sample now and then.
func snipECG(i int) int16 {
	if i%997 == 13 {
		return feed.InvalidSample
	}
	return int16((i*7919)%601 - 300)
}
func snipPleth(i int) int16 { return int16((i * 104729) % 997) }

// feedSnippetBed feeds bed secs seconds of ECG II (250 Hz) and pleth
// (125 Hz) from start, in 200 ms frames of both channels; first is the
// frame index to begin at (to continue a run).
func feedSnippetBed(r *Recordings, bed string, start time.Time, first, frames int) {
	for k := first; k < first+frames; k++ {
		at := start.Add(time.Duration(k) * 200 * time.Millisecond)
		f := &feed.WaveFrame{StartMs: ms(at), Channels: []feed.Channel{
			{Code: feed.MDCECGLeadII, RateHz: 250, Gain: 200, Samples: make([]int16, 50)},
			{Code: feed.MDCPleth, RateHz: 125, Gain: 1000, Baseline: 10, Samples: make([]int16, 25)},
		}}
		for i := range 50 {
			f.Channels[0].Samples[i] = snipECG(50*k + i)
		}
		for i := range 25 {
			f.Channels[1].Samples[i] = snipPleth(25*k + i)
		}
		r.Wave(bed, f, at)
	}
}

// checkSnippetTraces checks that traces hold exactly the fed samples of
// [from, to), for a bed fed by feedSnippetBed from start.
func checkSnippetTraces(t *testing.T, traces []Trace, start, from, to time.Time) {
	t.Helper()
	want := []struct {
		code string
		rate float64
		ch   feed.Channel
		gen  func(int) int16
	}{
		{"131330", 250, feed.Channel{Gain: 200}, snipECG},
		{"150452", 125, feed.Channel{Gain: 1000, Baseline: 10}, snipPleth},
	}
	if len(traces) != len(want) {
		t.Fatalf("%d traces, want %d (ECG II and pleth)", len(traces), len(want))
	}
	for i, w := range want {
		tr := traces[i]
		if tr.Code != w.code || tr.RateHz != w.rate || len(tr.Segments) != 1 {
			t.Errorf("trace %d: code %s at %g Hz, %d segments; want %s at %g Hz in one segment",
				i, tr.Code, tr.RateHz, len(tr.Segments), w.code, w.rate)
			continue
		}
		seg := tr.Segments[0]
		n := int(to.Sub(from).Seconds() * w.rate)
		if !seg.Start.Equal(from) || len(seg.Samples) != n {
			t.Errorf("%s: %d samples from %v, want %d from %v", w.code, len(seg.Samples), seg.Start, n, from)
			continue
		}
		first := int(from.Sub(start).Seconds() * w.rate)
		for j, v := range seg.Samples {
			if exp := w.ch.Physical(w.gen(first + j)); v != exp && !(v != v && exp != exp) {
				t.Errorf("%s sample %d = %g, want %g", w.code, j, v, exp)
				break
			}
		}
	}
}

func countRows(t *testing.T, r *Recordings, table string) int {
	t.Helper()
	var n int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitSnippet waits until the writer has written alarm's snippet.
func waitSnippet(t *testing.T, r *Recordings, alarm string) {
	t.Helper()
	waitFor(t, "snippet "+alarm+" written", func() bool {
		_, _, err := r.Snippet(ctx, alarm)
		return err == nil
	})
}

// A snippet kept at onset, before the samples after it exist, holds all
// of the bed's waveforms over onset ±10 s: while the disclosure has them,
// and after retention by age (73 h on) has deleted every chunk. Only the
// chunks overlapping the interval are kept, and only the snippet's bed's.
func TestSnippetSurvivesWaveKeep(t *testing.T) {
	file := tempFile(t)
	clk := newClock(t0)
	r := open(t, file, Options{Now: clk.Now}) // 10 s chunks
	run(t, r)
	onset := t0.Add(30 * time.Second)
	feedSnippetBed(r, "03", t0, 0, 150) // 30 s: up to the onset
	feedSnippetBed(r, "04", t0, 0, 150)
	s := Snippet{AlarmID: "a-1", Bed: "03", Text: "*** SpO2 84 < 90", Onset: onset,
		Numerics: map[string]float64{"hr": 132, "spo2": 84, "rr": math.NaN()}}
	if err := r.KeepSnippet(s); err != nil {
		t.Fatal(err)
	}
	feedSnippetBed(r, "03", t0, 150, 150) // the 30 s after it
	feedSnippetBed(r, "04", t0, 150, 150)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r = open(t, file, Options{Now: clk.Now})
	got, traces, err := r.Snippet(ctx, "a-1")
	if err != nil {
		t.Fatal(err)
	}
	want := Snippet{AlarmID: "a-1", Bed: "03", Text: "*** SpO2 84 < 90", Onset: onset,
		From: onset.Add(-10 * time.Second), To: onset.Add(10 * time.Second),
		Numerics: map[string]float64{"hr": 132, "spo2": 84}} // NaN: no value, left out
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("snippet (-want +got):\n%s", d)
	}
	checkSnippetTraces(t, traces, t0, want.From, want.To)
	if n := countRows(t, r, "snippet_chunk"); n != 0 {
		t.Errorf("%d kept chunks before any purge, want 0", n)
	}
	r.Close()

	// 73 h on: the disclosure has let every chunk go, the snippet has not.
	clk.Set(t0.Add(73 * time.Hour))
	r = open(t, file, Options{Now: clk.Now})
	run(t, r)
	waitFor(t, "age retention", func() bool { return r.Stats().Chunks == 0 })
	if segs, err := r.Disclosure(ctx, "03", "131330", t0, t0.Add(time.Minute)); err != nil || len(segs) != 0 {
		t.Fatalf("disclosure after 73 h: %d segments (%v), want none", len(segs), err)
	}
	_, traces, err = r.Snippet(ctx, "a-1")
	if err != nil {
		t.Fatal(err)
	}
	checkSnippetTraces(t, traces, t0, want.From, want.To)
	// [20 s, 40 s) overlaps the chunks [20,30) and [30,40) of each channel;
	// [40,50) starts at To. Bed 04's are not kept.
	if n := countRows(t, r, "snippet_chunk"); n != 4 {
		t.Errorf("%d kept chunks, want 4 (2 per channel)", n)
	}
	if s := r.Stats(); s.Bytes != 0 {
		t.Errorf("Stats.Bytes = %d after the purge: kept chunks must not count in the budget", s.Bytes)
	}
}

// Retention by budget deletes the oldest chunks of any bed; a snippet in
// the first minute keeps its samples.
func TestSnippetSurvivesBudget(t *testing.T) {
	file := tempFile(t)
	const budget = 20_000
	clk := newClock(t0)
	r := open(t, file, Options{ChunkSpan: 2 * time.Second, Budget: budget, Now: clk.Now})
	run(t, r)
	onset := t0.Add(20*time.Second + 200*time.Millisecond) // not on a chunk boundary
	if err := r.KeepSnippet(Snippet{AlarmID: "b-1", Bed: "05", Text: "** HR 134 > 120", Onset: onset}); err != nil {
		t.Fatal(err)
	}
	waitSnippet(t, r, "b-1")
	const seconds = 4 * 60
	for k := range seconds * 5 {
		clk.Set(t0.Add(time.Duration(k) * 200 * time.Millisecond))
		feedSnippetBed(r, "05", t0, k, 1)
		if k%100 == 0 {
			time.Sleep(time.Millisecond) // let the writer keep up: no drops
		}
	}
	waitFor(t, "the full chunks", func() bool { return r.Stats().Written == 2*seconds/2 })
	waitFor(t, "the budget", func() bool { return r.Stats().Bytes <= budget })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Dropped != 0 {
		t.Fatalf("%d rows dropped", s.Dropped)
	}
	r = open(t, file, Options{Now: clk.Now})
	segs, err := r.Disclosure(ctx, "05", "131330", t0, t0.Add(seconds*time.Second))
	if err != nil || len(segs) == 0 || !segs[0].Start.After(onset.Add(10*time.Second)) {
		t.Fatalf("the disclosure still holds the snippet's time (%d segments, %v): the budget did not purge it", len(segs), err)
	}
	_, traces, err := r.Snippet(ctx, "b-1")
	if err != nil {
		t.Fatal(err)
	}
	checkSnippetTraces(t, traces, t0, onset.Add(-10*time.Second), onset.Add(10*time.Second))
	if n := countRows(t, r, "snippet_chunk"); n < 2*10 || n > 2*12 {
		t.Errorf("%d kept chunks, want 10 or 11 per channel (20 s of 2 s chunks)", n)
	}
}

// Bad snippets are refused with a reason; a second snippet of an alarm,
// queued or written, is refused and the first one kept.
func TestSnippetBadAndDuplicateAlarmID(t *testing.T) {
	r := open(t, tempFile(t), Options{})
	onset := t0.Add(time.Minute)
	ok := Snippet{AlarmID: "c-1", Bed: "01", Text: "*** Asystole", Onset: onset}
	bad := []struct {
		name string
		edit func(*Snippet)
		says string
	}{
		{"no id", func(s *Snippet) { s.AlarmID = "" }, "no alarm id"},
		{"blank id", func(s *Snippet) { s.AlarmID = "  " }, "no alarm id"},
		{"control", func(s *Snippet) { s.AlarmID = "a\nb" }, "control"},
		{"long id", func(s *Snippet) { s.AlarmID = strings.Repeat("x", 300) }, "longer than"},
		{"no bed", func(s *Snippet) { s.Bed = "" }, "no bed"},
		{"no onset", func(s *Snippet) { s.Onset = time.Time{} }, "no onset"},
		{"onset outside", func(s *Snippet) { s.From = onset.Add(time.Second) }, "does not hold onset"},
		{"backwards", func(s *Snippet) { s.From, s.To = onset, onset }, "does not hold onset"},
		{"too long", func(s *Snippet) { s.From = onset.Add(-time.Hour) }, "longer than 10m0s"},
	}
	for _, c := range bad {
		s := ok
		c.edit(&s)
		if err := r.KeepSnippet(s); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: KeepSnippet = %v, want an error saying %q", c.name, err, c.says)
		}
	}

	// The writer is not running: the first is queued, the second refused.
	if err := r.KeepSnippet(ok); err != nil {
		t.Fatal(err)
	}
	dup := ok
	dup.Text = "** something else"
	if err := r.KeepSnippet(dup); !errors.Is(err, ErrSnippetExists) {
		t.Fatalf("duplicate while queued: %v, want ErrSnippetExists", err)
	}
	if _, _, err := r.Snippet(ctx, "c-1"); !errors.Is(err, ErrNoSnippet) {
		t.Fatalf("Snippet before the writer ran: %v, want ErrNoSnippet", err)
	}
	run(t, r)
	waitSnippet(t, r, "c-1")
	if err := r.KeepSnippet(dup); !errors.Is(err, ErrSnippetExists) {
		t.Fatalf("duplicate once written: %v, want ErrSnippetExists", err)
	}
	got, traces, err := r.Snippet(ctx, "c-1")
	if err != nil || got.Text != ok.Text || len(traces) != 0 {
		t.Fatalf("Snippet = %+v, %d traces, %v; want the first one, no waveforms recorded", got, len(traces), err)
	}
	if _, _, err := r.Snippet(ctx, "nope"); !errors.Is(err, ErrNoSnippet) {
		t.Errorf("unknown alarm: %v, want ErrNoSnippet", err)
	}
	if n := countRows(t, r, "snippets"); n != 1 {
		t.Errorf("%d snippets stored, want 1", n)
	}
	r.Close()
	if err := r.KeepSnippet(Snippet{AlarmID: "c-2", Bed: "01", Onset: onset}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// Snippets queued without a running writer are written by Close; the
// ward's and a bed's are listed in onset order within [from, to).
func TestSnippetsListAndClose(t *testing.T) {
	file := tempFile(t)
	r := open(t, file, Options{})
	for i, bed := range []string{"02", "01", "02", "03"} {
		s := Snippet{AlarmID: fmt.Sprintf("d-%d", i), Bed: bed, Text: "* Low " + bed,
			Onset: t0.Add(time.Duration(10-i) * time.Minute)}
		if err := r.KeepSnippet(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open(t, file, Options{})
	ids := func(bed string, from, to time.Time) string {
		list, err := r.Snippets(ctx, bed, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.AlarmID)
		}
		return strings.Join(out, " ")
	}
	if got := ids("", t0, t0.Add(time.Hour)); got != "d-3 d-2 d-1 d-0" {
		t.Errorf("ward: %q, want d-3 d-2 d-1 d-0 (onset order)", got)
	}
	if got := ids("02", t0, t0.Add(time.Hour)); got != "d-2 d-0" {
		t.Errorf("bed 02: %q, want d-2 d-0", got)
	}
	// [from, to): d-2 at 8 min is in, d-0 at 10 min is not.
	if got := ids("", t0.Add(8*time.Minute), t0.Add(10*time.Minute)); got != "d-2 d-1" {
		t.Errorf("8..10 min: %q, want d-2 d-1", got)
	}
	list, _ := r.Snippets(ctx, "01", t0, t0.Add(time.Hour))
	if len(list) != 1 || list[0].Numerics != nil || !list[0].From.Equal(list[0].Onset.Add(-SnippetBefore)) {
		t.Errorf("bed 01: %+v, want one snippet without numerics, from onset-10 s", list)
	}
}

// PurgeSnippets removes old snippets and the kept chunks only they needed.
func TestPurgeSnippets(t *testing.T) {
	file := tempFile(t)
	clk := newClock(t0)
	r := open(t, file, Options{Now: clk.Now, ChunkSpan: time.Second})
	feedSnippetBed(r, "07", t0, 0, 5*60) // 60 s
	for i, at := range []time.Duration{10 * time.Second, 40 * time.Second} {
		if err := r.KeepSnippet(Snippet{AlarmID: fmt.Sprint("e-", i), Bed: "07", Onset: t0.Add(at)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(80 * time.Hour))
	r = open(t, file, Options{Now: clk.Now})
	run(t, r)
	waitFor(t, "age retention", func() bool { return r.Stats().Chunks == 0 })
	if n := countRows(t, r, "snippet_chunk"); n != 2*2*20 {
		t.Fatalf("%d kept chunks, want 80 (20 s of 1 s chunks, 2 channels, 2 snippets)", n)
	}
	n, err := r.PurgeSnippets(ctx, t0.Add(30*time.Second))
	if err != nil || n != 1 {
		t.Fatalf("PurgeSnippets = %d, %v; want 1", n, err)
	}
	if k := countRows(t, r, "snippet_chunk"); k != 2*20 {
		t.Errorf("%d kept chunks after the purge, want 40", k)
	}
	if _, _, err := r.Snippet(ctx, "e-0"); !errors.Is(err, ErrNoSnippet) {
		t.Errorf("purged snippet: %v", err)
	}
	_, traces, err := r.Snippet(ctx, "e-1")
	if err != nil {
		t.Fatal(err)
	}
	checkSnippetTraces(t, traces, t0, t0.Add(30*time.Second), t0.Add(50*time.Second))
}

// snipLog records the messages logged.
type snipLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *snipLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *snipLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *snipLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *snipLog) WithGroup(string) slog.Handler      { return l }
func (l *snipLog) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// On a full disk kept snippets wait in the writer and are written once
// there is room again; meanwhile a second snippet of theirs is refused.
func TestSnippetWaitsForFullDisk(t *testing.T) {
	file := tempFile(t)
	lg := &snipLog{}
	r := open(t, file, Options{Log: slog.New(lg)})
	var pages int
	if err := r.conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	stop := run(t, r)
	long := strings.Repeat("x", 3000) // a page or more each
	for i := range 20 {
		if err := r.KeepSnippet(Snippet{AlarmID: fmt.Sprint("f-", i), Bed: "01", Text: long, Onset: t0}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a failed snippet write", func() bool { return lg.has("recordings: writing a snippet failed, will retry") })
	if err := r.KeepSnippet(Snippet{AlarmID: "f-19", Bed: "01", Onset: t0}); !errors.Is(err, ErrSnippetExists) {
		t.Errorf("duplicate of a waiting snippet: %v, want ErrSnippetExists", err)
	}
	stop()
	if n := countRows(t, r, "snippets"); n == 20 {
		t.Fatal("all snippets written on a full disk")
	}
	if _, err := r.conn.ExecContext(ctx, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, "every snippet", func() bool { return countRows(t, r, "snippets") == 20 })
	if lg.has("recordings: snippet refused, dropped") {
		t.Error("a snippet was dropped")
	}
}
