package monitor

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-station/vigil/monitor/feed"
)

// A bed is bound to its device. The feed's waveform and numerics messages
// do not name their device (only the status does), so a second publisher on
// a bed's topics is recognised by what it cannot hide:
//
//	evidence                                          conflict because
//	------------------------------------------------  ---------------------------------------------
//	a status naming another device than the bound one  WRONG DEVICE on the bed's feed
//	numerics whose sequence numbers do not follow the  two sources interleave (a device restart
//	  device's, twice in 10 s (seqTrack)                 jumps once, then counts on)
//	a status saying "no waveforms" while waveforms     a second source would switch NO DATA off
//	  arrived in the last 10 s
//
// While a conflict lasts (until SourceHold after its last evidence) the
// bed's data are not used — not for alarms, trends or the screen: waveform
// frames, numerics and statuses are refused and counted (SourceRefused);
// device alarms and events may raise (a false alarm is the safe side) but
// never end anything. The bed gets the MEDIUM technical alarm SourceAlarmID
// that says why; its alarms already raised stay as they are (nothing is
// reported or cleared), and without usable data it goes NO DATA. The real
// control is the broker's access list (docs/mosquitto/vigil.acl): this is
// what the station does when that is missing or broken.

// SourceAlarmID is the technical alarm of a bed whose feed is not, or not
// only, its bound device's.
const SourceAlarmID = "vigil-source"

// PatientAlarmID is the technical alarm of a bed whose device reports
// another patient than the one admitted to the bed (the station's check,
// app/patientcheck.go), raised through the alarm system like SourceAlarmID.
const PatientAlarmID = "vigil-patient"

// SourceHold is how long a conflict lasts after its last evidence.
const SourceHold = 30 * time.Second

// backWindow is how close two backward steps of a sequence must be to mean
// two interleaved sources.
const backWindow = 10 * time.Second

// seqJump is the largest forward step of a numerics sequence taken as
// the same stream (messages lost on the way); a larger step, or any step
// back, is a jump: a device restart, or another source.
const seqJump = 1000

// restartConfirm is how long a jumped numerics sequence must go on, with
// the old one silent, before it is taken as the device's restart.
const restartConfirm = 2 * time.Second

// seqTrack follows a bed's numerics sequence numbers. Writer only.
//
//	message                                   decision
//	----------------------------------------  ------------------------------------------------
//	the next number (1..seqJump ahead)        used; a jumped sequence pending was another
//	                                          source: evidence
//	the same number, the same values          a duplicate: not used
//	the same number, other values             not used: evidence
//	a jump                                    not used: a restart pending (a second jump while
//	                                          one is pending: evidence)
//	the pending sequence going on             not used, until it has gone on for restartConfirm
//	                                          with the old one silent: the device restarted, used
//	the old sequence after a confirmed restart  the restart was another source: conflict
//
// Two pieces of evidence within backWindow are a conflict. A device that
// numbers nothing (always 0) is not followed at all; a restart costs the
// messages of restartConfirm.
type seqTrack struct {
	known, numbered bool
	last, old       uint32 // old: the sequence before the last confirmed restart
	oldUntil        int64  // unix ns until which the old sequence resuming is a conflict
	sum             uint64 // of the last used message's values
	pending         bool
	pendSeq         uint32
	pendSince       int64
	back            [2]int64 // unix ns of the last two pieces of evidence
}

// decide says whether a numerics message numbered seq with values summing
// to sum is used, and whether the stream now shows two sources.
func (s *seqTrack) decide(seq uint32, sum uint64, nowNs int64) (use, conflict bool) {
	if seq != 0 {
		s.numbered = true
	}
	if !s.known || !s.numbered {
		s.known, s.last, s.sum = true, seq, sum
		return true, false
	}
	evidence := false
	switch d := seq - s.last; {
	case d == 0:
		if sum == s.sum {
			return false, false
		}
		evidence = true
	case d < seqJump:
		evidence = s.pending // the old sequence went on: the jump was another source
		s.pending, s.last, s.sum, use = false, seq, sum, true
	case nowNs < s.oldUntil && seq-s.old > 0 && seq-s.old < seqJump:
		return false, true // the sequence before a "restart" goes on: two sources
	case s.pending && seq-s.pendSeq > 0 && seq-s.pendSeq < seqJump:
		s.pendSeq = seq
		if nowNs-s.pendSince >= int64(restartConfirm) {
			s.old, s.oldUntil = s.last, nowNs+int64(backWindow)
			s.pending, s.last, s.sum, use = false, seq, sum, true
		}
	default:
		evidence = s.pending
		s.pending, s.pendSeq, s.pendSince = true, seq, nowNs
	}
	if evidence {
		s.back[0], s.back[1] = s.back[1], nowNs
		conflict = s.back[0] != 0 && nowNs-s.back[0] <= int64(backWindow)
	}
	return use, conflict
}

