package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store/recordings"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
	"github.com/vigil-station/vigil/monitor/sim"
)

// Version is the station's version (FyneApp.toml carries the same).
const Version = "0.1.0"

// DefaultListen is the embedded broker's address in the demo.
const DefaultListen = "127.0.0.1:1883"

// Command is what vigil was asked to do.
type Command int

// Commands.
const (
	CmdStation Command = iota // the station (default)
	CmdSim                    // simulated bedside devices only
	CmdHelp
	CmdVersion
	CmdConfigExample // print a commented vigil.toml
	CmdConfigCheck   // load the configuration and print what it resolves to
	CmdScenarioList  // list the simulator's clinical scenarios
	CmdUsers         // vigil users add|list|disable|enable|reset
	CmdJournal       // vigil journal verify|export
	CmdStations      // vigil stations id|list|enrol|revoke
	CmdEval          // vigil eval qrs: score the analysis on annotated recordings
	CmdHL7           // vigil hl7: the HL7 v2 (IHE PCD-01) bridge
)

// Config is everything the command line sets.
type Config struct {
	Command Command

	Ward   string
	Broker string // external broker URL; empty: embedded broker + simulator
	Listen string // embedded broker address
	// ListenPasswords and ListenACL turn on the embedded broker's
	// authentication (package broker's formats); only then may it listen
	// on an address other than loopback.
	ListenPasswords, ListenACL string
	// DiscoverBeds shows every bed the feed brings, configured or not
	// (commissioning a ward). Off, outside the demo only the beds bound in
	// the bed administration (or simulated by this station) exist: a
	// message for any other bed is refused and counted.
	DiscoverBeds bool
	Sim          int           // simulated beds (station: 0 = none unless embedded; sim: beds)
	Events       bool          // scripted events in the simulator
	SimHistory   time.Duration // trend history made up for the simulated beds at start (0: none)
	Seed         int64
	FrameMs      int
	Headless     bool
	DataDir      string
	Stats        string // path or "-" for stdout; empty: none
	StatsEvery   time.Duration
	FPS          int
	// Window is the window's size at start, "WIDTHxHEIGHT" (default
	// 1920x1080).
	Window string
	// JournalKey is the journal key file (--journal-key), outside the data
	// directory; store.DefaultKeyFile when "".
	JournalKey string
	ClientID   string
	Username   string
	Password   string // never logged, never a flag
	TLS        mqttfeed.TLS
	Profile    sim.Profile
	WaveStale  time.Duration // 0: the hub's default
	NumStale   time.Duration
	// NEWS2: how old a value may be and still be scored (0: news2.DefaultFreshness).
	NEWS2Fresh, NEWS2NIBPFresh, NEWS2ChartFresh time.Duration
	ConfigFile                                  string        // the file the settings came from, if any
	Duration                                    time.Duration // stop after this long (0: run until interrupted)

	// Alarms.
	Station string // this station's id among the ward's stations
	// TrustFile is the ward's list of trusted stations; default
	// trusted-stations in the data directory (package alarms/peers).
	TrustFile string
	// InsecurePlaintext allows a broker that is not on this host without
	// TLS; the station then shows it as a technical condition all the time.
	InsecurePlaintext bool
	// AlarmHL7TLS is TLS for the PCD-04 reports (--alarm-hl7-ca/-cert/-key).
	AlarmHL7TLS mqttfeed.TLS
	// PeerWindow is how far from now another station's live message may
	// have been signed (0: peers.DefaultWindow).
	PeerWindow time.Duration
	// JournalCheckpointEvery is how often the station publishes its signed
	// journal checkpoint (--journal-checkpoint-every; 0: 5 min).
	JournalCheckpointEvery time.Duration
	Operator               string        // who operates the station (until logins exist)
	Role                   string        // nurse, charge or admin
	Audio                  string        // off, default or wav:DIR
	AlarmHL7               string        // host:port of a paging system taking IHE PCD-04 alarm reports ("" = none)
	Limits                 string        // limit profile of every bed: adult, paediatric, neonatal
	Notify                 bool          // desktop notifications
	IdleLock               time.Duration // lock the station after this long without input (0: never)
	Open                   string        // screen shown at start: login, admin, journal, events, burden, bed:NAME, trends:NAME, disclosure:NAME ("" = the ward)

	// Overview.
	Layout int    // beds per screen: 4, 8, 16 or 32; 0 = automatic
	Waves  int    // waveforms per tile: 2 (ECG, pleth) or 3 (and respiration)
	Sort   string // bed or acuity

	// Recordings: how long waveforms are kept and the most disk their
	// compressed data may take (the oldest go first).
	WaveKeep   time.Duration
	DiskBudget int64

	// vigil users / vigil journal: the subcommand and its arguments.
	Args  []string
	admin adminFlags
	eval  evalFlags
	In    io.Reader // stdin for secrets (os.Stdin when nil)

	// Simulator scenario (vigil sim --scenario NAME --bed N).
	Scenario    string
	ScenarioBed int
	Replay      string  // vigil sim --replay: a WFDB record played as a device
	ReplaySpeed float64 // 1 = real time
	ReplayLoop  bool
	ReplayFrom  time.Duration

	// vigil hl7: the MLLP listener and what it accepts.
	HL7 hl7Flags
}

