package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/monitor/hl7feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// hl7Flags are vigil hl7's own settings.
type hl7Flags struct {
	Listen            string         // MLLP address, "127.0.0.1:2575"
	Units             []string       // PV1-3.1 points of care this ward also answers to
	CertFile, KeyFile string         // TLS for the MLLP listener
	ClientCA          string         // mutual TLS: senders must show a certificate this CA signed
	Allow             []netip.Prefix // senders' addresses allowed (none: any)
	Idle              time.Duration  // a sender silent this long is disconnected
	MaxConns          int
}

// DefaultHL7Listen is the MLLP port most interface engines use, on this
// host only: listening on the network is said explicitly, with its address.
const DefaultHL7Listen = "127.0.0.1:2575"

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
	addMLLPGuards(fs, &cfg.HL7)
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

// addMLLPGuards adds the MLLP listener's sender checks to a flag set.
func addMLLPGuards(fs *flag.FlagSet, h *hl7Flags) {
	fs.StringVar(&h.CertFile, "mllp-cert", "", "TLS for the MLLP listener: certificate (PEM)")
	fs.StringVar(&h.KeyFile, "mllp-key", "", "TLS for the MLLP listener: private key (PEM)")
	fs.StringVar(&h.ClientCA, "mllp-client-ca", "", "mutual TLS for the MLLP listener: senders must present a certificate signed by this CA (PEM)")
	fs.Func("mllp-allow", "senders allowed to connect to the MLLP listener: addresses or CIDR prefixes, comma-separated (default: any)", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			p, err := netip.ParsePrefix(f)
			if err != nil {
				a, aerr := netip.ParseAddr(f)
				if aerr != nil {
					return fmt.Errorf("%q: an address (10.1.2.3) or a prefix (10.1.2.0/24)", f)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			h.Allow = append(h.Allow, p.Masked())
		}
		return nil
	})
}

// checkMLLPListen: the address names its host; ":2575" (every interface)
// is refused, so a listener on the network is always a decision.
func checkMLLPListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("HL7 listener %q: want host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("HL7 listener %q: give the address to listen on: 127.0.0.1%s for this host only, or the address of the interface the monitors reach (0.0.0.0%s for every interface)", addr, addr, addr)
	}
	return nil
}

// allowList closes connections from senders not on the list, counting them.
type allowList struct {
	net.Listener
	allow   []netip.Prefix
	refused *atomic.Uint64
	log     *slog.Logger
}

func (l allowList) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, perr := netip.ParseAddrPort(c.RemoteAddr().String())
		if perr == nil && slices.ContainsFunc(l.allow, func(p netip.Prefix) bool { return p.Contains(ap.Addr().Unmap()) }) {
			return c, nil
		}
		n := l.refused.Add(1)
		if n == 1 || n%100 == 0 {
			l.log.Warn("HL7 sender not on the allow-list: connection closed", "from", c.RemoteAddr().String(), "refused_total", n)
		}
		c.Close()
	}
}

// mllpRefused counts connections refused by the allow-list.
var mllpRefused atomic.Uint64

// listenHL7 opens the MLLP listener (with TLS when configured) and makes
// the bridge's server publishing through pub.
func listenHL7(cfg Config, pub hl7feed.Publisher, log *slog.Logger) (net.Listener, *hl7feed.Server, error) {
	if err := checkMLLPListen(cfg.HL7.Listen); err != nil {
		return nil, nil, err
	}
	if cfg.HL7.ClientCA != "" && cfg.HL7.CertFile == "" {
		return nil, nil, errors.New("--mllp-client-ca needs --mllp-cert and --mllp-key (mutual TLS)")
	}
	ln, err := net.Listen("tcp", cfg.HL7.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("HL7 listener %s: %w", cfg.HL7.Listen, err)
	}
	if len(cfg.HL7.Allow) > 0 {
		ln = allowList{Listener: ln, allow: cfg.HL7.Allow, refused: &mllpRefused, log: log}
	}
	if cfg.HL7.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.HL7.CertFile, cfg.HL7.KeyFile)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("HL7 listener's certificate: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.HL7.ClientCA != "" {
			pem, err := os.ReadFile(cfg.HL7.ClientCA)
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				ln.Close()
				return nil, nil, fmt.Errorf("--mllp-client-ca %s: no PEM certificate read (%v)", cfg.HL7.ClientCA, err)
			}
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		ln = tls.NewListener(ln, tc)
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
