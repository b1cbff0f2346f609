package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets check, for every input: the decoder does not panic; what it
// accepts satisfies every rule of docs/feed-protocol.md (checked here by code
// written apart from the decoder's); and what it accepts re-encodes to a
// message that decodes to an equal value. Seeds: f.Add below and the files
// under testdata/feed/<stream>/ (see addCorpus).

func FuzzDecodeWaveJSON(f *testing.F) {
	f.Add(EncodeWaveJSON(sampleFrame()))
	f.Add([]byte(`{"v":1,"seq":1,"t0":1732400000000,"channels":[{"code":"ECG_II","rate":250,"gain":200,"samples":[1,-32768]}]}`))
	f.Add([]byte(`{"v":2,"seq":1}`))
	addCorpus(f, "wave_json")
	var fr WaveFrame // reused, as the station does, so stale state would show
	f.Fuzz(func(t *testing.T, b []byte) {
		err := DecodeWaveJSON(b, &fr)
		want, class := oracleWaveJSON(b)
		switch {
		case class == oracleNotJSON:
			if err == nil {
				t.Fatalf("accepted input that is not JSON")
			}
			return
		case class == oracleAccept && err != nil:
			t.Fatalf("rejected a frame the contract accepts: %v", err)
		case class == oracleVersion && !errors.Is(err, ErrVersion):
			t.Fatalf("err = %v, want ErrVersion", err)
		case class == oracleInvalid && (err == nil || errors.Is(err, ErrVersion)):
			t.Fatalf("err = %v, want ErrInvalid", err)
		case class == oracleReject && err == nil:
			t.Fatalf("accepted a frame the contract rejects")
		}
		if err != nil {
			return
		}
		checkWave(t, &fr)
		if diff := cmp.Diff(want, &fr); diff != "" {
			t.Fatalf("decoded frame differs from encoding/json's reading (-json +decoder):\n%s", diff)
		}
		checkWaveRoundTrip(t, &fr)
	})
}

func FuzzDecodeWaveAny(f *testing.F) {
	f.Add(AppendWave(nil, sampleFrame()))
	f.Add(EncodeWaveJSON(sampleFrame()))
	addCorpus(f, "wave")
	addCorpus(f, "wave_json")
	var fr, ref WaveFrame
	f.Fuzz(func(t *testing.T, b []byte) {
		err := DecodeWaveAny(b, &fr)
		i := skipSpace(b, 0)
		var refErr error
		switch {
		case len(b) > 0 && b[0] == 'V':
			refErr = DecodeWave(b, &ref)
		case i < len(b) && b[i] == '{':
			refErr = DecodeWaveJSON(b, &ref)
		case i == len(b):
			refErr = ErrShort
		default:
			refErr = ErrMagic
		}
		if (err == nil) != (refErr == nil) || (err != nil && !errors.Is(err, unwrapSentinel(refErr))) {
			t.Fatalf("DecodeWaveAny err = %v, the form's decoder says %v", err, refErr)
		}
		if err != nil {
			return
		}
		if !cmp.Equal(&fr, &ref) {
			t.Fatalf("DecodeWaveAny differs from the form's decoder")
		}
		checkWave(t, &fr)
		checkWaveRoundTrip(t, &fr)
	})
}

// unwrapSentinel maps an error to the package sentinel it wraps.
func unwrapSentinel(err error) error {
	for _, s := range []error{ErrVersion, ErrShort, ErrMagic, ErrInvalid} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func FuzzDecodeAlarm(f *testing.F) {
	f.Add([]byte(goodAlarm))
	addCorpus(f, "alarm")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAlarm(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted input that is not JSON")
		}
		checkMembers(t, b, "id", "seq", "ts", "code", "param", "priority", "source", "phase", "state",
			"inactivation", "value", "limit", "unit", "text")
		checkAlarm(t, a)
		out, err := DecodeAlarm(EncodeAlarm(a))
		if err != nil {
			t.Fatalf("re-encoded alarm rejected: %v\n%s", err, EncodeAlarm(a))
		}
		if diff := cmp.Diff(a, out); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(goodEvent))
	addCorpus(f, "event")
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted input that is not JSON")
		}
		checkMembers(t, b, "id", "seq", "ts", "kind", "text")
		if !isOneOf(string(e.Kind), "nurse_call", "nurse_call_cancel", "staff_present", "button", "fall") {
			t.Fatalf("kind %q accepted", e.Kind)
		}
		checkID(t, e.ID)
		checkTs(t, e.TsMs)
		checkLine(t, "text", e.Text, 0, 256)
		out, err := DecodeEvent(EncodeEvent(e))
		if err != nil || out != e {
			t.Fatalf("round trip: %+v, %v; want %+v", out, err, e)
		}
	})
}

