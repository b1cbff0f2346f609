package recordings

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// The queries read through the pool's connections, never the writer's: in
// WAL mode they see the last commit and neither waits for the other.

// TrendPoint is one minute of a trend.
type TrendPoint struct {
	At     time.Time // start of the minute, UTC
	Median float64   // median of the minute's valid values
	N      int       // how many valid values the minute had
}

// Trend returns the minutes of bed's parameter that overlap [from, to), in
// time order. param is a numeric MDC code ("147842") or one of the feed's
// aliases ("HR", "SpO2", ...).
func (r *Recordings) Trend(ctx context.Context, bed, param string, from, to time.Time) ([]TrendPoint, error) {
	code, ok := feed.ParseCode(param)
	if !ok {
		return nil, fmt.Errorf("recordings: unknown parameter %q", param)
	}
	rows, err := r.db.QueryContext(ctx, `SELECT t.minute_ms, t.median, t.n
		FROM series s JOIN trend t ON t.series = s.id
		WHERE s.bed = ? AND s.kind = 'trend' AND s.code = ? AND t.minute_ms > ? AND t.minute_ms < ?
		ORDER BY t.minute_ms`, bed, code, from.UnixMilli()-60_000, to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("recordings: trend: %w", err)
	}
	defer rows.Close()
	var out []TrendPoint
	for rows.Next() {
		var ms int64
		var p TrendPoint
		if err := rows.Scan(&ms, &p.Median, &p.N); err != nil {
			return nil, fmt.Errorf("recordings: trend: %w", err)
		}
		p.At = time.UnixMilli(ms).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recordings: trend: %w", err)
	}
	return out, nil
}

// Segment is a run of contiguous samples of one channel.
type Segment struct {
	Start   time.Time // time of the first sample
	RateHz  float64
	Samples []float32 // physical values (feed.Channel.Physical); NaN where invalid
}

// End is the time just after the last sample.
func (s *Segment) End() time.Time {
	return s.Start.Add(time.Duration(float64(len(s.Samples)) * float64(time.Second) / s.RateHz))
}

// Disclosure returns bed's waveform channel code (a decimal MDC code, e.g.
// "131330" for ECG lead II) over [from, to): the samples taken in that
// interval, as contiguous segments in time order. A new segment begins at
// every gap and change of rate. A chunk that cannot be decoded (a damaged
// file) is logged and left out, as a gap.
func (r *Recordings) Disclosure(ctx context.Context, bed, code string, from, to time.Time) ([]Segment, error) {
	c, err := strconv.ParseUint(code, 10, 32)
	if err != nil || c == 0 {
		return nil, fmt.Errorf("recordings: channel code %q is not an MDC code", code)
	}
	fromMs, toMs := from.UnixMilli(), to.UnixMilli()
	// No chunk spans more than MaxChunkSpan (and a sample period), so the
	// index range on start_ms can begin a little more than that before from.
	rows, err := r.db.QueryContext(ctx, `SELECT k.start_ms, k.rate_hz, k.n, k.gain, k.baseline, k.data
		FROM series s JOIN chunk k ON k.series = s.id
		WHERE s.bed = ? AND s.kind = 'wave' AND s.code = ?
		AND k.start_ms >= ? AND k.start_ms < ? AND k.end_ms > ?
		ORDER BY k.start_ms`, bed, c, fromMs-MaxChunkSpan.Milliseconds()-60_000, toMs, fromMs)
	if err != nil {
		return nil, fmt.Errorf("recordings: disclosure: %w", err)
	}
	defer rows.Close()
	var (
		out []Segment
		raw []int16
		dec decoder
	)
	for rows.Next() {
		var (
			startMs        int64
			rate           float64
			n              int
			gain, baseline float64
			data           []byte
		)
		if err := rows.Scan(&startMs, &rate, &n, &gain, &baseline, &data); err != nil {
			return nil, fmt.Errorf("recordings: disclosure: %w", err)
		}
		if raw, err = dec.decode(raw[:0], data, n); err != nil {
			// One damaged chunk shows as a gap, not as a review that fails.
			r.opt.Log.Error("recordings: unreadable waveform chunk skipped", "bed", bed, "code", c,
				"start", time.UnixMilli(startMs).UTC(), "err", err)
			continue
		}
		// Keep the samples inside [from, to).
		period := 1000 / rate
		first := max(0, int(math.Ceil(float64(fromMs-startMs)/period)))
		last := min(n, int(math.Ceil(float64(toMs-startMs)/period)))
		if first >= last {
			continue
		}
		ch := feed.Channel{Gain: float32(gain), Baseline: float32(baseline)}
		start := time.UnixMilli(startMs).Add(time.Duration(float64(first) * period * float64(time.Millisecond)))
		// A chunk that starts where the last segment ends (within the
		// rounding of start_ms to whole ms) continues it.
		var seg *Segment
		if k := len(out) - 1; k >= 0 && out[k].RateHz == rate &&
			math.Abs(float64(start.Sub(out[k].End()))/float64(time.Millisecond)) <= max(1, period/2) {
			seg = &out[k]
		} else {
			out = append(out, Segment{Start: start.UTC(), RateHz: rate})
			seg = &out[len(out)-1]
		}
		for _, s := range raw[first:last] {
			seg.Samples = append(seg.Samples, ch.Physical(s))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recordings: disclosure: %w", err)
	}
	return out, nil
}

// Beds lists the beds that have anything recorded (still kept), in name order.
func (r *Recordings) Beds(ctx context.Context) ([]string, error) {
	return r.strings(ctx, `SELECT DISTINCT bed FROM series s WHERE
		EXISTS (SELECT 1 FROM trend WHERE series = s.id) OR EXISTS (SELECT 1 FROM chunk WHERE series = s.id)
		ORDER BY bed`)
}

// Params lists the numeric parameters (decimal MDC codes) with trends for
// bed, in code order. Trend takes them as they are.
func (r *Recordings) Params(ctx context.Context, bed string) ([]string, error) {
	return r.strings(ctx, `SELECT code FROM series s WHERE bed = ? AND kind = 'trend'
		AND EXISTS (SELECT 1 FROM trend WHERE series = s.id) ORDER BY code`, bed)
}

// Channels lists the waveform channels (decimal MDC codes) recorded for
// bed, in code order. Disclosure takes them as they are.
func (r *Recordings) Channels(ctx context.Context, bed string) ([]string, error) {
	return r.strings(ctx, `SELECT code FROM series s WHERE bed = ? AND kind = 'wave'
		AND EXISTS (SELECT 1 FROM chunk WHERE series = s.id) ORDER BY code`, bed)
}

func (r *Recordings) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("recordings: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// WaveRange is the span of bed's stored waveforms: the start of its oldest
// chunk and the end of its newest (zero times when it has none).
func (r *Recordings) WaveRange(ctx context.Context, bed string) (first, last time.Time, err error) {
	var lo, hi sql.NullInt64
	err = r.db.QueryRowContext(ctx, `SELECT MIN(k.start_ms), MAX(k.end_ms) FROM chunk k
		JOIN series s ON s.id = k.series WHERE s.bed = ? AND s.kind = 'wave'`, bed).Scan(&lo, &hi)
	if err != nil || !lo.Valid {
		return time.Time{}, time.Time{}, err
	}
	return time.UnixMilli(lo.Int64), time.UnixMilli(hi.Int64), nil
}
