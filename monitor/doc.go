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
// Time and jumps (clock.go): a frame or numerics message stamped outside
// Config.MaxSkew of its arrival is refused (SkewFrames); a device whose clock
// is steadily off is placed by arrival time, with a technical alarm naming
// the offset. A frame whose sequence or time jumps in a way its arrival does
// not explain (a restart, a clock step, a forged frame) is held until the
// next frame confirms it (Restarts) or the stream goes on without it
// (JumpFrames): one frame cannot move a bed's sequence or clock. Vigil's ECG
// analysis never reads missing data as a rhythm (analysis.go, "Gaps").
//
// Bounds: with Config.RefuseUnknownBeds a message for a bed that is not
// configured creates nothing (RefusedBeds, counted by name in a bounded
// table); a bed keeps at most 32 channels and 64 device alarms (refused
// beyond, counted) and its 32 latest events.
//
// Staleness is evaluated on read (Bed.State): no waveform for WaveStale (3 s)
// or no numerics for NumStale (10 s) reads NO DATA.
//
// This package never imports fyne, paho or database/sql.
package monitor