// valuesSum is a checksum of a message's values, to tell a duplicate from
// another message under the same number.
func valuesSum(vals []feed.Numeric) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range vals {
		x := uint64(v.Code)<<1 ^ math.Float64bits(v.Value)
		if v.Valid {
			x ^= 1
		}
		h = (h ^ x) * 1099511628211
	}
	return h
}

// BindDevice binds a bed to the device that may feed it (its serial, as its
// status names it); "" unbinds. Safe from any goroutine.
func (h *Hub) BindDevice(bed, device string) {
	h.bedMu.Lock()
	defer h.bedMu.Unlock()
	if h.bindings == nil {
		h.bindings = map[string]string{}
	}
	if device == "" {
		delete(h.bindings, bed)
		return
	}
	h.bindings[bed] = device
}

// BoundDevice is the device bound to a bed ("" when none).
func (h *Hub) BoundDevice(bed string) string {
	h.bedMu.Lock()
	defer h.bedMu.Unlock()
	return h.bindings[bed]
}

// conflict starts or extends a bed's source conflict. Writer only.
func (h *Hub) conflict(b *Bed, bedName, why string, now time.Time) {
	first := b.conflictUntil.Load() == 0
	b.conflictUntil.Store(now.Add(SourceHold).UnixNano())
	if !first {
		return
	}
	h.conflicts.Add(1)
	b.conflictWhy.Store(&why)
	h.cfg.Log.Warn("bed's feed has another source: its data are not used", "ward", h.cfg.Ward, "bed", bedName, "why", why)
	h.sourceAlarm(b, bedName, why, true, now)
}

func (h *Hub) sourceAlarm(b *Bed, bedName, why string, on bool, now time.Time) {
	if h.cfg.Observer == nil {
		return
	}
	b.hubSeq++
	a := technicalAlarm(SourceAlarmID, 0, why, on, now)
	a.Seq = b.hubSeq
	h.cfg.Observer.Alarm(bedName, a, now)
}

// usable reports whether a message of stream on bed may be used now, and
// counts it when not; it ends a conflict whose hold has passed. Writer only.
func (h *Hub) usable(b *Bed, bedName string, stream feed.Stream, now time.Time) bool {
	until := b.conflictUntil.Load()
	if until == 0 {
		return true
	}
	if now.UnixNano() >= until {
		b.conflictUntil.Store(0)
		h.cfg.Log.Info("bed's feed has one source again", "ward", h.cfg.Ward, "bed", bedName)
		h.sourceAlarm(b, bedName, "", false, now)
		return true
	}
	h.sourceRefused.Add(1)
	b.sourceRefused.Add(1)
	h.logRefused(bedName, stream, "another source on the bed's feed", h.sourceRefused.Load())
	return false
}

// checkStatus looks for a conflict in a status: another device than the
// bound one, or "no waveforms" while they arrive. Writer only.
func (h *Hub) checkStatus(b *Bed, bedName string, s feed.Status, now time.Time) {
	if bound := h.BoundDevice(bedName); bound != "" && s.Device != bound {
		h.conflict(b, bedName, fmt.Sprintf("WRONG DEVICE, data not used: %q sends, %q is bound", s.Device, bound), now)
		return
	}
	if s.Waves != nil && !*s.Waves {
		if last := b.lastWave.Load(); last != 0 && now.UnixNano()-last < int64(backWindow) {
			h.conflict(b, bedName, "CONFLICTING STATUS, data not used: 'no waveforms' while waveforms arrive", now)
		}
	}
}

// SourceConflict reports whether the bed's feed shows another source now,
// and why.
func (b *Bed) SourceConflict() (string, bool) {
	if b.conflictUntil.Load() == 0 {
		return "", false
	}
	if w := b.conflictWhy.Load(); w != nil {
		return *w, true
	}
	return "", true
}
