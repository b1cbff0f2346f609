package hl7out

import (
	"context"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/hl7"
	"github.com/vigil-station/vigil/monitor/hl7/hl7test"
)

type journal struct {
	mu   sync.Mutex
	recs []alarms.Record
}

func (j *journal) record(r alarms.Record) { j.mu.Lock(); j.recs = append(j.recs, r); j.mu.Unlock() }
func (j *journal) events() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, r := range j.recs {
		out = append(out, r.Event)
	}
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spo2Low is bed 05's SpO2 alarm at its onset.
func spo2Low(at time.Time) alarms.Alarm {
	return alarms.Alarm{ID: "05.spo2-low.1", Condition: alarms.Condition{Key: "05/spo2-low", Bed: "05", Code: "spo2-low",
		Priority: alarms.High, Source: alarms.Physiological, Message: "SpO2 84 < 90", Value: 84, Limit: 90},
		Onset: at, Updated: at}
}

// TestSenderTransitions: an alarm's start, its acknowledgement and its end
// reach the receiver as ORU^R40 with the IHE ACM phase, state,
// inactivation and priority, the bed and the value; each delivery is
// journalled; a change that alters nothing of the report is not sent.
func TestSenderTransitions(t *testing.T) {
	rx := hl7test.Listen(t, "127.0.0.1:0")
	j := &journal{}
	s := New(Config{Addr: rx.Addr(), Ward: "7W", Station: "central-1", Record: j.record})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	a := spo2Low(t0)
	s.PublishAlarm(a)
	a.Updated, a.Acked, a.AckedBy = t0.Add(5*time.Second), true, "nurse.kim"
	s.PublishAlarm(a)
	s.PublishAlarm(a) // nothing new
	a.Updated, a.Resolved = t0.Add(9*time.Second), true
	s.PublishAlarm(a)
	waitFor(t, "three reports", func() bool { return len(rx.Messages()) >= 3 })
	time.Sleep(100 * time.Millisecond)
	msgs := rx.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d reports, want 3", len(msgs))
	}
	want := [][2]string{{"start", "active"}, {"continue", "active"}, {"end", "inactive"}}
	for i, m := range msgs {
		code, event, _ := m.Type()
		body := string(m.Bytes())
		if code != "ORU" || event != "R40" || !strings.Contains(body, "7W^^05") || !strings.Contains(body, "PH") ||
			!strings.Contains(body, want[i][0]) || !strings.Contains(body, want[i][1]) || !strings.Contains(body, "05.spo2-low.1") {
			t.Errorf("report %d: %q", i, strings.ReplaceAll(body, "\r", "\n"))
		}
		if i == 0 && (!strings.Contains(body, "196652^MDC_EVT_LO^MDC") || !strings.Contains(body, "|84|")) {
			t.Errorf("the start does not say low SpO2 84: %q", strings.ReplaceAll(body, "\r", "\n"))
		}
		if i == 1 && !strings.Contains(body, "alert-acknowledged") {
			t.Errorf("the acknowledgement does not say so: %q", strings.ReplaceAll(body, "\r", "\n"))
		}
	}
	waitFor(t, "three journalled deliveries", func() bool { return len(j.events()) == 3 })
	for _, e := range j.events() {
		if e != "hl7-delivered" {
			t.Fatalf("journal %q", j.events())
		}
	}
	if st := s.Stats(); st.Delivered != 3 || !st.Up {
		t.Fatalf("stats %+v", st)
	}
}

