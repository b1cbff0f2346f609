package hl7feed

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/hl7"
)

// Mapped is what one PCD-01 message becomes on the feed: the bed it is
// for, the device's status and the numerics, one frame per time of
// measurement (a cuff pressure measured two minutes ago keeps its time).
type Mapped struct {
	Bed     string
	Status  feed.Status
	Frames  []feed.NumFrame   // in time order, values sorted by code
	Names   map[string]string // the device's own codes kept under private codes: code → name
	Unknown []string          // codes left out (no identifier, or two names for one private code), counted
	Other   int               // values kept under a code Vigil does not know by name
}

// reject is a message that cannot be used, whole: located in the message
// (segment, its occurrence, field) for the ACK's ERR segment.
func reject(code hl7.ErrorCode, seg string, seq, field int, format string, args ...any) *hl7.Error {
	return &hl7.Error{Segment: seg, Sequence: seq, Field: field, Code: code, Err: fmt.Errorf(format, args...)}
}

// MapOptions say how messages map to the ward.
type MapOptions struct {
	Ward string
	// Units are the PV1-3.1 points of care this ward answers to (matched
	// without regard to case); the ward's name always is one. A message
	// for another unit is refused: it must not show as a bed of this ward.
	Units []string
}

// Map turns a PCD-01 report into feed messages, or refuses it whole. now
// stands in for a report that carries no time at all.
func Map(rep *hl7.PCDReport, o MapOptions, now time.Time) (Mapped, error) {
	var m Mapped
	if poc := strings.TrimSpace(rep.PointOfCare); poc != "" && !strings.EqualFold(poc, o.Ward) &&
		!slices.ContainsFunc(o.Units, func(u string) bool { return strings.EqualFold(strings.TrimSpace(u), poc) }) {
		return m, reject(hl7.CodeTableValue, "PV1", 1, 3, "point of care %q is not ward %s", poc, o.Ward)
	}
	bed, err := BedName(rep.Room, rep.Bed)
	if err != nil {
		return m, reject(hl7.CodeRequiredField, "PV1", 1, 3, "%v", err)
	}
	m.Bed = bed
	device := ""
	for _, ob := range rep.Observations {
		if ob.EquipmentID != "" {
			device = ob.EquipmentID
			break
		}
	}
	device = cut(strings.TrimSpace(cmpOr(device, rep.SendingApp, "HL7 "+rep.SendingFacility)), 128)
	noWaves := false // numerics only: PCD-01 waveforms are not bridged
	// The patient's identifier (PID-3), never the name: the status is
	// retained on the broker, which every station and every tool with
	// read access sees; the stations compare the MRN with the admission.
	m.Status = feed.Status{Device: device, Model: cut(rep.SendingApp, 128), Online: true, PatientID: cut(strings.TrimSpace(rep.PatientID), 64), Waves: &noWaves}
	if ts := now.UnixMilli(); ts >= minMs && ts <= maxMs {
		m.Status.TsMs = ts
	}

	byTime := map[int64]*feed.NumFrame{}
	seen := map[int64]map[uint32]bool{}
	for i, ob := range rep.Observations {
		if ob.ValueType != "NM" {
			continue // the device hierarchy (MDS, VMD, channel) and text values
		}
		code, known, ok := Lookup(ob.Code, ob.Text, ob.CodingSystem)
		if !ok {
			// A device's own code: kept under a code of the private
			// partition, named in the bed's status.
			code = PrivateCode(ob.Code, ob.CodingSystem)
			name := cut(strings.TrimSpace(cmpOr(ob.Text, ob.Code)), 64)
			key := fmt.Sprint(code)
			if prev, taken := m.Names[key]; taken && prev != name || strings.TrimSpace(ob.Code) == "" {
				m.Unknown = append(m.Unknown, strings.Trim(ob.Code+"^"+ob.Text+"^"+ob.CodingSystem, "^"))
				continue
			}
			if m.Names == nil {
				m.Names = map[string]string{}
			}
			m.Names[key] = name
		}
		n := feed.Numeric{Code: code, Value: math.NaN()}
		// X: cannot be obtained; W: wrong (a correction follows); D: deleted.
		if ob.Numeric && !strings.ContainsAny(strings.ToUpper(ob.Status), "XWD") && !math.IsNaN(ob.Number) && !math.IsInf(ob.Number, 0) {
			n.Value, n.Valid = ob.Number, true
		}
		if known {
			p, _ := ParamByCode(code)
			v, unit, ok := convert(p, n.Value, ob.UnitCode, ob.UnitText)
			if !ok {
				return Mapped{}, reject(hl7.CodeDataType, "OBX", i+1, 6, "%s in %q: a unit Vigil cannot convert to %s",
					p.Label, cmpOr(ob.UnitText, ob.UnitCode), p.Unit)
			}
			if n.Valid {
				n.Value = v
			}
			n.Unit = unit
		} else {
			m.Other++
			n.Unit = cut(cmpOr(ob.UnitText, ob.UnitCode), 32)
		}
		at := cmpTime(ob.Time, ob.OrderTime, rep.ObservedAt, rep.SentAt, now).UnixMilli()
		if at < minMs || at > maxMs {
			return Mapped{}, reject(hl7.CodeDataType, "OBX", i+1, 14, "observation time %s is out of range", time.UnixMilli(at).UTC().Format(time.RFC3339))
		}
		f := byTime[at]
		if f == nil {
			f = &feed.NumFrame{TsMs: at}
			byTime[at] = f
			seen[at] = map[uint32]bool{}
		}
		if seen[at][code] {
			continue // the same parameter twice at one time (a cuff and an NIBP code): the first counts
		}
		seen[at][code] = true
		f.Values = append(f.Values, n)
	}
	for _, f := range byTime {
		if len(f.Values) > maxValues {
			return Mapped{}, reject(hl7.CodeInternal, "", 0, 0, "%d values measured at one time: at most %d", len(f.Values), maxValues)
		}
		slices.SortFunc(f.Values, func(a, b feed.Numeric) int { return int(a.Code) - int(b.Code) })
		m.Frames = append(m.Frames, *f)
	}
	slices.SortFunc(m.Frames, func(a, b feed.NumFrame) int { return int(a.TsMs - b.TsMs) })
	return m, nil
}

