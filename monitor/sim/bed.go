package sim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Model is the device model every simulated monitor reports.
const Model = "Vigil SimMonitor 1"

const statusEveryMs = 30_000

// bed is one bedside monitor and its patient.
type bed struct {
	w        *Ward
	index    int
	name     string
	device   string
	clientID string
	battery  bool
	p        patient
	hemo     hemo     // pressures and CO2 (icu and heavy profiles)
	ecg12    ecgModel // multi-lead ECG (icu and heavy profiles)
	episodes []episode
	sc       *bedScenario // nil unless the ward's scenario runs on this bed

	waveTopic, numTopic, statusTopic string
	alarmTopic, eventTopic           string
	will                             []byte // offline status, the MQTT Last Will

	// Independent random streams, so that the beat and breath schedules depend
	// only on time, whatever frames were generated.
	rhythm, breathing, noise, vitals *rand.Rand
	beats                            history[beat]
	breaths                          history[breath]
	hrDrift, satDrift, tempDrift     float64

	frame          feed.WaveFrame // reused; AppendWave copies it out
	leadVals       [12]float64    // ECG leads at one instant (scratch)
	nextFrame      int64          // next frame slot to generate
	waveSeq        uint32
	nextNum        int64 // next numerics tick, whole seconds since the origin
	numSeq         uint32
	nibpDue        float64 // s
	announced      bool    // status published since the bed (re)started producing
	statusAt       int64   // ms since the origin of the last status
	statusLeadsOff bool    // leads-off state the last status reported
}

func newBed(w *Ward, i int, seed int64, name string, eps []episode) *bed {
	stream := func(s uint64) *rand.Rand {
		return rand.New(rand.NewPCG(mix(uint64(seed)^mix(uint64(i))), mix(uint64(i)<<8|s)))
	}
	b := &bed{
		w:         w,
		index:     i,
		name:      w.names[i],
		device:    "SIM-" + w.ward + "-" + w.names[i],
		clientID:  "vigil-sim-" + w.ward + "-" + w.names[i],
		battery:   i%4 == 3,
		episodes:  eps,
		rhythm:    stream(1),
		breathing: stream(2),
		noise:     stream(3),
		vitals:    stream(4),
		beats:     history[beat]{buf: make([]beat, beatHistory)},
		breaths:   history[breath]{buf: make([]breath, breathHistory)},
		nextNum:   1,
		nibpDue:   float64(1 + i*7%9), // first measurement within 10 s, staggered
	}
	b.p = newPatient(stream(0), i, name)
	// The multi-lead heart and the haemodynamics have their own stream, so
	// that the ward profile's patients are what they were before profiles.
	extra := stream(5)
	measured := 2 // I and II; III is derived
	if w.profile.ecgLeads > 3 {
		measured = maxMeasured
	}
	b.ecg12 = newECGModel(extra, &b.p, measured)
	b.hemo = newHemo(extra, &b.p)
	b.waveTopic = feed.Topic(w.ward, b.name, feed.StreamWave)
	b.numTopic = feed.Topic(w.ward, b.name, feed.StreamNum)
	b.statusTopic = feed.Topic(w.ward, b.name, feed.StreamStatus)
	b.alarmTopic = feed.Topic(w.ward, b.name, feed.StreamAlarm)
	b.eventTopic = feed.Topic(w.ward, b.name, feed.StreamEvent)
	b.sc = w.scen.bedScenario(i)
	b.will = feed.EncodeStatus(feed.Status{Device: b.device, Model: Model, Patient: name})

	// Start mid-cycle so that the beds are not in step.
	rr := 60 / b.p.hr
	first := beat{r: -rr * b.rhythm.Float64(), interval: rr, sinusRR: rr, pulse: 1, stroke: fill(rr)}
	for c := range b.hemo.art {
		first.art[c] = b.hemo.art[c].steadyCharge(rr)
	}
	b.beats.push(first)
	dur := 60 / b.p.rr
	b.breaths.push(breath{start: -dur * b.breathing.Float64(), dur: dur, depth: 1})

	b.frame.Channels = make([]feed.Channel, len(w.profile.channels))
	for c, spec := range w.profile.channels {
		b.frame.Channels[c] = feed.Channel{
			Code:    spec.code,
			RateHz:  float32(spec.milliHz) / 1000,
			Gain:    spec.gain,
			Samples: make([]int16, 0, ceilDiv(spec.milliHz*w.frameMs, 1e6)+1),
		}
	}
	return b
}

