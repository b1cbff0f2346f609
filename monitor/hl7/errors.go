package hl7

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. The errors returned by this package wrap one of them, so
// callers can test the kind of failure with errors.Is; most are also carried
// by an *Error that says where in the message the problem is.
var (
	// ErrTooLarge: the message or frame is larger than MaxMessageSize.
	ErrTooLarge = errors.New("message larger than MaxMessageSize")
	// ErrNoMSH: the message does not start with an MSH segment.
	ErrNoMSH = errors.New("message does not start with MSH")
	// ErrShortMSH: the MSH segment lacks fields up to MSH-12.
	ErrShortMSH = errors.New("MSH segment too short")
	// ErrDelimiters: MSH-1 or MSH-2 is missing, malformed or repeats a character.
	ErrDelimiters = errors.New("invalid separators in MSH-1/MSH-2")
	// ErrSegmentName: a segment name is not three upper-case letters or digits.
	ErrSegmentName = errors.New("invalid segment name")
	// ErrEmptySegment: an empty segment before the end of the message.
	ErrEmptySegment = errors.New("empty segment")
	// ErrUnsupported: a construct this package does not handle (batches).
	ErrUnsupported = errors.New("unsupported construct")
	// ErrMissingField: a required field is empty.
	ErrMissingField = errors.New("required field missing")
	// ErrMessageType: the message is not of the expected type.
	ErrMessageType = errors.New("unexpected message type")
	// ErrSequence: a segment appears where the message structure does not allow it.
	ErrSequence = errors.New("segment out of sequence")
	// ErrValueType: OBX-2 is not an HL7 data type.
	ErrValueType = errors.New("unknown value type")
	// ErrNumber: a value declared numeric (NM) is not a valid number.
	ErrNumber = errors.New("invalid number")
	// ErrTime: a timestamp does not follow YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ].
	ErrTime = errors.New("invalid timestamp")
	// ErrPath: a query path given to Message.Get is malformed.
	ErrPath = errors.New("invalid path")
	// ErrAlarm: an Alarm given to BuildR40 is incomplete or inconsistent.
	ErrAlarm = errors.New("invalid alarm")
	// ErrFrameTruncated: the stream ended inside an MLLP frame.
	ErrFrameTruncated = errors.New("MLLP frame truncated")
	// ErrFrameStart: a start block (0x0B) appeared inside an MLLP frame.
	ErrFrameStart = errors.New("start block inside MLLP frame")
	// ErrFrameEnd: the end block (0x1C) was not followed by a carriage return.
	ErrFrameEnd = errors.New("end block not followed by carriage return")
	// ErrFrameContent: a message to frame contains a start or end block byte.
	ErrFrameContent = errors.New("message contains an MLLP block character")
)

// ErrorCode is an HL7 message error condition code (HL7 table 0357), sent in
// ERR-3 of a negative acknowledgement.
type ErrorCode int

// The HL7 table 0357 codes this package produces.
const (
	CodeSegmentSequence    ErrorCode = 100 // segment sequence error
	CodeRequiredField      ErrorCode = 101 // required field missing
	CodeDataType           ErrorCode = 102 // data type error
	CodeTableValue         ErrorCode = 103 // table value not found
	CodeUnsupportedType    ErrorCode = 200 // unsupported message type
	CodeUnsupportedEvent   ErrorCode = 201 // unsupported event code
	CodeUnsupportedVersion ErrorCode = 203 // unsupported version id
	CodeInternal           ErrorCode = 207 // application internal error
)

// Text is the description of the code in HL7 table 0357.
func (c ErrorCode) Text() string {
	switch c {
	case CodeSegmentSequence:
		return "Segment sequence error"
	case CodeRequiredField:
		return "Required field missing"
	case CodeDataType:
		return "Data type error"
	case CodeTableValue:
		return "Table value not found"
	case CodeUnsupportedType:
		return "Unsupported message type"
	case CodeUnsupportedEvent:
		return "Unsupported event code"
	case CodeUnsupportedVersion:
		return "Unsupported version id"
	case CodeInternal:
		return "Application internal error"
	}
	return "Error"
}

// Error is an error located in a message: which segment, which occurrence of
// it, which field. BuildACK copies the location to ERR-2 and the code to
// ERR-3.
type Error struct {
	Segment  string    // segment name, e.g. "OBX"; empty when not tied to one segment
	Sequence int       // 1-based occurrence of Segment in the message (the third OBX is 3); 0 if unknown
	Field    int       // field position, e.g. 5 for OBX-5; 0 if the whole segment is concerned
	SetID    string    // set ID (OBX-1, OBR-1) of the segment, when it has one
	Code     ErrorCode // HL7 table 0357 code
	Err      error     // the cause; wraps one of the package's sentinel errors
}

// Error describes the location and the cause, e.g.
// "hl7: OBX-5 (OBX #3, set ID 3): invalid number: "12,5"".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hl7: ")
	if e.Segment != "" {
		b.WriteString(e.Segment)
		if e.Field > 0 {
			fmt.Fprintf(&b, "-%d", e.Field)
		}
		var extra []string
		if e.Sequence > 0 {
			extra = append(extra, fmt.Sprintf("%s #%d", e.Segment, e.Sequence))
		}
		if e.SetID != "" {
			extra = append(extra, "set ID "+e.SetID)
		}
		if len(extra) > 0 {
			b.WriteString(" (" + strings.Join(extra, ", ") + ")")
		}
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(e.Code.Text())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Location is the error location in ER7 form for ERR-2 (segment ID ^ segment
// sequence ^ field position), e.g. "OBX^3^5" with the default separators;
// empty when the error is not tied to a segment.
func (e *Error) Location() string {
	if e.Segment == "" {
		return ""
	}
	loc := e.Segment
	if e.Sequence > 0 || e.Field > 0 {
		loc += fmt.Sprintf("^%d", e.Sequence)
	}
	if e.Field > 0 {
		loc += fmt.Sprintf("^%d", e.Field)
	}
	return loc
}

// errorf returns an error wrapping sentinel, with the formatted detail after
// the sentinel's own text.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
