package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/app/store"
	"github.com/vigil-station/vigil/monitor/news2"
	"github.com/vigil-station/vigil/ui"
)

// Demo accounts: shown in the window's DEMO banner, seeded only into the
// demo's own journal (<data>/demo), never into a ward's. They follow the
// ward's rules: 6-digit PINs for the nurses, a passphrase and no PIN for
// the admin.
var demoUsers = []store.NewUser{
	{Name: "demo-nurse", Display: "Demo Nurse", Role: alarms.Nurse, Password: "demo-nurse-password", PIN: "111111", Demo: true},
	{Name: "demo-charge", Display: "Demo Charge Nurse", Role: alarms.ChargeNurse, Password: "demo-charge-password", PIN: "222222", Demo: true},
	{Name: "demo-admin", Display: "Demo Admin", Role: alarms.Admin, Password: demoAdminPassphrase, Demo: true},
}

// demoAdminPassphrase is the demo admin's secret (an admin has no PIN).
const demoAdminPassphrase = "demo admin passphrase"

// DemoCredentials is the DEMO banner's text.
func DemoCredentials() string {
	var parts []string
	for _, u := range demoUsers {
		if u.PIN != "" {
			parts = append(parts, fmt.Sprintf("%s PIN %s", u.Name, u.PIN))
		} else {
			parts = append(parts, fmt.Sprintf("%s passphrase “%s”", u.Name, u.Password))
		}
	}
	return "DEMO — simulated ward, not for patient care — log in as " + strings.Join(parts, " · ")
}

// demoAdmissions is how many of the demo's first beds have a patient
// admitted (bed 04 aside, left empty to admit into); the names are the
// simulator's (sim.Ward.Patients), the ones its monitors report, so that
// the demo raises no PATIENT MISMATCH.
const demoAdmissions = 16

// journalDir is where this station's journal lives: the demo keeps its own.
func (c Config) journalDir(dataDir string) string {
	if c.demo() {
		return filepath.Join(dataDir, "demo")
	}
	return dataDir
}

// demo is the built-in broker with the simulated ward (what make run starts).
func (c Config) demo() bool { return c.Broker == "" }

// openJournal opens the station's journal; its troubles become technical
// alarms once the alarm service runs.
func (c *Core) openJournal(cfg Config, dataDir string) error {
	st, err := store.Open(c.ctx, cfg.journalDir(dataDir), store.Options{
		Station: cfg.stationID(), Log: c.Log, Demo: cfg.demo(), KeyFile: cfg.JournalKey,
		OnTrouble: func(problem string, present bool) { c.fault(alarms.CodeJournal, problem, present) },
		OnBeds:    func() { c.bedsChanged() },
	})
	if err != nil {
		return err
	}
	c.Store = st
	// The chain's tail and the checkpoint are checked at every open; the
	// whole chain in the background. A break is a technical alarm that
	// stays: the journal's history was cut or rewritten.
	if rep := st.OpenCheck(); !rep.OK() {
		c.pendingFaults = append(c.pendingFaults, faultNote{alarms.CodeJournal, journalBroken(rep)})
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		rep, err := st.VerifyChain(c.ctx, func(done, total int) {
			if done == total || done%100000 == 0 {
				c.Log.Info("journal verify", "rows", done, "of", total)
			}
		})
		switch {
		case err != nil && c.ctx.Err() != nil:
		case err != nil:
			c.fault(alarms.CodeJournal, "Journal could not be verified: "+err.Error(), true)
		case !rep.OK():
			c.fault(alarms.CodeJournal, journalBroken(rep), true)
		default:
			c.Log.Info("journal verified", "rows", rep.Rows)
		}
	}()
	if a := st.SetAside(); a != nil {
		// Whoever is at the keyboard must not become the admin of the new,
		// empty journal: the first admin comes from the command line, from
		// someone with access to the station's host.
		c.firstAdminCLI = true
		c.pendingFaults = append(c.pendingFaults, faultNote{alarms.CodeJournal,
			fmt.Sprintf("Journal was unusable (%s); kept as %s, new journal started; create its first admin on the host: vigil users add NAME --role admin",
				a.Reason, filepath.Base(a.Path))})
	}
	if cfg.demo() {
		return c.seedDemo(cfg)
	}
	return nil
}

type faultNote struct{ code, msg string }

