package app

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/hl7out"
	"github.com/vigil-station/vigil/alarms/notify"
	"github.com/vigil-station/vigil/alarms/peers"
	"github.com/vigil-station/vigil/alarms/sound"
	"github.com/vigil-station/vigil/monitor/mqttfeed"
)

// errorf is fmt.Errorf for messages without a wrapped error.
func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// noticeAdapter turns the engine's notices into desktop notifications.
type noticeAdapter struct{ n *notify.Notifier }

func (a noticeAdapter) Notify(n alarms.Notice) {
	a.n.Post(notify.Note{Bed: n.Bed, Priority: n.Priority, Text: n.Text, Escalated: n.Escalated, At: n.At})
}

// alarmConfig is the alarm service's configuration from the station's.
func (c Config) alarmConfig() (alarms.Config, error) {
	role, err := alarms.ParseRole(cmp.Or(c.Role, "nurse"))
	if err != nil {
		return alarms.Config{}, err
	}
	station := c.stationID()
	ac := alarms.Config{Station: station, Profile: cmp.Or(c.Limits, "adult")}
	if c.Headless || c.Operator != "" {
		// A headless station has no login: it acts as --operator/--role
		// (tests, measurement, a server answering for a ward's stations).
		ac.Operator = alarms.Actor{Who: cmp.Or(c.Operator, role.String()+"@"+station), Where: station, Role: role}
	} else if c.demo() {
		ac.Operator = alarms.Actor{Who: "demo-nurse", Where: station, Role: alarms.Nurse}
	}
	return ac, nil
}

// Key and trust files in the station's data directory.
const (
	StationKeyFile = "station.key"
	TrustFileName  = "trusted-stations"
)

func (c Config) trustFile(dir string) string {
	return cmp.Or(c.TrustFile, filepath.Join(dir, TrustFileName))
}

// openPeers loads this station's key (made at first start) and the ward's
// trust list. A ward with no trust list yet is a new ward: its first
// station trusts itself, and the others are enrolled by an admin
// (vigil stations enrol).
func (c *Core) openPeers(cfg Config, dir, station string) (*peers.Identity, *peers.Trust, error) {
	id, created, err := peers.LoadOrCreateIdentity(filepath.Join(dir, StationKeyFile), station)
	if err != nil {
		return nil, nil, err
	}
	if created {
		c.Log.Info("station key made", "station", station, "fingerprint", peers.Fingerprint(id.Pub))
	}
	trust, err := peers.LoadTrust(cfg.trustFile(dir))
	if err != nil {
		return nil, nil, err
	}
	if len(trust.Entries()) == 0 {
		if err := trust.Enrol(station, id.Pub); err != nil {
			return nil, nil, fmt.Errorf("trusted stations: %w", err)
		}
		c.Log.Info("new ward trust list: this station trusts itself; enrol the others with vigil stations enrol",
			"file", trust.Path(), "station", station, "fingerprint", peers.Fingerprint(id.Pub))
	}
	return id, trust, nil
}

