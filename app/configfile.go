package app

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vigil-station/vigil/monitor/mqttfeed"
	"github.com/vigil-station/vigil/monitor/sim"
)

// fileConfig is vigil.toml. Every key is optional; a flag given on the
// command line wins over the file, the file over the built-in default.
type fileConfig struct {
	Ward    *string        `toml:"ward"`
	Broker  brokerSection  `toml:"broker"`
	Feed    feedSection    `toml:"feed"`
	Station stationSection `toml:"station"`
	Sim     simSection     `toml:"sim"`
	Record  recordSection  `toml:"recordings"`
	NEWS2   news2Section   `toml:"news2"`
	HL7     hl7Section     `toml:"hl7"`
}

type hl7Section struct {
	Listen *string   `toml:"listen"`
	Units  *[]string `toml:"units"`
	Alarms *string   `toml:"alarms"`
	// TLS of the listener (server certificate, client CA for mutual TLS),
	// the senders allowed, and TLS of the alarm reports out.
	CertFile       *string   `toml:"cert_file"`
	KeyFile        *string   `toml:"key_file"`
	ClientCAFile   *string   `toml:"client_ca_file"`
	Allow          *[]string `toml:"allow"`
	AlarmsCAFile   *string   `toml:"alarms_ca_file"`
	AlarmsCertFile *string   `toml:"alarms_cert_file"`
	AlarmsKeyFile  *string   `toml:"alarms_key_file"`
}

type news2Section struct {
	DeviceFresh  *duration `toml:"device_fresh"`
	NIBPFresh    *duration `toml:"nibp_fresh"`
	ChartedFresh *duration `toml:"charted_fresh"`
}

type recordSection struct {
	WaveKeep   *duration `toml:"wave_keep"`
	DiskBudget *string   `toml:"disk_budget"`
}

type brokerSection struct {
	URL          *string `toml:"url"`
	ClientID     *string `toml:"client_id"`
	Username     *string `toml:"username"`
	Password     *string `toml:"password"`
	PasswordFile *string `toml:"password_file"`
	CAFile       *string `toml:"ca_file"`
	CertFile     *string `toml:"cert_file"`
	KeyFile      *string `toml:"key_file"`
	ServerName   *string `toml:"server_name"`
	// InsecurePlaintext allows tcp:// to a broker on another host.
	InsecurePlaintext *bool `toml:"insecure_plaintext"`
}

type feedSection struct {
	WaveStale *duration `toml:"wave_stale"`
	NumStale  *duration `toml:"num_stale"`
}

type stationSection struct {
	Data       *string   `toml:"data"`
	Listen     *string   `toml:"listen"`
	FPS        *int      `toml:"fps"`
	Stats      *string   `toml:"stats"`
	StatsEvery *duration `toml:"stats_every"`
}

type simSection struct {
	Beds    *int    `toml:"beds"`
	Profile *string `toml:"profile"`
	FrameMs *int    `toml:"frame_ms"`
	Events  *bool   `toml:"events"`
	Seed    *int64  `toml:"seed"`
}

// duration reads "3s", "1m30s" and the like.
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write it like \"3s\" or \"1m\")", b)
	}
	d.Duration = v
	return nil
}

// ConfigError is a problem in the configuration file, with its place.
type ConfigError struct {
	File string
	Line int // 0 when the problem is not on one line
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// loadFile reads a configuration file and applies it to cfg for every
// setting whose flag was not given (set holds the names of the given flags).
func loadFile(path string, cfg *Config, set map[string]bool) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return &ConfigError{File: path, Msg: "cannot read: " + errors.Unwrap(err).Error()}
	}
	var fc fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&fc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.Usage != "" {
				msg += " (" + strings.TrimSpace(pe.Usage) + ")"
			}
			return &ConfigError{File: path, Line: pe.Position.Line, Msg: msg}
		}
		return &ConfigError{File: path, Msg: err.Error()}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return &ConfigError{File: path, Line: keyLine(src, k), Msg: fmt.Sprintf("unknown key %q (see: vigil config example)", k.String())}
	}
	e := &applier{path: path, src: src, cfg: cfg, set: set}
	e.apply(&fc)
	return errors.Join(e.errs...)
}

