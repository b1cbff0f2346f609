package recordings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/vigil-station/vigil/monitor/feed"
)

// # Alarm snippets
//
// Every alarm keeps a snippet: all of its bed's waveforms from
// SnippetBefore before to SnippetAfter after onset, kept after the full
// disclosure has let them go (WaveKeep, Budget). A snippet is stored as its
// interval (table snippets, migration 0002) and its samples are protected
// lazily: the trigger chunk_kept copies every chunk that retention deletes
// and that overlaps a snippet of its bed, compressed as it is, into
// snippet_chunk, in the deleting transaction.
//
// Why not copy the ±10 s at keep time: at onset the samples after it do
// not exist yet, and even 10 s later the last of them are still in an open
// chunk (up to ChunkSpan) or in the writer's queue. Copying at purge time
// needs no timing from the caller (keep the snippet at onset, or whenever),
// covers every path that deletes chunks (age, budget, a repair by hand),
// copies each chunk once however many snippets share it, and never decodes
// or re-encodes. The cost: whole chunks are kept (up to a ChunkSpan more
// on each side; about 30 s of each channel at the default 10 s chunks).
//
//	time ─►   chunk 1      chunk 2      chunk 3      chunk 4
//	          [──────────][──────────][──────────][──────────]
//	snippet          [from ··· onset ··· to)
//	kept:           chunk 1, 2 and 3 are copied when they are deleted;
//	                chunk 4 is not (it starts at to)
//
// Kept chunks are not counted in Stats.Bytes (the disclosure's budget);
// they go with their snippets, by PurgeSnippets.

// Snippet spans and limits.
const (
	// SnippetBefore and SnippetAfter are the default interval around the
	// onset (the "10 s before to 10 s after").
	SnippetBefore = 10 * time.Second
	SnippetAfter  = 10 * time.Second
	// MaxSnippetSpan bounds To - From (the schema checks it too: it keeps
	// the trigger's look-up a short index range).
	MaxSnippetSpan = 10 * time.Minute
	// maxAlarmID bounds an alarm id's length.
	maxAlarmID = 256
	// snippetQueue is the capacity of the queue from KeepSnippet to the
	// writer: alarms come in bursts (a ward's beds losing their devices at
	// once on a network fault), and a snippet is a few hundred bytes.
	snippetQueue = 256
)

// Snippet errors, for errors.Is.
var (
	// ErrSnippetExists: the alarm already has a snippet (or one queued); the
	// first one is kept as it is.
	ErrSnippetExists = errors.New("recordings: the alarm already has a snippet")
	// ErrNoSnippet: Snippet found none for the alarm.
	ErrNoSnippet = errors.New("recordings: no snippet for the alarm")
	// ErrSnippetQueueFull: the writer is behind (or stuck on a failing
	// disk) and its snippet queue is full; the snippet was not kept.
	ErrSnippetQueueFull = errors.New("recordings: snippet queue full, snippet not kept")
	// ErrClosed: the recordings are closed.
	ErrClosed = errors.New("recordings: closed")
)

// Snippet is an alarm's kept stretch of its bed's waveforms and what was
// known at onset.
type Snippet struct {
	AlarmID string // the alarm's id; one snippet per alarm
	Bed     string
	Text    string // the alarm's text, priority prefix first ("*** SpO2 84 < 90")
	Onset   time.Time
	// From and To are the interval kept, [From, To); zero values take
	// Onset-SnippetBefore and Onset+SnippetAfter.
	From, To time.Time
	// Numerics are the bed's numerics at onset ({"hr": 132, "spo2": 88});
	// a NaN or infinite value (no value) is left out. Nil when none.
	Numerics map[string]float64
}

// Trace is one waveform channel of a snippet.
type Trace struct {
	Code     string  // decimal MDC code, as Channels and Disclosure use
	RateHz   float64 // the rate of its first segment
	Segments []Segment
}

// snippetRow is a validated snippet on its way to the writer.
type snippetRow struct {
	id, bed, text         string
	onsetMs, fromMs, toMs int64
	numerics              string // JSON object
}

// snippetQ is the queue from KeepSnippet to the writer and the ids in it,
// so that a second snippet of an alarm is refused before it is written.
type snippetQ struct {
	ch      chan snippetRow
	mu      sync.Mutex
	pending map[string]bool // queued or held by the writer, not yet written
}

func newSnippetQ() snippetQ {
	return snippetQ{ch: make(chan snippetRow, snippetQueue), pending: map[string]bool{}}
}