// checkWave asserts every documented limit of a waveform frame.
func checkWave(t *testing.T, f *WaveFrame) {
	t.Helper()
	checkTs(t, f.StartMs)
	if n := len(f.Channels); n < 1 || n > 32 {
		t.Fatalf("%d channels accepted", n)
	}
	for i, c := range f.Channels {
		r, g, bl := float64(c.RateHz), float64(c.Gain), float64(c.Baseline)
		switch {
		case c.Code == 0:
			t.Fatalf("channel %d: code 0 accepted", i)
		case !(r >= 1 && r <= 2000):
			t.Fatalf("channel %d: rate %v accepted", i, r)
		case math.IsNaN(g) || math.IsInf(g, 0) || g == 0:
			t.Fatalf("channel %d: gain %v accepted", i, g)
		case math.IsNaN(bl) || math.IsInf(bl, 0):
			t.Fatalf("channel %d: baseline %v accepted", i, bl)
		case len(c.Samples) < 1 || len(c.Samples) > 8192:
			t.Fatalf("channel %d: %d samples accepted", i, len(c.Samples))
		case float64(len(c.Samples))*1000/r > 60000:
			t.Fatalf("channel %d: %d samples at %v Hz (over a minute) accepted", i, len(c.Samples), r)
		}
	}
}

// checkWaveRoundTrip: an accepted frame encodes in both forms, and both decode
// to it.
func checkWaveRoundTrip(t *testing.T, f *WaveFrame) {
	t.Helper()
	var bin, js WaveFrame
	if err := DecodeWave(AppendWave(nil, f), &bin); err != nil {
		t.Fatalf("binary re-encoding rejected: %v", err)
	}
	if err := DecodeWaveJSON(EncodeWaveJSON(f), &js); err != nil {
		t.Fatalf("JSON re-encoding rejected: %v\n%s", err, EncodeWaveJSON(f))
	}
	if diff := cmp.Diff(f, &bin); diff != "" {
		t.Fatalf("binary round trip (-decoded +again):\n%s", diff)
	}
	if diff := cmp.Diff(f, &js); diff != "" {
		t.Fatalf("JSON round trip (-decoded +again):\n%s", diff)
	}
}

func checkAlarm(t *testing.T, a Alarm) {
	t.Helper()
	checkID(t, a.ID)
	checkTs(t, a.TsMs)
	if !isOneOf(string(a.Priority), "high", "medium", "low", "none") ||
		!isOneOf(string(a.Source), "physiological", "technical") ||
		!isOneOf(string(a.Phase), "start", "continue", "end", "escalate", "de-escalate") ||
		!isOneOf(string(a.State), "active", "latched", "inactive") ||
		!isOneOf(string(a.Inactivation), "", "audio-paused", "audio-off", "alarm-paused", "alarm-off", "acknowledged") {
		t.Fatalf("vocabulary outside the contract accepted: %+v", a)
	}
	switch a.Phase {
	case "start", "escalate", "de-escalate":
		if a.State != "active" {
			t.Fatalf("phase %s with state %s accepted", a.Phase, a.State)
		}
	case "continue":
		if a.State == "inactive" {
			t.Fatalf("phase continue with state inactive accepted")
		}
	case "end":
		if a.State == "active" {
			t.Fatalf("phase end with state active accepted")
		}
	}
	for _, v := range []*float64{a.Value, a.Limit} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			t.Fatalf("non-finite value accepted: %v", *v)
		}
	}
	checkLine(t, "unit", a.Unit, 0, 32)
	checkLine(t, "text", a.Text, 1, 256)
	if strings.TrimSpace(a.Text) == "" {
		t.Fatalf("blank text accepted")
	}
}

