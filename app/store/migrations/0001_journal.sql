-- The journal: every alarm transition and every action, append-only and
-- hash-chained; users, beds and stays (mutable, every change journalled).

CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,          -- chain order (rowid)
    at_ms     INTEGER NOT NULL,             -- when it happened, Unix ms
    kind      TEXT    NOT NULL,             -- alarm, refused, login, config, technical
    event     TEXT    NOT NULL,             -- raised, acknowledged, login-failed, bed-admitted ...
    alarm_id  TEXT    NOT NULL DEFAULT '',
    bed       TEXT    NOT NULL DEFAULT '',
    who       TEXT    NOT NULL DEFAULT '',  -- '' for the system
    role      TEXT    NOT NULL DEFAULT '',
    station   TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '',
    old       TEXT    NOT NULL DEFAULT '',  -- configuration changes: the value before ...
    new       TEXT    NOT NULL DEFAULT '',  -- ... and after
    prev_hash BLOB    NOT NULL,             -- hash of the row before (32 zero bytes for the first)
    hash      BLOB    NOT NULL              -- SHA-256 over prev_hash and this row's fields
);
CREATE INDEX events_at ON events(at_ms);
CREATE INDEX events_alarm ON events(alarm_id) WHERE alarm_id != '';
CREATE INDEX events_bed ON events(bed, at_ms) WHERE bed != '';

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;

CREATE TABLE users (
    name        TEXT    PRIMARY KEY COLLATE NOCASE,
    display     TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('nurse', 'charge', 'admin')),
    password    TEXT    NOT NULL,            -- argon2id, PHC string
    pin         TEXT    NOT NULL DEFAULT '', -- argon2id of the short PIN, '' = none
    disabled    INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,  -- failed logins in a row
    locked_ms   INTEGER NOT NULL DEFAULT 0,  -- locked out until, Unix ms
    demo        INTEGER NOT NULL DEFAULT 0,  -- seeded by demo mode; never loaded outside it
    created_ms  INTEGER NOT NULL,
    changed_ms  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE beds (
    id          TEXT    PRIMARY KEY,          -- the ward's name for the bed
    label       TEXT    NOT NULL,
    feed        TEXT    NOT NULL DEFAULT '',  -- bound device feed '<ward>/<bed>', '' = none
    state       TEXT    NOT NULL DEFAULT 'empty' CHECK (state IN ('empty', 'admitted', 'standby')),
    patient     TEXT    NOT NULL DEFAULT '',
    mrn         TEXT    NOT NULL DEFAULT '',
    dob         TEXT    NOT NULL DEFAULT '',  -- YYYY-MM-DD
    profile     TEXT    NOT NULL DEFAULT 'adult',
    overrides   TEXT    NOT NULL DEFAULT '{}', -- JSON {param: [low, high]}
    nurse       TEXT    NOT NULL DEFAULT '',  -- care assignment: a user name
    demo        INTEGER NOT NULL DEFAULT 0,
    changed_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX beds_feed ON beds(feed) WHERE feed != '';

-- One row per patient stay in a bed: discharge closes it, the history stays.
CREATE TABLE stays (
    id            INTEGER PRIMARY KEY,
    bed           TEXT    NOT NULL,
    patient       TEXT    NOT NULL,
    mrn           TEXT    NOT NULL,
    dob           TEXT    NOT NULL,
    admitted_ms   INTEGER NOT NULL,
    ended_ms      INTEGER NOT NULL DEFAULT 0,  -- 0 = still in the bed
    ended_how     TEXT    NOT NULL DEFAULT ''  -- discharged, transferred to <bed>
);
CREATE INDEX stays_bed ON stays(bed, admitted_ms);
