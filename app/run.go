// Package app is Vigil's composition root: it turns the command line into a
// running station — embedded broker, simulated ward, feed subscription, hub,
// diagnostics and the window — and stops them in order. It is the only
// package that imports fyne's app package, and it wires the paho adapter.
//
// Start order: data directory and log, broker (embedded only), hub, feed
// subscription, simulator, diagnostics, window. Stop order is the reverse;
// every goroutine started here is owned by a context and a WaitGroup.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/hl7out"
	"github.com/vigil-station/vigil/alarms/notify"
	"github.com/vigil-station/vigil/alarms/sound"
	"github.com/vigil-station/vigil/app/broker"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/app/store/recordings"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/hl7feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
	"github.com/vigil-station/vigil/monitor/sim"
	"github.com/vigil-station/vigil/monitor/wfdb"
)

// Core is everything of a running station but its window.
type Core struct {
	HL7Out *hl7out.Sender  // nil without --alarm-hl7
	HL7    *hl7feed.Server // the HL7 bridge inside the station; nil without --hl7-listen
	Hub    *monitor.Hub
	Sub    *mqttfeed.Subscriber
	Broker *broker.Broker // nil with an external broker
	Ward   *sim.Ward      // nil without a simulator
	Log    *slog.Logger
	URL    string // broker URL in use

	Alarms   *alarms.Service
	Notifier *notify.Notifier // nil when off
	Sound    *sound.Annunciator

	Store      *store.Store           // the journal
	News       *earlyWarning          // NEWS2: scores, charted observations, advisories
	Recordings *recordings.Recordings // trends and waveforms; nil when unavailable
	Session    *Session

	alarmsReady   atomic.Pointer[alarms.Service] // set once the service runs
	faultMu       sync.Mutex
	pendingFaults []faultNote // technical troubles from before the alarm service
	bedInfo       atomic.Pointer[map[string]BedInfo]
	bedsSeq       atomic.Uint64

	sync         *alarmSync
	jsync        *journalSync
	simBeds      []string // the station's own simulated beds (configured)
	soundProblem string
	// firstAdminCLI: the journal was set aside at start; its first admin
	// is made from the command line only, never from the window.
	firstAdminCLI bool
	ctx           context.Context
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	logFile       *rotatingLog
	frames        atomic.Pointer[func() uint64] // the window's frames drawn
	painted       atomic.Pointer[func() uint64] // and painted
	firstWave     atomic.Pointer[func() time.Time]

	lastDialLog atomic.Int64
	closeOnce   sync.Once
}

// ErrPortInUse means the embedded broker's port is taken.
var ErrPortInUse = errors.New("port in use")

