package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// at is a fixed wall-clock instant for exact text checks.
var at = time.Date(2024, 3, 9, 14, 3, 12, 0, time.UTC)

func high(bed string) Note {
	return Note{Bed: bed, Priority: alarms.High, Text: "*** SpO2 84 < 90"}
}

func medium(bed string) Note {
	return Note{Bed: bed, Priority: alarms.Medium, Text: "** HR 130 > 120"}
}

func TestNoteText(t *testing.T) {
	tests := []struct {
		name        string
		note        Note
		title, body string
	}{
		{"new high", Note{Bed: "05", Priority: alarms.High, Text: "*** SpO2 84 < 90", At: at},
			"Bed 05 — *** SpO2 84 < 90",
			"14:03:12 · new high priority alarm. Go to bed 05 now and acknowledge it."},
		{"new medium", Note{Bed: "07", Priority: alarms.Medium, Text: "** HR 130 > 120", At: at},
			"Bed 07 — ** HR 130 > 120",
			"14:03:12 · new medium priority alarm. Go to bed 07 promptly and acknowledge it."},
		{"escalated", Note{Bed: "12", Priority: alarms.High, Text: "*** Asystole", Escalated: true,
			Detail: "to the charge nurse", At: at},
			"ESCALATED Bed 12 — *** Asystole",
			"14:03:12 · escalated to the charge nurse: high priority, not acknowledged. Go to bed 12 now and acknowledge it."},
		{"escalated without detail", Note{Bed: "12", Priority: alarms.Medium, Text: "** NIBP 85/50",
			Escalated: true, At: at},
			"ESCALATED Bed 12 — ** NIBP 85/50",
			"14:03:12 · escalated: medium priority, not acknowledged. Go to bed 12 now and acknowledge it."},
		{"advisory", Note{Bed: "03", Advisory: true, Text: "NEWS2 5 (reached 5): urgent response",
			Detail: "review within 1 hour", At: at},
			"Bed 03 — ADVISORY NEWS2 5 (reached 5): urgent response",
			"14:03:12 · advisory, not an alarm: review within 1 hour."},
		{"station-wide", Note{Priority: alarms.High, Text: "*** Broker connection lost", At: at},
			"Station — *** Broker connection lost",
			"14:03:12 · new high priority alarm. Check the central station now."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.note.Title(); got != tt.title {
				t.Errorf("Title() = %q, want %q", got, tt.title)
			}
			if got := tt.note.Body(); got != tt.body {
				t.Errorf("Body() = %q, want %q", got, tt.body)
			}
		})
	}
}

func TestFromAlarm(t *testing.T) {
	a := alarms.Alarm{
		Condition: alarms.Condition{Bed: "03", Priority: alarms.High, Message: "SpO2 84 < 90"},
		Onset:     at, EscalatedAt: at.Add(30 * time.Second), Escalation: 1,
	}
	want := Note{Bed: "03", Priority: alarms.High, Text: "*** SpO2 84 < 90", At: at}
	if got := FromAlarm(a, false); got != want {
		t.Errorf("FromAlarm(new) = %+v, want %+v", got, want)
	}
	want.Escalated, want.Detail, want.At = true, "to the charge nurse", at.Add(30*time.Second)
	if got := FromAlarm(a, true); got != want {
		t.Errorf("FromAlarm(escalated) = %+v, want %+v", got, want)
	}
	a.Escalation = 2
	if got := FromAlarm(a, true).Detail; got != "to every station" {
		t.Errorf("FromAlarm(second hop).Detail = %q", got)
	}
}

func TestSummaryText(t *testing.T) {
	var held []Note
	for i := range 14 {
		n := high(fmt.Sprintf("%02d", i+1))
		n.At = at.Add(time.Duration(i) * time.Second)
		held = append(held, n)
	}
	held = append(held, Note{Bed: "01", Priority: alarms.Medium, Text: "** HR 130 > 120", Escalated: true, At: at.Add(-time.Minute)})
	title, body := summary(held, 3)
	if want := "*** +18 more alarms: Bed 01, Bed 02, Bed 03, …"; title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	want := "Bed 01, Bed 02, Bed 03, Bed 04, Bed 05, Bed 06, Bed 07, Bed 08, Bed 09, Bed 10, Bed 11, Bed 12" +
		" and 2 more beds. Held back since 14:02:12: 14 high, 1 medium (1 escalated), 3 more not itemised." +
		" See the central station."
	if body != want {
		t.Errorf("body =\n%q, want\n%q", body, want)
	}

	title, body = summary([]Note{medium("04"), {Priority: alarms.Medium, Text: "** Lead off", At: at}}, 0)
	if want := "** +2 more alarms: Bed 04, Station"; title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	if !strings.HasPrefix(body, "Bed 04, Station. Held back since ") || !strings.Contains(body, ": 0 high, 2 medium.") {
		t.Errorf("body = %q", body)
	}
}

