package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/monitor/sim"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vigil.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The printed example is a valid file that changes nothing from the defaults.
func TestConfigExampleIsValidAndDefault(t *testing.T) {
	var out bytes.Buffer
	cfg, err := Parse([]string{"config", "example"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != ExampleConfig || !strings.Contains(out.String(), "[broker]") {
		t.Fatal("vigil config example does not print the example")
	}
	p := writeConfig(t, ExampleConfig)
	def, err := Parse(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse([]string{"--config", p}, io.Discard)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	got.ConfigFile = ""
	if got.Profile == sim.ProfileWard {
		got.Profile = def.Profile // "ward" spelled out equals the default
	}
	if got.Ward != def.Ward || got.Broker != def.Broker || got.Sim != def.Sim || got.FPS != def.FPS ||
		got.FrameMs != def.FrameMs || got.Events != def.Events || got.StatsEvery != def.StatsEvery ||
		(got.WaveStale != 3*time.Second) || (got.NumStale != 10*time.Second) ||
		got.WaveKeep != def.WaveKeep || got.DiskBudget != def.DiskBudget {
		t.Fatalf("example differs from the defaults:\n%+v\n%+v", got, def)
	}
}

func TestConfigFileAppliesAndFlagsWin(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	p := writeConfig(t, `ward = "CCU2"
[broker]
url = "ssl://mqtt.example:8883"
username = "st1"
password_file = "`+pw+`"
server_name = "mqtt.example"
[feed]
wave_stale = "5s"
num_stale = "20s"
[station]
fps = 30
`)
	t.Setenv("VIGIL_MQTT_PASSWORD", "")
	cfg, err := Parse([]string{"--config", p, "--fps", "20"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ward != "CCU2" || cfg.Broker != "ssl://mqtt.example:8883" || cfg.Username != "st1" ||
		cfg.Password != "from-file" || cfg.TLS.ServerName != "mqtt.example" ||
		cfg.WaveStale != 5*time.Second || cfg.NumStale != 20*time.Second || cfg.FPS != 20 || cfg.Sim != 0 {
		t.Fatalf("%+v", cfg)
	}
	// The environment wins over the file for the password; nothing prints it.
	t.Setenv("VIGIL_MQTT_PASSWORD", "from-env")
	t.Setenv("VIGIL_CONFIG", p)
	cfg, err = Parse(nil, io.Discard)
	if err != nil || cfg.Password != "from-env" || cfg.ConfigFile != p {
		t.Fatalf("%v %q %q", err, cfg.Password, cfg.ConfigFile)
	}
	if s := cfg.Summary(); strings.Contains(s, "from-env") || !strings.Contains(s, "(set, not shown)") {
		t.Fatalf("summary shows the password:\n%s", s)
	}
}

// A bad file stops vigil with the file, the line and what is wrong.
func TestConfigErrorsNameFileAndLine(t *testing.T) {
	cases := []struct{ body, want string }{
		{"ward = \"ICU1\"\n[broker]\nurl = \"mqtt.example:1883\"\n", "vigil.toml:3: broker.url"},
		{"ward = \"ICU1\"\n\n[feed]\nwave_stale = \"soon\"\n", "vigil.toml:4:"},
		{"[feed]\nnum_stale = \"1h\"\n", "vigil.toml:2: feed.num_stale"},
		{"[station]\nfps = 0\n", "vigil.toml:2: station.fps"},
		{"[station]\nfsp = 25\n", `vigil.toml:2: unknown key "station.fsp"`},
		{"ward = \"a/b\"\n", "vigil.toml:1: ward"},
		{"ward = \n", "vigil.toml:1:"},
		{"[sim]\nprofile = \"opera\"\n", "vigil.toml:2: sim.profile"},
		{"[broker]\nca_file = \"/nonexistent/ca.pem\"\n", "vigil.toml:2: broker.ca_file"},
		{"[broker]\npassword = \"x\"\npassword_file = \"/tmp/p\"\n", "vigil.toml:3: broker.password_file"},
		{"[recordings]\nwave_keep = \"1s\"\n", "vigil.toml:2: recordings.wave_keep"},
		{"[recordings]\n\ndisk_budget = \"lots\"\n", "vigil.toml:3: recordings.disk_budget"},
		{"[recordings]\ndisk_budget = \"1MB\"\n", "vigil.toml:2: recordings.disk_budget"},
	}
	for _, tc := range cases {
		p := writeConfig(t, tc.body)
		_, err := Parse([]string{"--config", p}, io.Discard)
		if err == nil {
			t.Errorf("%q: accepted", tc.body)
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.File != p {
			t.Errorf("%q: %v is not a ConfigError naming the file", tc.body, err)
			continue
		}
		if msg := strings.ReplaceAll(err.Error(), filepath.Dir(p)+"/", ""); !strings.Contains(msg, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.body, msg, tc.want)
		}
	}
	if _, err := Parse([]string{"--config", "/nonexistent/vigil.toml"}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/vigil.toml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestConfigCheckCommand(t *testing.T) {
	p := writeConfig(t, "ward = \"W3\"\n[broker]\nurl = \"tcp://10.0.0.5:1883\"\ninsecure_plaintext = true\npassword = \"hunter2\"\n")
	t.Setenv("VIGIL_MQTT_PASSWORD", "")
	cfg, err := Parse([]string{"config", "check", "--config", p}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "OK") || !strings.Contains(s, "tcp://10.0.0.5:1883") || strings.Contains(s, "hunter2") {
		t.Fatalf("check output:\n%s", s)
	}
}

// The alarm and scenario flags: defaults, and garbage refused with a message
// naming the flag.
func TestAlarmFlags(t *testing.T) {
	cfg, err := Parse(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audio != "default" || cfg.Limits != "adult" || cfg.Role != "nurse" || !cfg.Notify || cfg.IdleLock != 5*time.Minute {
		t.Fatalf("demo defaults: audio %q limits %q role %q notify %v", cfg.Audio, cfg.Limits, cfg.Role, cfg.Notify)
	}
	cfg, err = Parse([]string{"--broker", "ssl://10.0.0.1:8883"}, io.Discard)
	if err != nil || cfg.Role != "nurse" {
		t.Fatalf("a real station defaults to the nurse role: %q %v", cfg.Role, err)
	}
	for _, bad := range [][]string{
		{"--audio", "loud"}, {"--audio", "wav: "}, {"--role", "doctor"}, {"--limits", "giant"},
		{"--station", "a/b"}, {"--scenario", "meteor"}, {"--scenario", "desat", "--bed", "17"},
		{"--broker", "ssl://10.0.0.1:8883", "--scenario", "desat"},
		{"--operator", "anna", "--role", "admin"}, // a window asks who logs in
	} {
		_, err := Parse(bad, io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad[0]) && !strings.Contains(err.Error(), "scenario") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	cfg, err = Parse([]string{"sim", "--scenario", "list"}, io.Discard)
	if err != nil || cfg.Command != CmdScenarioList {
		t.Fatalf("--scenario list: %v %v", cfg.Command, err)
	}
	list := ScenarioList()
	for _, name := range []string{"desat", "tachy", "brady", "asystole", "leads-off", "offline", "nurse-call", "storm"} {
		if !strings.Contains(list, "  "+name+" ") {
			t.Errorf("scenario list lacks %s:\n%s", name, list)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"12GiB", 12 << 30}, {"500MB", 500e6}, {"2G", 2e9}, {"1048576", 1 << 20}, {"1.5 GiB", 3 << 29},
		{"64mib", 64 << 20}, {"3TB", 3e12}, {"0", 0},
	} {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1GiB", "12 parsecs", "1e400", "99999999TiB", "NaN"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, accepted", bad, n)
		}
	}
	if s := FormatSize(12 << 30); s != "12GiB" {
		t.Errorf("FormatSize = %q", s)
	}
	if s := FormatSize(1536 << 10); s != "1.5MiB" {
		t.Errorf("FormatSize = %q", s)
	}
}

// --wave-keep and --disk-budget reach the station's settings; nonsense is
// refused before anything starts.
func TestRecordingsFlags(t *testing.T) {
	cfg, err := Parse([]string{"--wave-keep", "24h", "--disk-budget", "2GiB"}, io.Discard)
	if err != nil || cfg.WaveKeep != 24*time.Hour || cfg.DiskBudget != 2<<30 {
		t.Fatalf("%v %s %d", err, cfg.WaveKeep, cfg.DiskBudget)
	}
	p := writeConfig(t, "[recordings]\nwave_keep = \"48h\"\ndisk_budget = \"4GiB\"\n")
	cfg, err = Parse([]string{"--config", p, "--disk-budget", "1GiB"}, io.Discard)
	if err != nil || cfg.WaveKeep != 48*time.Hour || cfg.DiskBudget != 1<<30 {
		t.Fatalf("file and flag: %v %s %d", err, cfg.WaveKeep, cfg.DiskBudget)
	}
	for _, args := range [][]string{{"--wave-keep", "0"}, {"--wave-keep", "2000h"}, {"--disk-budget", "1MB"}, {"--disk-budget", "much"}} {
		if _, err := Parse(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestOverviewFlags(t *testing.T) {
	cfg, err := Parse(nil, io.Discard)
	if err != nil || cfg.Layout != 0 || cfg.Waves != 2 || cfg.Sort != "bed" {
		t.Fatalf("defaults: %v layout %d waves %d sort %q", err, cfg.Layout, cfg.Waves, cfg.Sort)
	}
	cfg, err = Parse([]string{"--layout", "32", "--waves", "3", "--sort", "acuity", "--open", "bed:05"}, io.Discard)
	if err != nil || cfg.Layout != 32 || cfg.Waves != 3 || cfg.Sort != "acuity" || cfg.Open != "bed:05" {
		t.Fatalf("%v layout %d waves %d sort %q open %q", err, cfg.Layout, cfg.Waves, cfg.Sort, cfg.Open)
	}
	for _, args := range [][]string{{"--layout", "12"}, {"--layout", "big"}, {"--waves", "4"}, {"--sort", "name"},
		{"--open", "bed:"}, {"--open", "bed"}, {"--open", "ward:05"}, {"--open", "everything"},
		{"--sim-history", "73h"}, {"--sim-history", "-1h"}} {
		if _, err := Parse(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// A station that makes no alarm sound says why on its bar; the window's
// size is checked with the configuration.
func TestSoundNoteAndWindowSize(t *testing.T) {
	for _, c := range []struct{ audio, problem, want string }{
		{"default", "", ""}, {"off", "", "NO SOUND (--audio off)"}, {"wav:/tmp/x", "", "NO SOUND: alarms to WAV files"},
		{"default", "Station sound unavailable: no device", "NO SOUND: sound card unavailable"},
	} {
		if got := soundNote(c.audio, c.problem); got != c.want {
			t.Errorf("soundNote(%q, %q) = %q, want %q", c.audio, c.problem, got, c.want)
		}
	}
	for s, ok := range map[string]bool{"": true, "1280x800": true, "2560x1440": true, "12x8": false, "big": false, "1280x": false} {
		if _, _, err := windowSize(s); (err == nil) != ok {
			t.Errorf("windowSize(%q): %v", s, err)
		}
	}
}