// Start runs the headless core of a station. stdout receives the stats
// stream when cfg.Stats is "-".
func Start(ctx context.Context, cfg Config, stdout, stderr io.Writer) (*Core, error) {
	dir, err := cfg.dataDir()
	if err != nil {
		return nil, err
	}
	lf, err := openRotatingLog(filepath.Join(dir, "vigil.log"), LogMaxBytes)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(lf, stderr), &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(ctx)
	c := &Core{Log: log, ctx: ctx, cancel: cancel, logFile: lf}
	fail := func(err error) (*Core, error) {
		c.Close()
		return nil, err
	}
	log.Info("vigil starting", "version", Version, "ward", cfg.Ward, "data", dir)

	c.URL = cfg.Broker
	if c.URL == "" {
		opt := broker.Options{MaxClients: max(broker.DefaultMaxClients, cfg.Sim+64)}
		if cfg.ListenPasswords != "" {
			if opt.Auth, err = broker.LoadAuth(cfg.ListenPasswords, cfg.ListenACL); err != nil {
				return fail(fmt.Errorf("--listen-passwords: %w", err))
			}
		} else if cfg.ListenACL != "" {
			return fail(errors.New("--listen-acl needs --listen-passwords (an access list names users)"))
		}
		b, err := broker.StartWith(cfg.Listen, log, opt)
		if errors.Is(err, broker.ErrAddrInUse) {
			return fail(fmt.Errorf("%w: %s is already in use; start with --listen 127.0.0.1:<free port> for another port, or --broker tcp://%s to use the broker already running there", ErrPortInUse, cfg.Listen, cfg.Listen))
		}
		if err != nil {
			return fail(err)
		}
		c.Broker = b
		c.URL = b.URL()
		log.Info("embedded broker listening", "addr", b.Addr())
	}

	var beds []string
	if cfg.Sim > 0 {
		w, err := sim.New(cfg.simConfig())
		if err != nil {
			return fail(err)
		}
		c.Ward = w
		beds = w.BedNames()
	}
	c.simBeds = beds
	c.Hub = monitor.NewHub(monitor.Config{Ward: cfg.Ward, Beds: beds, Log: log,
		WaveStale: cfg.WaveStale, NumStale: cfg.NumStale,
		// Outside the demo a bed exists only when it is configured: a
		// flood of invented bed names creates nothing.
		RefuseUnknownBeds: !cfg.demo() && !cfg.DiscoverBeds})
	if err := c.openJournal(cfg, dir); err != nil {
		return fail(err)
	}
	c.openRecordings(cfg, dir)
	if cfg.SimHistory > 0 && c.Ward != nil {
		t0 := time.Now()
		n, err := c.simHistory(ctx, cfg.SimHistory, beds)
		if err != nil {
			return fail(fmt.Errorf("--sim-history: %w", err))
		}
		log.Info("simulated trend history added", "span", cfg.SimHistory, "minutes", n, "took", time.Since(t0).Round(time.Millisecond))
	}
	tlsOpts := cfg.TLS
	if c.Broker != nil {
		tlsOpts = mqttfeed.TLS{} // the embedded broker is plain TCP on loopback
	}
	if err := c.startAlarms(cfg, cfg.journalDir(dir)); err != nil {
		return fail(err)
	}
	c.startPatientCheck() // a device reporting another patient than the admitted one: a technical alarm
	if cfg.InsecurePlaintext && cfg.AlarmHL7 != "" && checkAlarmHL7(cfg.AlarmHL7, cfg.AlarmHL7TLS, false) != nil {
		c.fault(alarms.CodeInsecure, "Plaintext alarm reports to "+cfg.AlarmHL7+": they can be read and changed on the network", true)
		log.Warn("plaintext alarm reports to another host (--insecure-plaintext)")
	}
	if cfg.InsecurePlaintext && checkBrokerURL(c.URL, cfg.TLS, false) != nil {
		c.fault(alarms.CodeInsecure, "Plaintext link to the broker ("+cfg.Broker+"): the ward's data can be read and changed on the network", true)
		log.Warn("plaintext link to a broker on another host (--insecure-plaintext)")
	}
	c.Session = newSession(c, cfg)
	if err := c.startNEWS2(cfg); err != nil {
		return fail(err)
	}
	if !cfg.Headless {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.Session.watchIdle(ctx) }()
	}
	extra, willTopic, will, onConnect := c.syncOptions()
	c.Sub, err = mqttfeed.Subscribe(mqttfeed.Options{
		Broker: c.URL, ClientID: cfg.clientID(), Ward: cfg.Ward,
		Username: cfg.Username, Password: cfg.Password, TLS: tlsOpts, Log: log,
		Extra: extra, WillTopic: willTopic, WillPayload: will, OnConnect: onConnect,
	}, c.Hub)
	if err != nil {
		return fail(err)
	}
	c.sync.sub.Store(c.Sub)
	if c.Sub.Connected() { // connected before the store: announce again (idempotent)
		c.sync.onConnect()
	}
	if c.Ward != nil {
		c.runSim(ctx, cfg)
	}
	if cfg.HL7.Listen != "" {
		// The HL7 bridge inside the station: it publishes through the
		// station's own connection, and the feed comes back like any other.
		if err := c.startHL7(ctx, cfg, c.Sub.Acked()); err != nil {
			return fail(err)
		}
	}
	if cfg.Stats != "" {
		w, closeW, err := openStats(cfg.Stats, stdout)
		if err != nil {
			return fail(err)
		}
		src := statsSource{hub: c.Hub, link: c.Sub.State, alarms: c.Alarms, sync: c.sync,
			frames: func() uint64 { return callCounter(&c.frames) }, painted: func() uint64 { return callCounter(&c.painted) },
			firstWave: func() time.Time {
				if f := c.firstWave.Load(); f != nil {
					return (*f)()
				}
				return time.Time{}
			}}
		if c.Broker != nil {
			src.brokerDropped = c.Broker.Dropped
			src.broker = c.Broker
		}
		if c.Ward != nil {
			src.simSamples = func() uint64 { return c.Ward.Stats().Samples }
		}
		src.journal = c.Store.Stats
		if c.Recordings != nil {
			src.recordings = c.Recordings.Stats
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer closeW()
			reportStats(ctx, w, cfg.StatsEvery, src)
		}()
	}
	return c, nil
}

func (c *Core) runSim(ctx context.Context, cfg Config) {
	dial := c.deviceDialer(cfg, func(clientID string) { c.Ward.Reannounce(clientID) })
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.Ward.Run(ctx, dial); err != nil && !errors.Is(err, context.Canceled) {
			c.Log.Error("simulator stopped", "err", err)
		}
	}()
}

