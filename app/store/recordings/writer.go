package recordings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Batching and retention of the writer.
const (
	maxBatch    = 500                    // rows per transaction
	maxDelay    = 250 * time.Millisecond // a row waits at most this long for its batch
	sweepEvery  = time.Second            // stale minutes and chunks, retention schedule, snippet retries
	retainEvery = time.Minute
	retainStep  = 2000 // rows deleted per retention transaction, so writes interleave
	minBackoff  = 250 * time.Millisecond
	maxBackoff  = 5 * time.Second
)

// Run is the writer: the one goroutine that writes the file. It batches
// closed rows into transactions (up to maxBatch rows or maxDelay), closes
// stale minutes and chunks, and applies retention (at start, every minute,
// and after a write whenever the waveform data exceeds the budget).
//
// When a write fails it reports TroubleWrite, stops taking rows from the
// queue (they wait there; only a full queue drops any) and retries with
// back-off until the file takes them again. Run returns when ctx is done or
// Close is called; Close writes whatever is left. Run may be called again
// after it returned; a second concurrent Run, or a Run after Close, returns
// at once.
func (r *Recordings) Run(ctx context.Context) {
	r.runMu.Lock()
	select {
	case <-r.stop:
		r.runMu.Unlock()
		return
	default:
	}
	if r.running {
		r.runMu.Unlock()
		r.opt.Log.Error("recordings: Run called twice")
		return
	}
	r.running, r.runDone = true, make(chan struct{})
	r.runMu.Unlock()
	defer func() {
		r.runMu.Lock()
		r.running = false
		close(r.runDone)
		r.runMu.Unlock()
	}()

	w := r.w
	sweep := time.NewTicker(r.sweepEvery)
	defer sweep.Stop()
	// flushT times the batch's maxDelay, or the retry after a failure.
	flushT := time.NewTimer(time.Hour)
	flushT.Stop()
	armed, failing := false, false
	backoff := time.Duration(0)
	nextRetain := time.Now()
	var swept []row

	for {
		if !failing && !time.Now().Before(nextRetain) {
			nextRetain = time.Now().Add(retainEvery)
			if w.retainLogged() {
				nextRetain = time.Now() // more to delete: again after the next event
			}
		}
		in := r.queue
		if failing || len(w.batch) >= maxBatch {
			in = nil // rows wait in the queue
		}
		snipIn := r.snip.ch
		if len(w.snips) >= snippetQueue {
			snipIn = nil // a failing disk: they wait in the queue, KeepSnippet refuses more
		}
		fired := false
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case x := <-in:
			w.add(x)
		drain:
			for len(w.batch) < maxBatch {
				select {
				case x := <-r.queue:
					w.add(x)
				default:
					break drain
				}
			}
			r.afterDrain()
		case <-flushT.C:
			armed, fired = false, true
		case <-sweep.C:
			swept = r.sweep(r.opt.Now(), swept[:0])
			w.add(swept...)
			clear(swept)
			if len(w.snips) > 0 {
				w.writeSnippets() // the retry after a failure; logged there
			}
		case x := <-snipIn:
			w.snips = append(w.snips, x)
			w.takeSnippets(snippetQueue)
			if w.snipFailures == 0 {
				w.writeSnippets()
			}
		}

		switch {
		case len(w.batch) == 0:
			continue
		case failing && !fired:
			continue // wait for the retry
		case !failing && !fired && len(w.batch) < maxBatch:
			if !armed {
				flushT.Reset(maxDelay)
				armed = true
			}
			continue
		}
		if armed {
			flushT.Stop()
			armed = false
		}
		if err := w.flush(); err != nil {
			failing = true
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			flushT.Reset(backoff)
			armed = true
			continue
		}
		failing, backoff = false, 0
		if r.stats.bytes.Load() > r.opt.Budget {
			w.retainLogged()
		}
	}
}

// afterDrain clears TroubleQueue once the writer has drained the queue to
// half, in case the feed has gone quiet and will not notice.
func (r *Recordings) afterDrain() {
	if r.overflow.Load() && len(r.queue) <= cap(r.queue)/2 {
		r.setTrouble(TroubleQueue, false)
	}
}

