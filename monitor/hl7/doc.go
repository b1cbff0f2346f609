// Package hl7 reads and writes the HL7 v2 messages a central monitoring
// station exchanges with bedside devices and alarm managers, following the
// IHE Patient Care Device (PCD) profiles.
//
// # What it supports
//
//   - Parsing of one ER7 ("pipe") encoded message (Parse): separators read
//     from MSH-1 and MSH-2 (any valid set, not only |^~\&; a v2.7 truncation
//     character is accepted and ignored), segments ended by CR, LF or CR LF,
//     escape sequences \F\ \S\ \T\ \R\ \E\ \Xhh..\ and \.br\ decoded when a
//     value is read (Delimiters.UnescapeText; unknown escapes are kept as they
//     are). The model is Message → Segment → field → repetition → component →
//     subcomponent, numbered from 1 as in the standard (MSH-1 is the field
//     separator, MSH-2 the encoding characters). Values are read with
//     Segment.Field, Component, Value and Raw, or Message.Get("PID-3.1").
//     Message.Bytes encodes a message again.
//   - IHE PCD-01 "Communicate PCD Data" (ORU^R01): ExtractPCD01 checks the
//     segment order and returns the sender, patient, location and every OBX
//     as a PCDReport; an invalid number or timestamp rejects the message.
//   - Acknowledgements (BuildACK): AA, AE or AR with an ERR segment carrying
//     the error location, the HL7 error code (table 0357) and the reason,
//     also for messages that could not be parsed.
//   - IHE PCD-04 "Report Alert" (ORU^R40, Alarm Communication Management):
//     BuildR40 encodes an alarm transition.
//   - MLLP framing over any io.Reader/io.Writer (Reader, WriteMessage); the
//     network listener, TLS and timeouts belong to the caller.
//
// Parsing is strict: a message that does not start with MSH, has an invalid
// or repeated separator, a short MSH, a malformed segment name or is larger
// than MaxMessageSize is refused with an *Error that wraps a sentinel error
// (ErrNoMSH, ErrDelimiters, ...) and says where the problem is. Bytes that
// are not valid UTF-8 are kept as they are; no character set conversion is
// made (MSH-18 is not interpreted). No input makes the package panic.
//
// # What it does not support
//
// Batch and file messages (FHS, BHS, BTS, FTS, several MSH in one message),
// HL7 v3 and the XML encoding, the enhanced acknowledgement mode, character
// set switching escapes (\C..\, \M..\), formatting escapes other than \.br\,
// and message types other than ORU^R01 (read) and ORU^R40 and ACK (written).
package hl7
