package app

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// alarmSync keeps the stations of a ward on one truth: each publishes the
// alarm states it changes, retained at QoS 1 on
// vigil/v1/<ward>/alarms/<bed>/<id>, and merges every other station's; each
// announces itself on vigil/v1/<ward>/stations/<id> with a Last Will.
type alarmSync struct {
	ward, station string
	sub           atomic.Pointer[mqttfeed.Subscriber] // set once the subscriber exists
	svc           *alarms.Service
	log           *slog.Logger

	failures, rejected atomic.Uint64
	lastRejectLog      atomic.Int64

	mu    sync.Mutex
	peers map[string]stationAnnouncement
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

func (s *alarmSync) will() []byte {
	b, _ := json.Marshal(stationAnnouncement{Station: s.station, Online: false})
	return b
}

// PublishAlarm implements alarms.Publisher. A resolved alarm is published
// once (not retained) for the stations online, then its retained state is
// cleared so that a restarting station does not recover it. When the link
// is down the state is not lost: every alarm is republished on reconnect.
func (s *alarmSync) PublishAlarm(a alarms.Alarm) {
	b, err := alarms.EncodeState(a)
	if err != nil {
		s.failures.Add(1)
		s.log.Error("alarm state not published: cannot encode", "alarm", a.ID, "err", err)
		return
	}
	topic := alarms.StateTopic(feed.Root, s.ward, a)
	if err := s.publish(topic, !a.Resolved, b); err != nil {
		s.failures.Add(1)
		return
	}
	if a.Resolved {
		_ = s.publish(topic, true, nil)
	}
}

func (s *alarmSync) publish(topic string, retained bool, b []byte) error {
	sub := s.sub.Load()
	if sub == nil {
		return errorf("not connected yet")
	}
	return sub.Publish(topic, 1, retained, b)
}

// onConnect announces the station and republishes its alarms.
func (s *alarmSync) onConnect() {
	b, _ := json.Marshal(stationAnnouncement{Station: s.station, Online: true, Operator: s.svc.View().Operator.Who,
		Role: s.svc.View().Operator.Role.String(), Since: time.Now().UnixMilli()})
	_ = s.publish(s.stationTopic(), true, b)
	s.svc.Resync()
}

// handleAlarm runs on the feed goroutine: decode, check, hand off.
func (s *alarmSync) handleAlarm(topic string, payload []byte) {
	if len(payload) == 0 {
		return // a cleared retained state
	}
	a, err := alarms.DecodeState(payload)
	if err == nil && !strings.HasSuffix(topic, "/alarms/"+a.Bed+"/"+a.ID) {
		err = errorf("topic %s does not match bed %q and id %q", topic, a.Bed, a.ID)
	}
	if err != nil {
		s.rejected.Add(1)
		now := time.Now().UnixNano()
		if last := s.lastRejectLog.Load(); now-last >= int64(time.Minute) && s.lastRejectLog.CompareAndSwap(last, now) {
			s.log.Warn("alarm state message refused", "topic", topic, "err", err, "refused_total", s.rejected.Load())
		}
		return
	}
	s.svc.Remote(a)
}

func (s *alarmSync) handleStation(topic string, payload []byte) {
	id := topic[strings.LastIndexByte(topic, '/')+1:]
	var st stationAnnouncement
	if len(payload) > 0 && json.Unmarshal(payload, &st) != nil {
		return
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
