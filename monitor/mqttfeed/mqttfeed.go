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
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
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
	MaxReconnectWait = 5 * time.Second // devices
	// StationMaxBackoff caps the station's wait between connection attempts,
	// so that it is back within a few seconds of the broker's return.
	StationMaxBackoff = 2 * time.Second
	ConnectTimeout    = 5 * time.Second
	opTimeout         = 5 * time.Second
	// problemLogEvery limits how often an unchanged connection problem is
	// logged again while attempts continue.
	problemLogEvery = time.Minute
)

// Options configure a station subscription.
type Options struct {
	Broker   string // tcp://host:port, or ssl://host:port for TLS
	ClientID string // stable per station: the broker keeps its session across reconnects
	Ward     string
	Username string
	Password string // never logged
	TLS      TLS
	Log      *slog.Logger

	// Extra are further subscriptions (QoS 1) outside the device feed, such
	// as the stations' alarm states: topic filter -> handler. Handlers run
	// on the ordered message goroutine and must not block.
	Extra map[string]func(topic string, payload []byte)
	// WillTopic and WillPayload are the station's Last Will (retained).
	WillTopic   string
	WillPayload []byte
	// OnConnect runs after every successful connection and subscription
	// (on paho's goroutine; it must not block for long).
	OnConnect func()
}

// Subscriber is the station's connection to the feed.
type Subscriber struct {
	opts   Options
	hub    *monitor.Hub
	client paho.Client
	wf     feed.WaveFrame // reused by the (single) handler goroutine
	log    *slog.Logger

	mu       sync.Mutex
	state    LinkState
	lastLog  time.Time
	loggedAs string

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
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

// clientOptions are the paho settings shared by stations and devices.
func clientOptions(broker, clientID, user, password string, t TLS) (*paho.ClientOptions, error) {
	if err := ValidateURL(broker); err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().
		AddBroker(broker).
		SetClientID(clientID).
		SetUsername(user).
		SetPassword(password).
		SetProtocolVersion(4). // no silent fallback to 3.1 that would hide a refusal
		SetOrderMatters(true).
		SetKeepAlive(KeepAlive).
		SetPingTimeout(PingTimeout).
		SetConnectTimeout(ConnectTimeout).
		SetAutoReconnect(true).
		SetWriteTimeout(opTimeout).
		SetStore(newCopyStore())
	if t.Enabled() || IsTLSURL(broker) {
		tc, err := t.Config()
		if err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	}
	return o, nil
}

// Subscribe connects to the broker and feeds hub. It returns at once (after
// checking the options and TLS files): the connection is attempted in the
// background with back-off until Close, and its state is in State.
func Subscribe(opts Options, hub *monitor.Hub) (*Subscriber, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if !feed.ValidName(opts.Ward) {
		return nil, fmt.Errorf("ward %q: use 1-32 letters, digits, '-', '_' or '.'", opts.Ward)
	}
	s := &Subscriber{opts: opts, hub: hub, log: opts.Log.With("component", "feed", "broker", opts.Broker),
		stop: make(chan struct{}), done: make(chan struct{})}
	s.state = LinkState{Problem: "connecting to broker " + opts.Broker, Since: time.Now()}
	o, err := clientOptions(opts.Broker, opts.ClientID, opts.Username, opts.Password, opts.TLS)
	if err != nil {
		return nil, err
	}
	if opts.WillTopic != "" {
		o.SetWill(opts.WillTopic, string(opts.WillPayload), 1, true)
	}
	o.SetCleanSession(false).
		SetMaxReconnectInterval(StationMaxBackoff).
		SetDefaultPublishHandler(s.handle). // queued session messages arrive here
		SetOnConnectHandler(s.onConnect).
		SetConnectionNotificationHandler(s.notify)
	s.client = paho.NewClient(o)
	go s.connectLoop()
	return s, nil
}

// connectLoop makes the first connection, backing off 1, 2, 4 ... s up to
// StationMaxBackoff between attempts; after that paho's auto-reconnect (with
// the same cap) keeps the link up.
func (s *Subscriber) connectLoop() {
	defer close(s.done)
	wait := time.Second
	for {
		tok := s.client.Connect()
		select {
		case <-tok.Done():
		case <-s.stop:
			return
		}
		if tok.Error() == nil {
			return
		}
		select {
		case <-time.After(wait):
		case <-s.stop:
			return
		}
		wait = min(2*wait, StationMaxBackoff)
	}
}

// notify follows paho's connection events (every attempt, also reconnects).
func (s *Subscriber) notify(_ paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationFailed:
		msg, refused := Describe(n.Reason, s.opts.Broker, s.opts.Username)
		s.setProblem(msg, refused)
	case paho.ConnectionNotificationLost:
		msg := "connection to broker " + s.opts.Broker + " lost"
		if n.Reason != nil {
			msg += ": " + n.Reason.Error()
		}
		s.setProblem(msg, false)
	}
}

