// Package monitor is Vigil's live-data domain: the ward's beds, their
// waveform channels, vitals and device state, and the Hub that routes decoded
// feed messages into them.
//
// Data flow and ownership:
//
//	MQTT router goroutine (one writer)        UI render tick (one reader per ring)
//	  feed.DecodeWave ──► Hub.Wave ──► Channel.Ring.PushN ──► Ring.Drain ──► strip
//	  feed.DecodeNum  ──► Hub.Numerics ──► Bed.vitals (mutex, ~1 Hz) ◄── tile numerics
//	  feed.DecodeStatus ► Hub.Status ──► Bed.status (mutex)
//
// Gaps: a frame whose sequence number skips ahead, or whose start time is later
// than the previous frame's end by more than two frames, is a gap. The hub
// counts it and pushes NaN markers (at most one second's worth) so that the
// strip shows a break instead of bridging it with a line. Duplicate or late
// frames (sequence not ahead and start time already covered) are counted and
// dropped.
//
// Staleness is evaluated on read (Bed.State): no waveform for WaveStale (3 s)
// or no numerics for NumStale (10 s) reads NO DATA.
//
// This package never imports fyne, paho or database/sql.
package monitor