// fault raises or clears a technical alarm, or keeps it for when the
// alarm service starts.
func (c *Core) fault(code, msg string, present bool) {
	if svc := c.alarmsReady.Load(); svc != nil {
		svc.Fault(code, msg, present)
		return
	}
	c.faultMu.Lock()
	defer c.faultMu.Unlock()
	if present {
		c.pendingFaults = append(c.pendingFaults, faultNote{code, msg})
	}
}

// seedDemo makes the demo users and beds the first time.
func (c *Core) seedDemo(cfg Config) error {
	ctx := c.ctx
	// Made the first time; a demo journal from before the PIN rules gets
	// the secrets the DEMO band shows.
	if err := c.Store.RenewDemoUsers(ctx, alarms.Actor{Who: "demo-setup", Role: alarms.Admin, Where: cfg.stationID()}, demoUsers); err != nil {
		return fmt.Errorf("demo users: %w", err)
	}
	beds, err := c.Store.Beds(ctx)
	if err != nil || len(beds) > 0 || c.Ward == nil {
		return err
	}
	admin := alarms.Actor{Who: "demo-admin", Role: alarms.Admin, Where: cfg.stationID()}
	var charted []<-chan error // the demo's NEWS2 rows, waited for together
	patients := c.Ward.Patients()
	for i, name := range c.Ward.BedNames() {
		if err := c.Store.SaveBed(ctx, admin, name, "Bed "+name, cfg.Ward+"/"+name, "adult"); err != nil {
			return err
		}
		if i < demoAdmissions && i != 3 { // one empty bed to admit into
			p := store.Patient{Name: patients[i], MRN: fmt.Sprintf("DEMO-%04d", 1001+i),
				DOB: time.Date(1940+i*3, time.Month(1+i%12), 1+i, 0, 0, 0, 0, time.UTC).Format("2006-01-02")}
			if err := c.Store.Admit(ctx, admin, name, p); err != nil {
				return err
			}
			charted = append(charted, queueDemoChart(c.Store, name, p.MRN, i == 5)...)
		}
		nurse := "demo-nurse"
		if i >= 8 {
			nurse = "demo-charge"
		}
		if err := c.Store.Assign(ctx, admin, name, nurse); err != nil {
			return err
		}
	}
	for _, done := range charted {
		if err := <-done; err != nil {
			return fmt.Errorf("demo observations: %w", err)
		}
	}
	return nil
}

// queueDemoChart queues the demo patients' first NEWS2 observations, as a
// nurse charts them at admission: alert, on air; one patient newly
// confused and on oxygen. The caller waits for the rows.
func queueDemoChart(st *store.Store, bed, patient string, unwell bool) []<-chan error {
	acvpu, o2 := news2.Alert, 0.0
	if unwell {
		acvpu, o2 = news2.Confusion, 1
	}
	var done []<-chan error
	for _, e := range []news2.Entry{{Kind: news2.ChartConsciousness, Value: float64(acvpu)}, {Kind: news2.ChartOxygen, Value: o2}} {
		done = append(done, st.Append(store.Event{Kind: store.KindObservation, Event: evCharted, Bed: bed, Who: "demo-nurse",
			Role: "nurse", Detail: e.Kind.String() + " " + e.Text(), Old: patient, New: strconv.FormatFloat(e.Value, 'g', -1, 64)}))
	}
	return done
}

// BedInfo is what a tile shows of its bed's configuration.
type BedInfo struct {
	ID, Label string
	Patient   store.Patient
	State     string
	Nurse     string
}

