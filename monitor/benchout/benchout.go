// Package benchout collects the figures that `make bench` tracks from run to
// run and prints them as one line each:
//
//	BENCH <name> <value> <unit>
//
// A benchmark calls Record after its timed loop (the last call for a name wins,
// which is the run with the final b.N); the package's TestMain calls Print
// after m.Run. Names are stable identifiers listed in the issue that set the
// target, so a figure can be compared across runs.
package benchout

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
)

type figure struct {
	value float64
	unit  string
	order int
}

var (
	mu      sync.Mutex
	figures = map[string]figure{}
)

// Record sets the figure called name. Names and units must not contain spaces.
func Record(name string, value float64, unit string) {
	mu.Lock()
	defer mu.Unlock()
	f, ok := figures[name]
	if !ok {
		f.order = len(figures)
	}
	f.value, f.unit = value, unit
	figures[name] = f
}

// Print writes every recorded figure to stdout in the order first recorded.
func Print() { Fprint(os.Stdout) }

// Fprint writes every recorded figure to w in the order first recorded.
func Fprint(w io.Writer) {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(figures))
	for n := range figures {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return figures[a].order - figures[b].order })
	for _, n := range names {
		f := figures[n]
		fmt.Fprintf(w, "BENCH %s %s %s\n", n, strconv.FormatFloat(f.value, 'g', 4, 64), f.unit)
	}
}
