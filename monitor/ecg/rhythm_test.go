package ecg

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/wfdb"
	"github.com/vigil-station/vigil/monitor/wfdb/wfdbtest"
)

// feed pushes seconds of a synthetic lead (both leads the same) and
// returns the conditions seen at any 100 ms check in the last window
// seconds.
func feedRhythm(r *Rhythm, x []float64, fs, window float64, pulse func(i int) float64) Condition {
	var seen Condition
	from := len(x) - int(window*fs)
	for i, v := range x {
		r.Push(v, v)
		if pulse != nil {
			r.PushPulse(pulse(i))
		}
		if i >= from && i%int(0.1*fs) == 0 {
			now, _, _ := r.Conditions()
			seen |= now
		}
	}
	return seen
}

func TestRhythmConditions(t *testing.T) {
	const fs = 250
	normal, _ := synthECG(fs, 40, 75, 0.1)
	if c := feedRhythm(NewRhythm(fs, 2), normal, fs, 30, nil); c != 0 {
		t.Fatalf("75 bpm sinus rhythm raises %v", c)
	}
	brady, _ := synthECG(fs, 40, 35, 0.1)
	if c := feedRhythm(NewRhythm(fs, 2), brady, fs, 20, nil); c&ExtremeBrady == 0 || c&(VTach|VFib|ExtremeTachy) != 0 {
		t.Fatalf("35 bpm: %v, want extreme bradycardia", c)
	}
	tachy, _ := synthECG(fs, 40, 160, 0.1)
	if c := feedRhythm(NewRhythm(fs, 2), tachy, fs, 20, nil); c&ExtremeTachy == 0 || c&(VTach|VFib|ExtremeBrady) != 0 {
		t.Fatalf("160 bpm narrow: %v, want extreme tachycardia only", c)
	}
	// 20 s of rhythm, then a flat line: asystole after 4 s, unless the
	// pleth goes on pulsing at 75/min.
	flat := append(normal[:20*fs:20*fs], make([]float64, 10*fs)...)
	if c := feedRhythm(NewRhythm(fs, 2), flat, fs, 3, nil); c&Asystole == 0 {
		t.Fatalf("flat line: %v, want asystole", c)
	}
	pleth := func(i int) float64 { return math.Sin(2 * math.Pi * 1.25 * float64(i) / fs) }
	r := NewRhythm(fs, 2).WithPulse(fs)
	if c := feedRhythm(r, flat, fs, 3, pleth); c&Asystole != 0 {
		t.Fatalf("flat ECG with a pulsing pleth: %v, want asystole held back", c)
	}
	if _, why, held := r.Conditions(); held&Asystole == 0 || why[Asystole].PulseBPM < 70 || why[Asystole].PulseBPM > 80 {
		t.Fatalf("held back %v, evidence %+v", held, why[Asystole])
	}
	// A 5 Hz fibrillatory wave after sinus rhythm.
	vf := append([]float64(nil), normal[:20*fs]...)
	for i := range 10 * fs {
		vf = append(vf, 0.4*math.Sin(2*math.Pi*5*float64(i)/fs+0.3*math.Sin(2*math.Pi*0.7*float64(i)/fs)))
	}
	if c := feedRhythm(NewRhythm(fs, 2), vf, fs, 4, nil); c&VFib == 0 {
		t.Fatalf("fibrillatory wave: %v, want VF", c)
	}
	// A run of wide complexes at 150 bpm after sinus rhythm: VT.
	vt := append([]float64(nil), normal[:20*fs]...)
	wide, _ := synthWide(fs, 10, 150)
	vt = append(vt, wide...)
	if c := feedRhythm(NewRhythm(fs, 2), vt, fs, 8, nil); c&VTach == 0 {
		t.Fatalf("wide complexes at 150 bpm: %v, want VT", c)
	}
}

// synthWide is a run of wide (biphasic, 60 ms sigma) complexes at bpm.
func synthWide(fs, seconds, bpm float64) ([]float64, []int64) {
	n := int(seconds * fs)
	x := make([]float64, n)
	var rs []int64
	for t := 0.2; t < seconds-0.3; t += 60 / bpm {
		rs = append(rs, int64(t*fs))
	}
	for i := range x {
		s := float64(i) / fs
		for _, r := range rs {
			dt := s - float64(r)/fs
			if dt < -0.3 || dt > 0.3 {
				continue
			}
			x[i] += 1.5 * dt / 0.04 * math.Exp(-dt*dt/(2*0.04*0.04))
		}
	}
	return x, rs
}

