package main

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestViewsEndToEnd drives the real station in a real window under Xvfb
// with the keyboard, as a nurse would: select bed 02 on the overview, open
// it (Enter), its trends (T), back (Esc), its alarm events (E) once the
// simulated desaturation has been raised there, open the newest event
// (Enter: its snippet), back to the bed and to the ward. Every step must
// open the view it names (the station logs each view it opens) and change
// what the screen shows.
func TestViewsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real window: not in -short")
	}
	for _, tool := range []string{"import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make test installs imagemagick and xdotool): %v", tool, err)
		}
	}
	display := xDisplay(t)
	dir := t.TempDir()
	stats := filepath.Join(dir, "stats.jsonl")
	cmd, exited, logPath := startStation(t, display, dir, "--sim", "8", "--scenario", "desat", "--bed", "2",
		"--sim-history", "2h", "--audio", "off", "--notify=false", "--idle-lock", "0",
		"--stats", stats, "--stats-every", "1s")

	// The ward drawing, and the desaturation of bed 02 raised (10 s in).
	deadline := time.Now().Add(60 * time.Second)
	for {
		last := lastStats(stats)
		if last != nil && last["beds_online"] == 8.0 && last["fps"].(float64) > 5 && last["active_alarms"].(float64) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ward with an alarm within 60 s; last stats %v", last)
		}
		select {
		case err := <-exited:
			t.Fatalf("station exited early: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	x := xdotool(t, display)
	x("search", "--sync", "--name", "Vigil", "windowfocus", "--sync") // no window manager: focus it directly
	views := regexp.MustCompile(`msg="view opened" title=(?:"([^"]*)"|(\S+))`)
	opened := func() []string {
		b, _ := os.ReadFile(logPath)
		var out []string
		for _, m := range views.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1]+m[2])
		}
		return out
	}
	// The centre of the screen, under the bars: what each view replaces.
	centre := image.Rect(0, 400, 1920, 1060)
	prev := shot(t, display, filepath.Join(dir, "0-ward.png"))
	step := 0
	expect := func(keys []string, want string) {
		t.Helper()
		step++
		n := len(opened())
		for _, k := range keys {
			x("key", "--clearmodifiers", k)
			time.Sleep(150 * time.Millisecond)
		}
		var got []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			got = opened()
			if len(got) > n && strings.HasPrefix(got[len(got)-1], want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("step %d, keys %v: views opened %q, want one starting %q", step, keys, got[min(n, len(got)):], want)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // drawn (trends and snippets load off the UI thread)
		img := shot(t, display, filepath.Join(dir, strings.NewReplacer(" ", "", "—", "-").Replace(want)+".png"))
		if c := changed(prev, img, centre); c < centre.Dx()*centre.Dy()/50 {
			t.Fatalf("step %d (%s): only %d pixels of the screen changed", step, want, c)
		}
		prev = img
	}
	expect([]string{"Right", "Right", "Return"}, "Bed 02")
	expect([]string{"t"}, "Trends — Bed 02")
	expect([]string{"Escape"}, "Bed 02")
	expect([]string{"e"}, "Alarm events — Bed 02")

	// Enter opens the newest event: its snippet replaces the empty detail.
	before := shot(t, display, filepath.Join(dir, "events.png"))
	x("key", "--clearmodifiers", "Return")
	time.Sleep(2 * time.Second)
	after := shot(t, display, filepath.Join(dir, "event.png"))
	if c := changed(before, after, centre); c < 5000 {
		t.Fatalf("Enter on the events: only %d pixels changed, no snippet shown", c)
	}
	b, _ := os.ReadFile(logPath)
	if strings.Contains(string(b), "level=ERROR") {
		t.Fatalf("the station logged an error:\n%s", tail(b, 3000))
	}
	prev = after
	expect([]string{"Escape"}, "Bed 02")
	expect([]string{"Escape"}, "ward")

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(8 * time.Second):
		t.Fatal("station ignored SIGTERM for 8 s")
	}
}

// startStation builds the station and runs it on display with its data in
// dir, a broker of its own on a free port and args; its stderr goes to the
// returned log, shown when t fails. exited reports its end; it is killed
// when t ends.
func startStation(t *testing.T, display, dir string, args ...string) (cmd *exec.Cmd, exited <-chan error, logPath string) {
	t.Helper()
	bin, addr := buildVigil(t), freeAddr(t)
	logPath = filepath.Join(dir, "stderr.log")
	cmd = exec.Command(bin, append([]string{"--listen", addr, "--data", dir}, args...)...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_RUNTIME_DIR="+dir)
	logf, _ := os.Create(logPath)
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("station log:\n%s", tail(b, 4000))
		}
	})
	return cmd, done, logPath
}
