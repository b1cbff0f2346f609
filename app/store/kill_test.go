package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/benchout"
	"github.com/vigil-station/vigil/monitor/feed"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("VIGIL_KILL_STATION"); dir != "" {
		runStation(dir)
		return
	}
	// The journal key and checkpoints of the tests: never the user's.
	keys, err := os.MkdirTemp("", "vigil-store-keys-")
	if err != nil {
		panic(err)
	}
	os.Setenv(KeyEnv, keys+"/journal.key")
	code := m.Run()
	os.RemoveAll(keys)
	benchout.Print()
	os.Exit(code)
}

// runStation is the headless station core the kill test shoots: the alarm
// service fed by a hub, journalling into the store, with a nurse
// acknowledging every alarm as fast as they come. Each acknowledgement the
// core confirmed (Acknowledge returned nil) is printed.
func runStation(dir string) {
	s, err := Open(context.Background(), dir, Options{Station: "st-k", Log: quiet()})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	hub := monitor.NewHub(monitor.Config{Ward: "icu"})
	svc := alarms.NewService(alarms.Config{Station: "st-k", Operator: alarms.Actor{Who: "nina", Role: alarms.Nurse},
		Hub: hub, Recorder: s, Log: quiet(), Tick: 5 * time.Millisecond})
	hub.SetObserver(svc)
	go svc.Run(context.Background())
	fmt.Println("READY")
	for round := 0; ; round++ {
		v := 70.0 // desaturation: HIGH, no delay; then normal, so the acknowledged alarms resolve
		if round%2 == 1 {
			v = 98
		}
		for b := range 16 {
			hub.Numerics(fmt.Sprintf("%02d", b), feed.NumFrame{TsMs: time.Now().UnixMilli(),
				Values: []feed.Numeric{{Code: feed.MDCSpO2, Value: v, Valid: true}}})
		}
		time.Sleep(3 * time.Millisecond)
		for _, a := range svc.View().Alarms {
			if !a.Acked {
				if err := svc.Acknowledge(a.ID); err == nil {
					fmt.Println("ACK", a.ID)
				}
			}
		}
	}
}

// kill -9 of a station writing alarms and acknowledgements at full rate,
// again and again: after each restart the file is sound, the chain
// verifies, and every acknowledgement the core confirmed is there.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("the kill loop takes a minute; run without -short")
	}
	loops := 200
	if n, err := strconv.Atoi(os.Getenv("VIGIL_KILL_LOOPS")); err == nil && n > 0 {
		loops = n
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[string]bool{}
	var rows int64
	start := time.Now()
	for i := range loops {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "VIGIL_KILL_STATION="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		acks := 0
		kill := time.After(time.Hour)
		deadline := time.After(20 * time.Second)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if strings.HasPrefix(l, "ERR") {
					t.Fatalf("restart %d: %s", i, l)
				}
				if id, ok := strings.CutPrefix(l, "ACK "); ok {
					confirmed[id] = true
					if acks++; acks == 1 { // writing at full rate: shoot at a random moment
						kill = time.After(time.Duration(rand.IntN(60)) * time.Millisecond)
					}
				}
			case <-kill:
				cmd.Process.Kill() // SIGKILL
				kill = time.After(time.Hour)
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("restart %d: no acknowledgement within 20 s", i)
			}
		}
		cmd.Wait()

		s, err := Open(context.Background(), dir, Options{Station: "check", Log: quiet()})
		if err != nil {
			t.Fatalf("after kill %d: %v", i, err)
		}
		if s.SetAside() != nil {
			t.Fatalf("after kill %d the journal was set aside: %+v", i, s.SetAside())
		}
		v, err := s.VerifyChain(context.Background(), nil)
		if err != nil || !v.OK() {
			t.Fatalf("after kill %d: %+v %v", i, v, err)
		}
		acked := map[string]bool{}
		evs, err := s.Events(context.Background(), Filter{Kinds: []string{KindAlarm}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Event == "acknowledged" {
				acked[e.AlarmID] = true
			}
		}
		for id := range confirmed {
			if !acked[id] {
				t.Fatalf("after kill %d: confirmed acknowledgement of %s is not in the journal", i, id)
			}
		}
		rows = v.Rows
		s.Close()
	}
	t.Logf("%d kill -9 restarts in %s: integrity ok and chain verified every time; %d confirmed acknowledgements all present; %d journal rows",
		loops, time.Since(start).Round(time.Second), len(confirmed), rows)
	if len(confirmed) < loops {
		t.Fatalf("only %d acknowledgements confirmed in %d runs", len(confirmed), loops)
	}
}