func TestBucket(t *testing.T) {
	b := bucket{burst: 3, interval: 2 * time.Second}
	t0 := at
	if got := b.available(t0); got != 3 {
		t.Fatalf("fresh bucket: available = %d, want 3", got)
	}
	for range 3 {
		b.take(t0)
	}
	if got := b.available(t0); got != 0 {
		t.Errorf("after burst: available = %d, want 0", got)
	}
	if got := b.readyAt(t0); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("readyAt = %v, want t0+2s", got.Sub(t0))
	}
	if got := b.available(t0.Add(2*time.Second - 1)); got != 0 {
		t.Errorf("1 ns early: available = %d, want 0", got)
	}
	if got := b.available(t0.Add(2 * time.Second)); got != 1 {
		t.Errorf("at t0+2s: available = %d, want 1", got)
	}
	if got := b.available(t0.Add(time.Hour)); got != 3 {
		t.Errorf("after an hour: available = %d, want 3 (never more than the burst)", got)
	}
	b.take(t0.Add(time.Hour))
	if got := b.readyAt(t0.Add(time.Hour)); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("readyAt with tokens left = %v, want now", got.Sub(t0))
	}
}

// shown is one notification the fake backend received.
type shown struct {
	at          time.Time
	title, body string
}

// logRecorder is a slog.Handler keeping records for inspection.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// count is the number of records at level.
func (l *logRecorder) count(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := 0
	for _, r := range l.recs {
		if r.Level == level {
			k++
		}
	}
	return k
}

// harness runs a Notifier with a recording backend inside a synctest bubble.
type harness struct {
	t      *testing.T
	n      *Notifier
	logs   *logRecorder
	t0     time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	got  []shown
	fail func(title string) error // nil: succeed
}

func start(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, logs: &logRecorder{}, t0: time.Now(), done: make(chan struct{})}
	if cfg.Send == nil {
		cfg.Send = h.send
	}
	cfg.Logger = slog.New(h.logs)
	h.n = New(cfg)
	var ctx context.Context
	ctx, h.cancel = context.WithCancel(t.Context())
	go func() {
		defer close(h.done)
		h.n.Run(ctx)
	}()
	return h
}

func (h *harness) send(title, body string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, shown{time.Now(), title, body})
	if h.fail != nil {
		return h.fail(title)
	}
	return nil
}

func (h *harness) setFail(f func(string) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = f
}

func (h *harness) shown() []shown {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]shown(nil), h.got...)
}

// stop ends Run and checks that every posted note is accounted for.
func (h *harness) stop() Stats {
	h.t.Helper()
	h.cancel()
	<-h.done
	s := h.n.Stats()
	if s.Posted != s.Sent+s.Summarised+s.Failed+s.Dropped {
		h.t.Errorf("notes unaccounted for: %+v", s)
	}
	return s
}

// since is when s was shown, as an offset from the start of the test.
func (h *harness) since(s shown) time.Duration { return s.at.Sub(h.t0) }

func TestLowIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		if h.n.Post(Note{Bed: "01", Priority: alarms.Low, Text: "* Lead off"}) {
			t.Error("Post(LOW) = true")
		}
		if h.n.Post(Note{Bed: "01", Priority: alarms.None}) {
			t.Error("Post(None) = true")
		}
		if !h.n.Post(high("02")) {
			t.Error("Post(HIGH) = false")
		}
		time.Sleep(time.Minute)
		got := h.shown()
		if len(got) != 1 || got[0].title != "Bed 02 — *** SpO2 84 < 90" {
			t.Fatalf("shown = %+v, want only bed 02", got)
		}
		if d := h.since(got[0]); d != DefaultGather {
			t.Errorf("shown after %v, want the gather window %v", d, DefaultGather)
		}
		s := h.stop()
		if want := (Stats{Posted: 1, Ignored: 2, Sent: 1}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

// An advisory has no alarm priority and is notified all the same, as an
// advisory.
func TestAdvisoryNotified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		if !h.n.Post(Note{Bed: "03", Advisory: true, Text: "NEWS2 7 (reached 7): emergency response"}) {
			t.Fatal("Post(advisory) = false")
		}
		time.Sleep(time.Minute)
		got := h.shown()
		if len(got) != 1 || got[0].title != "Bed 03 — ADVISORY NEWS2 7 (reached 7): emergency response" {
			t.Fatalf("shown = %+v", got)
		}
		if s := h.stop(); s != (Stats{Posted: 1, Sent: 1}) {
			t.Errorf("stats = %+v", s)
		}
	})
}

func TestPostStampsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		time.Sleep(5 * time.Second)
		h.n.Post(high("02"))
		time.Sleep(time.Second)
		got := h.shown()
		want := h.t0.Add(5 * time.Second).Format(clock)
		if len(got) != 1 || !strings.HasPrefix(got[0].body, want+" · ") {
			t.Errorf("shown = %+v, want a body starting with the posting time %s", got, want)
		}
		h.stop()
	})
}

func TestStormIsSummarised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		for i := range 64 {
			h.n.Post(high(fmt.Sprintf("%02d", i+1)))
		}
		time.Sleep(time.Minute)
		got := h.shown()
		if len(got) != 3 {
			t.Fatalf("storm of 64: %d notifications, want 3 (burst of 3: two alarms and a summary): %+v", len(got), got)
		}
		for _, s := range got {
			if d := h.since(s); d != DefaultGather {
				t.Errorf("%q shown after %v, want %v", s.title, d, DefaultGather)
			}
		}
		if got[0].title != "Bed 01 — *** SpO2 84 < 90" || got[1].title != "Bed 02 — *** SpO2 84 < 90" {
			t.Errorf("individual notifications = %q, %q; want beds 01 and 02 (oldest first)", got[0].title, got[1].title)
		}
		if want := "*** +62 more alarms: Bed 03, Bed 04, Bed 05, …"; got[2].title != want {
			t.Errorf("summary title = %q, want %q", got[2].title, want)
		}
		if !strings.HasPrefix(got[2].body, "Bed 03, Bed 04,") || !strings.Contains(got[2].body, "and 50 more beds") ||
			!strings.Contains(got[2].body, "62 high, 0 medium") {
			t.Errorf("summary body = %q", got[2].body)
		}
		s := h.stop()
		if want := (Stats{Posted: 64, Sent: 2, Summarised: 62, Summaries: 1}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestRateLimitTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		g := DefaultGather
		// 0 s: a storm spends the burst at 0.1 s; the next token comes at 2.1 s.
		for i := range 10 {
			h.n.Post(high(fmt.Sprintf("%02d", i+1)))
		}
		// 1 s: one alarm, alone when the token comes: shown itself at 2.1 s.
		time.Sleep(time.Second)
		h.n.Post(medium("20"))
		// 2.5 s: two alarms wait for the 4.1 s token: one summary.
		time.Sleep(1500 * time.Millisecond)
		h.n.Post(medium("21"))
		h.n.Post(high("22"))
		// 20 s: the bucket is full again: three at once are each shown.
		time.Sleep(17500 * time.Millisecond)
		h.n.Post(medium("30"))
		h.n.Post(medium("31"))
		h.n.Post(medium("32"))
		time.Sleep(time.Minute)

		type want struct {
			after time.Duration
			title string
		}
		wants := []want{
			{g, "Bed 01 — *** SpO2 84 < 90"},
			{g, "Bed 02 — *** SpO2 84 < 90"},
			{g, "*** +8 more alarms: Bed 03, Bed 04, Bed 05, …"},
			{2*time.Second + g, "Bed 20 — ** HR 130 > 120"},
			{4*time.Second + g, "*** +2 more alarms: Bed 22, Bed 21"},
			{20*time.Second + g, "Bed 30 — ** HR 130 > 120"},
			{20*time.Second + g, "Bed 31 — ** HR 130 > 120"},
			{20*time.Second + g, "Bed 32 — ** HR 130 > 120"},
		}
		got := h.shown()
		if len(got) != len(wants) {
			t.Fatalf("%d notifications, want %d: %+v", len(got), len(wants), got)
		}
		for i, w := range wants {
			if d := h.since(got[i]); d != w.after || got[i].title != w.title {
				t.Errorf("notification %d: %q after %v, want %q after %v", i, got[i].title, d, w.title, w.after)
			}
		}
		s := h.stop()
		if want := (Stats{Posted: 16, Sent: 6, Summarised: 10, Summaries: 2}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestSustainedStormStaysWithinLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		const period = 100 * time.Millisecond
		const duration = time.Minute
		for i := range int(duration / period) {
			h.n.Post(high(fmt.Sprintf("%02d", i%64+1)))
			time.Sleep(period)
		}
		time.Sleep(time.Minute)
		got := h.shown()
		// The bucket allows Burst at once plus one per Interval; the last
		// notes may be summarised up to one Interval after the storm.
		limit := DefaultBurst + int(duration/DefaultInterval) + 1
		if len(got) > limit {
			t.Errorf("%d notifications in a %v storm, want at most %d", len(got), duration, limit)
		}
		if len(got) < int(duration/DefaultInterval) {
			t.Errorf("%d notifications in a %v storm: the limiter holds back more than it must", len(got), duration)
		}
		// No window holds more than Burst plus one per Interval: k
		// notifications span at least (k - Burst) Intervals.
		for i := range got {
			for j := i + DefaultBurst; j < len(got); j++ {
				k := j - i + 1
				if span := got[j].at.Sub(got[i].at); span < time.Duration(k-DefaultBurst)*DefaultInterval {
					t.Errorf("notifications %d to %d: %d within %v", i, j, k, span)
				}
			}
		}
		s := h.stop()
		if s.Sent+s.Summarised != 600 || s.Failed != 0 || s.Dropped != 0 {
			t.Errorf("stats = %+v, want all 600 notes shown or summarised", s)
		}
		if int(s.Sent+s.Summaries) != len(got) {
			t.Errorf("stats = %+v: Sent + Summaries != %d notifications", s, len(got))
		}
	})
}

