package feed

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vigil-station/vigil/monitor/benchout"
)

// TestMain prints the figures benchmarks recorded (BENCH lines, for make bench).
func TestMain(m *testing.M) {
	code := m.Run()
	benchout.Print()
	os.Exit(code)
}

func sampleFrame() *WaveFrame {
	ecg := make([]int16, 50)
	for i := range ecg {
		ecg[i] = int16(i*37 - 900)
	}
	ecg[7] = InvalidSample
	return &WaveFrame{Seq: 41, StartMs: 1_732_400_000_123, Channels: []Channel{
		{Code: MDCECGLeadII, RateHz: 250, Gain: 200, Baseline: 0, Samples: ecg},
		{Code: MDCPleth, RateHz: 125, Gain: 1000, Baseline: 0, Samples: make([]int16, 25)},
		{Code: MDCRespImpedance, RateHz: 62.5, Gain: 1000, Baseline: 0, Samples: make([]int16, 13)},
	}}
}

func TestWaveRoundTrip(t *testing.T) {
	in := sampleFrame()
	b := AppendWave(nil, in)
	if want := 16 + 3*18 + 2*(50+25+13); len(b) != want {
		t.Fatalf("encoded %d bytes, want %d", len(b), want)
	}
	var out WaveFrame
	if err := DecodeWave(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, &out); diff != "" {
		t.Fatalf("round trip (-in +out):\n%s", diff)
	}
	if v := out.Channels[0].Physical(InvalidSample); !math.IsNaN(float64(v)) {
		t.Errorf("invalid sample decoded to %v, want NaN", v)
	}
	if v := out.Channels[0].Physical(400); v != 2 {
		t.Errorf("400 adu at gain 200 = %v mV, want 2", v)
	}
}

