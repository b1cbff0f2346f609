// Package sound makes Vigil's alarms audible, per IEC 60601-1-8
// (clinical-reference.md §1): it synthesizes the burst of each priority,
// plays it through a Sink, and an Annunciator decides when.
//
// # Bursts
//
// Every pulse is a harmonic complex: the fundamental and its harmonics 2…6,
// harmonic k at 1/√k of the fundamental's amplitude (−3.0, −4.8, −6.0, −7.0
// and −7.8 dB), with Schroeder phases for a low crest factor. The standard
// asks for a fundamental in 150–1000 Hz and at least 4 harmonics in
// 150–4000 Hz within 15 dB of it; each priority has its own fundamental, a
// fourth or more apart, so they can be told apart by pitch as well as by
// rhythm. The pulse envelope rises and falls along a raised cosine whose
// 10 %–90 % time is 15 % of the pulse width (standard: 10–20 %), which also
// keeps the pulses free of clicks.
//
// Times follow the standard's definitions: pulse width td between the 50 %
// points of the envelope, spacing ts from the 50 % point of one pulse's
// falling edge to the next pulse's rising edge, rise time tr from 10 % to
// 90 %.
//
//	         fundamental  td      tr, tf   spacing                  burst    repeat
//	HIGH     600 Hz       125 ms  18.75 ms 100 ms, 325 ms, 600 ms   3.13 s   every 10 s
//	MEDIUM   450 Hz       200 ms  30 ms    200 ms                   1.05 s   every 25 s
//	LOW      300 Hz       200 ms  30 ms    —                        0.25 s   once
//
// HIGH is 10 pulses as 3 + 2, pause, 3 + 2:
//
//	■ ■ ■       ■ ■             ■ ■ ■       ■ ■
//	 ts ts 2ts+td ts    pause    ts ts 2ts+td ts
//	100 100  325  100    600    100 100  325  100  ms
//
// The gap between pulses 3 and 4 is 2·ts + td, the place of one pulse left
// out, as in the standard's figure; the pause between the two halves is
// 600 ms (standard: 0.35–1.30 s). Within the standard's ranges these are the
// choices made:
//
//   - HIGH: td 125 ms (75–200 ms), ts 100 ms (50–125 ms), repeated every 10 s
//     from burst start to burst start, leaving 6.9 s of silence.
//   - MEDIUM: 3 pulses, td 200 ms and ts 200 ms (both 125–250 ms), every
//     25 s.
//   - LOW: 1 pulse of 200 ms (125–250 ms), sounded once when LOW starts to
//     sound and not repeated: a persisting low-priority condition stays on
//     screen without adding to alarm fatigue. The standard allows no repeat
//     or a repeat of 30 s or more.
//
// A burst peaks at −6 dBFS. The loud variant, for a HIGH alarm escalated to
// every station unanswered, is the same waveform at twice the amplitude,
// +6.0 dB, peaking at 0 dBFS without clipping; the system volume sets the
// absolute level. Burst renders either at any sample rate from 8 to 192 kHz
// (all partials stay below 3.6 kHz, so 8 kHz does not alias); the speaker
// runs at DefaultRate, 44.1 kHz.
//
// # Sinks
//
// A Sink plays a burst and returns at once. Open reads the station's
// --audio flag: "off" plays nothing, "default" is the speaker (through oto,
// ALSA on Linux), "wav:DIR" writes each burst as a numbered WAV file into
// DIR (000001-high.wav, 000002-high-loud.wav, …) for tests and audits. On a
// machine without a sound card Open("default") fails within OpenTimeout (2 s)
// with an error wrapping ErrUnavailable instead of hanging; the caller logs
// it and carries on with Off. The audio driver allows one context per
// process, so the outcome of the first Open("default") holds for the life of
// the process.
//
// # Annunciator
//
// Only one priority sounds at a station. The Annunciator's caller runs it
// (Run) and tells it, whenever it may have changed, what should sound (Set,
// typically with the alarm engine's Sounding()). Set never blocks; the last
// value wins, but a dip between two looks is not lost.
//
//	change of what should sound           what the annunciator does
//	None → any, or a higher priority,     cut off any burst, play the new one now,
//	  or quiet → loud                       repeat at its interval from that start
//	higher → lower (not None)             let the burst sounding finish; the burst
//	                                        already due plays the lower pattern,
//	                                        then the lower priority's interval
//	                                        (LOW: just that one burst)
//	any → None                            stop the sound now; nothing more
//	the same again                        nothing: the cadence goes on
//	None (or lower) then higher again     a new onset: plays now
//	  before the annunciator looked
//
// For example HIGH set at 0 s sounds at 0, 10 and 20 s; MEDIUM set at 25 s
// sounds at 30 s (the slot HIGH had), 55 s, 80 s; None at 90 s stops.
// A sink error is counted, logged once per outage (and once when the sink
// works again) and never stops the cadence. Stats counts the bursts by
// priority and the errors, for the station's stats line.
//
// Time comes from the standard library's timers only, so tests drive the
// annunciator in virtual time with testing/synctest.
package sound
