package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// multiFlag is a flag that may be given more than once.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// wardCopies checks the journal against the checkpoints of it that others
// hold: other stations' data directories (--peer, the checkpoints they kept)
// and the broker (--broker, the retained one). It prints what it compared
// and returns the problems.
func wardCopies(ctx context.Context, cfg Config, s *store.Store, jdir string, out io.Writer) ([]string, error) {
	a := cfg.admin
	if len(a.peers) == 0 && a.broker == "" {
		return nil, nil
	}
	keyFile := filepath.Join(jdir, StationKeyFile)
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no station key in %s: the station's checkpoints are signed with it, so they cannot be told from others'", jdir)
	}
	id, _, err := peers.LoadOrCreateIdentity(keyFile, "")
	if err != nil {
		return nil, err
	}
	var problems []string
	compare := func(where string, cps []journalCheckpoint) error {
		if len(cps) == 0 {
			fmt.Fprintf(out, "%s: no checkpoint of this station (key %s)\n", where, peers.Fingerprint(id.Pub))
			problems = append(problems, where+" holds no checkpoint of this station: it never saw one, or they were removed")
			return nil
		}
		sort.Slice(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
		bad := 0
		for _, cp := range cps {
			p, err := s.Against(ctx, cp.Seq, cp.Hash, where+" (checkpoint of "+time.UnixMilli(cp.At).UTC().Format(time.RFC3339)+")")
			if err != nil {
				return err
			}
			if p != "" {
				bad++
				if bad <= 5 {
					problems = append(problems, p)
				}
			}
		}
		last := cps[len(cps)-1]
		fmt.Fprintf(out, "%s: %d checkpoint(s) of this station, the last seq %d of %s: %s\n", where, len(cps), last.Seq,
			time.UnixMilli(last.At).UTC().Format(time.RFC3339), map[bool]string{true: "ok", false: fmt.Sprintf("%d do not match", bad)}[bad == 0])
		return nil
	}
	for _, dir := range a.peers {
		pdir, _, err := findJournal(dir)
		if err != nil {
			return nil, fmt.Errorf("--peer %s: %w", dir, err)
		}
		db, err := store.OpenReadOnly(filepath.Join(pdir, store.JournalFile))
		if err != nil {
			return nil, fmt.Errorf("--peer %s: %w", dir, err)
		}
		kept, err := store.PeerCheckpoints(ctx, db)
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("--peer %s: %w (a journal from before the ward kept checkpoints?)", dir, err)
		}
		var mine []journalCheckpoint
		for _, k := range kept {
			if cp, err := verifyCheckpoint(id.Pub, k.Station, k.Topic, k.Envelope); err == nil {
				mine = append(mine, cp)
			}
		}
		if err := compare("the station at "+dir, mine); err != nil {
			return nil, err
		}
	}
	if a.broker != "" {
		if cfg.Ward == "" {
			return nil, errors.New("--broker needs --ward (the ward the station publishes its checkpoints under)")
		}
		host, _ := os.Hostname()
		fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		got, err := mqttfeed.FetchRetained(fctx, mqttfeed.DeviceOptions{Broker: a.broker,
			ClientID: fmt.Sprintf("vigil-verify-%s-%d", cmp.Or(host, "cli"), time.Now().UnixNano()%1e6),
			Username: cfg.Username, Password: cfg.Password, TLS: cfg.TLS}, feed.Root+"/"+cfg.Ward+"/journal/+", time.Second)
		cancel()
		if err != nil && got == nil {
			return nil, fmt.Errorf("--broker %s: %w", a.broker, err)
		}
		var mine []journalCheckpoint
		for topic, env := range got {
			name := topic[strings.LastIndexByte(topic, '/')+1:]
			if cp, err := verifyCheckpoint(id.Pub, name, topic, env); err == nil {
				mine = append(mine, cp)
			}
		}
		if err := compare("the broker "+a.broker, mine); err != nil {
			return nil, err
		}
	}
	return problems, nil
}
