package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// chainer hashes rows: plain SHA-256 below from (rows written before
// migration 0003), HMAC-SHA256 with the journal key from there on.
type chainer struct {
	key  []byte
	from int64
}

func (c chainer) hash(prev []byte, e *Event) []byte {
	if e.Seq >= c.from {
		return rowDigest(hmac.New(sha256.New, c.key), prev, e)
	}
	return chainHash(prev, e)
}

// TailRows is how many of the last rows the check at every open walks.
const TailRows = 256

// ChainReport is what a check of the journal found.
type ChainReport struct {
	Rows      int64  // rows checked
	LastSeq   int64  // the journal's last row
	HMACFrom  int64  // first row chained with the key (rows before: plain SHA-256)
	Integrity string // PRAGMA integrity_check ("ok"); "" for the tail check (quick_check ran at open)
	Tail      bool   // only the last TailRows rows were walked
	Key       string // fingerprint of the key used
	// Checkpoint is the one compared with (nil: none yet).
	Checkpoint *Checkpoint
	Problems   []string // each a reason the journal cannot be trusted
	Notes      []string // worth saying, not a failure
}

// OK reports sound pages, the guards in place, an unbroken chain and a
// journal that ends where its checkpoint says.
func (r ChainReport) OK() bool {
	return (r.Integrity == "ok" || r.Integrity == "") && len(r.Problems) == 0
}

// String is the report in one line.
func (r ChainReport) String() string {
	if r.OK() {
		return fmt.Sprintf("journal ok: %d rows checked, last seq %d", r.Rows, r.LastSeq)
	}
	return "journal does not verify: " + strings.Join(r.Problems, "; ")
}

var guards = []string{"events_append_only_update", "events_append_only_delete", "chain_fixed_update", "chain_fixed_delete",
	"state_chain_fixed_update", "state_chain_fixed_delete"}

// VerifyChain checks the whole journal: PRAGMA integrity_check, the
// append-only guards, every row's link and hash (SHA-256 before the keyed
// start, HMAC-SHA256 from it), and the end against the checkpoint kept
// beside the key. progress (may be nil) is called every 1,000 rows and at
// the end with the rows done and the total. A journal of a million rows
// takes a few seconds: run it in the background. ctx cancels it.
func (s *Store) VerifyChain(ctx context.Context, progress func(done, total int)) (ChainReport, error) {
	r := ChainReport{Key: KeyFingerprint(s.chain.key)}
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return r, err
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return r, err
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	r.Integrity = strings.Join(msgs, "; ")
	if err = s.check(ctx, &r, 0, progress); err != nil {
		return r, err
	}
	// The tables against the last state chained, in one snapshot.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return r, err
	}
	defer tx.Rollback()
	p, err := stateProblems(ctx, tx)
	r.Problems = append(r.Problems, p...)
	return r, err
}

// tailCheck is the check at every open: the guards, the last TailRows rows
// and the checkpoint.
func (s *Store) tailCheck(ctx context.Context) (ChainReport, error) {
	r := ChainReport{Tail: true, Key: KeyFingerprint(s.chain.key)}
	return r, s.check(ctx, &r, TailRows, nil)
}