// bedsChanged reloads the bed configuration: limits to the alarm engine,
// labels and patients to the tiles.
func (c *Core) bedsChanged() {
	if c.Store == nil {
		return
	}
	beds, err := c.Store.Beds(context.WithoutCancel(c.ctx))
	if err != nil {
		c.Log.Error("beds", "err", err)
		return
	}
	byFeed := map[string]BedInfo{}
	for _, b := range beds {
		if b.Feed == "" {
			continue
		}
		ward, feedBed, _ := strings.Cut(b.Feed, "/")
		if !strings.EqualFold(ward, c.Hub.Ward()) {
			continue
		}
		byFeed[feedBed] = BedInfo{ID: b.ID, Label: b.Label, Patient: b.Patient, State: b.State, Nurse: b.Nurse}
		c.Hub.BindDevice(feedBed, b.Device)
		if svc := c.alarmsReady.Load(); svc != nil {
			svc.SetBedLimits(feedBed, b.Limits())
			svc.SetStandby(feedBed, b.State == store.BedStandby)
		}
	}
	// Beds whose binding went away lose their standby (and get the default limits).
	if old := c.bedInfo.Load(); old != nil {
		if svc := c.alarmsReady.Load(); svc != nil {
			for feedBed := range *old {
				if _, ok := byFeed[feedBed]; !ok {
					svc.SetBedLimits(feedBed, alarms.BedLimits{})
					svc.SetStandby(feedBed, false)
					c.Hub.BindDevice(feedBed, "")
				}
			}
		}
	}
	c.bedInfo.Store(&byFeed)
	// The hub's configured beds: the simulated ones in their order, then
	// the bound ones in the administration's order.
	names := slices.Clone(c.simBeds)
	for _, b := range beds {
		_, feedBed, _ := strings.Cut(b.Feed, "/")
		if _, ok := byFeed[feedBed]; ok && !slices.Contains(names, feedBed) {
			names = append(names, feedBed)
		}
	}
	c.Hub.SetConfiguredBeds(names)
	c.bedsSeq.Add(1)
}

// BedInfo returns the configuration bound to a feed bed of this ward.
func (c *Core) BedInfo(feedBed string) (BedInfo, bool) {
	m := c.bedInfo.Load()
	if m == nil {
		return BedInfo{}, false
	}
	b, ok := (*m)[feedBed]
	return b, ok
}

// Assigned reports whether feedBed is in who's care (for limit changes).
func (c *Core) Assigned(feedBed, who string) bool {
	b, ok := c.BedInfo(feedBed)
	return ok && b.Nurse != "" && b.Nurse == who
}

// Session is who is logged in at this station: login, user switch, lock
// (by hand or after IdleLock without input). The ward stays on the screen
// and the alarms keep sounding while locked; actions ask for a login.
type Session struct {
	core    *Core
	station string
	idle    time.Duration
	mu      sync.Mutex
	last    time.Time
	locks   atomic.Uint64
	demo    bool
	now     func() time.Time
	// The station's throttle: wrong logins in a row at this station, of any
	// account, and until when the next attempt waits.
	failed int
	waitTo time.Time
}

func newSession(c *Core, cfg Config) *Session {
	return &Session{core: c, station: cfg.stationID(), idle: cfg.IdleLock, last: time.Now(), demo: cfg.demo(), now: time.Now}
}

// Station throttle: after StationFreeTries wrong logins in a row at this
// station (whatever the accounts), each further attempt waits, 2 s doubling
// to at most 30 s. Guessing through many accounts at one desk is slowed
// this way; a nurse is never shut out for longer than half a minute, the
// ward stays on the screen and the alarms sound meanwhile.
const (
	StationFreeTries = 5
	stationDelayMin  = 2 * time.Second
	stationDelayMax  = 30 * time.Second
)

