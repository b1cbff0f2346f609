// Package store keeps what a station must remember: the journal (every
// alarm transition and every action, users, beds and patients) in its own
// SQLite file with synchronous=FULL, append-only and hash-chained. The
// recordings (trends and waveform disclosure) are in package recordings,
// in a second file. Schema: docs/storage.md.
//
// One writer goroutine owns the journal's writes. Callers hand it rows and
// operations through a queue that never blocks them; the writer commits
// whatever is waiting in one transaction (group commit) and then tells each
// caller its row is durable. A slow or full disk makes the queue grow and
// raises a technical alarm (Options.OnTrouble); rows are kept and written
// when the disk allows, never dropped silently.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-station/vigil/app/store/dbfile"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// AppID marks a Vigil journal file (PRAGMA application_id, "VIGJ").
const AppID = 0x5649474a

// JournalFile is the journal's file name in the data directory.
const JournalFile = "journal.db"

// Options configure a Store.
type Options struct {
	Station string           // this station's id, recorded with every row it writes
	Now     func() time.Time // time.Now when nil
	Log     *slog.Logger
	// Queue is how many rows may wait for the disk before the station raises
	// a technical alarm (they are still kept); 10,000 when 0.
	Queue int
	// OnTrouble is told when the journal cannot keep up or cannot write
	// (present) and when it has caught up again. It must not block.
	OnTrouble func(problem string, present bool)
	// Demo loads the demo users and beds; outside demo mode they are
	// refused, so nothing seeded for a demonstration reaches a real ward.
	Demo bool
	// LockAfter failed logins in a row lock the account for LockFor
	// (5 and 5 min when 0).
	LockAfter int
	LockFor   time.Duration
	// OnBeds is called after a bed change is committed. It must not block.
	OnBeds func()
	// KeyFile is the journal key (HMAC-SHA256 of the chain), outside the
	// data directory; DefaultKeyFile() when "". Made (0600) when missing
	// and no row is signed with it yet; refused when group or others may
	// read it. The checkpoint is kept in its directory.
	KeyFile string
	// CheckpointEvery rows the checkpoint is written (and at open and
	// close); 100 when 0.
	CheckpointEvery int
}

// Store is an open journal.
type Store struct {
	db    *sql.DB
	opt   Options
	log   *slog.Logger
	w     *writer
	file  string
	aside *dbfile.SetAside

	chain     chainer // the key and where the keyed chain starts
	keyFile   string
	cpFile    string
	cp        checkpointer
	openCheck ChainReport
	// state is the users, beds and stays digest last chained (the
	// writer's goroutine only; "" until checkState has run at open).
	state string
}

// Open opens (or creates) the journal in dir and starts its writer. A
// corrupt or foreign journal is set aside (SetAside says where) and a new
// one started; the caller must say so loudly.
func Open(ctx context.Context, dir string, opt Options) (*Store, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	opt.Queue = cmp.Or(opt.Queue, 10000)
	opt.LockAfter = cmp.Or(opt.LockAfter, 5)
	opt.LockFor = cmp.Or(opt.LockFor, 5*time.Minute)
	opt.CheckpointEvery = cmp.Or(opt.CheckpointEvery, 100)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	file := filepath.Join(dir, JournalFile)
	sub, _ := fs.Sub(migrationFiles, "migrations")
	db, aside, err := dbfile.Open(ctx, file, dbfile.Spec{AppID: AppID, Kind: "journal", Migrations: sub,
		Synchronous: "FULL", Check: true, Now: opt.Now})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", file, err)
	}
	s := &Store{db: db, opt: opt, log: opt.Log.With("component", "journal"), file: file, aside: aside}
	if aside != nil {
		s.log.Error("journal unusable; set aside and a new one started", "reason", aside.Reason, "moved_to", aside.Path)
	}
	if err := s.openChain(ctx, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", file, err)
	}
	asideNote := ""
	if aside != nil { // the checkpoint was the old file's: keep it beside it
		if _, err := os.Stat(s.cpFile); err == nil {
			moved := s.cpFile + ".unusable-" + opt.Now().UTC().Format("20060102T150405Z")
			if err := os.Rename(s.cpFile, moved); err == nil {
				asideNote = "; its checkpoint kept as " + moved
			}
		}
	}
	r, err := s.tailCheck(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", file, err)
	}
	s.openCheck = r
	if !r.OK() {
		s.cp.frozen = true // the checkpoint stays as evidence
		s.log.Error("journal tampered with or damaged", "file", file, "problems", strings.Join(r.Problems, "; "))
	}
	s.w, err = newWriter(ctx, s)
	if err != nil {
		db.Close()
		return nil, err
	}
	if aside != nil {
		if err := <-s.Append(Event{Kind: KindTechnical, Event: "journal-set-aside",
			Detail: fmt.Sprintf("the previous journal was unusable (%s); kept as %s%s", aside.Reason, filepath.Base(aside.Path), asideNote)}); err != nil {
			s.log.Error("cannot journal the set-aside", "err", err)
		}
	}
	if r.LastSeq > 0 && r.LastSeq < s.chain.from { // an older journal: its keyed part starts now
		if err := <-s.Append(Event{Kind: KindTechnical, Event: "journal-chain-keyed",
			Detail: fmt.Sprintf("rows from seq %d on are chained with HMAC-SHA256 (key %s); the rows before keep their SHA-256 chain",
				s.chain.from, KeyFingerprint(s.chain.key))}); err != nil {
			s.log.Error("cannot journal the keyed chain's start", "err", err)
		}
	}
	if p := s.checkState(ctx); len(p) > 0 {
		s.openCheck.Problems = append(s.openCheck.Problems, p...)
		s.cp.mu.Lock()
		s.cp.frozen = true
		s.cp.mu.Unlock()
		s.log.Error("journal tables changed outside the journal", "file", file, "problems", strings.Join(p, "; "))
	}
	s.saveCheckpoint(aside != nil)
	return s, nil
}

// openChain reads where the keyed chain starts and loads (or makes) the
// key.
func (s *Store) openChain(ctx context.Context, dir string) error {
	var last int64
	if err := s.db.QueryRowContext(ctx, "SELECT hmac_from, (SELECT coalesce(max(seq), 0) FROM events) FROM chain").Scan(&s.chain.from, &last); err != nil {
		return fmt.Errorf("the keyed chain's start (table chain): %w", err)
	}
	s.keyFile = s.opt.KeyFile
	if s.keyFile == "" {
		var err error
		if s.keyFile, err = DefaultKeyFile(); err != nil {
			return err
		}
	}
	signed := last >= s.chain.from
	key, created, err := loadKey(s.keyFile, dir, !signed)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal key %s is missing, and rows %d to %d are chained with it: restore it from the backup (docs/storage.md) or give its place with --journal-key",
			s.keyFile, s.chain.from, last)
	}
	if err != nil {
		return err
	}
	if created {
		s.log.Warn("new journal key made: back it up (docs/storage.md)", "file", s.keyFile, "key", KeyFingerprint(key))
	}
	s.chain.key = key
	s.cpFile = CheckpointFile(s.keyFile, s.file)
	if err := s.db.QueryRowContext(ctx, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").Scan(&s.cp.seq, &s.cp.hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// OpenCheck is what the check at open found: the append-only guards, the
// last TailRows rows of the chain and the checkpoint. When it is not OK the
// station must say so (a technical alarm); the checkpoint is then left as
// it was, as evidence, until the journal is looked at.
func (s *Store) OpenCheck() ChainReport { return s.openCheck }

// KeyFile is the journal key's path.
func (s *Store) KeyFile() string { return s.keyFile }

// CheckpointFile is this journal's checkpoint.
func (s *Store) CheckpointFile() string { return s.cpFile }

// SetAside reports a journal that was set aside at Open (nil when none).
func (s *Store) SetAside() *dbfile.SetAside { return s.aside }

// File is the journal's path.
func (s *Store) File() string { return s.file }

// DB is the journal for reading (review, export). Writes go through the
// writer.
func (s *Store) DB() *sql.DB { return s.db }

// Close writes what is waiting (at most 10 s) and closes the file.
func (s *Store) Close() error {
	if s.w != nil {
		s.w.close(10 * time.Second)
		s.saveCheckpoint(false)
	}
	return s.db.Close()
}

// Stats are the journal's counters.
type Stats struct {
	Written   uint64  // rows committed
	Commits   uint64  // transactions
	Waiting   int     // rows queued for the disk
	Failures  uint64  // failed commits (retried)
	Lost      uint64  // rows given up (only past the hard cap, or at a stuck close)
	CommitP99 float64 // ms
}

// Stats returns the counters.
func (s *Store) Stats() Stats { return s.w.stats() }

// ErrClosed means the journal is closed.
var ErrClosed = errors.New("journal closed")
