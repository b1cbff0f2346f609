package alarms

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func sampleAlarm() Alarm {
	t0 := time.UnixMilli(1_732_400_000_000)
	return Alarm{ID: "05.spo2-desat.1732399999000", Condition: Condition{Key: "05/spo2-desat", Bed: "05", Code: "spo2-desat",
		Priority: High, Source: Physiological, Message: "Desat SpO2 84 < 85", Value: 84, Limit: 85, Latching: false},
		Onset: t0, Updated: t0.Add(40 * time.Second), Acked: true, AckedBy: "anna", AckedAt: "st-1", Escalation: 1,
		EscalatedAt: t0.Add(30 * time.Second), RejectedBy: []string{"ben"}, Station: "st-1", By: "anna"}
}

func TestStateRoundTrip(t *testing.T) {
	for _, mod := range []func(*Alarm){
		func(*Alarm) {},
		func(a *Alarm) { a.Resolved = true },
		func(a *Alarm) { a.Ended, a.Acked = true, false },
		func(a *Alarm) {
			a.Source, a.Key, a.Code = DeviceTechnical, "05/dev/LEADS-1", "dev-LEADS-1"
			a.Value, a.Limit = math.NaN(), math.NaN()
		},
		func(a *Alarm) { a.Source, a.Priority = Technical, Low },
	} {
		a := sampleAlarm()
		mod(&a)
		b, err := EncodeState(a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeState(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		want := a
		if diff := cmp.Diff(want, got, cmpopts.EquateNaNs(), cmpopts.IgnoreFields(Alarm{}, "AudioPaused", "ReceivedAt", "Remote"),
			cmpopts.IgnoreFields(Condition{}, "Delay", "Audible", "Local", "Since")); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s\n%s", diff, b)
		}
	}
	b, _ := EncodeState(sampleAlarm())
	for _, field := range []string{`"id"`, `"bed"`, `"code"`, `"priority":"high"`, `"source":"physiological"`, `"phase":"continue"`,
		`"state":"active"`, `"inactivation":"acknowledged"`, `"value":84`, `"limit":85`, `"message"`, `"onset"`, `"updated"`, `"by":"anna"`, `"station":"st-1"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("message lacks %s: %s", field, b)
		}
	}
}

func TestStateRejects(t *testing.T) {
	good, _ := EncodeState(sampleAlarm())
	for name, payload := range map[string]string{
		"empty":              ``,
		"not json":           `{"id":`,
		"unknown field":      strings.Replace(string(good), `"bed"`, `"zzz":1,"bed"`, 1),
		"topic chars":        strings.Replace(string(good), `05.spo2-desat`, `05/spo2#desat`, 1),
		"priority":           strings.Replace(string(good), `"high"`, `"urgent"`, 1),
		"phase vs state":     strings.Replace(string(good), `"state":"active"`, `"state":"inactive"`, 1),
		"time":               strings.Replace(string(good), `"onset":1732400000000`, `"onset":5`, 1),
		"escalation":         strings.Replace(string(good), `"escalation":1`, `"escalation":7`, 1),
		"trailing":           string(good) + `{}`,
		"key of another bed": strings.Replace(string(good), `"key":"05/`, `"key":"06/`, 1),
	} {
		if _, err := DecodeState([]byte(payload)); !errors.Is(err, ErrState) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	good, _ := EncodeState(sampleAlarm())
	f.Add(good)
	f.Add([]byte(`{"id":"a","bed":"b"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeState(b)
		if err != nil {
			return
		}
		again, err := EncodeState(a)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if _, err := DecodeState(again); err != nil {
			t.Fatalf("re-encoded message refused: %v\n%s", err, again)
		}
	})
}

// The station-to-station example in docs/feed-protocol.md decodes.
func TestDocumentedStateExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "feed-protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- example: station-alarm -->\\s*```json\\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no station-alarm example in docs/feed-protocol.md")
	}
	a, err := DecodeState(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if a.Escalation != 1 || a.Text() != "*** Desat SpO2 82 < 85" {
		t.Fatalf("%+v", a)
	}
}
