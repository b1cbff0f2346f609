// Package broker runs the embedded MQTT broker of the out-of-the-box demo
// ward (mochi-mqtt). Devices and the station reach it over real TCP, exactly
// as they would reach a hospital's broker; it is not meant to replace one.
//
// mochi drops messages silently when a subscriber's pending writes or
// inflight quota fill up (platform-notes.md), so the limits are raised well
// above a ward's needs and the drops it still makes are counted (Dropped) and
// shown in the station's diagnostics.
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

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// ErrAddrInUse is returned when the listen address is taken.
var ErrAddrInUse = errors.New("address already in use")

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
}

// Start listens on addr (host:port; port 0 picks a free one) and serves.
func Start(addr string, log *slog.Logger) (*Broker, error) {
	// mochi warns about every client whose keepalive is at or below 5 s,
	// which is Vigil's deliberate setting: keep only its errors.
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	} else {
		log = slog.New(errorsOnly{log.Handler()})
	}
	// Probe the address first so a taken port is reported plainly.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %w", addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded broker: listen %s: %w", addr, err)
	}
	addr = ln.Addr().String()
	ln.Close()

	caps := mqtt.NewDefaultServerCapabilities()
	// Every client gets an outbound queue of this many messages, allocated
	// when it connects: 8 bytes each, so 64 K cost 512 KiB per bed device
	// that never receives anything (32 MiB for a 64-bed ward). 16 K holds
	// about 40 s of a 64-bed ward's traffic for a subscriber that stalls;
	// past it the broker drops and Broker.Dropped counts.
	caps.MaximumClientWritesPending = 16 * 1024
	caps.MaximumInflight = 65535
	caps.ReceiveMaximum = 65535
	srv := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 log.With("component", "broker"),
		InlineClient:           false,
		SysTopicResendInterval: 0,
	})
	// The demo broker listens on loopback only; anyone who can reach it may
	// publish. A deployment uses the hospital's broker with authentication.
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: addr})); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %w", addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, addr: addr}, nil
}

type errorsOnly struct{ slog.Handler }

func (h errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h errorsOnly) WithAttrs(a []slog.Attr) slog.Handler { return errorsOnly{h.Handler.WithAttrs(a)} }
func (h errorsOnly) WithGroup(n string) slog.Handler      { return errorsOnly{h.Handler.WithGroup(n)} }

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Dropped is the number of messages the broker dropped because a client's
// queue was full.
func (b *Broker) Dropped() int64 { return atomic.LoadInt64(&b.srv.Info.MessagesDropped) }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }
