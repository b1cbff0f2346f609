package feed

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr(v float64) *float64 { return &v }

const goodAlarm = `{"id":"HR-HI-0042","seq":311,"ts":1732400000000,"code":196648,"param":147842,` +
	`"priority":"medium","source":"physiological","phase":"start","state":"active",` +
	`"value":134,"limit":120,"unit":"/min","text":"HR 134 > 120"}`

func TestAlarmDecode(t *testing.T) {
	a, err := DecodeAlarm([]byte(goodAlarm))
	if err != nil {
		t.Fatal(err)
	}
	want := Alarm{ID: "HR-HI-0042", Seq: 311, TsMs: 1732400000000, Code: MDCEvtHi, Param: MDCECGHeartRate,
		Priority: AlarmMedium, Source: SourcePhysiological, Phase: PhaseStart, State: StateActive,
		Value: ptr(134), Limit: ptr(120), Unit: "/min", Text: "HR 134 > 120"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// The smallest alarm: a technical one with text only, value 0 is a value.
	a, err = DecodeAlarm([]byte(`{"id":"x","seq":0,"ts":946684800000,"priority":"none","source":"technical",` +
		`"phase":"end","state":"latched","inactivation":"acknowledged","value":0,"text":"LEADS OFF"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Code != 0 || a.Value == nil || *a.Value != 0 || a.Limit != nil || a.Inactivation != InactivationAcknowledged {
		t.Fatalf("decoded %+v", a)
	}
}

func TestAlarmEncoding(t *testing.T) {
	a, err := DecodeAlarm([]byte(goodAlarm))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(EncodeAlarm(a)); got != goodAlarm {
		t.Errorf("EncodeAlarm =\n%s\nwant\n%s", got, goodAlarm)
	}
	e := Event{ID: "CALL-1", Seq: 2, TsMs: 1732400000000, Kind: EventNurseCall}
	if got, want := string(EncodeEvent(e)), `{"id":"CALL-1","seq":2,"ts":1732400000000,"kind":"nurse_call"}`; got != want {
		t.Errorf("EncodeEvent = %s, want %s", got, want)
	}
}

func TestAlarmRoundTrip(t *testing.T) {
	for _, a := range []Alarm{
		{ID: "a", Seq: math.MaxUint32, TsMs: maxStartMs, Priority: AlarmLow, Source: SourceTechnical,
			Phase: PhaseContinue, State: StateLatched, Text: "ö <&> \u00a0 ✓"},
		{ID: strings.Repeat("~", MaxIDLen), TsMs: minStartMs, Code: MDCEvtHi, Param: MDCECGHeartRate,
			Priority: AlarmMedium, Source: SourcePhysiological, Phase: PhaseDeEscalate, State: StateActive,
			Inactivation: InactivationAudioPaused, Value: ptr(-1e300), Limit: ptr(5e-324),
			Unit: strings.Repeat("µ", MaxUnitLen), Text: strings.Repeat("é", MaxTextLen)},
	} {
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeAlarm(EncodeAlarm(a))
		if err != nil {
			t.Fatalf("%s: %v", EncodeAlarm(a), err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("round trip (-in +out):\n%s", diff)
		}
	}
}

// withMember returns goodAlarm (or another JSON object) with one member set
// to the raw JSON value v, or removed when v is "".
func withMember(t *testing.T, obj, name, v string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &m); err != nil {
		t.Fatal(err)
	}
	if v == "" {
		delete(m, name)
	} else {
		m[name] = json.RawMessage(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAlarmRejects(t *testing.T) {
	cases := map[string]string{
		"missing id":            withMember(t, goodAlarm, "id", ""),
		"empty id":              withMember(t, goodAlarm, "id", `""`),
		"id too long":           withMember(t, goodAlarm, "id", `"`+strings.Repeat("x", MaxIDLen+1)+`"`),
		"id with space":         withMember(t, goodAlarm, "id", `"a b"`),
		"id not ASCII":          withMember(t, goodAlarm, "id", `"ä"`),
		"id number":             withMember(t, goodAlarm, "id", `42`),
		"missing seq":           withMember(t, goodAlarm, "seq", ""),
		"seq negative":          withMember(t, goodAlarm, "seq", `-1`),
		"missing ts":            withMember(t, goodAlarm, "ts", ""),
		"ts seconds":            withMember(t, goodAlarm, "ts", `1732400000`),
		"ts string":             withMember(t, goodAlarm, "ts", `"1732400000000"`),
		"code negative":         withMember(t, goodAlarm, "code", `-1`),
		"code fraction":         withMember(t, goodAlarm, "code", `1.5`),
		"param string":          withMember(t, goodAlarm, "param", `"SpO2"`),
		"bad priority":          withMember(t, goodAlarm, "priority", `"urgent"`),
		"priority upper case":   withMember(t, goodAlarm, "priority", `"HIGH"`),
		"missing priority":      withMember(t, goodAlarm, "priority", ""),
		"bad source":            withMember(t, goodAlarm, "source", `"patient"`),
		"missing source":        withMember(t, goodAlarm, "source", ""),
		"bad phase":             withMember(t, goodAlarm, "phase", `"begin"`),
		"missing phase":         withMember(t, goodAlarm, "phase", ""),
		"bad state":             withMember(t, goodAlarm, "state", `"on"`),
		"missing state":         withMember(t, goodAlarm, "state", ""),
		"start inactive":        withMember(t, goodAlarm, "state", `"inactive"`),
		"start latched":         withMember(t, goodAlarm, "state", `"latched"`),
		"end active":            withMember(t, withMember(t, goodAlarm, "phase", `"end"`), "state", `"active"`),
		"escalate latched":      withMember(t, withMember(t, goodAlarm, "phase", `"escalate"`), "state", `"latched"`),
		"continue inactive":     withMember(t, withMember(t, goodAlarm, "phase", `"continue"`), "state", `"inactive"`),
		"bad inactivation":      withMember(t, goodAlarm, "inactivation", `"silenced"`),
		"value NaN string":      withMember(t, goodAlarm, "value", `"NaN"`),
		"value NaN literal":     strings.Replace(goodAlarm, `"value":134`, `"value":NaN`, 1),
		"value overflows":       withMember(t, goodAlarm, "value", `1e999`),
		"limit overflows":       withMember(t, goodAlarm, "limit", `-1e999`),
		"unit too long":         withMember(t, goodAlarm, "unit", `"`+strings.Repeat("u", MaxUnitLen+1)+`"`),
		"missing text":          withMember(t, goodAlarm, "text", ""),
		"empty text":            withMember(t, goodAlarm, "text", `""`),
		"blank text":            withMember(t, goodAlarm, "text", `"   "`),
		"text too long":         withMember(t, goodAlarm, "text", `"`+strings.Repeat("é", MaxTextLen+1)+`"`),
		"text newline":          withMember(t, goodAlarm, "text", `"SpO2\n84"`),
		"text line separator":   withMember(t, goodAlarm, "text", `"SpO2\u202884"`),
		"text NUL":              withMember(t, goodAlarm, "text", `"SpO2\u0000"`),
		"unknown member":        withMember(t, goodAlarm, "severity", `"medium"`),
		"member case":           strings.Replace(goodAlarm, `"text"`, `"Text"`, 1),
		"member twice":          strings.Replace(goodAlarm, `"priority":"medium"`, `"priority":"low","priority":"medium"`, 1),
		"object value":          withMember(t, goodAlarm, "unit", `{}`),
		"trailing data":         goodAlarm + `{}`,
		"truncated":             goodAlarm[:len(goodAlarm)-1],
		"array":                 `[` + goodAlarm + `]`,
		"null":                  `null`,
		"empty":                 ``,
		"wave frame":            string(EncodeWaveJSON(sampleFrame())),
		"numerics message":      `{"ts":1732400000000,"values":{"HR":{"v":1}}}`,
		"binary":                string(AppendWave(nil, sampleFrame())),
		"version member (none)": withMember(t, goodAlarm, "v", `1`),
	}
	for name, in := range cases {
		_, err := DecodeAlarm([]byte(in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid\n%s", name, err, in)
		}
	}
	// Validate also guards alarms built in Go, where NaN can occur.
	a, _ := DecodeAlarm([]byte(goodAlarm))
	a.Value = ptr(math.NaN())
	if err := a.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate accepted value NaN: %v", err)
	}
	a.Value, a.Limit = nil, ptr(math.Inf(1))
	if err := a.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate accepted limit +Inf: %v", err)
	}
	a.Limit, a.Text = nil, "\xff"
	if err := a.Validate(); err == nil {
		t.Errorf("Validate accepted text that is not UTF-8")
	}
}

func TestAlarmVocabulary(t *testing.T) {
	// Every phase with every state: exactly the documented pairs pass.
	allowed := map[AlarmPhase][]AlarmState{
		PhaseStart: {StateActive}, PhaseEscalate: {StateActive}, PhaseDeEscalate: {StateActive},
		PhaseContinue: {StateActive, StateLatched}, PhaseEnd: {StateInactive, StateLatched},
	}
	a, _ := DecodeAlarm([]byte(goodAlarm))
	for _, p := range []AlarmPhase{PhaseStart, PhaseContinue, PhaseEnd, PhaseEscalate, PhaseDeEscalate} {
		for _, s := range []AlarmState{StateActive, StateLatched, StateInactive} {
			a.Phase, a.State = p, s
			ok := false
			for _, as := range allowed[p] {
				ok = ok || as == s
			}
			if err := a.Validate(); (err == nil) != ok {
				t.Errorf("phase %s state %s: err %v", p, s, err)
			}
		}
	}
	for _, p := range []AlarmPriority{AlarmHigh, AlarmMedium, AlarmLow, AlarmInfo} {
		if !p.Valid() {
			t.Errorf("%s invalid", p)
		}
	}
	for _, i := range []Inactivation{InactivationNone, InactivationAudioPaused, InactivationAudioOff,
		InactivationAlarmPaused, InactivationAlarmOff, InactivationAcknowledged} {
		if !i.Valid() {
			t.Errorf("%q invalid", i)
		}
	}
	if AlarmPriority("").Valid() || AlarmSource("").Valid() || AlarmPhase("").Valid() || AlarmState("").Valid() ||
		Inactivation("paused").Valid() || EventKind("").Valid() {
		t.Error("a value outside the vocabulary is valid")
	}
}

const goodEvent = `{"id":"CALL-0007","seq":12,"ts":1732400000000,"kind":"nurse_call","text":"bathroom"}`

func TestEventDecode(t *testing.T) {
	e, err := DecodeEvent([]byte(goodEvent))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{ID: "CALL-0007", Seq: 12, TsMs: 1732400000000, Kind: EventNurseCall, Text: "bathroom"}
	if e != want {
		t.Fatalf("decoded %+v, want %+v", e, want)
	}
	for _, k := range []EventKind{EventNurseCall, EventNurseCallCancel, EventStaffPresent, EventButton, EventFall} {
		in := Event{ID: "e-1", Seq: 1, TsMs: 1732400000000, Kind: k}
		out, err := DecodeEvent(EncodeEvent(in))
		if err != nil || out != in {
			t.Errorf("%s: round trip %+v, %v", k, out, err)
		}
	}
}

func TestEventRejects(t *testing.T) {
	for name, in := range map[string]string{
		"missing id":     withMember(t, goodEvent, "id", ""),
		"id too long":    withMember(t, goodEvent, "id", `"`+strings.Repeat("x", MaxIDLen+1)+`"`),
		"missing seq":    withMember(t, goodEvent, "seq", ""),
		"seq fraction":   withMember(t, goodEvent, "seq", `1.5`),
		"missing ts":     withMember(t, goodEvent, "ts", ""),
		"ts 1999":        withMember(t, goodEvent, "ts", `946684799999`),
		"ts 2200":        withMember(t, goodEvent, "ts", `7258118400001`),
		"missing kind":   withMember(t, goodEvent, "kind", ""),
		"unknown kind":   withMember(t, goodEvent, "kind", `"code_blue"`),
		"kind case":      withMember(t, goodEvent, "kind", `"Nurse_Call"`),
		"text too long":  withMember(t, goodEvent, "text", `"`+strings.Repeat("x", MaxTextLen+1)+`"`),
		"text tab":       withMember(t, goodEvent, "text", `"a\tb"`),
		"unknown member": withMember(t, goodEvent, "bed", `"07"`),
		"member case":    strings.Replace(goodEvent, `"kind"`, `"KIND"`, 1),
		"member twice":   strings.Replace(goodEvent, `"seq":12`, `"seq":12,"seq":13`, 1),
		"trailing data":  goodEvent + ` 1`,
		"not an object":  `"nurse_call"`,
		"an alarm":       goodAlarm,
	} {
		_, err := DecodeEvent([]byte(in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid\n%s", name, err, in)
		}
	}
}
