package ecg

import (
	"fmt"
	"strings"

	"github.com/vigil-station/vigil/monitor/wfdb"
)

// ecgLeads are signal descriptions taken for ECG leads, in order of
// preference: the limb lead II family first (MIT-BIH's MLII), as monitors
// analyse it by default.
var ecgLeads = []string{"MLII", "II", "ECG", "ECG II", "I", "III", "MLI", "MLIII", "V", "V1", "V2", "V3", "V4", "V5", "V6",
	"MCL1", "MCL", "AVF", "AVR", "AVL", "ML5"}

// IsECG reports whether a signal description names an ECG lead.
func IsECG(desc string) bool {
	d := strings.ToUpper(strings.TrimSpace(desc))
	for _, l := range ecgLeads {
		if d == l {
			return true
		}
	}
	return strings.HasPrefix(d, "ECG")
}

// PickLead returns the signal to analyse: the one named lead when lead is
// not empty, else the preferred ECG lead of the record.
func PickLead(h *wfdb.Header, lead string) (int, error) {
	if lead != "" {
		if i := h.Find(lead); i >= 0 {
			return i, nil
		}
		return -1, fmt.Errorf("record %s has no signal %q", h.Record, lead)
	}
	for _, l := range ecgLeads {
		if i := h.Find(l); i >= 0 {
			return i, nil
		}
	}
	for i, s := range h.Signals {
		if IsECG(s.Description) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("record %s has no ECG lead", h.Record)
}

// codeUnclassified is WFDB's Q, a beat of unknown class.
const codeUnclassified = 13

// DetectRecord runs the detector over one signal of a record and returns
// its beats as annotations (sample numbers in frames of the record, code N).
func DetectRecord(rec *wfdb.Record, sig int) []wfdb.Annotation {
	spf := int64(rec.Signals[sig].SamplesPerFrame)
	d := NewDetector(rec.Rate(sig))
	var out []wfdb.Annotation
	for _, x := range rec.Physical(sig) {
		if b, ok := d.Push(x); ok {
			code := wfdb.CodeNormal
			switch b.Class {
			case ClassVentricular:
				code = wfdb.CodePVC
			case ClassUnknown:
				code = codeUnclassified
			}
			out = append(out, wfdb.Annotation{Sample: b.Sample / spf, Code: code, Chan: sig})
		}
	}
	return out
}

// RecordAlarms replays a record through the rhythm analysis up to until
// seconds (using nothing after it) and returns the conditions that held at
// any moment of the window (until − window, until], checked every 100 ms,
// and those held back and never raised (asystole by the pulse signal, VT
// as disorganised), with the evidence of the first moment each was raised,
// else held back. Every ECG lead is analysed; the
// arterial pressure, else the pleth, corroborates.
func RecordAlarms(rec *wfdb.Record, until, window float64) (raised, held Condition, why map[Condition]Evidence, err error) {
	var leads []int
	for i, s := range rec.Signals {
		if IsECG(s.Description) && s.SamplesPerFrame == rec.Signals[0].SamplesPerFrame {
			leads = append(leads, i)
		}
	}
	if len(leads) == 0 {
		return 0, 0, nil, fmt.Errorf("record %s has no ECG lead", rec.Record)
	}
	fs := rec.Rate(leads[0])
	r := NewRhythm(fs, len(leads))
	pulse := rec.Find("ABP", "ART", "PLETH")
	var pulseX []float64
	if pulse >= 0 {
		r.WithPulse(rec.Rate(pulse))
		pulseX = rec.Physical(pulse)
	}
	xs := make([][]float64, len(leads))
	for k, i := range leads {
		xs[k] = rec.Physical(i)
	}
	n := min(int64(len(xs[0])), int64(until*fs))
	from := int64((until - window) * fs)
	step := max(int64(0.1*fs), 1)
	frame := make([]float64, len(leads))
	why = map[Condition]Evidence{}
	pulseRatio := 0.0
	if pulse >= 0 {
		pulseRatio = rec.Rate(pulse) / fs
	}
	pi := 0
	for t := range n {
		for k := range xs {
			frame[k] = xs[k][t]
		}
		r.Push(frame...)
		for ; pulse >= 0 && pi < len(pulseX) && float64(pi) < float64(t+1)*pulseRatio; pi++ {
			r.PushPulse(pulseX[pi])
		}
		if t >= from && (t-from)%step == 0 {
			now, w, h := r.Conditions()
			for c, e := range w {
				switch {
				case now&c != 0 && raised&c == 0:
					why[c] = e // the first moment it was raised
				case h&c != 0 && (raised|held)&c == 0:
					why[c] = e // the first moment it was held back
				}
			}
			raised |= now
			held |= h
		}
	}
	return raised, held &^ raised, why, nil
}
