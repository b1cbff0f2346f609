package hl7feed

import (
	"strconv"
	"strings"

	"github.com/vigil-station/vigil/monitor/feed"
)

// An observation's code (OBX-3) names its parameter in one of three ways,
// tried in this order:
//
//	coding system MDC (or none) and a decimal code   150456^MDC_PULS_OXIM_SAT_O2^MDC
//	the partition-term notation of 11073, in hex     0002-4BB8^SpO2^99VENDOR  (2<<16 + 0x4BB8 = 150456)
//	a common local or LOINC code, or the REFID text  2708-6^Oxygen saturation^LN, SPO2^SpO2^L
//
// A code the tables below do not know is kept as it is when it is an MDC
// code (the station shows it among the bed's other values); a local code
// nobody knows has no MDC code, and the message is accepted without it,
// the code counted and logged.

// Param is a parameter Vigil knows: its MDC code and how a nurse reads it.
type Param struct {
	Code  uint32
	Label string // "HR", "SpO2", "NIBP sys"
	Unit  string // the unit the feed carries it in (UCUM)
}

// params are the numerics Vigil knows by name (clinical-reference.md §3
// and the feed's codes).
var params = []Param{
	{feed.MDCECGHeartRate, "HR", "/min"},
	{feed.MDCSpO2, "SpO2", "%"},
	{feed.MDCPulseRate, "Pulse (SpO2)", "/min"},
	{149538, "Pulse (pleth)", "/min"},
	{feed.MDCNIBPSys, "NIBP sys", "mm[Hg]"},
	{feed.MDCNIBPDia, "NIBP dia", "mm[Hg]"},
	{feed.MDCNIBPMean, "NIBP mean", "mm[Hg]"},
	{150301, "NIBP sys", "mm[Hg]"}, // MDC_PRESS_CUFF_SYS
	{150302, "NIBP dia", "mm[Hg]"},
	{150303, "NIBP mean", "mm[Hg]"},
	{feed.MDCABPSys, "ABP sys", "mm[Hg]"},
	{feed.MDCABPDia, "ABP dia", "mm[Hg]"},
	{feed.MDCABPMean, "ABP mean", "mm[Hg]"},
	{feed.MDCPAPSys, "PAP sys", "mm[Hg]"},
	{feed.MDCPAPDia, "PAP dia", "mm[Hg]"},
	{feed.MDCPAPMean, "PAP mean", "mm[Hg]"},
	{feed.MDCCVPMean, "CVP", "mm[Hg]"},
	{feed.MDCICPMean, "ICP", "mm[Hg]"},
	{feed.MDCTemp, "Temp", "Cel"},
	{feed.MDCRespRate, "RR", "/min"},
	{feed.MDCCO2RespRate, "awRR", "/min"},
	{feed.MDCEtCO2, "etCO2", "mm[Hg]"},
}

// cuffCodes are MDC_PRESS_CUFF_*, which the feed carries as the NIBP codes.
var cuffCodes = map[uint32]uint32{150301: feed.MDCNIBPSys, 150302: feed.MDCNIBPDia, 150303: feed.MDCNIBPMean}

// localCodes are codes other than MDC that bedside systems commonly send,
// by coding system: LOINC, and the short local names of gateways ("L",
// "99…" systems), matched without regard to case. The REFID names (the
// text of an MDC code, in OBX-3.2) are matched too, whatever the system.
var localCodes = map[string]uint32{
	// LOINC
	"8867-4":  feed.MDCECGHeartRate, // heart rate
	"76282-3": feed.MDCECGHeartRate, // heart rate, ECG
	"2708-6":  feed.MDCSpO2,         // oxygen saturation in arterial blood
	"59408-5": feed.MDCSpO2,         // by pulse oximetry
	"8889-8":  feed.MDCPulseRate,    // heart rate by pulse oximetry
	"9279-1":  feed.MDCRespRate,     // respiratory rate
	"8310-5":  feed.MDCTemp,         // body temperature
	"8480-6":  feed.MDCNIBPSys,      // systolic blood pressure
	"8462-4":  feed.MDCNIBPDia,      // diastolic blood pressure
	"8478-0":  feed.MDCNIBPMean,     // mean blood pressure
	"76534-7": feed.MDCNIBPSys,      // systolic, by noninvasive
	"76535-4": feed.MDCNIBPDia,      // diastolic, by noninvasive
	"76536-2": feed.MDCNIBPMean,     // mean, by noninvasive
	"19889-5": feed.MDCEtCO2,        // end tidal CO2
	// short local names
	"hr": feed.MDCECGHeartRate, "spo2": feed.MDCSpO2, "pr": feed.MDCPulseRate, "pulse": feed.MDCPulseRate,
	"rr": feed.MDCRespRate, "resp": feed.MDCRespRate, "temp": feed.MDCTemp,
	"nbp-s": feed.MDCNIBPSys, "nbp-d": feed.MDCNIBPDia, "nbp-m": feed.MDCNIBPMean,
	"nibp_sys": feed.MDCNIBPSys, "nibp_dia": feed.MDCNIBPDia, "nibp_mean": feed.MDCNIBPMean,
	"abp-s": feed.MDCABPSys, "abp-d": feed.MDCABPDia, "abp-m": feed.MDCABPMean,
	"etco2": feed.MDCEtCO2,
	// REFIDs
	"mdc_ecg_heart_rate": feed.MDCECGHeartRate, "mdc_puls_oxim_sat_o2": feed.MDCSpO2,
	"mdc_puls_oxim_puls_rate": feed.MDCPulseRate, "mdc_pleth_puls_rate": 149538,
	"mdc_press_bld_noninv_sys": feed.MDCNIBPSys, "mdc_press_bld_noninv_dia": feed.MDCNIBPDia,
	"mdc_press_bld_noninv_mean": feed.MDCNIBPMean,
	"mdc_press_cuff_sys":        feed.MDCNIBPSys, "mdc_press_cuff_dia": feed.MDCNIBPDia, "mdc_press_cuff_mean": feed.MDCNIBPMean,
	"mdc_press_bld_art_sys": feed.MDCABPSys, "mdc_press_bld_art_dia": feed.MDCABPDia, "mdc_press_bld_art_mean": feed.MDCABPMean,
	"mdc_temp": feed.MDCTemp, "mdc_temp_body": feed.MDCTemp, "mdc_resp_rate": feed.MDCRespRate,
	"mdc_co2_resp_rate": feed.MDCCO2RespRate, "mdc_aw_co2_et": feed.MDCEtCO2, "mdc_away_co2_et": feed.MDCEtCO2,
}

