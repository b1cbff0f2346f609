package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Checkpoint is the journal's last row as this host last saw it, kept
// outside the data directory (beside the key): deleting the journal's last
// rows leaves it pointing past the end. It is written at open, every
// Options.CheckpointEvery rows and at close.
type Checkpoint struct {
	Journal  string `json:"journal"`   // the journal file, absolute
	Seq      int64  `json:"seq"`       // its last row then
	Hash     string `json:"hash"`      // that row's hash, hex
	HMACFrom int64  `json:"hmac_from"` // the first row chained with the key
	Key      string `json:"key"`       // KeyFingerprint of the key
	At       string `json:"at"`        // when, RFC 3339
	MAC      string `json:"mac"`       // HMAC over the fields above
}

// CheckpointFile is where the checkpoint of the journal file is kept: in
// the key's directory, checkpoints/<16 hex digits of the journal's path>.json.
func CheckpointFile(keyFile, journalFile string) string {
	sum := sha256.Sum256([]byte(absPath(journalFile)))
	return filepath.Join(filepath.Dir(absPath(keyFile)), "checkpoints", hex.EncodeToString(sum[:8])+".json")
}

func (c *Checkpoint) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	for _, f := range []string{"vigil checkpoint v1", c.Journal, strconv.FormatInt(c.Seq, 10), c.Hash,
		strconv.FormatInt(c.HMACFrom, 10), c.Key, c.At} {
		m.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// readCheckpoint: nil, nil when there is none.
func readCheckpoint(file string) (*Checkpoint, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	return &c, nil
}

// writeCheckpoint replaces the file atomically (temporary file, sync,
// rename).
func writeCheckpoint(file string, c Checkpoint, key []byte) error {
	c.MAC = c.mac(key)
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err == nil {
		syncDir(filepath.Dir(file))
	}
	return err
}

// checkCheckpoint compares the journal (its last seq, the hash of a row by
// seq) with the checkpoint, adding to r.
func (r *ChainReport) checkCheckpoint(cp *Checkpoint, key []byte, last int64, hashAt func(seq int64) ([]byte, error)) error {
	r.Checkpoint = cp
	if cp == nil {
		r.Notes = append(r.Notes, "no checkpoint for this journal yet (first open on this host, or the checkpoint was deleted): a cut tail before now cannot be ruled out")
		return nil
	}
	if !hmac.Equal([]byte(cp.MAC), []byte(cp.mac(key))) {
		r.Problems = append(r.Problems, "the checkpoint does not verify with the journal key: it was altered, or the key is not the one it was written with")
		return nil
	}
	if cp.HMACFrom != r.HMACFrom {
		r.Problems = append(r.Problems, fmt.Sprintf("the keyed chain's start was moved: the journal says seq %d, the checkpoint %d", r.HMACFrom, cp.HMACFrom))
	}
	if last < cp.Seq {
		r.Problems = append(r.Problems, fmt.Sprintf("cut: the journal ends at seq %d but the checkpoint says %d (of %s): rows %d to %d were removed",
			last, cp.Seq, cp.At, last+1, cp.Seq))
		return nil
	}
	if cp.Seq == 0 {
		return nil
	}
	h, err := hashAt(cp.Seq)
	if err != nil {
		return err
	}
	if want, _ := hex.DecodeString(cp.Hash); !bytes.Equal(h, want) {
		r.Problems = append(r.Problems, fmt.Sprintf("row %d is not the row the checkpoint of %s recorded: the journal was rewritten from there or before", cp.Seq, cp.At))
	}
	return nil
}

func nowRFC(t time.Time) string { return t.UTC().Format(time.RFC3339) }
