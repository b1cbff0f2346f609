package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"time"
)

// The users, beds and stays tables change (they are not append-only), so
// the chain covers them through their digest: every journal row that
// changes them carries the SHA-256 of the three tables as the change left
// them (Event.State), and that row's hash, HMAC under the journal key,
// covers the digest. A change made to the tables around the journal (an
// account's role raised, a PIN hash replaced, a patient moved, with the
// file and sqlite3) leaves them unlike the last state chained, and the
// check at open says so, as does `vigil journal verify`.
//
// The columns are named: a migration that adds one to these tables must
// add it here and record a new state at its first open (stateTables' order
// is part of the digest).
var stateTables = []struct{ table, cols, order string }{
	{"users", "name, display, role, password, pin, disabled, failures, locked_ms, demo, created_ms, changed_ms", "name"},
	{"beds", "id, label, feed, state, patient, mrn, dob, profile, overrides, nurse, demo, device, changed_ms", "id"},
	{"stays", "id, bed, patient, mrn, dob, admitted_ms, ended_ms, ended_how", "id"},
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// stateDigest is the SHA-256 (hex) of the three tables: each table's name,
// then its rows in key order, each value type-tagged and length-prefixed.
func stateDigest(ctx context.Context, q queryer) (string, error) {
	h := sha256.New()
	for _, t := range stateTables {
		writeField(h, 't', []byte(t.table))
		rows, err := q.QueryContext(ctx, "SELECT "+t.cols+" FROM "+t.table+" ORDER BY "+t.order)
		if err != nil {
			return "", err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return "", err
			}
			writeField(h, 'r', nil)
			for _, v := range vals {
				switch v := v.(type) {
				case nil:
					writeField(h, 'n', nil)
				case int64:
					writeField(h, 'i', binary.BigEndian.AppendUint64(nil, uint64(v)))
				case float64:
					writeField(h, 'f', binary.BigEndian.AppendUint64(nil, math.Float64bits(v)))
				case string:
					writeField(h, 's', []byte(v))
				case []byte:
					writeField(h, 'b', v)
				case bool:
					writeField(h, 'i', binary.BigEndian.AppendUint64(nil, map[bool]uint64{true: 1}[v]))
				case time.Time:
					writeField(h, 'i', binary.BigEndian.AppendUint64(nil, uint64(v.UnixMilli())))
				default:
					writeField(h, 's', fmt.Appendf(nil, "%T %v", v, v))
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeField(h hash.Hash, tag byte, b []byte) {
	var n [binary.MaxVarintLen64 + 1]byte
	n[0] = tag
	k := binary.PutUvarint(n[1:], uint64(len(b)))
	h.Write(n[:1+k])
	h.Write(b)
}

// emptyState is the digest of three empty tables: a new journal's state
// before its first change, so it needs no row to record it.
var emptyState = func() string {
	h := sha256.New()
	for _, t := range stateTables {
		writeField(h, 't', []byte(t.table))
	}
	return hex.EncodeToString(h.Sum(nil))
}()

// EventTablesChanged is the technical row the check at open writes when the
// tables are not as the journal last chained them: the evidence stays in
// the chain after the state is recorded anew.
const EventTablesChanged = "tables-changed-outside"

// lastState is the last state chained and its row (seq 0: none; the state
// is then emptyState).
func lastState(ctx context.Context, q queryer) (seq int64, state string, err error) {
	err = q.QueryRowContext(ctx, "SELECT seq, state FROM events WHERE state != '' ORDER BY seq DESC LIMIT 1").Scan(&seq, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, emptyState, nil
	}
	return seq, state, err
}

// stateProblems reports the tables unlike the last state chained (q a
// snapshot: a read transaction, or the writer's) and every earlier finding
// of the kind kept in the chain.
func stateProblems(ctx context.Context, q queryer) ([]string, error) {
	var out []string
	seq, want, err := lastState(ctx, q)
	if err != nil {
		return nil, err
	}
	got, err := stateDigest(ctx, q)
	if err != nil {
		return nil, err
	}
	if got != want {
		at := "since the journal began"
		if seq > 0 {
			at = fmt.Sprintf("after row %d, the last change the journal recorded", seq)
		}
		out = append(out, "users, beds or stays were changed outside the journal "+at+": the tables no longer match the state chained")
	}
	ev, err := stateFindings(ctx, q)
	return append(out, ev...), err
}

// stateFindings are the technical rows of earlier checks that found the
// tables changed outside the journal.
func stateFindings(ctx context.Context, q queryer) ([]string, error) {
	var out []string
	rows, err := q.QueryContext(ctx, "SELECT seq, at_ms, detail FROM events WHERE state != '' AND event = ? ORDER BY seq", EventTablesChanged)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s, at int64
		var d string
		if err := rows.Scan(&s, &at, &d); err != nil {
			return nil, err
		}
		if len(out) < 20 {
			out = append(out, fmt.Sprintf("row %d (%s): %s", s, time.UnixMilli(at).UTC().Format(time.RFC3339), d))
		}
	}
	return out, rows.Err()
}

// checkState runs at open in the writer's transaction: a journal of an
// older version with users or beds gets its first state row; tables unlike
// the last state chained get a technical row saying so (the state recorded
// anew, so that what follows verifies, the finding kept in the chain). It
// returns the problems to report.
func (s *Store) checkState(ctx context.Context) []string {
	var problems []string
	err := s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		seq, want, err := lastState(ctx, tx)
		if err != nil {
			return nil, err
		}
		got, err := stateDigest(ctx, tx)
		if err != nil {
			return nil, err
		}
		s.state = got // what the writer compares the next changes with
		if got == want {
			return nil, nil
		}
		if seq == 0 {
			var from, rows int64
			if err := tx.QueryRowContext(ctx, "SELECT from_seq, (SELECT count(*) FROM events) FROM state_chain").Scan(&from, &rows); err != nil {
				return nil, err
			}
			if from > 1 && rows < from+16 {
				// A journal from before migration 0004, opened (and
				// migrated) now or a moment ago: its tables' first
				// state is recorded as they are.
				return []Event{{Kind: KindTechnical, Event: "journal-state-chained",
					Detail: "users, beds and stays are chained from this row on (their digest on every row that changes them)", State: got}}, nil
			}
			// A journal begun with the chained state starts from empty
			// tables: tables filled with no row to say so were filled
			// around it.
			problems = append(problems, "users, beds or stays were changed outside the journal since the journal began: the tables no longer match the state chained")
		} else {
			problems = append(problems, fmt.Sprintf("users, beds or stays were changed outside the journal after row %d, the last change the journal recorded: the tables no longer match the state chained", seq))
		}
		return []Event{{Kind: KindTechnical, Event: EventTablesChanged, State: got,
			Detail: fmt.Sprintf("found at open: the tables were not as row %d left them (chained %s, found %s); recorded anew from here", seq, short(want), short(got))}}, nil
	})
	if err != nil {
		return []string{"the state of users, beds and stays cannot be checked: " + err.Error()}
	}
	// Earlier findings stay findings: the rows that recorded them.
	p, err := stateFindings(ctx, s.db)
	if err != nil {
		return append(problems, "the state of users, beds and stays cannot be checked: "+err.Error())
	}
	return append(problems, p...)
}

func short(h string) string { return h[:min(len(h), 16)] }
