-- Alarm snippets: every alarm keeps its bed's waveforms from shortly
-- before to shortly after its onset (10 s either side by default), beyond
-- the full disclosure's WaveKeep and disk budget. Described in snippets.go.
--
-- A snippet row is only the interval and what was known at onset. The
-- samples stay in `chunk` while the disclosure keeps them; when retention
-- (or anything else) deletes a chunk that overlaps a snippet of its bed,
-- the trigger chunk_kept copies it, compressed as it is, into
-- snippet_chunk in the same transaction. So a snippet may be registered at
-- onset, before the samples after onset exist, and never loses them.

CREATE TABLE snippets (
	alarm_id TEXT    NOT NULL PRIMARY KEY CHECK (length(alarm_id) > 0),
	bed      TEXT    NOT NULL CHECK (length(bed) > 0),
	onset_ms INTEGER NOT NULL, -- Unix ms UTC
	from_ms  INTEGER NOT NULL,
	to_ms    INTEGER NOT NULL,
	text     TEXT    NOT NULL, -- the alarm's text, priority prefix first
	numerics TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(numerics)), -- {"hr":132,"spo2":88}
	-- At most MaxSnippetSpan (10 min) long: the trigger below finds the
	-- snippets of a chunk by a range of from_ms that this bounds.
	CHECK (from_ms <= onset_ms AND onset_ms <= to_ms AND from_ms < to_ms AND to_ms - from_ms <= 600000)
);
-- The snippets of a bed over a time (the trigger, the review).
CREATE INDEX snippets_bed_from ON snippets (bed, from_ms);
-- The ward's snippets over a time, and their purge by age.
CREATE INDEX snippets_onset ON snippets (onset_ms);

-- Copies of chunks deleted from `chunk` that a snippet needs; the columns
-- and their meaning are those of `chunk`. Not counted in `totals` (the
-- disclosure's budget): they leave with their snippets (PurgeSnippets).
CREATE TABLE snippet_chunk (
	id       INTEGER PRIMARY KEY,
	series   INTEGER NOT NULL REFERENCES series (id),
	start_ms INTEGER NOT NULL,
	end_ms   INTEGER NOT NULL,
	rate_hz  REAL    NOT NULL CHECK (rate_hz > 0),
	n        INTEGER NOT NULL CHECK (n > 0),
	gain     REAL    NOT NULL CHECK (gain <> 0),
	baseline REAL    NOT NULL,
	data     BLOB    NOT NULL,
	CHECK (end_ms >= start_ms)
);
CREATE INDEX snippet_chunk_series_start ON snippet_chunk (series, start_ms);

-- A chunk overlaps a snippet of its bed when from_ms < end_ms and
-- to_ms > start_ms; a snippet spans at most 600000 ms, so from_ms is also
-- > start_ms - 600000, which makes the look-up a short index range.
CREATE TRIGGER chunk_kept BEFORE DELETE ON chunk
WHEN EXISTS (SELECT 1 FROM snippets sn
	WHERE sn.bed = (SELECT bed FROM series WHERE id = OLD.series)
	AND sn.from_ms < OLD.end_ms AND sn.from_ms > OLD.start_ms - 600000 AND sn.to_ms > OLD.start_ms)
BEGIN
	INSERT INTO snippet_chunk (series, start_ms, end_ms, rate_hz, n, gain, baseline, data)
	VALUES (OLD.series, OLD.start_ms, OLD.end_ms, OLD.rate_hz, OLD.n, OLD.gain, OLD.baseline, OLD.data);
END;
