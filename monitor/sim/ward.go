package sim

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// Publisher is one device's connection to the broker. The simulator never
// touches a payload again after handing it to Publish, so an implementation
// may keep it.
type Publisher interface {
	Publish(topic string, qos byte, retained bool, payload []byte) error
}

// Conn is a device connection that can be closed (the device going away).
type Conn interface {
	Publisher
	Close()
}

// Config describes the simulated ward.
type Config struct {
	Ward        string        // e.g. "ICU1"
	Beds        int           // number of beds, named "01".."NN" (three digits above 99)
	FrameMs     int           // waveform frame period, 20..5000 ms; 200 when 0
	Seed        int64         // all per-bed randomness derives from it
	Events      bool          // run the scripted clinical and technical events
	EventsAfter time.Duration // simulated time before the script starts; 60 s when 0 and Events is set
	Profile     Profile       // what each monitor sends; ProfileWard when empty

	// Scenario, when set, plays a named scenario (Scenarios) instead of the
	// event script: normal for ScenarioLeadIn, the condition for
	// ScenarioHold, normal for ScenarioRecovery, and again, for as long as
	// the ward runs. Events and EventsAfter are then ignored.
	Scenario         string
	ScenarioBed      int           // 1-based bed number the scenario runs on; 1 when 0; ignored by "storm"
	ScenarioLeadIn   time.Duration // 10 s when 0; at least 1 s
	ScenarioHold     time.Duration // 60 s when 0; at least 1 s
	ScenarioRecovery time.Duration // 30 s when 0; at least 1 s
}

// ErrConfig is wrapped by New for a configuration it refuses.
var ErrConfig = errors.New("sim: invalid configuration")

const (
	defaultFrameMs     = 200
	defaultEventsAfter = 60 * time.Second
	maxBeds            = 999
	catchUpMs          = 5000 // a Step late by more than this drops the older frames
	maxCatchUpNumerics = 5
)

// Ward is the simulated ward: one bedside monitor per bed.
type Ward struct {
	ward        string
	profile     *profileSpec
	frameMs     int64
	events      bool
	eventsAfter float64 // s
	names       []string
	patients    []string // bed index -> the patient its monitor reports

	mu      sync.Mutex // guards the time origin and every bed's model state
	started bool
	epochMs int64 // Unix ms of the ward's time origin, fixed by the first Step (or Run)
	clockMs int64 // ms since the origin of the latest Step
	beds    []*bed
	scen    *scenarioRun // nil without a scenario

	waveFrames, samples, numFrames atomic.Uint64
	publishErrors, dialErrors      atomic.Uint64
	perBedSamples, perBedFrames    []atomic.Uint64
}

// Stats are the ward's counters since New.
type Stats struct {
	WaveFrames    uint64 // waveform messages published
	Samples       uint64 // waveform samples published, all channels
	NumFrames     uint64 // numerics messages published
	PublishErrors uint64 // Publish calls that returned an error (any stream)
	DialErrors    uint64 // failed connection attempts in Run
	PerBedSamples []uint64
	PerBedFrames  []uint64
}

// New validates cfg and builds the ward. Nothing is published until Step or Run.
func New(cfg Config) (*Ward, error) {
	if !feed.ValidName(cfg.Ward) {
		return nil, fmt.Errorf("%w: ward name %q cannot stand in a topic", ErrConfig, cfg.Ward)
	}
	if cfg.Beds < 1 || cfg.Beds > maxBeds {
		return nil, fmt.Errorf("%w: %d beds, want 1..%d", ErrConfig, cfg.Beds, maxBeds)
	}
	if cfg.FrameMs == 0 {
		cfg.FrameMs = defaultFrameMs
	}
	// At least one respiration sample (62.5 Hz) in every frame.
	if cfg.FrameMs < 20 || cfg.FrameMs > 5000 {
		return nil, fmt.Errorf("%w: frame period %d ms, want 20..5000", ErrConfig, cfg.FrameMs)
	}
	if cfg.EventsAfter < 0 {
		return nil, fmt.Errorf("%w: negative EventsAfter %v", ErrConfig, cfg.EventsAfter)
	}
	if cfg.EventsAfter == 0 {
		cfg.EventsAfter = defaultEventsAfter
	}
	if cfg.Profile == "" {
		cfg.Profile = ProfileWard
	}
	spec, ok := profiles[cfg.Profile]
	if !ok {
		return nil, fmt.Errorf("%w: unknown profile %q, want %s", ErrConfig, cfg.Profile, profileList())
	}
	w := &Ward{
		ward:          cfg.Ward,
		profile:       spec,
		frameMs:       int64(cfg.FrameMs),
		events:        cfg.Events,
		eventsAfter:   cfg.EventsAfter.Seconds(),
		names:         make([]string, cfg.Beds),
		beds:          make([]*bed, cfg.Beds),
		perBedSamples: make([]atomic.Uint64, cfg.Beds),
		perBedFrames:  make([]atomic.Uint64, cfg.Beds),
	}
	width := 2
	if cfg.Beds > 99 {
		width = 3
	}
	var episodes [][]episode
	if cfg.Scenario != "" {
		if err := w.setScenario(&cfg); err != nil {
			return nil, err
		}
	} else if cfg.Events {
		episodes = assignEpisodes(cfg.Beds)
	}
	w.patients = admit(cfg.Seed, cfg.Beds)
	for i := range w.beds {
		w.names[i] = fmt.Sprintf("%0*d", width, i+1)
		var eps []episode
		if episodes != nil {
			eps = episodes[i]
		}
		w.beds[i] = newBed(w, i, cfg.Seed, w.patients[i], eps)
	}
	return w, nil
}

