package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the journal key's length in bytes (HMAC-SHA256).
const KeySize = 32

// KeyEnv names a journal key file, over the default (a flag wins over it).
const KeyEnv = "VIGIL_JOURNAL_KEY"

// DefaultKeyFile is where the journal key is kept when none is given:
// $VIGIL_JOURNAL_KEY, else $XDG_CONFIG_HOME/vigil/journal.key, else
// ~/.config/vigil/journal.key — outside the data directory, so that a copy
// (or a thief) of the data directory cannot re-sign an edited journal.
func DefaultKeyFile() (string, error) {
	if p := os.Getenv(KeyEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the journal key (give --journal-key PATH or $%s): %w", KeyEnv, err)
	}
	return filepath.Join(dir, "vigil", "journal.key"), nil
}

// KeyFingerprint names a key without revealing it: the first 8 bytes of its
// SHA-256, hex.
func KeyFingerprint(key []byte) string {
	sum := sha256.Sum256(append([]byte("vigil journal key\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// inside reports whether path is dir or under it.
func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p
}

// loadKey reads the key in file (64 hex digits, or 32 raw bytes). When the
// file does not exist and mayCreate, a new key is made (0600, its directory
// 0700). A key file that group or others may read is refused: anyone who
// reads it can re-sign an edited journal.
func loadKey(file, journalDir string, mayCreate bool) (key []byte, created bool, err error) {
	file = absPath(file)
	jd := absPath(journalDir)
	if inside(file, jd) || (filepath.Base(jd) == "demo" && inside(file, filepath.Dir(jd))) {
		return nil, false, fmt.Errorf("journal key %s is inside the data directory %s: keep it elsewhere (--journal-key PATH), or a copy of the data directory can re-sign an edited journal", file, jd)
	}
	st, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) {
		if !mayCreate {
			return nil, false, err
		}
		key, err = createKey(file)
		if err == nil {
			return key, true, nil
		}
		if !errors.Is(err, fs.ErrExist) { // else another process made it first: read that one
			return nil, false, err
		}
		st, err = os.Stat(file)
	}
	if err != nil {
		return nil, false, fmt.Errorf("journal key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("journal key %s may be read by group or others (mode %04o): only the station's user may read it; run: chmod 600 %s", file, st.Mode().Perm(), file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false, fmt.Errorf("journal key: %w", err)
	}
	if t := strings.TrimSpace(string(b)); len(t) == 2*KeySize {
		if k, err := hex.DecodeString(t); err == nil {
			return k, false, nil
		}
	}
	if len(b) == KeySize {
		return b, false, nil
	}
	return nil, false, fmt.Errorf("journal key %s is not a key (want %d hex digits)", file, 2*KeySize)
}

// createKey writes a new key to file without ever exposing a half-written
// one: a temporary file, synced, then linked into place (which fails if
// another process made the key first).
func createKey(file string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("journal key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".journal-key-*")
	if err != nil {
		return nil, fmt.Errorf("journal key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Link(tmp.Name(), file)
		}
		if err != nil {
			return nil, err
		}
		syncDir(filepath.Dir(file))
		return key, nil
	} else {
		tmp.Close()
		return nil, err
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
