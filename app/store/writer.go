package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigil-station/vigil/monitor"
)

// hardCap is the most rows held in memory for a disk that does not come
// back. Past it rows are refused loudly (logged, counted, the caller told):
// by then the technical alarm has been up for a long time.
const hardCap = 1 << 20

// item is a row to append or an operation to run in the writer's
// transaction (which may return rows to append after it).
type item struct {
	ev   Event
	op   func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error)
	done chan error
}

type writer struct {
	s      *Store
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	q        []item
	closing  bool
	troubled bool // the technical alarm is up
	behind   bool // the queue passed Options.Queue
	wake     chan struct{}
	stopped  chan struct{}

	written, commits, failures, lost uint64
	commitLat                        monitor.LatencyHist
}

func newWriter(ctx context.Context, s *Store) (*writer, error) {
	w := &writer{s: s, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go w.run()
	return w, nil
}

// submit queues it; the returned channel (buffered) answers once.
func (w *writer) submit(it item) <-chan error {
	it.done = make(chan error, 1)
	w.mu.Lock()
	switch {
	case w.closing:
		w.mu.Unlock()
		it.done <- ErrClosed
		return it.done
	case len(w.q) >= hardCap:
		w.lost++
		w.mu.Unlock()
		w.s.log.Error("journal queue at its hard cap; row refused", "kind", it.ev.Kind, "event", it.ev.Event)
		it.done <- errors.New("journal queue full")
		return it.done
	}
	w.q = append(w.q, it)
	n := len(w.q)
	tell := n > w.s.opt.Queue && !w.behind
	if tell {
		w.behind = true
	}
	w.mu.Unlock()
	if tell {
		w.trouble(fmt.Sprintf("Journal falling behind: %d records waiting for the disk", n), true)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return it.done
}

func (w *writer) trouble(msg string, present bool) {
	if present {
		w.s.log.Error("journal trouble", "problem", msg)
	} else {
		w.s.log.Info("journal recovered")
	}
	if w.s.opt.OnTrouble != nil {
		w.s.opt.OnTrouble(msg, present)
	}
}

const maxBatch = 4096

func (w *writer) run() {
	defer close(w.stopped)
	backoff := 50 * time.Millisecond
	for {
		w.mu.Lock()
		n := min(len(w.q), maxBatch)
		batch := w.q[:n:n]
		closing := w.closing
		w.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			select {
			case <-w.wake:
			case <-w.ctx.Done():
			}
			continue
		}
		start := time.Now()
		opErr, rows, err := w.commit(batch)
		if err != nil {
			w.mu.Lock()
			w.failures++
			first := !w.troubled
			w.troubled = true
			w.mu.Unlock()
			if first {
				w.trouble("Journal cannot write: "+err.Error()+" — records are kept and retried", true)
			}
			select {
			case <-time.After(backoff):
			case <-w.ctx.Done():
				if w.stuck(err) {
					return
				}
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		w.commitLat.Add(time.Since(start))
		w.mu.Lock()
		w.q = w.q[n:]
		w.written += uint64(rows)
		w.commits++
		recovered := w.troubled && len(w.q) <= w.s.opt.Queue
		caughtUp := w.behind && len(w.q) <= w.s.opt.Queue/2
		if recovered {
			w.troubled = false
		}
		if caughtUp {
			w.behind = false
		}
		w.mu.Unlock()
		for i, it := range batch {
			it.done <- opErr[i] // nil but for an operation that failed on its own
		}
		if recovered || caughtUp {
			w.trouble("", false)
		}
	}
}

// stuck is asked when the store is closing and the disk still fails: the
// rows left are lost. Say so for each.
func (w *writer) stuck(err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lost += uint64(len(w.q))
	w.s.log.Error("journal closed with rows unwritten", "rows", len(w.q), "err", err)
	for _, it := range w.q {
		it.done <- fmt.Errorf("journal closed before the disk accepted this record: %w", err)
	}
	w.q = nil
	return true
}

// commit writes a batch in one transaction: operations each inside a
// savepoint (one that fails is rolled back alone and its caller told),
// rows appended to the chain in order.
func (w *writer) commit(batch []item) (opErr map[int]error, rows int, err error) {
	ctx := w.ctx
	if w.ctx.Err() != nil {
		ctx = context.Background() // closing: the last flush still runs
	}
	tx, err := w.s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	now := w.s.opt.Now()
	var evs []Event
	opErr = make(map[int]error)
	ops, lastOp := 0, -1 // operations that held; the last row they wrote
	for i, it := range batch {
		if it.op == nil {
			evs = append(evs, it.ev)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			return nil, 0, err
		}
		more, err := it.op(ctx, tx, now)
		if err != nil && !opOwn(err) {
			return nil, 0, err // the disk or the database: the whole batch is retried
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
				return nil, 0, rerr
			}
			opErr[i] = err
		} else {
			for j := range more {
				if more[j].At.IsZero() {
					more[j].At = now
				}
				if more[j].Station == "" {
					more[j].Station = w.s.opt.Station
				}
			}
			evs = append(evs, more...)
			ops++
			if len(more) > 0 {
				lastOp = len(evs) - 1
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
			return nil, 0, err
		}
	}
	chained := w.s.state != "" // set by the check at open (an operation of this batch, maybe)
	state := w.s.state
	if ops > 0 && chained { // "" until the check at open has run (its own operation)
		// The tables as the operations left them: chained on the last
		// row they wrote when they changed (store/state.go).
		if state, err = stateDigest(ctx, tx); err != nil {
			return nil, 0, err
		}
		if state != w.s.state {
			if lastOp < 0 {
				evs = append(evs, Event{At: now, Station: w.s.opt.Station, Kind: KindTechnical, Event: "journal-state",
					Detail: "users, beds or stays changed by an operation that wrote no row"})
				lastOp = len(evs) - 1
			}
			evs[lastOp].State = state
		}
	}
	last, lastHash, err := w.s.chain.insertEvents(ctx, tx, evs)
	if err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, err
	}
	if chained {
		w.s.state = state
	}
	if len(evs) > 0 {
		w.s.committed(last, lastHash, len(evs))
	}
	return opErr, len(evs), nil
}

// invalidError is an operation refusing for its own reasons (validation,
// permission, a conflict with what is stored): its caller is told, the rest
// of the batch goes on.
type invalidError struct{ error }

func (e invalidError) Unwrap() error { return e.error }

func invalid(err error) error { return invalidError{err} }

func invalidf(format string, a ...any) error { return invalidError{fmt.Errorf(format, a...)} }

func opOwn(err error) bool {
	var ie invalidError
	return errors.As(err, &ie) || strings.Contains(err.Error(), "constraint failed")
}

func (w *writer) close(limit time.Duration) {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	t := time.AfterFunc(limit, w.cancel)
	<-w.stopped
	t.Stop()
	w.cancel()
}

func (w *writer) stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{Written: w.written, Commits: w.commits, Waiting: len(w.q), Failures: w.failures, Lost: w.lost,
		CommitP99: float64(w.commitLat.Snapshot().Quantile(0.99).Microseconds()) / 1000}
}
