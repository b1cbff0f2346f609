package ecg

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/wfdb"
	"github.com/vigil-station/vigil/monitor/wfdb/wfdbtest"
)

var mitdbRecords = []string{"100", "101", "103", "105", "106", "119", "208"}

// TestMITBIHDetection scores the detector on the shared MIT-BIH records
// (EC57: from 5 min, 150 ms window) against the product's targets: gross Se
// and +P ≥ 99.5 %, no record below 98 %. The gross floors are what the
// detector reaches today (99.69 / 99.60), so a change that makes it worse
// fails.
func TestMITBIHDetection(t *testing.T) {
	dir := wfdbtest.Path(t, "mitdb")
	var scores []Score
	for _, name := range mitdbRecords {
		rec, err := wfdb.Read(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := wfdb.ReadAnnotations(filepath.Join(dir, name+".atr"), rec.FrameRate)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := PickLead(rec.Header, "")
		if err != nil || rec.Signals[sig].Description != "MLII" {
			t.Fatalf("%s: lead %d (%v)", name, sig, err)
		}
		s := Compare(name, ref, DetectRecord(rec, sig), rec.FrameRate, 300, 0.150)
		t.Logf("%s: TP %d FN %d FP %d  Se %.2f %%  +P %.2f %%", name, s.TP, s.FN, s.FP, s.Se, s.PPV)
		if s.Se < 99 || s.PPV < 98 {
			t.Errorf("record %s: Se %.2f %%, +P %.2f %%: below the floor of 99 / 98", name, s.Se, s.PPV)
		}
		// Ventricular beats, on the records that have many (bigeminy,
		// couplets and runs in 106, 119 and 208).
		if s.VTP+s.VFN >= 300 {
			t.Logf("%s: VEB TP %d FN %d FP %d  Se %.2f %%  +P %.2f %%", name, s.VTP, s.VFN, s.VFP, s.VSe, s.VPPV)
			if s.VSe < 97 || s.VPPV < 92 {
				t.Errorf("record %s: VEB Se %.2f %%, +P %.2f %%: below the floor of 97 / 92", name, s.VSe, s.VPPV)
			}
		}
		scores = append(scores, s)
	}
	tot := Sum(scores)
	t.Logf("gross: TP %d FN %d FP %d  Se %.2f %%  +P %.2f %%; average Se %.2f %% +P %.2f %%",
		tot.Gross.TP, tot.Gross.FN, tot.Gross.FP, tot.Gross.Se, tot.Gross.PPV, tot.Average.Se, tot.Average.PPV)
	if tot.Gross.Se < 99.65 || tot.Gross.PPV < 99.55 {
		t.Errorf("gross Se %.2f %%, +P %.2f %%: below the floor of 99.65 / 99.55", tot.Gross.Se, tot.Gross.PPV)
	}
}

// TestDetectorRates: the same synthetic rhythm at 125, 250, 360, 500 and
// 1000 Hz gives every beat, each within 20 ms of its R peak and decided
// within 300 ms of it.
func TestDetectorRates(t *testing.T) {
	for _, fs := range []float64{125, 250, 360, 500, 1000} {
		x, beats := synthECG(fs, 60, 72, 0.3)
		d := NewDetector(fs)
		var got []Beat
		for _, v := range x {
			if b, ok := d.Push(v); ok {
				got = append(got, b)
			}
		}
		// The first 2 s are the detector's learning period.
		var want []int64
		for _, b := range beats {
			if float64(b) > 2.5*fs {
				want = append(want, b)
			}
		}
		matched := 0
		for _, w := range want {
			for _, g := range got {
				if dt := math.Abs(float64(g.Sample-w)) / fs; dt <= 0.020 {
					matched++
					if lag := float64(g.Decided-g.Sample) / fs; lag > 0.300 || lag < 0 {
						t.Errorf("%g Hz: beat at %d decided %.0f ms after its R peak", fs, w, lag*1000)
					}
					break
				}
			}
		}
		if matched != len(want) || len(got) > len(want)+2 {
			t.Errorf("%g Hz: %d of %d beats found within 20 ms, %d detections", fs, matched, len(want), len(got))
		}
	}
}

// synthECG is a clean lead at fs: Gaussian QRS complexes (1 mV, 25 ms
// wide) at rate bpm with T waves and a 0.3 Hz baseline wander of amplitude
// wander mV. It returns the samples and the R peaks.
func synthECG(fs, seconds, bpm, wander float64) ([]float64, []int64) {
	n := int(seconds * fs)
	x := make([]float64, n)
	var rs []int64
	rr := 60 / bpm
	for t := 0.5; t < seconds-0.5; t += rr {
		rs = append(rs, int64(math.Round(t*fs)))
	}
	for i := range x {
		s := float64(i) / fs
		v := wander * math.Sin(2*math.Pi*0.3*s)
		for _, r := range rs {
			dt := s - float64(r)/fs
			if dt < -0.3 || dt > 0.6 {
				continue
			}
			v += math.Exp(-dt * dt / (2 * 0.010 * 0.010))             // QRS
			v += 0.3 * math.Exp(-(dt-0.25)*(dt-0.25)/(2*0.040*0.040)) // T
		}
		x[i] = v
	}
	return x, rs
}

// TestScorerGolden: scoring the reference tool's own QRS annotations of
// 100s against the expert's (from the start) gives bxb's published result.
func TestScorerGolden(t *testing.T) {
	dir := wfdbtest.Path(t, "wfdb_golden")
	ref, err := wfdb.ReadAnnotations(filepath.Join(dir, "100s.atr"), 360)
	if err != nil {
		t.Fatal(err)
	}
	test, err := wfdb.ReadAnnotations(filepath.Join(dir, "100s.qrs"), 360)
	if err != nil {
		t.Fatal(err)
	}
	s := Compare("100s", ref, test, 360, 0, 0.150)
	if s.TP != 74 || s.FN != 0 || s.FP != 0 {
		t.Fatalf("TP %d FN %d FP %d, bxb.out says 74/74 and 74/74", s.TP, s.FN, s.FP)
	}
}

func TestScorerRules(t *testing.T) {
	a := func(sample int64, code int, aux string) wfdb.Annotation {
		return wfdb.Annotation{Sample: sample, Code: code, Aux: aux}
	}
	ref := []wfdb.Annotation{
		a(100, 1, ""), a(1000, 1, ""), a(2000, 5, ""), a(3000, 1, ""),
		a(3500, wfdb.CodeRhythm, "(VFL"), a(3600, 1, ""), a(3900, wfdb.CodeRhythm, "(N"),
		a(4000, wfdb.CodeVFOn, ""), a(4100, 1, ""), a(4200, wfdb.CodeVFOff, ""),
		a(5000, 1, ""), a(5300, 14, ""), // noise is not a beat
	}
	test := []wfdb.Annotation{
		a(100, 1, ""),  // before start: not scored
		a(1050, 1, ""), // within 150 ms at fs 1000
		a(1100, 1, ""), // second match for the same beat: FP
		a(2160, 5, ""), // 160 ms: outside the window, FP; and 2000 is FN
		a(3000, 5, ""), // TP, V where the reference says N: V false positive
		a(3610, 1, ""), // inside "(VFL": not counted
		a(4100, 1, ""), // inside [ ]: not counted
		a(5300, 1, ""), // FP (the reference's noise mark is no beat)
	}
	s := Compare("r", ref, test, 1000, 0.5, 0.150)
	// V: 2000 missed (VFN), 3000 N called V (VFP), 2160 a V matching
	// nothing (VFP, Ov).
	if s.TP != 2 || s.FN != 2 || s.FP != 3 || s.VFN != 1 || s.VFP != 2 || s.VTP != 0 {
		t.Fatalf("%+v", s)
	}
	// The nearest pair wins: 1000 ← 1050, and the later beat 5000 has none.
	if len(s.Unmatched) != 2 || s.Unmatched[0] != 2000 || s.Unmatched[1] != 5000 {
		t.Fatalf("unmatched %v", s.Unmatched)
	}
}

// BenchmarkDetectRecord: a 30-minute MIT-BIH record through the detector;
// reports how many times faster than real time.
func BenchmarkDetectRecord(b *testing.B) {
	rec, err := wfdb.Read(filepath.Join(wfdbtest.Path(b, "mitdb"), "208"))
	if err != nil {
		b.Fatal(err)
	}
	x := rec.Physical(0)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		d := NewDetector(rec.FrameRate)
		for _, v := range x {
			d.Push(v)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(rec.Duration()/per.Seconds(), "x_realtime")
	b.ReportMetric(float64(per.Nanoseconds())/float64(len(x)), "ns/sample")
}
