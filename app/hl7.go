package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vigil-station/vigil/monitor/hl7feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// hl7Flags are vigil hl7's own settings.
type hl7Flags struct {
	Listen            string        // MLLP address, ":2575"
	Units             []string      // PV1-3.1 points of care this ward also answers to
	CertFile, KeyFile string        // TLS for the MLLP listener
	Idle              time.Duration // a sender silent this long is disconnected
	MaxConns          int
}

// DefaultHL7Listen is the MLLP port most interface engines use.
const DefaultHL7Listen = ":2575"

func parseHL7(cfg Config, args []string, stderr io.Writer) (Config, error) {
	cfg.Command = CmdHL7
	cfg.HL7 = hl7Flags{Listen: DefaultHL7Listen, Idle: 2 * time.Minute, MaxConns: 1000}
	fs := flag.NewFlagSet("vigil hl7", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: vigil hl7 --listen ADDR --broker URL --ward W [--unit NAME,...] [--mllp-cert F --mllp-key F]

Listens for HL7 v2 ORU^R01 messages (IHE PCD-01) over MLLP, as the monitors and
gateways already installed send them, and publishes each as the feed's status and
numerics of bed <room>-<bed> (PV1-3) of the ward, then acknowledges it: AA once the
broker has it, AE or AR with the reason in ERR when it cannot be used (nothing of
it is published). See docs/hl7.md.

Flags:`)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.HL7.Listen, "listen", cfg.HL7.Listen, "MLLP address to listen on")
	fs.StringVar(&cfg.Broker, "broker", "tcp://"+DefaultListen, "MQTT broker to publish to")
	fs.StringVar(&cfg.Ward, "ward", cfg.Ward, "ward the beds belong to (a message whose PV1-3.1 names another unit is refused)")
	fs.Func("unit", "other PV1-3.1 points of care this ward answers to, comma-separated", func(v string) error {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.HL7.Units = append(cfg.HL7.Units, u)
			}
		}
		return nil
	})
	fs.StringVar(&cfg.HL7.CertFile, "mllp-cert", "", "TLS for the MLLP listener: certificate (PEM)")
	fs.StringVar(&cfg.HL7.KeyFile, "mllp-key", "", "TLS for the MLLP listener: private key (PEM)")
	fs.DurationVar(&cfg.HL7.Idle, "idle", cfg.HL7.Idle, "disconnect a sender that sends nothing (or half a message) for this long")
	fs.IntVar(&cfg.HL7.MaxConns, "max-senders", cfg.HL7.MaxConns, "senders connected at once, at most")
	fs.StringVar(&cfg.Stats, "stats", "", "write a JSON counters line every 5 s to this file, or - for stdout")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: until interrupted)")
	addAuth(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see: vigil hl7 -h)", fs.Arg(0))
	}
	if (cfg.HL7.CertFile == "") != (cfg.HL7.KeyFile == "") {
		return cfg, fmt.Errorf("--mllp-cert and --mllp-key go together")
	}
	if cfg.HL7.Idle < time.Second {
		return cfg, fmt.Errorf("--idle %s: at least 1s", cfg.HL7.Idle)
	}
	if cfg.HL7.MaxConns < 1 {
		return cfg, fmt.Errorf("--max-senders %d: at least 1", cfg.HL7.MaxConns)
	}
	listen, given := cfg.HL7.Listen, false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "listen" })
	if err := cfg.loadConfigFile(fs); err != nil {
		return cfg, err
	}
	if given {
		cfg.HL7.Listen = listen // the flag wins over the file's [hl7] listen
	}
	return cfg, cfg.validate()
}

// HL7StatsLine is one line of vigil hl7 --stats.
type HL7StatsLine struct {
	TS string `json:"ts"`
	hl7feed.Stats
	Final bool `json:"final,omitempty"`
}

// runHL7 runs the bridge until ctx ends (vigil hl7).
func runHL7(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	host, _ := os.Hostname()
	dev, err := mqttfeed.DialDevice(ctx, mqttfeed.DeviceOptions{Broker: cfg.Broker,
		ClientID: cut(fmt.Sprintf("vigil-hl7-%s-%s", cfg.Ward, host), 64),
		Username: cfg.Username, Password: cfg.Password, TLS: cfg.TLS})
	if err != nil {
		return err
	}
	defer dev.Close()
	ln, srv, err := listenHL7(cfg, dev, log)
	if err != nil {
		return err
	}
	log.Info("HL7 bridge listening", "mllp", ln.Addr().String(), "tls", cfg.HL7.CertFile != "", "broker", cfg.Broker, "ward", cfg.Ward)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var enc *json.Encoder
	if cfg.Stats != "" {
		out, closeW, err := openStats(cfg.Stats, stdout)
		if err != nil {
			return err
		}
		defer closeW()
		enc = json.NewEncoder(out)
	}
	tk := time.NewTicker(cfg.StatsEvery)
	defer tk.Stop()
	for {
		select {
		case err := <-done:
			st := srv.Stats()
			if enc != nil {
				enc.Encode(HL7StatsLine{TS: time.Now().UTC().Format(time.RFC3339), Stats: st, Final: true})
			}
			log.Info("HL7 bridge stopped", "messages", st.Messages, "rejected", st.Rejected, "frame_errors", st.FrameErrors)
			return err
		case <-tk.C:
			if enc != nil {
				enc.Encode(HL7StatsLine{TS: time.Now().UTC().Format(time.RFC3339), Stats: srv.Stats()})
			}
		}
	}
}

// listenHL7 opens the MLLP listener (with TLS when configured) and makes
// the bridge's server publishing through pub.
func listenHL7(cfg Config, pub hl7feed.Publisher, log *slog.Logger) (net.Listener, *hl7feed.Server, error) {
	ln, err := net.Listen("tcp", cfg.HL7.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("HL7 listener %s: %w", cfg.HL7.Listen, err)
	}
	if cfg.HL7.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.HL7.CertFile, cfg.HL7.KeyFile)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("HL7 listener's certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	srv := hl7feed.NewServer(hl7feed.ServerConfig{
		MapOptions: hl7feed.MapOptions{Ward: cfg.Ward, Units: cfg.HL7.Units},
		Publisher:  pub, Log: log, IdleTimeout: cmp.Or(cfg.HL7.Idle, 2*time.Minute), MaxConns: cmp.Or(cfg.HL7.MaxConns, 1000),
	})
	return ln, srv, nil
}

// startHL7 runs the bridge inside the station ([hl7] listen, --hl7-listen).
func (c *Core) startHL7(ctx context.Context, cfg Config, pub hl7feed.Publisher) error {
	log := c.Log.With("component", "hl7")
	ln, srv, err := listenHL7(cfg, pub, log)
	if err != nil {
		return err
	}
	c.HL7 = srv
	log.Info("HL7 bridge listening", "mllp", ln.Addr().String(), "tls", cfg.HL7.CertFile != "", "ward", cfg.Ward)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("HL7 bridge stopped", "err", err)
		}
	}()
	return nil
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
