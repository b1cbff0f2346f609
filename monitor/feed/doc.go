// Package feed is Vigil's device feed wire format: MQTT topic scheme and the
// encoding and strict validation of every stream's payload. It does no I/O.
//
// Topics are vigil/v1/<ward>/<bed>/<stream>, with stream one of wave, num,
// status, alarm and event. The protocol, version 1, is described for device
// makers in docs/feed-protocol.md. Waveform frames come in two forms on the
// same topic: binary (wave.go, DecodeWave) and JSON (wavejson.go,
// DecodeWaveJSON); DecodeWaveAny takes either. Numerics and status are in
// json.go, alarms and events in alarm.go.
//
// Decoders never half-apply: they return an error for the whole message, and a
// caller applies a frame only after it decoded without error.
package feed
