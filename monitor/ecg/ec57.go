package ecg

import (
	"slices"
	"strings"

	"github.com/vigil-station/vigil/monitor/wfdb"
)

// Scoring beat detection the way ANSI/AAMI EC57 and WFDB's bxb do it:
//
//   - the reference is the expert beat annotations; beats inside reference-
//     marked ventricular flutter or fibrillation ('[' to ']', or a "(VFL" /
//     "(VF" rhythm until the next rhythm change) are not counted, on either
//     side;
//   - only beats from Start on are scored (5 minutes for MIT-BIH: the
//     detector's learning period);
//   - a detection matches a reference beat within Window (150 ms); each is
//     matched at most once, nearest pairs first;
//   - TP matched, FN reference beats unmatched, FP detections unmatched;
//     Se = TP/(TP+FN), +P = TP/(TP+FP);
//   - VEB: Se = Vv/(Vv + V called otherwise or missed), +P = Vv/(Vv + Nv +
//     Ov), where a fusion or unclassifiable reference beat called V is not
//     counted.

// Score is one record's beat-by-beat comparison.
type Score struct {
	Record     string  `json:"record"`
	TP         int     `json:"tp"`
	FN         int     `json:"fn"`
	FP         int     `json:"fp"`
	Se         float64 `json:"se"`  // %, NaN-free: 0 when undefined
	PPV        float64 `json:"ppv"` // %
	VTP        int     `json:"v_tp"`
	VFN        int     `json:"v_fn"`
	VFP        int     `json:"v_fp"`
	VSe        float64 `json:"v_se"`  // VEB sensitivity, %, -1 when the reference has none
	VPPV       float64 `json:"v_ppv"` // VEB positive predictivity, %, -1 when no V detected
	RefBeats   int     `json:"ref_beats"`
	TestBeats  int     `json:"test_beats"`
	Unmatched  []int64 `json:"-"` // reference beats missed (samples), for diagnosis
	FalseBeats []int64 `json:"-"` // detections matching nothing
}

// Compare scores test against ref (both in samples at rate fs). Only beat
// annotations count; V-class agreement is scored on the matched pairs.
func Compare(record string, ref, test []wfdb.Annotation, fs float64, start, window float64) Score {
	s := Score{Record: record}
	from := int64(start * fs)
	w := int64(window*fs + 0.5)
	excl := vfEpisodes(ref)
	inVF := func(t int64) bool {
		for _, e := range excl {
			if t >= e[0] && t <= e[1] {
				return true
			}
		}
		return false
	}
	var r, d []wfdb.Annotation
	for _, a := range ref {
		if wfdb.IsBeat(a.Code) && a.Sample >= from && !inVF(a.Sample) {
			r = append(r, a)
		}
	}
	for _, a := range test {
		if wfdb.IsBeat(a.Code) && a.Sample >= from && !inVF(a.Sample) {
			d = append(d, a)
		}
	}
	slices.SortFunc(r, func(a, b wfdb.Annotation) int { return cmp64(a.Sample, b.Sample) })
	slices.SortFunc(d, func(a, b wfdb.Annotation) int { return cmp64(a.Sample, b.Sample) })
	s.RefBeats, s.TestBeats = len(r), len(d)
	type pair struct {
		i, j int
		dt   int64
	}
	var pairs []pair
	j0 := 0
	for i, a := range r {
		for j0 < len(d) && d[j0].Sample < a.Sample-w {
			j0++
		}
		for j := j0; j < len(d) && d[j].Sample <= a.Sample+w; j++ {
			pairs = append(pairs, pair{i, j, abs64(d[j].Sample - a.Sample)})
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp64(a.dt, b.dt) })
	mr, md := make([]bool, len(r)), make([]bool, len(d))
	for _, p := range pairs {
		if mr[p.i] || md[p.j] {
			continue
		}
		mr[p.i], md[p.j] = true, true
		s.TP++
		rv, dv := wfdb.IsVentricular(r[p.i].Code), wfdb.IsVentricular(d[p.j].Code)
		switch {
		case rv && dv:
			s.VTP++
		case rv:
			s.VFN++
		case dv && r[p.i].Code != wfdb.CodeFusion && r[p.i].Code != codeUnclassified:
			// Nv; a fusion or unclassifiable beat called V (Fv, Qv) is not
			// held against the test, as in EC57.
			s.VFP++
		}
	}
	for i, ok := range mr {
		if !ok {
			s.FN++
			s.Unmatched = append(s.Unmatched, r[i].Sample)
			if wfdb.IsVentricular(r[i].Code) {
				s.VFN++
			}
		}
	}
	for j, ok := range md {
		if !ok {
			s.FP++
			s.FalseBeats = append(s.FalseBeats, d[j].Sample)
			if wfdb.IsVentricular(d[j].Code) {
				s.VFP++ // Ov: a V where the reference has no beat
			}
		}
	}
	s.Se, s.PPV = pct(s.TP, s.TP+s.FN), pct(s.TP, s.TP+s.FP)
	s.VSe, s.VPPV = pctOr(s.VTP, s.VTP+s.VFN), pctOr(s.VTP, s.VTP+s.VFP)
	return s
}

// vfEpisodes lists the reference's ventricular flutter/fibrillation spans.
func vfEpisodes(ref []wfdb.Annotation) [][2]int64 {
	var out [][2]int64
	open := int64(-1)
	inRhythm := false
	for _, a := range ref {
		switch {
		case a.Code == wfdb.CodeVFOn:
			if open < 0 {
				open = a.Sample
			}
		case a.Code == wfdb.CodeVFOff:
			if open >= 0 {
				out = append(out, [2]int64{open, a.Sample})
				open = -1
			}
		case a.Code == wfdb.CodeRhythm:
			vf := strings.HasPrefix(a.Aux, "(VF")
			if vf && !inRhythm && open < 0 {
				open, inRhythm = a.Sample, true
			} else if !vf && inRhythm {
				out = append(out, [2]int64{open, a.Sample})
				open, inRhythm = -1, false
			}
		}
	}
	if open >= 0 {
		out = append(out, [2]int64{open, 1<<62 - 1})
	}
	return out
}

// Total pools records (gross) and averages their percentages.
type Total struct {
	Gross struct {
		TP  int     `json:"tp"`
		FN  int     `json:"fn"`
		FP  int     `json:"fp"`
		Se  float64 `json:"se"`
		PPV float64 `json:"ppv"`
	} `json:"gross"`
	Average struct {
		Se  float64 `json:"se"`
		PPV float64 `json:"ppv"`
	} `json:"average"`
}

// Sum pools the scores.
func Sum(scores []Score) Total {
	var t Total
	for _, s := range scores {
		t.Gross.TP += s.TP
		t.Gross.FN += s.FN
		t.Gross.FP += s.FP
		t.Average.Se += s.Se
		t.Average.PPV += s.PPV
	}
	t.Gross.Se = pct(t.Gross.TP, t.Gross.TP+t.Gross.FN)
	t.Gross.PPV = pct(t.Gross.TP, t.Gross.TP+t.Gross.FP)
	if n := float64(len(scores)); n > 0 {
		t.Average.Se /= n
		t.Average.PPV /= n
	}
	return t
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func pctOr(a, b int) float64 {
	if b == 0 {
		return -1
	}
	return pct(a, b)
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
