package recordings

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/app/store/dbfile"
)

// AppID is the recordings file's PRAGMA application_id, "VIGR".
const AppID int32 = 0x56494752

// The problems reported through Options.OnTrouble.
const (
	// TroubleQueue: the writer cannot keep up (or is stuck on a failing
	// disk) and its queue is full, so closed minutes and chunks are being
	// dropped. Cleared when the queue has drained to half.
	TroubleQueue = "recordings: write queue full, trend and waveform data lost"
	// TroubleWrite: writing to the recordings file fails (disk full, I/O
	// error). Rows wait in the queue and are written when it works again.
	TroubleWrite = "recordings: cannot write to the recordings file"
)

// Defaults and limits of Options.
const (
	MinTrendKeep    = 7 * 24 * time.Hour
	DefaultWaveKeep = 72 * time.Hour
	// DefaultBudget (bytes of compressed waveform data) holds 72 h of the
	// 64-bed icu load (~44 kB/s, ~10.5 GiB) with room to spare; the file
	// is about 1.5 times the budget.
	DefaultBudget    = 12 << 30
	DefaultChunkSpan = 10 * time.Second
	MaxChunkSpan     = 10 * time.Minute
	// DefaultQueue is about 70 s of the 64-bed icu load (~56 rows/s), and
	// ~13 MB of waiting samples at its mix of channels: long enough to ride
	// out a slow disk or a checkpoint, small enough to bound memory.
	DefaultQueue = 4096
)

// Options configure Open. Zero values take the defaults.
type Options struct {
	// TrendKeep is how long trend rows are kept; at least (and by default)
	// MinTrendKeep.
	TrendKeep time.Duration
	// WaveKeep is how long waveform chunks are kept, 72 h by default.
	WaveKeep time.Duration
	// Budget caps the bytes of compressed waveform data kept (12 GiB by
	// default); beyond it the oldest chunks, of any bed, are deleted first.
	Budget int64
	// ChunkSpan is the time one waveform chunk covers (10 s by default,
	// 1 s..MaxChunkSpan).
	ChunkSpan time.Duration
	// Queue is the capacity of the bounded queue of closed rows between
	// the feed goroutine and the writer (DefaultQueue when 0).
	Queue int
	// Now is the station's clock (retention cut-offs, stale minutes and
	// chunks); time.Now when nil.
	Now func() time.Time
	// Log gets the details of failures; slog.Default() when nil.
	Log *slog.Logger
	// OnTrouble is told when a problem (TroubleQueue, TroubleWrite) starts,
	// present true, and when it ends, present false. It is called from the
	// feed goroutine or the writer, one call at a time, and must not block:
	// hand the news to the alarm engine's inbox and return.
	OnTrouble func(problem string, present bool)
}

