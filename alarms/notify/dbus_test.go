package notify

// The real path: beeep talking D-Bus to an org.freedesktop.Notifications
// server. A private dbus-daemon is started per test and a fake notification
// server is exported on it. The notes are posted by a child process (this
// test binary re-executed in helper mode) because godbus keeps one session
// bus connection per process: each child connects afresh to the address it
// is given, and the parent never touches the session bus at all.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gen2brain/beeep"
	"github.com/godbus/dbus/v5"

	"github.com/vigil-station/vigil/alarms"
)

// helperEnv selects a helper mode in the re-executed test binary.
const helperEnv = "VIGIL_NOTIFY_TEST_HELPER"

// resultPrefix marks the helper's result line on its stdout.
const resultPrefix = "NOTIFY-HELPER-RESULT "

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helperResult is what a helper process reports.
type helperResult struct {
	Stats    Stats
	Warnings int           // warning records logged
	Err      string        // the first warning's error
	PostTook time.Duration // how long all the Post calls took together
	Settled  bool          // every note was accounted for before the deadline
}

// helper posts notes through the default (beeep) backend, waits until every
// note is accounted for, and prints the result. Its exit code is 0 unless it
// could not run.
func helper(mode string) int {
	var notes []Note
	switch mode {
	case "deliver":
		notes = []Note{
			{Bed: "07", Priority: alarms.Low, Text: "* Lead off", At: at},
			{Bed: "12", Priority: alarms.Medium, Text: "** NIBP 85/50", Escalated: true, Detail: "to the charge nurse", At: at},
			{Bed: "05", Priority: alarms.High, Text: "*** SpO2 84 < 90", At: at},
		}
	case "storm", "fail":
		for i := range 64 {
			notes = append(notes, Note{Bed: fmt.Sprintf("%02d", i+1), Priority: alarms.High, Text: "*** SpO2 84 < 90", At: at})
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}

	beeep.AppName = "Vigil"
	lr := &logRecorder{}
	n := New(Config{Logger: slog.New(lr)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()

	t0 := time.Now()
	for _, note := range notes {
		n.Post(note)
	}
	res := helperResult{PostTook: time.Since(t0)}

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s := n.Stats()
		if s.Posted == s.Sent+s.Summarised+s.Failed+s.Dropped {
			res.Settled = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	res.Stats = n.Stats()

	lr.mu.Lock()
	for _, r := range lr.recs {
		if r.Level != slog.LevelWarn {
			continue
		}
		res.Warnings++
		if res.Warnings == 1 {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" {
					res.Err = fmt.Sprint(a.Value.Any())
				}
				return true
			})
		}
	}
	lr.mu.Unlock()

	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println(resultPrefix + string(b))
	return 0
}

// runHelper re-executes the test binary in helper mode with the session bus
// at busAddr and no notify-send or kdialog on PATH, so only D-Bus can work.
func runHelper(t *testing.T, mode, busAddr string) helperResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, helperEnv+"="+mode, "DBUS_SESSION_BUS_ADDRESS="+busAddr, "PATH="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s: %v\nstdout:\n%s\nstderr:\n%s", mode, err, &stdout, &stderr)
	}
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(line, resultPrefix); ok {
			var res helperResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				t.Fatalf("helper %s: bad result %q: %v", mode, rest, err)
			}
			if !res.Settled {
				t.Errorf("helper %s: notes still unaccounted for after 20 s: %+v", mode, res.Stats)
			}
			return res
		}
	}
	t.Fatalf("helper %s printed no result\nstdout:\n%s\nstderr:\n%s", mode, &stdout, &stderr)
	return helperResult{}
}

// startBus starts a private dbus-daemon for the test and returns its
// address. The daemon is killed when the test ends.
func startBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Fatalf("dbus-daemon is required for the desktop notification test and was not found (%v); "+
			"install it with `make deps` (Debian package dbus)", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	config := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + filepath.Join(dir, "bus") + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--print-address", "--nofork")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, out) // keep the pipe drained
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatalf("dbus-daemon printed no address; stderr: %s", stderr.String())
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not print its address within 10 s")
	}
	return ""
}

// notifyCall is one Notify call the fake server received.
type notifyCall struct {
	AppName, AppIcon, Summary, Body string
	ReplacesID                      uint32
	Actions                         []string
	Hints                           map[string]dbus.Variant
	Expire                          int32
}

// fakeServer is a minimal org.freedesktop.Notifications server.
type fakeServer struct {
	mu    sync.Mutex
	calls []notifyCall
}

func (s *fakeServer) Notify(appName string, replacesID uint32, appIcon, summary, body string,
	actions []string, hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, notifyCall{appName, appIcon, summary, body, replacesID, actions, hints, expire})
	return uint32(len(s.calls)), nil
}

func (s *fakeServer) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"body"}, nil
}

func (s *fakeServer) GetServerInformation() (name, vendor, version, specVersion string, err *dbus.Error) {
	return "vigil-fake-notifications", "vigil", "1.0", "1.2", nil
}

func (s *fakeServer) CloseNotification(uint32) *dbus.Error { return nil }

