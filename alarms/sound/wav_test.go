package sound

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-station/vigil/alarms"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// The wav sink's files hold exactly the bursts, and measure the same.
func TestWAVSinkRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bursts") // created by Open
	s, err := Open("wav:" + dir)
	if err != nil {
		t.Fatalf("Open wav: %v", err)
	}
	plays := []struct {
		p    alarms.Priority
		loud bool
	}{{alarms.High, false}, {alarms.High, true}, {alarms.Medium, false}, {alarms.Low, false}}
	for _, pl := range plays {
		if err := s.Play(Name(pl.p, pl.loud), Burst(pl.p, pl.loud, DefaultRate), DefaultRate); err != nil {
			t.Fatalf("Play %s: %v", Name(pl.p, pl.loud), err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Play("high", Burst(alarms.High, false, DefaultRate), DefaultRate); err == nil {
		t.Error("Play after Close succeeded")
	}

	want := []string{"000001-high.wav", "000002-high-loud.wav", "000003-medium.wav", "000004-low.wav"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	var quietRMS float64
	for i, pl := range plays {
		pcm, rate, err := ReadWAVFile(filepath.Join(dir, want[i]))
		if err != nil {
			t.Fatalf("read back %s: %v", want[i], err)
		}
		if rate != DefaultRate {
			t.Errorf("%s: rate %d, want %d", want[i], rate, DefaultRate)
		}
		if !slices.Equal(pcm, Burst(pl.p, pl.loud, DefaultRate)) {
			t.Errorf("%s: samples differ from the burst", want[i])
		}
		m, err := analyse(pcm, rate)
		if err != nil {
			t.Fatalf("analyse %s: %v", want[i], err)
		}
		t.Logf("%s: %s", want[i], m.report())
		checkBurst(t, pl.p, m)
		if pl.p == alarms.High {
			checkHighStructure(t, m)
			if !pl.loud {
				quietRMS = m.rms
			} else if g := 20 * math.Log10(m.rms/quietRMS); !near(g, LoudGainDB, 0.05) {
				t.Errorf("%s is %+.2f dB over %s, want %+.2f dB", want[i], g, want[0], LoudGainDB)
			}
		}
	}
}

func TestWAVSinkContinuesNumbering(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"000041-medium.wav", "000007-high.wav", "notes.txt", "x-1.wav"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewWAVSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Play("high", Burst(alarms.Low, false, MinRate), MinRate); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "000042-high.wav")); err != nil {
		t.Errorf("the next file is not 000042-high.wav: %v (have %q)", err, dirNames(t, dir))
	}
}

func TestWAVSinkKeepsNamesInside(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	s, err := NewWAVSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Play("../../escape me", []int16{1, 2, 3}, MinRate); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"000001-______escape_me.wav"}) {
		t.Errorf("files %q", got)
	}
	if got := dirNames(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("a file was written beside the directory: %q", got)
	}
}

func TestWAVSinkFailsOnUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWAVSink(file); err == nil {
		t.Error("NewWAVSink on a plain file succeeded")
	}
}

// chunk and riff build WAV files for the reader's tests.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, format)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(channels)*uint32(bits)/8)
	b = le.AppendUint16(b, channels*bits/8)
	return le.AppendUint16(b, bits)
}

func TestReadWAVSkipsOtherChunks(t *testing.T) {
	data := []byte{0x01, 0x00, 0xff, 0xff, 0x00, 0x80} // 1, -1, -32768
	b := riff(chunk("LIST", []byte("odd")), chunk("fmt ", fmtChunk(1, 1, 22050, 16)), chunk("data", data))
	pcm, rate, err := ReadWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if rate != 22050 || !slices.Equal(pcm, []int16{1, -1, -32768}) {
		t.Errorf("got rate %d, samples %v", rate, pcm)
	}
}

func TestReadWAVRejects(t *testing.T) {
	good := fmtChunk(1, 1, 8000, 16)
	truncated := riff(chunk("fmt ", good), chunk("data", []byte{1, 2, 3, 4}))
	truncated = truncated[:len(truncated)-2]
	cases := map[string][]byte{
		"empty":          nil,
		"not RIFF":       []byte("RIFX\x04\x00\x00\x00WAVE"),
		"not WAVE":       []byte("RIFF\x04\x00\x00\x00AVI "),
		"no chunks":      riff(),
		"no data":        riff(chunk("fmt ", good)),
		"no fmt":         riff(chunk("data", []byte{0, 0})),
		"stereo":         riff(chunk("fmt ", fmtChunk(1, 2, 8000, 16)), chunk("data", []byte{0, 0, 0, 0})),
		"8-bit":          riff(chunk("fmt ", fmtChunk(1, 1, 8000, 8)), chunk("data", []byte{0, 0})),
		"float":          riff(chunk("fmt ", fmtChunk(3, 1, 8000, 16)), chunk("data", []byte{0, 0})),
		"rate 0":         riff(chunk("fmt ", fmtChunk(1, 1, 0, 16)), chunk("data", []byte{0, 0})),
		"short fmt":      riff(chunk("fmt ", good[:10]), chunk("data", []byte{0, 0})),
		"half sample":    riff(chunk("fmt ", good), chunk("data", []byte{0, 0, 0})),
		"truncated data": truncated,
		"two data":       riff(chunk("fmt ", good), chunk("data", []byte{0, 0}), chunk("data", []byte{0, 0})),
		"torn header":    append(riff(chunk("fmt ", good), chunk("data", []byte{0, 0})), 'L', 'I'),
	}
	for name, b := range cases {
		if _, _, err := ReadWAV(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func TestWriteWAVRejectsBadRate(t *testing.T) {
	if err := WriteWAV(&bytes.Buffer{}, []int16{0}, 0); err == nil {
		t.Error("WriteWAV at rate 0 succeeded")
	}
}

func FuzzReadWAV(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteWAV(&buf, Burst(alarms.Low, false, MinRate)[:64], MinRate); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(riff(chunk("LIST", []byte("x")), chunk("fmt ", fmtChunk(1, 1, 8000, 16)), chunk("data", []byte{1, 2})))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, rate, err := ReadWAV(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteWAV(&out, pcm, rate); err != nil {
			t.Fatalf("rewrite what was read: %v", err)
		}
		pcm2, rate2, err := ReadWAV(&out)
		if err != nil || rate2 != rate || !slices.Equal(pcm, pcm2) {
			t.Fatalf("round trip changed the file: rate %d → %d, err %v", rate, rate2, err)
		}
	})
}
