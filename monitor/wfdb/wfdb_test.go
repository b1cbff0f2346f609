package wfdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-station/vigil/monitor/wfdb/wfdbtest"
)

// TestGoldenRdsamp: record 100s decoded to millivolts matches the reference
// tool's rdsamp output sample for sample (it prints 10.000 s to 10.997 s).
func TestGoldenRdsamp(t *testing.T) {
	dir := wfdbtest.Path(t, "wfdb_golden")
	rec, err := Read(filepath.Join(dir, "100s"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Record != "100s" || len(rec.Signals) != 2 || rec.FrameRate != 360 || rec.Frames != 21600 {
		t.Fatalf("header: %+v", rec.Header)
	}
	if rec.Signals[0].Description != "MLII" || rec.Signals[1].Description != "V5" || rec.Signals[0].Gain != 200 || rec.Signals[0].Baseline != 1024 {
		t.Fatalf("signals: %+v", rec.Signals)
	}
	mv := [][]float64{rec.Physical(0), rec.Physical(1)}
	f, err := os.Open(filepath.Join(dir, "rdsamp.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		fl := strings.Fields(sc.Text())
		if line <= 2 {
			continue // column titles and units
		}
		if len(fl) != 3 {
			t.Fatalf("rdsamp.out line %d: %q", line, sc.Text())
		}
		sec, _ := strconv.ParseFloat(fl[0], 64)
		k := int(math.Round(sec * 360))
		if got := fmt.Sprintf("%.3f", float64(k)/360); got != fl[0] {
			t.Fatalf("line %d: sample %d is at %s s, the reference says %s", line, k, got, fl[0])
		}
		for s := range 2 {
			if got := fmt.Sprintf("%.3f", mv[s][k]); got != fl[1+s] {
				t.Fatalf("line %d: signal %d sample %d = %s mV (adu %d), the reference says %s", line, s, k, got, rec.Samples[s][k], fl[1+s])
			}
		}
		n++
	}
	if n != 360 {
		t.Fatalf("compared %d samples, want 360", n)
	}
}

// TestGoldenRdann: the expert annotations of 100s match rdann's listing
// field for field (time, sample, type, sub, chan, num, aux).
func TestGoldenRdann(t *testing.T) {
	dir := wfdbtest.Path(t, "wfdb_golden")
	anns, err := ReadAnnotations(filepath.Join(dir, "100s.atr"), 360)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "rdann.out"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(want), "\n"), "\n")
	if len(anns) != len(lines) {
		t.Fatalf("%d annotations, rdann lists %d", len(anns), len(lines))
	}
	for i, a := range anns {
		got := fmt.Sprintf("%12s %8d %5s %4d %4d %4d", FormatTime(a.Sample, 360), a.Sample, a.Mnemonic(), a.Sub, a.Chan, a.Num)
		if a.Aux != "" {
			got += "\t" + a.Aux
		}
		if strings.TrimSpace(got) != strings.TrimSpace(lines[i]) {
			t.Fatalf("annotation %d:\n got %q\nwant %q", i, got, lines[i])
		}
	}
}

// TestMITBIHRecords: every MIT-BIH record in the shared data reads with the
// length, rate and beat counts its README gives.
func TestMITBIHRecords(t *testing.T) {
	dir := wfdbtest.Path(t, "mitdb")
	beats := map[string]int{"100": 2273, "101": 1865, "103": 2084, "105": 2572, "106": 2027, "119": 1987, "208": 2955}
	for name, want := range beats {
		rec, err := Read(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Frames != 650000 || rec.FrameRate != 360 || len(rec.Samples[0]) != 650000 || len(rec.Samples[1]) != 650000 {
			t.Fatalf("%s: %d frames at %g Hz", name, rec.Frames, rec.FrameRate)
		}
		anns, err := ReadAnnotations(filepath.Join(dir, name+".atr"), 360)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range anns {
			if IsBeat(a.Code) {
				n++
			}
		}
		if n != want {
			t.Errorf("%s: %d beats, want %d", name, n, want)
		}
	}
}

// TestChallengeMat: a PhysioNet 2015 record (MATLAB v4 file, format 16+24,
// per-signal gains and baselines) reads with its physical units.
func TestChallengeMat(t *testing.T) {
	rec, err := Read(wfdbtest.Path(t, "challenge2015", "v131l"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Signals) != 4 || rec.FrameRate != 250 || rec.Frames != 82500 {
		t.Fatalf("header: %+v", rec.Header)
	}
	s := rec.Signals[2]
	if s.Description != "ABP" || s.Units != "mmHg" || s.Gain != 52.65 || s.Offset != 24 || s.Format != 16 {
		t.Fatalf("ABP: %+v", s)
	}
	// The first sample of each signal is the header's initial value.
	for i, sig := range rec.Signals {
		if int(rec.Samples[i][0]) != sig.InitValue {
			t.Fatalf("signal %s: first sample %d, header's initial value %d", sig.Description, rec.Samples[i][0], sig.InitValue)
		}
	}
	abp := rec.Physical(2)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range abp[:250*10] {
		if !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo < 20 || hi > 250 || hi-lo < 20 {
		t.Fatalf("ABP over the first 10 s spans %.0f–%.0f mmHg: not an arterial pressure", lo, hi)
	}
	if !strings.Contains(strings.Join(rec.Comments, "\n"), "True alarm") {
		t.Fatalf("comments %q", rec.Comments)
	}
}

// TestChecksums: the 16-bit sum of every signal equals the header's
// checksum, for every record in the shared data, over all formats and
// frame layouts (this is how WFDB checks a reader).
func TestChecksums(t *testing.T) {
	root := wfdbtest.Dir(t)
	var heads []string
	for _, sub := range []string{"mitdb", "challenge2015", "mimic", "wfdb_golden"} {
		m, _ := filepath.Glob(filepath.Join(root, sub, "*.hea"))
		heads = append(heads, m...)
	}
	if len(heads) < 30 {
		t.Fatalf("only %d headers found", len(heads))
	}
	for _, h := range heads {
		rec, err := Read(h)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range rec.Signals {
			if s.Skew != 0 {
				continue // the sum covers the stored samples, not the deskewed ones
			}
			var sum int32
			for _, v := range rec.Samples[i] {
				if v == Invalid {
					v = -32768 // as stored, in formats 16
					if s.Format == 212 {
						v = -2048
					}
				}
				sum += v
			}
			if int16(sum) != int16(s.Checksum) {
				t.Errorf("%s signal %d (%s, format %d, %d per frame): checksum %d, header %d",
					filepath.Base(h), i, s.Description, s.Format, s.SamplesPerFrame, int16(sum), int16(s.Checksum))
			}
			if int(rec.Samples[i][0]) != s.InitValue && rec.Samples[i][0] != Invalid {
				t.Errorf("%s signal %d: first sample %d, initial value %d", filepath.Base(h), i, rec.Samples[i][0], s.InitValue)
			}
		}
	}
	t.Logf("%d records: every signal's checksum and initial value match its header", len(heads))
}

func TestHeaderForms(t *testing.T) {
	h, err := ParseHeader(strings.NewReader("03700181 3 125 75000 17:27:45 15/08/1994\r\n" +
		"03700181.dat 212x4 2963.77/mV 12 0 67 -11266 0 MCL1 \r\n" +
		"03700181.dat 212 12.84(-1605)/mmHg 12 0 -943 -23651 0 ABP \r\n" +
		"03700181.dat 212:4 2000 12 0 -304 6310 0 RESP lead two\r\n" +
		"# comment\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseTime != "17:27:45" || h.BaseDate != "15/08/1994" || h.Frames != 75000 || h.FrameRate != 125 {
		t.Fatalf("record line: %+v", h)
	}
	s := h.Signals
	if s[0].SamplesPerFrame != 4 || h.Rate(0) != 500 || s[0].Gain != 2963.77 || s[0].Baseline != 0 || s[0].Description != "MCL1" {
		t.Fatalf("signal 0: %+v", s[0])
	}
	if s[1].Baseline != -1605 || s[1].Units != "mmHg" || s[1].Gain != 12.84 {
		t.Fatalf("signal 1: %+v", s[1])
	}
	if s[2].Skew != 4 || s[2].Units != "mV" || s[2].Description != "RESP lead two" {
		t.Fatalf("signal 2: %+v", s[2])
	}
	if h.Comments[0] != " comment" {
		t.Fatalf("comments %q", h.Comments)
	}
	h, err = ParseHeader(strings.NewReader("r 1\nr.dat 16+24 0\n"))
	if err != nil || h.FrameRate != 250 || !h.Signals[0].Uncalibrated() || h.Signals[0].Gain != DefaultGain || h.Signals[0].Offset != 24 {
		t.Fatalf("defaults: %+v %v", h, err)
	}
	for _, bad := range []string{
		"", "# only a comment\n", "r\n", "r x 250\n", "r 1 250\n", "r 1 -5\n", "r 1 250\nr.dat 310 200\n",
		"r 1 250\nr.dat 212 abc\n", "r 1 250\nr.dat 212 200(3/mV\n", "r/2 1 250\nr.dat 212\n",
		"r 1 250\n/etc/passwd 212\n", "r 1 250\n../x.dat 212\n", "r 1 250\nr.dat 212x0\n", "r 1 250\nr.dat 212 200 12 zero\n",
		"r 1 250\nr.dat 212\nr.dat 212\n",
	} {
		if _, err := ParseHeader(strings.NewReader(bad)); !errors.Is(err, ErrHeader) {
			t.Errorf("header %q: err %v, want an ErrHeader", bad, err)
		}
	}
}

// TestDecodeFormats builds small files in each format by hand.
func TestDecodeFormats(t *testing.T) {
	one := func(format string, data []byte, nsig int) [][]int32 {
		t.Helper()
		hea := fmt.Sprintf("r %d 100\n", nsig)
		for range nsig {
			hea += "r.dat " + format + " 200 12 0 0 0 0 x\n"
		}
		h, err := ParseHeader(strings.NewReader(hea))
		if err != nil {
			t.Fatal(err)
		}
		out, err := Decode(h, func(string) []byte { return data })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// 212: samples 1, -1, 2047, -2048 (invalid), 0x123, -0x123.
	got := one("212", []byte{0x01, 0xf0, 0xff, 0xff, 0x87, 0x00, 0x23, 0xe1, 0xdd}, 1)
	if want := []int32{1, -1, 2047, Invalid, 0x123, -0x123}; fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("212: %v, want %v", got[0], want)
	}
	got = one("16", []byte{0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f}, 2)
	if fmt.Sprint(got) != fmt.Sprint([][]int32{{1, Invalid}, {-1, 32767}}) {
		t.Fatalf("16, 2 signals interleaved: %v", got)
	}
	got = one("80", []byte{128, 0, 255, 129}, 1)
	if fmt.Sprint(got[0]) != fmt.Sprint([]int32{0, Invalid, 127, 1}) {
		t.Fatalf("80: %v", got[0])
	}
	got = one("61", []byte{0x00, 0x01, 0xff, 0xfe}, 1)
	if fmt.Sprint(got[0]) != fmt.Sprint([]int32{1, -2}) {
		t.Fatalf("61: %v", got[0])
	}
	got = one("160", []byte{0x00, 0x80, 0x01, 0x80, 0x00, 0x00}, 1)
	if fmt.Sprint(got[0]) != fmt.Sprint([]int32{0, 1, Invalid}) {
		t.Fatalf("160: %v", got[0])
	}
	got = one("16+4", []byte{9, 9, 9, 9, 5, 0, 6, 0}, 1)
	if fmt.Sprint(got[0]) != fmt.Sprint([]int32{5, 6}) {
		t.Fatalf("16+4: %v", got[0])
	}
	// Two signals, the first with 2 samples per frame, the second skewed.
	h, err := ParseHeader(strings.NewReader("r 2 10\nr.dat 16x2 200 16 0 0 0 0 a\nr.dat 16:1 200 16 0 0 0 0 b\n"))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte{1, 0, 2, 0, 10, 0, 3, 0, 4, 0, 20, 0, 5, 0, 6, 0, 30, 0}
	out, err := Decode(h, func(string) []byte { return data })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != fmt.Sprint([][]int32{{1, 2, 3, 4, 5, 6}, {20, 30, Invalid}}) || h.Frames != 3 {
		t.Fatalf("frames and skew: %v (%d frames)", out, h.Frames)
	}
	h, _ = ParseHeader(strings.NewReader("r 1 10 5\nr.dat 16\n"))
	if _, err := Decode(h, func(string) []byte { return []byte{1, 0} }); !errors.Is(err, ErrSignals) {
		t.Fatalf("a file shorter than the header says: %v", err)
	}
}

func TestAnnotationWords(t *testing.T) {
	w := func(code, v int) []byte { x := code<<10 | v; return []byte{byte(x), byte(x >> 8)} }
	var b []byte
	b = append(b, w(1, 100)...)           // N at 100
	b = append(b, w(codeChan, 1)...)      // ... on channel 1
	b = append(b, w(codeSkip, 0)...)      // skip 70000
	b = append(b, 0x01, 0x00, 0x70, 0x11) // high word 1, low word 0x1170
	b = append(b, w(5, 4)...)             // V at 100+70000+4
	b = append(b, w(codeSub, 3)...)       // subtype 3
	b = append(b, w(codeAux, 3)...)       // "(VT" padded
	b = append(b, '(', 'V', 'T', 0)       //
	b = append(b, w(codeNum, 2)...)       // num 2 on the V
	b = append(b, w(0, 0)...)             // end
	b = append(b, w(1, 1)...)             // ignored after the end
	anns, err := ParseAnnotations(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Annotation{{Sample: 100, Code: 1, Chan: 1}, {Sample: 100 + 0x11170 + 4, Code: 5, Sub: 3, Chan: 1, Num: 2, Aux: "(VT"}}
	if fmt.Sprint(anns) != fmt.Sprint(want) {
		t.Fatalf("%+v\nwant %+v", anns, want)
	}
	for _, bad := range [][]byte{{1}, append(w(codeSkip, 0), 1, 2), append(w(1, 1), w(codeAux, 9)...)} {
		if _, err := ParseAnnotations(bad); !errors.Is(err, ErrAnnotations) {
			t.Errorf("%x: err %v", bad, err)
		}
	}
	if FormatTime(3600*360+360*61+36, 360) != "1:01:01.100" || FormatTime(18, 360) != "0:00.050" {
		t.Fatalf("FormatTime: %s %s", FormatTime(3600*360+360*61+36, 360), FormatTime(18, 360))
	}
}

func FuzzHeader(f *testing.F) {
	f.Add("100 2 360 650000\r\n100.dat 212 200 11 1024 995 -22131 0 MLII\r\n100.dat 212 200 11 1024 1011 20052 0 V5\r\n")
	f.Add("03700181 3 125 75000 17:27:45 15/08/1994\n03700181.dat 212x4 2963.77/mV 12 0 67 -11266 0 MCL1\n03700181.dat 212 12.84(-1605)/mmHg 12 0 -943 -23651 0 ABP\n03700181.dat 212:4 2000 12 0 -304 6310 0 RESP\n")
	f.Add("v131l 1 250 8\nv131l.mat 16+24 9218/mV 16 0 2679 18547 0 II\n")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error not an ErrHeader: %v", err)
			}
			return
		}
		// Whatever parses decodes a small file without panicking.
		data := bytes.Repeat([]byte{0x12, 0x34, 0x56}, 40)
		if _, err := Decode(h, func(string) []byte { return data }); err != nil && !errors.Is(err, ErrSignals) {
			t.Fatalf("decode error not an ErrSignals: %v", err)
		}
	})
}

func FuzzAnnotations(f *testing.F) {
	f.Add([]byte{0x12, 0x70, 0x03, 0xfc, '(', 'N', 0, 0, 0x3b, 0x04, 0, 0})
	f.Add([]byte{0, 0xec, 1, 0, 2, 0, 5, 0x14})
	f.Fuzz(func(t *testing.T, b []byte) {
		anns, err := ParseAnnotations(b)
		if err != nil && !errors.Is(err, ErrAnnotations) {
			t.Fatalf("error not an ErrAnnotations: %v", err)
		}
		for i := 1; i < len(anns); i++ {
			if anns[i].Sample < anns[i-1].Sample {
				t.Fatalf("annotation %d at %d before %d", i, anns[i].Sample, anns[i-1].Sample)
			}
		}
	})
}

// TestTimeResolution: an annotation file written with its own time
// resolution (WFDB's "## time resolution" header note, then a SKIP back)
// reads in the record's samples.
func TestTimeResolution(t *testing.T) {
	dir := wfdbtest.Path(t, "wfdb_golden")
	b, err := os.ReadFile(filepath.Join(dir, "100s.qrs"))
	if err != nil {
		t.Fatal(err)
	}
	raw, res, err := ParseAnnotationFile(b)
	if err != nil || res != 250 {
		t.Fatalf("resolution %g, err %v", res, err)
	}
	anns, err := ReadAnnotations(filepath.Join(dir, "100s.qrs"), 360)
	if err != nil {
		t.Fatal(err)
	}
	if len(anns) != len(raw) || len(anns) < 70 || anns[0].Code != CodeNormal {
		t.Fatalf("%d annotations (%d raw), first %+v", len(anns), len(raw), anns[0])
	}
	for i := range anns {
		if want := int64(math.Round(float64(raw[i].Sample) * 360 / 250)); anns[i].Sample != want {
			t.Fatalf("annotation %d at %d, want %d", i, anns[i].Sample, want)
		}
	}
}

func TestParseColumn(t *testing.T) {
	v, err := ParseColumn(strings.NewReader("0.185\r\n\n# comment\n-1.5e-1, extra\nNaN\n2\n"))
	if err != nil || len(v) != 4 || v[0] != 0.185 || v[1] != -0.15 || !math.IsNaN(v[2]) || v[3] != 2 {
		t.Fatalf("%v %v", v, err)
	}
	for _, bad := range []string{"", "\n\n", "1\nx\n", "1\n+Inf\n"} {
		if _, err := ParseColumn(strings.NewReader(bad)); !errors.Is(err, ErrCSV) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzColumn(f *testing.F) {
	f.Add("0.185\n0.185\n0.169\n")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseColumn(strings.NewReader(s))
		if err != nil && !errors.Is(err, ErrCSV) {
			t.Fatalf("error not an ErrCSV: %v", err)
		}
		for _, x := range v {
			if math.IsInf(x, 0) {
				t.Fatalf("infinite value accepted from %q", s)
			}
		}
	})
}

// TestBIDMCTables: BIDMC's numerics (1 Hz, NaN gaps), signals (125 Hz) and
// breath annotations read as tables.
func TestBIDMCTables(t *testing.T) {
	dir := wfdbtest.Path(t, "bidmc", "bidmc_csv")
	num, err := ReadTable(filepath.Join(dir, "bidmc_01_Numerics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(num.Names) != "[Time HR PULSE RESP SpO2]" || num.Units[0] != "s" || num.Rate() != 1 || len(num.Column("hr")) != 481 {
		t.Fatalf("numerics: %v %v rate %g, %d rows", num.Names, num.Units, num.Rate(), len(num.Column("HR")))
	}
	nan := 0
	for _, v := range num.Column("PULSE") {
		if math.IsNaN(v) {
			nan++
		}
	}
	if nan == 0 || num.Column("HR")[0] != 94 {
		t.Fatalf("PULSE NaN gaps %d, first HR %g", nan, num.Column("HR")[0])
	}
	sig, err := ReadTable(filepath.Join(dir, "bidmc_01_Signals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if sig.Rate() != 125 || len(sig.Column("PLETH")) != 60001 || sig.Column("II") == nil {
		t.Fatalf("signals: %v rate %g, %d rows", sig.Names, sig.Rate(), len(sig.Column("PLETH")))
	}
	br, err := ReadTable(filepath.Join(dir, "bidmc_01_Breaths.csv"))
	if err != nil || len(br.Cols) != 2 || br.Rate() != 0 || br.Cols[0][0] != 189 {
		t.Fatalf("breaths: %+v %v", br, err)
	}
	for _, bad := range []string{"", "a,b\n", "a,b\n1\n", "a,b\n1,x\n", "a\n+Inf\n"} {
		if _, err := ParseTable(strings.NewReader(bad)); !errors.Is(err, ErrCSV) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestMIMICNumerics: a MIMIC numerics record (one frame a minute, 0 and
// −32768 for "not measured") reads with the not-measured values as NaN.
func TestMIMICNumerics(t *testing.T) {
	rec, err := Read(wfdbtest.Path(t, "mimic", "s00001-2896-10-10-00-31n"))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rec.FrameRate-1.0/60) > 1e-9 || rec.Frames != 1936 || rec.BaseTime != "31:25.894" {
		t.Fatalf("header: %g Hz, %d frames, %q", rec.FrameRate, rec.Frames, rec.BaseTime)
	}
	nbp := rec.Physical(rec.Find("NBPSys"))
	if !math.IsNaN(nbp[0]) {
		t.Fatalf("NBPSys starts at %g, the header's initial value is −32768 (not measured)", nbp[0])
	}
	hr := rec.Physical(rec.Find("HR"))
	ok := 0
	for _, v := range hr {
		if v >= 30 && v <= 250 {
			ok++
		}
	}
	if ok < len(hr)/2 {
		t.Fatalf("only %d of %d HR minutes are plausible", ok, len(hr))
	}
}

func FuzzTable(f *testing.F) {
	f.Add("Time [s], HR, PULSE\n0,94,NaN\n1,95,93\n")
	f.Fuzz(func(t *testing.T, s string) {
		tb, err := ParseTable(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrCSV) {
				t.Fatalf("error not an ErrCSV: %v", err)
			}
			return
		}
		for _, c := range tb.Cols {
			if len(c) != len(tb.Cols[0]) {
				t.Fatalf("ragged columns from %q", s)
			}
		}
		_ = tb.Rate()
	})
}
