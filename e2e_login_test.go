package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestLockedKeyEndToEnd is the usability report's locked-station case in
// the real window, driven with the keyboard under Xvfb at 1280×800: the
// station locks itself after 4 s, bed 02 desaturates, the nurse presses A.
// The login opens with the PIN field focused; the "a" must not land in it:
// the nurse goes back to the user name (Shift+Tab), types it, then her PIN,
// and the first try logs in. The journal then has her login (no failed
// one) and her acknowledgement of bed 02, the alarm on screen when A was
// pressed.
func TestLockedKeyEndToEnd(t *testing.T) {
	display, dir := realWindow(t)
	startStation(t, display, dir, "--sim", "4", "--scenario", "desat", "--bed", "2",
		"--audio", "off", "--notify=false", "--idle-lock", "4s", "--window", "1280x800")
	journal := func(q string) []string { return journalRows(t, dir, q) }
	const q = "SELECT kind, event, bed, who FROM events WHERE kind IN ('login', 'alarm') ORDER BY seq"
	// Locked by itself, and bed 02's desaturation raised.
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := strings.Join(journal(q), "\n")
		if strings.Contains(got, "login locked") && strings.Contains(got, "alarm raised 02") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lock and desaturation within 60 s; journal:\n%s", got)
		}
		time.Sleep(500 * time.Millisecond)
	}
	x := xdotool(t, display)
	x("search", "--sync", "--name", "Vigil", "windowfocus", "--sync")
	loginByKeys(x, "a", "demo-nurse", "111111")
	deadline = time.Now().Add(10 * time.Second)
	for {
		got := journal(q)
		joined := strings.Join(got, "\n")
		if strings.Contains(joined, "login login  demo-nurse") && strings.Contains(joined, "alarm acknowledged 02 demo-nurse") {
			if strings.Contains(joined, "login-failed") {
				t.Fatalf("a failed login: the key's character reached the PIN:\n%s", joined)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login and acknowledgement 10 s after the keys; journal:\n%s", joined)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestLockedAdminPassphraseEndToEnd: in the real window, the demo admin
// logs in at the locked station with her passphrase, letters and spaces
// typed into the secret field (an admin has no PIN), the first time; the
// key that opened the login stays out of it.
func TestLockedAdminPassphraseEndToEnd(t *testing.T) {
	display, dir := realWindow(t)
	startStation(t, display, dir, "--sim", "4", "--audio", "off", "--notify=false", "--idle-lock", "4s", "--window", "1280x800")
	const q = "SELECT kind, event, who, detail FROM events WHERE kind = 'login' ORDER BY seq"
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(strings.Join(journalRows(t, dir, q), "\n"), "login locked") {
		if time.Now().After(deadline) {
			t.Fatal("no idle lock within 60 s of the start")
		}
		time.Sleep(300 * time.Millisecond)
	}
	x := xdotool(t, display)
	x("search", "--sync", "--name", "Vigil", "windowfocus", "--sync")
	loginByKeys(x, "e", "demo-admin", "demo admin passphrase")
	deadline = time.Now().Add(10 * time.Second)
	for {
		joined := strings.Join(journalRows(t, dir, q), "\n")
		if strings.Contains(joined, "login login demo-admin") {
			if strings.Contains(joined, "login-failed") {
				t.Fatalf("a failed login before the passphrase went through:\n%s", joined)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin login 10 s after the keys; journal:\n%s", joined)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// startXvfbSized is a private Xvfb of the given screen size for t.
func startXvfbSized(t *testing.T, size string) string {
	t.Helper()
	for n := 150; n < 200; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		d := fmt.Sprintf(":%d", n)
		x := exec.Command("Xvfb", d, "-screen", "0", size+"x24", "-nolisten", "tcp")
		if err := x.Start(); err != nil {
			t.Fatalf("Xvfb: %v", err)
		}
		t.Cleanup(func() { x.Process.Kill(); x.Wait() })
		for range 50 {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				return d
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("Xvfb %s did not start", d)
	}
	t.Fatal("no free X display")
	return ""
}

// TestIdleLockEndToEnd: in the real window, moving the pointer is input
// (the idle lock of 4 s does not come while the nurse moves it for 9 s);
// once she stops, the station locks itself and the bed's detail she had
// open closes back to the ward.
func TestIdleLockEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real window: not in -short")
	}
	display := startXvfbSized(t, "1280x800")
	dir := t.TempDir()
	_, _, logPath := startStation(t, display, dir, "--sim", "4", "--audio", "off", "--notify=false",
		"--idle-lock", "4s", "--window", "1280x800")
	x := xdotool(t, display)
	logHas := func(s string) int {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), s)
	}
	locks := func() int {
		return len(journalRows(t, dir, "SELECT kind, event, who, detail FROM events WHERE event = 'locked'"))
	}
	// The demo's nurse is locked out after 4 s without input.
	deadline := time.Now().Add(60 * time.Second)
	for locks() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no idle lock within 60 s of the start")
		}
		time.Sleep(300 * time.Millisecond)
	}
	// E asks for a login, then opens the ward's alarm events.
	x("search", "--sync", "--name", "Vigil", "windowfocus", "--sync")
	loginByKeys(x, "e", "demo-nurse", "111111")
	deadline = time.Now().Add(10 * time.Second)
	for logHas(`title="Alarm events`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("E and the login did not open the events")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The nurse moves the pointer for 9 s: no lock.
	start := locks()
	for i := range 18 {
		x("mousemove", fmt.Sprint(300+20*(i%10)), fmt.Sprint(400+10*(i%7)))
		time.Sleep(500 * time.Millisecond)
	}
	if n := locks() - start; n != 0 {
		t.Fatalf("the station locked %d times while the pointer moved", n)
	}
	// She stops: the station locks and the events close back to the ward.
	views := logHas(`title=ward`)
	deadline = time.Now().Add(15 * time.Second)
	for locks() == start || logHas(`title=ward`) == views {
		if time.Now().After(deadline) {
			t.Fatalf("no idle lock back to the ward 15 s after the pointer stopped (locks %d, ward views %d)",
				locks()-start, logHas(`title=ward`)-views)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// journalRows runs q (four text columns) on the journal of the station
// whose data directory is dir, read-only; nil while there is none.
func journalRows(t *testing.T, dir, q string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "journal.db"))
	if len(paths) == 0 {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+paths[0]+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		return nil // not created yet
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, d string
		if err := rows.Scan(&a, &b, &c, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{a, b, c, d}, " "))
	}
	return out
}

// xdotool is xdotool on display, failing t when it fails.
func xdotool(t *testing.T, display string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		c := exec.Command("xdotool", args...)
		c.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, out)
		}
	}
}

// loginByKeys presses key on a locked ward (the login opens with the
// secret focused), goes back to the user name, types it, then the PIN (or
// an admin's passphrase), and Return.
func loginByKeys(x func(...string), key, user, pin string) {
	x("key", key)
	time.Sleep(time.Second)
	x("key", "shift+Tab")
	x("type", "--delay", "50", user)
	x("key", "Tab")
	x("type", "--delay", "50", pin)
	x("key", "Return")
}

// realWindow is an Xvfb display of 1280x800 and a data directory for a
// test that drives the real window with xdotool (not in -short).
func realWindow(t *testing.T) (display, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the real window: not in -short")
	}
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Fatalf("xdotool not found (make test installs it): %v", err)
	}
	return startXvfbSized(t, "1280x800"), t.TempDir()
}
