package monitor

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHeadlessImports keeps the live-data and alarm domains headless: they
// must never depend on the GUI toolkit, the MQTT client or SQL (only the
// paho adapter, monitor/mqttfeed, may import paho).
func TestHeadlessImports(t *testing.T) {
	pkgs := []string{"../monitor", "../monitor/ring", "../monitor/feed", "../monitor/sim", "../monitor/wfdb", "../monitor/ecg", "../monitor/news2", "../monitor/hl7", "../monitor/hl7feed", "../alarms"}
	forbidden := []string{"fyne.io/", "github.com/eclipse/paho", "database/sql", "modernc.org/sqlite", "github.com/mochi-mqtt"}
	for _, p := range pkgs {
		out, err := exec.Command("go", "list", "-deps", p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", p, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", p, dep)
				}
			}
		}
	}
}