const usageText = `Vigil — central station for hospital wards (secondary display).

Usage:
  vigil [flags]                 start the station
  vigil sim [flags]             run simulated bedside devices on a broker
  vigil config example          print a commented configuration file (vigil.toml)
  vigil config check [--config FILE]
                                check a configuration file and print the settings
  vigil users add|list|disable|enable|reset [--data DIR]
                                manage accounts (secrets from stdin)
  vigil journal verify|export [--data DIR]
                                check the journal's hash chain; export it as CSV or JSON
  vigil stations id|list|enrol|revoke [--data DIR] [--trust FILE]
                                this station's key; the ward's trusted stations
  vigil hl7 --listen ADDR --broker URL --ward W
                                bridge HL7 v2 monitors (IHE PCD-01 over MLLP) onto the feed
  vigil eval qrs|hr|alarms [--json] PATH...
                                score beat detection on annotated WFDB recordings;
                                the heart rate shown for a recorded lead; the
                                arrhythmia alarms on PhysioNet 2015 records
  vigil help                    this text
  vigil version                 print the version
  vigil <command> -h            the flags of a command

With no flags, vigil starts an embedded MQTT broker on ` + DefaultListen + `, a simulated
ward of 16 beds publishing through it, and the station window subscribed to it.
With --broker it uses that broker instead and simulates nothing unless --sim N.
Settings can also come from a file: --config FILE or $VIGIL_CONFIG (flags win).
`

// Usage writes the overview.
func Usage(w io.Writer) { fmt.Fprint(w, usageText) }

// ErrHelp is returned when help was asked for (exit status 0).
var ErrHelp = flag.ErrHelp

