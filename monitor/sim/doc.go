// Package sim simulates the bedside monitors of a ward: N devices that publish
// Vigil's feed (monitor/feed) through an abstract Publisher, so that the
// station can be demonstrated and tested without a hospital.
//
// # Devices
//
// Bed i of ward W is device "SIM-W-<bed>". Every FrameMs (200 ms) it sends one
// binary waveform frame with ECG lead II (250 Hz, 200 adu/mV), pleth (125 Hz,
// normalised 0..1, 1000 adu) and thoracic impedance respiration (62.5 Hz,
// 1000 adu), the rates of clinical-reference.md §2; the frames are contiguous
// in time and their sequence numbers never skip. Every second it sends
// numerics (HR, SpO2, PR, RR, TEMP, and NIBP every 3–5 minutes, the first
// within 10 s); its retained status goes out on connect, when the leads-off
// state changes and every 30 s. Every fourth bed runs on a discharging battery.
//
// # Model
//
// Everything is deterministic given Config.Seed: each bed draws its patient
// (baseline rates, complex morphology, pulse transit time) from its own random
// streams. The heart is an explicit beat schedule, each R peak placed one R-R
// interval after the previous one; the sinus rate is the baseline plus a slow
// random walk, modulated by respiration (sinus arrhythmia), so R-R varies by a
// few percent and the numerics are read off the schedule: HR is 60 over the
// mean of the last 8 R-R intervals. The ECG is a sum of Gaussians per beat
// (after McSharry et al., 2003: small P, Q, tall R, S, broad T with a QT that
// shortens with the rate) plus baseline wander with respiration and a little
// noise. A PVC comes at 60–70 % of the cycle, without P wave, with a wide tall
// QRS and an opposite T, and is followed by a full compensatory pause. The
// pleth has one pulse per beat, its foot 200–230 ms after the R peak (systolic
// peak 90 ms later, then the dicrotic notch and diastolic wave), amplitude
// modulated by respiration; a PVC's pulse is weak or absent, and the pulse
// rate (PR) counts only the pulses the oximeter can see. Respiration is a
// breath schedule too, inspiration 40 % of each breath.
//
// # Event script
//
// With Config.Events, after EventsAfter (60 s) of simulated time, a 5-minute
// cycle repeats for as long as the ward runs. Offsets within the cycle, for the
// bed indexes of a 16-bed ward (a smaller ward takes them modulo its size, on
// distinct beds where it can):
//
//	  0– 90 s  bed "03": PVCs (~12 % of beats) for 60 s, then bigeminy for 30 s
//	100–106 s  bed "11": ECG leads off (samples invalid, HR invalid, status lists the lead)
//	120–210 s  bed "05": SpO2 falls to ~84 % over 30 s, holds 30 s, recovers over 30 s
//	150–170 s  bed "14": device offline (Run closes its connection, re-dials after)
//	220–250 s  bed "08": sinus tachycardia up to ~150/min for 20 s
//
// Ward.EventsAt names what is running on a bed.
//
// # Time
//
// Step is driven by the caller's clock (Run uses a time.Ticker; tests use
// virtual time). The first Step fixes the ward's origin; frame k covers
// [origin+k·FrameMs, origin+(k+1)·FrameMs) and is published once now reaches
// its end. A device that is offline or has no publisher generates nothing and
// resumes at the current time with its sequence number where it left off.
package sim