func TestWaveRejects(t *testing.T) {
	good := AppendWave(nil, sampleFrame())
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"empty":       {nil, ErrShort},
		"magic":       {mut(func(b []byte) []byte { b[0] = 'X'; return b }), ErrMagic},
		"version":     {mut(func(b []byte) []byte { b[2] = 9; return b }), ErrVersion},
		"no channels": {mut(func(b []byte) []byte { b[3] = 0; return b }), ErrInvalid},
		"truncated":   {good[:len(good)-1], ErrShort},
		"trailing":    {append(append([]byte(nil), good...), 0), ErrInvalid},
		"time zero":   {mut(func(b []byte) []byte { clear(b[8:16]); return b }), ErrInvalid},
		"rate NaN":    {mut(func(b []byte) []byte { copy(b[20:24], []byte{0, 0, 0xc0, 0x7f}); return b }), ErrInvalid},
		"rate 0":      {mut(func(b []byte) []byte { clear(b[20:24]); return b }), ErrInvalid},
		"gain 0":      {mut(func(b []byte) []byte { clear(b[24:28]); return b }), ErrInvalid},
		"code 0":      {mut(func(b []byte) []byte { clear(b[16:20]); return b }), ErrInvalid},
		"count lies":  {mut(func(b []byte) []byte { b[32] = 0xff; return b }), ErrShort},
	}
	for name, c := range cases {
		var f WaveFrame
		err := DecodeWave(c.b, &f)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

func TestNumDecode(t *testing.T) {
	f, err := DecodeNum([]byte(`{"ts":1732400000000,"seq":3,"values":{
		"HR":{"v":0,"unit":"bpm"},"150456":{"v":97},"RR":{"v":null},
		"TEMP":{"v":36.9,"valid":false},"PR":{"v":-32768},"NIBP_SYS":{"v":"NaN"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	want := []Numeric{
		{Code: MDCECGHeartRate, Value: 0, Valid: true, Unit: "bpm"}, // 0 is a value (asystole)
		{Code: MDCPulseRate, Value: nan},                            // -32768
		{Code: MDCNIBPSys, Value: nan},                              // "NaN"
		{Code: MDCTemp, Value: nan},                                 // valid:false
		{Code: MDCSpO2, Value: 97, Valid: true},
		{Code: MDCRespRate, Value: nan}, // null
	}
	opt := cmp.Comparer(func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) })
	if diff := cmp.Diff(want, f.Values, opt); diff != "" {
		t.Fatalf("values (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		`{}`, `{"ts":1,"values":{"HR":{"v":1}}}`, `{"ts":1732400000000,"values":{}}`,
		`{"ts":1732400000000,"values":{"bogus":{"v":1}}}`,
		`{"ts":1732400000000,"values":{"HR":{"v":"high"}}}`,
		`{"ts":1732400000000,"values":{"HR":{"v":1e999}}}`,
		`{"ts":1732400000000,"values":{"HR":{"v":1},"147842":{"v":2}}}`,
		`{"ts":1732400000000,"values":{"HR":{"v":1}},"extra":1}`,
		`{"ts":1732400000000,"values":{"HR":{"v":1}}} trailing`,
	} {
		if _, err := DecodeNum([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeNum(%s) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestNumRoundTrip(t *testing.T) {
	in := NumFrame{TsMs: 1732400000000, Seq: 9, Values: []Numeric{
		{Code: MDCECGHeartRate, Value: 72, Valid: true, Unit: "bpm"},
		{Code: MDCSpO2, Value: math.NaN(), Valid: false, Unit: "%"},
	}}
	out, err := DecodeNum(EncodeNum(in))
	if err != nil {
		t.Fatal(err)
	}
	if out.Values[0].Value != 72 || !out.Values[0].Valid || out.Values[1].Valid {
		t.Fatalf("round trip = %+v", out)
	}
}

func TestStatus(t *testing.T) {
	bat := 55.0
	in := Status{Device: "SIM-1", Online: true, Battery: &bat, LeadsOff: []uint32{MDCECGLeadII}}
	out, err := DecodeStatus(EncodeStatus(in))
	if err != nil || !cmp.Equal(in, out) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	in.TsMs = 1732400000000
	if out, err := DecodeStatus(EncodeStatus(in)); err != nil || !cmp.Equal(in, out) {
		t.Fatalf("round trip with ts: %+v, %v", out, err)
	}
	for _, bad := range []string{`{}`, `{"device":"x","battery":140}`, `{"device":"x","online":"yes"}`, `[]`,
		`{"device":"x","ts":0}`, `{"device":"x","ts":1732400000}`, `{"device":"x","ts":7258118400001}`, `{"device":"x","ts":"now"}`} {
		if _, err := DecodeStatus([]byte(bad)); err == nil {
			t.Errorf("DecodeStatus(%s) accepted", bad)
		}
	}
}

func TestTopic(t *testing.T) {
	tp := Topic("ICU1", "07", StreamWave)
	if tp != "vigil/v1/ICU1/07/wave" {
		t.Fatalf("Topic = %q", tp)
	}
	w, b, s, err := ParseTopic(tp)
	if err != nil || w != "ICU1" || b != "07" || s != StreamWave {
		t.Fatalf("ParseTopic = %q %q %q %v", w, b, s, err)
	}
	for _, bad := range []string{"vigil/v2/a/b/wave", "vigil/v1/a/b", "vigil/v1/a/b/c/wave", "vigil/v1/a/b/bogus", "vigil/v1/a b/c/wave", "vigil/v1//c/wave",
		"vigil/v1/a/stations/status", "vigil/v1/a/alarms/num", "vigil/v1/a/Stations/wave"} { // reserved for the stations' topics
		if _, _, _, err := ParseTopic(bad); err == nil {
			t.Errorf("ParseTopic(%q) accepted", bad)
		}
	}
}

// FuzzDecodeWave: no input crashes the decoder; anything it accepts obeys the
// limits and re-encodes to the same bytes (nothing is half-read or invented).
func FuzzDecodeWave(f *testing.F) {
	f.Add(AppendWave(nil, sampleFrame()))
	addCorpus(f, "wave")
	var fr WaveFrame
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := DecodeWave(b, &fr); err != nil {
			return
		}
		checkWave(t, &fr)
		if got := AppendWave(nil, &fr); string(got) != string(b) {
			t.Fatalf("accepted frame does not re-encode to its input")
		}
	})
}

func FuzzDecodeNum(f *testing.F) {
	f.Add([]byte(`{"ts":1732400000000,"seq":3,"values":{"HR":{"v":72,"unit":"bpm"},"SpO2":{"v":null}}}`))
	addCorpus(f, "num")
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeNum(b)
		if err != nil {
			return
		}
		checkTs(t, n.TsMs)
		if len(n.Values) < 1 || len(n.Values) > 256 {
			t.Fatalf("%d values accepted", len(n.Values))
		}
		for i, v := range n.Values {
			if v.Valid && (math.IsNaN(v.Value) || math.IsInf(v.Value, 0) || v.Value == InvalidSample) {
				t.Fatalf("no-value accepted as valid: %+v", v)
			}
			if !v.Valid && !math.IsNaN(v.Value) {
				t.Fatalf("no-value carries a number: %+v", v)
			}
			if v.Code == 0 || (i > 0 && v.Code <= n.Values[i-1].Code) {
				t.Fatalf("codes not positive, unique and sorted: %+v", n.Values)
			}
		}
		out, err := DecodeNum(EncodeNum(n))
		if err != nil {
			t.Fatalf("re-encoded numerics rejected: %v", err)
		}
		if diff := cmp.Diff(n, out, cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"device":"SIM-1","online":true,"leads_off":[131330]}`))
	addCorpus(f, "status")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeStatus(b)
		if err != nil {
			return
		}
		if s.TsMs != 0 {
			checkTs(t, s.TsMs)
		}
		if s.Device == "" || len(s.Device) > 128 || len(s.Model) > 128 || len(s.Patient) > 128 ||
			len(s.LeadsOff) > MaxChannels || len(s.ProbeOff) > MaxChannels ||
			(s.Battery != nil && !(*s.Battery >= 0 && *s.Battery <= 100)) {
			t.Fatalf("status outside the limits accepted: %+v", s)
		}
		out, err := DecodeStatus(EncodeStatus(s))
		if err != nil {
			t.Fatalf("re-encoded status rejected: %v", err)
		}
		if diff := cmp.Diff(s, out, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// addCorpus seeds a fuzz target from testdata/feed/<kind>/* at the repository
// root; see corpusFiles.
func addCorpus(f *testing.F, kind string) {
	for _, b := range corpusFiles(f, kind) {
		f.Add(b)
	}
}

// corpusFiles reads testdata/feed/<kind>/*. A file is either the message
// itself or, like the findings go test -fuzz writes to testdata/fuzz, in Go's
// corpus format ("go test fuzz v1" and one []byte line), so that a finding can
// be moved there as it is.
func corpusFiles(tb testing.TB, kind string) map[string][]byte {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "feed", kind, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		if rest, ok := bytes.CutPrefix(b, []byte("go test fuzz v1\n")); ok {
			if b, err = parseCorpusEntry(rest); err != nil {
				tb.Fatalf("%s: %v", p, err)
			}
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// parseCorpusEntry reads the single []byte value of a Go fuzz corpus file.
func parseCorpusEntry(b []byte) ([]byte, error) {
	s := strings.TrimSpace(string(b))
	lit, ok := strings.CutPrefix(s, "[]byte(")
	if lit, ok2 := strings.CutSuffix(lit, ")"); ok && ok2 {
		v, err := strconv.Unquote(lit)
		return []byte(v), err
	}
	return nil, fmt.Errorf("want one []byte(...) line, found %.40q", s)
}

func BenchmarkDecodeWave50(b *testing.B) {
	fr := &WaveFrame{Seq: 1, StartMs: 1_732_400_000_000, Channels: []Channel{
		{Code: MDCECGLeadII, RateHz: 250, Gain: 200, Samples: make([]int16, 50)}}}
	buf := AppendWave(nil, fr)
	var out WaveFrame
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := DecodeWave(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
	benchout.Record("decode_binary_ns", float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns")
}

// TestDocumentedExample keeps docs/feed-protocol.md's example frame true.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "feed-protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	const hex = "56 57 01 01  07 00 00 00  00 2c 16 5b 93 01 00 00\n02 01 02 00  00 00 7a 43  00 00 48 43  00 00 00 00  02 00  64 00 00 80"
	if !strings.Contains(string(doc), hex) {
		t.Fatal("the documented example frame is not in docs/feed-protocol.md")
	}
	var want []byte
	for _, f := range strings.Fields(hex) {
		var v byte
		fmt.Sscanf(f, "%02x", &v)
		want = append(want, v)
	}
	var fr WaveFrame
	if err := DecodeWave(want, &fr); err != nil {
		t.Fatal(err)
	}
	c := fr.Channels[0]
	if fr.Seq != 7 || fr.StartMs != 1732400000000 || c.Code != MDCECGLeadII || c.RateHz != 250 ||
		c.Physical(c.Samples[0]) != 0.5 || c.Samples[1] != InvalidSample {
		t.Fatalf("documented example decodes to %+v", fr)
	}
	// The JSON form of the same frame, given right after it.
	var js WaveFrame
	ex := docExamples(t, string(doc))
	if len(ex) == 0 || ex[0].label != "wave (the binary example)" {
		t.Fatal("the JSON form of the binary example is not the document's first example")
	}
	if err := DecodeWaveJSON([]byte(ex[0].body), &js); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&fr, &js); diff != "" {
		t.Fatalf("the documented JSON frame is not the binary one (-binary +json):\n%s", diff)
	}
}

// A typical bedside numerics message: seven parameters, one without a value.
var numBench = []byte(`{"ts":1732400000000,"seq":17,"values":{"147842":{"v":72,"unit":"bpm"},"150456":{"v":97,"unit":"%"},` +
	`"149530":{"v":71,"unit":"bpm"},"151562":{"v":16,"unit":"/min"},"150344":{"v":36.9,"unit":"Cel"},` +
	`"150033":{"v":121,"unit":"mmHg"},"151712":{"v":null,"valid":false}}}`)

func BenchmarkDecodeNum(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeNum(numBench); err != nil {
			b.Fatal(err)
		}
	}
	benchout.Record("decode_num_ns", float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns")
}

// FuzzDecodeNumFast holds the hand-written numerics scanner to encoding/json:
// for any input, DecodeNum (scanner first) and the encoding/json path accept
// and reject the same messages and produce the same frames.
func FuzzDecodeNumFast(f *testing.F) {
	f.Add(numBench)
	f.Add([]byte(`{"ts":1732400000000,"seq":3,"values":{"HR":{"v":72,"unit":"bpm"},"SpO2":{"v":null}}}`))
	f.Add([]byte(`{"ts":1732400000000,"values":{"hr":{"v":"NaN"},"147842":{"v":0}}}`))
	f.Add([]byte(` {"values":{"TEMP":{"valid":false,"v":36.9}} , "ts":1732400000000} `))
	addCorpus(f, "num")
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := DecodeNum(b)
		want, werr := decodeNumSlow(b)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("DecodeNum err %v, encoding/json err %v", gerr, werr)
		}
		if gerr == nil {
			if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Fatalf("scanner and encoding/json differ (-json +scanner):\n%s", diff)
			}
		}
	})
}

func TestDecodeNumTakesTheFastPath(t *testing.T) {
	if _, _, _, ok := decodeNumFast(numBench, nil); !ok {
		t.Fatal("the typical message fell back to encoding/json")
	}
}
