// Package broker runs the embedded MQTT broker of the out-of-the-box demo
// ward (mochi-mqtt). Devices and the station reach it over real TCP, exactly
// as they would reach a hospital's broker; it is not meant to replace one.
//
// mochi drops messages silently when a subscriber's pending writes or
// inflight quota fill up (platform-notes.md), so the limits are raised well
// above a ward's needs and the drops it still makes are counted (Dropped) and
// shown in the station's diagnostics.
//
// # Not taking the station down
//
// The broker runs in the station's process, so a panic in mochi would end
// the station. mochi v2.7.9 (the newest release the module proxy serves)
// panics on an MQTT 5 SUBSCRIBE whose topic filter lacks its options byte,
// and recovers nothing. Every connection is therefore served by this
// package's own listener under a recover: a panic closes that connection
// only, forgets the client's session, is counted (Panics) and logged at
// Error with its stack (one every 10 s at most, so that an attacker
// repeating it does not fill the disk). Connections that do not send their CONNECT within
// Options.ConnectTimeout are closed, open connections are capped, and
// packets over Options.MaxPacketSize end the sender's connection.
//
// # Listening and authentication
//
// Without Options.Auth anyone who reaches the broker may publish and
// subscribe anywhere, so it listens only on a loopback address: StartWith
// refuses any other (ErrInsecureBind). With Options.Auth every client must
// give a username and a password from the password file (anonymous clients
// are refused), and then may publish and subscribe only as the ACL allows;
// without an ACL an authenticated client may publish and subscribe
// anywhere. A client id whose session belongs to another user is refused,
// and so is a CONNECT whose Last Will the ACL does not let the client
// publish (mochi publishes wills without asking the ACL).
//
// Password file (LoadPasswords, ParsePasswords): one "user:hash" a line,
// where hash is a bcrypt hash ($2a$, $2b$ or $2y$, any cost; HashPassword
// makes one, as does `htpasswd -nbB user password` with its "$2y$" hashes).
// Blank lines and lines starting with '#' are ignored. A username is not
// empty and has no ':', white space or control characters.
//
// ACL file (LoadACL, ParseACL), one directive a line, blank lines and lines
// starting with '#' ignored:
//
//	user NAME                 the topic lines after it are NAME's
//	topic [ACCESS] FILTER     NAME may ACCESS topics FILTER matches
//	pattern [ACCESS] FILTER   every user may ACCESS topics FILTER matches, where
//	                          %u in FILTER is the username and %c the client id
//
// ACCESS is read (subscribe and receive), write (publish) or readwrite, the
// default. FILTER is an MQTT topic filter: '+' matches one level, '#' (last)
// any number of levels including none, and neither matches a first level
// starting with '$'. Anything not allowed is denied. A subscription is
// allowed only if its filter lies wholly inside a read rule ("vigil/v1/#"
// is denied to a user who may read only "vigil/v1/+/bed1/#"), and every
// message is checked again against the receiver's read rules. A pattern
// does not apply when the username or client id it substitutes is empty
// or contains '/', '+' or '#'. Any authenticated user may choose any client
// id, so %c rules are only as strong as that. A ward where each bed device
// logs in with its bed's name as its username, and the station as
// "station":
//
//	user station
//	topic readwrite vigil/v1/#
//	pattern write vigil/v1/+/%u/#
//
// An MQTT 5 topic alias is set only by a publication the ACL allowed, so a
// publication by alias (empty topic name) is not checked again. A
// publication the ACL denies is dropped (MQTT 5: acknowledged with "not
// authorized"; MQTT 3.1.1 at QoS 1 or 2: the client is disconnected).
package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// ErrAddrInUse is returned when the listen address is taken.
var ErrAddrInUse = errors.New("address already in use")

// ErrInsecureBind is returned for a non-loopback listen address without
// Options.Auth.
var ErrInsecureBind = errors.New("a non-loopback address needs authentication")

// Defaults of Options.
const (
	DefaultMaxPacketSize  = 256 * 1024
	DefaultMaxClients     = 512
	DefaultMaxInflight    = 8192
	DefaultConnectTimeout = 10 * time.Second
	// SessionExpiry is the longest a disconnected client's session (MQTT 5
	// session expiry, MQTT 3.1.1 clean session false) is kept.
	SessionExpiry = time.Hour
	// pendingConns is how many connections may be open beyond MaxClients
	// (not yet connected, or about to be refused with a CONNACK).
	pendingConns = 64
)

// Options are the broker's settings; the zero Options are the demo's.
type Options struct {
	// Auth, when set, requires a username and password of every client and
	// applies its ACL; it is required to listen on a non-loopback address.
	Auth *Auth
	// MaxPacketSize is the largest packet, in bytes, a client may send;
	// its connection is closed on a larger one. 0: DefaultMaxPacketSize.
	MaxPacketSize int
	// MaxClients is how many clients may be connected, or keep a session,
	// at once; more are refused (CONNACK "server unavailable" / "server
	// busy"). 0: DefaultMaxClients.
	MaxClients int
	// MaxInflight bounds the QoS 1 and 2 messages held for a client until
	// it acknowledges them; past it the broker drops (Dropped counts).
	// 0: DefaultMaxInflight; at most 65535. What a client may itself send
	// unacknowledged (MQTT 5 receive maximum) is min(MaxInflight, 1024).
	MaxInflight int
	// ConnectTimeout is how long a new connection has to send its CONNECT.
	// 0: DefaultConnectTimeout.
	ConnectTimeout time.Duration

	logEveryPanic bool // tests: log every panic, not one per panicLogInterval
}

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string

	panics  atomic.Int64
	refused atomic.Int64
}

