package hl7

import "testing"

// BenchmarkParsePCD01 parses the multi-parameter example and extracts its
// report, as the station does for every message a monitor sends.
func BenchmarkParsePCD01(b *testing.B) {
	data := testdata(b, "pcd01_multiparam.hl7")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ExtractPCD01(m, nil)
		if err != nil || len(r.Observations) != 9 {
			b.Fatal(err)
		}
	}
}
