-- The recordings file: 1-minute trend medians and compressed waveform
-- chunks (full disclosure). Described in SCHEMA.md and the package doc.

-- One row per bed and parameter (kind 'trend', code an MDC numeric code) or
-- bed and waveform channel (kind 'wave', code an MDC channel code). Rows are
-- never deleted: there are a few hundred, and ids keep the big tables small.
CREATE TABLE series (
	id   INTEGER PRIMARY KEY,
	bed  TEXT    NOT NULL,
	kind TEXT    NOT NULL CHECK (kind IN ('trend', 'wave')),
	code INTEGER NOT NULL CHECK (code > 0),
	UNIQUE (bed, kind, code)
);

-- The median of the valid values of one parameter over one wall-clock
-- minute [minute_ms, minute_ms + 60000), Unix ms UTC. Clustered on the key:
-- a trend view reads one contiguous range.
CREATE TABLE trend (
	series    INTEGER NOT NULL REFERENCES series (id),
	minute_ms INTEGER NOT NULL CHECK (minute_ms % 60000 = 0),
	median    REAL    NOT NULL,
	n         INTEGER NOT NULL CHECK (n > 0), -- valid values in the minute
	PRIMARY KEY (series, minute_ms)
) WITHOUT ROWID;

-- A run of contiguous samples of one channel. Sample i was taken at
-- start_ms + i*1000/rate_hz; its physical value is (raw - baseline) / gain
-- (feed.Channel.Physical), raw -32768 meaning invalid. data is the codec-1
-- encoding of the raw samples (codec.go): delta or linear prediction,
-- zigzag varint tokens with runs of invalid samples, raw DEFLATE.
CREATE TABLE chunk (
	id       INTEGER PRIMARY KEY,
	series   INTEGER NOT NULL REFERENCES series (id),
	start_ms INTEGER NOT NULL,
	end_ms   INTEGER NOT NULL, -- start_ms + n*1000/rate_hz, rounded up
	rate_hz  REAL    NOT NULL CHECK (rate_hz > 0),
	n        INTEGER NOT NULL CHECK (n > 0),
	gain     REAL    NOT NULL CHECK (gain <> 0),
	baseline REAL    NOT NULL,
	data     BLOB    NOT NULL,
	CHECK (end_ms >= start_ms)
);
-- Disclosure reads one series over a time range.
CREATE INDEX chunk_series_start ON chunk (series, start_ms);
-- Retention deletes the oldest chunks first, across all beds.
CREATE INDEX chunk_end ON chunk (end_ms);

-- Running totals, kept by the triggers below, so that the disk budget and
-- the station's diagnostics never need to scan the big tables.
CREATE TABLE totals (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	trend_rows INTEGER NOT NULL,
	chunks     INTEGER NOT NULL,
	samples    INTEGER NOT NULL,
	bytes      INTEGER NOT NULL -- sum of length(chunk.data)
);
INSERT INTO totals (id, trend_rows, chunks, samples, bytes) VALUES (1, 0, 0, 0, 0);

CREATE TRIGGER trend_added AFTER INSERT ON trend BEGIN
	UPDATE totals SET trend_rows = trend_rows + 1 WHERE id = 1;
END;
CREATE TRIGGER trend_removed AFTER DELETE ON trend BEGIN
	UPDATE totals SET trend_rows = trend_rows - 1 WHERE id = 1;
END;
CREATE TRIGGER chunk_added AFTER INSERT ON chunk BEGIN
	UPDATE totals SET chunks = chunks + 1, samples = samples + NEW.n,
		bytes = bytes + length(NEW.data) WHERE id = 1;
END;
CREATE TRIGGER chunk_removed AFTER DELETE ON chunk BEGIN
	UPDATE totals SET chunks = chunks - 1, samples = samples - OLD.n,
		bytes = bytes - length(OLD.data) WHERE id = 1;
END;
-- Vigil never rewrites a chunk; a repair by hand keeps the totals right.
CREATE TRIGGER chunk_changed AFTER UPDATE OF n, data ON chunk BEGIN
	UPDATE totals SET samples = samples - OLD.n + NEW.n,
		bytes = bytes - length(OLD.data) + length(NEW.data) WHERE id = 1;
END;
