package app

import (
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor"
	"github.com/vigil-station/vigil/monitor/feed"
	"github.com/vigil-station/vigil/ui"
)

// The technical alarm monitor.PatientAlarmID (code alarms.CodePatient) is
// a bed's whose device reports another patient than the one admitted to the
// bed: the data on the screen and the alarms may be another person's (a
// device moved without a transfer, a wrong admission). MEDIUM; it ends when
// the device and the admission agree, or when the bed has no patient.

// evPatientMismatch is the journal row of a mismatch starting (and
// evPatientAgrees of it ending).
const (
	evPatientMismatch = "patient-mismatch"
	evPatientAgrees   = "patient-mismatch-ended"
)

// patientCheckEvery is how often the beds' devices are compared with the
// admissions: a status, an admission or a discharge shows within it.
const patientCheckEvery = time.Second

// samePatient reports whether the patient a device reports is the one
// admitted: names compared without regard to case and spacing. Nobody
// admitted, or a device that names nobody, is no mismatch.
func samePatient(admitted, reported string) bool {
	a, r := strings.Join(strings.Fields(admitted), " "), strings.Join(strings.Fields(reported), " ")
	return a == "" || r == "" || strings.EqualFold(a, r)
}

// reportedPatient is what a device's status says of its patient, to
// compare with the admission: the identifier when both have one (vigil hl7
// sends the MRN and no name), else the name. shown is how the station
// shows it ("MRN 123" for an identifier).
func reportedPatient(admitted store.Patient, st feed.Status) (same bool, shown string) {
	if id := strings.TrimSpace(st.PatientID); id != "" {
		if strings.TrimSpace(admitted.MRN) == "" {
			return true, "" // nothing to compare it with
		}
		return strings.EqualFold(id, strings.TrimSpace(admitted.MRN)), "MRN " + id
	}
	return samePatient(admitted.Name, st.Patient), strings.TrimSpace(st.Patient)
}

// DevicePatient is the patient feedBed's device reports when it is not the
// one admitted to its bed; "" when they agree, or either names nobody.
func (c *Core) DevicePatient(feedBed string) string {
	info, ok := c.BedInfo(feedBed)
	if !ok || info.Patient.Name == "" {
		return ""
	}
	b := c.Hub.Bed(feedBed)
	if b == nil {
		return ""
	}
	st, ok := b.DeviceStatus()
	if !ok {
		return ""
	}
	if same, shown := reportedPatient(info.Patient, st); !same {
		return shown
	}
	return ""
}

// bedLabel is what a tile shows of feedBed's configuration (ui.BedLabel):
// the bed, the admitted patient and MRN, and the patient its device
// reports when that is another.
func (c *Core) bedLabel(feedBed string) ui.BedLabel {
	b, _ := c.BedInfo(feedBed)
	return ui.BedLabel{Label: b.Label, Patient: b.Patient.Name, MRN: b.Patient.MRN,
		DevicePatient: c.DevicePatient(feedBed), Standby: b.State == store.BedStandby}
}

// startPatientCheck compares, every patientCheckEvery until the core
// stops, each bound bed's device status with its admission (see
// monitor.PatientAlarmID). After startAlarms.
func (c *Core) startPatientCheck() {
	p := &patientCheck{c: c, on: map[string]mismatch{}}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tk := time.NewTicker(patientCheckEvery)
		defer tk.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case now := <-tk.C:
				p.check(now)
			}
		}
	}()
}

// patientCheck is the mismatches raised; its goroutine's own.
type patientCheck struct {
	c  *Core
	on map[string]mismatch // feed bed -> its mismatch
}

type mismatch struct {
	text   string // the alarm's, names nobody
	detail string // who the device and the admission name (journal, log)
	since  time.Time
}