// Parse reads the command line (without the program name).
func Parse(args []string, stderr io.Writer) (Config, error) {
	cfg := Config{Ward: "ICU1", Listen: DefaultListen, Events: true, FrameMs: 200, FPS: 25,
		StatsEvery: 5 * time.Second}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "help":
			Usage(stderr)
			return Config{Command: CmdHelp}, nil
		case "version":
			return Config{Command: CmdVersion}, nil
		case "sim":
			return parseSim(cfg, args[1:], stderr)
		case "config":
			return parseConfigCmd(cfg, args[1:], stderr)
		case "users":
			return parseAdmin(cfg, CmdUsers, args[1:], stderr)
		case "journal":
			return parseAdmin(cfg, CmdJournal, args[1:], stderr)
		case "stations":
			return parseAdmin(cfg, CmdStations, args[1:], stderr)
		case "eval":
			return parseEval(cfg, args[1:], stderr)
		case "hl7":
			return parseHL7(cfg, args[1:], stderr)
		default:
			Usage(stderr)
			return cfg, fmt.Errorf("unknown command %q (see: vigil help)", args[0])
		}
	}
	fs := flag.NewFlagSet("vigil", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		Usage(stderr)
		fmt.Fprintln(stderr, "\nStation flags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Ward, "ward", cfg.Ward, "ward this station serves (topic vigil/v1/<ward>/...)")
	fs.StringVar(&cfg.Broker, "broker", "", "external MQTT broker, e.g. tcp://10.1.2.3:1883 (default: embedded broker with a simulated ward)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the embedded broker (ignored with --broker); other than loopback only with --listen-passwords")
	fs.StringVar(&cfg.ListenPasswords, "listen-passwords", "", "embedded broker: require a login, users from this file (user:bcrypt-hash lines, as htpasswd -B writes); the station and its simulated devices log in with --user and $VIGIL_MQTT_PASSWORD")
	fs.StringVar(&cfg.TrustFile, "trust", "", "the ward's list of trusted stations (default: trusted-stations in the data directory; see vigil stations)")
	fs.BoolVar(&cfg.DiscoverBeds, "discover-beds", false, "show every bed the feed brings, bound or not (commissioning); off: outside the demo only the beds bound in the bed administration exist")
	fs.StringVar(&cfg.ListenACL, "listen-acl", "", "embedded broker: access list (mosquitto-like user/topic/pattern lines; see docs/mosquitto/vigil.acl)")
	fs.IntVar(&cfg.Sim, "sim", -1, "simulated beds to run (default 16 with the embedded broker, 0 with --broker)")
	fs.BoolVar(&cfg.Events, "events", cfg.Events, "scripted clinical and technical events in the simulated ward")
	fs.DurationVar(&cfg.SimHistory, "sim-history", 0, "give the simulated beds this much trend history at start, for demonstrations (up to 72h; only beds with none yet)")
	fs.BoolVar(&cfg.Headless, "headless", false, "run everything but the window (servers, tests, measurement)")
	fs.StringVar(&cfg.DataDir, "data", "", "directory for the station's files (default: the user data directory)")
	fs.StringVar(&cfg.Stats, "stats", "", "write a JSON diagnostics line every 5 s to this file, or - for stdout")
	fs.DurationVar(&cfg.StatsEvery, "stats-every", cfg.StatsEvery, "diagnostics interval")
	fs.IntVar(&cfg.FPS, "fps", cfg.FPS, "waveform frame rate of the window")
	fs.StringVar(&cfg.Window, "window", "1920x1080", "window size at start, WIDTHxHEIGHT")
	fs.StringVar(&cfg.JournalKey, "journal-key", "", "journal key file, outside the data directory (default $VIGIL_JOURNAL_KEY, else ~/.config/vigil/journal.key); back it up apart from the data")
	fs.DurationVar(&cfg.JournalCheckpointEvery, "journal-checkpoint-every", DefaultJournalCheckpointEvery,
		"how often the station publishes its signed journal checkpoint, retained, for the ward's other stations to keep")
	fs.StringVar(&cfg.ClientID, "client-id", "", "MQTT client id of this station (default: vigil-station-<host>-<ward>)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: until closed or interrupted)")
	fs.DurationVar(&cfg.WaveStale, "wave-stale", 0, "NO DATA after this long without waveform (default 3s)")
	fs.DurationVar(&cfg.NumStale, "num-stale", 0, "NO DATA after this long without numerics (default 10s)")
	fs.DurationVar(&cfg.NEWS2Fresh, "news2-fresh", 0, "NEWS2 scores a device's continuous values this recent (default 5m)")
	fs.DurationVar(&cfg.NEWS2NIBPFresh, "news2-nibp-fresh", 0, "NEWS2 scores a cuff pressure this recent (default 1h)")
	fs.DurationVar(&cfg.NEWS2ChartFresh, "news2-chart-fresh", 0, "NEWS2 scores charted observations this recent (default 12h)")
	fs.Func("profile", "simulated ward's channels: ward, icu or heavy (default ward)", profileFlag(&cfg))
	addScenario(fs, &cfg)
	fs.StringVar(&cfg.Station, "station", "", "id of this station among the ward's stations (default: the host name)")
	fs.StringVar(&cfg.Operator, "operator", "", "with --headless: who acts at this station, recorded with every action (a window always asks for a login)")
	fs.StringVar(&cfg.Role, "role", "", "with --headless: the operator's role, nurse, charge or admin (default nurse)")
	fs.StringVar(&cfg.Open, "open", "", "screen to show at start: login, admin (the demo opens it as the demo admin), journal, events, burden, bed:NAME, trends:NAME or disclosure:NAME")
	fs.Func("layout", "beds per screen: auto, 4, 8, 16 or 32 (default auto: from the beds and the window's size)", func(v string) error {
		if v == "auto" {
			cfg.Layout = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains([]int{4, 8, 16, 32}, n) {
			return fmt.Errorf("use auto, 4, 8, 16 or 32")
		}
		cfg.Layout = n
		return nil
	})
	fs.IntVar(&cfg.Waves, "waves", 2, "waveforms per tile: 2 (ECG, pleth) or 3 (and respiration)")
	fs.StringVar(&cfg.Sort, "sort", "bed", "overview order: bed, or acuity (alarm priority, then NEWS2, then stale data)")
	fs.DurationVar(&cfg.IdleLock, "idle-lock", 5*time.Minute, "lock the station after this long without input; the ward stays visible and alarms sound (0: never)")
	fs.DurationVar(&cfg.WaveKeep, "wave-keep", recordings.DefaultWaveKeep, "how long stored waveforms (full disclosure) are kept")
	cfg.DiskBudget = recordings.DefaultBudget
	fs.Func("disk-budget", "most disk the stored waveforms may take, e.g. 12GiB or 500MB; the oldest go first (default 12GiB)", func(v string) error {
		n, err := ParseSize(v)
		cfg.DiskBudget = n
		return err
	})
	fs.StringVar(&cfg.HL7.Listen, "hl7-listen", "", "also bridge HL7 v2 monitors (IHE PCD-01 over MLLP) listening on this address, e.g. 127.0.0.1:2575 (see: vigil hl7 -h)")
	addMLLPGuards(fs, &cfg.HL7)
	fs.StringVar(&cfg.AlarmHL7, "alarm-hl7", "", "send every alarm transition as an IHE PCD-04 report (HL7 ORU^R40) over MLLP to this host:port (a paging or nurse-call system)")
	fs.StringVar(&cfg.AlarmHL7TLS.CAFile, "alarm-hl7-ca", "", "TLS for --alarm-hl7: PEM file of the CA that signed the receiver's certificate (verified; default: system CAs when any --alarm-hl7-* is set)")
	fs.StringVar(&cfg.AlarmHL7TLS.CertFile, "alarm-hl7-cert", "", "TLS for --alarm-hl7: this station's client certificate (PEM)")
	fs.StringVar(&cfg.AlarmHL7TLS.KeyFile, "alarm-hl7-key", "", "TLS for --alarm-hl7: the client certificate's key (PEM)")
	fs.StringVar(&cfg.Audio, "audio", "default", "alarm sound: default (the sound card), off, or wav:DIR (write each burst as a WAV file)")
	fs.StringVar(&cfg.Limits, "limits", "adult", "alarm limit profile of every bed: adult, paediatric or neonatal")
	fs.BoolVar(&cfg.Notify, "notify", true, "desktop notifications of new HIGH and MEDIUM alarms and escalations")
	addAuth(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see: vigil -h)", fs.Arg(0))
	}
	if cfg.Scenario == "list" {
		cfg.Command = CmdScenarioList
		return cfg, nil
	}
	cfg.Command = CmdStation
	if err := cfg.loadConfigFile(fs); err != nil {
		return cfg, err
	}
	if cfg.Sim < 0 {
		cfg.Sim = 0
		if cfg.Broker == "" {
			cfg.Sim = 16
		}
	}
	if cfg.Role == "" {
		cfg.Role = "nurse"
	}
	if err := checkRecordings(cfg.WaveKeep, cfg.DiskBudget); err != nil {
		return cfg, err
	}
	if err := checkOpen(cfg.Open); err != nil {
		return cfg, err
	}
	if cfg.SimHistory < 0 || cfg.SimHistory > MaxSimHistory {
		return cfg, fmt.Errorf("--sim-history %s: use 0..%s", cfg.SimHistory, MaxSimHistory)
	}
	if cfg.Waves != 2 && cfg.Waves != 3 {
		return cfg, fmt.Errorf("--waves %d: use 2 or 3", cfg.Waves)
	}
	if cfg.Sort != "bed" && cfg.Sort != "acuity" {
		return cfg, fmt.Errorf("--sort %q: use bed or acuity", cfg.Sort)
	}
	if cfg.Operator != "" && !cfg.Headless {
		return cfg, errors.New("--operator is for --headless stations; a station with a window asks who logs in")
	}
	return cfg, cfg.validate()
}

// checkOpen checks --open: a screen, or a screen of a bed (bed:05).
func checkOpen(v string) error {
	screen, bed, hasBed := strings.Cut(v, ":")
	switch {
	case !hasBed && slices.Contains([]string{"", "login", "admin", "journal", "events", "burden"}, screen):
		return nil
	case hasBed && bed != "" && slices.Contains([]string{"bed", "trends", "disclosure"}, screen):
		return nil
	}
	return fmt.Errorf("--open %q: use login, admin, journal, events, burden, bed:NAME, trends:NAME or disclosure:NAME", v)
}

func parseSim(cfg Config, args []string, stderr io.Writer) (Config, error) {
	cfg.Command = CmdSim
	cfg.Sim = 16
	fs := flag.NewFlagSet("vigil sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil sim --broker URL [--beds N] [--ward W] [--replay RECORD [--bed N] [--speed X] [--loop]]\n\nRuns simulated bedside monitors, one MQTT connection each, as separate devices would;\n--replay plays a real recording as one more device (raw signals, no analysis).\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Broker, "broker", "tcp://"+DefaultListen, "MQTT broker to publish to")
	fs.IntVar(&cfg.Sim, "beds", cfg.Sim, "number of beds")
	fs.StringVar(&cfg.Ward, "ward", cfg.Ward, "ward the beds belong to")
	fs.BoolVar(&cfg.Events, "events", cfg.Events, "scripted clinical and technical events")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the simulated patients")
	fs.IntVar(&cfg.FrameMs, "frame-ms", cfg.FrameMs, "waveform frame period in ms")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: until interrupted)")
	fs.StringVar(&cfg.Stats, "stats", "", "write a JSON counters line every 5 s to this file, or - for stdout")
	fs.Func("profile", "channels of each device: ward (ECG II, pleth, resp), icu (3 ECG leads, pleth, ABP, resp, CO2) or heavy (12 leads at 500 Hz, pleth, 4 pressures, resp, CO2)", profileFlag(&cfg))
	addScenario(fs, &cfg)
	fs.StringVar(&cfg.Replay, "replay", "", "play this WFDB record (\"mitdb/106\") as one more device, on bed --bed (default: after the simulated beds)")
	fs.Float64Var(&cfg.ReplaySpeed, "speed", 1, "replay speed (1 = real time)")
	fs.BoolVar(&cfg.ReplayLoop, "loop", false, "start the replay again at its end")
	fs.DurationVar(&cfg.ReplayFrom, "from", 0, "start the replay this far into the recording")
	addAuth(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see: vigil sim -h)", fs.Arg(0))
	}
	if cfg.Replay != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["beds"] {
			cfg.Sim = 0 // only the recording, unless simulated beds are asked for too
		}
		if !set["bed"] {
			cfg.ScenarioBed = cfg.Sim + 1
		}
		if cfg.ScenarioBed < 1 || cfg.ScenarioBed > 999 || cfg.ScenarioBed <= cfg.Sim {
			return cfg, fmt.Errorf("--bed %d: the replayed bed needs a number from %d to 999, after the %d simulated beds", cfg.ScenarioBed, cfg.Sim+1, cfg.Sim)
		}
		if !(cfg.ReplaySpeed > 0 && cfg.ReplaySpeed <= 1000) {
			return cfg, fmt.Errorf("--speed %g: want more than 0 and at most 1000", cfg.ReplaySpeed)
		}
	}
	if cfg.Scenario == "list" {
		cfg.Command = CmdScenarioList
		return cfg, nil
	}
	if err := cfg.loadConfigFile(fs); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

