package monitor

import (
	"slices"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// maxBedAlarms bounds the device alarms a bed keeps (active and recently
// ended); maxBedEvents the point events. A device that floods ids cannot grow
// the station's memory: a new alarm takes the place of the oldest ended one;
// when all are active, it is refused and counted (RefusedAlarms) — no
// bedside device has 64 alarms active at once, a flood does. A new event
// takes the place of the oldest (events are history: the observer has had
// each one).
const (
	maxBedAlarms = 64
	maxBedEvents = 32
)

// DeviceAlarm is a device-originated alarm as last reported by the device:
// mirrored faithfully, never second-guessed (the alarm system annunciates it).
type DeviceAlarm struct {
	feed.Alarm
	Started  time.Time // station time of the first message of this instance
	Updated  time.Time // station time of the latest message
	Ended    bool      // the device reported phase end
	Messages int       // messages received for this instance
}

// DeviceEvent is a point event (nurse call, ...) with its arrival time.
type DeviceEvent struct {
	feed.Event
	At time.Time
}

// Alarm applies a device alarm message. A message whose id and sequence
// number were already applied (QoS 1 redelivery) is counted as a duplicate
// and changes nothing. Writer only.
func (h *Hub) Alarm(bedName string, a feed.Alarm) {
	h.msgs.Add(1)
	b := h.bed(bedName, feed.StreamAlarm)
	if b == nil {
		return
	}
	now := h.cfg.Now()
	if ending := a.Phase == feed.PhaseEnd || a.State == feed.StateInactive; ending && !h.usable(b, bedName, feed.StreamAlarm, now) {
		return // another source on the feed may raise (the safe side), never end
	}
	// A device placed by arrival (its clock is off): so are its alarms.
	a.TsMs += b.clock.place
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.alarms, func(d DeviceAlarm) bool { return d.ID == a.ID })
	if i >= 0 && b.alarms[i].Seq == a.Seq {
		h.dupAlarms.Add(1)
		return
	}
	if i < 0 {
		if len(b.alarms) >= maxBedAlarms {
			// make room: the oldest ended instance goes
			j := slices.IndexFunc(b.alarms, func(d DeviceAlarm) bool { return d.Ended })
			if j < 0 {
				h.refusedAlarms.Add(1)
				b.refusedAlarms.Add(1)
				h.logRefused(bedName, feed.StreamAlarm, "the bed has its most active alarms already", h.refusedAlarms.Load())
				return
			}
			b.alarms = slices.Delete(b.alarms, j, j+1)
		}
		b.alarms = append(b.alarms, DeviceAlarm{Started: now})
		i = len(b.alarms) - 1
	}
	d := &b.alarms[i]
	d.Alarm = a
	d.Updated = now
	d.Ended = a.Phase == feed.PhaseEnd
	d.Messages++
	h.alarmMsgs.Add(1)
	if h.cfg.Observer != nil {
		h.cfg.Observer.Alarm(bedName, a, now)
	}
}

// Event applies a point event; a repeated id is a duplicate. Writer only.
func (h *Hub) Event(bedName string, e feed.Event) {
	h.msgs.Add(1)
	b := h.bed(bedName, feed.StreamEvent)
	if b == nil {
		return
	}
	now := h.cfg.Now()
	if e.Kind != feed.EventNurseCall && !h.usable(b, bedName, feed.StreamEvent, now) {
		return // a nurse call is heard whoever sent it; nothing else is taken from another source
	}
	e.TsMs += b.clock.place
	b.mu.Lock()
	if slices.ContainsFunc(b.events, func(d DeviceEvent) bool { return d.ID == e.ID && d.Seq == e.Seq }) {
		b.mu.Unlock()
		h.dupAlarms.Add(1)
		return
	}
	if len(b.events) >= maxBedEvents {
		b.events = slices.Delete(b.events, 0, 1)
	}
	b.events = append(b.events, DeviceEvent{Event: e, At: now})
	b.mu.Unlock()
	h.eventMsgs.Add(1)
	if h.cfg.Observer != nil {
		h.cfg.Observer.Event(bedName, e, now)
	}
}

// DeviceAlarms returns the bed's device alarms, active first, then ended,
// each group in order of start.
func (b *Bed) DeviceAlarms() []DeviceAlarm {
	b.mu.Lock()
	out := slices.Clone(b.alarms)
	b.mu.Unlock()
	slices.SortStableFunc(out, func(x, y DeviceAlarm) int {
		switch {
		case x.Ended == y.Ended:
			return x.Started.Compare(y.Started)
		case !x.Ended:
			return -1
		}
		return 1
	})
	return out
}

// Events returns the bed's recent point events, oldest first.
func (b *Bed) Events() []DeviceEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}
