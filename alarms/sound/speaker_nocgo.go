//go:build !cgo && !darwin && !windows

package sound

import (
	"fmt"
	"time"
)

// openDevice fails: the speaker driver needs cgo on this system.
func openDevice(time.Duration) (Sink, error) {
	return nil, fmt.Errorf("%w: this build has no speaker driver (it was built without cgo)", ErrUnavailable)
}