// applier copies file values into Config and checks them, collecting every
// problem with its line.
type applier struct {
	path string
	src  []byte
	cfg  *Config
	set  map[string]bool
	errs []error
}

func (a *applier) fail(key, format string, args ...any) {
	a.errs = append(a.errs, &ConfigError{File: a.path, Line: keyLine(a.src, toml.Key(strings.Split(key, "."))), Msg: key + ": " + fmt.Sprintf(format, args...)})
}

func str(dst *string, v *string, flagName string, set map[string]bool) bool {
	if v == nil || set[flagName] {
		return false
	}
	*dst = *v
	return true
}

func (a *applier) apply(fc *fileConfig) {
	c, set := a.cfg, a.set
	if str(&c.Ward, fc.Ward, "ward", set) {
		if err := validWard(c.Ward); err != nil {
			a.fail("ward", "%v", err)
		}
	}
	b := fc.Broker
	if str(&c.Broker, b.URL, "broker", set) {
		if err := mqttfeed.ValidateURL(c.Broker); err != nil {
			a.fail("broker.url", "%v", err)
		}
	}
	str(&c.ClientID, b.ClientID, "client-id", set)
	str(&c.Username, b.Username, "user", set)
	if b.Password != nil && b.PasswordFile != nil {
		a.fail("broker.password_file", "give either password or password_file, not both")
	}
	if b.Password != nil && os.Getenv("VIGIL_MQTT_PASSWORD") == "" {
		c.Password = *b.Password
	}
	if b.PasswordFile != nil && os.Getenv("VIGIL_MQTT_PASSWORD") == "" {
		pw, err := os.ReadFile(*b.PasswordFile)
		if err != nil {
			a.fail("broker.password_file", "cannot read %s: %v", *b.PasswordFile, errors.Unwrap(err))
		} else {
			c.Password = strings.TrimRight(string(pw), "\r\n")
		}
	}
	str(&c.TLS.CAFile, b.CAFile, "tls-ca", set)
	str(&c.TLS.CertFile, b.CertFile, "tls-cert", set)
	str(&c.TLS.KeyFile, b.KeyFile, "tls-key", set)
	str(&c.TLS.ServerName, b.ServerName, "tls-server-name", set)
	if b.InsecurePlaintext != nil && !set["insecure-plaintext"] {
		c.InsecurePlaintext = *b.InsecurePlaintext
	}
	for _, f := range []struct{ key, path string }{
		{"broker.ca_file", c.TLS.CAFile}, {"broker.cert_file", c.TLS.CertFile}, {"broker.key_file", c.TLS.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			a.fail(f.key, "%s: %v", f.path, errors.Unwrap(err))
		}
	}

	stale := func(key string, v *duration, dst *time.Duration, flagName string) {
		if v == nil || set[flagName] {
			return
		}
		if v.Duration < 500*time.Millisecond || v.Duration > 10*time.Minute {
			a.fail(key, "%s: use 500ms..10m", v.Duration)
			return
		}
		*dst = v.Duration
	}
	stale("feed.wave_stale", fc.Feed.WaveStale, &c.WaveStale, "wave-stale")
	stale("feed.num_stale", fc.Feed.NumStale, &c.NumStale, "num-stale")
	fresh := func(key string, v *duration, dst *time.Duration, flagName string, lo, hi time.Duration) {
		if v == nil || set[flagName] {
			return
		}
		if v.Duration < lo || v.Duration > hi {
			a.fail(key, "%s: use %s..%s", v.Duration, lo, hi)
			return
		}
		*dst = v.Duration
	}
	fresh("news2.device_fresh", fc.NEWS2.DeviceFresh, &c.NEWS2Fresh, "news2-fresh", 10*time.Second, time.Hour)
	fresh("news2.nibp_fresh", fc.NEWS2.NIBPFresh, &c.NEWS2NIBPFresh, "news2-nibp-fresh", time.Minute, 24*time.Hour)
	fresh("news2.charted_fresh", fc.NEWS2.ChartedFresh, &c.NEWS2ChartFresh, "news2-chart-fresh", 10*time.Minute, 48*time.Hour)

	str(&c.HL7.Listen, fc.HL7.Listen, "hl7-listen", set)
	if u := fc.HL7.Units; u != nil && !set["unit"] {
		c.HL7.Units = append([]string(nil), *u...)
	}
	str(&c.HL7.CertFile, fc.HL7.CertFile, "mllp-cert", set)
	str(&c.HL7.KeyFile, fc.HL7.KeyFile, "mllp-key", set)
	str(&c.HL7.ClientCA, fc.HL7.ClientCAFile, "mllp-client-ca", set)
	str(&c.AlarmHL7TLS.CAFile, fc.HL7.AlarmsCAFile, "alarm-hl7-ca", set)
	str(&c.AlarmHL7TLS.CertFile, fc.HL7.AlarmsCertFile, "alarm-hl7-cert", set)
	str(&c.AlarmHL7TLS.KeyFile, fc.HL7.AlarmsKeyFile, "alarm-hl7-key", set)
	if al := fc.HL7.Allow; al != nil && !set["mllp-allow"] {
		c.HL7.Allow = nil
		for _, v := range *al {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				ad, aerr := netip.ParseAddr(v)
				if aerr != nil {
					a.fail("hl7.allow", "%q: an address (10.1.2.3) or a prefix (10.1.2.0/24)", v)
					continue
				}
				p = netip.PrefixFrom(ad, ad.BitLen())
			}
			c.HL7.Allow = append(c.HL7.Allow, p.Masked())
		}
	}
	if str(&c.AlarmHL7, fc.HL7.Alarms, "alarm-hl7", set) {
		if _, _, err := net.SplitHostPort(c.AlarmHL7); err != nil {
			a.fail("hl7.alarms", "%q: want host:port", c.AlarmHL7)
		}
	}

	s := fc.Station
	str(&c.DataDir, s.Data, "data", set)
	str(&c.Listen, s.Listen, "listen", set)
	str(&c.Stats, s.Stats, "stats", set)
	if s.FPS != nil && !set["fps"] {
		c.FPS = *s.FPS
		if c.FPS < 1 || c.FPS > 120 {
			a.fail("station.fps", "%d: use 1..120", c.FPS)
		}
	}
	if s.StatsEvery != nil && !set["stats-every"] {
		c.StatsEvery = s.StatsEvery.Duration
		if c.StatsEvery < 100*time.Millisecond {
			a.fail("station.stats_every", "%s: use at least 100ms", c.StatsEvery)
		}
	}

	r := fc.Record
	if r.WaveKeep != nil && !set["wave-keep"] {
		c.WaveKeep = r.WaveKeep.Duration
		if err := checkWaveKeep(c.WaveKeep); err != nil {
			a.fail("recordings.wave_keep", "%v", err)
		}
	}
	if r.DiskBudget != nil && !set["disk-budget"] {
		n, err := ParseSize(*r.DiskBudget)
		if err == nil {
			err = checkDiskBudget(n)
		}
		if err != nil {
			a.fail("recordings.disk_budget", "%v", err)
		}
		c.DiskBudget = n
	}

	m := fc.Sim
	bedsFlag := "sim"
	if c.Command == CmdSim {
		bedsFlag = "beds"
	}
	if m.Beds != nil && !set[bedsFlag] {
		c.Sim = *m.Beds
		if c.Sim < 0 || c.Sim > 999 {
			a.fail("sim.beds", "%d: use 0..999", c.Sim)
		}
	}
	if m.Profile != nil && !set["profile"] {
		p, err := sim.ParseProfile(*m.Profile)
		if err != nil {
			a.fail("sim.profile", "%v", err)
		}
		c.Profile = p
	}
	if m.FrameMs != nil && !set["frame-ms"] {
		c.FrameMs = *m.FrameMs
		if c.FrameMs < 20 || c.FrameMs > 2000 {
			a.fail("sim.frame_ms", "%d: use 20..2000", c.FrameMs)
		}
	}
	if m.Events != nil && !set["events"] {
		c.Events = *m.Events
	}
	if m.Seed != nil && !set["seed"] {
		c.Seed = *m.Seed
	}
}