// check walks the last tail rows (all when 0) and compares the checkpoint.
func (s *Store) check(ctx context.Context, r *ChainReport, tail int64, progress func(done, total int)) error {
	db := s.db
	for _, trg := range guards {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name = ?", trg).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			r.Problems = append(r.Problems, "trigger "+trg+" is missing: the journal was opened for changes")
		}
	}
	var from, n int64
	if err := db.QueryRowContext(ctx, "SELECT hmac_from, (SELECT count(*) FROM chain) FROM chain").Scan(&from, &n); err != nil || n != 1 {
		r.Problems = append(r.Problems, "the record of where the keyed chain starts (table chain) is missing or doubled")
		from = s.chain.from
	}
	r.HMACFrom = from
	var total int64
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0), count(*) FROM events").Scan(&r.LastSeq, &total); err != nil {
		return err
	}
	if from > r.LastSeq+1 {
		r.Problems = append(r.Problems, fmt.Sprintf("the keyed chain is said to start at seq %d, past the journal's end (%d): rows were removed or re-hashed without the key", from, r.LastSeq))
	}
	if from != s.chain.from {
		r.Problems = append(r.Problems, fmt.Sprintf("the keyed chain's start changed while the journal was open (%d, now %d)", s.chain.from, from))
	}
	c := chainer{key: s.chain.key, from: from}
	start, prev := int64(1), zeroHash
	if tail > 0 && r.LastSeq-tail+1 > 1 {
		start = r.LastSeq - tail + 1
		if err := db.QueryRowContext(ctx, "SELECT hash FROM events WHERE seq = ?", start-1).Scan(&prev); err != nil {
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			prev = nil // reported as a missing row below
		}
		total = r.LastSeq - start + 1
	}
	want := start
	if prev == nil {
		want = -1
	}
	for after := start - 1; ; {
		rows, err := db.QueryContext(ctx, "SELECT "+eventCols+" FROM events WHERE seq > ? ORDER BY seq LIMIT 5000", after)
		if err != nil {
			return err
		}
		got := 0
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return err
			}
			got++
			r.Rows++
			after = e.Seq
			switch {
			case len(r.Problems) > 20:
				// enough said
			case want == -1:
				r.Problems = append(r.Problems, fmt.Sprintf("row %d is missing: rows were removed", start-1))
			case e.Seq != want:
				r.Problems = append(r.Problems, fmt.Sprintf("row %d follows row %d: rows are missing", e.Seq, want-1))
			case !bytes.Equal(e.Prev, prev):
				r.Problems = append(r.Problems, fmt.Sprintf("row %d does not link to row %d: rows were removed, inserted or reordered", e.Seq, e.Seq-1))
			case !hmac.Equal(c.hash(e.Prev, &e), e.Hash):
				how := "edited, or re-hashed without the key"
				if e.Seq < from {
					how = "edited: its SHA-256 does not match"
				}
				r.Problems = append(r.Problems, fmt.Sprintf("row %d was changed after it was written (%s; now reads %s %s at %s)",
					e.Seq, how, e.Kind, e.Event, e.At.Format(time.RFC3339)))
			}
			prev, want = e.Hash, e.Seq+1
			if progress != nil && r.Rows%1000 == 0 {
				progress(int(r.Rows), int(total))
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if got < 5000 {
			break
		}
	}
	if progress != nil {
		progress(int(r.Rows), int(total))
	}
	cp, err := readCheckpoint(s.cpFile)
	if err != nil {
		r.Problems = append(r.Problems, "the checkpoint cannot be read: "+err.Error())
		return nil
	}
	return r.checkCheckpoint(cp, s.chain.key, r.LastSeq, func(seq int64) ([]byte, error) {
		var h []byte
		err := db.QueryRowContext(ctx, "SELECT hash FROM events WHERE seq = ?", seq).Scan(&h)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return h, err
	})
}

// checkpointer keeps the checkpoint up to date after commits.
type checkpointer struct {
	mu     sync.Mutex
	frozen bool // the open found a problem: keep the evidence
	since  int  // rows since the last write
	seq    int64
	hash   []byte
}

// committed is told the last row of each commit (the writer's goroutine).
func (s *Store) committed(seq int64, hash []byte, n int) {
	s.cp.mu.Lock()
	s.cp.seq, s.cp.hash = seq, hash
	s.cp.since += n
	due := s.cp.since >= s.opt.CheckpointEvery
	s.cp.mu.Unlock()
	if due {
		s.saveCheckpoint(false)
	}
}

// saveCheckpoint writes the last committed row to the checkpoint, unless
// the open found a problem (frozen) or the file already shows a later row
// of this journal (another process, the CLI, wrote after us). force
// writes it whatever the file says (a new journal after a set-aside).
func (s *Store) saveCheckpoint(force bool) {
	s.cp.mu.Lock()
	defer s.cp.mu.Unlock()
	if s.cp.frozen {
		return
	}
	if !force {
		if old, err := readCheckpoint(s.cpFile); err == nil && old != nil && old.Seq > s.cp.seq &&
			hmac.Equal([]byte(old.MAC), []byte(old.mac(s.chain.key))) {
			s.cp.since = 0
			return
		}
	}
	c := Checkpoint{Journal: absPath(s.file), Seq: s.cp.seq, Hash: hex.EncodeToString(s.cp.hash), HMACFrom: s.chain.from,
		Key: KeyFingerprint(s.chain.key), At: nowRFC(s.opt.Now())}
	if err := writeCheckpoint(s.cpFile, c, s.chain.key); err != nil {
		s.log.Error("cannot write the journal checkpoint", "file", s.cpFile, "err", err)
		return
	}
	s.cp.since = 0
}
