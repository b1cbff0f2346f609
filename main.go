// Command vigil is a central station for hospital wards: live waveforms,
// vitals and alarms of every bed, from any vendor's devices over MQTT.
// Vigil is a secondary display: confirm every alarm at the bedside.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-station/vigil/app"
)

func main() {
	cfg, err := app.Parse(os.Args[1:], os.Stderr)
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = app.Run(ctx, cfg, os.Stdout, os.Stderr)
		stop()
	}
	if errors.Is(err, app.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(2)
	}
}
