// Package mqttfeed connects Vigil to an MQTT broker with paho: the station's
// subscription (broker -> feed decode -> monitor.Hub) and the device side used
// by the simulator. It is the only package that imports paho.
//
// paho's defaults are wrong for a central station (platform-notes.md), so
// every setting that matters is explicit: keepalive 5 s, connect retry on,
// reconnect back-off capped at 5 s, subscriptions made in the on-connect
// handler, ordered delivery (one handler goroutine = one writer per ring), and
// handlers that decode and hand off without blocking.
package mqttfeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
)

// Timings shared by the station and device connections.
const (
	KeepAlive        = 5 * time.Second
	PingTimeout      = 3 * time.Second
	MaxReconnectWait = 5 * time.Second
	ConnectTimeout   = 5 * time.Second
	opTimeout        = 5 * time.Second
)

// Options configure a station subscription.
type Options struct {
	Broker   string // tcp://host:port
	ClientID string // stable per station: the broker keeps its session across reconnects
	Ward     string
	Username string
	Password string // never logged
	Log      *slog.Logger
}

// Subscriber is the station's connection to the feed.
type Subscriber struct {
	opts      Options
	hub       *monitor.Hub
	client    paho.Client
	connected atomic.Bool
	lastErr   atomic.Pointer[string]
	wf        feed.WaveFrame // reused by the (single) handler goroutine
	log       *slog.Logger
}

// subscriptions: waveforms and numerics at QoS 0 (a stale sample is useless
// after a reconnect), status/alarm/event at QoS 1 on the persistent session.
func subscriptions(ward string) map[string]byte {
	base := feed.Root + "/" + ward + "/+/"
	return map[string]byte{
		base + string(feed.StreamWave):   0,
		base + string(feed.StreamNum):    0,
		base + string(feed.StreamStatus): 1,
		base + string(feed.StreamAlarm):  1,
		base + string(feed.StreamEvent):  1,
	}
}

// Subscribe connects to the broker and feeds hub. It returns at once: the
// connection is retried in the background until Close.
func Subscribe(opts Options, hub *monitor.Hub) (*Subscriber, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if !feed.ValidName(opts.Ward) {
		return nil, fmt.Errorf("ward %q: use 1-32 letters, digits, '-', '_' or '.'", opts.Ward)
	}
	s := &Subscriber{opts: opts, hub: hub, log: opts.Log.With("component", "feed", "broker", opts.Broker)}
	o := paho.NewClientOptions().
		AddBroker(opts.Broker).
		SetClientID(opts.ClientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetCleanSession(false).
		SetOrderMatters(true).
		SetKeepAlive(KeepAlive).
		SetPingTimeout(PingTimeout).
		SetConnectTimeout(ConnectTimeout).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(MaxReconnectWait).
		SetWriteTimeout(opTimeout).
		SetDefaultPublishHandler(s.handle). // queued session messages arrive here
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.connected.Store(false)
			s.setErr("connection to the broker lost: " + err.Error())
			s.log.Warn("connection lost; reconnecting", "err", err)
		})
	s.client = paho.NewClient(o)
	tok := s.client.Connect()
	go func() {
		// With ConnectRetry the token completes when connected or on a
		// permanent error; report the latter once.
		tok.Wait()
		if err := tok.Error(); err != nil {
			s.setErr(err.Error())
			s.log.Error("cannot connect to the broker", "err", err)
		}
	}()
	return s, nil
}

func (s *Subscriber) onConnect(c paho.Client) {
	tok := c.SubscribeMultiple(subscriptions(s.opts.Ward), s.handle)
	if !tok.WaitTimeout(opTimeout) || tok.Error() != nil {
		s.setErr(fmt.Sprintf("subscribe failed: %v", tok.Error()))
		s.log.Error("subscribe failed", "err", tok.Error())
		return
	}
	s.connected.Store(true)
	s.lastErr.Store(nil)
	s.log.Info("connected and subscribed", "ward", s.opts.Ward)
}

