// Package feed is Vigil's device feed wire format: MQTT topic scheme and the
// encoding and strict validation of every stream's payload. It does no I/O.
//
// Topics are vigil/v1/<ward>/<bed>/<stream>, with stream one of wave, num,
// status, alarm and event. The protocol is described for device makers in
// docs/feed-protocol.md; the byte layout of a waveform frame is in wave.go.
//
// Decoders never half-apply: they return an error for the whole message, and a
// caller applies a frame only after it decoded without error.
package feed
