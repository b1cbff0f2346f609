package feed

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-station/vigil/monitor/benchout"
)

func TestWaveJSONEncoding(t *testing.T) {
	f := &WaveFrame{Seq: 17, StartMs: 1732400000000, Channels: []Channel{
		{Code: MDCECGLeadII, RateHz: 250, Gain: 200, Samples: []int16{0, 12, InvalidSample}},
		{Code: MDCRespImpedance, RateHz: 62.5, Gain: 1e-7, Baseline: -0.1, Samples: []int16{32767}},
	}}
	const want = `{"v":1,"seq":17,"t0":1732400000000,"channels":[` +
		`{"code":131330,"rate":250,"gain":200,"baseline":0,"samples":[0,12,-32768]},` +
		`{"code":151780,"rate":62.5,"gain":1e-07,"baseline":-0.1,"samples":[32767]}]}`
	if got := string(EncodeWaveJSON(f)); got != want {
		t.Fatalf("EncodeWaveJSON =\n%s\nwant\n%s", got, want)
	}
	if got := string(AppendWaveJSON([]byte("x"), f)); got != "x"+want {
		t.Fatalf("AppendWaveJSON does not append: %s", got)
	}
}

func TestWaveJSONEncodePanics(t *testing.T) {
	for name, mut := range map[string]func(f *WaveFrame){
		"no channels":  func(f *WaveFrame) { f.Channels = nil },
		"33 channels":  func(f *WaveFrame) { f.Channels = make([]Channel, MaxChannels+1) },
		"no samples":   func(f *WaveFrame) { f.Channels[0].Samples = nil },
		"8193 samples": func(f *WaveFrame) { f.Channels[0].Samples = make([]int16, MaxSamples+1) },
		"NaN gain":     func(f *WaveFrame) { f.Channels[0].Gain = float32(math.NaN()) },
		"Inf rate":     func(f *WaveFrame) { f.Channels[1].RateHz = float32(math.Inf(1)) },
		"Inf baseline": func(f *WaveFrame) { f.Channels[2].Baseline = float32(math.Inf(-1)) },
	} {
		f := sampleFrame()
		mut(f)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: EncodeWaveJSON did not panic", name)
				}
			}()
			EncodeWaveJSON(f)
		}()
	}
}

