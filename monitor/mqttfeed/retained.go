package mqttfeed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// MaxRetained bounds what FetchRetained collects: the messages and the
// bytes of each (a broker, or whoever can publish there, decides how many
// retained messages match).
const (
	MaxRetained     = 1024
	MaxRetainedSize = 64 << 10
)

// FetchRetained connects with a clean session, subscribes to filter at QoS
// 1 and collects the retained messages the broker hands over, until quiet
// passes with none new (or ctx ends): topic -> payload. For the command
// line (vigil journal verify --broker), not for the station.
func FetchRetained(ctx context.Context, o DeviceOptions, filter string, quiet time.Duration) (map[string][]byte, error) {
	po, err := clientOptions(o.Broker, o.ClientID, o.Username, o.Password, o.TLS)
	if err != nil {
		return nil, err
	}
	po.SetCleanSession(true).SetAutoReconnect(false)
	c := paho.NewClient(po)
	tok := c.Connect()
	if !waitToken(ctx, tok) {
		return nil, fmt.Errorf("broker %s: no answer", o.Broker)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("broker %s: %w", o.Broker, err)
	}
	defer c.Disconnect(250)
	var mu sync.Mutex
	got := map[string][]byte{}
	last := time.Now()
	over := false
	sub := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		last = time.Now()
		if !m.Retained() || len(m.Payload()) == 0 {
			return
		}
		if len(got) >= MaxRetained || len(m.Payload()) > MaxRetainedSize {
			over = true
			return
		}
		got[m.Topic()] = append([]byte(nil), m.Payload()...)
	})
	if !waitToken(ctx, sub) {
		return nil, errors.New("subscription not acknowledged")
	}
	if err := sub.Error(); err != nil {
		return nil, err
	}
	if st, ok := sub.(*paho.SubscribeToken); ok {
		for _, q := range st.Result() {
			if q == 0x80 {
				return nil, fmt.Errorf("the broker refused the subscription to %s (access list)", filter)
			}
		}
	}
	mu.Lock()
	last = time.Now()
	mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(quiet / 4):
		}
		mu.Lock()
		done := time.Since(last) >= quiet
		mu.Unlock()
		if done {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if over {
		return got, fmt.Errorf("more than %d retained messages (or one over %d bytes) under %s: only the first kept", MaxRetained, MaxRetainedSize, filter)
	}
	return got, nil
}

func waitToken(ctx context.Context, t paho.Token) bool {
	select {
	case <-t.Done():
		return true
	case <-ctx.Done():
		return false
	}
}
