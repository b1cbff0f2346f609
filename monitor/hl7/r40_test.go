package hl7

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func spo2Alarm() Alarm {
	v := 82.0
	return Alarm{
		ControlID:         "VIG-000017",
		ID:                "SPO2-LO-0042",
		SendingApp:        "VIGIL",
		SendingFacility:   "NORTHGATE_7W",
		ReceivingApp:      "PAGER|GW",
		ReceivingFacility: "NORTHGATE",
		PatientID:         "NG0077341",
		PatientFamily:     "Okafor",
		PatientGiven:      "Adaeze",
		PointOfCare:       "7W",
		Room:              "712",
		Bed:               "B",
		Event:             Coded{"196652", "MDC_EVT_LO", "MDC"},
		Param:             Coded{"150456", "MDC_PULS_OXIM_SAT_O2", "MDC"},
		Value:             &v,
		Unit:              Coded{"262688", "MDC_DIM_PERCENT", "MDC"},
		Limits:            "85-100",
		Priority:          PriorityHigh,
		Source:            SourcePhysiological,
		Phase:             PhaseStart,
		State:             StateActive,
		Inactivation:      InactivationAudioPaused,
		Text:              "SpO2 82 < 85 | check probe ^ & ~ \\ now\nbed 712-B",
		Time:              time.Date(2025, 3, 14, 10, 26, 2, 500e6, time.FixedZone("", 3600)),
		DeviceID:          "0012345678ABCDEF",
		SourcePath:        "1.2.1.1",
	}
}

