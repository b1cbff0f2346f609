// Package dbfile opens Vigil's SQLite files: the pragmas every connection
// needs, the numbered migrations embedded in the binary, and the refusal to
// touch a file that is not ours. A corrupt or foreign file is never
// overwritten and never silently reset: it is renamed aside with a
// timestamp, the caller is told (to log it and raise a technical alarm),
// and a new file is started in its place.
package dbfile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver ("sqlite")
)

// Spec says what a file must be.
type Spec struct {
	// AppID is written to PRAGMA application_id: it tells a journal from a
	// recordings file from someone else's database.
	AppID int32
	// Kind names the file in messages ("journal", "recordings").
	Kind string
	// Migrations holds NNNN_name.sql files, applied in order, each in its
	// own transaction and recorded in schema_migrations.
	Migrations fs.FS
	// Synchronous is FULL for the journal (a commit is on disk when it
	// returns) and NORMAL where batching makes a lost last second harmless.
	Synchronous string
	// Check runs PRAGMA quick_check at open (cheap for the journal; skip it
	// for the large recordings file).
	Check bool
	// Now names set-aside files; time.Now when nil.
	Now func() time.Time
}

// SetAside is what Open did with a file it could not use.
type SetAside struct {
	Path   string // the new name of the old file
	Reason string
}

// ErrNewer means the file was written by a newer Vigil: it is left alone and
// the station does not start (downgrading would lose data).
var ErrNewer = errors.New("written by a newer version of Vigil")

// DSN is the connection string for path with the pragmas every connection
// needs. WAL lets readers (review, export) run beside the one writer;
// foreign keys are on because the schema relies on them; busy_timeout
// covers a second process (the CLI) writing at the same moment; _txlock
// makes every transaction take the write lock at BEGIN, so two writers
// queue instead of failing half-way.
func DSN(file, synchronous string) string {
	return "file:" + file + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" +
		synchronous + ")&_pragma=foreign_keys(1)&_txlock=immediate"
}

// Open opens (creating if needed) and migrates the file. When the file is
// corrupt or foreign it is set aside and a new one made; aside says so.
func Open(ctx context.Context, file string, spec Spec) (db *sql.DB, aside *SetAside, err error) {
	if spec.Synchronous == "" {
		spec.Synchronous = "FULL"
	}
	db, reason, err := tryOpen(ctx, file, spec)
	if err != nil || reason == "" {
		return db, nil, err
	}
	now := time.Now
	if spec.Now != nil {
		now = spec.Now
	}
	moved, err := setAside(file, now())
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s is unusable (%s) and could not be set aside: %w", spec.Kind, file, reason, err)
	}
	aside = &SetAside{Path: moved, Reason: reason}
	db, reason, err = tryOpen(ctx, file, spec)
	if err == nil && reason != "" {
		err = fmt.Errorf("new %s %s: %s", spec.Kind, file, reason)
	}
	return db, aside, err
}

// tryOpen returns a ready database, or a reason the file is not usable
// (corrupt or foreign), or an error that is not the file's fault.
func tryOpen(ctx context.Context, file string, spec Spec) (*sql.DB, string, error) {
	// Look before touching: a read-only probe without pragmas, so a foreign
	// file is set aside exactly as it was (journal_mode=WAL alone rewrites
	// the header).
	if exists(file) {
		probe, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
		if err != nil {
			return nil, "", err
		}
		reason, err := check(ctx, probe, spec, false)
		probe.Close()
		if reason != "" {
			return nil, reason, nil
		}
		// An error of the probe itself (a WAL left by a crash may need a
		// writer to recover it) is not the file's fault: open for real.
		_ = err
	}
	if err := ownerOnly(file); err != nil {
		return nil, "", err
	}
	db, err := sql.Open("sqlite", DSN(file, spec.Synchronous))
	if err != nil {
		return nil, "", err
	}
	reason, err := check(ctx, db, spec, true)
	if err == nil && reason == "" {
		err = migrate(ctx, db, spec)
		if err != nil && isCorrupt(err) {
			reason, err = "migration failed: "+err.Error(), nil
		}
	}
	if err != nil || reason != "" {
		db.Close()
		return nil, reason, err
	}
	return db, "", nil
}

func isCorrupt(err error) bool {
	s := err.Error()
	return strings.Contains(s, "not a database") || strings.Contains(s, "malformed") ||
		strings.Contains(s, "SQLITE_CORRUPT") || strings.Contains(s, "SQLITE_NOTADB")
}

// check decides whether the file is ours and sound.
func check(ctx context.Context, db *sql.DB, spec Spec, write bool) (string, error) {
	var id int32
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		if isCorrupt(err) {
			return "not a database: " + err.Error(), nil
		}
		return "", fmt.Errorf("open %s: %w", spec.Kind, err)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		if isCorrupt(err) {
			return "corrupt: " + err.Error(), nil
		}
		return "", err
	}
	switch {
	case id == 0 && tables == 0 && !write: // an empty file
		return "", nil
	case id == 0 && tables == 0: // a new file
		if _, err := db.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(int(spec.AppID))); err != nil {
			return "", err
		}
		return "", nil
	case id != spec.AppID:
		return fmt.Sprintf("not a Vigil %s (application_id %d, %d schema objects)", spec.Kind, id, tables), nil
	}
	if spec.Check && !write {
		var res string
		if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
			if isCorrupt(err) {
				return "corrupt: " + err.Error(), nil
			}
			return "", err
		}
		if res != "ok" {
			return "corrupt: quick_check: " + res, nil
		}
	}
	return "", nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations(fsys fs.FS) ([]migration, error) {
	var out []migration
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return err
		}
		base := path.Base(p)
		num, name, ok := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return fmt.Errorf("migration %s: want NNNN_name.sql", p)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, migration{v, name, string(b)})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 1, 2, 3 ...: %d is %04d_%s", i+1, out[i].version, out[i].name)
		}
	}
	return out, err
}

// Version is the highest migration applied to db.
func Version(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	return int(v.Int64), err
}

func migrate(ctx context.Context, db *sql.DB, spec Spec) error {
	ms, err := migrations(spec.Migrations)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	have, err := Version(ctx, db)
	if err != nil {
		return err
	}
	if have > len(ms) {
		return fmt.Errorf("%s schema version %d: %w (this one knows %d)", spec.Kind, have, ErrNewer, len(ms))
	}
	for _, m := range ms[have:] {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s migration %04d_%s: %w", spec.Kind, m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("%s migration %04d_%s: %w", spec.Kind, m.version, m.name, err)
		}
	}
	return nil
}

// setAside renames file (and its -wal and -shm companions) out of the way.
func setAside(file string, now time.Time) (string, error) {
	moved := file + ".unusable-" + now.UTC().Format("20060102T150405Z")
	for i := 2; exists(moved); i++ {
		moved = fmt.Sprintf("%s.unusable-%s-%d", file, now.UTC().Format("20060102T150405Z"), i)
	}
	if err := os.Rename(file, moved); err != nil {
		return "", err
	}
	for _, ext := range []string{"-wal", "-shm"} {
		if exists(file + ext) {
			if err := os.Rename(file+ext, moved+ext); err != nil {
				return moved, err
			}
		}
	}
	return moved, nil
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// ownerOnly makes the database file (an empty one when there is none yet,
// which SQLite takes as a new database) and its -wal and -shm files mode
// 0600: they hold patient data and the journal. SQLite gives the -wal and
// -shm files it makes the main file's mode.
func ownerOnly(file string) error {
	if !exists(file) {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if f != nil {
			f.Close()
		}
	}
	for _, p := range []string{file, file + "-wal", file + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