// step publishes what bed b has due at el ms since the origin.
func (b *bed) step(el int64, pub Publisher) error {
	w := b.w
	t := float64(el) / 1000
	dueFrames, dueNum := el/w.frameMs, el/1000
	if pub == nil || b.offline(t) {
		// The device is not running: nothing is generated, nothing is owed.
		b.nextFrame, b.nextNum, b.announced = dueFrames, dueNum+1, false
		return nil
	}
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	fresh := !b.announced
	if !b.announced || b.leadsOff(t) != b.statusLeadsOff || el-b.statusAt >= statusEveryMs {
		keep(b.publishStatus(pub, el, true))
	}
	if b.sc != nil {
		keep(b.scenarioMessages(pub, el, fresh))
	}
	b.nextFrame = max(b.nextFrame, dueFrames-catchUpMs/w.frameMs)
	for ; b.nextFrame < dueFrames; b.nextFrame++ {
		keep(b.publishWave(pub, b.nextFrame))
	}
	b.nextNum = max(b.nextNum, dueNum+1-maxCatchUpNumerics)
	for ; b.nextNum <= dueNum; b.nextNum++ {
		keep(b.publishNumerics(pub, b.nextNum))
	}
	return first
}

// publishWave generates and publishes frame slot k: of each channel, the
// samples whose time falls in [k·FrameMs, (k+1)·FrameMs). With a fractional
// number of samples per frame the counts alternate and never drift.
func (b *bed) publishWave(pub Publisher, k int64) error {
	w, f := b.w, &b.frame
	b.scheduleBeats(float64((k+1)*w.frameMs) / 1000)
	size, n := 16, 0
	for c := range w.profile.channels {
		spec := &w.profile.channels[c]
		i0, i1 := ceilDiv(spec.milliHz*k*w.frameMs, 1e6), ceilDiv(spec.milliHz*(k+1)*w.frameMs, 1e6)
		if c == 0 {
			f.StartMs = w.epochMs + i0*1e6/spec.milliHz
			b.ecgSamples(i0, i1, spec.milliHz)
		}
		ch := &f.Channels[c]
		if spec.src != srcECG {
			ch.Samples = ch.Samples[:0]
			for i := i0; i < i1; i++ {
				t := float64(i) * 1000 / float64(spec.milliHz)
				ch.Samples = append(ch.Samples, adc(b.sample(spec.src, t), spec.gain))
			}
		}
		size += 18 + 2*len(ch.Samples)
		n += len(ch.Samples)
	}
	f.Seq = b.waveSeq
	b.waveSeq++
	if err := w.publish(b, pub, b.waveTopic, 0, false, feed.AppendWave(make([]byte, 0, size), f)); err != nil {
		return err
	}
	w.waveFrames.Add(1)
	w.samples.Add(uint64(n))
	w.perBedFrames[b.index].Add(1)
	w.perBedSamples[b.index].Add(uint64(n))
	return nil
}

