package store

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// A full disk (a 1 MiB tmpfs): a technical alarm, callers never blocked,
// nothing confirmed lost, and writing resumes when space returns.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", "-l", dir).Run()

	var mu sync.Mutex
	var troubles []string
	cleared := make(chan struct{}, 16)
	s, err := Open(t.Context(), dir, Options{Station: "st-1", Log: quiet(), Queue: 100, OnTrouble: func(p string, present bool) {
		mu.Lock()
		defer mu.Unlock()
		if present {
			troubles = append(troubles, p)
		} else {
			cleared <- struct{}{}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	detail := strings.Repeat("d", 2000)
	var pending []<-chan error
	var ids []string
	var slowest time.Duration
	// Rows go in by fifties and the writer is given time to take each
	// fifty (a slow machine under -race may need it), until the disk
	// refuses a commit.
	full := func() bool { return s.Stats().Failures > 0 }
	for i := 0; i < 5000 && !full(); i++ {
		id := fmt.Sprintf("a%05d", i)
		t0 := time.Now()
		ch := s.Record(alarms.Record{Event: "acknowledged", AlarmID: id, Who: "nina", Detail: detail})
		slowest = max(slowest, time.Since(t0))
		pending, ids = append(pending, ch), append(ids, id)
		if i%50 == 49 {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if st := s.Stats(); st.Waiting == 0 || st.Failures > 0 {
					break
				}
			}
		}
	}
	if !full() {
		t.Fatalf("%d rows of 2 kB and the 1 MiB disk never refused a commit: %+v", len(ids), s.Stats())
	}
	// More rows while the disk is full: they wait, callers do not.
	for i := range 200 {
		id := fmt.Sprintf("b%05d", i)
		t0 := time.Now()
		pending, ids = append(pending, s.Record(alarms.Record{Event: "acknowledged", AlarmID: id, Detail: detail})), append(ids, id)
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > 50*time.Millisecond {
		t.Fatalf("a caller waited %s on a full disk", slowest)
	}
	if st := s.Stats(); st.Waiting == 0 || st.Failures == 0 || st.Lost != 0 {
		t.Fatalf("stats while full: %+v", st)
	}
	mu.Lock()
	alarm := ""
	for _, p := range troubles {
		if strings.Contains(p, "Journal cannot write") {
			alarm = p
		}
	}
	mu.Unlock()
	if alarm == "" {
		t.Fatalf("no technical alarm naming the failed write; raised: %q", troubles)
	}
	t.Logf("technical alarm: %q", alarm)

	// Space returns.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	for i, ch := range pending {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("row %s: %v", ids[i], err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("row %s not written after space returned", ids[i])
		}
	}
	select {
	case <-cleared:
	case <-time.After(5 * time.Second):
		t.Fatal("the technical alarm was not cleared")
	}
	evs, err := s.Events(t.Context(), Filter{Kinds: []string{KindAlarm}})
	if err != nil || len(evs) != len(ids) {
		t.Fatalf("%d rows in the journal, %d confirmed (%v)", len(evs), len(ids), err)
	}
	for i, e := range evs {
		if e.AlarmID != ids[i] {
			t.Fatalf("row %d is %s, want %s (order kept)", i, e.AlarmID, ids[i])
		}
	}
	mustVerify(t, s)
	t.Logf("%d rows, all confirmed and in order after the disk filled and space returned; slowest caller %s; %+v", len(ids), slowest, s.Stats())
}
