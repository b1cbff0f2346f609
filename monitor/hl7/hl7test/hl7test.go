// Package hl7test is an HL7 receiver for tests: an MLLP listener that
// parses each message, keeps it and acknowledges it.
package hl7test

import (
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/vigil-station/vigil/monitor/hl7"
)

// Receiver is a paging or nurse-call system's MLLP listener.
type Receiver struct {
	ln   net.Listener
	mu   sync.Mutex
	got  []*hl7.Message
	code hl7.AckCode
	seen chan *hl7.Message
}

// Listen starts a receiver on addr ("127.0.0.1:0" for a free port) until
// the test ends. It answers AA until SetCode says otherwise.
func Listen(t testing.TB, addr string) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{ln: ln, code: hl7.AckAccept, seen: make(chan *hl7.Message, 256)}
	go r.accept()
	t.Cleanup(func() { ln.Close() })
	return r
}

// Addr is the listener's address.
func (r *Receiver) Addr() string { return r.ln.Addr().String() }

// SetCode sets the acknowledgement code of the next messages (AE and AR
// carry the reason "unknown bed").
func (r *Receiver) SetCode(c hl7.AckCode) {
	r.mu.Lock()
	r.code = c
	r.mu.Unlock()
}

// Messages returns the messages received so far.
func (r *Receiver) Messages() []*hl7.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*hl7.Message(nil), r.got...)
}

// Next is a channel of the messages, as they come.
func (r *Receiver) Next() <-chan *hl7.Message { return r.seen }

func (r *Receiver) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.serve(c)
	}
}

func (r *Receiver) serve(c net.Conn) {
	defer c.Close()
	rd := hl7.NewReader(c)
	for {
		raw, err := rd.ReadMessage()
		if err != nil {
			return
		}
		m, err := hl7.Parse(raw)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.got = append(r.got, m)
		code := r.code
		r.mu.Unlock()
		select {
		case r.seen <- m:
		default:
		}
		var ackErr error
		if code != hl7.AckAccept {
			ackErr = errors.New("unknown bed")
		}
		if hl7.WriteMessage(c, hl7.BuildACK(m, hl7.Ack{Code: code, Err: ackErr})) != nil {
			return
		}
	}
}
