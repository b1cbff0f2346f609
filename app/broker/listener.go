package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// guardedListener is a mochi listener (listeners.Listener) over an open TCP
// listener. Unlike mochi's own it
//   - runs each connection's establish (mochi's whole client read loop: the
//     CONNECT, then every packet until the client goes) under a recover, so
//     a panic in mochi's packet decoding or handling ends that connection
//     only;
//   - gives a connection ConnectTimeout to send its CONNECT (mochi sets no
//     deadline until it has one);
//   - caps the open connections, counting the ones it turns away;
//   - keeps accepting after a transient Accept error (out of file
//     descriptors) instead of stopping for good;
//   - closes connections that have not finished connecting when it is
//     closed, so Close does not wait for them.
type guardedListener struct {
	id       string
	ln       net.Listener
	b        *Broker
	maxConns int
	timeout  time.Duration
	log      *slog.Logger

	// A panic is logged with its stack at most every panicLogInterval, so
	// that a client repeating one cannot fill the disk with the log
	// (everyPanic: every one, for the fuzz test).
	lastPanicLog atomic.Int64 // unix ns
	everyPanic   bool

	mu    sync.Mutex
	end   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

var _ listeners.Listener = (*guardedListener)(nil)

func (l *guardedListener) Init(log *slog.Logger) error {
	if l.log == nil {
		l.log = log
	}
	return nil
}

func (l *guardedListener) ID() string       { return l.id }
func (l *guardedListener) Address() string  { return l.ln.Addr().String() }
func (l *guardedListener) Protocol() string { return "tcp" }

func (l *guardedListener) Serve(establish listeners.EstablishFn) {
	var delay time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			l.mu.Lock()
			end := l.end
			l.mu.Unlock()
			if end || errors.Is(err, net.ErrClosed) {
				return
			}
			// As net/http does: wait a little and accept again.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Error("embedded broker: accept failed; retrying", "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		l.mu.Lock()
		if l.end {
			l.mu.Unlock()
			conn.Close()
			return
		}
		if len(l.conns) >= l.maxConns {
			l.mu.Unlock()
			l.b.refused.Add(1)
			conn.Close()
			continue
		}
		l.conns[conn] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serve(establish, conn)
	}
}

const panicLogInterval = 10 * time.Second

// errPanicked is the stop cause of a client whose connection panicked.
var errPanicked = errors.New("connection closed after a panic")

func (l *guardedListener) serve(establish listeners.EstablishFn, conn net.Conn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.conns, conn)
		l.mu.Unlock()
	}()
	// The recover must be on this goroutine: mochi reads and handles every
	// packet of the client in establish, on the caller's goroutine.
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		conn.Close()
		now, last := time.Now().UnixNano(), l.lastPanicLog.Load()
		if l.everyPanic || (now-last >= int64(panicLogInterval) && l.lastPanicLog.CompareAndSwap(last, now)) {
			l.log.Error("embedded broker: a client connection panicked; closed it, the broker goes on "+
				"(more panics in the next "+panicLogInterval.String()+" are counted, not logged)",
				"remote", conn.RemoteAddr().String(), "panics_before", l.b.panics.Load(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
		l.b.forget(conn)
		l.b.panics.Add(1)
	}()
	_ = conn.SetDeadline(time.Now().Add(l.timeout))
	err := establish(l.id, conn)
	if refusal(err) {
		l.b.refused.Add(1)
	}
}

// refusal reports whether establish's error is the broker turning a client
// away: too many clients, a failed authentication, a client id of another
// user, a Last Will the ACL denies, a packet over the maximum size.
func refusal(err error) bool {
	for _, c := range []packets.Code{packets.ErrServerBusy, packets.ErrBadUsernameOrPassword,
		packets.ErrNotAuthorized, packets.ErrClientIdentifierNotValid, packets.ErrPacketTooLarge} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

func (l *guardedListener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	first := !l.end
	l.end = true
	l.mu.Unlock()
	_ = l.ln.Close()
	if first {
		closeClients(l.id) // a DISCONNECT to every connected client
	}
	l.mu.Lock()
	for c := range l.conns { // and the ones still connecting
		c.Close()
	}
	l.mu.Unlock()
	// mochi waits for its clients after closing its listeners; waiting here
	// first means no connection goroutine of this listener can still enter
	// mochi's WaitGroup while it waits.
	l.wg.Wait()
}
