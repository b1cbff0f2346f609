package app

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// MaxSimHistory is the most trend history --sim-history makes up.
const MaxSimHistory = 72 * time.Hour

// simHistory gives the simulated ward's beds trend history before they
// start, so a demonstration or a training session has trends to look at:
// one-minute values for every bed over the span before now (a daily
// rhythm, noise, NIBP every 15 minutes, and two episodes: bed 05
// desaturates and bed 07 has a run of tachycardia). Only simulated beds
// with no trend recorded yet get it, and only trends (no waveforms, no
// journal rows: no alarm is made up). It runs before the feed starts, so
// the live minutes follow it.
func (c *Core) simHistory(ctx context.Context, span time.Duration, beds []string) (int, error) {
	if c.Recordings == nil || span <= 0 {
		return 0, nil
	}
	now := time.Now().Truncate(time.Minute)
	from := now.Add(-span)
	frames := 0
	for i, bed := range beds {
		have, err := c.Recordings.Params(ctx, bed)
		if err != nil {
			return frames, err
		}
		if len(have) > 0 {
			continue // this bed has history already
		}
		rng := rand.New(rand.NewPCG(uint64(i)+1, 7))
		hr0 := 62 + float64((i*7)%30)
		spo20 := 95 + float64(i%4)
		rr0 := 13 + float64(i%6)
		sys0, dia0 := 112+float64((i*11)%30), 68+float64((i*5)%16)
		phase := float64(i) * 0.7
		for t := from; t.Before(now); t = t.Add(time.Minute) {
			if err := ctx.Err(); err != nil {
				return frames, err
			}
			day := 2 * math.Pi * float64(t.Unix()%86400) / 86400
			hr := hr0 + 6*math.Sin(day+phase) + rng.NormFloat64()*2
			spo2 := min(100, spo20+rng.NormFloat64()*0.7)
			rr := rr0 + 2*math.Sin(day+phase+1) + rng.NormFloat64()
			temp := 36.7 + 0.3*math.Sin(day+phase-1) + rng.NormFloat64()*0.05
			ago := now.Sub(t)
			switch {
			case bed == "05" && ago > 3*time.Hour && ago < 3*time.Hour+20*time.Minute:
				spo2 = 84 + rng.Float64()*4
				hr += 15
			case bed == "07" && ago > 6*time.Hour && ago < 6*time.Hour+30*time.Minute:
				hr = 128 + rng.NormFloat64()*3
			}
			vals := []feed.Numeric{
				{Code: feed.MDCECGHeartRate, Value: math.Round(hr), Valid: true},
				{Code: feed.MDCSpO2, Value: math.Round(spo2), Valid: true},
				{Code: feed.MDCRespRate, Value: math.Round(rr), Valid: true},
				{Code: feed.MDCTemp, Value: math.Round(temp*10) / 10, Valid: true},
			}
			if t.Minute()%15 == 0 {
				sys := sys0 + 8*math.Sin(day+phase) + rng.NormFloat64()*4
				dia := dia0 + 4*math.Sin(day+phase) + rng.NormFloat64()*3
				vals = append(vals, feed.Numeric{Code: feed.MDCNIBPSys, Value: math.Round(sys), Valid: true},
					feed.Numeric{Code: feed.MDCNIBPDia, Value: math.Round(dia), Valid: true},
					feed.Numeric{Code: feed.MDCNIBPMean, Value: math.Round((sys + 2*dia) / 3), Valid: true})
			}
			c.Recordings.Numerics(bed, feed.NumFrame{TsMs: t.UnixMilli(), Values: vals}, t)
			frames++
			// The writer's queue is bounded: let it drain rather than drop.
			for c.Recordings.Stats().Queue > 1024 {
				select {
				case <-ctx.Done():
					return frames, ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}
	return frames, nil
}