func (o *Options) defaults() {
	if o.TrendKeep < MinTrendKeep {
		o.TrendKeep = MinTrendKeep
	}
	if o.WaveKeep <= 0 {
		o.WaveKeep = DefaultWaveKeep
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.ChunkSpan <= 0 {
		o.ChunkSpan = DefaultChunkSpan
	}
	o.ChunkSpan = min(max(o.ChunkSpan, time.Second), MaxChunkSpan)
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	o.Queue = max(o.Queue, 2)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.OnTrouble == nil {
		o.OnTrouble = func(string, bool) {}
	}
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Recordings is the recordings file: trend medians and waveform disclosure.
//
// Numerics and Wave are called from the feed's one message goroutine; Run
// is the one writer goroutine; the queries and Stats are safe from any
// goroutine.
type Recordings struct {
	opt  Options
	db   *sql.DB   // readers (queries) use the pool
	conn *sql.Conn // the writer's own connection
	// base is Open's ctx without its cancellation: the writer's statements
	// run under it, so that a write, once begun, finishes.
	base context.Context

	// mu guards the open minutes and chunks and closed. The feed goroutine
	// holds it for the length of one frame; the writer's sweep and Close
	// take it briefly.
	mu     sync.Mutex
	beds   map[string]*bedAcc
	closed bool
	bufs   sync.Pool // *[]int16 sample buffers, recycled after encoding

	// queue carries closed rows to the writer. Its capacity is
	// Options.Queue (not 0 or 1): it is the buffer that lets a slow disk
	// fall behind without ever blocking the feed goroutine.
	queue chan row
	// snip carries kept snippets to the writer (snippets.go).
	snip snippetQ

	// Run's lifecycle: stop is closed by Close; runDone when Run returns.
	runMu   sync.Mutex
	running bool
	stop    chan struct{}
	runDone chan struct{}

	w          *writer       // owned by Run while it runs, then by Close
	sweepEvery time.Duration // sweepEvery; shorter in tests

	troubleMu sync.Mutex
	trouble   map[string]bool
	overflow  atomic.Bool // TroubleQueue is present (fast check on the hot path)
	// pendingOverflow: enqueue dropped a row since the last afterEnqueue.
	pendingOverflow atomic.Bool

	closeOnce sync.Once
	closeErr  error

	stats counters
}

// counters are the numbers behind Stats.
type counters struct {
	trendRows, chunks, samples, bytes atomic.Int64 // stored in the file now
	written                           atomic.Uint64
	dropped, writeErrors, late        atomic.Uint64
}

// Stats are the recordings' counters for the station's diagnostics.
type Stats struct {
	TrendRows   int64  // trend rows in the file
	Chunks      int64  // waveform chunks in the file
	Samples     int64  // waveform samples in those chunks
	Bytes       int64  // compressed waveform bytes in those chunks (what Budget caps)
	Written     uint64 // rows (trend and chunk) written since Open
	Dropped     uint64 // rows lost since Open: queue full, or refused by the file
	WriteErrors uint64 // failed write transactions since Open
	Late        uint64 // numeric values for a minute already closed, ignored
	Queue       int    // rows waiting for the writer
	QueueCap    int
}

// Stats returns the current counters.
func (r *Recordings) Stats() Stats {
	return Stats{
		TrendRows:   r.stats.trendRows.Load(),
		Chunks:      r.stats.chunks.Load(),
		Samples:     r.stats.samples.Load(),
		Bytes:       r.stats.bytes.Load(),
		Written:     r.stats.written.Load(),
		Dropped:     r.stats.dropped.Load(),
		WriteErrors: r.stats.writeErrors.Load(),
		Late:        r.stats.late.Load(),
		Queue:       len(r.queue),
		QueueCap:    cap(r.queue),
	}
}

// Open opens (creating if needed) the recordings file. A corrupt or
// foreign file is set aside by dbfile and a new one started; aside then
// says so, for the caller to log and raise a technical alarm. Call Run in
// its own goroutine to write, and Close when done.
func Open(ctx context.Context, file string, opt Options) (*Recordings, *dbfile.SetAside, error) {
	opt.defaults()
	migs, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, nil, err
	}
	db, aside, err := dbfile.Open(ctx, file, dbfile.Spec{
		AppID:      AppID,
		Kind:       "recordings",
		Migrations: migs,
		// A power loss may cost the last second of trends and waveforms;
		// FULL would cost an fsync per batch for data that is batched anyway.
		Synchronous: "NORMAL",
		// quick_check reads the whole file: too slow for gigabytes of
		// waveforms at every start.
		Check: false,
		Now:   opt.Now,
	})
	if err != nil {
		return nil, aside, err
	}
	r := &Recordings{
		opt:     opt,
		db:      db,
		base:    context.WithoutCancel(ctx),
		beds:    map[string]*bedAcc{},
		queue:   make(chan row, opt.Queue),
		snip:    newSnippetQ(),
		stop:    make(chan struct{}),
		trouble: map[string]bool{},

		sweepEvery: sweepEvery,
	}
	if r.conn, err = db.Conn(ctx); err != nil {
		db.Close()
		return nil, aside, fmt.Errorf("recordings %s: %w", file, err)
	}
	if r.w, err = newWriter(ctx, r); err != nil {
		r.conn.Close()
		db.Close()
		return nil, aside, fmt.Errorf("recordings %s: %w", file, err)
	}
	return r, aside, nil
}

// setTrouble reports a change of problem to OnTrouble, once per change.
func (r *Recordings) setTrouble(problem string, present bool) {
	r.troubleMu.Lock()
	defer r.troubleMu.Unlock()
	if r.trouble[problem] == present {
		return
	}
	r.trouble[problem] = present
	if problem == TroubleQueue {
		r.overflow.Store(present)
	}
	r.opt.OnTrouble(problem, present)
}

// Close writes the open minutes and chunks and everything queued, stops
// the writer, waits for it and closes the file. Numerics and Wave do
// nothing afterwards. A second call returns the first one's result.
func (r *Recordings) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.close() })
	return r.closeErr
}

func (r *Recordings) close() error {
	r.mu.Lock()
	r.closed = true
	var final []row
	for _, b := range r.beds {
		final = b.closeAll(r, final)
	}
	r.mu.Unlock()

	r.runMu.Lock()
	close(r.stop)
	running, done := r.running, r.runDone
	r.runMu.Unlock()
	if running {
		<-done
	}

	// Run has returned (or never ran): the writer is ours now.
	w := r.w
	w.add(final...)
drain:
	for {
		select {
		case x := <-r.queue:
			w.add(x)
		default:
			break drain
		}
	}
	// Snippets queued before closed was set, and those a failing disk held.
	w.takeSnippets(math.MaxInt)
	var err error
	for attempt, pause := 0, 100*time.Millisecond; len(w.batch) > 0; attempt, pause = attempt+1, pause*3 {
		if err = w.flush(); err == nil {
			break
		}
		if attempt == 3 {
			r.stats.dropped.Add(uint64(len(w.batch)))
			r.opt.Log.Error("recordings: rows lost at close", "rows", len(w.batch), "err", err)
			err = fmt.Errorf("recordings: %d rows not written at close: %w", len(w.batch), err)
			break
		}
		time.Sleep(pause)
	}
	if len(w.snips) > 0 {
		if serr := w.writeSnippets(); serr != nil {
			r.opt.Log.Error("recordings: snippets lost at close", "snippets", len(w.snips), "err", serr)
			if err == nil {
				err = fmt.Errorf("recordings: %d snippets not written at close: %w", len(w.snips), serr)
			}
		}
	}
	// Leave the file within its budget (the last writes may have passed it).
	for i := 0; err == nil && i < 10 && r.stats.bytes.Load() > r.opt.Budget; i++ {
		if !w.retainLogged() {
			break
		}
	}
	w.closeStmts()
	if cerr := r.conn.Close(); err == nil {
		err = cerr
	}
	if cerr := r.db.Close(); err == nil {
		err = cerr
	}
	return err
}