func TestBuildR40(t *testing.T) {
	a := spo2Alarm()
	out, err := BuildR40(a)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(out)
	if err != nil {
		t.Fatalf("own R40 does not parse: %v\n%q", err, out)
	}
	if m.Delims != DefaultDelimiters {
		t.Errorf("delimiters %+v", m.Delims)
	}
	names := make([]string, len(m.Segments))
	for i, s := range m.Segments {
		names[i] = s.Name
	}
	if got := strings.Join(names, " "); got != "MSH PID PV1 OBR OBX OBX OBX OBX OBX OBX OBX" {
		t.Errorf("segments %s", got)
	}
	const when = "20250314102602.500+0100"
	const eq = "0012345678ABCDEF"
	checks := []struct{ path, want string }{
		{"MSH-3", "VIGIL"},
		{"MSH-4", "NORTHGATE_7W"},
		{"MSH-5", "PAGER|GW"},
		{"MSH-6", "NORTHGATE"},
		{"MSH-7", when},
		{"MSH-9.1", "ORU"}, {"MSH-9.2", "R40"}, {"MSH-9.3", "ORU_R40"},
		{"MSH-10", "VIG-000017"},
		{"MSH-11", "P"},
		{"MSH-12", "2.6"},
		{"MSH-15", "AL"},
		{"MSH-16", "NE"},
		{"MSH-18", "UNICODE UTF-8"},
		{"MSH-21.1", "IHE_PCD_ACM_001"}, {"MSH-21.2", "IHE PCD"}, {"MSH-21.3", "1.3.6.1.4.1.19376.1.6.4.4"}, {"MSH-21.4", "ISO"},
		{"PID-3.1", "NG0077341"}, {"PID-3.5", "PI"},
		{"PID-5.1", "Okafor"}, {"PID-5.2", "Adaeze"}, {"PID-5.7", "L"},
		{"PV1-2", "I"}, {"PV1-3.1", "7W"}, {"PV1-3.2", "712"}, {"PV1-3.3", "B"},
		{"OBR-1", "1"},
		{"OBR-3.1", "SPO2-LO-0042"}, {"OBR-3.2", "VIGIL"},
		{"OBR-4.1", "196616"}, {"OBR-4.2", "MDC_EVT_ALARM"}, {"OBR-4.3", "MDC"},
		{"OBR-7", when},
		// Facet 1: event identification.
		{"OBX(1)-1", "1"}, {"OBX(1)-2", "ST"},
		{"OBX(1)-3.1", "196652"}, {"OBX(1)-3.2", "MDC_EVT_LO"}, {"OBX(1)-3.3", "MDC"},
		{"OBX(1)-4", "1.2.1.1.1"},
		{"OBX(1)-5", a.Text},
		{"OBX(1)-8(1)", "PH"}, {"OBX(1)-8(2)", "SP"},
		{"OBX(1)-11", "F"},
		{"OBX(1)-14", when},
		{"OBX(1)-18.1", eq}, {"OBX(1)-18.3", eq}, {"OBX(1)-18.4", "EUI-64"},
		// Facet 2: source identification with the measurement.
		{"OBX(2)-1", "2"}, {"OBX(2)-2", "NM"},
		{"OBX(2)-3.1", "150456"}, {"OBX(2)-3.2", "MDC_PULS_OXIM_SAT_O2"}, {"OBX(2)-3.3", "MDC"},
		{"OBX(2)-4", "1.2.1.1.2"},
		{"OBX(2)-5", "82"},
		{"OBX(2)-6.1", "262688"}, {"OBX(2)-6.2", "MDC_DIM_PERCENT"}, {"OBX(2)-6.3", "MDC"},
		{"OBX(2)-7", "85-100"},
		{"OBX(2)-8", ""},
		{"OBX(2)-11", "F"},
		// Facets 3 to 7.
		{"OBX(3)-3.1", "68481"}, {"OBX(3)-3.2", "MDC_ATTR_EVENT_PHASE"}, {"OBX(3)-4", "1.2.1.1.3"}, {"OBX(3)-5", "start"},
		{"OBX(4)-3.1", "68482"}, {"OBX(4)-3.2", "MDC_ATTR_ALARM_STATE"}, {"OBX(4)-4", "1.2.1.1.4"}, {"OBX(4)-5", "active"},
		{"OBX(5)-3.1", "68483"}, {"OBX(5)-3.2", "MDC_ATTR_ALARM_INACTIVATION_STATE"}, {"OBX(5)-4", "1.2.1.1.5"}, {"OBX(5)-5", "audio-paused"},
		{"OBX(6)-3.1", "68484"}, {"OBX(6)-3.2", "MDC_ATTR_ALARM_PRIORITY"}, {"OBX(6)-4", "1.2.1.1.6"}, {"OBX(6)-5", "PH"},
		{"OBX(7)-3.1", "68485"}, {"OBX(7)-3.2", "MDC_ATTR_ALERT_TYPE"}, {"OBX(7)-4", "1.2.1.1.7"}, {"OBX(7)-5", "SP"},
	}
	for _, c := range checks {
		got, err := m.Get(c.path)
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
	for i := 1; i <= 7; i++ {
		s := m.Segment("OBX", i)
		if s.Field(1) != string(rune('0'+i)) || s.Field(11) != "F" || s.Field(18) != eq {
			t.Errorf("OBX %d: set ID %q status %q equipment %q", i, s.Field(1), s.Field(11), s.Field(18))
		}
		if i > 2 && s.Field(2) != "ST" {
			t.Errorf("OBX %d: value type %q", i, s.Field(2))
		}
		if i != 1 && s.Raw(8) != "" {
			t.Errorf("OBX %d repeats OBX-8 %q", i, s.Raw(8))
		}
	}
	// Free text is escaped, never raw.
	if !strings.Contains(string(out), `SpO2 82 < 85 \F\ check probe \S\ \T\ \R\ \E\ now\.br\bed 712-B`) {
		t.Errorf("text not escaped: %q", out)
	}
	if strings.ContainsAny(string(out), "\n\x0b\x1c") {
		t.Errorf("control characters in %q", out)
	}
	// It is a complete ER7 message that frames cleanly.
	var buf strings.Builder
	if err := WriteMessage(&buf, out); err != nil {
		t.Error(err)
	}
}

func TestBuildR40Variants(t *testing.T) {
	// A technical alarm without a measurement: the source facet names the parameter.
	a := spo2Alarm()
	a.Value, a.Unit, a.Limits = nil, Coded{}, ""
	a.Event = Coded{"196660", "MDC_EVT_INOP", "MDC"}
	a.Priority, a.Source, a.Phase, a.State, a.Inactivation = PriorityLow, SourceTechnical, PhaseEnd, StateLatched, ""
	a.DeviceID, a.SourcePath = "", ""
	a.PatientID, a.PatientFamily, a.PatientGiven = "", "", ""
	a.SendingApp = ""
	out, err := BuildR40(a)
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, string(out))
	for _, c := range []struct{ path, want string }{
		{"MSH-3", DefaultApplication}, {"OBR-3.2", DefaultApplication},
		{"PID-3", ""}, {"PID-5", ""},
		{"OBX(1)-4", "1.0.0.0.1"}, {"OBX(1)-8(1)", "PL"}, {"OBX(1)-8(2)", "ST"}, {"OBX(1)-18", ""},
		{"OBX(2)-2", "CWE"}, {"OBX(2)-3.1", "68480"}, {"OBX(2)-3.2", "MDC_ATTR_ALERT_SOURCE"}, {"OBX(2)-4", "1.0.0.0.2"},
		{"OBX(2)-5.1", "150456"}, {"OBX(2)-5.2", "MDC_PULS_OXIM_SAT_O2"}, {"OBX(2)-5.3", "MDC"}, {"OBX(2)-6", ""},
		{"OBX(3)-5", "end"}, {"OBX(4)-5", "latched"}, {"OBX(5)-5", "enabled"}, {"OBX(6)-5", "PL"}, {"OBX(7)-5", "ST"},
	} {
		if got, _ := m.Get(c.path); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
	if pid := m.Segment("PID", 1); pid == nil || pid.NumFields() != 0 {
		t.Errorf("PID should be present and empty: %v", pid)
	}

	// No parameter at all: no source facet, the facets keep their numbers.
	a.Param = Coded{}
	out, err = BuildR40(a)
	if err != nil {
		t.Fatal(err)
	}
	m = mustParse(t, string(out))
	if n := len(m.Segments); n != 10 {
		t.Errorf("%d segments, want 10", n)
	}
	if v, _ := m.Get("OBX(2)-4"); v != "1.0.0.0.3" {
		t.Errorf("second OBX sub-ID %q", v)
	}
	if v, _ := m.Get("OBX(2)-1"); v != "2" {
		t.Errorf("second OBX set ID %q", v)
	}

	// Negative and fractional values are written as plain NM.
	b := spo2Alarm()
	for _, v := range []float64{-0.5, 37.25, 1e21, 0} {
		b.Value = &v
		out, err := BuildR40(b)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := mustParse(t, string(out)).Get("OBX(2)-5")
		if n, err := parseNM(got); err != nil || n != v {
			t.Errorf("value %v written as %q", v, got)
		}
	}
}

func TestBuildR40Invalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		change func(*Alarm)
	}{
		{"no control ID", func(a *Alarm) { a.ControlID = "" }},
		{"long control ID", func(a *Alarm) { a.ControlID = strings.Repeat("x", 200) }},
		{"no alarm ID", func(a *Alarm) { a.ID = "" }},
		{"long alarm ID", func(a *Alarm) { a.ID = strings.Repeat("x", 200) }},
		{"no event code", func(a *Alarm) { a.Event.Code = "" }},
		{"no text", func(a *Alarm) { a.Text = "" }},
		{"long text", func(a *Alarm) { a.Text = strings.Repeat("x", 1025) }},
		{"no time", func(a *Alarm) { a.Time = time.Time{} }},
		{"time out of range", func(a *Alarm) { a.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"NaN value", func(a *Alarm) { a.Value = &nan }},
		{"infinite value", func(a *Alarm) { a.Value = &inf }},
		{"value without parameter", func(a *Alarm) { a.Param = Coded{} }},
		{"priority", func(a *Alarm) { a.Priority = "high" }},
		{"no priority", func(a *Alarm) { a.Priority = "" }},
		{"source", func(a *Alarm) { a.Source = "physiological" }},
		{"phase", func(a *Alarm) { a.Phase = "begin" }},
		{"state", func(a *Alarm) { a.State = "" }},
		{"inactivation", func(a *Alarm) { a.Inactivation = "muted" }},
		{"source path parts", func(a *Alarm) { a.SourcePath = "1.2.3" }},
		{"source path letters", func(a *Alarm) { a.SourcePath = "1.2.a.4" }},
		{"source path empty part", func(a *Alarm) { a.SourcePath = "1..2.3" }},
	}
	for _, tc := range tests {
		a := spo2Alarm()
		tc.change(&a)
		out, err := BuildR40(a)
		if !errors.Is(err, ErrAlarm) || out != nil {
			t.Errorf("%s: %v, %q", tc.name, err, out)
		}
	}
}