const (
	minMs     = 946684800000  // the feed's time range (docs/feed-protocol.md)
	maxMs     = 7258118400000 //
	maxValues = 256           // per numerics message
)

// ErrNoBed is a message that names no room or bed (PV1-3.2 and PV1-3.3).
var ErrNoBed = errors.New("no room or bed in PV1-3")

// BedName is the feed's bed for a room and bed of PV1-3: "712-B", or
// the one given. Characters a topic cannot carry become "_".
func BedName(room, bed string) (string, error) {
	room, bed = strings.TrimSpace(room), strings.TrimSpace(bed)
	name := room
	switch {
	case room != "" && bed != "":
		name = room + "-" + bed
	case bed != "":
		name = bed
	case room == "":
		return "", ErrNoBed
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 32 {
		return "", fmt.Errorf("bed %q is longer than 32 characters", name)
	}
	if feed.Reserved(string(b)) {
		return "", fmt.Errorf("bed %q: the name is reserved for the stations' topics", name)
	}
	return string(b), nil
}

func cmpOr(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func cmpTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// cut makes s valid UTF-8 (a sender's Latin-1 bytes become "?": MSH-18
// is not read) and at most n bytes, at a character boundary.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// PrivateCode is where a device's own code (one that names no MDC code)
// goes on the feed: a code of 11073's private partition, the same for the
// same code and coding system (a 16-bit hash of them).
func PrivateCode(id, system string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToUpper(strings.TrimSpace(system)) + "^" + strings.TrimSpace(id)))
	v := h.Sum32()
	return feed.PrivatePartition | (v>>16^v)&0xffff
}