// startAlarms starts the alarm service, its notifications, sound and the
// link to the ward's other stations. The hub must not be fed yet.
func (c *Core) startAlarms(cfg Config, dir string) error {
	ac, err := cfg.alarmConfig()
	if err != nil {
		return err
	}
	id, trust, err := c.openPeers(cfg, dir, ac.Station)
	if err != nil {
		return err
	}
	ac.BedKnown = c.bedKnown
	ac.Hub, ac.Log, ac.Display = c.Hub, c.Log, !cfg.Headless
	ac.Assigned = c.Assigned
	if c.Store != nil {
		ac.Recorder = snippetRecorder{store: c.Store, c: c}
	}
	ac.Link = func() bool { // the subscriber is made after the service starts
		sub := c.sync.sub.Load()
		return sub != nil && sub.Connected()
	}
	if cfg.Notify && !cfg.Headless {
		c.Notifier = notify.New(notify.Config{Logger: c.Log})
		ac.Notifier = noticeAdapter{c.Notifier}
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.Notifier.Run(c.ctx) }()
	}
	if err := c.startSound(cfg, &ac); err != nil {
		return err
	}
	c.sync = &alarmSync{ward: cfg.Ward, station: ac.Station, log: c.Log.With("component", "alarm-sync"),
		id: id, verify: &peers.Verifier{Trust: trust, Window: cfg.PeerWindow}, now: time.Now, fault: c.fault}
	ac.Publisher = c.sync
	c.jsync = &journalSync{c: c}
	if cfg.AlarmHL7 != "" {
		// The alarm transitions also go to the paging or nurse-call
		// system, as IHE PCD-04 reports; each delivery is journalled.
		var hl7TLS *tls.Config
		if t := cfg.AlarmHL7TLS; t != (mqttfeed.TLS{}) {
			if hl7TLS, err = t.Config(); err != nil {
				return fmt.Errorf("--alarm-hl7 TLS: %w", err)
			}
		}
		c.HL7Out = hl7out.New(hl7out.Config{Addr: cfg.AlarmHL7, Ward: cfg.Ward, Station: ac.Station, TLS: hl7TLS,
			Log:   c.Log.With("component", "hl7-alarms"),
			Fault: func(on bool, msg string) { c.fault(alarms.CodeHL7Out, msg, on) },
			Record: func(r alarms.Record) {
				if svc := c.alarmsReady.Load(); svc != nil {
					svc.Record(r)
				}
			}})
		ac.Publisher = publishers{c.sync, c.HL7Out}
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.HL7Out.Run(c.ctx) }()
	}
	c.Alarms = alarms.NewService(ac)
	c.sync.svc = c.Alarms
	c.Hub.SetObserver(c.Alarms)
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.Alarms.Run(c.ctx) }()
	if c.soundProblem != "" {
		c.Alarms.Fault(alarms.CodeAudio, c.soundProblem, true)
	}
	c.faultMu.Lock()
	c.alarmsReady.Store(c.Alarms)
	pending := c.pendingFaults
	c.pendingFaults = nil
	c.faultMu.Unlock()
	for _, f := range pending {
		c.Alarms.Fault(f.code, f.msg, true)
	}
	c.bedsChanged() // limits, standby and labels from the journal
	c.sync.checkSelf()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.jsync.run(c.ctx, cmp.Or(cfg.JournalCheckpointEvery, DefaultJournalCheckpointEvery))
	}()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tk := time.NewTicker(5 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-tk.C:
				c.sync.housekeeping()
			}
		}
	}()
	return nil
}

// Identity says which station this is and its key's fingerprint, for the
// About box (an admin compares it when enrolling the station).
func (c *Core) Identity() string {
	if c.sync == nil || c.sync.id == nil {
		return ""
	}
	return "Station " + c.sync.station + "\nKey fingerprint " + peers.Fingerprint(c.sync.id.Pub)
}

// bedKnown reports whether a bed of this ward exists here: bound in the
// bed administration, a bed of the station's own simulator, or one its feed
// brought (which, outside the demo, only configured beds can). Another
// station's state never makes a bed.
func (c *Core) bedKnown(bed string) bool {
	if _, ok := c.BedInfo(bed); ok {
		return true
	}
	return c.Hub.Bed(bed) != nil
}

// syncOptions are the subscriber options of the alarm sync: the alarm and
// station topics, the station's Last Will, the announcement on connect.
func (c *Core) syncOptions() (extra map[string]func(string, []byte), will string, payload []byte, onConnect func()) {
	s := c.sync
	return map[string]func(string, []byte){
			s.alarmFilter():   s.handleAlarm,
			s.stationFilter(): s.handleStation,
			s.journalFilter(): c.jsync.handle,
		}, s.stationTopic(), s.will(), func() {
			s.onConnect()
			_ = c.jsync.publish(false) // where the journal is, at every connection
		}
}

// startSound opens the alarm sound (--audio). A station that cannot sound
// its alarms says so: a technical alarm on the screen, never silence.
func (c *Core) startSound(cfg Config, ac *alarms.Config) error {
	spec := cmp.Or(cfg.Audio, "off")
	sink, err := sound.Open(spec)
	if err != nil {
		if spec != "default" {
			return fmt.Errorf("--audio %s: %w", spec, err)
		}
		c.Log.Error("alarm sound unavailable", "err", err)
		c.soundProblem = "Station sound unavailable: " + err.Error()
		sink, _ = sound.Open("off")
	}
	c.Sound = sound.NewAnnunciator(sink, sound.DefaultRate, c.Log)
	ac.Sound = c.Sound
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.Sound.Run(c.ctx)
		_ = sink.Close()
	}()
	return nil
}

// publishers hands each alarm change to several publishers.
type publishers []alarms.Publisher

func (p publishers) PublishAlarm(a alarms.Alarm) {
	for _, x := range p {
		x.PublishAlarm(a)
	}
}