func (s *Subscriber) setErr(msg string) { s.lastErr.Store(&msg) }

// handle runs on paho's single ordered-delivery goroutine: decode, hand off,
// return. It never blocks and never touches the UI.
func (s *Subscriber) handle(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	ward, bed, stream, err := feed.ParseTopic(topic)
	if err != nil {
		s.hub.Reject(topic, "", err)
		return
	}
	if ward != s.opts.Ward {
		s.hub.Reject(topic, "", fmt.Errorf("message for ward %q at a station of ward %q", ward, s.opts.Ward))
		return
	}
	switch stream {
	case feed.StreamWave:
		if err := feed.DecodeWave(m.Payload(), &s.wf); err != nil {
			s.hub.Reject(topic, bed, err)
			return
		}
		s.hub.Wave(bed, &s.wf)
	case feed.StreamNum:
		f, err := feed.DecodeNum(m.Payload())
		if err != nil {
			s.hub.Reject(topic, bed, err)
			return
		}
		s.hub.Numerics(bed, f)
	case feed.StreamStatus:
		if len(m.Payload()) == 0 {
			return // a cleared retained status: nothing to apply
		}
		st, err := feed.DecodeStatus(m.Payload())
		if err != nil {
			s.hub.Reject(topic, bed, err)
			return
		}
		s.hub.Status(bed, st)
	default:
		// alarm and event streams are handled by the alarm system (a later
		// part of the station); until then they are accepted and ignored.
	}
}

// Connected reports whether the station is connected and subscribed.
func (s *Subscriber) Connected() bool { return s.connected.Load() }

// LastError is the last connection problem, empty when connected.
func (s *Subscriber) LastError() string {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// Close disconnects; the subscriber must not be used afterwards.
func (s *Subscriber) Close() {
	s.client.Disconnect(250)
	s.connected.Store(false)
}

// Device is one bedside device's connection (used by the simulator).
type Device struct {
	client paho.Client
}

// DeviceOptions configure a device connection.
type DeviceOptions struct {
	Broker, ClientID   string
	Username, Password string
	WillTopic          string
	WillPayload        []byte // retained QoS 1 Last Will: the device's offline status
}

// ErrNotConnected is returned by Publish while the device is disconnected.
var ErrNotConnected = errors.New("device not connected to the broker")

// DialDevice connects a device and waits for the connection (or ctx).
func DialDevice(ctx context.Context, o DeviceOptions) (*Device, error) {
	po := paho.NewClientOptions().
		AddBroker(o.Broker).
		SetClientID(o.ClientID).
		SetUsername(o.Username).
		SetPassword(o.Password).
		SetCleanSession(true).
		SetOrderMatters(true).
		SetKeepAlive(KeepAlive).
		SetPingTimeout(PingTimeout).
		SetConnectTimeout(ConnectTimeout).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(MaxReconnectWait).
		SetWriteTimeout(opTimeout)
	if o.WillTopic != "" {
		po.SetBinaryWill(o.WillTopic, o.WillPayload, 1, true)
	}
	c := paho.NewClient(po)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("device %s: connect %s: %w", o.ClientID, o.Broker, err)
	}
	return &Device{client: c}, nil
}

// Publish sends one message. QoS 0 returns at once; QoS 1 waits for the
// broker's acknowledgement (bounded).
func (d *Device) Publish(topic string, qos byte, retained bool, payload []byte) error {
	if !d.client.IsConnectionOpen() {
		return ErrNotConnected
	}
	tok := d.client.Publish(topic, qos, retained, payload)
	if qos == 0 {
		return nil
	}
	if !tok.WaitTimeout(opTimeout) {
		return fmt.Errorf("publish %s: no acknowledgement within %s", topic, opTimeout)
	}
	return tok.Error()
}

// Close disconnects cleanly (the broker does not send the Last Will).
func (d *Device) Close() { d.client.Disconnect(100) }