// check raises, keeps or ends each bed's mismatch alarm. A mismatch is
// reported again on every check while it lasts (the alarm system keeps one
// alarm, and raises it once a standby that suppressed it ends); its start
// and its end are journalled once.
func (p *patientCheck) check(now time.Time) {
	c := p.c
	svc := c.alarmsReady.Load()
	if svc == nil {
		return
	}
	alarm := func(bed string, m mismatch, on bool) {
		a := feed.Alarm{ID: monitor.PatientAlarmID, TsMs: m.since.UnixMilli(), Priority: feed.AlarmMedium,
			Source: feed.SourceTechnical, Phase: feed.PhaseStart, State: feed.StateActive, Text: m.text}
		if !on {
			a.Phase, a.State = feed.PhaseEnd, feed.StateInactive
		}
		svc.Alarm(bed, a, now)
	}
	present := map[string]bool{}
	if beds := c.bedInfo.Load(); beds != nil {
		for bed, info := range *beds {
			dev := c.DevicePatient(bed)
			if dev == "" {
				continue
			}
			present[bed] = true
			// The alarm is shared with the ward's stations through the
			// broker: its text names nobody. The tile and the detail show
			// both patients, from this station's own records.
			text := "PATIENT MISMATCH: the device reports another patient than the one admitted"
			detail := "device reports " + dev + ", admitted " + info.Patient.Name
			m, was := p.on[bed]
			if !was || m.detail != detail {
				m = mismatch{text: text, detail: detail, since: now}
				p.on[bed] = m
				c.Log.Warn("bed's device reports another patient than the admitted one", "bed", bed, "device_patient", dev,
					"admitted", info.Patient.Name)
				if c.Store != nil {
					c.Store.Append(store.Event{Kind: store.KindTechnical, Event: evPatientMismatch, Bed: bed,
						Detail: info.Label + ": " + detail, Old: info.Patient.Name + " (MRN " + info.Patient.MRN + ")", New: dev})
				}
			}
			alarm(bed, m, true)
		}
	}
	for bed, m := range p.on {
		if present[bed] {
			continue
		}
		delete(p.on, bed)
		alarm(bed, m, false)
		c.Log.Info("bed's device and admission agree again", "bed", bed)
		if c.Store != nil {
			c.Store.Append(store.Event{Kind: store.KindTechnical, Event: evPatientAgrees, Bed: bed, Detail: "ended: " + m.detail})
		}
	}
}

// feedOf is the feed bed bound to bed id ("" when none).
func (c *Core) feedOf(id string) string {
	if m := c.bedInfo.Load(); m != nil {
		for feedBed, b := range *m {
			if b.ID == id {
				return feedBed
			}
		}
	}
	return ""
}

// clearDischargedStatus clears the retained status of a discharged bed's
// device on the broker when it names a patient (name or MRN): the broker
// would otherwise hand who lay there to every client that subscribes,
// long after the discharge. The device's next status (at its next
// connection or change) is retained again; a device still connected keeps
// sending its data, and the stations keep the status they have. The
// station's broker account needs write access to the ward's status topics
// (docs/mosquitto/vigil.acl). Journalled; a failure is logged and
// journalled, never in the way of the discharge.
func (c *Core) clearDischargedStatus(feedBed string, by alarms.Actor) {
	if feedBed == "" || c.Sub == nil {
		return
	}
	b := c.Hub.Bed(feedBed)
	if b == nil {
		return
	}
	st, ok := b.DeviceStatus()
	if !ok || (strings.TrimSpace(st.Patient) == "" && strings.TrimSpace(st.PatientID) == "") {
		return
	}
	topic := feed.Topic(c.Hub.Ward(), feedBed, feed.StreamStatus)
	err := c.Sub.Acked().Publish(topic, 1, true, nil)
	// mosquitto acknowledges a publish its access list denies: this says
	// what was asked of the broker.
	detail := "the retained status of " + feedBed + "'s device, which named the patient, cleared on the broker (an empty retained message)"
	if err != nil {
		detail = "the retained status of " + feedBed + "'s device names the patient and could not be cleared: " + err.Error()
		c.Log.Warn("discharged bed's retained status not cleared", "bed", feedBed, "err", err)
	}
	if c.Store != nil {
		c.Store.Append(store.Event{Kind: store.KindConfig, Event: "status-cleared", Bed: feedBed, Who: by.Who,
			Role: by.Role.String(), Station: by.Where, Detail: detail})
	}
}