// BedNames returns the bed names, index = bed index.
func (w *Ward) BedNames() []string { return append([]string(nil), w.names...) }

// Patients returns the patients' names, index = bed index: the name each
// bed's monitor reports in its status (feed.Status.Patient), fixed by the
// Seed and never changed while the ward runs. Whoever admits the simulated
// patients (the demo) admits them by these names.
func (w *Ward) Patients() []string { return append([]string(nil), w.patients...) }

// Step produces and publishes everything due up to now: each bed's waveform
// frames (one per FrameMs), numerics (each whole second), status (on
// connect, on a leads-off change and every 30 s) and, in a scenario, its
// device alarm and event messages. The first call fixes the
// ward's time origin; frame k of a bed covers [origin+k·FrameMs,
// origin+(k+1)·FrameMs) and is due once now reaches its end.
//
// pubs[i] is bed i's publisher. A bed with a nil publisher, or inside its
// device-offline event, produces nothing: its frames are not generated (its
// sequence numbers do not skip) and it announces its status again when it is
// back. Step is deterministic for a given Config and sequence of now values.
// It publishes every bed even when some fail and returns the first publish
// error; all are counted in Stats.
func (w *Ward) Step(now time.Time, pubs []Publisher) error {
	if len(pubs) != len(w.beds) {
		return fmt.Errorf("sim: Step: %d publishers for %d beds", len(pubs), len(w.beds))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begin(now)
	el := now.UnixMilli() - w.epochMs
	if el < 0 {
		return nil
	}
	w.clockMs = el
	var first error
	for i, b := range w.beds {
		if err := b.step(el, pubs[i]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// begin fixes the time origin if it is not fixed yet. Callers hold w.mu.
func (w *Ward) begin(now time.Time) {
	if !w.started {
		w.started, w.epochMs = true, now.UnixMilli()
	}
}

// EventsAt names the scripted events active on bed index bed at now: "pvc",
// "bigeminy", "desat", "tachy", "leads-off", "offline"; with a scenario, its
// name while its condition holds on that bed. Nil before the first Step and
// for a bed without events.
func (w *Ward) EventsAt(bed int, now time.Time) []string {
	if bed < 0 || bed >= len(w.beds) {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return nil
	}
	return w.beds[bed].activeEvents(float64(now.UnixMilli()-w.epochMs) / 1000)
}

// offlineAt reports whether bed i's device is inside its offline event at now.
func (w *Ward) offlineAt(i int, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started && w.beds[i].offline(float64(now.UnixMilli()-w.epochMs)/1000)
}

// Stats returns the counters. Safe from any goroutine.
func (w *Ward) Stats() Stats {
	s := Stats{
		WaveFrames:    w.waveFrames.Load(),
		Samples:       w.samples.Load(),
		NumFrames:     w.numFrames.Load(),
		PublishErrors: w.publishErrors.Load(),
		DialErrors:    w.dialErrors.Load(),
		PerBedSamples: make([]uint64, len(w.beds)),
		PerBedFrames:  make([]uint64, len(w.beds)),
	}
	for i := range w.beds {
		s.PerBedSamples[i] = w.perBedSamples[i].Load()
		s.PerBedFrames[i] = w.perBedFrames[i].Load()
	}
	return s
}
