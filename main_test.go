package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWindowUnderXvfb runs the real binary in a real window on an X server
// (the DISPLAY that `make test` provides through xvfb-run, else a private
// Xvfb), takes two screenshots one second apart, and checks that every one of
// the 16 tiles' waveform areas changed, that the window draws frames, and that
// SIGTERM closes it.
func TestWindowUnderXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real window: not in -short")
	}
	for _, tool := range []string{"import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make test installs imagemagick): %v", tool, err)
		}
	}
	display := xDisplay(t)
	dir := t.TempDir()
	bin, addr := buildVigil(t), freeAddr(t)
	stats := filepath.Join(dir, "stats.jsonl")
	cmd := exec.Command(bin, "--listen", addr, "--data", dir, "--stats", stats, "--stats-every", "1s")
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_RUNTIME_DIR="+dir)
	logf, _ := os.Create(filepath.Join(dir, "stderr.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			t.Logf("station log:\n%s", tail(b, 3000))
		}
	}()

	// Wait for a full ward drawing frames.
	var last map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		last = lastStats(stats)
		if last != nil && last["beds_online"] == 16.0 && last["fps"].(float64) > 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no full ward drawing within 60 s; last stats %v", last)
		}
		select {
		case err := <-exited:
			t.Fatalf("station exited early: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	time.Sleep(2 * time.Second) // one full sweep onto the strips
	a := shot(t, display, filepath.Join(dir, "a.png"))
	time.Sleep(time.Second)
	b := shot(t, display, filepath.Join(dir, "b.png"))
	if a.Bounds() != b.Bounds() || a.Bounds().Dx() < 1920 || a.Bounds().Dy() < 1080 {
		t.Fatalf("screen %v, want 1920x1080", a.Bounds())
	}
	// The grid: a bar at the top, then 4 x 4 tiles. Each tile's waveform area
	// is its left half below its header.
	const barH = 40
	tileW, tileH := 1920/4, (1080-barH)/4
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			area := image.Rect(c*tileW+4, barH+r*tileH+tileH/5, c*tileW+tileW/2, barH+(r+1)*tileH-4)
			if n := changed(a, b, area); n < 100 {
				t.Errorf("tile row %d col %d: only %d pixels of its waveform area changed in 1 s", r+1, c+1, n)
			}
		}
	}
	t.Logf("window: %.1f fps, %.1f %% of one core, %d beds online", last["fps"], last["cpu_pct"], int(last["beds_online"].(float64)))

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(8 * time.Second):
		t.Fatal("station ignored SIGTERM for 8 s")
	}
}

// xDisplay is the X display to run the window on: $DISPLAY (xvfb-run gives
// one), else a private Xvfb that lives as long as t.
func xDisplay(t testing.TB) string {
	if d := os.Getenv("DISPLAY"); d != "" {
		return d
	}
	return startXvfb(t)
}

// buildVigil builds the station into a temporary directory of t (warm: the
// build cache serves it).
func buildVigil(t testing.TB) string {
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr is a loopback address with a free port, for a station's broker.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startXvfb(t testing.TB) string {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatalf("no DISPLAY and no Xvfb (make test installs xvfb): %v", err)
	}
	for n := 150; n < 200; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		x := exec.Command("Xvfb", fmt.Sprintf(":%d", n), "-screen", "0", "1920x1080x24", "-nolisten", "tcp")
		if err := x.Start(); err != nil {
			t.Fatal(err)
		}
		// SIGTERM lets Xvfb remove its lock file and socket (SIGKILL left them,
		// and each run used up a display number for good).
		t.Cleanup(func() { x.Process.Signal(syscall.SIGTERM); x.Wait() })
		time.Sleep(time.Second)
		return fmt.Sprintf(":%d", n)
	}
	t.Fatal("no free X display number")
	return ""
}

func lastStats(path string) map[string]any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var last map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			last = m
		}
	}
	return last
}

func shot(t *testing.T, display, path string) image.Image {
	t.Helper()
	cmd := exec.Command("import", "-display", display, "-window", "root", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func changed(a, b image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				n++
			}
		}
	}
	return n
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
