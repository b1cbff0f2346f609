package app

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// alarmSync keeps the stations of a ward on one truth: each publishes the
// alarm states it changes, retained at QoS 1 on
// vigil/v1/<ward>/alarms/<bed>/<id>, and merges every other station's; each
// announces itself on vigil/v1/<ward>/stations/<id> with a Last Will.
//
// Every message is signed with the station's key (package peers) and every
// message received is verified against the ward's trust list before it can
// change anything; a refusal is counted by reason, journalled (one row per
// claimed source a minute) and, while refusals go on, shown as a technical
// alarm at this station.
type alarmSync struct {
	ward, station string
	sub           atomic.Pointer[mqttfeed.Subscriber] // set once the subscriber exists
	svc           *alarms.Service
	log           *slog.Logger
	id            *peers.Identity
	verify        *peers.Verifier
	now           func() time.Time
	// fault raises or clears a technical alarm at this station.
	fault func(code, msg string, present bool)

	failures, rejected, duplicates atomic.Uint64

	ownMu   sync.Mutex
	own     map[[32]byte]struct{} // hashes of this station's recent messages
	ownRing [][32]byte
	ownNext int

	mu          sync.Mutex
	peers       map[string]stationAnnouncement
	refusedBy   map[string]uint64    // by reason: unsigned, unknown, revoked, signature, replay, stale, malformed, content
	journaled   map[string]time.Time // claimed source -> last journal row
	lastRefusal time.Time
	budget      int       // journal rows of refusals left in this minute
	budgetAt    time.Time // when this minute began
	lastWhy     string
	forgedOn    bool
}

// stationAnnouncement is the retained message of a station (and its Will).
type stationAnnouncement struct {
	Station  string `json:"station"`
	Online   bool   `json:"online"`
	Operator string `json:"operator,omitempty"`
	Role     string `json:"role,omitempty"`
	Since    int64  `json:"since,omitempty"`
}

func (s *alarmSync) alarmFilter() string { return feed.Root + "/" + s.ward + "/alarms/+/+" }
func (s *alarmSync) stationFilter() string {
	return feed.Root + "/" + s.ward + "/stations/+"
}
func (s *alarmSync) stationTopic() string { return feed.Root + "/" + s.ward + "/stations/" + s.station }

// will is the station's Last Will, signed now: the broker publishes it
// when the link drops, so its time is the connect time (a retained
// message: the receivers' replay check accepts an old one).
func (s *alarmSync) will() []byte {
	b, _ := json.Marshal(stationAnnouncement{Station: s.station, Online: false})
	return s.id.Sign(s.stationTopic(), b, s.now())
}

// PublishAlarm implements alarms.Publisher. A resolved alarm is published
// once (not retained) for the stations online, then its retained state is
// cleared so that a restarting station does not recover it. When the link
// is down the state is not lost: every alarm is republished on reconnect.
func (s *alarmSync) PublishAlarm(a alarms.Alarm) {
	a.Station = s.station // the publisher, as signed (a republished state may carry another's)
	b, err := alarms.EncodeState(a)
	if err != nil {
		s.failures.Add(1)
		s.log.Error("alarm state not published: cannot encode", "alarm", a.ID, "err", err)
		return
	}
	topic := alarms.StateTopic(feed.Root, s.ward, a)
	if err := s.publish(topic, !a.Resolved, s.id.Sign(topic, b, s.now())); err != nil {
		s.failures.Add(1)
		return
	}
	if a.Resolved {
		_ = s.publish(topic, true, nil)
	}
}

// ownSent is how many of this station's recent messages it recognises when
// they come back from the broker (a storm of 64 alarms is 64 messages).
const ownSent = 1024

// remember notes a message this station is about to publish.
func (s *alarmSync) remember(b []byte) {
	h := sha256.Sum256(b)
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	if s.own == nil {
		s.own = make(map[[32]byte]struct{}, ownSent)
	}
	if len(s.ownRing) < ownSent {
		s.ownRing = append(s.ownRing, h)
	} else {
		delete(s.own, s.ownRing[s.ownNext])
		s.ownRing[s.ownNext] = h
		s.ownNext = (s.ownNext + 1) % ownSent
	}
	s.own[h] = struct{}{}
}

// sentByUs reports whether payload is a message this station published.
func (s *alarmSync) sentByUs(b []byte) bool {
	h := sha256.Sum256(b)
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	_, ok := s.own[h]
	return ok
}

func (s *alarmSync) publish(topic string, retained bool, b []byte) error {
	if len(b) > 0 {
		s.remember(b)
	}
	sub := s.sub.Load()
	if sub == nil {
		return errorf("not connected yet")
	}
	return sub.Publish(topic, 1, retained, b)
}

// onConnect announces the station and republishes its alarms.
func (s *alarmSync) onConnect() {
	b, _ := json.Marshal(stationAnnouncement{Station: s.station, Online: true, Operator: s.svc.View().Operator.Who,
		Role: s.svc.View().Operator.Role.String(), Since: s.now().UnixMilli()})
	_ = s.publish(s.stationTopic(), true, s.id.Sign(s.stationTopic(), b, s.now()))
	s.svc.Resync()
}

// open verifies a message on the station topics; a refusal is counted,
// journalled and shown, and open returns nil.
func (s *alarmSync) open(topic string, payload []byte) (station string, body []byte) {
	if s.sentByUs(payload) {
		// Our own message coming back: the very bytes we signed.
		body, err := s.verify.OpenOwn(topic, payload, s.now())
		if err != nil {
			s.duplicates.Add(1)
			return s.station, nil
		}
		return s.station, body
	}
	station, body, err := s.verify.Open(topic, payload, s.now())
	if errors.Is(err, peers.ErrDuplicate) {
		s.duplicates.Add(1)
		return station, nil
	}
	if err != nil {
		s.refuse(topic, station, peers.Reason(err), err)
		return station, nil
	}
	return station, body
}

