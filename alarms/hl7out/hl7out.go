// Package hl7out sends the station's alarm transitions to a paging or
// nurse-call system as IHE PCD-04 "Report Alert" messages (HL7 v2 ORU^R40)
// over MLLP, one at a time, each acknowledged before the next:
//
//	alarm system ─ PublishAlarm ─▶ queue ─▶ connect ─ ORU^R40 ─▶ receiver
//	                                  ▲        │                   │
//	                                  │        │   ACK AA ◀────────┘ delivered: journalled
//	                                  └─ retry ┘   (no answer, AE/AR: see Run)
//
// A receiver that stays unreachable raises a technical alarm at the
// station; every delivery, refusal and loss is journalled.
package hl7out

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/hl7"
)

// Config configures a Sender.
type Config struct {
	Addr    string      // host:port of the receiver's MLLP listener
	TLS     *tls.Config // nil: plain TCP
	Ward    string      // PV1-3.1 of every report
	Station string      // MSH-4 and the control IDs' prefix
	// Fault raises (present) or clears the technical alarm of a receiver
	// that does not take the reports (alarms.Service.Fault with CodeHL7Out).
	Fault func(present bool, message string)
	// Record journals each delivery, refusal and loss.
	Record func(alarms.Record)
	Log    *slog.Logger
	Now    func() time.Time

	Retry       time.Duration // first wait before trying again (default 1 s, doubling to 30 s)
	Unreachable time.Duration // failing this long raises the technical alarm (default 30 s)
	AckTimeout  time.Duration // the wait for each ACK (default 5 s)
	Queue       int           // reports waiting at most (default 1000; more are lost, counted, journalled)
}

// Stats are a sender's counters.
type Stats struct {
	Delivered, Refused, Lost, Failures int64
	Waiting                            int
	Up                                 bool // the last attempt was acknowledged
}

// Sender delivers reports; it implements alarms.Publisher.
type Sender struct {
	cfg  Config
	q    chan report
	seq  atomic.Uint64
	last sync.Map // alarm id → the phase/state/inactivation last queued

	delivered, refused, lost, failures atomic.Int64
	up                                 atomic.Bool
}

type report struct {
	alarm hl7.Alarm
	bed   string
	phase string
}

// New returns a sender; Run delivers.
func New(cfg Config) *Sender {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Unreachable <= 0 {
		cfg.Unreachable = 30 * time.Second
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 5 * time.Second
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1000
	}
	if cfg.Fault == nil {
		cfg.Fault = func(bool, string) {}
	}
	if cfg.Record == nil {
		cfg.Record = func(alarms.Record) {}
	}
	return &Sender{cfg: cfg, q: make(chan report, cfg.Queue)}
}

// PublishAlarm queues an alarm's latest change (alarms.Publisher; it never
// blocks). Alarms learnt from other stations are theirs to send; the
// station's own faults stay local; a change that alters nothing of the
// report (same phase, state, inactivation and priority) is not sent again.
func (s *Sender) PublishAlarm(a alarms.Alarm) {
	if a.Remote || a.Local || a.Code == alarms.CodeHL7Out {
		return
	}
	phase, state, inact := alarms.ACM(a)
	// What the receiver sees of it, besides the phase: a "continue" that
	// changes none of it is not news.
	key := state + "/" + inact + "/" + a.Priority.String()
	if prev, ok := s.last.Load(a.ID); ok && prev == key && phase == "continue" {
		return
	}
	if phase == "end" {
		s.last.Delete(a.ID)
	} else {
		s.last.Store(a.ID, key)
	}
	r := report{alarm: s.toHL7(a, phase, state, inact), bed: a.Bed, phase: phase}
	select {
	case s.q <- r:
	default:
		s.lost.Add(1)
		s.cfg.Log.Error("hl7 alarm report lost: queue full", "alarm", a.ID, "queue", cap(s.q))
		s.cfg.Record(alarms.Record{At: s.cfg.Now(), Event: "hl7-lost", AlarmID: a.ID, Bed: a.Bed, Where: s.cfg.Station,
			Detail: fmt.Sprintf("ORU^R40 %s not sent to %s: %d reports already waiting", phase, s.cfg.Addr, cap(s.q))})
	}
}

