package hl7

import (
	"fmt"
	"strings"
	"time"
)

// ParseTime parses an HL7 timestamp (DTM/TS):
//
//	YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]
//
// Omitted trailing parts take their smallest value (the first of the month,
// midnight, ...). A fraction of a second, 1 to 9 digits, is allowed only after
// the seconds. The offset, when present, is four digits HHMM between -1400 and
// +1400. A timestamp without an offset is read in loc (UTC when loc is nil).
// Every part is range-checked (month 1–12, a day that exists in that month,
// hour 0–23, minute and second 0–59); errors wrap ErrTime.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, errorf(ErrTime, "%q: %s", s, why)
	}
	if s == "" {
		return bad("empty")
	}
	if loc == nil {
		loc = time.UTC
	}
	main, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		main, zone = s[:i], s[i:]
	}
	main, frac, hasFrac := strings.Cut(main, ".")
	if !allDigits(main) {
		return bad("date and time must be digits")
	}
	switch len(main) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return bad("date and time must have 4, 6, 8, 10, 12 or 14 digits")
	}
	if hasFrac && (len(main) != 14 || len(frac) == 0 || len(frac) > 9 || !allDigits(frac)) {
		return bad("a fraction of a second needs the seconds and 1 to 9 digits")
	}
	part := func(i, def int) int {
		if len(main) < i+2 {
			return def
		}
		return int(main[i]-'0')*10 + int(main[i+1]-'0')
	}
	year := part(0, 0)*100 + part(2, 0)
	month, day := part(4, 1), part(6, 1)
	hour, minute, sec := part(8, 0), part(10, 0), part(12, 0)
	switch {
	case year < 1:
		return bad("year 0000 out of range")
	case month < 1 || month > 12:
		return bad(fmt.Sprintf("month %d out of range", month))
	case day < 1 || day > daysIn(year, month):
		return bad(fmt.Sprintf("day %d out of range for %04d-%02d", day, year, month))
	case hour > 23:
		return bad(fmt.Sprintf("hour %d out of range", hour))
	case minute > 59:
		return bad(fmt.Sprintf("minute %d out of range", minute))
	case sec > 59:
		return bad(fmt.Sprintf("second %d out of range", sec))
	}
	nsec := 0
	if hasFrac {
		for i := 0; i < 9; i++ {
			nsec *= 10
			if i < len(frac) {
				nsec += int(frac[i] - '0')
			}
		}
	}
	if zone != "" {
		if len(zone) != 5 || !allDigits(zone[1:]) {
			return bad("time zone offset must be +HHMM or -HHMM")
		}
		zh := int(zone[1]-'0')*10 + int(zone[2]-'0')
		zm := int(zone[3]-'0')*10 + int(zone[4]-'0')
		if zm > 59 || zh*60+zm > 14*60 {
			return bad("time zone offset out of range")
		}
		off := (zh*60 + zm) * 60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// FormatTime formats t as an HL7 timestamp with seconds, milliseconds when
// they are not zero, and the offset of t's location: "20250314102530+0100",
// "20250314102530.250+0100".
func FormatTime(t time.Time) string {
	s := t.Format("20060102150405")
	if ms := t.Nanosecond() / 1e6; ms != 0 {
		s += fmt.Sprintf(".%03d", ms)
	}
	return s + t.Format("-0700")
}