func (s *fakeServer) received() []notifyCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]notifyCall(nil), s.calls...)
}

// serveNotifications exports a fake notification server on the bus at addr
// and checks that it answers.
func serveNotifications(t *testing.T, addr string) *fakeServer {
	t.Helper()
	const (
		name  = "org.freedesktop.Notifications"
		path  = dbus.ObjectPath("/org/freedesktop/Notifications")
		iface = "org.freedesktop.Notifications"
	)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting the fake notification server: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := &fakeServer{}
	if err := conn.Export(s, path, iface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: reply %v, err %v", name, reply, err)
	}

	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var srv, vendor, version, spec string
	if err := client.Object(name, path).Call(iface+".GetServerInformation", 0).Store(&srv, &vendor, &version, &spec); err != nil {
		t.Fatalf("the fake server does not answer: %v", err)
	}
	if srv != "vigil-fake-notifications" {
		t.Fatalf("another notification server answered: %q", srv)
	}
	return s
}

func TestRealDBusDelivery(t *testing.T) {
	addr := startBus(t)
	srv := serveNotifications(t, addr)
	res := runHelper(t, "deliver", addr)

	if want := (Stats{Posted: 2, Ignored: 1, Sent: 2}); res.Stats != want {
		t.Errorf("helper stats = %+v, want %+v", res.Stats, want)
	}
	if res.Warnings != 0 {
		t.Errorf("helper logged %d warnings (%s), want none", res.Warnings, res.Err)
	}
	got := srv.received()
	want := []struct{ summary, body string }{
		{"Bed 05 — *** SpO2 84 < 90",
			"14:03:12 · new high priority alarm. Go to bed 05 now and acknowledge it."},
		{"ESCALATED Bed 12 — ** NIBP 85/50",
			"14:03:12 · escalated to the charge nurse: medium priority, not acknowledged. Go to bed 12 now and acknowledge it."},
	}
	if len(got) != len(want) {
		t.Fatalf("server received %d notifications, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		c := got[i]
		if c.Summary != w.summary || c.Body != w.body {
			t.Errorf("notification %d: %q / %q, want %q / %q", i, c.Summary, c.Body, w.summary, w.body)
		}
		if c.AppName != "Vigil" || c.AppIcon != DefaultIcon || c.Expire != 5000 {
			t.Errorf("notification %d: app %q, icon %q, expiry %d ms; want Vigil, %s, 5000",
				i, c.AppName, c.AppIcon, c.Expire, DefaultIcon)
		}
		if u, ok := c.Hints["urgency"]; !ok || u.Value() != byte(1) {
			t.Errorf("notification %d: urgency hint %v, want normal (1)", i, c.Hints["urgency"])
		}
	}
}

func TestRealDBusStorm(t *testing.T) {
	addr := startBus(t)
	srv := serveNotifications(t, addr)
	res := runHelper(t, "storm", addr)

	if want := (Stats{Posted: 64, Sent: 2, Summarised: 62, Summaries: 1}); res.Stats != want {
		t.Errorf("helper stats = %+v, want %+v", res.Stats, want)
	}
	got := srv.received()
	if len(got) > DefaultBurst+1 {
		t.Fatalf("a storm of 64 produced %d notifications, more than the burst of %d plus a summary", len(got), DefaultBurst)
	}
	if len(got) != 3 {
		t.Fatalf("server received %d notifications, want two alarms and a summary: %+v", len(got), got)
	}
	if got[0].Summary != "Bed 01 — *** SpO2 84 < 90" || got[1].Summary != "Bed 02 — *** SpO2 84 < 90" {
		t.Errorf("individual notifications %q, %q; want beds 01 and 02", got[0].Summary, got[1].Summary)
	}
	sum := got[2]
	if want := "*** +62 more alarms: Bed 03, Bed 04, Bed 05, …"; sum.Summary != want {
		t.Errorf("summary title %q, want %q", sum.Summary, want)
	}
	if !strings.HasPrefix(sum.Body, "Bed 03, Bed 04, Bed 05,") || !strings.Contains(sum.Body, "62 high, 0 medium") ||
		!strings.Contains(sum.Body, "and 50 more beds") {
		t.Errorf("summary body %q does not name the beds and the 62 held back", sum.Body)
	}
}

func TestRealDBusUnavailable(t *testing.T) {
	nowhere := "unix:path=" + filepath.Join(t.TempDir(), "no-bus-here")
	res := runHelper(t, "fail", nowhere)

	if res.PostTook > 50*time.Millisecond {
		t.Errorf("64 Posts took %v without a notification service, want them immediate", res.PostTook)
	}
	if want := (Stats{Posted: 64, Failed: 64}); res.Stats != want {
		t.Errorf("helper stats = %+v, want %+v", res.Stats, want)
	}
	if res.Warnings != 1 {
		t.Errorf("%d warnings for 3 failed notifications, want 1", res.Warnings)
	}
	if !strings.Contains(res.Err, "dbus") || !strings.Contains(res.Err, "notify-send") {
		t.Errorf("logged error %q, want beeep's D-Bus and notify-send failures", res.Err)
	}
}