// deviceDialer connects simulated and replayed devices to the station's
// broker; reannounce, if not nil, runs when a device's connection comes
// back.
func (c *Core) deviceDialer(cfg Config, reannounce func(clientID string)) sim.Dialer {
	url := c.URL
	tlsOpts := cfg.TLS
	if c.Broker != nil {
		tlsOpts = mqttfeed.TLS{}
	}
	return func(ctx context.Context, clientID, willTopic string, will []byte) (sim.Conn, error) {
		var again func(*mqttfeed.Device)
		if reannounce != nil {
			again = func(*mqttfeed.Device) { reannounce(clientID) }
		}
		d, err := mqttfeed.DialDevice(ctx, mqttfeed.DeviceOptions{
			Broker: url, ClientID: clientID, WillTopic: willTopic, WillPayload: will,
			Username: cfg.Username, Password: cfg.Password, TLS: tlsOpts, OnReconnect: again,
		})
		if err != nil {
			c.dialErr(err)
			return nil, err
		}
		return d, nil
	}
}

// dialErr logs a device connection failure, at most once a minute (the
// simulator retries every second and counts every failure).
func (c *Core) dialErr(err error) {
	now := time.Now().UnixNano()
	if last := c.lastDialLog.Load(); now-last >= int64(time.Minute) && c.lastDialLog.CompareAndSwap(last, now) {
		c.Log.Warn("simulated device cannot connect; retrying", "err", err)
	}
}

// SetFrameCounter lets the window report its frame count in the diagnostics.
func (c *Core) SetFrameCounter(f func() uint64) { c.frames.Store(&f) }

// SetPaintCounter lets the window report the frames it really painted.
func (c *Core) SetPaintCounter(f func() uint64) { c.painted.Store(&f) }

// SetFirstWave lets the window report when it first drew a waveform.
func (c *Core) SetFirstWave(f func() time.Time) { c.firstWave.Store(&f) }

func callCounter(p *atomic.Pointer[func() uint64]) uint64 {
	if f := p.Load(); f != nil {
		return (*f)()
	}
	return 0
}

// Close stops everything in reverse start order and waits for it. It may
// be called more than once.
func (c *Core) Close() { c.closeOnce.Do(c.close) }

func (c *Core) close() {
	c.cancel()
	c.wg.Wait() // simulator (publishes offline status) and stats
	if c.jsync != nil && c.Sub != nil {
		// The last checkpoint, acknowledged by the broker before the
		// link closes: the ward keeps where this journal ended.
		if err := c.jsync.publish(true); err != nil {
			c.Log.Warn("final journal checkpoint not published", "err", err)
		}
	}
	if c.Sub != nil {
		c.Sub.Close()
	}
	if c.Broker != nil {
		_ = c.Broker.Close()
	}
	if c.Recordings != nil {
		if err := c.Recordings.Close(); err != nil {
			c.Log.Error("recordings close", "err", err)
		}
	}
	if c.Store != nil {
		if err := c.Store.Close(); err != nil {
			c.Log.Error("journal close", "err", err)
		}
	}
	if c.Log != nil {
		c.Log.Info("vigil stopped")
	}
	if c.logFile != nil {
		_ = c.logFile.Close()
	}
}

func openStats(path string, stdout io.Writer) (io.Writer, func(), error) {
	if path == "-" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--stats: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// stationGCPercent is the station's GOGC unless the environment sets one.
const stationGCPercent = 50

// Run does what cfg asks and returns when it is done or ctx ends.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if cfg.Command == CmdStation && os.Getenv("GOGC") == "" {
		// The station's live heap is steady (about 55 MB with 64 beds, most
		// of it fonts, display rings and rasters) and its garbage is mostly
		// decoded frames. Collecting at +50 % rather than Go's default
		// +100 % keeps about 30 MB less resident for some 0.5 % of a core.
		// An explicit GOGC in the environment wins.
		debug.SetGCPercent(stationGCPercent)
	}
	if path := os.Getenv("VIGIL_CPUPROFILE"); path != "" && cfg.Command == CmdStation {
		// For diagnosing load on site: a Go CPU profile of the whole run.
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("VIGIL_CPUPROFILE: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("VIGIL_CPUPROFILE: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	if path := os.Getenv("VIGIL_MEMPROFILE"); path != "" && cfg.Command == CmdStation {
		// For a support case about memory: a heap profile written the moment
		// the run is told to end, before anything is torn down. Its in-use
		// figures are those of the latest collection.
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("VIGIL_MEMPROFILE: %w", err)
		}
		// A run that ends by itself (the window closed) writes on return.
		pctx, stop := context.WithCancel(ctx)
		written := make(chan struct{})
		go func() {
			defer close(written)
			<-pctx.Done()
			if err := pprof.WriteHeapProfile(f); err != nil {
				fmt.Fprintf(stderr, "VIGIL_MEMPROFILE: %v\n", err)
			}
		}()
		defer func() { stop(); <-written; f.Close() }()
	}
	switch cfg.Command {
	case CmdHelp:
		return nil
	case CmdVersion:
		fmt.Fprintln(stdout, "vigil", Version)
		return nil
	case CmdSim:
		return runSimOnly(ctx, cfg, stdout, stderr)
	case CmdScenarioList:
		fmt.Fprint(stdout, ScenarioList())
		return nil
	case CmdUsers:
		in := cfg.In
		if in == nil {
			in = os.Stdin
		}
		return runUsers(ctx, cfg, in, stdout)
	case CmdJournal:
		return runJournal(ctx, cfg, stdout)
	case CmdStations:
		return runStations(ctx, cfg, stdout)
	case CmdEval:
		return runEval(ctx, cfg, stdout, stderr)
	case CmdHL7:
		return runHL7(ctx, cfg, stdout, stderr)
	case CmdConfigExample:
		fmt.Fprint(stdout, ExampleConfig)
		return nil
	case CmdConfigCheck:
		fmt.Fprintf(stdout, "%s: OK\n%s", cfg.ConfigFile, cfg.Summary())
		return nil
	}
	core, err := Start(ctx, cfg, stdout, stderr)
	if err != nil {
		return err
	}
	defer core.Close()
	if cfg.Headless {
		<-ctx.Done()
		return nil
	}
	return runWindow(ctx, cfg, core)
}

// runSimOnly runs simulated devices against a broker (vigil sim).
func runSimOnly(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var replay *sim.Replay
	if cfg.Replay != "" {
		rec, err := wfdb.Read(cfg.Replay)
		if err != nil {
			return fmt.Errorf("--replay: %w", err)
		}
		width := 2
		if cfg.ScenarioBed > 99 {
			width = 3
		}
		replay, err = sim.NewReplay(rec, sim.ReplayConfig{Ward: cfg.Ward, Bed: fmt.Sprintf("%0*d", width, cfg.ScenarioBed),
			FrameMs: int64(cfg.FrameMs), Speed: cfg.ReplaySpeed, Loop: cfg.ReplayLoop, From: cfg.ReplayFrom.Seconds()})
		if err != nil {
			return err
		}
		log.Info("replaying", "record", rec.Record, "bed", fmt.Sprintf("%0*d", width, cfg.ScenarioBed), "seconds", rec.Duration(),
			"speed", cfg.ReplaySpeed, "loop", cfg.ReplayLoop, "skipped", strings.Join(replay.Skipped(), ","))
	}
	c := &Core{URL: cfg.Broker, Log: log}
	ctx, c.cancel = context.WithCancel(ctx)
	if cfg.Sim > 0 {
		w, err := sim.New(cfg.simConfig())
		if err != nil {
			c.cancel()
			return err
		}
		c.Ward = w
		log.Info("simulating", "beds", cfg.Sim, "ward", cfg.Ward, "profile", w.Profile(), "broker", cfg.Broker)
		c.runSim(ctx, cfg)
	}
	if replay != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := replay.Run(ctx, c.deviceDialer(cfg, nil)); err != nil {
				log.Error("replay stopped", "err", err)
			}
			if c.Ward == nil {
				c.cancel() // the recording was all there was to play
			}
		}()
	}
	simLine := func(final bool) SimStatsLine {
		line := SimStatsLine{TS: time.Now().UTC().Format(time.RFC3339), Beds: cfg.Sim, Final: final}
		if c.Ward != nil {
			s := c.Ward.Stats()
			line.Profile, line.WaveFrames, line.Samples, line.NumFrames = string(c.Ward.Profile()), s.WaveFrames, s.Samples, s.NumFrames
			line.PublishErrors, line.DialErrors = s.PublishErrors, s.DialErrors
		}
		if replay != nil {
			line.WaveFrames += replay.Frames()
			line.Samples += replay.Samples()
		}
		return line
	}
	var enc *json.Encoder
	if cfg.Stats != "" {
		out, closeW, err := openStats(cfg.Stats, stdout)
		if err != nil {
			c.cancel()
			c.wg.Wait()
			return err
		}
		defer closeW()
		enc = json.NewEncoder(out)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			tk := time.NewTicker(cfg.StatsEvery)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
					_ = enc.Encode(simLine(false))
				}
			}
		}()
	}
	<-ctx.Done()
	c.wg.Wait() // the devices have published their offline status and closed
	if enc != nil {
		_ = enc.Encode(simLine(true))
	}
	log.Info("simulator stopped", "samples", simLine(true).Samples)
	return nil
}
