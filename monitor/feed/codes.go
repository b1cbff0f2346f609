package feed

import (
	"strconv"
	"strings"
)

// ISO/IEEE 11073 MDC codes used on the feed (clinical-reference.md §3).
const (
	MDCECGHeartRate uint32 = 147842 // MDC_ECG_HEART_RATE
	MDCSpO2         uint32 = 150456 // MDC_PULS_OXIM_SAT_O2
	MDCPulseRate    uint32 = 149530 // MDC_PULS_OXIM_PULS_RATE
	MDCNIBPSys      uint32 = 150021 // MDC_PRESS_BLD_NONINV_SYS
	MDCNIBPDia      uint32 = 150022 // MDC_PRESS_BLD_NONINV_DIA
	MDCNIBPMean     uint32 = 150023 // MDC_PRESS_BLD_NONINV_MEAN
	MDCABPSys       uint32 = 150033 // MDC_PRESS_BLD_ART_SYS
	MDCABPDia       uint32 = 150034 // MDC_PRESS_BLD_ART_DIA
	MDCABPMean      uint32 = 150035 // MDC_PRESS_BLD_ART_MEAN
	MDCTemp         uint32 = 150344 // MDC_TEMP
	MDCRespRate     uint32 = 151562 // MDC_RESP_RATE
	MDCCO2RespRate  uint32 = 151594 // MDC_CO2_RESP_RATE
	MDCEtCO2        uint32 = 151712 // MDC_AWAY_CO2_ET
	MDCPAPSys       uint32 = 150045 // MDC_PRESS_BLD_ART_PULM_SYS
	MDCPAPDia       uint32 = 150046 // MDC_PRESS_BLD_ART_PULM_DIA
	MDCPAPMean      uint32 = 150047 // MDC_PRESS_BLD_ART_PULM_MEAN
	MDCCVPMean      uint32 = 150087 // MDC_PRESS_BLD_VEN_CENT_MEAN
	MDCICPMean      uint32 = 153611 // MDC_PRESS_INTRA_CRAN_MEAN
)

// Waveform channel codes.
const (
	MDCECGLeadI      uint32 = 131329 // MDC_ECG_ELEC_POTL_I
	MDCECGLeadII     uint32 = 131330 // MDC_ECG_ELEC_POTL_II
	MDCECGLeadV1     uint32 = 131331 // MDC_ECG_ELEC_POTL_V1 (V2..V6 follow: 131332..131336)
	MDCECGLeadV2     uint32 = 131332
	MDCECGLeadV3     uint32 = 131333
	MDCECGLeadV4     uint32 = 131334
	MDCECGLeadV5     uint32 = 131335
	MDCECGLeadV6     uint32 = 131336
	MDCECGLeadIII    uint32 = 131389 // MDC_ECG_ELEC_POTL_III
	MDCECGLeadAVR    uint32 = 131390 // MDC_ECG_ELEC_POTL_AVR
	MDCECGLeadAVL    uint32 = 131391 // MDC_ECG_ELEC_POTL_AVL
	MDCECGLeadAVF    uint32 = 131392 // MDC_ECG_ELEC_POTL_AVF
	MDCPleth         uint32 = 150452 // MDC_PULS_OXIM_PLETH
	MDCPressArt      uint32 = 150032 // MDC_PRESS_BLD_ART (arterial pressure waveform, ABP)
	MDCPressPulm     uint32 = 150044 // MDC_PRESS_BLD_ART_PULM (pulmonary artery, PAP)
	MDCPressCVP      uint32 = 150084 // MDC_PRESS_BLD_VEN_CENT (central venous, CVP)
	MDCPressICP      uint32 = 153608 // MDC_PRESS_INTRA_CRAN (intracranial, ICP)
	MDCRespImpedance uint32 = 151780 // MDC_IMPED_TTHOR (respiration waveform)
	MDCAwayCO2       uint32 = 151708 // MDC_AWAY_CO2 (capnogram waveform)
)

// IsECG reports whether code is an ECG lead waveform.
func IsECG(code uint32) bool {
	return (code >= MDCECGLeadI && code <= MDCECGLeadV6) || (code >= MDCECGLeadIII && code <= MDCECGLeadAVF)
}

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
	"pap_sys":   MDCPAPSys,
	"pap_dia":   MDCPAPDia,
	"pap_mean":  MDCPAPMean,
	"cvp":       MDCCVPMean,
	"icp":       MDCICPMean,
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

// waveAliases are the names a JSON waveform frame may give instead of a
// numeric channel code. Matching is case-insensitive.
var waveAliases = map[string]uint32{
	"ecg_i":   MDCECGLeadI,
	"ecg_ii":  MDCECGLeadII,
	"ecg_iii": MDCECGLeadIII,
	"ecg_avr": MDCECGLeadAVR,
	"ecg_avl": MDCECGLeadAVL,
	"ecg_avf": MDCECGLeadAVF,
	"ecg_v1":  MDCECGLeadV1,
	"ecg_v2":  MDCECGLeadV2,
	"ecg_v3":  MDCECGLeadV3,
	"ecg_v4":  MDCECGLeadV4,
	"ecg_v5":  MDCECGLeadV5,
	"ecg_v6":  MDCECGLeadV6,
	"pleth":   MDCPleth,
	"abp":     MDCPressArt,
	"pap":     MDCPressPulm,
	"cvp":     MDCPressCVP,
	"icp":     MDCPressICP,
	"resp":    MDCRespImpedance,
	"co2":     MDCAwayCO2,
}

// waveAlias looks up a waveform alias without allocating.
func waveAlias(name []byte) (uint32, bool) {
	var low [16]byte
	if len(name) > len(low) {
		return 0, false
	}
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	c, ok := waveAliases[string(low[:len(name)])]
	return c, ok
}
