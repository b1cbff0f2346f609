package sim

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

var t0 = time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)

// message is one recorded Publish call.
type message struct {
	topic    string
	qos      byte
	retained bool
	payload  []byte
	at       time.Time // the Step (or tick) time it was published in
}

// recorder is a fake Conn that keeps everything published to it.
type recorder struct {
	mu      sync.Mutex
	clock   *time.Time // when set, stamps each message
	msgs    []message
	closed  bool
	dropped bool // lost without a DISCONNECT (droppable.Drop)
}

func (r *recorder) Publish(topic string, qos byte, retained bool, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := message{topic: topic, qos: qos, retained: retained, payload: payload}
	if r.clock != nil {
		m.at = *r.clock
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) Close() { r.mu.Lock(); r.closed = true; r.mu.Unlock() }

func (r *recorder) isClosed() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.closed }

func (r *recorder) isDropped() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.dropped }

// droppable is a recorder that can also lose its connection (a Dropper).
type droppable struct{ *recorder }

func (d droppable) Drop() { d.mu.Lock(); d.dropped = true; d.mu.Unlock() }

func (r *recorder) messages() []message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// drive steps w from t0 to t0+d inclusive every 200 ms, one recorder per bed.
func drive(t testing.TB, w *Ward, d time.Duration) []*recorder {
	t.Helper()
	var now time.Time
	recs := make([]*recorder, len(w.beds))
	pubs := make([]Publisher, len(recs))
	for i := range recs {
		recs[i] = &recorder{clock: &now}
		pubs[i] = recs[i]
	}
	for now = t0; !now.After(t0.Add(d)); now = now.Add(200 * time.Millisecond) {
		if err := w.Step(now, pubs); err != nil {
			t.Fatalf("Step(%v): %v", now.Sub(t0), err)
		}
	}
	return recs
}