func TestWaveJSONDecodeGolden(t *testing.T) {
	want := &WaveFrame{Seq: 4294967295, StartMs: 1732400000000, Channels: []Channel{
		{Code: MDCECGLeadII, RateHz: 250, Gain: 200, Samples: []int16{0, 12, InvalidSample, 32767}},
		{Code: MDCPleth, RateHz: 62.5, Gain: 1000, Baseline: -512, Samples: []int16{-1}},
		{Code: MDCAwayCO2, RateHz: 25, Gain: 0.125, Samples: []int16{7}},
	}}
	for name, in := range map[string]string{
		"compact": `{"v":1,"seq":4294967295,"t0":1732400000000,"channels":[` +
			`{"code":131330,"rate":250,"gain":200,"baseline":0,"samples":[0,12,-32768,32767]},` +
			`{"code":150452,"rate":62.5,"gain":1000,"baseline":-512,"samples":[-1]},` +
			`{"code":151708,"rate":25,"gain":0.125,"baseline":0,"samples":[7]}]}`,
		// Members in any order, baseline omitted, aliases in any case, JSON
		// whitespace anywhere, escapes in names, exponents and fractions in
		// the float members, -0 as a sample of value 0.
		"relaxed": " \r\n\t{ \"channels\" : [ { \"samples\" : [ -0 , 12 , -32768 , 32767 ] , \"gain\" : 2E2 , \"rate\" : 250.0 , \"code\" : \"ecg_ii\" } ,\n" +
			`{"code":"PLETH","baseline":-5.12e2,"rate":6.25e1,"gain":1000,"samples":[-1]},` +
			`{"\u0063ode":"Co2","rate":25,"gain":125e-3,"sampl\u0065s":[7]}` +
			"] , \"t0\" : 1732400000000 , \"seq\" : 4294967295 , \"v\" : 1 }\n ",
	} {
		var got WaveFrame
		if err := DecodeWaveJSON([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// waveTable is a set of frames that exercise the edges of every limit.
func waveTable() map[string]*WaveFrame {
	const t0 = 1732400000000
	ramp := func(n int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(i*131 - 30000)
		}
		return s
	}
	many := make([]Channel, MaxChannels)
	for i := range many {
		many[i] = Channel{Code: MDCECGLeadI + uint32(i), RateHz: 500, Gain: 1, Samples: ramp(100)}
	}
	return map[string]*WaveFrame{
		"sample":        sampleFrame(),
		"one sample":    {Seq: 0, StartMs: minStartMs, Channels: []Channel{{Code: 1, RateHz: 1, Gain: -1, Samples: []int16{InvalidSample}}}},
		"max channels":  {Seq: math.MaxUint32, StartMs: maxStartMs, Channels: many},
		"max samples":   {Seq: 5, StartMs: t0, Channels: []Channel{{Code: MDCECGLeadII, RateHz: MaxRateHz, Gain: 200, Samples: ramp(MaxSamples)}}},
		"one minute":    {Seq: 6, StartMs: t0, Channels: []Channel{{Code: MDCPressICP, RateHz: 1, Gain: 10, Samples: ramp(60)}}},
		"odd floats":    {Seq: 7, StartMs: t0, Channels: []Channel{{Code: MDCPressArt, RateHz: 1999.999, Gain: math.SmallestNonzeroFloat32, Baseline: -math.MaxFloat32, Samples: ramp(3)}}},
		"big gain":      {Seq: 8, StartMs: t0, Channels: []Channel{{Code: MDCPressCVP, RateHz: 100.1, Gain: math.MaxFloat32, Baseline: 1e-30, Samples: ramp(3)}}},
		"fraction rate": {Seq: 9, StartMs: t0, Channels: []Channel{{Code: MDCRespImpedance, RateHz: 62.5, Gain: 0.3, Baseline: 0.1, Samples: ramp(13)}}},
	}
}

// TestWaveFormsAgree: the binary and JSON forms of a frame decode to equal
// WaveFrames, equal to the frame encoded, through DecodeWaveAny too.
func TestWaveFormsAgree(t *testing.T) {
	for name, in := range waveTable() {
		var bin, js, anyBin, anyJS WaveFrame
		if err := DecodeWave(AppendWave(nil, in), &bin); err != nil {
			t.Errorf("%s: binary: %v", name, err)
			continue
		}
		if err := DecodeWaveJSON(EncodeWaveJSON(in), &js); err != nil {
			t.Errorf("%s: json: %v", name, err)
			continue
		}
		if err := DecodeWaveAny(AppendWave(nil, in), &anyBin); err != nil {
			t.Errorf("%s: any binary: %v", name, err)
		}
		if err := DecodeWaveAny(EncodeWaveJSON(in), &anyJS); err != nil {
			t.Errorf("%s: any json: %v", name, err)
		}
		if diff := cmp.Diff(&bin, &js); diff != "" {
			t.Errorf("%s: binary and JSON forms differ (-binary +json):\n%s", name, diff)
		}
		if diff := cmp.Diff(in, &js); diff != "" {
			t.Errorf("%s: JSON round trip (-in +out):\n%s", name, diff)
		}
		if !cmp.Equal(&bin, &anyBin) || !cmp.Equal(&js, &anyJS) {
			t.Errorf("%s: DecodeWaveAny differs from the form's own decoder", name)
		}
	}
}

// TestWaveJSONReuse: decoding into a used frame leaves nothing of the old one.
func TestWaveJSONReuse(t *testing.T) {
	var f WaveFrame
	tab := waveTable()
	for _, name := range []string{"max channels", "one sample", "sample", "max samples", "fraction rate", "sample"} {
		if err := DecodeWaveJSON(EncodeWaveJSON(tab[name]), &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(tab[name], &f); diff != "" {
			t.Fatalf("%s after reuse (-want +got):\n%s", name, diff)
		}
	}
}

func TestWaveJSONRejects(t *testing.T) {
	const head = `{"v":1,"seq":1,"t0":1732400000000,"channels":[`
	ch := func(s string) string { return head + s + `]}` }
	const good = `{"code":131330,"rate":250,"gain":200,"samples":[1,2]}`
	var f WaveFrame
	if err := DecodeWaveJSON([]byte(ch(good)), &f); err != nil {
		t.Fatalf("the base case is rejected: %v", err)
	}
	cases := []struct {
		name, in string
		want     error
	}{
		{"version 2", `{"v":2,"seq":1,"t0":1732400000000,"channels":[` + good + `]}`, ErrVersion},
		{"version 2, new members", `{"channels":[],"t0":1,"seq":1,"v":2,"new":{"x":[1]}}`, ErrVersion},
		{"version 0", `{"v":0}`, ErrVersion},
		{"version huge", `{"v":99999999999999999999}`, ErrInvalid},
		{"version string", `{"v":"1","seq":1,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"version 1.0", `{"v":1.0,"seq":1,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"missing v", `{"seq":1,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"missing seq", `{"v":1,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"missing t0", `{"v":1,"seq":1,"channels":[` + good + `]}`, ErrInvalid},
		{"missing channels", `{"v":1,"seq":1,"t0":1732400000000}`, ErrInvalid},
		{"empty object", `{}`, ErrInvalid},
		{"unknown member", `{"v":1,"seq":1,"t0":1732400000000,"x":0,"channels":[` + good + `]}`, ErrInvalid},
		{"member case", `{"V":1,"seq":1,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"member twice", `{"v":1,"seq":1,"seq":2,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"seq negative", `{"v":1,"seq":-1,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"seq too big", `{"v":1,"seq":4294967296,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"seq null", `{"v":1,"seq":null,"t0":1732400000000,"channels":[` + good + `]}`, ErrInvalid},
		{"t0 seconds", `{"v":1,"seq":1,"t0":1732400000,"channels":[` + good + `]}`, ErrInvalid},
		{"t0 2200", `{"v":1,"seq":1,"t0":7258118400001,"channels":[` + good + `]}`, ErrInvalid},
		{"t0 fraction", `{"v":1,"seq":1,"t0":1732400000000.5,"channels":[` + good + `]}`, ErrInvalid},
		{"no channels", ch(``), ErrInvalid},
		{"33 channels", ch(strings.Repeat(good+",", MaxChannels) + good), ErrInvalid},
		{"channels not array", `{"v":1,"seq":1,"t0":1732400000000,"channels":{}}`, ErrInvalid},
		{"empty channel", ch(`{}`), ErrInvalid},
		{"missing code", ch(`{"rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"missing rate", ch(`{"code":131330,"gain":200,"samples":[1]}`), ErrInvalid},
		{"missing gain", ch(`{"code":131330,"rate":250,"samples":[1]}`), ErrInvalid},
		{"missing samples", ch(`{"code":131330,"rate":250,"gain":200}`), ErrInvalid},
		{"unknown channel member", ch(`{"code":131330,"rate":250,"gain":200,"unit":"mV","samples":[1]}`), ErrInvalid},
		{"code 0", ch(`{"code":0,"rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"code negative", ch(`{"code":-131330,"rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"code too big", ch(`{"code":4294967296,"rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"code numeric string", ch(`{"code":"131330","rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"unknown alias", ch(`{"code":"ECG_IV","rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"numerics alias", ch(`{"code":"HR","rate":250,"gain":200,"samples":[1]}`), ErrInvalid},
		{"rate 0", ch(`{"code":131330,"rate":0,"gain":200,"samples":[1]}`), ErrInvalid},
		{"rate 0.5", ch(`{"code":131330,"rate":0.5,"gain":200,"samples":[1]}`), ErrInvalid},
		{"rate 2001", ch(`{"code":131330,"rate":2001,"gain":200,"samples":[1]}`), ErrInvalid},
		{"rate string", ch(`{"code":131330,"rate":"250","gain":200,"samples":[1]}`), ErrInvalid},
		{"rate NaN", ch(`{"code":131330,"rate":NaN,"gain":200,"samples":[1]}`), ErrInvalid},
		{"rate null", ch(`{"code":131330,"rate":null,"gain":200,"samples":[1]}`), ErrInvalid},
		{"gain 0", ch(`{"code":131330,"rate":250,"gain":0,"samples":[1]}`), ErrInvalid},
		{"gain -0", ch(`{"code":131330,"rate":250,"gain":-0.0,"samples":[1]}`), ErrInvalid},
		{"gain underflows", ch(`{"code":131330,"rate":250,"gain":1e-50,"samples":[1]}`), ErrInvalid},
		{"gain overflows float32", ch(`{"code":131330,"rate":250,"gain":1e39,"samples":[1]}`), ErrInvalid},
		{"baseline overflows float32", ch(`{"code":131330,"rate":250,"gain":200,"baseline":-4e38,"samples":[1]}`), ErrInvalid},
		{"baseline Infinity", ch(`{"code":131330,"rate":250,"gain":200,"baseline":Infinity,"samples":[1]}`), ErrInvalid},
		{"no samples", ch(`{"code":131330,"rate":250,"gain":200,"samples":[]}`), ErrInvalid},
		{"8193 samples", ch(`{"code":131330,"rate":2000,"gain":200,"samples":[` + strings.Repeat("0,", MaxSamples) + `0]}`), ErrInvalid},
		{"61 s of samples", ch(`{"code":131330,"rate":1,"gain":200,"samples":[` + strings.Repeat("0,", 60) + `0]}`), ErrInvalid},
		{"sample 32768", ch(`{"code":131330,"rate":250,"gain":200,"samples":[32768]}`), ErrInvalid},
		{"sample -32769", ch(`{"code":131330,"rate":250,"gain":200,"samples":[-32769]}`), ErrInvalid},
		{"sample fraction", ch(`{"code":131330,"rate":250,"gain":200,"samples":[1.5]}`), ErrInvalid},
		{"sample 1.0", ch(`{"code":131330,"rate":250,"gain":200,"samples":[1.0]}`), ErrInvalid},
		{"sample exponent", ch(`{"code":131330,"rate":250,"gain":200,"samples":[1e2]}`), ErrInvalid},
		{"sample null", ch(`{"code":131330,"rate":250,"gain":200,"samples":[null]}`), ErrInvalid},
		{"sample string", ch(`{"code":131330,"rate":250,"gain":200,"samples":["1"]}`), ErrInvalid},
		{"sample leading zero", ch(`{"code":131330,"rate":250,"gain":200,"samples":[01]}`), ErrInvalid},
		{"sample plus", ch(`{"code":131330,"rate":250,"gain":200,"samples":[+1]}`), ErrInvalid},
		{"samples trailing comma", ch(`{"code":131330,"rate":250,"gain":200,"samples":[1,]}`), ErrInvalid},
		{"samples missing comma", ch(`{"code":131330,"rate":250,"gain":200,"samples":[1 2]}`), ErrInvalid},
		{"object trailing comma", ch(`{"code":131330,"rate":250,"gain":200,"samples":[1],}`), ErrInvalid},
		{"trailing data", ch(good) + `x`, ErrInvalid},
		{"two frames", ch(good) + ch(good), ErrInvalid},
		{"truncated", ch(good)[:60], ErrInvalid},
		{"unterminated name", `{"v`, ErrInvalid},
		{"bad escape", `{"\x":1}`, ErrInvalid},
		{"short unicode escape", `{"\u00`, ErrInvalid},
		{"control in name", "{\"v\x01\":1}", ErrInvalid},
		{"comment", `{/**/"v":1}`, ErrInvalid},
		{"array", `[1]`, ErrInvalid},
		{"null", `null`, ErrInvalid},
		{"empty", ``, ErrInvalid},
	}
	for _, c := range cases {
		err := DecodeWaveJSON([]byte(c.in), &f)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if errors.Is(err, ErrVersion) != (c.want == ErrVersion) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestDecodeWaveAny(t *testing.T) {
	in := sampleFrame()
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"binary":                  {AppendWave(nil, in), nil},
		"json":                    {EncodeWaveJSON(in), nil},
		"json after whitespace":   {append([]byte(" \n\t\r"), EncodeWaveJSON(in)...), nil},
		"binary after whitespace": {append([]byte(" "), AppendWave(nil, in)...), ErrMagic},
		"empty":                   {nil, ErrShort},
		"whitespace":              {[]byte(" \n"), ErrShort},
		"V only":                  {[]byte("V"), ErrShort},
		"VX":                      {[]byte("VX" + strings.Repeat("\x00", 30)), ErrMagic},
		"array":                   {[]byte(`[{"v":1}]`), ErrMagic},
		"garbage":                 {[]byte("\x00\x01garbage"), ErrMagic},
		"binary version 2":        {append([]byte("VW\x02"), AppendWave(nil, in)[3:]...), ErrVersion},
		"json version 2":          {[]byte(`{"v":2}`), ErrVersion},
	} {
		var f WaveFrame
		err := DecodeWaveAny(c.b, &f)
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want == nil && !cmp.Equal(in, &f):
			t.Errorf("%s: decoded %+v", name, f)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

func TestWaveAliases(t *testing.T) {
	if len(waveAliases) != 19 {
		t.Errorf("%d waveform aliases; update this test and docs/feed-protocol.md", len(waveAliases))
	}
	for alias, code := range waveAliases {
		for _, spelling := range []string{alias, strings.ToUpper(alias)} {
			in := fmt.Sprintf(`{"v":1,"seq":1,"t0":1732400000000,"channels":[{"code":%q,"rate":250,"gain":1,"samples":[0]}]}`, spelling)
			var f WaveFrame
			if err := DecodeWaveJSON([]byte(in), &f); err != nil || f.Channels[0].Code != code {
				t.Errorf("alias %s: code %v, err %v; want %d", spelling, f.Channels, err, code)
			}
		}
		if c, ok := ParseCode(alias); ok && c == code {
			t.Errorf("alias %s is also a numerics alias for the same code", alias)
		}
	}
	if _, ok := waveAlias([]byte(strings.Repeat("a", 17))); ok {
		t.Error("an overlong alias matched")
	}
}

// TestDecodeAllocs: the binary decoder allocates nothing; nor does the JSON
// decoder in steady state when rate, gain and baseline are integers.
func TestDecodeAllocs(t *testing.T) {
	in := sampleFrame()
	in.Channels[2].RateHz = 50 // integer rate, so the JSON fast path applies
	in.Channels[2].Samples = in.Channels[2].Samples[:10]
	bin, js := AppendWave(nil, in), EncodeWaveJSON(in)
	var f WaveFrame
	for name, fn := range map[string]func() error{
		"DecodeWave":            func() error { return DecodeWave(bin, &f) },
		"DecodeWaveAny(binary)": func() error { return DecodeWaveAny(bin, &f) },
		"DecodeWaveJSON":        func() error { return DecodeWaveJSON(js, &f) },
		"DecodeWaveAny(json)":   func() error { return DecodeWaveAny(js, &f) },
	} {
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = fn() }); n != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, n)
		}
	}
}

func BenchmarkDecodeWaveJSON50(b *testing.B) {
	fr := &WaveFrame{Seq: 1, StartMs: 1_732_400_000_000, Channels: []Channel{
		{Code: MDCECGLeadII, RateHz: 250, Gain: 200, Samples: make([]int16, 50)}}}
	for i := range fr.Channels[0].Samples {
		fr.Channels[0].Samples[i] = int16(i*97 - 2000) // realistic widths, not all "0"
	}
	buf := EncodeWaveJSON(fr)
	var out WaveFrame
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := DecodeWaveJSON(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
	benchout.Record("decode_json_ns", float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns")
}