func checkID(t *testing.T, id string) {
	t.Helper()
	if len(id) < 1 || len(id) > 64 || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		t.Fatalf("id %q accepted", id)
	}
}

func checkTs(t *testing.T, ms int64) {
	t.Helper()
	if ms < 946684800000 || ms > 7258118400000 {
		t.Fatalf("time %d ms accepted (outside 2000..2200)", ms)
	}
}

func checkLine(t *testing.T, what, s string, lo, hi int) {
	t.Helper()
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < lo || n > hi ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == 0x2028 || r == 0x2029 }) {
		t.Fatalf("%s %q accepted", what, s)
	}
}

// checkMembers: an accepted object's member names are exact and unique.
func checkMembers(t *testing.T, b []byte, names ...string) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	root, err := jsonTree(d)
	if err != nil || root.kind != '{' {
		t.Fatalf("accepted input is not one JSON object: %v", err)
	}
	seen := map[string]bool{}
	for _, k := range root.keys {
		if !isOneOf(k, names...) || seen[k] {
			t.Fatalf("member %q accepted (unknown or repeated)", k)
		}
		seen[k] = true
	}
}

func isOneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// jnode is a JSON value as encoding/json tokenizes it, keeping what a map
// would lose: member order and repeated names.
type jnode struct {
	kind  byte // '{', '[', 's' string, 'n' number, 'b' bool, 'z' null
	keys  []string
	vals  []*jnode
	elems []*jnode
	text  string // string value, or number literal
}

func jsonTree(d *json.Decoder) (*jnode, error) {
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		n := &jnode{kind: byte(tok)}
		for d.More() {
			if tok == '{' {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := jsonTree(d)
			if err != nil {
				return nil, err
			}
			if tok == '{' {
				n.vals = append(n.vals, v)
			} else {
				n.elems = append(n.elems, v)
			}
		}
		_, err := d.Token() // closing delimiter
		return n, err
	case string:
		return &jnode{kind: 's', text: tok}, nil
	case json.Number:
		return &jnode{kind: 'n', text: string(tok)}, nil
	case bool:
		return &jnode{kind: 'b'}, nil
	}
	return &jnode{kind: 'z'}, nil
}

const (
	oracleNotJSON = iota // not one JSON value
	oracleAccept
	oracleVersion // "v" is an integer other than 1
	oracleInvalid
	oracleReject // some error
)

// oracleWaveJSON reads a JSON waveform frame with encoding/json and applies
// the rules of docs/feed-protocol.md, independently of DecodeWaveJSON.
func oracleWaveJSON(b []byte) (*WaveFrame, int) {
	if !json.Valid(b) {
		return nil, oracleNotJSON
	}
	root, err := jsonTree(json.NewDecoder(bytes.NewReader(b)))
	if err != nil {
		panic(err) // json.Valid said it is JSON
	}
	if root.kind != '{' {
		return nil, oracleInvalid
	}
	switch countKey(root, "v") {
	case 0:
	case 1:
		for i, k := range root.keys {
			if v, err := strconv.ParseInt(root.vals[i].text, 10, 64); k == "v" && root.vals[i].kind == 'n' && err == nil && v != 1 {
				return nil, oracleVersion
			}
		}
	default:
		return nil, oracleReject // which "v" the version is read from is not specified
	}
	f := &WaveFrame{}
	obj := members(root, "v", "seq", "t0", "channels")
	if obj == nil || obj["v"] == nil || obj["seq"] == nil || obj["t0"] == nil || obj["channels"] == nil {
		return nil, oracleInvalid
	}
	if v, ok := intLit(obj["v"], 1, 1); !ok || v != 1 {
		return nil, oracleInvalid
	}
	seq, ok1 := intLit(obj["seq"], 0, math.MaxUint32)
	t0, ok2 := intLit(obj["t0"], 946684800000, 7258118400000)
	chans := obj["channels"]
	if !ok1 || !ok2 || chans.kind != '[' || len(chans.elems) < 1 || len(chans.elems) > 32 {
		return nil, oracleInvalid
	}
	f.Seq, f.StartMs = uint32(seq), t0
	for _, cn := range chans.elems {
		m := members(cn, "code", "rate", "gain", "baseline", "samples")
		if m == nil || m["code"] == nil || m["rate"] == nil || m["gain"] == nil || m["samples"] == nil {
			return nil, oracleInvalid
		}
		var c Channel
		switch code := m["code"]; code.kind {
		case 'n':
			v, ok := intLit(code, 1, math.MaxUint32)
			if !ok {
				return nil, oracleInvalid
			}
			c.Code = uint32(v)
		case 's':
			v, ok := waveAliases[asciiLower(code.text)]
			if !ok {
				return nil, oracleInvalid
			}
			c.Code = v
		default:
			return nil, oracleInvalid
		}
		var ok bool
		if c.RateHz, ok = float32Lit(m["rate"]); !ok || !(c.RateHz >= 1 && c.RateHz <= 2000) {
			return nil, oracleInvalid
		}
		if c.Gain, ok = float32Lit(m["gain"]); !ok || c.Gain == 0 {
			return nil, oracleInvalid
		}
		if m["baseline"] != nil {
			if c.Baseline, ok = float32Lit(m["baseline"]); !ok {
				return nil, oracleInvalid
			}
		}
		s := m["samples"]
		if s.kind != '[' || len(s.elems) < 1 || len(s.elems) > 8192 || float64(len(s.elems))*1000/float64(c.RateHz) > 60000 {
			return nil, oracleInvalid
		}
		for _, e := range s.elems {
			v, ok := intLit(e, -32768, 32767)
			if !ok {
				return nil, oracleInvalid
			}
			c.Samples = append(c.Samples, int16(v))
		}
		f.Channels = append(f.Channels, c)
	}
	return f, oracleAccept
}