// Lookup finds the MDC code of an observation code (OBX-3: identifier,
// text, coding system) and whether Vigil knows the parameter by name. ok
// is false when the code names no MDC code at all.
func Lookup(id, text, system string) (code uint32, known, ok bool) {
	sys := strings.ToUpper(strings.TrimSpace(system))
	id = strings.TrimSpace(id)
	switch {
	case (sys == "MDC" || sys == "") && isDecimal(id):
		n, err := strconv.ParseUint(id, 10, 32)
		if err == nil && n > 0 {
			code, ok = uint32(n), true
		}
	case partitionTerm(id) != 0:
		code, ok = partitionTerm(id), true
	default:
		code, ok = localCodes[strings.ToLower(id)]
	}
	if !ok {
		// A REFID in the text, whatever the identifier says.
		if c, found := localCodes[strings.ToLower(strings.TrimSpace(text))]; found {
			code, ok = c, true
		}
	}
	if c, cuff := cuffCodes[code]; cuff {
		code = c
	}
	_, known = ParamByCode(code)
	return code, known, ok
}

// ParamByCode finds a parameter Vigil knows.
func ParamByCode(code uint32) (Param, bool) {
	for _, p := range params {
		if p.Code == code {
			return p, true
		}
	}
	return Param{}, false
}

// partitionTerm reads 11073's "PPPP-TTTT" hex notation (partition, term
// code): 0002-4182 is 2<<16 + 0x4182 = 147842. 0 when id is not one.
func partitionTerm(id string) uint32 {
	p, t, found := strings.Cut(id, "-")
	if !found || len(p) != 4 || len(t) != 4 {
		return 0
	}
	pv, err1 := strconv.ParseUint(p, 16, 16)
	tv, err2 := strconv.ParseUint(t, 16, 16)
	if err1 != nil || err2 != nil || pv == 0 && tv == 0 {
		return 0
	}
	return uint32(pv)<<16 | uint32(tv)
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Unit conversion: the feed carries each known parameter in one unit.
// OBX-6 names the unit by MDC code (264864), UCUM ("/min") or text.
type unitConv struct {
	to    string // the feed's unit
	scale func(float64) float64
}

var (
	celsius = unitConv{"Cel", nil}
	fahr    = unitConv{"Cel", func(f float64) float64 { return (f - 32) * 5 / 9 }}
	mmHg    = unitConv{"mm[Hg]", nil}
	kPa     = unitConv{"mm[Hg]", func(k float64) float64 { return k * 7.50062 }}
	perMin  = unitConv{"/min", nil}
	percent = unitConv{"%", nil}
	units   = map[string]unitConv{
		"268192": celsius, "cel": celsius, "°c": celsius, "degc": celsius, "mdc_dim_degc": celsius,
		"266560": fahr, "[degf]": fahr, "°f": fahr, "degf": fahr, "mdc_dim_fahr": fahr,
		"266016": mmHg, "mm[hg]": mmHg, "mmhg": mmHg, "mdc_dim_mmhg": mmHg,
		"265987": kPa, "kpa": kPa, "mdc_dim_kilo_pascal": kPa,
		"264864": perMin, "264896": perMin, "264928": perMin, "/min": perMin, "bpm": perMin,
		"{beats}/min": perMin, "{breaths}/min": perMin, "mdc_dim_beat_per_min": perMin,
		"mdc_dim_resp_per_min": perMin, "mdc_dim_pulse_per_min": perMin,
		"262688": percent, "%": percent, "mdc_dim_percent": percent,
	}
)

// convert brings a value of a known parameter into the feed's unit. ok
// is false when the unit is one Vigil cannot convert (the value is then
// refused: a temperature in an unknown unit must not be shown as °C).
func convert(p Param, v float64, unitID, unitText string) (float64, string, bool) {
	for _, u := range []string{unitID, unitText} {
		u = strings.ToLower(strings.TrimSpace(u))
		if u == "" {
			continue
		}
		c, found := units[u]
		if !found {
			continue
		}
		if c.to != p.Unit {
			return 0, "", false
		}
		if c.scale != nil {
			v = c.scale(v)
		}
		return v, p.Unit, true
	}
	if strings.TrimSpace(unitID) == "" && strings.TrimSpace(unitText) == "" {
		return v, p.Unit, true // no unit given: the parameter's own
	}
	return 0, "", false
}
