package recordings

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-station/vigil/monitor/feed"
)

const inv = feed.InvalidSample

func sine(n int, amp, period float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*float64(i)/period)))
	}
	return s
}

func noise(n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(rng.IntN(65535) - 32767) // every value but the invalid marker
	}
	return s
}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		samples []int16
		// maxBytes bounds the encoding, to catch a codec that round-trips
		// but does not compress; 0 means no bound.
		maxBytes int
	}{
		{"empty", nil, 0},
		{"one", []int16{-5}, 0},
		{"one invalid", []int16{inv}, 0},
		{"all invalid", slices.Repeat([]int16{inv}, 2500), 40},
		{"invalid at the start", []int16{inv, inv, 7, 8, 9}, 0},
		{"invalid at the end", []int16{7, 8, 9, inv}, 0},
		{"invalid in the middle", []int16{100, 102, inv, inv, 101, inv, 99}, 0},
		{"extremes", []int16{32767, -32767, 32767, -32767, 0, -32767, 32767}, 0},
		{"constant", slices.Repeat([]int16{1234}, 2500), 2500 * 9 / 8 / 8}, // ~1 bit a sample: Huffman codes are whole bits
		{"ramp", func() []int16 {
			s := make([]int16, 2500)
			for i := range s {
				s[i] = int16(i*13 - 16000)
			}
			return s
		}(), 2500 * 9 / 8 / 8}, // order 2 predicts a ramp exactly
		{"sine", sine(2500, 1000, 125), 2500},
		{"noise", noise(2000, 1), 0},
		{"leads off and back", append(append(sine(300, 200, 62), slices.Repeat([]int16{inv}, 500)...), sine(300, 200, 50)...), 600},
	}
	var dec decoder
	enc := newEncoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := slices.Clone(enc.encode(tt.samples))
			if data[0] != codecV1 || (data[1] != 1 && data[1] != 2) {
				t.Fatalf("header % x, want codec 1 and order 1 or 2", data[:2])
			}
			if tt.maxBytes > 0 && len(data) > tt.maxBytes {
				t.Errorf("%d samples encode to %d bytes, want at most %d", len(tt.samples), len(data), tt.maxBytes)
			}
			got, err := dec.decode(nil, data, len(tt.samples))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(tt.samples, got, cmpEmpty); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			// Appending after existing samples keeps them.
			got, err = dec.decode([]int16{1, 2}, data, len(tt.samples))
			if err != nil || len(got) != 2+len(tt.samples) || got[0] != 1 || got[1] != 2 {
				t.Errorf("decode after 2 samples: len %d, err %v", len(got), err)
			}
		})
	}
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Comparer(func(a, b []int16) bool { return slices.Equal(a, b) })

// Both predictor orders round-trip on their own, whichever encode picks.
func TestCodecOrders(t *testing.T) {
	var dec decoder
	for _, s := range [][]int16{sine(1000, 3000, 40), noise(500, 2), {inv, 5, inv, -7, 32767, -32767}} {
		for order := 1; order <= 2; order++ {
			enc := newEncoder()
			// Build the order's encoding the way encode does.
			buf := &enc.out[0]
			buf.Reset()
			buf.WriteByte(codecV1)
			buf.WriteByte(byte(order))
			enc.fw.Reset(buf)
			enc.fw.Write(appendTokens(nil, s, order))
			enc.fw.Close()
			got, err := dec.decode(nil, buf.Bytes(), len(s))
			if err != nil {
				t.Fatalf("order %d: %v", order, err)
			}
			if !slices.Equal(got, s) {
				t.Errorf("order %d: round trip differs", order)
			}
		}
	}
}

func TestCodecTokens(t *testing.T) {
	// The worked example of the format comment.
	got := appendTokens(nil, []int16{100, 102, inv, inv, 101}, 1)
	want := []byte{201, 1, 5, 0, 2, 2} // 201 is uvarint 0xc9 0x01
	if !slices.Equal(got, want) {
		t.Errorf("tokens % d, want % d", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	enc := newEncoder()
	good := slices.Clone(enc.encode(sine(100, 500, 30)))
	var dec decoder
	tests := []struct {
		name string
		data []byte
		n    int
	}{
		{"nothing", nil, 1},
		{"header only", good[:2], 100},
		{"unknown codec", append([]byte{9}, good[1:]...), 100},
		{"unknown order", append([]byte{1, 3}, good[2:]...), 100},
		{"truncated", good[:len(good)/2], 100},
		{"fewer samples than n", good, 101},
		{"more samples than n", good, 99},
		{"negative n", good, -1},
		{"not deflate", []byte{1, 1, 0xff, 0xff, 0xff, 0xff}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dec.decode(nil, tt.data, tt.n)
			if err == nil {
				t.Fatal("decode succeeded")
			}
			if tt.name != "not deflate" && !errors.Is(err, errCorruptChunk) {
				t.Errorf("error %v does not wrap errCorruptChunk", err)
			}
		})
	}
}

// FuzzCodec checks that any samples round-trip and that decoding any bytes
// never panics nor yields more samples than asked.
func FuzzCodec(f *testing.F) {
	enc := newEncoder()
	f.Add([]byte{}, uint16(0))
	f.Add([]byte{0, 0x80, 0, 0x80, 1, 0, 0xff, 0x7f}, uint16(4))
	f.Add(slices.Clone(enc.encode([]int16{100, 102, inv, inv, 101})), uint16(5))
	f.Add(slices.Clone(enc.encode(sine(300, 2000, 37))), uint16(300))
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		var dec decoder
		// b as encoded data.
		got, err := dec.decode(nil, b, int(n))
		if err == nil && len(got) != int(n) {
			t.Fatalf("decoded %d samples, asked for %d", len(got), n)
		}
		if len(got) > int(n) {
			t.Fatalf("decoded %d samples, more than %d", len(got), n)
		}
		// b as little-endian samples.
		s := make([]int16, len(b)/2)
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		data := enc.encode(s)
		back, err := dec.decode(nil, data, len(s))
		if err != nil {
			t.Fatalf("decode of encode: %v", err)
		}
		if !slices.Equal(back, s) {
			t.Fatalf("round trip differs:\n in %v\nout %v", s, back)
		}
	})
}