// toHL7 maps an alarm's change to the report.
func (s *Sender) toHL7(a alarms.Alarm, phase, state, inact string) hl7.Alarm {
	r := hl7.Alarm{
		ControlID: fmt.Sprintf("%s-%d-%d", cut(s.cfg.Station, 40), s.cfg.Now().UnixMilli(), s.seq.Add(1)),
		ID:        a.ID, SendingApp: "VIGIL", SendingFacility: s.cfg.Station,
		PointOfCare: s.cfg.Ward, Bed: a.Bed,
		Priority: map[alarms.Priority]hl7.AlarmPriority{alarms.High: hl7.PriorityHigh, alarms.Medium: hl7.PriorityMedium,
			alarms.Low: hl7.PriorityLow}[a.Priority],
		Source: hl7.SourcePhysiological, Phase: hl7.AlarmPhase(phase), State: hl7.AlarmState(state),
		Inactivation: hl7.InactivationEnabled, Text: a.Message, Time: a.Updated,
	}
	if r.Priority == "" {
		r.Priority = hl7.PriorityNone
	}
	if r.Time.IsZero() {
		r.Time = s.cfg.Now()
	}
	switch inact {
	case "acknowledged":
		r.Inactivation = hl7.InactivationAcknowledged
	case "audio-paused":
		r.Inactivation = hl7.InactivationAudioPaused
	}
	hi := hl7.Coded{Code: "196648", Text: "MDC_EVT_HI", System: "MDC"}
	lo := hl7.Coded{Code: "196652", Text: "MDC_EVT_LO", System: "MDC"}
	g, group := alarms.LimitGroupByCode(a.Code)
	switch {
	case a.Source == alarms.Technical || a.Source == alarms.DeviceTechnical:
		r.Source = hl7.SourceTechnical
		r.Event = hl7.Coded{Code: "196660", Text: "MDC_EVT_INOP", System: "MDC"}
	case group && a.Value > a.Limit: // a blood pressure: its first crossed limit (sys, dia, mean) says which
		r.Event = hi
	case group && a.Value < a.Limit:
		r.Event = lo
	case strings.HasSuffix(a.Code, "-high"):
		r.Event = hi
	case strings.HasSuffix(a.Code, "-low"), strings.HasSuffix(a.Code, "-desat"):
		r.Event = lo
	default:
		r.Event = hl7.Coded{Code: hl7.MDCEvtAlarm, Text: "MDC_EVT_ALARM", System: "MDC"}
	}
	if group {
		// The measurement is the source; its text names every crossed
		// limit. No value: one number would not say which of sys, dia, mean.
		r.Param = hl7.Coded{Code: strconv.FormatUint(uint64(g.MDC), 10), Text: g.Label, System: "MDC"}
	} else if p, ok := alarms.ParamByName(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(a.Code, "-high"), "-low"), "-desat")); ok {
		r.Param = hl7.Coded{Code: strconv.FormatUint(uint64(p.Code), 10), Text: p.Label, System: "MDC"}
		if !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
			v := a.Value
			r.Value = &v
		}
	}
	if r.Bed == "" {
		r.Bed = "station"
	}
	return r
}

// Run delivers the queued reports until ctx ends. A report is tried until
// the receiver acknowledges it: after a connection that fails or an ACK
// that does not come, the sender waits (1 s, doubling to 30 s) and sends
// it again, so a report can arrive twice (its control ID says so); after
// Unreachable of failing it raises the technical alarm, cleared by the
// next delivery. A report the receiver refuses (AE, AR) is journalled and
// not sent again: sending the same message would be refused the same way.
func (s *Sender) Run(ctx context.Context) {
	var conn net.Conn
	var rd *hl7.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var failingSince time.Time
	faulted := false
	wait := s.cfg.Retry
	for {
		var r report
		select {
		case <-ctx.Done():
			return
		case r = <-s.q:
		}
		for {
			msg, err := hl7.BuildR40(r.alarm)
			if err != nil {
				s.refused.Add(1)
				s.journal(r, "hl7-refused", fmt.Sprintf("ORU^R40 %s not built: %v", r.phase, err))
				break
			}
			if conn == nil {
				conn, err = s.dial(ctx)
				if err == nil {
					rd = hl7.NewReader(conn)
				}
			}
			var code, reason string
			if err == nil {
				code, reason, err = s.exchange(conn, rd, msg)
			}
			if err == nil {
				s.up.Store(true)
				failingSince, wait = time.Time{}, s.cfg.Retry
				if faulted {
					faulted = false
					s.cfg.Fault(false, "")
				}
				if code == "AA" || code == "CA" {
					s.delivered.Add(1)
					s.journal(r, "hl7-delivered", fmt.Sprintf("ORU^R40 %s %s to %s: %s", r.phase, r.alarm.ControlID, s.cfg.Addr, code))
				} else {
					s.refused.Add(1)
					s.journal(r, "hl7-refused", fmt.Sprintf("ORU^R40 %s %s refused by %s: %s %s", r.phase, r.alarm.ControlID, s.cfg.Addr, code, reason))
				}
				break
			}
			// Not delivered: try again on a new connection.
			s.up.Store(false)
			s.failures.Add(1)
			if conn != nil {
				conn.Close()
				conn = nil
			}
			now := s.cfg.Now()
			if failingSince.IsZero() {
				failingSince = now
				s.cfg.Log.Warn("hl7 alarm report not delivered; retrying", "to", s.cfg.Addr, "err", err)
			}
			if !faulted && now.Sub(failingSince) >= s.cfg.Unreachable {
				faulted = true
				s.cfg.Fault(true, fmt.Sprintf("Paging system %s not taking alarms for %s: %v", s.cfg.Addr, now.Sub(failingSince).Round(time.Second), err))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
		}
	}
}

func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.AckTimeout}
	if s.cfg.TLS != nil {
		td := tls.Dialer{NetDialer: &d, Config: s.cfg.TLS}
		return td.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	return d.DialContext(ctx, "tcp", s.cfg.Addr)
}

// exchange sends one report and reads its ACK: MSA-1 and, when refused,
// the reason (ERR-8, else MSA-3).
func (s *Sender) exchange(conn net.Conn, rd *hl7.Reader, msg []byte) (code, reason string, err error) {
	conn.SetDeadline(time.Now().Add(s.cfg.AckTimeout))
	if err := hl7.WriteMessage(conn, msg); err != nil {
		return "", "", err
	}
	raw, err := rd.ReadMessage()
	if err != nil {
		return "", "", fmt.Errorf("no ACK: %w", err)
	}
	ack, err := hl7.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("ACK unreadable: %w", err)
	}
	msa := ack.Segment("MSA", 1)
	if msa == nil {
		return "", "", errors.New("ACK without MSA")
	}
	code = msa.Field(1)
	if e := ack.Segment("ERR", 1); e != nil {
		reason = e.Field(8)
	}
	return code, cmp.Or(reason, msa.Field(3)), nil
}

func (s *Sender) journal(r report, event, detail string) {
	s.cfg.Record(alarms.Record{At: s.cfg.Now(), Event: event, AlarmID: r.alarm.ID, Bed: r.bed, Where: s.cfg.Station, Detail: detail})
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	return Stats{Delivered: s.delivered.Load(), Refused: s.refused.Load(), Lost: s.lost.Load(),
		Failures: s.failures.Load(), Waiting: len(s.q), Up: s.up.Load()}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