func parseConfigCmd(cfg Config, args []string, stderr io.Writer) (Config, error) {
	if len(args) == 0 {
		return cfg, errors.New("vigil config: say example or check")
	}
	fs := flag.NewFlagSet("vigil config "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "example":
		cfg.Command = CmdConfigExample
	case "check":
		cfg.Command = CmdConfigCheck
		addAuth(fs, &cfg)
	default:
		return cfg, fmt.Errorf("vigil config %s: say example or check", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Command == CmdConfigCheck {
		if err := cfg.loadConfigFile(fs); err != nil {
			return cfg, err
		}
		if cfg.ConfigFile == "" {
			return cfg, errors.New("vigil config check: no file given (--config FILE or $VIGIL_CONFIG)")
		}
		return cfg, cfg.validate()
	}
	return cfg, nil
}

func profileFlag(cfg *Config) func(string) error {
	return func(s string) error {
		p, err := sim.ParseProfile(s)
		cfg.Profile = p
		return err
	}
}

// loadConfigFile applies --config (or $VIGIL_CONFIG) under the flags given.
func (c *Config) loadConfigFile(fs *flag.FlagSet) error {
	path := c.ConfigFile
	if path == "" {
		path = os.Getenv("VIGIL_CONFIG")
	}
	if path == "" {
		return nil
	}
	c.ConfigFile = path
	return loadFile(path, c, givenFlags(fs))
}

// addAuth adds the flags that say how to reach and log in to the broker.
func addAuth(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.ConfigFile, "config", "", "configuration file (default $VIGIL_CONFIG; see: vigil config example)")
	fs.StringVar(&cfg.Username, "user", os.Getenv("VIGIL_MQTT_USER"), "MQTT user name (or $VIGIL_MQTT_USER); the password comes from $VIGIL_MQTT_PASSWORD or the config file")
	cfg.Password = os.Getenv("VIGIL_MQTT_PASSWORD") // never a flag: it would show in the process list
	fs.StringVar(&cfg.TLS.CAFile, "tls-ca", "", "TLS: PEM file of the CA that signed the broker's certificate (default: system CAs)")
	fs.StringVar(&cfg.TLS.CertFile, "tls-cert", "", "TLS: client certificate (PEM), if the broker requires one")
	fs.StringVar(&cfg.TLS.KeyFile, "tls-key", "", "TLS: the client certificate's private key (PEM)")
	fs.StringVar(&cfg.TLS.ServerName, "tls-server-name", "", "TLS: name expected in the broker's certificate (default: the URL's host)")
	fs.BoolVar(&cfg.InsecurePlaintext, "insecure-plaintext", false, "allow a plaintext (tcp://) broker on another host; the station shows it as a technical condition")
}

// addScenario adds the simulator's clinical scenario flags.
func addScenario(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Scenario, "scenario", "", "run a clinical scenario on the simulated ward instead of the event script: desat, tachy, brady, asystole, leads-off, offline, nurse-call, storm (list: --scenario list)")
	fs.IntVar(&cfg.ScenarioBed, "bed", 1, "bed number (1..beds) the scenario runs on; storm takes every bed")
}

// ScenarioList is the text of --scenario list.
func ScenarioList() string {
	var b strings.Builder
	b.WriteString("Clinical scenarios (vigil sim --scenario NAME --bed N): 10 s normal, 60 s abnormal, 30 s recovery, repeating.\n\n")
	for _, s := range sim.Scenarios() {
		fmt.Fprintf(&b, "  %-11s %s\n  %-11s expected: %s\n", s.Name, s.Description, "", s.Expect)
	}
	return b.String()
}

func validWard(w string) error {
	if !feed.ValidName(w) {
		return fmt.Errorf("%q: use 1-32 letters, digits, '-', '_' or '.'", w)
	}
	return nil
}

func (c Config) validate() error {
	var errs []error
	if err := validWard(c.Ward); err != nil {
		errs = append(errs, fmt.Errorf("--ward %v", err))
	}
	if c.Broker != "" {
		if err := checkBrokerURL(c.Broker, c.TLS, c.InsecurePlaintext); err != nil {
			errs = append(errs, fmt.Errorf("--broker: %w", err))
		}
	}
	if c.Command == CmdStation && c.AlarmHL7 != "" {
		if err := checkAlarmHL7(c.AlarmHL7, c.AlarmHL7TLS, c.InsecurePlaintext); err != nil {
			errs = append(errs, fmt.Errorf("--alarm-hl7: %w", err))
		}
	}
	if c.Command == CmdStation && (c.HL7.CertFile == "") != (c.HL7.KeyFile == "") {
		errs = append(errs, errors.New("--mllp-cert and --mllp-key go together"))
	}
	if c.Command == CmdStation {
		if _, err := alarms.ParseRole(c.Role); err != nil {
			errs = append(errs, fmt.Errorf("--role: %v", err))
		}
		if _, ok := alarms.Profiles[c.Limits]; !ok {
			errs = append(errs, fmt.Errorf("--limits %q: use adult, paediatric or neonatal", c.Limits))
		}
		if err := checkAudio(c.Audio); err != nil {
			errs = append(errs, fmt.Errorf("--audio: %v", err))
		}
		if c.Station != "" && !feed.ValidName(c.Station) {
			errs = append(errs, fmt.Errorf("--station %q: use 1-32 letters, digits, '-', '_' or '.'", c.Station))
		}
	}
	if c.WaveStale < 0 || c.NumStale < 0 {
		errs = append(errs, errors.New("--wave-stale/--num-stale: must not be negative"))
	}
	for _, f := range []struct {
		name      string
		v, lo, hi time.Duration
	}{
		{"--news2-fresh", c.NEWS2Fresh, 10 * time.Second, time.Hour},
		{"--news2-nibp-fresh", c.NEWS2NIBPFresh, time.Minute, 24 * time.Hour},
		{"--news2-chart-fresh", c.NEWS2ChartFresh, 10 * time.Minute, 48 * time.Hour},
	} {
		if f.v != 0 && (f.v < f.lo || f.v > f.hi) {
			errs = append(errs, fmt.Errorf("%s %s: use %s..%s", f.name, f.v, f.lo, f.hi))
		}
	}
	if c.Sim < 0 || c.Sim > 999 {
		errs = append(errs, fmt.Errorf("bed count %d: use 0..999", c.Sim))
	}
	if c.Scenario != "" {
		if c.Sim == 0 {
			errs = append(errs, errors.New("--scenario: needs simulated beds (--sim N)"))
		} else if _, err := sim.New(c.simConfig()); err != nil {
			errs = append(errs, fmt.Errorf("--scenario: %v", err))
		}
	}
	if c.FrameMs < 20 || c.FrameMs > 2000 {
		errs = append(errs, fmt.Errorf("--frame-ms %d: use 20..2000", c.FrameMs))
	}
	if _, _, err := windowSize(c.Window); err != nil {
		return err
	}
	if c.FPS < 1 || c.FPS > 120 {
		errs = append(errs, fmt.Errorf("--fps %d: use 1..120", c.FPS))
	}
	if c.StatsEvery < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("--stats-every %s: use at least 100ms", c.StatsEvery))
	}
	return errors.Join(errs...)
}

// checkBrokerURL refuses a password in the URL (it would reach logs and
// the screen: the message never repeats the URL), TLS settings with a
// plaintext URL (the admin meant TLS and would silently not get it), and a
// plaintext link to a broker on another host unless insecure says so.
func checkBrokerURL(raw string, t mqttfeed.TLS, insecure bool) error {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return errors.New("the URL has a user or password in it: give the user with --user and the password in $VIGIL_MQTT_PASSWORD or the config file")
	}
	if err := mqttfeed.ValidateURL(raw); err != nil {
		return err
	}
	plain := !slices.Contains([]string{"ssl", "tls", "mqtts", "tcps", "wss"}, strings.ToLower(u.Scheme))
	if plain && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "") {
		return fmt.Errorf("%s:// is plaintext but TLS settings (--tls-*) are given: use ssl://%s for TLS", u.Scheme, u.Host)
	}
	if plain && !loopbackHost(u.Hostname()) && !insecure {
		return fmt.Errorf("%s is not on this host and %s:// is plaintext: anyone on the network could read and change the ward's data. "+
			"Use ssl://%s (TLS), or say --insecure-plaintext to accept the risk (the station then shows it)", u.Hostname(), u.Scheme, u.Host)
	}
	return nil
}

// checkAlarmHL7 refuses alarm reports in plaintext to another host unless
// insecure says so: they name patients and beds.
func checkAlarmHL7(addr string, t mqttfeed.TLS, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port", addr)
	}
	if t == (mqttfeed.TLS{}) && !loopbackHost(host) && !insecure {
		return fmt.Errorf("%s is not on this host and the reports would go in plaintext: give --alarm-hl7-ca (TLS, the receiver's certificate verified), or say --insecure-plaintext to accept the risk (the station then shows it)", host)
	}
	return nil
}

// loopbackHost: localhost or a loopback address.
func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// dataDir resolves the station's data directory and creates it.
func (c Config) dataDir() (string, error) {
	dir := c.DataDir
	if dir == "" {
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("no --data given and no home directory: %w", err)
			}
			base = filepath.Join(home, ".local", "share")
		}
		dir = filepath.Join(base, "vigil")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	// The journal, recordings, logs and exports name patients: only the
	// station's own user may read them (an existing directory is tightened).
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return dir, nil
}

func (c Config) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "station"
	}
	return "vigil-station-" + host + "-" + c.Ward
}

// stationID is this station's id on the ward's alarm topics.
func (c Config) stationID() string {
	if c.Station != "" {
		return c.Station
	}
	host, _ := os.Hostname()
	var b strings.Builder
	for _, r := range host {
		if r < 128 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') && b.Len() < 32 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "station"
	}
	return b.String()
}

func checkAudio(spec string) error {
	switch {
	case spec == "off", spec == "default":
		return nil
	case strings.HasPrefix(spec, "wav:") && strings.TrimSpace(spec[4:]) != "":
		return nil
	}
	return fmt.Errorf("%q: use default, off or wav:DIR", spec)
}

func (c Config) simConfig() sim.Config {
	return sim.Config{Ward: c.Ward, Beds: c.Sim, FrameMs: c.FrameMs, Seed: max(c.Seed, 1),
		Events: c.Events, Profile: c.Profile, Scenario: c.Scenario, ScenarioBed: c.ScenarioBed}
}

// Summary lists the resolved settings, one per line, the password masked.
func (c Config) Summary() string {
	pw := "(none)"
	if c.Password != "" {
		pw = "(set, not shown)"
	}
	broker := c.Broker
	if broker == "" {
		broker = "(embedded demo broker on " + c.Listen + ")"
	}
	lines := []string{
		"ward            " + c.Ward,
		"broker          " + broker,
		"client id       " + c.clientID(),
		"user            " + c.Username,
		"password        " + pw,
		"tls ca          " + c.TLS.CAFile,
		"tls cert/key    " + c.TLS.CertFile + " " + c.TLS.KeyFile,
		"tls server name " + c.TLS.ServerName,
		fmt.Sprintf("wave stale      %s", orDefault(c.WaveStale, "3s")),
		fmt.Sprintf("num stale       %s", orDefault(c.NumStale, "10s")),
		fmt.Sprintf("news2 fresh     device %s, nibp %s, charted %s", orDefault(c.NEWS2Fresh, "5m"),
			orDefault(c.NEWS2NIBPFresh, "1h"), orDefault(c.NEWS2ChartFresh, "12h")),
		"data            " + c.DataDir,
		fmt.Sprintf("fps             %d", c.FPS),
		fmt.Sprintf("layout, waves   %s %d (sort by %s)", layoutName(c.Layout), c.Waves, c.Sort),
		"station         " + c.stationID(),
		"operator, role  " + c.Operator + " " + c.Role,
		"audio           " + c.Audio,
		"limits          " + c.Limits,
	}
	return strings.Join(lines, "\n") + "\n"
}

func layoutName(n int) string {
	if n == 0 {
		return "auto"
	}
	return strconv.Itoa(n)
}

func orDefault(d time.Duration, def string) string {
	if d == 0 {
		return def + " (default)"
	}
	return d.String()
}

// windowSize reads "WIDTHxHEIGHT" ("" is 1920x1080); from 640x480 to
// 7680x4320.
func windowSize(s string) (w, h int, err error) {
	if s == "" {
		return 1920, 1080, nil
	}
	if _, err := fmt.Sscanf(s, "%dx%d", &w, &h); err != nil || w < 640 || h < 480 || w > 7680 || h > 4320 {
		return 0, 0, fmt.Errorf("--window %q: want WIDTHxHEIGHT from 640x480 to 7680x4320, e.g. 1280x800", s)
	}
	return w, h, nil
}
