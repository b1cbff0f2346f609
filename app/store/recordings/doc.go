// Package recordings is Vigil's second SQLite file, beside the journal: the
// trends (1-minute medians of every numeric, per bed, kept at least 7 days)
// and the full disclosure (every waveform sample, in compressed per-bed,
// per-channel chunks, kept 72 h by default and within a disk budget, oldest
// first). Losing the last second of it on a power cut is acceptable, so it
// is written in batches with synchronous=NORMAL; the journal is not.
//
// # Data flow
//
//	feed goroutine                 bounded queue          writer (Run)
//	Numerics ─► open minute ──┐                            batches ≤ 500 rows / 250 ms
//	Wave ─────► open chunk ───┴─► closed rows ─► [ Queue ] ─► one transaction
//	              (copies the samples;             full: drop,     retention
//	               never blocks)                   count, OnTrouble  retries on error
//
// Numerics and Wave run on the feed's message goroutine and never block:
// a full queue drops the row, counts it (Stats.Dropped) and reports
// TroubleQueue. When a write fails (a full disk) the writer reports
// TroubleWrite and stops taking rows, which wait in the queue, and retries
// with back-off; nothing is lost until the queue itself is full. Close
// writes the open minutes and chunks and the queue. Queries read through
// their own connections (WAL) and never wait for the writer.
//
// A minute closes when a value of a later minute arrives, or once it is
// over and its parameter has gone quiet (the writer's sweep); its row is
// the median of the minute's valid values (an even count takes the mean of
// the middle two), none if it had none. A chunk closes when it spans
// ChunkSpan (the next one starts at the exact time the full one ends), at
// a gap or overlap of more than 1.5 sample periods, at a change of rate,
// gain or baseline, and when its channel has been quiet for 5 s.
//
// # Schema (migrations/0001_recordings.sql; SCHEMA.md)
//
//	series (id, bed, kind 'trend'|'wave', code)   one per bed and MDC code
//	trend  (series, minute_ms, median, n)         WITHOUT ROWID, key (series, minute_ms)
//	chunk  (id, series, start_ms, end_ms, rate_hz, n, gain, baseline, data)
//	       index (series, start_ms) for disclosure, (end_ms) for retention
//	totals (trend_rows, chunks, samples, bytes)   kept by triggers: no scans
//
// Sample i of a chunk was taken at start_ms + i*1000/rate_hz and is worth
// (raw - baseline) / gain physical units, as feed.Channel.Physical; raw
// -32768 is invalid. data is codec 1 (codec.go): the residuals of a first-
// or second-order predictor as zigzag varints, runs of invalid samples as
// a zero token and a count, Huffman-coded with compress/flate. The
// simulated ward's ECG, pleth and respiration take 0.6–0.8 bytes a sample
// against 2 raw.
//
// # Retention
//
// The writer deletes, at start, every minute and after a write that leaves
// the waveform data over Options.Budget: trend minutes older than
// TrendKeep, chunks whose last sample is older than WaveKeep, then the
// oldest chunks of any bed until the compressed bytes fit the budget. Each
// step deletes at most a few thousand rows per transaction so that writes
// interleave. SQLite reuses the freed pages, so the file grows to about
// its high-water mark and stays there; it does not shrink.
//
// # Alarm snippets
//
// KeepSnippet registers an alarm's interval (10 s either side of onset)
// with its numerics; a trigger copies every chunk retention deletes that
// overlaps a snippet into snippet_chunk, so the snippet outlives the
// disclosure (snippets.go). Snippet reads one back, Snippets lists them,
// PurgeSnippets drops the old ones (they are outside the budget).
package recordings