func (q *snippetQ) done(id string) {
	q.mu.Lock()
	delete(q.pending, id)
	q.mu.Unlock()
}

// KeepSnippet keeps s: its bed's waveforms over [s.From, s.To) will
// survive the disclosure's retention. Call it at the alarm's onset (or
// any time before its chunks are older than WaveKeep): the samples after
// onset are kept as they are recorded.
//
// It does not wait for the disk: it checks s, looks for a snippet of the
// same alarm (a read, which never waits for the writer) and queues s for
// the writer (Run), which writes it as soon as it takes it from the queue
// and, while the disk fails, retries every second; Close writes what is
// queued. Snippet and Snippets see it once written. It returns
// ErrSnippetExists for an alarm that has one, ErrSnippetQueueFull when the
// queue is full, ErrClosed after Close, and an error describing what is
// wrong with s otherwise. Safe from any goroutine.
func (r *Recordings) KeepSnippet(s Snippet) error {
	x, err := s.row()
	if err != nil {
		return err
	}
	if r.isClosed() {
		return ErrClosed
	}
	q := &r.snip
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending[x.id] {
		return fmt.Errorf("%w: %q", ErrSnippetExists, x.id)
	}
	var one int
	switch err := r.db.QueryRowContext(r.base, `SELECT 1 FROM snippets WHERE alarm_id = ?`, x.id).Scan(&one); {
	case err == nil:
		return fmt.Errorf("%w: %q", ErrSnippetExists, x.id)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("recordings: keep snippet %q: %w", x.id, err)
	}
	// r.mu orders this against Close: a snippet queued before closed is set
	// is drained and written by Close.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	select {
	case q.ch <- x:
		q.pending[x.id] = true
		return nil
	default:
		r.opt.Log.Warn("recordings: snippet queue full, snippet not kept", "alarm", x.id, "bed", x.bed)
		return fmt.Errorf("%w (alarm %q)", ErrSnippetQueueFull, x.id)
	}
}

func (r *Recordings) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// row checks s and fills in its defaults.
func (s Snippet) row() (snippetRow, error) {
	bad := func(why string, args ...any) (snippetRow, error) {
		return snippetRow{}, fmt.Errorf("recordings: snippet of alarm %q: "+why, append([]any{s.AlarmID}, args...)...)
	}
	switch {
	case strings.TrimSpace(s.AlarmID) == "":
		return bad("no alarm id")
	case len(s.AlarmID) > maxAlarmID:
		return bad("alarm id longer than %d bytes", maxAlarmID)
	case strings.IndexFunc(s.AlarmID, unicode.IsControl) >= 0:
		return bad("alarm id holds control characters")
	case strings.TrimSpace(s.Bed) == "":
		return bad("no bed")
	case s.Onset.IsZero():
		return bad("no onset")
	}
	from, to := s.From, s.To
	if from.IsZero() {
		from = s.Onset.Add(-SnippetBefore)
	}
	if to.IsZero() {
		to = s.Onset.Add(SnippetAfter)
	}
	x := snippetRow{id: s.AlarmID, bed: s.Bed, text: s.Text,
		onsetMs: s.Onset.UnixMilli(), fromMs: from.UnixMilli(), toMs: to.UnixMilli()}
	switch {
	case !(x.fromMs <= x.onsetMs && x.onsetMs <= x.toMs && x.fromMs < x.toMs):
		return bad("interval %s..%s does not hold onset %s", from.UTC(), to.UTC(), s.Onset.UTC())
	case x.toMs-x.fromMs > MaxSnippetSpan.Milliseconds():
		return bad("interval of %s, longer than %s", to.Sub(from), MaxSnippetSpan)
	}
	nums := make(map[string]float64, len(s.Numerics))
	for k, v := range s.Numerics {
		if k != "" && !math.IsNaN(v) && !math.IsInf(v, 0) {
			nums[k] = v
		}
	}
	b, err := json.Marshal(nums) // keys sorted; finite values never fail
	if err != nil {
		return bad("numerics: %v", err)
	}
	x.numerics = string(b)
	return x, nil
}

// takeSnippets moves what is queued to the writer's pending snippets, at
// most max of them in all. Writer only.
func (w *writer) takeSnippets(max int) {
	for len(w.snips) < max {
		select {
		case x := <-w.r.snip.ch:
			w.snips = append(w.snips, x)
		default:
			return
		}
	}
}

