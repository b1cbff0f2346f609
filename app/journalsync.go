package app

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/feed"
)

// Journal checkpoints between stations. At a regular interval, at every
// connection and at shutdown a station signs its journal's last row (seq
// and HMAC) with its station key and publishes it retained on
// vigil/v1/<ward>/journal/<station>. The other stations of the ward keep
// every one they see (store.PeerCheckpoint); the broker keeps the last. A
// journal cut or rewritten on its own host then disagrees with copies the
// attacker does not hold: the station checks the broker's retained copy of
// its own at every connection (a technical alarm when it disagrees), and
// `vigil journal verify --peer DIR | --broker` checks it against another
// station's kept copies or the broker's (docs/storage.md).

// journalCheckpoint is the signed body.
type journalCheckpoint struct {
	Station  string `json:"station"`
	Seq      int64  `json:"seq"`
	Hash     string `json:"hash"`      // HMAC-SHA256 of row seq, hex
	HMACFrom int64  `json:"hmac_from"` // first row chained with the journal key
	Key      string `json:"key"`       // the journal key's fingerprint
	At       int64  `json:"at"`        // Unix ms
	Final    bool   `json:"final,omitempty"`
}

// DefaultJournalCheckpointEvery is how often a station publishes its
// journal checkpoint.
const DefaultJournalCheckpointEvery = 5 * time.Minute

func journalTopic(ward, station string) string { return feed.Root + "/" + ward + "/journal/" + station }

func (s *alarmSync) journalFilter() string { return feed.Root + "/" + s.ward + "/journal/+" }

// journalSync publishes this station's checkpoints and keeps the others'.
type journalSync struct {
	c                                    *Core
	pending                              atomic.Int32 // checkpoints of others waiting for the journal
	kept, dropped, published, mismatches atomic.Uint64
	lastOwn                              atomic.Int64 // the seq of the last own checkpoint checked
}

// publish signs and publishes the journal's last row. With final (at
// shutdown) it waits for the broker's acknowledgement (bounded).
func (j *journalSync) publish(final bool) error {
	c := j.c
	if c.Store == nil || c.sync == nil {
		return nil
	}
	seq, hash := c.Store.Last()
	if seq == 0 {
		return nil
	}
	s := c.sync
	now := s.now()
	b, _ := json.Marshal(journalCheckpoint{Station: s.station, Seq: seq, Hash: hex.EncodeToString(hash),
		HMACFrom: c.Store.HMACFrom(), Key: c.Store.KeyFingerprint(), At: now.UnixMilli(), Final: final})
	topic := journalTopic(s.ward, s.station)
	signed := s.id.Sign(topic, b, now)
	var err error
	if final {
		if sub := s.sub.Load(); sub != nil {
			s.remember(signed)
			err = sub.Acked().Publish(topic, 1, true, signed)
		}
	} else {
		err = s.publish(topic, true, signed)
	}
	if err == nil {
		j.published.Add(1)
	}
	return err
}

// handle runs on the feed goroutine: verify, decode, then check (our own)
// or keep (another station's) off that goroutine.
func (j *journalSync) handle(topic string, payload []byte) {
	c := j.c
	s := c.sync
	if len(payload) == 0 {
		return
	}
	signer, body := s.open(topic, payload)
	if body == nil {
		return
	}
	var cp journalCheckpoint
	id := topic[strings.LastIndexByte(topic, '/')+1:]
	if err := json.Unmarshal(body, &cp); err != nil || cp.Station != signer || signer != id || cp.Seq < 0 || len(cp.Hash) > 128 {
		s.refuse(topic, signer, "content", fmt.Errorf("journal checkpoint of %q on the topic of %q (signed by %q)", cp.Station, id, signer))
		return
	}
	if c.Store == nil {
		return
	}
	if j.pending.Add(1) > 64 { // a flood: the journal is not made to wait for it
		j.pending.Add(-1)
		j.dropped.Add(1)
		return
	}
	go func() {
		defer j.pending.Add(-1)
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if signer == s.station {
			j.checkOwn(ctx, cp)
			return
		}
		err := c.Store.KeepPeerCheckpoint(ctx, store.PeerCheckpoint{Station: signer, Seq: cp.Seq,
			Signed: time.UnixMilli(cp.At).UTC(), Topic: topic, Envelope: payload})
		if err != nil {
			j.dropped.Add(1)
			c.Log.Warn("journal checkpoint of another station not kept", "station", signer, "err", err)
			return
		}
		j.kept.Add(1)
	}()
}

// checkOwn compares the journal with a checkpoint of it this station
// signed (the broker's retained copy at connection, or its own coming
// back): a journal that no longer holds the row is a technical alarm that
// stays.
func (j *journalSync) checkOwn(ctx context.Context, cp journalCheckpoint) {
	c := j.c
	j.lastOwn.Store(cp.Seq)
	whose := "the broker's copy of this station's checkpoint of " + time.UnixMilli(cp.At).UTC().Format(time.RFC3339)
	problem, err := c.Store.Against(ctx, cp.Seq, cp.Hash, whose)
	if err != nil || problem == "" {
		return
	}
	j.mismatches.Add(1)
	c.Log.Error("journal does not match its published checkpoint", "problem", problem)
	msg := "Journal history cut or rewritten: " + problem + " (vigil journal verify --broker)"
	if r := []rune(msg); len(r) > 240 {
		msg = string(r[:239]) + "…"
	}
	c.fault(alarms.CodeJournalCheckpoint, msg, true)
	if svc := c.alarmsReady.Load(); svc != nil {
		svc.Record(alarms.Record{At: time.Now(), Event: "journal-checkpoint-mismatch", Where: c.sync.station, Detail: problem})
	}
}

// run publishes every interval until ctx ends.
func (j *journalSync) run(ctx context.Context, every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := j.publish(false); err != nil {
				j.c.Log.Debug("journal checkpoint not published", "err", err)
			}
		}
	}
}

// verifyCheckpoint opens a kept or retained checkpoint envelope signed by
// the station whose public key is pub.
func verifyCheckpoint(pub ed25519.PublicKey, name, topic string, envelope []byte) (journalCheckpoint, error) {
	v := &peers.Verifier{Trust: peers.NewTrust(peers.Entry{Name: name, Key: pub}), Window: 5 * time.Minute}
	signer, body, err := v.Open(topic, envelope, time.Now())
	if err != nil {
		return journalCheckpoint{}, err
	}
	var cp journalCheckpoint
	if err := json.Unmarshal(body, &cp); err != nil {
		return cp, err
	}
	if cp.Station != signer {
		return cp, fmt.Errorf("checkpoint names %q but was signed by %q", cp.Station, signer)
	}
	return cp, nil
}
