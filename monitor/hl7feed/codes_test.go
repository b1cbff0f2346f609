package hl7feed

import (
	"math"
	"testing"

	"github.com/vigil-station/vigil/monitor/feed"
)

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		id, text, sys string
		code          uint32
		known, ok     bool
	}{
		{"150456", "MDC_PULS_OXIM_SAT_O2", "MDC", feed.MDCSpO2, true, true},
		{"147842", "", "", feed.MDCECGHeartRate, true, true},
		{"0002-4182", "HR", "99VENDOR", feed.MDCECGHeartRate, true, true}, // 2<<16 + 0x4182
		{"0002-4BB8", "SpO2", "99VENDOR", feed.MDCSpO2, true, true},
		{"150301", "MDC_PRESS_CUFF_SYS", "MDC", feed.MDCNIBPSys, true, true}, // the cuff codes are NIBP
		{"8867-4", "Heart rate", "LN", feed.MDCECGHeartRate, true, true},
		{"2708-6", "Oxygen saturation", "LN", feed.MDCSpO2, true, true},
		{"76534-7", "Systolic blood pressure by Noninvasive", "LN", feed.MDCNIBPSys, true, true},
		{"NBP-S", "NBP systolic", "L", feed.MDCNIBPSys, true, true},
		{"X17", "MDC_RESP_RATE", "99LOCAL", feed.MDCRespRate, true, true}, // known by its REFID text
		{"153700", "MDC_SOMETHING_NEW", "MDC", 153700, false, true},       // an MDC code Vigil does not know: kept
		{"ZZ9", "a local code", "99LOCAL", 0, false, false},               // nothing to go on
		{"abc", "", "MDC", 0, false, false},
		{"0000-0000", "", "99X", 0, false, false},
		{"99999999999", "", "MDC", 0, false, false}, // too large for a code
	} {
		code, known, ok := Lookup(c.id, c.text, c.sys)
		if code != c.code || known != c.known || ok != c.ok {
			t.Errorf("Lookup(%q, %q, %q) = %d %v %v, want %d %v %v", c.id, c.text, c.sys, code, known, ok, c.code, c.known, c.ok)
		}
	}
}

func TestConvert(t *testing.T) {
	temp, _ := ParamByCode(feed.MDCTemp)
	nibp, _ := ParamByCode(feed.MDCNIBPSys)
	hr, _ := ParamByCode(feed.MDCECGHeartRate)
	for _, c := range []struct {
		p        Param
		v        float64
		id, text string
		want     float64
		ok       bool
	}{
		{temp, 37.2, "268192", "MDC_DIM_DEGC", 37.2, true},
		{temp, 98.6, "266560", "MDC_DIM_FAHR", 37, true},
		{temp, 98.6, "", "[degF]", 37, true},
		{nibp, 16, "265987", "MDC_DIM_KILO_PASCAL", 120.01, true},
		{nibp, 16, "265987", "", 120.01, true}, // the code alone
		{nibp, 120, "", "mm[Hg]", 120, true},
		{hr, 72, "264864", "MDC_DIM_BEAT_PER_MIN", 72, true},
		{hr, 72, "", "", 72, true},         // no unit: the parameter's own
		{temp, 37, "266016", "", 0, false}, // a pressure unit on a temperature
		{temp, 37, "", "kelvin?", 0, false},
	} {
		v, unit, ok := convert(c.p, c.v, c.id, c.text)
		if ok != c.ok || ok && (math.Abs(v-c.want) > 0.01 || unit != c.p.Unit) {
			t.Errorf("convert(%s, %v %q %q) = %v %q %v, want %v %v", c.p.Label, c.v, c.id, c.text, v, unit, ok, c.want, c.ok)
		}
	}
}
