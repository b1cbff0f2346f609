package sim

import (
	"fmt"
	"strings"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Profile selects what each simulated monitor sends: which waveform channels
// at which rates, and which numerics.
type Profile string

// The profiles. ProfileWard is the default.
const (
	// ProfileWard is a general-ward monitor: ECG lead II (250 Hz), pleth
	// (125 Hz) and impedance respiration (62.5 Hz).
	ProfileWard Profile = "ward"
	// ProfileICU is an intensive-care monitor: ECG leads I, II and III
	// (250 Hz), pleth, arterial pressure (ABP, 125 Hz), impedance
	// respiration and the capnogram (62.5 Hz); numerics add ABP, etCO2 and awRR.
	ProfileICU Profile = "icu"
	// ProfileHeavy is the load test: the 12 ECG leads at 500 Hz, pleth, four
	// invasive pressures (ABP, PAP, CVP, ICP, 125 Hz), impedance respiration
	// and the capnogram; numerics add PAP, CVP and ICP.
	ProfileHeavy Profile = "heavy"
)

// Profiles lists the valid profiles, the default first.
func Profiles() []Profile { return []Profile{ProfileWard, ProfileICU, ProfileHeavy} }

// ParseProfile reads a profile name, ignoring case and surrounding spaces;
// the empty string is ProfileWard.
func ParseProfile(s string) (Profile, error) {
	p := Profile(strings.ToLower(strings.TrimSpace(s)))
	if p == "" {
		return ProfileWard, nil
	}
	if _, ok := profiles[p]; !ok {
		return "", fmt.Errorf("sim: unknown profile %q, want %s", s, profileList())
	}
	return p, nil
}

func profileList() string {
	var names []string
	for _, p := range Profiles() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// ChannelInfo describes one waveform channel a profile sends, in frame order.
type ChannelInfo struct {
	Code   uint32  // MDC code (feed.MDC...)
	Name   string  // short label: "II", "V1", "Pleth", "ABP", "CO2", ...
	RateHz float64 // samples per second
	Gain   float32 // ADC units per physical unit, as in the frame
	Unit   string  // physical unit: "mV", "mmHg", "" for normalised or arbitrary
}

// Channels lists the waveform channels of p in frame order; nil for an
// unknown profile.
func (p Profile) Channels() []ChannelInfo {
	spec, ok := profiles[p]
	if !ok {
		return nil
	}
	out := make([]ChannelInfo, len(spec.channels))
	for i, c := range spec.channels {
		out[i] = ChannelInfo{Code: c.code, Name: c.name, RateHz: float64(c.milliHz) / 1000, Gain: c.gain, Unit: c.unit}
	}
	return out
}

// SamplesPerSecond is the number of waveform samples one bed of profile p
// sends per second, all channels together; 0 for an unknown profile.
func (p Profile) SamplesPerSecond() float64 {
	n := 0.0
	for _, c := range p.Channels() {
		n += c.RateHz
	}
	return n
}

// Profile returns the ward's profile.
func (w *Ward) Profile() Profile { return w.profile.name }

// Channels lists the waveform channels every bed of the ward sends, in frame order.
func (w *Ward) Channels() []ChannelInfo { return w.profile.name.Channels() }

// source is the model a channel's samples come from.
type source int8

const (
	srcECG source = iota // one lead of the cardiac model
	srcPleth
	srcABP
	srcPAP
	srcCVP
	srcICP
	srcResp
	srcCO2
)

// chanSpec is one waveform channel of a profile.
type chanSpec struct {
	code    uint32
	name    string
	milliHz int64   // sample rate in mHz, so that frame boundaries are exact integers
	gain    float32 // ADC units per physical unit
	unit    string
	src     source
}

// profileSpec is what a profile sends.
type profileSpec struct {
	name     Profile
	channels []chanSpec
	ecgLeads int  // leading ECG channels, computed together at each instant
	pressure bool // ABP numerics
	heavy    bool // PAP, CVP and ICP numerics
	co2      bool // etCO2 and awRR numerics
}

// Gains: ECG 200 adu/mV (5 µV a step, ±163 mV range); pleth and respiration
// 1000 adu per normalised unit; pressures and CO2 10 adu/mmHg (0.1 mmHg a
// step, ±3276 mmHg range).
const (
	ecgGain      = 200
	plethGain    = 1000
	respGain     = 1000
	pressureGain = 10
	co2Gain      = 10
)

func ecgChan(code uint32, name string, milliHz int64) chanSpec {
	return chanSpec{code, name, milliHz, ecgGain, "mV", srcECG}
}

var (
	plethChan = chanSpec{feed.MDCPleth, "Pleth", 125_000, plethGain, "", srcPleth}
	respChan  = chanSpec{feed.MDCRespImpedance, "Resp", 62_500, respGain, "", srcResp}
	co2Chan   = chanSpec{feed.MDCAwayCO2, "CO2", 62_500, co2Gain, "mmHg", srcCO2}
	abpChan   = chanSpec{feed.MDCPressArt, "ABP", 125_000, pressureGain, "mmHg", srcABP}
	papChan   = chanSpec{feed.MDCPressPulm, "PAP", 125_000, pressureGain, "mmHg", srcPAP}
	cvpChan   = chanSpec{feed.MDCPressCVP, "CVP", 125_000, pressureGain, "mmHg", srcCVP}
	icpChan   = chanSpec{feed.MDCPressICP, "ICP", 125_000, pressureGain, "mmHg", srcICP}
)

// The ECG leads of the icu and heavy profiles, in frame order: limb leads,
// augmented leads, precordial leads (the order of a 12-lead report). The
// model computes I, II and V1–V6 and derives the others as a monitor does
// (Einthoven and Goldberger): III = II − I, aVR = −(I + II)/2,
// aVL = I − II/2, aVF = II − I/2.
var twelveLeads = [12]struct {
	code uint32
	name string
}{
	{feed.MDCECGLeadI, "I"}, {feed.MDCECGLeadII, "II"}, {feed.MDCECGLeadIII, "III"},
	{feed.MDCECGLeadAVR, "aVR"}, {feed.MDCECGLeadAVL, "aVL"}, {feed.MDCECGLeadAVF, "aVF"},
	{feed.MDCECGLeadV1, "V1"}, {feed.MDCECGLeadV2, "V2"}, {feed.MDCECGLeadV3, "V3"},
	{feed.MDCECGLeadV4, "V4"}, {feed.MDCECGLeadV5, "V5"}, {feed.MDCECGLeadV6, "V6"},
}

func leads(n int, milliHz int64) []chanSpec {
	out := make([]chanSpec, n)
	for i := range out {
		out[i] = ecgChan(twelveLeads[i].code, twelveLeads[i].name, milliHz)
	}
	return out
}

var profiles = map[Profile]*profileSpec{
	ProfileWard: {
		name:     ProfileWard,
		channels: []chanSpec{ecgChan(feed.MDCECGLeadII, "II", 250_000), plethChan, respChan},
		ecgLeads: 1,
	},
	ProfileICU: {
		name:     ProfileICU,
		channels: append(leads(3, 250_000), plethChan, abpChan, respChan, co2Chan),
		ecgLeads: 3,
		pressure: true,
		co2:      true,
	},
	ProfileHeavy: {
		name:     ProfileHeavy,
		channels: append(leads(12, 500_000), plethChan, abpChan, papChan, cvpChan, icpChan, respChan, co2Chan),
		ecgLeads: 12,
		pressure: true,
		heavy:    true,
		co2:      true,
	},
}

// leadCodes are the ECG channel codes of the profile, as a status lists them
// when the leads are off.
func (s *profileSpec) leadCodes() []uint32 {
	out := make([]uint32, s.ecgLeads)
	for i := range out {
		out[i] = s.channels[i].code
	}
	return out
}
