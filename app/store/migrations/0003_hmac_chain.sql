-- The hash chain is keyed from here on: every events row with
-- seq >= hmac_from has hash = HMAC-SHA256(key, prev_hash || fields), the key
-- kept outside the data directory (docs/storage.md). Rows written before this
-- migration keep their plain SHA-256 links and verify as they always did;
-- none is rewritten or lost.
CREATE TABLE chain (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    hmac_from INTEGER NOT NULL               -- first seq chained with the key
);
INSERT INTO chain(id, hmac_from) SELECT 1, coalesce(max(seq), 0) + 1 FROM events;

CREATE TRIGGER chain_fixed_update BEFORE UPDATE ON chain
BEGIN SELECT RAISE(ABORT, 'the journal chain''s start is fixed'); END;
CREATE TRIGGER chain_fixed_delete BEFORE DELETE ON chain
BEGIN SELECT RAISE(ABORT, 'the journal chain''s start is fixed'); END;