// TestSenderUnreachable: while the receiver is down the report waits and
// is tried again; after Unreachable the technical alarm is raised, and it
// is cleared when the receiver is back and takes the report (which then
// arrives once, with the reports queued behind it).
func TestSenderUnreachable(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	var mu sync.Mutex
	var faults []string
	j := &journal{}
	s := New(Config{Addr: addr, Ward: "7W", Station: "c1", Record: j.record, Retry: 20 * time.Millisecond,
		Unreachable: 200 * time.Millisecond, AckTimeout: time.Second,
		Fault: func(on bool, msg string) {
			mu.Lock()
			defer mu.Unlock()
			if on {
				faults = append(faults, "up: "+msg)
			} else {
				faults = append(faults, "cleared")
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	t0 := time.Now()
	a := spo2Low(t0)
	s.PublishAlarm(a)
	waitFor(t, "the technical alarm", func() bool { mu.Lock(); defer mu.Unlock(); return len(faults) == 1 })
	if !strings.Contains(faults[0], addr) {
		t.Fatalf("fault %q", faults[0])
	}
	a.Updated, a.Resolved = t0.Add(time.Second), true
	s.PublishAlarm(a)
	rx := hl7test.Listen(t, addr)
	waitFor(t, "both reports", func() bool { return len(rx.Messages()) == 2 })
	waitFor(t, "the alarm cleared", func() bool { mu.Lock(); defer mu.Unlock(); return len(faults) == 2 && faults[1] == "cleared" })
	if st := s.Stats(); st.Failures == 0 || st.Delivered != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSenderRefused: a report the receiver refuses (AE) is journalled
// with the reason and not sent again; the next one goes.
func TestSenderRefused(t *testing.T) {
	rx := hl7test.Listen(t, "127.0.0.1:0")
	rx.SetCode(hl7.AckError)
	j := &journal{}
	s := New(Config{Addr: rx.Addr(), Ward: "7W", Station: "c1", Record: j.record})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	a := spo2Low(time.Now())
	a.Value = math.NaN()
	s.PublishAlarm(a)
	waitFor(t, "the refusal journalled", func() bool { return len(j.events()) == 1 })
	j.mu.Lock()
	rec := j.recs[0]
	j.mu.Unlock()
	if rec.Event != "hl7-refused" || !strings.Contains(rec.Detail, "unknown bed") {
		t.Fatalf("journal %+v", rec)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rx.Messages()); n != 1 {
		t.Fatalf("a refused report was sent %d times", n)
	}
}

// TestSenderSkips: alarms learnt from other stations, and the station's
// own local faults, are not reported.
func TestSenderSkips(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:1", Queue: 4})
	a := spo2Low(time.Now())
	a.Remote = true
	s.PublishAlarm(a)
	b := spo2Low(time.Now())
	b.ID, b.Local = "x", true
	s.PublishAlarm(b)
	if st := s.Stats(); st.Waiting != 0 {
		t.Fatalf("%d reports queued", st.Waiting)
	}
}

// TestSenderPriorityRise: an alarm whose priority rises under the same
// condition is reported again (same phase and state, new priority).
func TestSenderPriorityRise(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:1", Queue: 8})
	a := spo2Low(time.Now())
	a.Priority = alarms.Medium
	s.PublishAlarm(a)
	a.Updated = a.Updated.Add(time.Second)
	s.PublishAlarm(a) // nothing new
	a.Updated, a.Priority = a.Updated.Add(time.Second), alarms.High
	s.PublishAlarm(a)
	if st := s.Stats(); st.Waiting != 2 {
		t.Fatalf("%d reports queued, want the start and the rise", st.Waiting)
	}
}

// TestGroupAlarmReport: a blood pressure's one alarm (alarms.LimitGroups)
// is reported with the measurement's compound code as its source, the
// event of its first crossed limit (high or low) and the text naming every
// crossed limit; no single value (which of sys, dia, mean would it be?).
func TestGroupAlarmReport(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:1", Station: "central-1", Ward: "7W"})
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		code, msg    string
		value, limit float64
		event, param string
	}{
		{alarms.CodeNIBPLimit, "NIBP 166/95 (112)  sys > 160, dia > 90, mean > 110", 166, 160, "196648", "150020"},
		{alarms.CodeNIBPLimit, "NIBP 84/48 (60)  sys < 90, dia < 50", 84, 90, "196652", "150020"},
		{alarms.CodeABPLimit, "ABP 120/45 (70)  dia < 50", 45, 50, "196652", "150032"},
	} {
		a := alarms.Alarm{ID: "05." + tc.code + ".1", Condition: alarms.Condition{Key: "05/" + tc.code, Bed: "05", Code: tc.code,
			Priority: alarms.Medium, Source: alarms.Physiological, Message: tc.msg, Value: tc.value, Limit: tc.limit},
			Onset: at, Updated: at}
		r := s.toHL7(a, "start", "active", "")
		if r.Event.Code != tc.event || r.Param.Code != tc.param || r.Value != nil || r.Text != tc.msg {
			t.Errorf("%s: event %+v param %+v value %v text %q", tc.msg, r.Event, r.Param, r.Value, r.Text)
		}
		if _, err := hl7.BuildR40(r); err != nil {
			t.Errorf("%s: %v", tc.msg, err)
		}
	}
}