// ecgSamples fills the frame's ECG channels (the first ecgLeads) with samples
// i0..i1-1 at milliHz: all invalid while the leads are off.
func (b *bed) ecgSamples(i0, i1, milliHz int64) {
	nl := b.w.profile.ecgLeads
	chans := b.frame.Channels[:nl]
	for c := range chans {
		chans[c].Samples = chans[c].Samples[:0]
	}
	vals := b.leadVals[:nl]
	for i := i0; i < i1; i++ {
		t := float64(i) * 1000 / float64(milliHz)
		if b.leadsOff(t) {
			for c := range chans {
				chans[c].Samples = append(chans[c].Samples, feed.InvalidSample)
			}
			continue
		}
		if nl == 1 {
			vals[0] = b.ecg(t) // lead II alone: the single-lead model
		} else {
			b.ecgLeads(t, vals)
		}
		for c := range chans {
			chans[c].Samples = append(chans[c].Samples, adc(vals[c], ecgGain))
		}
	}
}

// Noise of the pressure and CO2 waveforms, mmHg.
const (
	pressureNoise = 0.15
	co2Noise      = 0.1
)

// sample is the physical value of a non-ECG channel at t.
func (b *bed) sample(src source, t float64) float64 {
	switch src {
	case srcPleth:
		return b.pleth(t)
	case srcResp:
		return b.resp(t)
	case srcABP:
		return b.arterialPressure(artABP, t) + pressureNoise*b.noise.NormFloat64()
	case srcPAP:
		return b.arterialPressure(artPAP, t) + pressureNoise*b.noise.NormFloat64()
	case srcCVP:
		return b.cvp(t) + pressureNoise*b.noise.NormFloat64()
	case srcICP:
		return b.icp(t) + pressureNoise*b.noise.NormFloat64()
	case srcCO2:
		return max(b.co2(t)+co2Noise*b.noise.NormFloat64(), 0)
	}
	panic("sim: no model for this channel")
}

// publishNumerics publishes the numerics of tick m (m s after the origin),
// read off the models: HR from the last R-R intervals, PR from the pulses the
// oximeter can see, RR from the last breaths, and NIBP when a measurement is due.
func (b *bed) publishNumerics(pub Publisher, m int64) error {
	t := float64(m)
	hr, hrOK := b.heartRate(t)
	pr, prOK := b.pulseRate(t)
	b.satDrift = min(max(0.98*b.satDrift+0.12*b.vitals.NormFloat64(), -1.2), 1.2)
	b.tempDrift = min(max(0.999*b.tempDrift+0.004*b.vitals.NormFloat64(), -0.2), 0.2)
	spo2 := min(b.p.spo2+b.satDrift, 100)
	spo2OK := true
	if b.sc == nil {
		spo2 -= b.level(desaturation, t) * (spo2 - desatNadir)
	} else if _, arrest := b.within(asystole, t); arrest {
		spo2OK = false // no pulse: the oximeter has nothing to measure
	} else if b.level(desaturation, t) > 0 {
		spo2 = b.scenarioSaturation()
	}
	temp := b.p.temp + 0.15*math.Sin(2*math.Pi*t/14400+b.p.tempPhase) + b.tempDrift
	vals := []feed.Numeric{
		{Code: feed.MDCECGHeartRate, Value: math.Round(hr), Valid: hrOK && !b.leadsOff(t), Unit: "bpm"},
		{Code: feed.MDCSpO2, Value: math.Round(spo2), Valid: spo2OK, Unit: "%"},
		{Code: feed.MDCPulseRate, Value: math.Round(pr), Valid: prOK, Unit: "bpm"},
		{Code: feed.MDCRespRate, Value: math.Round(b.respRate(t)), Valid: true, Unit: "/min"},
		{Code: feed.MDCTemp, Value: math.Round(temp*10) / 10, Valid: true, Unit: "Cel"},
	}
	vals = b.profileNumerics(vals, t)
	if t >= b.nibpDue {
		rise := b.sinusRate(t) - b.p.hr // pressure follows a faster heart a little
		sys := math.Round(b.p.sys + 0.3*rise + 3*b.vitals.NormFloat64())
		dia := math.Round(b.p.dia + 0.15*rise + 2*b.vitals.NormFloat64())
		vals = append(vals,
			feed.Numeric{Code: feed.MDCNIBPSys, Value: sys, Valid: true, Unit: "mmHg"},
			feed.Numeric{Code: feed.MDCNIBPDia, Value: dia, Valid: true, Unit: "mmHg"},
			feed.Numeric{Code: feed.MDCNIBPMean, Value: math.Round(dia + (sys-dia)/3), Valid: true, Unit: "mmHg"})
		b.nibpDue = t + 180 + float64(b.vitals.IntN(121)) // every 3–5 min
	}
	msg := feed.EncodeNum(feed.NumFrame{TsMs: b.w.epochMs + m*1000, Seq: b.numSeq, Values: vals})
	b.numSeq++
	if err := b.w.publish(b, pub, b.numTopic, 0, false, msg); err != nil {
		return err
	}
	b.w.numFrames.Add(1)
	return nil
}