func (s *Subscriber) setProblem(msg string, refused bool) {
	now := time.Now()
	s.mu.Lock()
	if s.state.Connected || s.state.Problem != msg {
		s.state.Since = now
	}
	s.state.Connected, s.state.Refused, s.state.Problem = false, refused, msg
	s.state.Attempts++
	attempts := s.state.Attempts
	logIt := s.loggedAs != msg || now.Sub(s.lastLog) >= problemLogEvery
	if logIt {
		s.loggedAs, s.lastLog = msg, now
	}
	s.mu.Unlock()
	if logIt {
		s.log.Warn(msg, "refused", refused, "attempts", attempts, "retry_within", StationMaxBackoff)
	}
}

func (s *Subscriber) onConnect(c paho.Client) {
	tok := c.SubscribeMultiple(subscriptions(s.opts.Ward), s.handle)
	ok := tok.WaitTimeout(opTimeout) && tok.Error() == nil
	for filter, h := range s.opts.Extra {
		if !ok {
			break
		}
		h := h
		tok = c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { h(m.Topic(), m.Payload()) })
		ok = tok.WaitTimeout(opTimeout) && tok.Error() == nil
	}
	if !ok {
		err := tok.Error()
		if err == nil {
			err = errors.New("no answer")
		}
		s.setProblem("broker "+s.opts.Broker+" refused the subscriptions: "+err.Error(), true)
		return
	}
	s.mu.Lock()
	s.state = LinkState{Connected: true, Since: time.Now()}
	s.loggedAs = ""
	s.mu.Unlock()
	s.log.Info("connected and subscribed", "ward", s.opts.Ward)
	if s.opts.OnConnect != nil {
		s.opts.OnConnect()
	}
}

// Publish sends a message on the station's connection without waiting for
// the broker (QoS 1 messages are resent by paho after a reconnect). It fails
// at once when the station is not connected.
func (s *Subscriber) Publish(topic string, qos byte, retained bool, payload []byte) error {
	if !s.client.IsConnectionOpen() {
		return errors.New("not connected to the broker")
	}
	s.client.Publish(topic, qos, retained, payload)
	return nil
}

// Acked publishes through the station's connection like Publish, but each
// call waits for the broker to acknowledge a QoS 1 message (bounded): for
// senders that promise their own senders the data is taken (the HL7
// bridge's ACK).
func (s *Subscriber) Acked() AckedPublisher { return AckedPublisher{s} }

// AckedPublisher is Subscriber.Acked's publisher.
type AckedPublisher struct{ s *Subscriber }

// Publish sends one message and, at QoS 1, waits for the broker's acknowledgement.
func (a AckedPublisher) Publish(topic string, qos byte, retained bool, payload []byte) error {
	return publishAcked(a.s.client, topic, qos, retained, payload)
}

// publishAcked publishes on c; at QoS 1 it waits for the broker's
// acknowledgement (bounded).
func publishAcked(c paho.Client, topic string, qos byte, retained bool, payload []byte) error {
	if !c.IsConnectionOpen() {
		return ErrNotConnected
	}
	tok := c.Publish(topic, qos, retained, payload)
	if qos == 0 {
		return nil
	}
	if !tok.WaitTimeout(opTimeout) {
		return fmt.Errorf("publish %s: no acknowledgement within %s", topic, opTimeout)
	}
	return tok.Error()
}

// State is the current state of the link to the broker.
func (s *Subscriber) State() LinkState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Connected reports whether the station is connected and subscribed.
func (s *Subscriber) Connected() bool { return s.State().Connected }

// LastError is the current connection problem, empty when connected.
func (s *Subscriber) LastError() string { return s.State().Problem }

