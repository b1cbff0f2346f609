// Package sim simulates the bedside monitors of a ward: N devices that publish
// Vigil's feed (monitor/feed) through an abstract Publisher, so that the
// station can be demonstrated and tested without a hospital.
//
// # Devices
//
// Bed i of ward W is device "SIM-W-<bed>". Every FrameMs (200 ms) it sends one
// binary waveform frame holding every channel of its profile; the frames are
// contiguous in time, each channel's sample count per frame is exact (at
// 62.5 Hz and 200 ms frames the counts alternate 13, 12 and never drift) and
// the sequence numbers never skip. Every second it sends numerics (HR, SpO2,
// PR, RR, TEMP, the profile's own, and NIBP every 3–5 minutes, the first
// within 10 s); its retained status goes out on connect, when the leads-off
// state changes and every 30 s. Every fourth bed runs on a discharging
// battery. Device alarms (the alarm stream) and nurse calls (the event
// stream) come only from scenarios.
//
// # Profiles
//
// Config.Profile chooses what the monitors send, at the rates of
// clinical-reference.md §2. Profile.Channels and Ward.Channels list the
// channels, Profile.SamplesPerSecond the samples per second of one bed.
//
//	profile  channels, in frame order                         rate Hz  gain (adu per unit)
//	ward     ECG II                                            250      200 /mV
//	         pleth (normalised 0..1)                           125      1000
//	         respiration, thoracic impedance (arbitrary)       62.5     1000
//	         437.5 samples/s per bed
//	icu      ECG I, II, III                                    250      200 /mV
//	         pleth                                             125      1000
//	         ABP, arterial pressure (MDCPressArt)              125      10 /mmHg
//	         respiration                                       62.5     1000
//	         CO2 capnogram (MDCAwayCO2)                        62.5     10 /mmHg
//	         1125 samples/s per bed
//	heavy    ECG I, II, III, aVR, aVL, aVF, V1–V6              500      200 /mV
//	         pleth                                             125      1000
//	         ABP, PAP, CVP, ICP                                125      10 /mmHg
//	         respiration                                       62.5     1000
//	         CO2 capnogram                                     62.5     10 /mmHg
//	         6750 samples/s per bed (432,000/s for 64 beds)
//
// 200 adu/mV is 5 µV a step over ±163 mV; 10 adu/mmHg is 0.1 mmHg a step over
// ±3276 mmHg. The icu profile adds the numerics ABP sys/dia/mean, etCO2 and
// awRR; heavy adds PAP sys/dia/mean, CVP mean and ICP mean. While the leads
// are off every ECG lead is invalid and the status lists them all.
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
// The ward profile's lead II is that single-lead model. The icu and heavy
// profiles see the same beats from several leads: each component of a
// complex has a heart vector in three dimensions (patient-specific axes of
// the P wave, QRS and T; a PVC from the right ventricular outflow tract or
// the left ventricle), scaled so that lead II reads exactly the single-lead
// amplitudes. The component activations are computed once per instant and
// projected onto I, II and V1–V6; III, aVR, aVL and aVF are derived from I and
// II as a monitor does, so III = II − I holds sample by sample. A PVC is wide
// and different on every lead.
//
// ABP and PAP follow a Windkessel: each beat's stroke (its pulse strength,
// its filling time, and a little sympathetic inotropy when the rate is up)
// gives an upstroke 160–190 ms after the R peak (ABP, 40 ms ahead of the
// pleth) or 70 ms after it (PAP), a systolic peak, a dicrotic notch at the end
// of ejection and a dicrotic wave, and leaves a charge that runs off exponentially
// through diastole, so a PVC starts high and ejects little, the compensatory
// pause falls low and a tachycardia raises the pressure while narrowing the
// pulse pressure. Each patient's model is solved to give its blood pressure
// (the one NIBP measures; ~25/10 for PAP) at its baseline rate. CVP (~8 mmHg)
// has a, c and v waves with the x and y descents (no a wave before a PVC);
// ICP (~10 mmHg) has P1, P2 and P3 after each arterial pulse. Inspiration
// lowers every pressure by 1–4 mmHg. The pressure numerics are read off the
// same models at the waveform's sampling instants over the last four
// complete cycles within 5 s: systolic and diastolic are the means of the
// cycles' maxima and minima, mean the mean pressure. The capnogram is 0
// through inspiration, rises steeply as expiration begins (~0.3 s) and climbs
// a plateau to the breath's end-tidal value (~38 mmHg, lower after a deep
// breath and during hyperventilation); etCO2 is that value for the last
// complete breath, awRR the breath rate.
//
// # Event script
//
// With Config.Events, after EventsAfter (60 s) of simulated time, a 5-minute
// cycle repeats for as long as the ward runs. Offsets within the cycle, for the
// bed indexes of a 16-bed ward (a smaller ward takes them modulo its size, on
// distinct beds where it can):
//
//	  0– 90 s  bed "03": PVCs (~12 % of beats) for 60 s, then bigeminy for 30 s
//	100–106 s  bed "11": ECG leads off (samples invalid, HR invalid, status lists the leads)
//	120–210 s  bed "05": SpO2 falls to ~84 % over 30 s, holds 30 s, recovers over 30 s
//	                     (etCO2 falls a little, PAP rises ~6 mmHg)
//	150–170 s  bed "14": device offline (Run closes its connection, re-dials after)
//	220–250 s  bed "08": sinus tachycardia up to ~150/min for 20 s (ABP rises)
//
// Ward.EventsAt names what is running on a bed.
//
// # Scenarios
//
// Config.Scenario plays one named scenario instead of the event script, for a
// demonstration or a test of a station's alarms; Scenarios lists them with
// what a station should raise. It runs on bed Config.ScenarioBed (1-based,
// bed 1 when 0; "storm" runs on every bed and ignores it), the other beds
// stay normal. It repeats for as long as the ward runs: normal for
// ScenarioLeadIn (10 s), the condition for ScenarioHold (60 s), normal for
// ScenarioRecovery (30 s). The condition is a step, not a ramp: it holds
// from the onset to the end exactly, to the sample.
//
//	desat       SpO2 82 % (81–83); HR +8/min, RR +6/min, pleth amplitude −30 %
//	            (etCO2 −4 mmHg, PAP +6 mmHg)
//	tachy       sinus rhythm ~150/min
//	brady       sinus rhythm ~35/min
//	asystole    no beats: flat ECG and pleth, HR 0, SpO2 and PR no value; the
//	            device's own alarm, HIGH physiological "ASYSTOLE", code 199684
//	            (MDC_EVT_ECG_ASYSTOLE), param HR: start at the onset, continue
//	            every 10 s (and on a new connection), end at the end
//	leads-off   ECG samples invalid, HR no value, status lists the ECG leads
//	offline     the connection is lost, so the broker publishes the Last Will
//	            (Run; see Dropper); back online at the end
//	nurse-call  event nurse_call at the onset, nurse_call_cancel at the end
//	storm       every bed at once: SpO2 82 %, HR ~158/min, and each device's
//	            own alarm, HIGH physiological "DESAT SpO2 82 < 85", code
//	            199854 (MDC_EVT_DESAT), param SpO2, limit 85
//
// A change of rhythm starts at its edge: the first beat of a faster rhythm
// falls on the edge, a slower one's a cycle of it after the last beat, and
// the first beat after an asystole starts its P wave at the end. HR, PR and
// the pressure numerics are read over the beats of the current rhythm only
// (HR is the sinus rate until it has one complete interval), so every
// numeric crosses its threshold in the first numerics message at or after
// the edge. Ward.ScenarioOnset gives the current cycle's planned onset. A
// device alarm's id names its onset (e.g. "ASYSTOLE-1741939210000"), its seq
// counts the bed's alarm messages; a nurse call's id names its time.
//
// # Time
//
// Step is driven by the caller's clock (Run uses a time.Ticker; tests use
// virtual time). The first Step fixes the ward's origin; frame k covers
// [origin+k·FrameMs, origin+(k+1)·FrameMs) and is published once now reaches
// its end. A device that is offline or has no publisher generates nothing and
// resumes at the current time with its sequence number where it left off.
package sim