// Start listens on addr (host:port; port 0 picks a free one) and serves,
// with the zero Options: no authentication, so addr must be a loopback
// address.
func Start(addr string, log *slog.Logger) (*Broker, error) {
	return StartWith(addr, log, Options{})
}

// StartWith listens on addr (host:port; port 0 picks a free one) and serves
// with opt.
func StartWith(addr string, log *slog.Logger, opt Options) (*Broker, error) {
	if err := opt.fill(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	// mochi warns about every client whose keepalive is at or below 5 s,
	// which is Vigil's deliberate setting: keep only its errors.
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	} else {
		log = slog.New(errorsOnly{log.Handler()})
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %w", addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded broker: listen %s: %w", addr, err)
	}
	// Checked on the address actually bound, whatever name addr gave.
	if ta, ok := ln.Addr().(*net.TCPAddr); opt.Auth == nil && (!ok || !ta.IP.IsLoopback()) {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: will not listen on %s (%s) without authentication, "+
			"where anyone on the network could publish a bed's vital signs and alarms: "+
			"listen on 127.0.0.1, or configure a password file: %w", addr, ln.Addr(), ErrInsecureBind)
	}

	caps := mqtt.NewDefaultServerCapabilities()
	// Every client gets an outbound queue of this many messages, allocated
	// when it connects: 8 bytes each, so 64 K cost 512 KiB per bed device
	// that never receives anything (32 MiB for a 64-bed ward). 16 K holds
	// about 40 s of a 64-bed ward's traffic for a subscriber that stalls;
	// past it the broker drops and Broker.Dropped counts.
	caps.MaximumClientWritesPending = 16 * 1024
	// QoS 1 messages (status, alarms, events, HL7 numerics; waveforms and
	// numerics are QoS 0) sent to a client and not yet acknowledged. The
	// devices wait for the broker's acknowledgement, not the station's, so
	// a burst builds up here when the station's handler is slower than the
	// devices: 1024 dropped 442 of 3700 in TestQoS1Burst. 8 K (mochi's
	// default) absorbs a ward's bursts and still keeps a client that never
	// acknowledges from holding 64 K messages.
	caps.MaximumInflight = uint16(opt.MaxInflight)
	// Inbound: the QoS 1 and 2 publications a client may have unacknowledged
	// (the broker acknowledges QoS 1 at once; QoS 2 waits for PUBREL).
	caps.ReceiveMaximum = uint16(min(opt.MaxInflight, 1024))
	caps.MaximumPacketSize = uint32(opt.MaxPacketSize)
	caps.MaximumClients = int64(opt.MaxClients)
	caps.MaximumSessionExpiryInterval = uint32(SessionExpiry / time.Second)
	mlog := log.With("component", "broker")
	srv := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 mlog,
		InlineClient:           false,
		SysTopicResendInterval: 0,
	})
	b := &Broker{srv: srv, addr: ln.Addr().String()}
	if err := srv.AddHook(&guardHook{srv: srv, auth: opt.Auth, maxSessions: opt.MaxClients}, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	gl := &guardedListener{id: "tcp", ln: ln, b: b, maxConns: opt.MaxClients + pendingConns,
		timeout: opt.ConnectTimeout, log: mlog, conns: map[net.Conn]struct{}{}, everyPanic: opt.logEveryPanic}
	if err := srv.AddListener(gl); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return b, nil
}

func (o *Options) fill() error {
	switch {
	case o.MaxPacketSize < 0 || o.MaxClients < 0 || o.MaxInflight < 0 || o.ConnectTimeout < 0:
		return errors.New("negative limit")
	case o.MaxPacketSize > 268435455:
		return fmt.Errorf("MaxPacketSize %d: MQTT packets are at most 256 MiB", o.MaxPacketSize)
	case o.MaxPacketSize > 0 && o.MaxPacketSize < 128:
		return fmt.Errorf("MaxPacketSize %d: below 128 bytes even a CONNECT may not fit", o.MaxPacketSize)
	case o.MaxInflight > 65535:
		return fmt.Errorf("MaxInflight %d: at most 65535", o.MaxInflight)
	case o.Auth != nil && o.Auth.Passwords == nil:
		return errors.New("Auth without Passwords")
	}
	if o.MaxPacketSize == 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.MaxClients == 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	return nil
}

type errorsOnly struct{ slog.Handler }

func (h errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h errorsOnly) WithAttrs(a []slog.Attr) slog.Handler { return errorsOnly{h.Handler.WithAttrs(a)} }
func (h errorsOnly) WithGroup(n string) slog.Handler      { return errorsOnly{h.Handler.WithGroup(n)} }

// forget removes the session of the client on conn, after its connection
// panicked: mochi's own clean-up after the read loop did not run.
func (b *Broker) forget(conn net.Conn) {
	for id, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Conn != conn {
			continue
		}
		cl.Stop(errPanicked)
		if cl.IsTakenOver() {
			return
		}
		b.srv.UnsubscribeClient(cl)
		cl.ClearInflights()
		if cur, ok := b.srv.Clients.Get(id); ok && cur == cl {
			b.srv.Clients.Delete(id)
		}
		return
	}
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Dropped is the number of messages the broker dropped because a client's
// queue or its inflight quota was full.
func (b *Broker) Dropped() int64 {
	return atomic.LoadInt64(&b.srv.Info.MessagesDropped) + atomic.LoadInt64(&b.srv.Info.InflightDropped)
}

// Panics is the number of client connections closed after a panic in the
// broker.
func (b *Broker) Panics() int64 { return b.panics.Load() }

// Refused is the number of connections the broker turned away or cut: too
// many clients or connections, a failed authentication, a client id held by
// another user, a Last Will the ACL denies, a packet over the maximum size.
func (b *Broker) Refused() int64 { return b.refused.Load() }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }
