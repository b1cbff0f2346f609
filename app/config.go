package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
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
)

// Config is everything the command line sets.
type Config struct {
	Command Command

	Ward       string
	Broker     string // external broker URL; empty: embedded broker + simulator
	Listen     string // embedded broker address
	Sim        int    // simulated beds (station: 0 = none unless embedded; sim: beds)
	Events     bool   // scripted events in the simulator
	Seed       int64
	FrameMs    int
	Headless   bool
	DataDir    string
	Stats      string // path or "-" for stdout; empty: none
	StatsEvery time.Duration
	FPS        int
	ClientID   string
	Username   string
	Password   string
	Duration   time.Duration // stop after this long (0: run until interrupted)
}

const usageText = `Vigil — central station for hospital wards (secondary display).

Usage:
  vigil [flags]                 start the station
  vigil sim [flags]             run simulated bedside devices on a broker
  vigil help                    this text
  vigil version                 print the version
  vigil <command> -h            the flags of a command

With no flags, vigil starts an embedded MQTT broker on ` + DefaultListen + `, a simulated
ward of 16 beds publishing through it, and the station window subscribed to it.
With --broker it uses that broker instead and simulates nothing unless --sim N.
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
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the embedded broker (ignored with --broker)")
	fs.IntVar(&cfg.Sim, "sim", -1, "simulated beds to run (default 16 with the embedded broker, 0 with --broker)")
	fs.BoolVar(&cfg.Events, "events", cfg.Events, "scripted clinical and technical events in the simulated ward")
	fs.BoolVar(&cfg.Headless, "headless", false, "run everything but the window (servers, tests, measurement)")
	fs.StringVar(&cfg.DataDir, "data", "", "directory for the station's files (default: the user data directory)")
	fs.StringVar(&cfg.Stats, "stats", "", "write a JSON diagnostics line every 5 s to this file, or - for stdout")
	fs.DurationVar(&cfg.StatsEvery, "stats-every", cfg.StatsEvery, "diagnostics interval")
	fs.IntVar(&cfg.FPS, "fps", cfg.FPS, "waveform frame rate of the window")
	fs.StringVar(&cfg.ClientID, "client-id", "", "MQTT client id of this station (default: vigil-station-<host>-<ward>)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: until closed or interrupted)")
	addAuth(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see: vigil -h)", fs.Arg(0))
	}
	if cfg.Sim < 0 {
		cfg.Sim = 0
		if cfg.Broker == "" {
			cfg.Sim = 16
		}
	}
	cfg.Command = CmdStation
	return cfg, cfg.validate()
}

func parseSim(cfg Config, args []string, stderr io.Writer) (Config, error) {
	cfg.Command = CmdSim
	cfg.Sim = 16
	fs := flag.NewFlagSet("vigil sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil sim --broker URL [--beds N] [--ward W]\n\nRuns simulated bedside monitors, one MQTT connection each, as separate devices would.\n\nFlags:")
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
	addAuth(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see: vigil sim -h)", fs.Arg(0))
	}
	return cfg, cfg.validate()
}

func addAuth(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Username, "user", os.Getenv("VIGIL_MQTT_USER"), "MQTT user name (or $VIGIL_MQTT_USER)")
	cfg.Password = os.Getenv("VIGIL_MQTT_PASSWORD") // never a flag: it would show in the process list
}

func (c Config) validate() error {
	var errs []error
	if !feed.ValidName(c.Ward) {
		errs = append(errs, fmt.Errorf("--ward %q: use 1-32 letters, digits, '-', '_' or '.'", c.Ward))
	}
	if c.Broker != "" && !strings.Contains(c.Broker, "://") {
		errs = append(errs, fmt.Errorf("--broker %q: give a URL such as tcp://host:1883", c.Broker))
	}
	if c.Sim < 0 || c.Sim > 999 {
		errs = append(errs, fmt.Errorf("bed count %d: use 0..999", c.Sim))
	}
	if c.FrameMs < 20 || c.FrameMs > 2000 {
		errs = append(errs, fmt.Errorf("--frame-ms %d: use 20..2000", c.FrameMs))
	}
	if c.FPS < 1 || c.FPS > 120 {
		errs = append(errs, fmt.Errorf("--fps %d: use 1..120", c.FPS))
	}
	if c.StatsEvery < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("--stats-every %s: use at least 100ms", c.StatsEvery))
	}
	return errors.Join(errs...)
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
	if err := os.MkdirAll(dir, 0o750); err != nil {
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
