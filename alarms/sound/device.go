package sound

import (
	"fmt"
	"time"
)

// OpenTimeout bounds how long Open("default") waits for the audio driver.
// On a machine without a sound card the driver may fail at once or never
// answer; after OpenTimeout Open gives up with ErrUnavailable.
const OpenTimeout = 2 * time.Second

// waitReady waits until ready is closed, or fails after timeout.
func waitReady(ready <-chan struct{}, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: the audio driver did not answer within %v", ErrUnavailable, timeout)
	}
}