// status is the bed's device status at el ms since the origin.
func (b *bed) status(el int64, online bool) feed.Status {
	s := feed.Status{Device: b.device, Model: Model, Online: online, Patient: b.p.name, TsMs: b.w.epochMs + el}
	if b.battery {
		// Discharging from ~90 % at about 6 %/h.
		level := math.Round(max(90-3*float64(b.index/4%5)-6*float64(el)/3.6e6, 5))
		s.Battery = &level
	}
	if online && b.leadsOff(float64(el)/1000) {
		s.LeadsOff = b.w.profile.leadCodes()
	}
	return s
}

// publishStatus publishes the bed's retained status.
func (b *bed) publishStatus(pub Publisher, el int64, online bool) error {
	s := b.status(el, online)
	b.announced, b.statusAt, b.statusLeadsOff = online, el, len(s.LeadsOff) > 0
	return b.w.publish(b, pub, b.statusTopic, 1, true, feed.EncodeStatus(s))
}

// publish publishes one message, counting a failure.
func (w *Ward) publish(b *bed, pub Publisher, topic string, qos byte, retained bool, payload []byte) error {
	if err := pub.Publish(topic, qos, retained, payload); err != nil {
		w.publishErrors.Add(1)
		return fmt.Errorf("sim: bed %s: publish %s: %w", b.name, topic, err)
	}
	return nil
}

// adc converts a physical value to a raw sample, never producing the invalid marker.
func adc(v float64, gain float32) int16 {
	return int16(min(max(math.Round(v*float64(gain)), -32767), 32767))
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// mix is the SplitMix64 finaliser: it spreads a seed over all 64 bits.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

var givenNames = [...]string{
	"Margaret", "Thomas", "Aisha", "Henrik", "Lucia", "Oluwaseun", "Mei", "Rafael",
	"Ingrid", "Tomasz", "Priya", "Declan", "Yuki", "Amara", "Pieter", "Sofia",
	"Kwame", "Elif", "Nikolai", "Rosa", "Jonas", "Fatima", "Callum", "Annika",
}

var familyNames = [...]string{
	"Whitfield", "Okafor", "Lindqvist", "Moreau", "Haddad", "Castellano", "Nakamura", "Brennan",
	"Kowalczyk", "Abernethy", "Varga", "Delacroix", "Ferreira", "Halvorsen", "Mensah", "Oyelaran",
	"Thorne", "Quispe", "Rasmussen", "Achterberg", "Gallagher", "Iyer", "Sorensen", "Vasquez",
}

// admit gives each bed a fictional patient; names repeat only beyond 576 beds.
func admit(seed int64, n int) []string {
	rng := rand.New(rand.NewPCG(mix(uint64(seed)), mix(0xad)))
	given, family := rng.Perm(len(givenNames)), rng.Perm(len(familyNames))
	names := make([]string, n)
	for i := range names {
		names[i] = givenNames[given[i%len(given)]] + " " + familyNames[family[(i+i/len(given))%len(family)]]
	}
	return names
}
