package sim

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Dialer opens one device's connection. willTopic/willPayload are the MQTT
// Last Will (the device's status topic with an offline feed.Status) to be
// registered on connect.
type Dialer func(ctx context.Context, clientID, willTopic string, willPayload []byte) (Conn, error)

// redialEvery is the wait between connection attempts of one device.
const redialEvery = time.Second

// Run runs the ward in real time until ctx is done, and returns nil then.
//
// Each bed dials its own connection (client id "vigil-sim-<ward>-<bed>"),
// retrying every second until it succeeds or ctx ends, and publishes its
// retained online status as soon as it is connected; a bed without a
// connection generates nothing meanwhile. Step runs every FrameMs. When a
// bed's device-offline event starts, Run publishes its retained offline status
// and closes its connection; when the event ends, it dials again. In the
// offline scenario the connection is lost instead: Run calls Drop when the
// Conn is a Dropper, so that the broker publishes the Last Will; a Conn that
// cannot drop has the Last Will's message (the same retained offline status)
// published on it, then it is closed. On the way out every connected bed
// publishes its retained offline status and is closed.
// Publish and dial errors are counted in Stats, never fatal.
func (w *Ward) Run(ctx context.Context, dial Dialer) error {
	if dial == nil {
		return errors.New("sim: Run: nil Dialer")
	}
	tick := time.NewTicker(time.Duration(w.frameMs) * time.Millisecond)
	defer tick.Stop()
	return w.run(ctx, dial, tick.C, time.Now)
}

type dialed struct {
	bed  int
	conn Conn
}

// run is Run with its clock injected, so that tests can drive it in virtual time.
func (w *Ward) run(ctx context.Context, dial Dialer, ticks <-chan time.Time, clock func() time.Time) error {
	w.mu.Lock()
	w.begin(clock())
	w.mu.Unlock()

	n := len(w.beds)
	conns := make([]Conn, n)
	pubs := make([]Publisher, n)
	dialing := make([]bool, n)
	results := make(chan dialed, n) // at most one attempt per bed in flight: never blocks
	var wg sync.WaitGroup
	connect := func(i int) {
		dialing[i] = true
		b := w.beds[i]
		wg.Go(func() {
			for {
				c, err := dial(ctx, b.clientID, b.statusTopic, b.will)
				if err == nil && c != nil {
					results <- dialed{i, c}
					return
				}
				w.dialErrors.Add(1)
				select {
				case <-ctx.Done():
					return
				case <-time.After(redialEvery):
				}
			}
		})
	}
	for i := range n {
		connect(i)
	}

	for {
		select {
		case <-ctx.Done():
			w.disconnectAll(conns, clock())
			wg.Wait()
			close(results)
			for r := range results {
				r.conn.Close() // connected too late: never announced
			}
			return nil

		case r := <-results:
			dialing[r.bed] = false
			now := clock()
			if w.offlineAt(r.bed, now) {
				r.conn.Close() // the event started meanwhile; dial again after it
				continue
			}
			conns[r.bed] = r.conn
			w.announce(r.bed, r.conn, now)

		case now := <-ticks:
			for i := range conns {
				off := w.offlineAt(i, now)
				switch {
				case off && conns[i] != nil && w.dropsUncleanly():
					w.drop(i, conns[i])
					conns[i] = nil
				case off && conns[i] != nil:
					w.disconnect(i, conns[i], now)
					conns[i] = nil
				case !off && conns[i] == nil && !dialing[i]:
					connect(i)
				}
				pubs[i] = nil
				if conns[i] != nil {
					pubs[i] = conns[i]
				}
			}
			_ = w.Step(now, pubs) // publish errors are in Stats
		}
	}
}

// announce publishes bed i's online status on a fresh connection.
func (w *Ward) announce(i int, c Conn, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.beds[i].publishStatus(c, now.UnixMilli()-w.epochMs, true)
}

// disconnect publishes bed i's retained offline status and closes c.
func (w *Ward) disconnect(i int, c Conn, now time.Time) {
	w.mu.Lock()
	_ = w.beds[i].publishStatus(c, now.UnixMilli()-w.epochMs, false)
	w.mu.Unlock()
	c.Close()
}

// drop loses bed i's connection c: the broker is to publish its Last Will.
func (w *Ward) drop(i int, c Conn) {
	if d, ok := c.(Dropper); ok {
		d.Drop()
		return
	}
	// Without a way to drop the connection, send what the broker would.
	b := w.beds[i]
	_ = w.publish(b, c, b.statusTopic, 1, true, b.will)
	c.Close()
}

func (w *Ward) disconnectAll(conns []Conn, now time.Time) {
	for i, c := range conns {
		if c != nil {
			w.disconnect(i, c, now)
			conns[i] = nil
		}
	}
}

// Reannounce makes the device with this client id publish its retained
// status again at the next Step. Call it when its connection came back on
// its own (the MQTT client reconnected): a restarted broker may have lost the
// retained status, and a real device announces itself on every connection.
func (w *Ward) Reannounce(clientID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.beds {
		if b.clientID == clientID {
			b.announced = false
		}
	}
}