// refuse counts a refused message, logs and journals it at most once a
// minute per claimed source, and raises the technical alarm.
func (s *alarmSync) refuse(topic, station, reason string, err error) {
	n := s.rejected.Add(1)
	now := s.now()
	source := station
	if source == "" {
		source = "(unsigned)"
	}
	s.mu.Lock()
	if s.refusedBy == nil {
		s.refusedBy, s.journaled = map[string]uint64{}, map[string]time.Time{}
	}
	s.refusedBy[reason]++
	s.lastRefusal, s.lastWhy = now, reason+" from "+source
	first := !s.forgedOn
	s.forgedOn = true
	last, seen := s.journaled[source]
	record := !seen || now.Sub(last) >= time.Minute
	// The names are the sender's claim: a flood under ever-new names gets
	// journalRefusals rows a minute in all, whatever it claims (the count
	// is exact in the diagnostics).
	if now.Sub(s.budgetAt) >= time.Minute {
		s.budgetAt, s.budget = now, journalRefusals
	}
	if record && s.budget > 0 {
		s.budget--
		if len(s.journaled) >= 256 {
			clear(s.journaled)
		}
		s.journaled[source] = now
	} else {
		record = false
	}
	s.mu.Unlock()
	if first && s.fault != nil {
		s.fault(alarms.CodeForged, "Station messages refused (forged, unsigned or replayed): check the ward's network and trust list", true)
	}
	if !record {
		return
	}
	s.log.Warn("station message refused", "topic", topic, "claimed_station", source, "reason", reason, "err", err, "refused_total", n)
	if s.svc != nil {
		s.svc.Record(alarms.Record{At: now, Event: "refused", Where: source,
			Detail: fmt.Sprintf("station message on %s refused (%s): %v; %d refused so far", topic, reason, err, n)})
	}
}

// journalRefusals is how many refusal rows the journal gets a minute at
// most, all sources together.
const journalRefusals = 20

// forgedQuiet is how long after the last refusal the technical alarm ends.
const forgedQuiet = time.Minute

// housekeeping ends the refusal alarm once refusals have stopped for a
// minute and reads the trust list again (an admin's enrol or revoke from
// the command line). Called every few seconds.
func (s *alarmSync) housekeeping() {
	if err := s.verify.Trust.Reload(); err != nil {
		s.log.Error("trusted stations", "err", err)
	}
	s.mu.Lock()
	end := s.forgedOn && s.now().Sub(s.lastRefusal) >= forgedQuiet
	if end {
		s.forgedOn = false
	}
	s.mu.Unlock()
	if end && s.fault != nil {
		s.fault(alarms.CodeForged, "", false)
	}
	s.checkSelf()
}

// checkSelf raises a technical alarm while this station's own key is not
// on the trust list: the other stations refuse what it shares.
func (s *alarmSync) checkSelf() {
	e, ok := s.verify.Trust.Lookup(s.station)
	trusted := ok && !e.Revoked && string(e.Key) == string(s.id.Pub)
	if s.fault != nil {
		s.fault(alarms.CodeUntrusted, "This station is not on the ward's trust list ("+
			peers.Fingerprint(s.id.Pub)+"): other stations refuse its alarms; ask the admin to enrol it", !trusted)
	}
}

// RefusedByReason is a copy of the refusal counters.
func (s *alarmSync) refusedByReason() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.refusedBy))
	for k, v := range s.refusedBy {
		out[k] = v
	}
	return out
}

// handleAlarm runs on the feed goroutine: verify, decode, check, hand off.
func (s *alarmSync) handleAlarm(topic string, payload []byte) {
	if len(payload) == 0 {
		return // a cleared retained state
	}
	signer, body := s.open(topic, payload)
	if body == nil {
		return
	}
	a, err := alarms.DecodeState(body)
	switch {
	case err != nil:
	case !strings.HasSuffix(topic, "/alarms/"+a.Bed+"/"+a.ID):
		err = errorf("topic %s does not match bed %q and id %q", topic, a.Bed, a.ID)
	case a.Station != signer:
		err = errorf("state names station %q but was signed by %q", a.Station, signer)
	}
	if err != nil {
		s.refuse(topic, signer, "content", err)
		return
	}
	s.svc.Remote(a)
}

func (s *alarmSync) handleStation(topic string, payload []byte) {
	id := topic[strings.LastIndexByte(topic, '/')+1:]
	var st stationAnnouncement
	if len(payload) > 0 {
		// A Last Will is signed when the station connects and published
		// by the broker when it drops: old, as an old message may be.
		signer, body := s.open(topic, payload)
		if body == nil {
			return
		}
		if err := json.Unmarshal(body, &st); err != nil || st.Station != id || signer != id {
			s.refuse(topic, id, "content", fmt.Errorf("presence of %q on the topic of %q", st.Station, id))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers == nil {
		s.peers = map[string]stationAnnouncement{}
	}
	if len(payload) == 0 {
		delete(s.peers, id)
		return
	}
	if len(s.peers) < 256 || s.peers[id].Station != "" {
		s.peers[id] = st
	}
}

// stationsOnline counts the stations of the ward announced online (this one
// included once it is connected).
func (s *alarmSync) stationsOnline() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.peers {
		if p.Online {
			n++
		}
	}
	return n
}
