package feed

import (
	"strconv"
	"strings"
)

// ISO/IEEE 11073 MDC codes used on the feed (clinical-reference.md §3).
const (
	MDCECGHeartRate  uint32 = 147842 // MDC_ECG_HEART_RATE
	MDCSpO2          uint32 = 150456 // MDC_PULS_OXIM_SAT_O2
	MDCPulseRate     uint32 = 149530 // MDC_PULS_OXIM_PULS_RATE
	MDCNIBPSys       uint32 = 150021 // MDC_PRESS_BLD_NONINV_SYS
	MDCNIBPDia       uint32 = 150022 // MDC_PRESS_BLD_NONINV_DIA
	MDCNIBPMean      uint32 = 150023 // MDC_PRESS_BLD_NONINV_MEAN
	MDCABPSys        uint32 = 150033 // MDC_PRESS_BLD_ART_SYS
	MDCABPDia        uint32 = 150034 // MDC_PRESS_BLD_ART_DIA
	MDCABPMean       uint32 = 150035 // MDC_PRESS_BLD_ART_MEAN
	MDCTemp          uint32 = 150344 // MDC_TEMP
	MDCRespRate      uint32 = 151562 // MDC_RESP_RATE
	MDCCO2RespRate   uint32 = 151594 // MDC_CO2_RESP_RATE
	MDCEtCO2         uint32 = 151712 // MDC_AWAY_CO2_ET
	MDCECGLeadI      uint32 = 131329 // MDC_ECG_ELEC_POTL_I (waveform)
	MDCECGLeadII     uint32 = 131330 // MDC_ECG_ELEC_POTL_II (waveform)
	MDCPleth         uint32 = 150452 // MDC_PULS_OXIM_PLETH (waveform)
	MDCRespImpedance uint32 = 151780 // MDC_IMPED_TTHOR (respiration waveform)
)

// aliases are the short names a device may use instead of a numeric MDC code
// in a numerics message. Matching is case-insensitive.
var aliases = map[string]uint32{
	"hr":        MDCECGHeartRate,
	"spo2":      MDCSpO2,
	"pr":        MDCPulseRate,
	"pulse":     MDCPulseRate,
	"rr":        MDCRespRate,
	"resp":      MDCRespRate,
	"temp":      MDCTemp,
	"nibp_sys":  MDCNIBPSys,
	"nibp_dia":  MDCNIBPDia,
	"nibp_mean": MDCNIBPMean,
	"abp_sys":   MDCABPSys,
	"abp_dia":   MDCABPDia,
	"abp_mean":  MDCABPMean,
	"etco2":     MDCEtCO2,
	"awrr":      MDCCO2RespRate,
}

// ParseCode reads a parameter key from a numerics message: a decimal MDC code
// or one of the short aliases (HR, SpO2, PR, RR, TEMP, NIBP_SYS, ...).
func ParseCode(key string) (uint32, bool) {
	if c, ok := aliases[strings.ToLower(key)]; ok {
		return c, true
	}
	n, err := strconv.ParseUint(key, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}
