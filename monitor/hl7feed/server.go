package hl7feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/hl7"
)

// Bridge: the hospital's existing monitors and gateways send IHE PCD-01
// (HL7 v2 ORU^R01) over MLLP; the server turns each message into feed
// messages for its ward and publishes them, then acknowledges:
//
//	sender ─MLLP─▶ read frame ─ parse ─ PCD-01 ─ Map ─┬─ status (retained, on change, every 30 s) ─▶ broker
//	   ▲                                              └─ num frames (QoS 1)                        ─▶ broker
//	   └──────────── ACK: AA once published; AE/AR with ERR when refused (nothing published) ◀────┘
//
// A message is used whole or not at all: it is parsed, extracted and mapped
// before anything is published, and the first publication that fails
// stops it (AE). Every refusal is counted and logged with its reason.

// Publisher sends one feed message (mqttfeed.Device and the station's
// subscriber connection satisfy it).
type Publisher interface {
	Publish(topic string, qos byte, retained bool, payload []byte) error
}

// ServerConfig configures a Server.
type ServerConfig struct {
	MapOptions
	Publisher Publisher
	Log       *slog.Logger
	Now       func() time.Time
	// Location reads HL7 times written without an offset (default: the
	// machine's zone, as the senders on its network).
	Location *time.Location
	// IdleTimeout bounds the wait for each message, from the end of the
	// previous one to the end of this one: a sender silent or half-open
	// for longer is disconnected (default 2 min).
	IdleTimeout time.Duration
	// WriteTimeout bounds the writing of an ACK (default 10 s).
	WriteTimeout time.Duration
	// MaxConns bounds the senders connected at once (default 1000).
	MaxConns int
	// MaxBeds bounds the beds the bridge keeps state for (default 1024):
	// a message for one more is refused (AE), so invented bed names in
	// PV1-3 cannot grow its memory.
	MaxBeds int
	// StatusEvery: a bed's status is published on change and at least
	// this often (default 30 s, the feed's rule).
	StatusEvery time.Duration
}

// Stats are a server's counters since it started.
type Stats struct {
	Connections    int64 // open now
	Accepted       int64 // connections accepted in all
	Refused        int64 // connections refused: too many at once
	Messages       int64 // messages acknowledged AA
	Rejected       int64 // messages refused (AE or AR)
	PublishErrors  int64 // of those, refused because the broker did not take them
	FrameErrors    int64 // frames that could not be read (too large, broken)
	SkippedBytes   int64 // bytes outside frames, skipped (of connections closed so far)
	UnknownCodes   int64 // observations with a code naming no MDC code (left out)
	OtherValues    int64 // values kept under an MDC code Vigil does not know by name
	LastRejection  string
	LastRejectedAt time.Time
}

// Server is an MLLP listener for PCD-01 messages.
type Server struct {
	cfg ServerConfig

	mu     sync.Mutex
	beds   map[string]*bedState
	conns  map[net.Conn]struct{}
	last   string
	lastAt time.Time

	open, accepted, refused, messages, rejected, pubErrs, frameErrs, unknown, other, skipped atomic.Int64
	wg                                                                                       sync.WaitGroup
}

type bedState struct {
	status feed.Status
	sentAt time.Time
	seq    uint32
	names  map[string]string // every private code's name the bed's messages gave
}

// NewServer returns a server; Serve runs it.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1000
	}
	if cfg.MaxBeds <= 0 {
		cfg.MaxBeds = 1024
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = 30 * time.Second
	}
	return &Server{cfg: cfg, beds: map[string]*bedState{}, conns: map[net.Conn]struct{}{}}
}

// Serve accepts senders on ln until ctx ends, then closes ln and every
// connection and waits for their goroutines.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer func() {
		stop()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	}()
	wait := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("hl7: listener closed: %w", err)
			}
			// Out of file descriptors and the like: wait and go on
			// (the senders already connected are served meanwhile).
			s.cfg.Log.Error("hl7: accept failed; retrying", "err", err, "in", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Second)
			continue
		}
		wait = 5 * time.Millisecond
		s.mu.Lock()
		if len(s.conns) >= s.cfg.MaxConns || ctx.Err() != nil {
			s.mu.Unlock()
			s.refused.Add(1)
			s.cfg.Log.Warn("hl7: sender refused: too many connections", "remote", conn.RemoteAddr().String(), "max", s.cfg.MaxConns)
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		s.open.Add(1)
		go s.serveConn(conn)
	}
}

// serveConn reads messages from one sender and acknowledges each.
func (s *Server) serveConn(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		s.open.Add(-1)
	}()
	remote := conn.RemoteAddr().String()
	r := hl7.NewReader(conn)
	defer func() { s.skipped.Add(r.Skipped()) }()
	for {
		conn.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		raw, err := r.ReadMessage()
		var ack []byte
		switch {
		case err == nil:
			ack = s.Handle(raw, remote)
		case errors.Is(err, hl7.ErrFrameStart):
			// The sender gave up a frame and started again: no ACK for
			// the abandoned one (the sender awaits one, for the new one).
			s.frameErrs.Add(1)
			s.noteRejection(remote, "", err)
			continue
		case errors.Is(err, hl7.ErrTooLarge), errors.Is(err, hl7.ErrFrameEnd):
			// The stream goes on: refuse this frame and read the next.
			s.frameErrs.Add(1)
			s.noteRejection(remote, "", err)
			ack = hl7.BuildACK(nil, hl7.Ack{Code: hl7.AckReject, Err: err})
		default:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					s.cfg.Log.Info("hl7: sender idle, disconnected", "remote", remote, "after", s.cfg.IdleTimeout)
				} else {
					s.frameErrs.Add(1)
					s.cfg.Log.Warn("hl7: sender's stream broken", "remote", remote, "err", err)
				}
			}
			return
		}
		conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if err := hl7.WriteMessage(conn, ack); err != nil {
			s.cfg.Log.Warn("hl7: ACK not sent", "remote", remote, "err", err)
			return
		}
	}
}

