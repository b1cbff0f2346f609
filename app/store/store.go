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
}

// Store is an open journal.
type Store struct {
	db    *sql.DB
	opt   Options
	log   *slog.Logger
	w     *writer
	file  string
	aside *dbfile.SetAside
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
	s.w, err = newWriter(ctx, s)
	if err != nil {
		db.Close()
		return nil, err
	}
	if aside != nil {
		if err := <-s.Append(Event{Kind: KindTechnical, Event: "journal-set-aside",
			Detail: fmt.Sprintf("the previous journal was unusable (%s); kept as %s", aside.Reason, filepath.Base(aside.Path))}); err != nil {
			s.log.Error("cannot journal the set-aside", "err", err)
		}
	}
	return s, nil
}

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