// writer is the state of the one writer: the batch being built, the
// encoder, the series ids and the prepared statements on its connection.
// Run owns it while it runs, Close afterwards.
type writer struct {
	r      *Recordings
	ctx    context.Context // not cancelled by Run's ctx: a write, once begun, finishes
	enc    *encoder
	batch  []row
	series map[seriesKey]int64

	insSeries, getSeries, insTrend, insChunk, totals *sql.Stmt

	snips        []snippetRow // snippets taken from the queue, not yet written (snippets.go)
	snipFailures int          // consecutive failed snippet writes

	trendCursor int   // next trend series for age retention
	failures    int   // consecutive failed flushes
	lastRetain  error // to log a retention failure once, not every minute
}

type seriesKey struct {
	bed  string
	kind kind
	code uint32
}

func newWriter(ctx context.Context, r *Recordings) (*writer, error) {
	w := &writer{r: r, ctx: r.base, enc: newEncoder(), series: map[seriesKey]int64{}}
	for _, p := range []struct {
		stmt **sql.Stmt
		q    string
	}{
		{&w.insSeries, `INSERT INTO series (bed, kind, code) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.getSeries, `SELECT id FROM series WHERE bed = ? AND kind = ? AND code = ?`},
		// A second row for a minute already written (the parameter went
		// quiet for a while inside the minute) keeps whichever part had
		// more values.
		{&w.insTrend, `INSERT INTO trend (series, minute_ms, median, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (series, minute_ms) DO UPDATE SET median = excluded.median, n = excluded.n
			WHERE excluded.n > trend.n`},
		{&w.insChunk, `INSERT INTO chunk (series, start_ms, end_ms, rate_hz, n, gain, baseline, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.totals, `SELECT trend_rows, chunks, samples, bytes FROM totals WHERE id = 1`},
	} {
		var err error
		if *p.stmt, err = r.conn.PrepareContext(ctx, p.q); err != nil {
			w.closeStmts()
			return nil, err
		}
	}
	rows, err := r.conn.QueryContext(ctx, `SELECT id, bed, kind, code FROM series`)
	if err != nil {
		w.closeStmts()
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k seriesKey
		var kindName string
		if err := rows.Scan(&id, &k.bed, &kindName, &k.code); err != nil {
			w.closeStmts()
			return nil, err
		}
		if kindName == "wave" {
			k.kind = kindWave
		}
		w.series[k] = id
	}
	if err := rows.Err(); err != nil {
		w.closeStmts()
		return nil, err
	}
	if err := w.loadTotals(ctx, w.totals); err != nil {
		w.closeStmts()
		return nil, err
	}
	return w, nil
}

func (w *writer) closeStmts() {
	for _, s := range []*sql.Stmt{w.insSeries, w.getSeries, w.insTrend, w.insChunk, w.totals} {
		if s != nil {
			s.Close()
		}
	}
}

func (w *writer) add(rows ...row) { w.batch = append(w.batch, rows...) }

// loadTotals publishes the file's running totals to Stats.
func (w *writer) loadTotals(ctx context.Context, q *sql.Stmt) error {
	var trend, chunks, samples, bytes int64
	if err := q.QueryRowContext(ctx).Scan(&trend, &chunks, &samples, &bytes); err != nil {
		return err
	}
	s := &w.r.stats
	s.trendRows.Store(trend)
	s.chunks.Store(chunks)
	s.samples.Store(samples)
	s.bytes.Store(bytes)
	return nil
}

// flush writes the batch in one transaction. On an error that is the
// disk's (full, I/O, locked) the batch is kept for a retry and the error
// returned. A row the file refuses for itself (which should not happen) is
// found by writing the batch one row at a time, logged, counted as dropped
// and skipped, so it cannot hold up the rest.
func (w *writer) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	r := w.r
	w.encode()
	err := w.write(w.batch)
	if err != nil && !transient(err) {
		r.stats.writeErrors.Add(1)
		r.opt.Log.Error("recordings: batch refused, writing its rows one by one", "rows", len(w.batch), "err", err)
		for len(w.batch) > 0 {
			err = w.write(w.batch[:1])
			if err != nil && transient(err) {
				break
			}
			if err != nil {
				x := w.batch[0]
				r.stats.dropped.Add(1)
				r.opt.Log.Error("recordings: row refused, dropped", "bed", x.bed, "kind", x.kind, "code", x.code, "err", err)
			}
			w.done(1)
			err = nil
		}
	} else if err == nil {
		w.done(len(w.batch))
	}
	if err != nil {
		r.stats.writeErrors.Add(1)
		if w.failures == 0 {
			r.opt.Log.Error("recordings: write failed, rows wait in the queue", "rows", len(w.batch), "err", err)
		}
		w.failures++
		r.setTrouble(TroubleWrite, true)
		return err
	}
	if w.failures > 0 {
		r.opt.Log.Info("recordings: writing again", "failed_attempts", w.failures)
		w.failures = 0
	}
	r.setTrouble(TroubleWrite, false)
	return nil
}

// done removes the first n rows of the batch, written or given up.
func (w *writer) done(n int) {
	clear(w.batch[:n])
	w.batch = w.batch[:copy(w.batch, w.batch[n:])]
	if len(w.batch) == 0 && cap(w.batch) > 4*maxBatch {
		w.batch = nil // after a long outage, give the memory back
	}
	w.r.stats.written.Add(uint64(n))
}

// encode compresses the samples of the batch's chunks not yet encoded and
// recycles their sample buffers.
func (w *writer) encode() {
	for i := range w.batch {
		x := &w.batch[i]
		if x.kind != kindWave || x.samples == nil {
			continue
		}
		x.data = slices.Clone(w.enc.encode(*x.samples))
		w.r.recycle(x.samples)
		x.samples = nil
	}
}

// write inserts rows in one transaction and refreshes the totals.
func (w *writer) write(rows []row) (err error) {
	tx, err := w.r.conn.BeginTx(w.ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	fresh := map[seriesKey]int64{} // ids made in this transaction: cached only if it commits
	insTrend, insChunk := tx.StmtContext(w.ctx, w.insTrend), tx.StmtContext(w.ctx, w.insChunk)
	for i := range rows {
		x := &rows[i]
		id, err := w.seriesID(tx, seriesKey{x.bed, x.kind, x.code}, fresh)
		if err != nil {
			return err
		}
		if x.kind == kindTrend {
			_, err = insTrend.ExecContext(w.ctx, id, x.minuteMs, x.median, x.n)
		} else {
			dur := float64(x.count) * 1000 / float64(x.rateHz)
			_, err = insChunk.ExecContext(w.ctx, id, int64(math.Round(x.startMs)), int64(math.Ceil(x.startMs+dur)),
				float64(x.rateHz), x.count, float64(x.gain), float64(x.baseline), x.data)
		}
		if err != nil {
			return fmt.Errorf("insert %s row of bed %q code %d: %w", x.kind, x.bed, x.code, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for k, id := range fresh {
		w.series[k] = id
	}
	w.refreshTotals()
	return nil
}

// refreshTotals reads the totals after a commit. A failure only leaves the
// diagnostics stale, so it is logged and not returned.
func (w *writer) refreshTotals() {
	if err := w.loadTotals(w.ctx, w.totals); err != nil {
		w.r.opt.Log.Warn("recordings: reading totals", "err", err)
	}
}

// seriesID returns the id of a series, adding it to the file if it is new.
func (w *writer) seriesID(tx *sql.Tx, k seriesKey, fresh map[seriesKey]int64) (int64, error) {
	if id, ok := w.series[k]; ok {
		return id, nil
	}
	if id, ok := fresh[k]; ok {
		return id, nil
	}
	if _, err := tx.StmtContext(w.ctx, w.insSeries).ExecContext(w.ctx, k.bed, k.kind.String(), k.code); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.StmtContext(w.ctx, w.getSeries).QueryRowContext(w.ctx, k.bed, k.kind.String(), k.code).Scan(&id); err != nil {
		return 0, err
	}
	fresh[k] = id
	return id, nil
}

// transient reports whether err is the disk's or the moment's (worth a
// retry with the same rows) rather than a refusal of the rows themselves.
func transient(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return true // the connection or the context: try again
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
		sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_INTERRUPT:
		return true
	}
	return false
}

// retainLogged runs one retention step and logs a failure once.
func (w *writer) retainLogged() (more bool) {
	more, err := w.retain(w.r.opt.Now())
	if err != nil && w.lastRetain == nil {
		w.r.opt.Log.Warn("recordings: retention failed, will retry", "err", err)
	}
	w.lastRetain = err
	return more && err == nil
}

// retain deletes, in one transaction of at most about retainStep rows:
// trend rows older than TrendKeep, chunks older than WaveKeep, then the
// oldest chunks until the waveform data fits the budget. more reports that
// there is more to delete.
func (w *writer) retain(now time.Time) (more bool, err error) {
	opt := &w.r.opt
	tx, err := w.r.conn.BeginTx(w.ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	left := int64(retainStep)

	// Trend rows: per series, so that each delete is a range of the
	// primary key. A minute goes once all of it is older than TrendKeep.
	trendCut := now.Add(-opt.TrendKeep).UnixMilli() - 60_000
	var ids []int64
	for k, id := range w.series {
		if k.kind == kindTrend {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	delTrend, err := tx.PrepareContext(w.ctx, `DELETE FROM trend WHERE series = ?1 AND minute_ms IN
		(SELECT minute_ms FROM trend WHERE series = ?1 AND minute_ms < ?2 ORDER BY minute_ms LIMIT ?3)`)
	if err != nil {
		return false, err
	}
	defer delTrend.Close()
	for i := 0; i < len(ids) && left > 0; i++ {
		// Start where the last step stopped, so every series gets its turn.
		id := ids[(w.trendCursor+i)%len(ids)]
		res, err := delTrend.ExecContext(w.ctx, id, trendCut, left)
		if err != nil {
			return false, err
		}
		n, _ := res.RowsAffected()
		if n == left {
			w.trendCursor = (w.trendCursor + i) % len(ids)
			more = true
		}
		left -= n
	}

	// Chunks by age: a chunk goes once its last sample is older than WaveKeep.
	if left > 0 {
		res, err := tx.ExecContext(w.ctx, `DELETE FROM chunk WHERE id IN
			(SELECT id FROM chunk WHERE end_ms <= ? ORDER BY end_ms LIMIT ?)`,
			now.Add(-opt.WaveKeep).UnixMilli(), left)
		if err != nil {
			return false, err
		}
		n, _ := res.RowsAffected()
		more = more || n == left
		left -= n
	}

	// Then the budget: the oldest chunks, of any bed, until it fits.
	var bytes int64
	if err := tx.QueryRowContext(w.ctx, `SELECT bytes FROM totals WHERE id = 1`).Scan(&bytes); err != nil {
		return false, err
	}
	if excess := bytes - opt.Budget; excess > 0 && left > 0 {
		ids, freed, err := oldestChunks(w.ctx, tx, excess, left)
		if err != nil {
			return false, err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(w.ctx, `DELETE FROM chunk WHERE id = ?`, id); err != nil {
				return false, err
			}
		}
		// Still over only if the step's limit, not the table, ran out.
		more = more || (freed < excess && int64(len(ids)) == left)
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	w.refreshTotals()
	return more, nil
}

// oldestChunks lists the oldest chunks whose data adds up to at least
// excess bytes, at most limit of them.
func oldestChunks(ctx context.Context, tx *sql.Tx, excess, limit int64) (ids []int64, freed int64, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, length(data) FROM chunk ORDER BY end_ms, id LIMIT ?`, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for freed < excess && rows.Next() {
		var id, size int64
		if err := rows.Scan(&id, &size); err != nil {
			return nil, 0, err
		}
		ids, freed = append(ids, id), freed+size
	}
	return ids, freed, rows.Err()
}