// TestMITBIHNoFalseArrhythmia: the whole of the shared MIT-BIH records
// without a lethal arrhythmia (106's expert-marked "VT" is a run of 3, not
// the 5 the definition asks) raise nothing, both leads analysed. (Record
// 105, very noisy, and 208, frequent PVCs and fusion beats, still raise
// false VT episodes: see the README.)
func TestMITBIHNoFalseArrhythmia(t *testing.T) {
	dir := wfdbtest.Path(t, "mitdb")
	for _, name := range []string{"100", "101", "103", "106", "119"} {
		rec, err := wfdb.Read(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		raised, held, why, err := RecordAlarms(rec, rec.Duration(), rec.Duration())
		if err != nil {
			t.Fatal(err)
		}
		if raised&(Lethal|Noisy) != 0 || held != 0 {
			t.Errorf("record %s raises %v (held back %v): %+v", name, raised&(Lethal|Noisy), held, why)
		}
	}
}

// TestMITBIHNoisy: record 105's stretches of heavy noise are reported as
// a noisy ECG; 208's couplets and multiform PVCs, on a clean ECG, are not,
// though some of their runs are held back as disorganised.
func TestMITBIHNoisy(t *testing.T) {
	dir := wfdbtest.Path(t, "mitdb")
	for name, want := range map[string]bool{"105": true, "208": false} {
		rec, err := wfdb.Read(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		raised, held, _, err := RecordAlarms(rec, rec.Duration(), rec.Duration())
		if err != nil {
			t.Fatal(err)
		}
		if got := raised&Noisy != 0; got != want {
			t.Errorf("record %s: ECG noisy %v, want %v (raised %v, held back %v)", name, got, want, raised, held)
		}
	}
}

// The ectopy patterns by beat class: bigeminy over 8 beats, trigeminy over
// 9, at any phase; a normal beat out of place, an unjudged one or a stale
// last beat breaks them.
func TestEctopyPatterns(t *testing.T) {
	const fs = 250
	beats := func(pattern string) []Beat {
		var b []Beat
		for i, c := range pattern {
			cls := map[rune]Class{'N': ClassNormal, 'V': ClassVentricular, '?': ClassUnknown}[c]
			b = append(b, Beat{Sample: int64(i) * fs * 3 / 4, Class: cls})
		}
		return b
	}
	for _, tt := range []struct {
		pattern string
		want    Condition
	}{
		{"NVNVNVNV", Bigeminy},
		{"NNVNVNVNVN", Bigeminy},
		{"NVNVNVNN", 0},
		{"NVNV?VNV", 0},
		{"NNVNNVNNV", Trigeminy},
		{"VNNVNNVNNVN", Trigeminy},
		{"NNVNNVNVV", 0},
		{"NNNNNNNNNN", 0},
		{"VVVVVVVV", 0}, // a run is the VT rule's
	} {
		b := beats(tt.pattern)
		t1 := b[len(b)-1].Sample + fs/2
		if got := ectopy(b, t1, fs); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.pattern, got, tt.want)
		}
		if got := ectopy(b, t1+3*fs, fs); got != 0 {
			t.Errorf("%s, last beat 3.5 s ago: %v", tt.pattern, got)
		}
	}
}

// TestMITBIHEctopy: over the whole of the shared MIT-BIH records, every
// episode of bigeminy or trigeminy Vigil reports holds real ventricular
// ectopy (at least 3 of the reference's PVCs from 10 s before it to its
// end), the records with frequent PVCs in those patterns (106, 119, 208)
// report it, the ones without (100, 101, 103) never do. Noisy 105 may.
func TestMITBIHEctopy(t *testing.T) {
	dir := wfdbtest.Path(t, "mitdb")
	episodes, real := 0, 0
	for _, name := range []string{"100", "101", "103", "105", "106", "119", "208"} {
		rec, err := wfdb.Read(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fs := rec.Rate(0)
		anns, err := wfdb.ReadAnnotations(filepath.Join(dir, name+".atr"), fs)
		if err != nil {
			t.Fatal(err)
		}
		pvcs := func(a, b int64) int {
			n := 0
			for _, x := range anns {
				if x.Sample >= a && x.Sample <= b && wfdb.IsVentricular(x.Code) {
					n++
				}
			}
			return n
		}
		x0, x1 := rec.Physical(0), rec.Physical(1)
		r := NewRhythm(fs, 2)
		var prev Condition
		var from int64
		n, ok := 0, 0
		for i := range int64(len(x0)) {
			r.Push(x0[i], x1[i])
			if i%int64(fs/2) != 0 && i != int64(len(x0))-1 {
				continue
			}
			c, _, _ := r.Conditions()
			c &= Ectopy
			if c != 0 && prev == 0 {
				from = i
			}
			if prev != 0 && (c == 0 || i == int64(len(x0))-1) {
				n++
				if pvcs(from-int64(10*fs), i) >= 3 {
					ok++
				}
			}
			prev = c
		}
		t.Logf("record %s: %d ectopy episodes, %d with real PVCs", name, n, ok)
		switch name {
		case "100", "101", "103":
			if n != 0 {
				t.Errorf("record %s: %d ectopy episodes, it has none", name, n)
			}
		case "106", "119", "208":
			if n == 0 {
				t.Errorf("record %s: no ectopy reported", name)
			}
		}
		episodes += n
		real += ok
	}
	if episodes == 0 || float64(real) < 0.95*float64(episodes) {
		t.Errorf("%d of %d ectopy episodes hold real PVCs, want 95 %%", real, episodes)
	}
}

// synthNoise is artefact that a detector takes for a fast run of wide
// complexes: blobs of random shape, width, size and sign, 0.3–0.5 s apart,
// on a jagged background.
func synthNoise(fs, seconds float64, seed uint64) []float64 {
	rnd := rand.New(rand.NewPCG(seed, 7))
	n := int(seconds * fs)
	x := make([]float64, n)
	for t := 0.2; t < seconds-0.3; t += 0.3 + 0.2*rnd.Float64() {
		a1, a2 := (0.5+2.5*rnd.Float64())*sign(rnd), (0.3+2*rnd.Float64())*sign(rnd)
		w1, w2 := 0.02+0.06*rnd.Float64(), 0.02+0.06*rnd.Float64()
		off := 0.15 * (rnd.Float64() - 0.5)
		for i := max(0, int((t-0.3)*fs)); i < min(n, int((t+0.3)*fs)); i++ {
			dt := float64(i)/fs - t
			x[i] += a1*math.Exp(-dt*dt/(2*w1*w1)) + a2*math.Exp(-(dt-off)*(dt-off)/(2*w2*w2))
		}
	}
	for i := range x {
		x[i] += 0.15 * rnd.NormFloat64()
	}
	return x
}

func sign(r *rand.Rand) float64 {
	if r.IntN(2) == 0 {
		return -1
	}
	return 1
}

// TestVTOrganisation: a monomorphic run of wide complexes is VT, with its
// complexes alike; artefact the detector takes for a run of ventricular
// complexes is held back and reported as a noisy ECG, and so is nothing
// else. The same sinus rhythm precedes both.
func TestVTOrganisation(t *testing.T) {
	const fs = 250
	normal, _ := synthECG(fs, 20, 75, 0.1)
	wide, _ := synthWide(fs, 10, 150)
	r := NewRhythm(fs, 2)
	if c := feedRhythm(r, append(normal[:20*fs:20*fs], wide...), fs, 8, nil); c&VTach == 0 || c&Noisy != 0 {
		t.Fatalf("monomorphic wide complexes at 150 bpm: %v, want VT and not noisy", c)
	}
	if _, why, _ := r.Conditions(); why[VTach].Like < likeRun {
		t.Fatalf("VT evidence %+v: its complexes should be alike", why[VTach])
	}
	// Random blobs are smooth, and now and then a few in a row look alike
	// for a second, as real artefact does (2015 Challenge record v115l):
	// the measure is not fooled by most (2 or 3 of these 10 get through,
	// depending on which blobs the detector takes), and it never misses
	// the noise.
	fooled := 0
	for seed := range uint64(10) {
		r := NewRhythm(fs, 2)
		c := feedRhythm(r, append(normal[:20*fs:20*fs], synthNoise(fs, 10, seed)...), fs, 9, nil)
		if c&Noisy == 0 {
			t.Errorf("seed %d: artefact raises %v, not ECG noisy", seed, c)
		}
		if c&VTach != 0 {
			fooled++
		}
	}
	if fooled > 3 {
		t.Errorf("%d of 10 artefacts raised VT, want at most 3", fooled)
	}
	t.Logf("%d of 10 artefacts raised VT", fooled)
}

// wideRun: a run of narrow complexes is not VT, however premature and
// unlike the dominant beat the classifier found them.
func TestWideRun(t *testing.T) {
	run := func(widths ...float64) []Beat {
		var b []Beat
		for _, w := range widths {
			b = append(b, Beat{Width: w, DominantWidth: 0.090, Class: ClassVentricular})
		}
		return b
	}
	for _, c := range []struct {
		b    []Beat
		want bool
	}{
		{run(0.096, 0.092, 0.048, 0.080, 0.076), false}, // narrower than the dominant 90 ms
		{run(0.100, 0.104, 0.108, 0.100, 0.112), false}, // +14 ms
		{run(0.110, 0.112, 0.114, 0.110, 0.116), true},  // +22 ms
		{run(0.128, 0.084, 0.096, 0.240, 0.124), true},  // median 124 ms
		{run(0, 0, 0, 0, 0), true},                      // not measured: not judged
	} {
		if got := wideRun(c.b); got != c.want {
			t.Errorf("widths %v: wide %v, want %v", c.b, got, c.want)
		}
	}
}

// TestNoVFInOrganisedRhythms: wide, smooth complexes look fibrillatory to
// the VF filter; a regular rhythm of them at 60/min (paced, or a bundle
// branch block) is no VF at all, and a regular run at 150/min is VT, not
// VF. The same on a real paced rhythm: the first 4 minutes of 2015
// Challenge record v188s (paced at 60/min, before its VT).
func TestNoVFInOrganisedRhythms(t *testing.T) {
	const fs = 250
	paced, _ := synthWide(fs, 60, 60)
	if c := feedRhythm(NewRhythm(fs, 2), paced, fs, 45, nil); c != 0 {
		t.Errorf("wide complexes at 60/min: %v, want nothing", c)
	}
	normal, _ := synthECG(fs, 20, 75, 0.1)
	wide, _ := synthWide(fs, 20, 150)
	if c := feedRhythm(NewRhythm(fs, 2), append(normal[:20*fs:20*fs], wide...), fs, 15, nil); c&VTach == 0 || c&VFib != 0 {
		t.Errorf("wide complexes at 150/min: %v, want VT and no VF", c)
	}
	rec, err := wfdb.Read(filepath.Join(wfdbtest.Path(t, "challenge2015"), "v188s"))
	if err != nil {
		t.Fatal(err)
	}
	raised, _, _, err := RecordAlarms(rec, 240, 230)
	if err != nil {
		t.Fatal(err)
	}
	if raised&(VFib|VTach) != 0 {
		t.Errorf("v188s's paced rhythm raises %v", raised)
	}
}

// BenchmarkRhythmNoise: the whole analysis of two leads, asked for its
// conditions at every frame as the hub does, over 60 s of record 105's
// heaviest noise (from 1190 s, where runs are held back and judged for
// organisation) against 60 s of clean record 100: the cost of noise as a
// ratio.
func BenchmarkRhythmNoise(b *testing.B) {
	dir := wfdbtest.Path(b, "mitdb")
	run := func(name string, from float64) time.Duration {
		rec, err := wfdb.Read(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		fs := rec.FrameRate
		x, y := rec.Physical(0), rec.Physical(1)
		i0, i1 := int((from-30)*fs), int((from+60)*fs) // 30 s to settle, untimed
		var spent time.Duration
		for range b.N {
			r := NewRhythm(fs, 2)
			for i := i0; i < i0+int(30*fs); i++ {
				r.Push(x[i], y[i])
				r.Conditions()
			}
			start := time.Now()
			for i := i0 + int(30*fs); i < i1; i++ {
				r.Push(x[i], y[i])
				r.Conditions()
			}
			spent += time.Since(start)
		}
		return spent / time.Duration(b.N)
	}
	clean, noisy := run("100", 1190), run("105", 1190)
	b.ReportMetric(float64(clean.Microseconds())/60/1000, "ms_per_s_clean")
	b.ReportMetric(float64(noisy.Microseconds())/60/1000, "ms_per_s_noise")
	b.ReportMetric(float64(noisy)/float64(clean), "noise_ratio")
	benchout.Record("ecg_noise_cost_ratio", float64(noisy)/float64(clean), "x_clean")
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchout.Print()
	os.Exit(code)
}