// handle runs on paho's single ordered-delivery goroutine: decode, hand off,
// return. It never blocks and never touches the UI.
func (s *Subscriber) handle(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	for filter, h := range s.opts.Extra { // queued session messages come here before the routes exist
		if topicMatch(filter, topic) {
			h(topic, m.Payload())
			return
		}
	}
	ward, bed, stream, err := feed.ParseTopic(topic)
	if err != nil {
		s.hub.Reject(topic, "", err)
		return
	}
	if ward != s.opts.Ward {
		s.hub.Reject(topic, "", fmt.Errorf("message for ward %q at a station of ward %q", ward, s.opts.Ward))
		return
	}
	if n, limit := len(m.Payload()), stream.MaxPayload(); n > limit {
		s.hub.Reject(topic, bed, fmt.Errorf("%w: %d bytes on %s, at most %d", feed.ErrTooLarge, n, stream, limit))
		return
	}
	switch stream {
	case feed.StreamWave:
		if err := feed.DecodeWaveAny(m.Payload(), &s.wf); err != nil {
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
	case feed.StreamAlarm:
		a, err := feed.DecodeAlarm(m.Payload())
		if err != nil {
			s.hub.Reject(topic, bed, err)
			return
		}
		s.hub.Alarm(bed, a)
	case feed.StreamEvent:
		e, err := feed.DecodeEvent(m.Payload())
		if err != nil {
			s.hub.Reject(topic, bed, err)
			return
		}
		s.hub.Event(bed, e)
	}
}

// Drop loses the device's connection without a DISCONNECT, as a device
// unplugged from the network would: the broker publishes its Last Will. The
// device does not reconnect; it must not be used afterwards.
func (d *Device) Drop() {
	d.mu.Lock()
	d.dropped = true
	conn := d.conn
	d.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	go d.client.Disconnect(0) // stops the reconnect loop; nothing is sent on a closed connection
}

// Close disconnects; the subscriber must not be used afterwards.
func (s *Subscriber) Close() {
	s.closeOnce.Do(s.close)
}

func (s *Subscriber) close() {
	close(s.stop)
	<-s.done
	s.client.Disconnect(250)
	s.mu.Lock()
	s.state = LinkState{Problem: "closed", Since: time.Now()}
	s.mu.Unlock()
}

// Device is one bedside device's connection (used by the simulator).
type Device struct {
	client  paho.Client
	mu      sync.Mutex
	conn    net.Conn // the current network connection
	dropped bool     // Drop was called: no reconnection
}

// DeviceOptions configure a device connection.
type DeviceOptions struct {
	Broker, ClientID   string
	Username, Password string
	TLS                TLS
	WillTopic          string
	WillPayload        []byte // retained QoS 1 Last Will: the device's offline status
	// OnReconnect, when set, runs after every automatic reconnection (not the
	// first connection), on its own goroutine: a device republishes its
	// retained online status there, since a restarted broker may have lost it.
	OnReconnect func(*Device)
}

// ErrNotConnected is returned by Publish while the device is disconnected.
var ErrNotConnected = errors.New("device not connected to the broker")

// DialDevice connects a device and waits for the connection (or ctx).
func DialDevice(ctx context.Context, o DeviceOptions) (*Device, error) {
	po, err := clientOptions(o.Broker, o.ClientID, o.Username, o.Password, o.TLS)
	if err != nil {
		return nil, err
	}
	po.SetCleanSession(true).SetMaxReconnectInterval(MaxReconnectWait)
	if o.WillTopic != "" {
		po.SetBinaryWill(o.WillTopic, o.WillPayload, 1, true)
	}
	d := &Device{}
	// Open the network connection ourselves, so that Drop can lose it the
	// way a device pulled off the network does (no DISCONNECT: the broker
	// then publishes the Last Will).
	po.SetCustomOpenConnectionFn(func(uri *url.URL, opts paho.ClientOptions) (net.Conn, error) {
		d.mu.Lock()
		dropped := d.dropped
		d.mu.Unlock()
		if dropped {
			return nil, errors.New("device dropped")
		}
		dialer := &net.Dialer{Timeout: opts.ConnectTimeout}
		var conn net.Conn
		var err error
		switch uri.Scheme {
		case "ssl", "tls", "mqtts", "tcps":
			conn, err = tls.DialWithDialer(dialer, "tcp", uri.Host, opts.TLSConfig)
		default:
			conn, err = dialer.Dial("tcp", uri.Host)
		}
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.conn = conn
		d.mu.Unlock()
		return conn, nil
	})
	var first atomic.Bool
	po.SetOnConnectHandler(func(paho.Client) {
		if first.Swap(true) && o.OnReconnect != nil {
			go o.OnReconnect(d)
		}
	})
	c := paho.NewClient(po)
	d.client = c
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		msg, _ := Describe(err, o.Broker, o.Username)
		return nil, fmt.Errorf("device %s: %s", o.ClientID, msg)
	}
	return d, nil
}

// Publish sends one message. QoS 0 returns at once; QoS 1 waits for the
// broker's acknowledgement (bounded).
func (d *Device) Publish(topic string, qos byte, retained bool, payload []byte) error {
	return publishAcked(d.client, topic, qos, retained, payload)
}

// Close disconnects cleanly (the broker does not send the Last Will).
func (d *Device) Close() { d.client.Disconnect(100) }

// topicMatch reports whether an MQTT topic matches a filter with + and #.
func topicMatch(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, part := range f {
		switch {
		case part == "#":
			return true
		case i >= len(t):
			return false
		case part != "+" && part != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}