// Handle uses one message and returns its ACK: AA once its feed messages
// are published, AE or AR (with the reason in ERR) when nothing was.
func (s *Server) Handle(raw []byte, remote string) []byte {
	m, err := hl7.Parse(raw)
	if err != nil {
		hdr, _ := hl7.ParseHeader(raw) // nil when even the header is broken: the ACK says AR
		return s.refuse(hdr, remote, err)
	}
	if p := strings.ToUpper(m.Segment("MSH", 1).Field(11)); p == "T" || p == "D" {
		// Training and debugging messages are not a patient's data.
		return s.refuse(m, remote, &hl7.Error{Segment: "MSH", Sequence: 1, Field: 11, Code: hl7.CodeTableValue,
			Err: fmt.Errorf("processing ID %q (training or debugging): not shown as live data", p)})
	}
	rep, err := hl7.ExtractPCD01(m, s.cfg.Location)
	if err != nil {
		return s.refuse(m, remote, err)
	}
	now := s.cfg.Now()
	mapped, err := Map(rep, s.cfg.MapOptions, now)
	if err != nil {
		return s.refuse(m, remote, err)
	}
	if err := s.publish(mapped, now); err != nil {
		s.pubErrs.Add(1)
		return s.refuse(m, remote, &hl7.Error{Code: hl7.CodeInternal, Err: err})
	}
	s.messages.Add(1)
	if n := len(mapped.Unknown); n > 0 {
		s.unknown.Add(int64(n))
		s.cfg.Log.Info("hl7: observations with codes naming no MDC code left out", "bed", mapped.Bed, "codes", strings.Join(mapped.Unknown, ", "))
	}
	s.other.Add(int64(mapped.Other))
	return hl7.BuildACK(m, hl7.Ack{Code: hl7.AckAccept, Time: now})
}

// publish sends the bed's status when it changed or is due, then the
// numerics, each at QoS 1: the ACK promises the broker has them.
func (s *Server) publish(m Mapped, now time.Time) error {
	s.mu.Lock()
	b := s.beds[m.Bed]
	if b == nil {
		if len(s.beds) >= s.cfg.MaxBeds {
			s.mu.Unlock()
			return fmt.Errorf("bed %s: the bridge serves %d beds already, at most", m.Bed, s.cfg.MaxBeds)
		}
		b = &bedState{}
		s.beds[m.Bed] = b
	}
	for k, v := range m.Names {
		if b.names == nil {
			b.names = map[string]string{}
		}
		if len(b.names) < 64 || b.names[k] != "" {
			b.names[k] = v
		}
	}
	if len(b.names) > 0 {
		m.Status.Names = maps.Clone(b.names)
	}
	due := b.sentAt.IsZero() || now.Sub(b.sentAt) >= s.cfg.StatusEvery || !sameStatus(b.status, m.Status)
	seq := b.seq
	b.seq += uint32(len(m.Frames))
	s.mu.Unlock()
	if due {
		if err := s.cfg.Publisher.Publish(feed.Topic(s.cfg.Ward, m.Bed, feed.StreamStatus), 1, true, feed.EncodeStatus(m.Status)); err != nil {
			return fmt.Errorf("status of bed %s not published: %w", m.Bed, err)
		}
		s.mu.Lock()
		b.status, b.sentAt = m.Status, now
		s.mu.Unlock()
	}
	for i, f := range m.Frames {
		f.Seq = seq + uint32(i)
		if err := s.cfg.Publisher.Publish(feed.Topic(s.cfg.Ward, m.Bed, feed.StreamNum), 1, false, feed.EncodeNum(f)); err != nil {
			return fmt.Errorf("numerics of bed %s not published: %w", m.Bed, err)
		}
	}
	return nil
}

func sameStatus(a, b feed.Status) bool {
	return a.Device == b.Device && a.Model == b.Model && a.Patient == b.Patient && a.Online == b.Online && maps.Equal(a.Names, b.Names)
}

func (s *Server) refuse(m *hl7.Message, remote string, err error) []byte {
	s.rejected.Add(1)
	id := ""
	if m != nil {
		id = m.ControlID()
	}
	s.noteRejection(remote, id, err)
	return hl7.BuildACK(m, hl7.Ack{Err: err, Time: s.cfg.Now()})
}

func (s *Server) noteRejection(remote, id string, err error) {
	s.mu.Lock()
	s.last, s.lastAt = err.Error(), s.cfg.Now()
	s.mu.Unlock()
	s.cfg.Log.Warn("hl7: message refused", "remote", remote, "control_id", id, "reason", err.Error())
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	last, at := s.last, s.lastAt
	s.mu.Unlock()
	return Stats{Connections: s.open.Load(), Accepted: s.accepted.Load(), Refused: s.refused.Load(),
		Messages: s.messages.Load(), Rejected: s.rejected.Load(), PublishErrors: s.pubErrs.Load(),
		FrameErrors: s.frameErrs.Load(), SkippedBytes: s.skipped.Load(), UnknownCodes: s.unknown.Load(), OtherValues: s.other.Load(),
		LastRejection: last, LastRejectedAt: at}
}