func TestHighTakesPrecedence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		for i := range 5 {
			h.n.Post(medium(fmt.Sprintf("%02d", i+1)))
		}
		esc := medium("08")
		esc.Escalated = true
		h.n.Post(esc)
		// Posted later, still within the gather window.
		time.Sleep(50 * time.Millisecond)
		h.n.Post(high("06"))
		h.n.Post(high("07"))
		time.Sleep(time.Minute)
		got := h.shown()
		if len(got) != 3 {
			t.Fatalf("%d notifications, want 3: %+v", len(got), got)
		}
		if got[0].title != "Bed 06 — *** SpO2 84 < 90" || got[1].title != "Bed 07 — *** SpO2 84 < 90" {
			t.Errorf("individual notifications %q, %q; want the two HIGH alarms", got[0].title, got[1].title)
		}
		if want := "** +6 more alarms: Bed 08, Bed 01, Bed 02, …"; got[2].title != want {
			t.Errorf("summary = %q, want %q (escalation first)", got[2].title, want)
		}
		if !strings.Contains(got[2].body, "0 high, 6 medium (1 escalated)") {
			t.Errorf("summary body = %q", got[2].body)
		}
		h.stop()
	})
}

func TestSummaryRanksHighFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{Burst: 1})
		h.n.Post(medium("01"))
		h.n.Post(medium("02"))
		h.n.Post(high("03"))
		time.Sleep(time.Minute)
		got := h.shown()
		if len(got) != 1 {
			t.Fatalf("%d notifications, want 1 summary: %+v", len(got), got)
		}
		if want := "*** +3 more alarms: Bed 03, Bed 01, Bed 02"; got[0].title != want {
			t.Errorf("summary = %q, want %q", got[0].title, want)
		}
		h.stop()
	})
}

func TestQueueFullDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lr := &logRecorder{}
		var got []string
		n := New(Config{QueueSize: 4, Logger: slog.New(lr),
			Send: func(title, _ string) error { got = append(got, title); return nil }})
		accepted := 0
		for i := range 10 {
			if n.Post(high(fmt.Sprintf("%02d", i+1))) {
				accepted++
			}
		}
		if accepted != 4 {
			t.Errorf("accepted %d of 10 with a queue of 4", accepted)
		}
		if s := n.Stats(); s.Dropped != 6 || s.Posted != 10 {
			t.Errorf("stats before Run = %+v, want 10 posted, 6 dropped", s)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); n.Run(ctx) }()
		time.Sleep(time.Minute)
		cancel()
		<-done
		want := []string{"Bed 01 — *** SpO2 84 < 90", "Bed 02 — *** SpO2 84 < 90", "*** +2 more alarms: Bed 03, Bed 04"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("shown %q, want %q", got, want)
		}
		if s, want := n.Stats(), (Stats{Posted: 10, Sent: 2, Summarised: 2, Summaries: 1, Dropped: 6}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestPendingOverflowIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{QueueSize: 8}) // keeps at most 8 itemised
		for i := range 3 {
			h.n.Post(medium(fmt.Sprintf("%02d", i+1))) // spends the burst
		}
		time.Sleep(time.Second)
		// Before the next token: 8 MEDIUM, then 8 HIGH, then 8 MEDIUM.
		for batch, mk := range []func(string) Note{medium, high, medium} {
			for i := range 8 {
				h.n.Post(mk(fmt.Sprintf("%d%d", batch+1, i)))
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Minute)
		got := h.shown()
		if len(got) != 4 {
			t.Fatalf("%d notifications, want 3 and a summary: %+v", len(got), got)
		}
		sum := got[3]
		if want := "*** +24 more alarms: Bed 20, Bed 21, Bed 22, …"; sum.title != want {
			t.Errorf("summary = %q, want %q", sum.title, want)
		}
		if !strings.Contains(sum.body, "Bed 27. Held back") || strings.Contains(sum.body, "Bed 1") ||
			!strings.Contains(sum.body, "8 high, 0 medium, 16 more not itemised") {
			t.Errorf("summary body = %q, want the 8 HIGH beds itemised and 16 more counted", sum.body)
		}
		s := h.stop()
		if want := (Stats{Posted: 27, Sent: 3, Summarised: 24, Summaries: 1}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestFailureLoggedOncePerOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		noBus := errors.New("dbus: no session bus")
		h.setFail(func(string) error { return noBus })
		for i := range 5 {
			if !h.n.Post(high(fmt.Sprintf("%02d", i+1))) {
				t.Errorf("Post %d refused while the backend fails", i)
			}
			time.Sleep(3 * time.Second)
		}
		if s := h.n.Stats(); s.Failed != 5 || s.Sent != 0 {
			t.Errorf("stats = %+v, want 5 failed", s)
		}
		if w := h.logs.count(slog.LevelWarn); w != 1 {
			t.Errorf("%d warnings for 5 failures, want 1", w)
		}
		h.logs.mu.Lock()
		var msg string
		h.logs.recs[0].Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				msg = fmt.Sprint(a.Value.Any())
			}
			return true
		})
		h.logs.mu.Unlock()
		if msg != noBus.Error() {
			t.Errorf("logged err = %q, want %q", msg, noBus)
		}

		h.setFail(nil)
		h.n.Post(high("10"))
		time.Sleep(3 * time.Second)
		if i := h.logs.count(slog.LevelInfo); i != 1 {
			t.Errorf("%d info records after recovery, want 1", i)
		}
		h.setFail(func(string) error { return noBus })
		h.n.Post(high("11"))
		h.n.Post(high("12"))
		time.Sleep(3 * time.Second)
		if w := h.logs.count(slog.LevelWarn); w != 2 {
			t.Errorf("%d warnings after a second outage, want 2", w)
		}
		s := h.stop()
		if want := (Stats{Posted: 8, Sent: 1, Failed: 7}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestSummaryFailureCountsItsNotes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		h.setFail(func(title string) error {
			if strings.Contains(title, "more alarms") {
				return errors.New("daemon gone")
			}
			return nil
		})
		for i := range 10 {
			h.n.Post(high(fmt.Sprintf("%02d", i+1)))
		}
		time.Sleep(time.Minute)
		s := h.stop()
		if want := (Stats{Posted: 10, Sent: 2, Failed: 8}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestBackendPanicIsRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		h := start(t, Config{Send: func(string, string) error {
			calls++
			if calls == 1 {
				panic("backend bug")
			}
			return nil
		}})
		h.n.Post(high("01"))
		time.Sleep(5 * time.Second)
		h.n.Post(high("02"))
		time.Sleep(5 * time.Second)
		s := h.stop()
		if want := (Stats{Posted: 2, Sent: 1, Failed: 1}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
		if w := h.logs.count(slog.LevelWarn); w != 1 {
			t.Errorf("%d warnings, want 1", w)
		}
	})
}