func countKey(n *jnode, k string) int {
	c := 0
	for _, x := range n.keys {
		if x == k {
			c++
		}
	}
	return c
}

// members returns an object's members by name, or nil if n is not an object,
// or has a name outside names, or a name twice.
func members(n *jnode, names ...string) map[string]*jnode {
	if n.kind != '{' {
		return nil
	}
	m := map[string]*jnode{}
	for i, k := range n.keys {
		if !isOneOf(k, names...) || m[k] != nil {
			return nil
		}
		m[k] = n.vals[i]
	}
	return m
}

// intLit: a number written as an integer (no fraction, no exponent) in lo..hi.
func intLit(n *jnode, lo, hi int64) (int64, bool) {
	if n.kind != 'n' || strings.ContainsAny(n.text, ".eE") {
		return 0, false
	}
	v, err := strconv.ParseInt(n.text, 10, 64)
	return v, err == nil && v >= lo && v <= hi
}

// float32Lit: a number that is finite as a float32.
func float32Lit(n *jnode) (float32, bool) {
	if n.kind != 'n' {
		return 0, false
	}
	v, err := strconv.ParseFloat(n.text, 32)
	return float32(v), err == nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestSeedCorpus keeps the seed corpus meaningful: every seed decodes, except
// those named bad_* or version* (which must not) and fuzz findings moved there
// (finding_*, which may go either way).
func TestSeedCorpus(t *testing.T) {
	var f WaveFrame
	decoders := map[string]func([]byte) error{
		"wave":      func(b []byte) error { return DecodeWave(b, &f) },
		"wave_json": func(b []byte) error { return DecodeWaveJSON(b, &f) },
		"num":       func(b []byte) error { _, err := DecodeNum(b); return err },
		"status":    func(b []byte) error { _, err := DecodeStatus(b); return err },
		"alarm":     func(b []byte) error { _, err := DecodeAlarm(b); return err },
		"event":     func(b []byte) error { _, err := DecodeEvent(b); return err },
	}
	for kind, decode := range decoders {
		files := corpusFiles(t, kind)
		if len(files) == 0 {
			t.Errorf("no seeds in testdata/feed/%s", kind)
		}
		for name, b := range files {
			err := decode(b)
			switch {
			case strings.HasPrefix(name, "finding_"):
			case strings.HasPrefix(name, "bad_") || strings.HasPrefix(name, "version"):
				if err == nil {
					t.Errorf("%s/%s: accepted", kind, name)
				}
			case err != nil:
				t.Errorf("%s/%s: %v", kind, name, err)
			}
		}
	}
}
