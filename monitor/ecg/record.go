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
