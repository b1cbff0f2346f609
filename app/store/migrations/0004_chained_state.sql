-- The users, beds and stays tables are chained too: a journal row that
-- changes them carries, in state, the SHA-256 of the three tables as the
-- change left them (store/state.go), and that row's hash covers it. An edit
-- of the tables that does not go through the journal leaves them unlike
-- the last state chained; the check at open and `vigil journal verify`
-- report it. Rows written before this migration have state '' and hash as
-- they always did.
ALTER TABLE events ADD COLUMN state TEXT NOT NULL DEFAULT '';
CREATE INDEX events_state ON events(seq) WHERE state != '';

-- Where the chained state starts: a journal that had rows before this
-- migration records its tables' first state at the open that migrates it;
-- a journal begun with this migration starts from empty tables.
CREATE TABLE state_chain (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    from_seq INTEGER NOT NULL
);
INSERT INTO state_chain(id, from_seq) SELECT 1, coalesce(max(seq), 0) + 1 FROM events;
CREATE TRIGGER state_chain_fixed_update BEFORE UPDATE ON state_chain
BEGIN SELECT RAISE(ABORT, 'the chained state''s start is fixed'); END;
CREATE TRIGGER state_chain_fixed_delete BEFORE DELETE ON state_chain
BEGIN SELECT RAISE(ABORT, 'the chained state''s start is fixed'); END;

-- The journal checkpoints other stations of the ward publish (signed with
-- their station keys, docs/feed-protocol.md): kept so that `vigil journal
-- verify --peer` at that station can show its journal against what the
-- ward saw. The envelope is kept whole, its signature checked again then.
CREATE TABLE peer_checkpoints (
    station     TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    signed_ms   INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    topic       TEXT    NOT NULL,
    envelope    BLOB    NOT NULL,
    PRIMARY KEY (station, seq)
) WITHOUT ROWID;
