package hl7

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// AckCode is the acknowledgment code of MSA-1 (original acknowledgment mode).
type AckCode string

// The acknowledgment codes.
const (
	AckAccept AckCode = "AA" // application accept
	AckError  AckCode = "AE" // application error: the message was understood but refused
	AckReject AckCode = "AR" // application reject: the message could not be processed at all
)

// DefaultApplication is the sending application and facility an ACK carries
// when the original message does not name its receiver.
const DefaultApplication = "VIGIL"

// maxReasonLen bounds the reason text copied into ERR-8; maxCopyLen the
// fields copied from the original message (longer ones are left out, so that
// the ACK of a huge header stays small).
const (
	maxReasonLen = 512
	maxCopyLen   = 512
)

// Ack describes an acknowledgement for BuildACK. The zero value accepts.
type Ack struct {
	// Code is MSA-1. When empty it is derived: AR when the original message
	// is unknown or Err is an *Error about an unsupported message type,
	// event or version, AE for any other Err, AA when Err is nil.
	Code AckCode
	// Err is the reason of a negative acknowledgement. Its text goes to
	// ERR-8 (escaped). When it is, or wraps, an *Error, that error's location
	// goes to ERR-2 and its code to ERR-3; otherwise ERR-3 is 207
	// (application internal error).
	Err error
	// ControlID is MSH-10 of the ACK. When empty it is "ACK" followed by the
	// original control ID, or by the time when there is none.
	ControlID string
	// Time is MSH-7; time.Now() when zero.
	Time time.Time
	// Application and Facility are MSH-3 and MSH-4 when the original message
	// has no MSH-5 and MSH-6; DefaultApplication and empty when not set.
	Application, Facility string
}

// BuildACK builds the acknowledgement of orig, which may be nil (the message
// could not be parsed at all) or hold only a header (see ParseHeader). The
// ACK uses the separators of orig; its MSH swaps the sending and receiving
// application and facility of orig, copies its processing ID (P) and version
// (2.6 by default), and is typed ACK^<trigger of orig>^ACK (R01 when
// unknown). MSA-2 is the control ID of orig. For AE and AR, an ERR segment
// carries the location, the HL7 error code and the reason.
//
//	MSH|^~\&|VIGIL|WARD7|MON7|WARD7|20250314102531+0100||ACK^R01^ACK|ACKMON7-000123|P|2.6
//	MSA|AE|MON7-000123
//	ERR||OBX^3^5|102^Data type error^HL70357|E||||hl7: OBX-5 (OBX #3, set ID 3): invalid number: "12,5"
func BuildACK(orig *Message, a Ack) []byte {
	h := orig.msh()
	d := DefaultDelimiters
	if h != nil {
		d = h.d
	}
	var located *Error
	if a.Err != nil {
		errors.As(a.Err, &located)
	}
	code := a.Code
	if code == "" {
		switch {
		case h == nil:
			code = AckReject
		case a.Err == nil:
			code = AckAccept
		case located != nil && (located.Code == CodeUnsupportedType || located.Code == CodeUnsupportedEvent ||
			located.Code == CodeUnsupportedVersion):
			code = AckReject
		default:
			code = AckError
		}
	}
	now := a.Time
	if now.IsZero() {
		now = time.Now()
	}

	app, fac := a.Application, a.Facility
	if app == "" {
		app = DefaultApplication
	}
	sendApp, sendFac := d.comp(app), d.comp(fac)
	var recvApp, recvFac string
	event, processing, version, origID := "R01", "P", "2.6", ""
	if h != nil {
		raw := func(n int) string { return bounded(h.Raw(n)) }
		if raw(5) != "" || raw(6) != "" {
			sendApp, sendFac = raw(5), raw(6)
		}
		recvApp, recvFac = raw(3), raw(4)
		if e := bounded(h.Component(9, 2)); e != "" {
			event = e
		}
		if p := raw(11); p != "" {
			processing = p
		}
		if v := raw(12); v != "" {
			version = v
		}
		if id := h.Field(10); len(id) <= maxCopyLen {
			origID = id // unescaped here, escaped again where it is written
		}
	}
	ctl := a.ControlID
	if ctl == "" {
		if origID != "" {
			ctl = "ACK" + origID
		} else {
			ctl = "ACK" + now.UTC().Format("20060102150405.000000")
		}
	}

	b := newBuilder(d)
	b.add("MSH").
		set(3, sendApp).set(4, sendFac).set(5, recvApp).set(6, recvFac).
		set(7, FormatTime(now)).
		set(9, d.comp("ACK", d.EscapeText(event), "ACK")).
		set(10, d.EscapeText(ctl)).
		set(11, processing).
		set(12, version)
	b.add("MSA").set(1, string(code)).set(2, d.EscapeText(origID))
	if code != AckAccept {
		errCode := CodeInternal
		var loc string
		if located != nil {
			if located.Code != 0 {
				errCode = located.Code
			}
			if located.Segment != "" {
				loc = d.comp(located.Segment, positive(located.Sequence), positive(located.Field))
			}
		}
		reason := ""
		if a.Err != nil {
			reason = truncate(a.Err.Error(), maxReasonLen)
		}
		e := b.add("ERR").
			set(2, loc).
			set(3, d.comp(strconv.Itoa(int(errCode)), errCode.Text(), "HL70357")).
			set(4, "E")
		if reason != "" {
			e.set(8, d.EscapeText(reason))
		}
	}
	return b.bytes()
}

// bounded returns s, or "" when it is longer than maxCopyLen or holds a
// control character: a value copied raw from the original into the ACK
// must not carry a segment end or an MLLP block byte with it.
func bounded(s string) string {
	if len(s) > maxCopyLen || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return s
}

// positive formats n, or returns "" when n is not positive.
func positive(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}
