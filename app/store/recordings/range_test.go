package recordings

import (
	"context"
	"testing"
	"time"
)

// WaveRange spans a bed's stored chunks, from the first sample to the end
// of the last; a bed without waveforms has none.
func TestWaveRange(t *testing.T) {
	file := tempFile(t)
	r := open(t, file, Options{})
	run(t, r)
	ctx := context.Background()
	if f, l, err := r.WaveRange(ctx, "07"); err != nil || !f.IsZero() || !l.IsZero() {
		t.Fatalf("empty: %v %v %v", f, l, err)
	}
	gen := func(i int) int16 { return int16(i % 100) }
	for k := range 30 { // 30 s of 250 Hz, one frame a second
		start := t0.Add(time.Duration(k) * time.Second)
		r.Wave("07", waveFrame(131330, 250, 200, 0, ms(start), k*250, 250, gen), start)
	}
	r.Wave("09", waveFrame(131330, 250, 200, 0, ms(t0.Add(time.Hour)), 0, 250, gen), t0.Add(time.Hour))
	if err := r.Close(); err != nil { // writes the open chunks
		t.Fatal(err)
	}
	r = open(t, file, Options{})
	f, l, err := r.WaveRange(ctx, "07")
	if err != nil || !f.Equal(t0) || !l.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("range %v – %v (%v), want %v – %v", f, l, err, t0, t0.Add(30*time.Second))
	}
}