func TestHungBackend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		calls := 0
		h := start(t, Config{Send: func(string, string) error {
			mu.Lock()
			calls++
			first := calls == 1
			mu.Unlock()
			if first {
				<-release // the daemon hangs
			}
			return nil
		}})
		h.n.Post(high("01"))
		time.Sleep(time.Second) // Run is now waiting on the hung call

		t1 := time.Now()
		for i := range 300 {
			h.n.Post(high(fmt.Sprintf("%03d", i)))
		}
		if d := time.Since(t1); d != 0 {
			t.Errorf("300 Posts took %v of virtual time while the backend hangs, want 0", d)
		}
		if s := h.n.Stats(); s.Dropped != 300-DefaultQueueSize {
			t.Errorf("stats = %+v, want %d dropped beyond the queue", s, 300-DefaultQueueSize)
		}

		// The hung call times out; the next ones fail fast while it hangs.
		time.Sleep(DefaultSendTimeout)
		synctest.Wait()
		if s := h.n.Stats(); s.Failed != 1+DefaultQueueSize {
			t.Errorf("stats = %+v, want the hung note and the queued ones failed", s)
		}
		if w := h.logs.count(slog.LevelWarn); w != 1 {
			t.Errorf("%d warnings, want 1", w)
		}

		close(release)
		time.Sleep(time.Minute)
		h.n.Post(high("99"))
		time.Sleep(time.Second)
		s := h.stop()
		if s.Sent != 1 {
			t.Errorf("stats = %+v, want the note after recovery sent", s)
		}
		mu.Lock()
		defer mu.Unlock()
		if calls != 2 {
			t.Errorf("backend called %d times, want 2 (the hung call, none while it hung, then one)", calls)
		}
	})
}

func TestRunStopsWhileBackendHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := start(t, Config{Send: func(string, string) error { <-release; return nil }})
		h.n.Post(high("01"))
		time.Sleep(time.Second)
		h.n.Post(high("02"))
		h.n.Post(high("03"))
		t1 := time.Now()
		s := h.stop() // checks the accounting
		if d := time.Since(t1); d != 0 {
			t.Errorf("Run took %v to stop, want at once", d)
		}
		if want := (Stats{Posted: 3, Dropped: 3}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
		close(release)
	})
}

func TestRunStopsWithNotesPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		for i := range 5 {
			h.n.Post(high(fmt.Sprintf("%02d", i+1)))
		}
		time.Sleep(time.Second) // 2 shown, 1 summary of 3
		h.n.Post(high("10"))    // waits for the token at 2.1 s
		h.n.Post(high("11"))
		synctest.Wait()
		s := h.stop()
		if want := (Stats{Posted: 7, Sent: 2, Summarised: 3, Summaries: 1, Dropped: 2}); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestSecondRunReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		synctest.Wait()
		returned := make(chan struct{})
		go func() { h.n.Run(t.Context()); close(returned) }()
		synctest.Wait()
		select {
		case <-returned:
		default:
			t.Error("a second concurrent Run did not return")
		}
		if e := h.logs.count(slog.LevelError); e != 1 {
			t.Errorf("%d error records, want 1", e)
		}
		h.n.Post(high("01"))
		time.Sleep(time.Second)
		if len(h.shown()) != 1 {
			t.Error("the first Run stopped working")
		}
		h.stop()
	})
}

func TestDefaults(t *testing.T) {
	n := New(Config{Gather: -1})
	c := n.cfg
	if c.QueueSize != DefaultQueueSize || c.Burst != DefaultBurst || c.Interval != DefaultInterval ||
		c.Gather != 0 || c.SendTimeout != DefaultSendTimeout || c.Icon != DefaultIcon || c.Send == nil || n.log == nil {
		t.Errorf("defaults not applied: %+v", c)
	}
	if cap(n.queue) != DefaultQueueSize {
		t.Errorf("queue capacity %d", cap(n.queue))
	}
	if New(Config{}).cfg.Gather != DefaultGather {
		t.Error("zero Gather did not take the default")
	}
}