// writeSnippets writes the pending snippets, each in its own (small)
// transaction. On an error of the disk the rest stay pending for the next
// try (Run's sweep, every second); a snippet the file refuses is logged and
// dropped. Writer only.
func (w *writer) writeSnippets() error {
	r := w.r
	for len(w.snips) > 0 {
		x := w.snips[0]
		res, err := r.conn.ExecContext(w.ctx, `INSERT INTO snippets (alarm_id, bed, onset_ms, from_ms, to_ms, text, numerics)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alarm_id) DO NOTHING`,
			x.id, x.bed, x.onsetMs, x.fromMs, x.toMs, x.text, x.numerics)
		if err != nil && transient(err) {
			if w.snipFailures == 0 {
				r.opt.Log.Error("recordings: writing a snippet failed, will retry", "alarm", x.id, "err", err)
			}
			w.snipFailures++
			return err
		}
		w.snipFailures = 0
		if err != nil {
			r.opt.Log.Error("recordings: snippet refused, dropped", "alarm", x.id, "bed", x.bed, "err", err)
		} else if n, _ := res.RowsAffected(); n == 0 {
			r.opt.Log.Warn("recordings: the alarm already had a snippet", "alarm", x.id, "bed", x.bed)
		}
		r.snip.done(x.id)
		w.snips[0] = snippetRow{}
		w.snips = w.snips[1:]
	}
	w.snips = nil
	return nil
}

// snippetCols are the snippets table's columns as scanSnippet reads them.
const snippetCols = `alarm_id, bed, text, onset_ms, from_ms, to_ms, numerics`

func scanSnippet(sc interface{ Scan(...any) error }) (Snippet, error) {
	var (
		s               Snippet
		onset, from, to int64
		nums            string
	)
	if err := sc.Scan(&s.AlarmID, &s.Bed, &s.Text, &onset, &from, &to, &nums); err != nil {
		return Snippet{}, err
	}
	s.Onset, s.From, s.To = time.UnixMilli(onset).UTC(), time.UnixMilli(from).UTC(), time.UnixMilli(to).UTC()
	if err := json.Unmarshal([]byte(nums), &s.Numerics); err != nil {
		return Snippet{}, fmt.Errorf("numerics of %q: %w", s.AlarmID, err)
	}
	if len(s.Numerics) == 0 {
		s.Numerics = nil
	}
	return s, nil
}

// Snippet returns the snippet of alarmID and its bed's waveforms over
// [From, To), one Trace per channel (in code order) that has samples
// there: from the disclosure while it still holds them, else from the kept
// copies. ErrNoSnippet when the alarm has none (or none written yet).
func (r *Recordings) Snippet(ctx context.Context, alarmID string) (Snippet, []Trace, error) {
	s, err := scanSnippet(r.db.QueryRowContext(ctx, `SELECT `+snippetCols+` FROM snippets WHERE alarm_id = ?`, alarmID))
	if errors.Is(err, sql.ErrNoRows) {
		return Snippet{}, nil, fmt.Errorf("%w %q", ErrNoSnippet, alarmID)
	}
	if err != nil {
		return Snippet{}, nil, fmt.Errorf("recordings: snippet %q: %w", alarmID, err)
	}
	traces, err := r.snippetTraces(ctx, s)
	if err != nil {
		return Snippet{}, nil, fmt.Errorf("recordings: snippet %q: %w", alarmID, err)
	}
	return s, traces, nil
}