// Login checks the credentials and makes the user the station's operator.
func (s *Session) Login(name, secret string) error {
	if s.core.Store == nil {
		return errors.New("no journal: logins are unavailable")
	}
	s.mu.Lock()
	if now := s.now(); now.Before(s.waitTo) {
		left := s.waitTo.Sub(now)
		s.mu.Unlock()
		return fmt.Errorf("too many wrong logins at this station: try again in %d s", int64((left+time.Second-1)/time.Second))
	}
	s.mu.Unlock()
	a, err := s.core.Store.Login(s.core.ctx, name, secret, s.station)
	s.mu.Lock()
	if errors.Is(err, store.ErrBadLogin) || errors.Is(err, store.ErrLockedOut) {
		s.failed++
		if n := s.failed - StationFreeTries + 1; n > 0 {
			d := min(stationDelayMax, stationDelayMin<<min(n-1, 8))
			s.waitTo = s.now().Add(d)
		}
	} else if err == nil {
		s.failed, s.waitTo = 0, time.Time{}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	prev := s.core.Alarms.Operator()
	if prev.Who != "" && prev.Who != a.Who {
		<-s.core.Store.Append(store.Event{Kind: store.KindLogin, Event: "switched", Who: a.Who, Role: a.Role.String(),
			Station: s.station, Detail: "took over from " + prev.Who})
	}
	s.core.Alarms.SetOperator(a)
	s.Touch()
	return nil
}

// Lock logs the operator out; why is journalled ("logout", "idle").
func (s *Session) Lock(why string) {
	prev := s.core.Alarms.Operator()
	if prev.Who == "" {
		return
	}
	s.core.Alarms.SetOperator(alarms.Actor{})
	s.locks.Add(1)
	if s.core.Store != nil {
		// Queued, not waited for (the Lock button is on the UI goroutine):
		// the writer keeps the row and its order.
		s.core.Store.Append(store.Event{Kind: store.KindLogin, Event: "locked", Who: prev.Who, Role: prev.Role.String(),
			Station: s.station, Detail: why})
	}
}

// Operator is who is logged in (Who "" when locked).
func (s *Session) Operator() alarms.Actor { return s.core.Alarms.Operator() }

// Touch records user input (the idle lock counts from the last).
func (s *Session) Touch() {
	s.mu.Lock()
	s.last = time.Now()
	s.mu.Unlock()
}

// Users lists who may log in here (for the two-tap switch).
func (s *Session) Users() []store.User {
	if s.core.Store == nil {
		return nil
	}
	us, err := s.core.Store.Users(s.core.ctx)
	if err != nil {
		return nil
	}
	out := us[:0]
	for _, u := range us {
		if !u.Disabled {
			out = append(out, u)
		}
	}
	return out
}

// NeedsFirstAdmin reports an empty journal outside demo mode.
func (s *Session) NeedsFirstAdmin() bool {
	if s.core.Store == nil || s.core.firstAdminCLI {
		return false // after a journal was set aside: from the command line only
	}
	need, err := s.core.Store.NeedsFirstAdmin(s.core.ctx)
	return err == nil && need
}

// CreateFirstAdmin makes the first admin account (a passphrase, no PIN)
// and logs it in.
func (s *Session) CreateFirstAdmin(name, display, passphrase string) error {
	if s.core.firstAdminCLI {
		return errors.New("the journal was set aside: create the first admin on the station's host with: vigil users add NAME --role admin")
	}
	if !s.NeedsFirstAdmin() {
		return errors.New("there is already an admin")
	}
	if err := s.core.Store.AddUser(s.core.ctx, alarms.Actor{Who: "first-start", Where: s.station, Role: alarms.Admin},
		store.NewUser{Name: name, Display: display, Role: alarms.Admin, Password: passphrase}); err != nil {
		return err
	}
	return s.Login(name, passphrase)
}

// watchIdle locks the station after the idle time without input.
func (s *Session) watchIdle(ctx context.Context) {
	if s.idle <= 0 {
		return
	}
	t := time.NewTicker(min(s.idle/4, 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			idle := time.Since(s.last) >= s.idle
			s.mu.Unlock()
			if idle {
				s.Lock(fmt.Sprintf("automatic lock after %s without input", s.idle))
			}
		}
	}
}

// Choices lists the accounts for the two-tap switch.
func (s *Session) Choices() []ui.UserChoice {
	var out []ui.UserChoice
	for _, u := range s.Users() {
		out = append(out, ui.UserChoice{Name: u.Name, Display: u.Display, Role: u.Role})
	}
	return out
}

// Demo is the DEMO banner ("" outside demo mode).
func (s *Session) Demo() string {
	if !s.demo {
		return ""
	}
	return DemoCredentials()
}

var _ ui.Session = (*Session)(nil)

// adminDesk is the bed administration and journal as the logged-in
// operator (the store checks the role and journals each call).
type adminDesk struct{ c *Core }

var _ ui.Admin = adminDesk{}

func (a adminDesk) by() alarms.Actor { return a.c.Alarms.Operator() }

func (a adminDesk) ctx() context.Context { return a.c.ctx }

func (a adminDesk) Beds() ([]ui.AdminBed, error) {
	beds, err := a.c.Store.Beds(a.ctx())
	out := make([]ui.AdminBed, 0, len(beds))
	for _, b := range beds {
		var ov []string
		for _, p := range slices.Sorted(maps.Keys(b.Overrides)) {
			ov = append(ov, p+" "+sideText(b.Overrides[p][0])+"–"+sideText(b.Overrides[p][1]))
		}
		seen := ""
		if ward, feedBed, _ := strings.Cut(b.Feed, "/"); strings.EqualFold(ward, a.c.Hub.Ward()) {
			if hb := a.c.Hub.Bed(feedBed); hb != nil {
				if st, ok := hb.DeviceStatus(); ok {
					seen = st.Device
				}
			}
		}
		lim, eff := b.Limits(), map[string][2]float64{}
		for _, p := range alarms.Params {
			if l, ok := lim.Limit(p.Name); ok {
				eff[p.Name] = [2]float64{l.Low, l.High}
			}
		}
		out = append(out, ui.AdminBed{ID: b.ID, Label: b.Label, Feed: b.Feed, State: b.State, Patient: b.Patient.Name,
			MRN: b.Patient.MRN, DOB: b.Patient.DOB, Profile: b.Profile, Nurse: b.Nurse, Limits: strings.Join(ov, ", "),
			Device: b.Device, DeviceSeen: seen, Effective: eff})
	}
	return out, err
}

// sideText is one side of a limit as the administration shows it.
func sideText(v float64) string {
	if math.IsNaN(v) {
		return "off"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (a adminDesk) BindDevice(id, device string) error {
	return a.c.Store.BindDevice(a.ctx(), a.by(), id, device)
}

func (a adminDesk) SaveBed(id, label, feed, profile string) error {
	return a.c.Store.SaveBed(a.ctx(), a.by(), id, label, feed, profile)
}

func (a adminDesk) Admit(id, name, mrn, dob string) error {
	return a.c.Store.Admit(a.ctx(), a.by(), id, store.Patient{Name: name, MRN: mrn, DOB: strings.TrimSpace(dob)})
}

func (a adminDesk) Discharge(id string) error {
	feedBed := a.c.feedOf(id) // before: the discharge may unbind nothing, but says who was there
	if err := a.c.Store.Discharge(a.ctx(), a.by(), id); err != nil {
		return err
	}
	a.c.clearDischargedStatus(feedBed, a.by())
	return nil
}

func (a adminDesk) Transfer(from, to string) error {
	return a.c.Store.Transfer(a.ctx(), a.by(), from, to)
}

func (a adminDesk) Standby(id string, on bool) error {
	return a.c.Store.Standby(a.ctx(), a.by(), id, on)
}

func (a adminDesk) Assign(id, nurse string) error {
	return a.c.Store.Assign(a.ctx(), a.by(), id, nurse)
}

func (a adminDesk) SetLimit(id, param string, lo, hi float64) error {
	return a.c.Store.SetLimit(a.ctx(), a.by(), id, param, lo, hi)
}

func (a adminDesk) Nurses() []string {
	var out []string
	for _, u := range a.c.Session.Users() {
		out = append(out, u.Name)
	}
	return out
}

func (a adminDesk) Journal(kinds []string, bed string, limit int) ([]ui.AuditRow, error) {
	if err := a.by().Check(alarms.ActView); err != nil {
		return nil, err
	}
	evs, err := a.c.Store.Events(a.ctx(), store.Filter{Kinds: kinds, Bed: bed, Limit: limit, Newest: true})
	out := make([]ui.AuditRow, 0, len(evs))
	for _, e := range evs {
		out = append(out, ui.AuditRow{Seq: e.Seq, At: e.At, Kind: e.Kind, Event: e.Event, AlarmID: e.AlarmID, Bed: e.Bed,
			Who: e.Who, Role: e.Role, Station: e.Station, Detail: e.Detail, Old: e.Old, New: e.New})
	}
	return out, err
}

// journalExport records a file an export wrote: who (the operator), what
// (the file's name) and when. An export carries a patient's data out of
// the station; the security officer must be able to tell who took what.
func (c *Core) journalExport(path string) {
	if c.Store == nil {
		return
	}
	op := c.Alarms.Operator()
	c.Store.Append(store.Event{Kind: store.KindConfig, Event: "exported", Who: cmp.Or(op.Who, "(locked station)"),
		Role: op.Role.String(), Station: c.sync.station, Detail: filepath.Base(path)})
}

// journalBroken is the technical alarm's text for a chain report with a
// problem: its first problem, in a line.
func journalBroken(rep store.ChainReport) string {
	msg := "Journal history cut or rewritten"
	if len(rep.Problems) > 0 {
		msg += ": " + rep.Problems[0]
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:199]) + "…"
	}
	return msg + " (vigil journal verify)"
}
