package hl7

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	plus1 := time.FixedZone("", 3600)
	minus530 := time.FixedZone("", -(5*3600 + 30*60))
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2025", nil, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"202503", nil, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"20250314", nil, time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
		{"2025031410", nil, time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)},
		{"202503141025", nil, time.Date(2025, 3, 14, 10, 25, 0, 0, time.UTC)},
		{"20250314102530", nil, time.Date(2025, 3, 14, 10, 25, 30, 0, time.UTC)},
		{"20250314102530.5", nil, time.Date(2025, 3, 14, 10, 25, 30, 500e6, time.UTC)},
		{"20250314102530.1234", nil, time.Date(2025, 3, 14, 10, 25, 30, 123400e3, time.UTC)},
		{"20250314102530.123456789", nil, time.Date(2025, 3, 14, 10, 25, 30, 123456789, time.UTC)},
		{"20250314102530+0100", nil, time.Date(2025, 3, 14, 10, 25, 30, 0, plus1)},
		{"20250314102530.250+0100", nil, time.Date(2025, 3, 14, 10, 25, 30, 250e6, plus1)},
		{"202503141025-0530", nil, time.Date(2025, 3, 14, 10, 25, 0, 0, minus530)},
		{"2025+0100", nil, time.Date(2025, 1, 1, 0, 0, 0, 0, plus1)},
		{"20250314102530+1400", nil, time.Date(2025, 3, 14, 10, 25, 30, 0, time.FixedZone("", 14*3600))},
		{"20250314102530-0000", nil, time.Date(2025, 3, 14, 10, 25, 30, 0, time.UTC)},
		{"20240229", nil, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"20250314102530", plus1, time.Date(2025, 3, 14, 10, 25, 30, 0, plus1)},
		{"20250314102530+0000", plus1, time.Date(2025, 3, 14, 10, 25, 30, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, tc.loc)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		_, off := got.Zone()
		_, wantOff := tc.want.Zone()
		if off != wantOff {
			t.Errorf("ParseTime(%q) offset %d, want %d", tc.in, off, wantOff)
		}
	}
}

func TestParseTimeErrors(t *testing.T) {
	tests := []struct{ in, why string }{
		{"", "empty"},
		{"25", "4, 6, 8"},
		{"202", "4, 6, 8"},
		{"20250", "4, 6, 8"},
		{"2025031410253", "4, 6, 8"},
		{"202503141025301", "4, 6, 8"},
		{"0000", "year"},
		{"202513", "month 13"},
		{"202500", "month 0"},
		{"20250230", "day 30"},
		{"20230229", "day 29"},
		{"20250300", "day 0"},
		{"2025031424", "hour 24"},
		{"202503142360", "minute 60"},
		{"20250314235960", "second 60"},
		{"2025-03-14", "offset"},
		{"20250314T1025", "digits"},
		{"20250314 1025", "digits"},
		{"2025031410.5", "fraction"},
		{"20250314102530.", "fraction"},
		{"20250314102530.1234567890", "fraction"},
		{"20250314102530.12a", "fraction"},
		{"20250314102530+01", "offset"},
		{"20250314102530+01000", "offset"},
		{"20250314102530+0160", "offset out of range"},
		{"20250314102530+1500", "offset out of range"},
		{"20250314102530+01:00", "offset"},
		{"20250314102530++0100", "offset"},
		{"+0100", "4, 6, 8"},
		{"２０２５", "digits"},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, nil)
		if err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", tc.in, got)
			continue
		}
		if !errors.Is(err, ErrTime) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseTime(%q) error %q, want ErrTime mentioning %q", tc.in, err, tc.why)
		}
	}
}

func TestFormatTime(t *testing.T) {
	plus1 := time.FixedZone("", 3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 3, 14, 10, 25, 30, 0, plus1), "20250314102530+0100"},
		{time.Date(2025, 3, 14, 10, 25, 30, 250e6, time.UTC), "20250314102530.250+0000"},
		{time.Date(2025, 3, 14, 10, 25, 30, 999, time.FixedZone("", -5*3600)), "20250314102530-0500"},
	}
	for _, tc := range tests {
		got := FormatTime(tc.t)
		if got != tc.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
		back, err := ParseTime(got, nil)
		if err != nil || !back.Equal(tc.t.Truncate(time.Millisecond)) {
			t.Errorf("ParseTime(FormatTime) = %v, %v", back, err)
		}
	}
}