// snippetTraces reads s's waveforms from chunk and snippet_chunk in one
// statement, so one snapshot: a chunk being copied by retention is seen in
// exactly one of them.
func (r *Recordings) snippetTraces(ctx context.Context, s Snippet) ([]Trace, error) {
	fromMs, toMs := s.From.UnixMilli(), s.To.UnixMilli()
	lo := fromMs - MaxChunkSpan.Milliseconds() - 60_000 // as Disclosure: no chunk is longer
	const arm = `SELECT s.code, k.start_ms, k.rate_hz, k.n, k.gain, k.baseline, k.data
		FROM series s JOIN %s k ON k.series = s.id
		WHERE s.bed = ?1 AND s.kind = 'wave' AND k.start_ms >= ?2 AND k.start_ms < ?3 AND k.end_ms > ?4`
	rows, err := r.db.QueryContext(ctx, fmt.Sprintf(arm, "chunk")+" UNION ALL "+fmt.Sprintf(arm, "snippet_chunk")+
		" ORDER BY 1, 2", s.Bed, lo, toMs, fromMs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out []Trace
		raw []int16
		dec decoder
	)
	for rows.Next() {
		var (
			code           uint32
			startMs        int64
			rate           float64
			n              int
			gain, baseline float64
			data           []byte
		)
		if err := rows.Scan(&code, &startMs, &rate, &n, &gain, &baseline, &data); err != nil {
			return nil, err
		}
		if raw, err = dec.decode(raw[:0], data, n); err != nil {
			r.opt.Log.Error("recordings: unreadable waveform chunk of a snippet skipped", "alarm", s.AlarmID,
				"code", code, "start", time.UnixMilli(startMs).UTC(), "err", err)
			continue
		}
		c := fmt.Sprint(code)
		if len(out) == 0 || out[len(out)-1].Code != c {
			out = append(out, Trace{Code: c, RateHz: rate})
		}
		t := &out[len(out)-1]
		t.Segments = appendChunk(t.Segments, raw, startMs, rate, gain, baseline, fromMs, toMs)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A channel whose chunks all fell outside [from, to) has no segment.
	kept := out[:0]
	for _, t := range out {
		if len(t.Segments) > 0 {
			kept = append(kept, t)
		}
	}
	return kept, nil
}

// appendChunk appends the samples of one decoded chunk that fall in
// [fromMs, toMs) to segs, continuing the last segment when the chunk
// follows on from it (the rule of Disclosure).
func appendChunk(segs []Segment, raw []int16, startMs int64, rate, gain, baseline float64, fromMs, toMs int64) []Segment {
	period := 1000 / rate
	first := max(0, int(math.Ceil(float64(fromMs-startMs)/period)))
	last := min(len(raw), int(math.Ceil(float64(toMs-startMs)/period)))
	if first >= last {
		return segs
	}
	ch := feed.Channel{Gain: float32(gain), Baseline: float32(baseline)}
	start := time.UnixMilli(startMs).Add(time.Duration(float64(first) * period * float64(time.Millisecond)))
	var seg *Segment
	if k := len(segs) - 1; k >= 0 && segs[k].RateHz == rate &&
		math.Abs(float64(start.Sub(segs[k].End()))/float64(time.Millisecond)) <= max(1, period/2) {
		seg = &segs[k]
	} else {
		segs = append(segs, Segment{Start: start.UTC(), RateHz: rate})
		seg = &segs[len(segs)-1]
	}
	for _, v := range raw[first:last] {
		seg.Samples = append(seg.Samples, ch.Physical(v))
	}
	return segs
}

// Snippets lists the snippets whose onset is in [from, to), of bed or,
// for bed "", of the ward, in onset order.
func (r *Recordings) Snippets(ctx context.Context, bed string, from, to time.Time) ([]Snippet, error) {
	q := `SELECT ` + snippetCols + ` FROM snippets WHERE onset_ms >= ? AND onset_ms < ?`
	args := []any{from.UnixMilli(), to.UnixMilli()}
	if bed != "" {
		q += ` AND bed = ?`
		args = append(args, bed)
	}
	rows, err := r.db.QueryContext(ctx, q+` ORDER BY onset_ms, alarm_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("recordings: snippets: %w", err)
	}
	defer rows.Close()
	var out []Snippet
	for rows.Next() {
		s, err := scanSnippet(rows)
		if err != nil {
			return nil, fmt.Errorf("recordings: snippets: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recordings: snippets: %w", err)
	}
	return out, nil
}

// PurgeSnippets deletes the snippets whose onset is before before, and the
// kept chunks no snippet needs any more; it returns how many snippets went.
// Snippets outlive WaveKeep and Budget by design, so they stay until this
// is called (the station's policy for alarm records decides when). It
// writes directly, in one transaction, and so may wait for the writer's
// transaction of the moment (at most the file's busy timeout): call it
// from a maintenance goroutine, not the UI or the alarm engine.
func (r *Recordings) PurgeSnippets(ctx context.Context, before time.Time) (int, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("recordings: purge snippets: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM snippets WHERE onset_ms < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("recordings: purge snippets: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM snippet_chunk WHERE id IN (SELECT k.id FROM snippet_chunk k
		JOIN series s ON s.id = k.series WHERE NOT EXISTS (SELECT 1 FROM snippets sn WHERE sn.bed = s.bed
		AND sn.from_ms < k.end_ms AND sn.from_ms > k.start_ms - 600000 AND sn.to_ms > k.start_ms))`); err != nil {
		return 0, fmt.Errorf("recordings: purge snippets: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("recordings: purge snippets: %w", err)
	}
	return int(n), nil
}