func newWard(t testing.TB, cfg Config) *Ward {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// record is one bed's decoded output.
type record struct {
	frames   []feed.WaveFrame
	ecg      []float64 // mV, NaN when invalid
	ecgMs    []int64   // sample times, ms since t0
	pleth    []float64 // only meaningful for a bed without gaps: sample j is at 8j ms
	nums     []feed.NumFrame
	numAt    []time.Time
	statuses []feed.Status
	statusAt []time.Time
	waveAt   []time.Time
	alarms   []feed.Alarm
	alarmAt  []time.Time
	events   []feed.Event
	eventAt  []time.Time
}

func decode(t testing.TB, w *Ward, bed int, msgs []message) record {
	t.Helper()
	var r record
	name := w.BedNames()[bed]
	for _, m := range msgs {
		switch m.topic {
		case feed.Topic("ICU1", name, feed.StreamWave):
			if m.qos != 0 || m.retained {
				t.Fatalf("bed %s: wave qos %d retained %v", name, m.qos, m.retained)
			}
			var f feed.WaveFrame
			if err := feed.DecodeWave(m.payload, &f); err != nil {
				t.Fatalf("bed %s: DecodeWave: %v", name, err)
			}
			r.frames = append(r.frames, f)
			r.waveAt = append(r.waveAt, m.at)
			ecg := &f.Channels[0]
			for j, s := range ecg.Samples {
				r.ecg = append(r.ecg, float64(ecg.Physical(s)))
				r.ecgMs = append(r.ecgMs, f.StartMs-t0.UnixMilli()+int64(j)*4)
			}
			for _, s := range f.Channels[1].Samples {
				r.pleth = append(r.pleth, float64(f.Channels[1].Physical(s)))
			}
		case feed.Topic("ICU1", name, feed.StreamNum):
			n, err := feed.DecodeNum(m.payload)
			if err != nil {
				t.Fatalf("bed %s: DecodeNum: %v", name, err)
			}
			r.nums = append(r.nums, n)
			r.numAt = append(r.numAt, m.at)
		case feed.Topic("ICU1", name, feed.StreamStatus):
			if m.qos != 1 || !m.retained {
				t.Fatalf("bed %s: status qos %d retained %v", name, m.qos, m.retained)
			}
			s, err := feed.DecodeStatus(m.payload)
			if err != nil {
				t.Fatalf("bed %s: DecodeStatus: %v", name, err)
			}
			r.statuses = append(r.statuses, s)
			r.statusAt = append(r.statusAt, m.at)
		case feed.Topic("ICU1", name, feed.StreamAlarm):
			if m.qos != 1 || m.retained {
				t.Fatalf("bed %s: alarm qos %d retained %v", name, m.qos, m.retained)
			}
			a, err := feed.DecodeAlarm(m.payload)
			if err != nil {
				t.Fatalf("bed %s: DecodeAlarm: %v", name, err)
			}
			r.alarms = append(r.alarms, a)
			r.alarmAt = append(r.alarmAt, m.at)
		case feed.Topic("ICU1", name, feed.StreamEvent):
			if m.qos != 1 || m.retained {
				t.Fatalf("bed %s: event qos %d retained %v", name, m.qos, m.retained)
			}
			e, err := feed.DecodeEvent(m.payload)
			if err != nil {
				t.Fatalf("bed %s: DecodeEvent: %v", name, err)
			}
			r.events = append(r.events, e)
			r.eventAt = append(r.eventAt, m.at)
		default:
			t.Fatalf("bed %s published on %q", name, m.topic)
		}
	}
	return r
}

// value returns a numeric of n, and whether it is there and valid.
func value(n feed.NumFrame, code uint32) (float64, bool) {
	for _, v := range n.Values {
		if v.Code == code {
			return v.Value, v.Valid
		}
	}
	return 0, false
}

// secs is a numerics message's time in s since t0.
func secs(n feed.NumFrame) float64 { return float64(n.TsMs-t0.UnixMilli()) / 1000 }

// rPeaks is a plain threshold detector: samples above 0.6 mV that are the
// maximum within ±100 ms. It returns peak times in s since t0.
func rPeaks(r record) []float64 {
	var peaks []float64
	for i, v := range r.ecg {
		if !(v >= 0.6) || i < 25 || i+25 >= len(r.ecg) {
			continue
		}
		top := true
		for j := i - 25; j <= i+25 && top; j++ {
			top = !(r.ecg[j] > v || (r.ecg[j] == v && j < i))
		}
		if top {
			peaks = append(peaks, float64(r.ecgMs[i])/1000)
		}
	}
	return peaks
}

func TestFramesAreContiguous(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 4, Seed: 1})
	recs := drive(t, w, 10*time.Second)
	st := w.Stats()
	var frames, samples, nums uint64
	for bed, rec := range recs {
		r := decode(t, w, bed, rec.messages())
		want := [3]struct {
			code uint32
			rate float32
			gain float32
			n    int
		}{{feed.MDCECGLeadII, 250, 200, 2500}, {feed.MDCPleth, 125, 1000, 1250}, {feed.MDCRespImpedance, 62.5, 1000, 625}}
		var got [3]int
		for k, f := range r.frames {
			if f.Seq != uint32(k) {
				t.Fatalf("bed %d frame %d: seq %d", bed, k, f.Seq)
			}
			if f.StartMs != t0.UnixMilli()+int64(200*k) {
				t.Fatalf("bed %d frame %d: start %d ms after t0", bed, k, f.StartMs-t0.UnixMilli())
			}
			for c, ch := range f.Channels {
				if ch.Code != want[c].code || ch.RateHz != want[c].rate || ch.Gain != want[c].gain || ch.Baseline != 0 {
					t.Fatalf("bed %d frame %d channel %d: %+v", bed, k, c, ch)
				}
				got[c] += len(ch.Samples)
			}
			// 12.5 samples a frame: sample i at 16i ms goes in the frame whose period holds it.
			if n := len(f.Channels[2].Samples); n != 13-k%2 {
				t.Errorf("bed %d frame %d: %d resp samples, want %d", bed, k, n, 13-k%2)
			}
			frames++
			for _, ch := range f.Channels {
				samples += uint64(len(ch.Samples))
			}
		}
		for c := range got {
			if d := got[c] - want[c].n; d < -1 || d > 1 {
				t.Errorf("bed %d channel %d: %d samples in 10 s, want %d±1", bed, c, got[c], want[c].n)
			}
		}
		if st.PerBedFrames[bed] != uint64(len(r.frames)) || st.PerBedSamples[bed] != uint64(got[0]+got[1]+got[2]) {
			t.Errorf("bed %d: stats %d frames %d samples, received %d, %d", bed, st.PerBedFrames[bed], st.PerBedSamples[bed], len(r.frames), got[0]+got[1]+got[2])
		}

		if len(r.nums) != 10 {
			t.Fatalf("bed %d: %d numerics messages in 10 s", bed, len(r.nums))
		}
		nibp := 0
		for k, n := range r.nums {
			nums++
			if n.Seq != uint32(k) || n.TsMs != t0.UnixMilli()+int64(1000*(k+1)) {
				t.Errorf("bed %d numerics %d: seq %d ts %d", bed, k, n.Seq, n.TsMs-t0.UnixMilli())
			}
			if _, ok := value(n, feed.MDCNIBPSys); ok {
				nibp++
				sys, _ := value(n, feed.MDCNIBPSys)
				dia, _ := value(n, feed.MDCNIBPDia)
				mean, _ := value(n, feed.MDCNIBPMean)
				if !(dia < mean && mean < sys) || sys < 80 || sys > 180 {
					t.Errorf("bed %d: NIBP %v/%v (%v)", bed, sys, dia, mean)
				}
			}
			if len(n.Values) < 5 {
				t.Errorf("bed %d: numerics %+v", bed, n.Values)
			}
			for _, v := range n.Values {
				if !v.Valid || v.Unit == "" {
					t.Errorf("bed %d: %+v", bed, v)
				}
			}
		}
		if nibp != 1 {
			t.Errorf("bed %d: %d NIBP measurements in the first 10 s, want 1", bed, nibp)
		}

		if len(r.statuses) == 0 {
			t.Fatalf("bed %d: no status", bed)
		}
		s := r.statuses[0]
		if !s.Online || s.Device != "SIM-ICU1-"+w.BedNames()[bed] || s.Model != Model || s.Patient == "" || len(s.LeadsOff) != 0 {
			t.Errorf("bed %d: status %+v", bed, s)
		}
		if (s.Battery != nil) != (bed == 3) {
			t.Errorf("bed %d: battery %v", bed, s.Battery)
		}
	}
	if st.WaveFrames != frames || st.Samples != samples || st.NumFrames != nums || st.PublishErrors != 0 {
		t.Errorf("stats %+v, received %d frames %d samples %d numerics", st, frames, samples, nums)
	}
}

