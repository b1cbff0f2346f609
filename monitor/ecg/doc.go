// Package ecg analyses raw ECG as it arrives: QRS detection, heart rate,
// beat classification and the lethal-arrhythmia conditions, for beds whose
// devices send no analysis of their own. It also scores beat detection
// against expert annotations the way ANSI/AAMI EC57 does, so the detector's
// figures on real recordings are measured, not claimed.
//
// Everything here is streaming and allocation-free per sample: one Detector
// per lead, fed sample by sample at the lead's own rate (125–1000 Hz).
package ecg
