package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// PeerCheckpoint is a journal checkpoint another station of the ward
// published, as this station received it: the signed envelope is kept
// whole (its signature is checked again whenever it is used).
type PeerCheckpoint struct {
	Station  string    // the station that signed it
	Seq      int64     // its journal's last row then
	Signed   time.Time // when it signed it
	Received time.Time
	Topic    string // the topic it was published on (part of what is signed)
	Envelope []byte
}

// peerKeepAll is how long every checkpoint of a station is kept; older
// ones are thinned to the last of each day.
const peerKeepAll = 7 * 24 * time.Hour

// KeepPeerCheckpoint stores a checkpoint another station published (a
// repeat of one kept is ignored) and thins that station's older ones.
func (s *Store) KeepPeerCheckpoint(ctx context.Context, c PeerCheckpoint) error {
	if c.Received.IsZero() {
		c.Received = s.opt.Now()
	}
	return s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO peer_checkpoints(station, seq, signed_ms, received_ms, topic, envelope)
			VALUES (?,?,?,?,?,?)`, c.Station, c.Seq, c.Signed.UnixMilli(), c.Received.UnixMilli(), c.Topic, c.Envelope); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM peer_checkpoints WHERE station = ? AND signed_ms < ?
			AND seq NOT IN (SELECT max(seq) FROM peer_checkpoints WHERE station = ? GROUP BY signed_ms / 86400000)`,
			c.Station, now.Add(-peerKeepAll).UnixMilli(), c.Station)
		return nil, err
	})
}

// PeerCheckpoints reads the checkpoints kept in the journal file (this
// station's or another's: the file is opened read-only), oldest first.
func PeerCheckpoints(ctx context.Context, db *sql.DB) ([]PeerCheckpoint, error) {
	rows, err := db.QueryContext(ctx, "SELECT station, seq, signed_ms, received_ms, topic, envelope FROM peer_checkpoints ORDER BY signed_ms, station, seq")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PeerCheckpoint
	for rows.Next() {
		var c PeerCheckpoint
		var signed, received int64
		if err := rows.Scan(&c.Station, &c.Seq, &signed, &received, &c.Topic, &c.Envelope); err != nil {
			return nil, err
		}
		c.Signed, c.Received = time.UnixMilli(signed).UTC(), time.UnixMilli(received).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// OpenReadOnly opens a journal file for reading only (another station's,
// to read the checkpoints it kept): nothing is written, migrated or
// checked.
func OpenReadOnly(file string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Last is the journal's last committed row: its seq and hash.
func (s *Store) Last() (seq int64, hash []byte) {
	s.cp.mu.Lock()
	defer s.cp.mu.Unlock()
	return s.cp.seq, append([]byte(nil), s.cp.hash...)
}

// KeyFingerprint is the journal key's fingerprint.
func (s *Store) KeyFingerprint() string { return KeyFingerprint(s.chain.key) }

// HMACFrom is the first row chained with the key.
func (s *Store) HMACFrom() int64 { return s.chain.from }

// Against compares the journal with a checkpoint of it someone else holds
// (seq and hash, hex) and says what is wrong: "" when the journal has that
// row, unchanged.
func (s *Store) Against(ctx context.Context, seq int64, hash, whose string) (string, error) {
	if seq <= 0 {
		return "", nil
	}
	var h []byte
	var last int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM events").Scan(&last); err != nil {
		return "", err
	}
	err := s.db.QueryRowContext(ctx, "SELECT hash FROM events WHERE seq = ?", seq).Scan(&h)
	switch {
	case errors.Is(err, sql.ErrNoRows) && last < seq:
		return fmt.Sprintf("cut: %s shows this journal at seq %d, but it ends at seq %d: rows %d to %d were removed", whose, seq, last, last+1, seq), nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Sprintf("row %d, which %s saw, is missing: rows were removed", seq, whose), nil
	case err != nil:
		return "", err
	case hex.EncodeToString(h) != hash:
		return fmt.Sprintf("rewritten: row %d is not the row %s saw; the journal was rewritten from there or before", seq, whose), nil
	}
	return "", nil
}