func TestHeartRateMatchesECG(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 8, Seed: 7})
	recs := drive(t, w, 60*time.Second)
	for _, bed := range []int{0, 1, 5} { // 58/min, a random one, 105/min
		r := decode(t, w, bed, recs[bed].messages())
		peaks := rPeaks(r)
		if len(peaks) < 50 {
			t.Fatalf("bed %d: %d R peaks in 60 s", bed, len(peaks))
		}
		var rr []float64
		for k := 1; k < len(peaks); k++ {
			rr = append(rr, peaks[k]-peaks[k-1])
		}
		lo, hi := slices.Min(rr), slices.Max(rr)
		if hi/lo < 1.02 || hi/lo > 1.4 {
			t.Errorf("bed %d: R-R from %.3f to %.3f s: want a few %% of variability", bed, lo, hi)
		}
		checked := 0
		for _, n := range r.nums {
			ts := secs(n)
			if ts < 15 {
				continue
			}
			last := -1
			for k, p := range peaks {
				if p <= ts {
					last = k
				}
			}
			detected := 60 * 8 / (peaks[last] - peaks[last-8])
			hr, ok := value(n, feed.MDCECGHeartRate)
			if !ok || math.Abs(hr-detected) > 3 {
				t.Errorf("bed %d at %.0f s: HR %v (valid %v), R peaks give %.1f", bed, ts, hr, ok, detected)
			}
			if pr, ok := value(n, feed.MDCPulseRate); !ok || math.Abs(pr-hr) > 3 {
				t.Errorf("bed %d at %.0f s: PR %v, HR %v", bed, ts, pr, hr)
			}
			checked++
		}
		if checked < 40 {
			t.Errorf("bed %d: %d numerics checked", bed, checked)
		}
	}
	// The ward is not uniform.
	at10s := func(bed int, code uint32) float64 {
		v, _ := value(decode(t, w, bed, recs[bed].messages()).nums[9], code)
		return v
	}
	if hr0, hr5 := at10s(0, feed.MDCECGHeartRate), at10s(5, feed.MDCECGHeartRate); hr0 > 65 || hr5 < 98 {
		t.Errorf("edge beds: HR %v and %v", hr0, hr5)
	}
	if rr0, rr5 := at10s(0, feed.MDCRespRate), at10s(5, feed.MDCRespRate); rr0 > 14 || rr5 < 20 {
		t.Errorf("edge beds: RR %v and %v", rr0, rr5)
	}
}

