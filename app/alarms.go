package app

import (
	"cmp"
	"fmt"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/alarms/hl7out"
	"github.com/vigil-station/vigil/alarms/notify"
	"github.com/vigil-station/vigil/alarms/sound"
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

// startAlarms starts the alarm service, its notifications, sound and the
// link to the ward's other stations. The hub must not be fed yet.
func (c *Core) startAlarms(cfg Config) error {
	ac, err := cfg.alarmConfig()
	if err != nil {
		return err
	}
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
	c.sync = &alarmSync{ward: cfg.Ward, station: ac.Station, log: c.Log.With("component", "alarm-sync")}
	ac.Publisher = c.sync
	if cfg.AlarmHL7 != "" {
		// The alarm transitions also go to the paging or nurse-call
		// system, as IHE PCD-04 reports; each delivery is journalled.
		c.HL7Out = hl7out.New(hl7out.Config{Addr: cfg.AlarmHL7, Ward: cfg.Ward, Station: ac.Station,
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
	return nil
}

// syncOptions are the subscriber options of the alarm sync: the alarm and
// station topics, the station's Last Will, the announcement on connect.
func (c *Core) syncOptions() (extra map[string]func(string, []byte), will string, payload []byte, onConnect func()) {
	s := c.sync
	return map[string]func(string, []byte){
		s.alarmFilter():   s.handleAlarm,
		s.stationFilter(): s.handleStation,
	}, s.stationTopic(), s.will(), s.onConnect
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
