package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// Kinds of journal rows.
const (
	KindAlarm       = "alarm"       // an alarm transition or an action on alarms (ack, pause, escalation ...)
	KindRefused     = "refused"     // a command refused for the role (or a locked station)
	KindLogin       = "login"       // logins, failures, lockouts, logouts, automatic locks
	KindConfig      = "config"      // users, beds, patients, limits, assignments: old -> new
	KindTechnical   = "technical"   // the station's own troubles (journal, disk)
	KindObservation = "observation" // NEWS2: observations charted by nurses, advisories raised and ended
)

// Event is one journal row.
type Event struct {
	Seq     int64
	At      time.Time
	Kind    string
	Event   string
	AlarmID string
	Bed     string
	Who     string
	Role    string
	Station string
	Detail  string
	Old     string
	New     string
	// State is the SHA-256 (hex) of the users, beds and stays tables as
	// the row's change left them, on rows that changed them ("" on the
	// others); the row's hash covers it.
	State string
	Prev  []byte // hash of the previous row
	Hash  []byte
}

var zeroHash = make([]byte, sha256.Size)

// chainHash is the hash of a row written before migration 0003: SHA-256
// over the previous hash, the sequence number, the time and every text
// field, each length-prefixed so no two different rows hash alike. Rows
// from then on use the same bytes under HMAC-SHA256 with the journal key
// (chainer).
func chainHash(prev []byte, e *Event) []byte { return rowDigest(sha256.New(), prev, e) }

func rowDigest(h hash.Hash, prev []byte, e *Event) []byte {
	h.Write(prev)
	var b [binary.MaxVarintLen64]byte
	binary.BigEndian.PutUint64(b[:8], uint64(e.Seq))
	h.Write(b[:8])
	binary.BigEndian.PutUint64(b[:8], uint64(e.At.UnixMilli()))
	h.Write(b[:8])
	for _, f := range []string{e.Kind, e.Event, e.AlarmID, e.Bed, e.Who, e.Role, e.Station, e.Detail, e.Old, e.New} {
		n := binary.PutUvarint(b[:], uint64(len(f)))
		h.Write(b[:n])
		h.Write([]byte(f))
	}
	if e.State != "" { // only rows from migration 0004 on carry one
		n := binary.PutUvarint(b[:], uint64(len(e.State)))
		h.Write(b[:n])
		h.Write([]byte(e.State))
	}
	return h.Sum(nil)
}

// Append queues one row. The channel receives nil once it is durable (or
// the error that stopped it). It never blocks.
func (s *Store) Append(e Event) <-chan error {
	if e.At.IsZero() {
		e.At = s.opt.Now()
	}
	if e.Station == "" {
		e.Station = s.opt.Station
	}
	return s.w.submit(item{ev: e})
}

var _ alarms.Recorder = (*Store)(nil)

// Record journals one line of the alarm trail (alarms.Recorder).
func (s *Store) Record(r alarms.Record) <-chan error {
	kind := KindAlarm
	switch r.Event {
	case "refused":
		kind = KindRefused
	case "limit-changed":
		kind = KindConfig
	}
	return s.Append(Event{At: r.At, Kind: kind, Event: r.Event, AlarmID: r.AlarmID, Bed: r.Bed, Who: r.Who,
		Role: r.Role, Station: r.Where, Detail: r.Detail})
}

// insertEvents appends rows to the chain inside tx, after whatever row is
// last now (another process, the CLI, may have written since). It returns
// the last row's seq and hash.
func (c chainer) insertEvents(ctx context.Context, tx *sql.Tx, evs []Event) (int64, []byte, error) {
	var seq int64
	prev := zeroHash
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
	if err != nil && err != sql.ErrNoRows {
		return 0, nil, err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO events(seq, at_ms, kind, event, alarm_id, bed, who, role, station,
		detail, old, new, state, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return 0, nil, err
	}
	defer st.Close()
	for i := range evs {
		e := &evs[i]
		seq++
		e.Seq, e.Prev = seq, prev
		e.Hash = c.hash(prev, e)
		if _, err := st.ExecContext(ctx, e.Seq, e.At.UnixMilli(), e.Kind, e.Event, e.AlarmID, e.Bed, e.Who, e.Role,
			e.Station, e.Detail, e.Old, e.New, e.State, e.Prev, e.Hash); err != nil {
			return 0, nil, err
		}
		prev = e.Hash
	}
	return seq, prev, nil
}

// Filter selects journal rows.
type Filter struct {
	From, To time.Time // zero = open
	Kinds    []string
	Bed, Who string
	AfterSeq int64
	Limit    int // 0 = all
	Newest   bool
}

const eventCols = "seq, at_ms, kind, event, alarm_id, bed, who, role, station, detail, old, new, state, prev_hash, hash"

// Events reads journal rows, oldest first (newest first with Newest).
func (s *Store) Events(ctx context.Context, f Filter) ([]Event, error) {
	var where []string
	var args []any
	if !f.From.IsZero() {
		where, args = append(where, "at_ms >= ?"), append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where, args = append(where, "at_ms < ?"), append(args, f.To.UnixMilli())
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(",?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	if f.Bed != "" {
		where, args = append(where, "bed = ?"), append(args, f.Bed)
	}
	if f.Who != "" {
		where, args = append(where, "who = ?"), append(args, f.Who)
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
	}
	q := "SELECT " + eventCols + " FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Newest {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEvent(rows *sql.Rows) (Event, error) {
	var e Event
	var at int64
	err := rows.Scan(&e.Seq, &at, &e.Kind, &e.Event, &e.AlarmID, &e.Bed, &e.Who, &e.Role, &e.Station, &e.Detail,
		&e.Old, &e.New, &e.State, &e.Prev, &e.Hash)
	e.At = time.UnixMilli(at).UTC()
	return e, err
}