// keyLine finds the line where a (possibly dotted) key is set: its table
// header line for the table part, then "key =" inside that table. 0 if not found.
func keyLine(src []byte, k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table, name := strings.Join(k[:len(k)-1], "."), k[len(k)-1]
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			cur = strings.TrimSpace(strings.Trim(line, "[]"))
			if cur == strings.Join(k, ".") {
				return n // the key is itself a table
			}
			continue
		}
		lhs, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		lhs = strings.Trim(strings.TrimSpace(lhs), `"'`)
		if (cur == table && lhs == name) || (cur == "" && lhs == strings.Join(k, ".")) {
			return n
		}
	}
	return 0
}

// givenFlags lists the flags set on the command line.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// ExampleConfig is what `vigil config example` prints: every key, commented,
// with its default. It must stay a valid file (a test loads it).
const ExampleConfig = `# vigil.toml — configuration of a Vigil station (every key is optional).
# Use it with: vigil --config /etc/vigil/vigil.toml   (or VIGIL_CONFIG=...)
# A flag on the command line wins over this file; this file over the defaults.

# The ward this station serves: it subscribes to vigil/v1/<ward>/+/+.
ward = "ICU1"

[broker]
# The hospital's MQTT broker. Without it, vigil starts its embedded demo broker
# and a simulated ward. ssl:// (or mqtts://) connects with TLS.
# url = "ssl://mqtt.hospital.example:8883"
# Stable per station: the broker keeps the station's session across restarts.
# client_id = "vigil-station-icu1-a"
# username = "station-icu1"
# The password: here, in a file readable by the station only, or in the
# environment variable VIGIL_MQTT_PASSWORD (which wins). It is never logged.
# password = ""
# password_file = "/etc/vigil/mqtt-password"
# TLS: the CA that signed the broker's certificate (default: the system's CAs),
# and a client certificate for brokers that require one.
# ca_file = "/etc/vigil/ca.pem"
# cert_file = "/etc/vigil/station.pem"
# key_file = "/etc/vigil/station.key"
# server_name = "mqtt.hospital.example"
# tcp:// (plaintext) to a broker on another host is refused unless this says
# so; the station then shows it as a technical condition.
# insecure_plaintext = false

[feed]
# A bed reads NO DATA when no waveform came for wave_stale or no numerics for
# num_stale (500ms..10m).
wave_stale = "3s"
num_stale = "10s"

[news2]
# NEWS2 (advisory) scores only recent values: a device's continuous values
# (10s..1h), a cuff pressure (1m..24h), what nurses chart (10m..48h).
device_fresh = "5m"
nibp_fresh = "1h"
charted_fresh = "12h"

[hl7]
# HL7 v2 monitors (IHE PCD-01, ORU^R01 over MLLP) bridged inside the station
# (docs/hl7.md): the listener, and the other PV1-3.1 units this ward answers to.
# listen = "127.0.0.1:2575"   # or the address of the interface the monitors reach
# units = ["7WEST"]
# Every alarm transition sent as an IHE PCD-04 report (ORU^R40) over MLLP to
# a paging or nurse-call system; unreachable for 30 s raises a technical alarm.
# alarms = "pager.hospital.example:2575"
# TLS of the listener, and mutual TLS: senders need a certificate this CA signed.
# cert_file = "/etc/vigil/mllp.pem"
# key_file = "/etc/vigil/mllp.key"
# client_ca_file = "/etc/vigil/monitors-ca.pem"
# allow = ["10.20.0.0/24"]          # senders allowed (default: any)
# TLS of the alarm reports (the receiver's certificate is verified against the
# CA); plaintext to another host needs [broker] insecure_plaintext = true.
# alarms_ca_file = "/etc/vigil/pager-ca.pem"
# alarms_cert_file = "/etc/vigil/station.pem"
# alarms_key_file = "/etc/vigil/station.key"

[station]
# data = "/var/lib/vigil"          # default: the user data directory
# listen = "127.0.0.1:1883"        # the embedded demo broker's address
fps = 25                           # waveform frame rate of the window
# stats = "/var/log/vigil/stats.jsonl"   # diagnostics, one JSON line per interval
stats_every = "5s"

[recordings]
# Trends (1-minute medians, kept 7 days) and full-disclosure waveforms in
# recordings.db beside the journal. Waveforms are kept wave_keep, and at most
# disk_budget of compressed data (the file is ~1.5 times that); the oldest go
# first. 72 h of 64 icu beds takes ~10.5GiB.
wave_keep = "72h"
disk_budget = "12GiB"

[sim]
# The simulated ward (demo mode and vigil sim).
# beds = 16
profile = "ward"                   # ward | icu | heavy
frame_ms = 200
events = true
seed = 1
`
