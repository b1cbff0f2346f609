package feed

import (
	"errors"
	"fmt"
	"strings"
)

// Root is the first two levels of every feed topic: vigil/v1/<ward>/<bed>/<stream>.
const Root = "vigil/v1"

// Stream names the kind of message a topic carries.
type Stream string

// The streams of the feed protocol (docs/feed-protocol.md).
const (
	StreamWave   Stream = "wave"   // waveform frame, several channels, binary or JSON
	StreamNum    Stream = "num"    // JSON numerics
	StreamStatus Stream = "status" // JSON device status, retained, also the Last Will
	StreamAlarm  Stream = "alarm"  // JSON device-originated alarm
	StreamEvent  Stream = "event"  // JSON point event (nurse call, ...)
)

// Valid reports whether s is a stream of this protocol version.
func (s Stream) Valid() bool {
	switch s {
	case StreamWave, StreamNum, StreamStatus, StreamAlarm, StreamEvent:
		return true
	}
	return false
}

// MaxPayload is the largest message of a stream that is decoded at all;
// a larger one is rejected unread (docs/feed-protocol.md, Limits). A waveform
// frame at its limits (32 channels of 8192 samples) is 512 KiB in binary.
func (s Stream) MaxPayload() int {
	if s == StreamWave {
		return 1 << 20
	}
	return 64 << 10
}

// ErrTooLarge is wrapped for a message over its stream's MaxPayload.
var ErrTooLarge = errors.New("message too large")

// ErrTopic is returned for a topic that is not a feed topic.
var ErrTopic = errors.New("not a vigil/v1 feed topic")

// ValidName reports whether a ward or bed name can stand in a topic: 1–32
// characters of letters, digits, '-', '_' and '.'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Reserved reports whether a bed name is taken by the stations' own topics
// (vigil/v1/<ward>/alarms/… and …/stations/…): no bed may be called so.
func Reserved(bed string) bool {
	return strings.EqualFold(bed, "alarms") || strings.EqualFold(bed, "stations")
}

// Topic builds the topic a bed publishes a stream on.
func Topic(ward, bed string, s Stream) string {
	return Root + "/" + ward + "/" + bed + "/" + string(s)
}

// Filter is the subscription filter for every stream of every bed of a ward.
func Filter(ward string) string { return Root + "/" + ward + "/+/+" }

// ParseTopic splits a feed topic. It does not allocate.
func ParseTopic(topic string) (ward, bed string, s Stream, err error) {
	rest, ok := strings.CutPrefix(topic, Root+"/")
	if !ok {
		return "", "", "", ErrTopic
	}
	ward, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", "", ErrTopic
	}
	bed, rest, ok = strings.Cut(rest, "/")
	if !ok || strings.Contains(rest, "/") {
		return "", "", "", ErrTopic
	}
	s = Stream(rest)
	if !ValidName(ward) || !ValidName(bed) {
		return "", "", "", fmt.Errorf("%w: bad ward or bed name", ErrTopic)
	}
	if Reserved(bed) {
		return "", "", "", fmt.Errorf("%w: %q is reserved for the stations' topics", ErrTopic, bed)
	}
	if !s.Valid() {
		return "", "", "", fmt.Errorf("%w: unknown stream %q", ErrTopic, rest)
	}
	return ward, bed, s, nil
}
