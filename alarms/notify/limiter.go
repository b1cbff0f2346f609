package notify

import "time"

// bucket is a token bucket kept as a theoretical arrival time (the "virtual
// scheduling" form of a token bucket), so all arithmetic is exact integer
// time: up to burst notifications at once, then one per interval. A full
// bucket refills completely after burst × interval without notifications.
type bucket struct {
	burst    int
	interval time.Duration
	tat      time.Time // when the bucket will be full again; zero: full
}

// debt is how much of the bucket is spent at now, as refill time.
func (b *bucket) debt(now time.Time) time.Duration {
	if b.tat.After(now) {
		return b.tat.Sub(now)
	}
	return 0
}

// available is the number of whole tokens in the bucket at now.
func (b *bucket) available(now time.Time) int {
	return int((time.Duration(b.burst)*b.interval - b.debt(now)) / b.interval)
}

// take spends one token at now. The caller checks available first.
func (b *bucket) take(now time.Time) {
	if b.tat.Before(now) {
		b.tat = now
	}
	b.tat = b.tat.Add(b.interval)
}

// readyAt is the first instant, not before now, with a whole token.
func (b *bucket) readyAt(now time.Time) time.Time {
	t := b.tat.Add(-time.Duration(b.burst-1) * b.interval)
	if t.Before(now) {
		return now
	}
	return t
}