func TestPlethFollowsR(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 8, Seed: 11})
	recs := drive(t, w, 30*time.Second)
	for _, bed := range []int{0, 3, 5} {
		r := decode(t, w, bed, recs[bed].messages())
		peaks := rPeaks(r)
		top, bottom := slices.Max(r.pleth), slices.Min(r.pleth)
		thr := bottom + 0.75*(top-bottom)
		pulses := 0
		for i := 19; i+19 < len(r.pleth); i++ { // local maxima within ±150 ms
			v := r.pleth[i]
			if v < thr || slices.Max(r.pleth[i-19:i+20]) != v || slices.Index(r.pleth[i-19:i+20], v) != 19 {
				continue
			}
			at := float64(i) * 0.008
			k, _ := slices.BinarySearch(peaks, at)
			if k == 0 {
				continue
			}
			if d := at - peaks[k-1]; d < 0.150 || d > 0.350 {
				t.Errorf("bed %d: pleth peak at %.3f s is %.0f ms after R", bed, at, d*1000)
			}
			pulses++
		}
		if pulses < len(peaks)-3 {
			t.Errorf("bed %d: %d pleth pulses for %d beats", bed, pulses, len(peaks))
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Ward: "ICU1", Beds: 16, Seed: 42, Events: true, EventsAfter: 5 * time.Second}
	a := drive(t, newWard(t, cfg), 240*time.Second)
	b := drive(t, newWard(t, cfg), 240*time.Second)
	cfg.Seed++
	c := drive(t, newWard(t, cfg), 10*time.Second)
	for i := range a {
		ma, mb := a[i].messages(), b[i].messages()
		if len(ma) != len(mb) {
			t.Fatalf("bed %d: %d and %d messages", i, len(ma), len(mb))
		}
		for k := range ma {
			if ma[k].topic != mb[k].topic || !bytes.Equal(ma[k].payload, mb[k].payload) {
				t.Fatalf("bed %d message %d differs", i, k)
			}
		}
		mc := c[i].messages()
		if bytes.Equal(ma[1].payload, mc[1].payload) {
			t.Errorf("bed %d: another seed gives the same first frame", i)
		}
	}
}

func TestNew(t *testing.T) {
	for _, cfg := range []Config{
		{Ward: "", Beds: 4},
		{Ward: "ICU/1", Beds: 4},
		{Ward: "ICU1", Beds: 0},
		{Ward: "ICU1", Beds: 1000},
		{Ward: "ICU1", Beds: 4, FrameMs: 10},
		{Ward: "ICU1", Beds: 4, EventsAfter: -time.Second},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): %v, want ErrConfig", cfg, err)
		}
	}
	w := newWard(t, Config{Ward: "ICU1", Beds: 120})
	names := w.BedNames()
	if len(names) != 120 || names[0] != "001" || names[119] != "120" {
		t.Errorf("bed names %v ... %v", names[0], names[len(names)-1])
	}
	if names := newWard(t, Config{Ward: "ICU1", Beds: 16}).BedNames(); names[0] != "01" || names[15] != "16" {
		t.Errorf("bed names %v", names)
	}
	if err := w.Step(t0, make([]Publisher, 3)); err == nil {
		t.Error("Step with 3 publishers for 120 beds: no error")
	}
}

func TestEpisodesOnDistinctBeds(t *testing.T) {
	for n := 1; n <= 20; n++ {
		busy := 0
		for _, eps := range assignEpisodes(n) {
			if len(eps) > 0 {
				busy++
			}
		}
		if want := min(n, len(script)); busy != want {
			t.Errorf("%d beds: episodes on %d beds, want %d", n, busy, want)
		}
	}
	eps := assignEpisodes(16)
	for _, e := range script {
		if len(eps[e.bed]) != 1 || eps[e.bed][0].kind != e.kind {
			t.Errorf("16 beds: bed %d has %v", e.bed, eps[e.bed])
		}
	}
}

// discard is a Publisher that drops everything.
type discard struct{}

func (discard) Publish(string, byte, bool, []byte) error { return nil }

func BenchmarkStep16Beds(b *testing.B) { benchStep(b, 16, ProfileWard) }

// Patients names each bed's patient, the one its status reports all along
// (the scripted events never change it): the demo admits them by it.
func TestPatientsAreWhatTheStatusesSay(t *testing.T) {
	w := newWard(t, Config{Ward: "ICU1", Beds: 6, Seed: 7, Events: true, EventsAfter: time.Second})
	names := w.Patients()
	if len(names) != 6 {
		t.Fatalf("%d patients for 6 beds", len(names))
	}
	seen := map[string]bool{}
	for i, n := range names {
		if n == "" || seen[n] {
			t.Fatalf("bed %d: patient %q (all: %q)", i, n, names)
		}
		seen[n] = true
	}
	names[0] = "changed by the caller"
	if w.Patients()[0] == names[0] {
		t.Fatal("Patients hands out the ward's own slice")
	}
	recs := drive(t, w, 90*time.Second)
	for bed, rec := range recs {
		r := decode(t, w, bed, rec.messages())
		if len(r.statuses) == 0 {
			t.Fatalf("bed %d: no status", bed)
		}
		for _, s := range r.statuses {
			if s.Patient != w.Patients()[bed] {
				t.Fatalf("bed %d: status names %q, Patients %q", bed, s.Patient, w.Patients()[bed])
			}
		}
	}
}
