package ui

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// AdminBed is a bed as the administration screen shows it.
type AdminBed struct {
	ID, Label, Feed, State string
	Device                 string // the device bound to the feed ("" = any)
	DeviceSeen             string // the device its feed's status names now ("" = none yet)
	Patient, MRN, DOB      string
	Profile, Nurse         string
	Limits                 string // the overrides, readable
	// Effective is each parameter's limits in force now, low and high
	// (NaN: that side is off), as the alarm engine applies them.
	Effective map[string][2]float64
}

// AuditRow is one journal row for the journal view.
type AuditRow struct {
	Seq                                  int64
	At                                   time.Time
	Kind, Event, AlarmID, Bed            string
	Who, Role, Station, Detail, Old, New string
}

// Admin is the bed administration and the journal, as the operator
// logged in (each call is checked and journalled in the core).
type Admin interface {
	Beds() ([]AdminBed, error)
	SaveBed(id, label, feed, profile string) error
	// BindDevice binds the bed's feed to one device (its serial), "" = any.
	BindDevice(id, device string) error
	Admit(id, name, mrn, dob string) error
	Discharge(id string) error
	Transfer(from, to string) error
	Standby(id string, on bool) error
	Assign(id, nurse string) error
	SetLimit(id, param string, lo, hi float64) error
	Journal(kinds []string, bed string, limit int) ([]AuditRow, error)
	Nurses() []string
}

// SetAdmin connects the administration screens.
func (s *Station) SetAdmin(a Admin) { s.admin = a }

// ShowPanel puts a screen where the grid was; the station bar and the
// alarms stay above it, so no alarm is hidden by administration.
func (s *Station) ShowPanel(title string, body fyne.CanvasObject) {
	switch {
	case s.nextBack != nil: // opened from another view
		s.back = append(s.back, s.nextBack)
		s.nextBack = nil
	case !s.goingBack: // opened from the ward (or the bar): a new trail
		s.back = nil
	}
	label := "Back to the ward (Esc)"
	if len(s.back) > 0 {
		label = "Back (Esc)"
	}
	back := widget.NewButton(label, s.Back)
	back.Importance = widget.HighImportance
	t := text(title, ColorWhite, true)
	t.TextSize = 22
	watchInputs(body, s.Touched)
	panel := container.NewBorder(container.NewBorder(nil, nil, t, back), nil, nil, nil, body)
	// On the window's black: a rectangle behind the panel would be painted
	// whole in every frame (a scrolling review repaints at the frame rate).
	s.setCenter(container.NewPadded(panel))
	if s.OnView != nil {
		s.OnView(title)
	}
}

// ShowWard puts the bed grid back.
func (s *Station) ShowWard() {
	s.back = nil
	s.setCenter(s.grid)
	if s.OnView != nil {
		s.OnView("ward")
	}
}

// Back returns to the view the open panel was opened from (a bed's trends
// back to its detail), or to the ward.
func (s *Station) Back() {
	if n := len(s.back); n > 0 {
		f := s.back[n-1]
		s.back = s.back[:n-1]
		s.goingBack = true
		f()
		s.goingBack = false
		return
	}
	s.ShowWard()
}

// openFrom shows a view opened from another one: Back reopens the other.
func (s *Station) openFrom(parent func(), show func()) {
	s.nextBack = parent
	show()
	s.nextBack = nil
}

func (s *Station) setCenter(o fyne.CanvasObject) {
	// The view leaving takes its per-frame work and keys with it, and the
	// keyboard focus: a widget of a view that has gone must not keep the
	// station's keys (Esc, A, P) from the station.
	s.panelTick, s.live, s.liveSlow, s.panelKey = nil, nil, nil, nil
	if d := fyne.CurrentApp(); d != nil {
		if c := d.Driver().CanvasForObject(s.content); c != nil {
			c.Unfocus()
		}
	}
	if o == s.grid {
		s.ov.bar.Show()
	} else {
		s.ov.bar.Hide()
	}
	for _, t := range s.tiles {
		t.SetOffscreen(o != s.grid)
	}
	for i, c := range s.content.Objects {
		if c == s.center || (s.center == nil && c == s.grid) {
			s.content.Objects[i] = o
		}
	}
	s.center = o
	s.content.Refresh()
	s.relayout()
}

// InPanel reports whether a screen other than the grid is shown.
func (s *Station) InPanel() bool { return s.center != nil && s.center != s.grid }

var limitParams = []string{"hr", "spo2", "rr", "nibp-sys", "nibp-dia", "nibp-mean", "temp", "abp-sys", "abp-dia", "abp-mean", "etco2"}

// ShowAdmin opens the bed administration.
func (s *Station) ShowAdmin() {
	if s.admin == nil {
		return
	}
	a := s.admin
	s.panelTick = nil
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	var beds []AdminBed
	sel := -1
	id, label, feedE := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	feedE.SetPlaceHolder("<ward>/<bed> as the device publishes")
	deviceE := widget.NewEntry()
	deviceE.SetPlaceHolder("device serial (empty: any device on the feed)")
	seenL := widget.NewLabel("")
	profile := widget.NewSelect(alarms.ProfileNames(), nil)
	name, mrn, dob := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	dob.SetPlaceHolder("YYYY-MM-DD")
	stateL := widget.NewLabel("")
	limitsL := widget.NewLabel("")
	nurse := widget.NewSelect(append([]string{"(none)"}, a.Nurses()...), nil)
	transferTo := widget.NewSelect(nil, nil)
	param := widget.NewSelect(limitParams, nil)
	param.SetSelected("hr")
	lo, hi := widget.NewEntry(), widget.NewEntry()
	lo.SetPlaceHolder("low")
	hi.SetPlaceHolder("high")
	s.touchOnChange(id, label, feedE, deviceE, name, mrn, dob, lo, hi) // typing keeps the idle lock away
	cur := func() string { return strings.TrimSpace(id.Text) }
	// loadLimit puts the chosen bed's limits of the chosen parameter in the
	// fields, never another bed's or a value typed and not set.
	loadLimit := func() {
		lo.SetText("")
		hi.SetText("")
		if sel < 0 || sel >= len(beds) {
			return
		}
		if l, ok := beds[sel].Effective[param.Selected]; ok {
			lo.SetText(limitField(l[0]))
			hi.SetText(limitField(l[1]))
		}
	}
	param.OnChanged = func(string) { loadLimit() }

	list := widget.NewList(func() int { return len(beds) },
		func() fyne.CanvasObject { return widget.NewLabel("Bed 00 — name of the patient (standby)") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			b := beds[i]
			row := b.Label + " — " + cmp.Or(b.Patient, "empty")
			if b.State != "" && (b.Patient != "" || b.State != "empty") {
				row += " (" + b.State + ")" // never "empty (empty)"
			}
			o.(*widget.Label).SetText(row)
		})
	fill := func() {
		if sel < 0 || sel >= len(beds) {
			return
		}
		b := beds[sel]
		id.SetText(b.ID)
		label.SetText(b.Label)
		feedE.SetText(b.Feed)
		deviceE.SetText(b.Device)
		switch {
		case b.DeviceSeen == "":
			seenL.SetText("no device seen on the feed yet")
		case b.Device == "":
			seenL.SetText(b.DeviceSeen + " sends on this feed — not bound: Pin it")
		case b.DeviceSeen == b.Device:
			seenL.SetText(b.DeviceSeen + " (bound)")
		default:
			seenL.SetText(b.DeviceSeen + " — NOT the bound device: its data are not used")
		}
		profile.SetSelected(b.Profile)
		name.SetText(b.Patient)
		mrn.SetText(b.MRN)
		dob.SetText(b.DOB)
		stateL.SetText(strings.ToUpper(b.State))
		limitsL.SetText(cmp.Or(b.Limits, "profile limits"))
		nurse.SetSelected(cmp.Or(b.Nurse, "(none)"))
		var others []string
		for _, o := range beds {
			if o.ID != b.ID && o.State == "empty" {
				others = append(others, o.ID)
			}
		}
		transferTo.Options = others
		transferTo.ClearSelected()
		loadLimit()
	}
	reload := func() {
		var err error
		if beds, err = a.Beds(); err != nil {
			status.SetText(err.Error())
		}
		list.Refresh()
		fill()
	}
	list.OnSelected = func(i widget.ListItemID) { sel = i; status.SetText(""); fill() }
	// run says what was done (done) or why not. prep reads the form now,
	// on the UI goroutine, and gives the job; the job (it waits for the
	// journal's commit) goes to the station's command worker, and its
	// answer comes back through fyne.Do: the ward goes on drawing.
	run := func(what string, prep func() (func() error, error), done func() string) {
		s.Touched()
		finish := func(err error) {
			if err != nil {
				if errors.Is(err, alarms.ErrLoggedOut) {
					s.AskLogin(nil)
				}
				status.SetText(what + ": " + err.Error())
				return
			}
			status.SetText(done())
			reload()
		}
		job, err := prep()
		if err != nil {
			finish(err)
			return
		}
		status.SetText(what + ": sent…")
		s.sendCmd(func() {
			err := job()
			fyne.Do(func() { finish(err) })
		})
	}
	do := func(what string, prep func() (func() error, error)) func() {
		return func() { run(what, prep, func() string { return what + ": done, recorded in the journal" }) }
	}
	// confirm asks before an action that moves a patient: question reads
	// the patient back, detail says what follows; only ok does act.
	confirm := func(title, question, detail, ok string, act func()) {
		if s.sess.win == nil {
			status.SetText(title + ": no window to ask for the confirmation in: nothing done")
			return
		}
		q := widget.NewLabelWithStyle(question, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		q.Wrapping = fyne.TextWrapWord
		d := widget.NewLabel(detail)
		d.Wrapping = fyne.TextWrapWord
		dlg := dialog.NewCustomConfirm(title, ok, "Cancel", container.NewVBox(q, d), func(yes bool) {
			s.Touched()
			if yes {
				act()
			} else {
				status.SetText(title + " cancelled: nothing changed")
			}
		}, s.sess.win)
		dlg.Resize(fyne.NewSize(620, 240))
		dlg.Show()
	}
	// readBed is bed id as the core has it now (not as last listed).
	readBed := func(id string) (AdminBed, bool, error) {
		now, err := a.Beds()
		if err != nil {
			return AdminBed{}, false, err
		}
		for _, n := range now {
			if n.ID == id {
				return n, true, nil
			}
		}
		return AdminBed{}, false, nil
	}
	// unchanged fails when the bed no longer holds the patient read back
	// (another station moved them meanwhile).
	unchanged := func(b AdminBed) error {
		n, ok, err := readBed(b.ID)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("%s is gone: nothing done", b.Label)
		case n.MRN != b.MRN || n.Patient != b.Patient:
			return fmt.Errorf("%s changed meanwhile (now %s): nothing done, check and try again", b.Label, cmp.Or(n.Patient, "empty"))
		}
		return nil
	}
	// occupied is the bed of the form, read now, when it has a patient.
	occupied := func(what string) (AdminBed, bool) {
		b, ok, err := readBed(cur())
		switch {
		case err != nil:
			status.SetText(what + ": " + err.Error())
			ok = false
		case !ok:
			status.SetText(fmt.Sprintf("%s: no bed %q", what, cur()))
		case b.State == "empty" || b.Patient == "":
			status.SetText(fmt.Sprintf("%s: %s is empty: there is no patient to %s", what, b.Label, strings.ToLower(what)))
			ok = false
		}
		return b, ok
	}
	saveB := widget.NewButton("Save bed", do("Save bed", func() (func() error, error) {
		bed, l, f, p := cur(), label.Text, strings.TrimSpace(feedE.Text), profile.Selected
		return func() error { return a.SaveBed(bed, l, f, p) }, nil
	}))
	bindB := widget.NewButton("Bind device", do("Bind device", func() (func() error, error) {
		bed, dev := cur(), strings.TrimSpace(deviceE.Text)
		return func() error { return a.BindDevice(bed, dev) }, nil
	}))
	pinB := widget.NewButton("Pin the device seen", do("Pin device", func() (func() error, error) {
		if sel < 0 || sel >= len(beds) || beds[sel].DeviceSeen == "" {
			return nil, errors.New("no device seen on this bed's feed yet")
		}
		bed, dev := cur(), beds[sel].DeviceSeen
		return func() error { return a.BindDevice(bed, dev) }, nil
	}))
	admitB := widget.NewButton("Admit", do("Admit", func() (func() error, error) {
		bed, n, m, d := cur(), name.Text, mrn.Text, dob.Text
		return func() error { return a.Admit(bed, n, m, d) }, nil
	}))
	dischargeB := widget.NewButton("Discharge", func() {
		s.Touched()
		b, ok := occupied("Discharge")
		if !ok {
			return
		}
		confirm("Discharge",
			fmt.Sprintf("Discharge %s, MRN %s, from %s?", b.Patient, b.MRN, b.Label),
			"The stay ends (its history is kept); the per-bed limits and the nurse assignment are cleared. "+
				sentence(bindingStays(b))+": the bed stays configured, ready for the next patient.",
			"Discharge", func() {
				run("Discharge", func() (func() error, error) {
					return func() error {
						if err := unchanged(b); err != nil {
							return err
						}
						return a.Discharge(b.ID)
					}, nil
				}, func() string {
					return fmt.Sprintf("Discharged %s (MRN %s) from %s; %s. Recorded in the journal.", b.Patient, b.MRN, b.Label, bindingStays(b))
				})
			})
	})
	standby := func(on bool) func() (func() error, error) {
		return func() (func() error, error) {
			bed := cur()
			return func() error { return a.Standby(bed, on) }, nil
		}
	}
	standbyB := widget.NewButton("Standby", do("Standby", standby(true)))
	resumeB := widget.NewButton("Resume", do("Resume", standby(false)))
	transferB := widget.NewButton("Transfer", func() {
		s.Touched()
		b, ok := occupied("Transfer")
		if !ok {
			return
		}
		to, ok, err := readBed(transferTo.Selected)
		if err != nil || !ok {
			status.SetText("Transfer: choose the bed to transfer to (an empty one)")
			return
		}
		monitoredBy := fmt.Sprintf("%s is monitored by %s", b.Patient, deviceOf(to))
		confirm("Transfer",
			fmt.Sprintf("Transfer %s, MRN %s, from %s to %s?", b.Patient, b.MRN, b.Label, to.Label),
			"Devices stay with their beds: "+bindingStays(b)+", which becomes empty; from now on "+monitoredBy+
				". The limit profile, the per-bed limits and the nurse go with the patient.",
			"Transfer", func() {
				run("Transfer", func() (func() error, error) {
					return func() error {
						if err := unchanged(b); err != nil {
							return err
						}
						return a.Transfer(b.ID, to.ID)
					}, nil
				}, func() string {
					return fmt.Sprintf("Transferred %s (MRN %s) from %s to %s; %s; %s now. Recorded in the journal.",
						b.Patient, b.MRN, b.Label, to.Label, bindingStays(b), monitoredBy)
				})
			})
	})
	assignB := widget.NewButton("Assign", do("Assign", func() (func() error, error) {
		bed, n := cur(), nurse.Selected
		if n == "(none)" {
			n = ""
		}
		return func() error { return a.Assign(bed, n) }, nil
	}))
	limitB := widget.NewButton("Set limit", do("Limit", func() (func() error, error) {
		l, err1 := parseLimit(lo.Text)
		h, err2 := parseLimit(hi.Text)
		if err1 != nil || err2 != nil {
			return nil, errors.New("low and high must be numbers (or off)")
		}
		bed, p := cur(), param.Selected
		return func() error { return a.SetLimit(bed, p, l, h) }, nil
	}))
	newB := widget.NewButton("New bed", func() {
		sel = -1
		list.UnselectAll()
		for _, e := range []*widget.Entry{id, label, feedE, deviceE, name, mrn, dob, lo, hi} {
			e.SetText("")
		}
		seenL.SetText("")
		limitsL.SetText("")
		nurse.SetSelected("(none)")
		transferTo.Options = nil
		transferTo.ClearSelected()
		profile.SetSelected("adult")
		stateL.SetText("NEW")
		status.SetText("")
	})
	section := func(t string) fyne.CanvasObject {
		l := widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		return l
	}
	form := container.NewVBox(
		section("Bed"),
		widget.NewForm(widget.NewFormItem("Bed id", id), widget.NewFormItem("Label", label),
			widget.NewFormItem("Device feed", feedE), widget.NewFormItem("Limit profile", profile)),
		container.NewHBox(saveB, newB),
		widget.NewForm(widget.NewFormItem("Device", deviceE), widget.NewFormItem("On the feed", seenL)),
		container.NewHBox(bindB, pinB),
		widget.NewSeparator(),
		section("Patient"),
		widget.NewForm(widget.NewFormItem("State", stateL), widget.NewFormItem("Name", name),
			widget.NewFormItem("MRN", mrn), widget.NewFormItem("Date of birth", dob)),
		container.NewHBox(admitB, dischargeB, standbyB, resumeB, widget.NewLabel("   to"), transferTo, transferB),
		widget.NewSeparator(),
		section("Care assignment and limits"),
		widget.NewForm(widget.NewFormItem("Nurse", container.NewHBox(nurse, assignB)),
			widget.NewFormItem("Per-bed limits", limitsL),
			widget.NewFormItem("Change", container.NewHBox(param, container.NewGridWrap(fyne.NewSize(90, 36), lo), container.NewGridWrap(fyne.NewSize(90, 36), hi), limitB))),
		widget.NewSeparator(),
		status,
	)
	split := container.NewHSplit(list, container.NewVScroll(form))
	split.Offset = 0.35
	s.ShowPanel("Bed administration", split)
	reload()
	if len(beds) > 0 {
		list.Select(0)
	}
}

// journalKinds are the journal view's filters.
var journalKinds = map[string][]string{
	"Everything": nil, "Alarms": {"alarm"}, "Refused": {"refused"}, "Logins": {"login"},
	"Configuration": {"config"}, "Technical": {"technical"},
}

// ShowJournal opens the audit view: the newest journal rows first.
func (s *Station) ShowJournal() {
	if s.admin == nil {
		return
	}
	var rows []AuditRow
	kind := widget.NewSelect([]string{"Everything", "Alarms", "Refused", "Logins", "Configuration", "Technical"}, nil)
	bed := widget.NewEntry()
	bed.SetPlaceHolder("bed (all)")
	s.touchOnChange(bed)
	count := widget.NewLabel("")
	cols := []float32{150, 90, 150, 60, 200, 800}
	table := widget.NewTable(func() (int, int) { return len(rows) + 1, len(cols) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(c widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if c.Row == 0 {
				l.TextStyle.Bold = true
				l.SetText([]string{"Time", "Kind", "Event", "Bed", "Who (role) @ station", "Detail"}[c.Col])
				return
			}
			l.TextStyle.Bold = false
			r := rows[c.Row-1]
			switch c.Col {
			case 0:
				l.SetText(r.At.Local().Format("02 Jan 15:04:05"))
			case 1:
				l.SetText(r.Kind)
			case 2:
				l.SetText(r.Event)
			case 3:
				l.SetText(r.Bed)
			case 4:
				who := cmp.Or(r.Who, "system")
				if r.Role != "" {
					who += " (" + r.Role + ")"
				}
				l.SetText(who + " @ " + r.Station)
			case 5:
				d := r.Detail
				if r.Old != "" || r.New != "" {
					d = strings.TrimSpace(d + "  " + r.Old + "  ->  " + r.New)
				}
				l.SetText(d)
			}
		})
	for i, w := range cols {
		table.SetColumnWidth(i, w)
	}
	load := func() {
		var err error
		rows, err = s.admin.Journal(journalKinds[kind.Selected], strings.TrimSpace(bed.Text), 500)
		if err != nil {
			count.SetText(err.Error())
		} else {
			count.SetText(fmt.Sprintf("%d newest rows; the full journal: vigil journal export", len(rows)))
		}
		table.Refresh()
	}
	kind.OnChanged = func(string) { load() }
	tick := func() { // new rows appear while the view is open
		if latest, err := s.admin.Journal(journalKinds[kind.Selected], strings.TrimSpace(bed.Text), 1); err == nil &&
			len(latest) == 1 && (len(rows) == 0 || latest[0].Seq != rows[0].Seq) {
			load()
		}
	}
	bed.OnSubmitted = func(string) { load() }
	kind.SetSelected("Everything")
	top := container.NewHBox(widget.NewLabel("Show"), kind, container.NewGridWrap(fyne.NewSize(140, 36), bed),
		widget.NewButton("Refresh", load), count)
	s.ShowPanel("Journal — every alarm and every action", container.NewBorder(top, nil, nil, nil, table))
	s.panelTick = tick
}

// limitField is one side of a limit in the limit fields.
func limitField(v float64) string {
	if math.IsNaN(v) {
		return "off"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// parseLimit reads a limit field: a number, or "off".
func parseLimit(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		err = errors.New("not a limit")
	}
	return v, err
}

// bindingStays says what happens to a bed's device when its patient
// leaves: it stays with the bed.
func bindingStays(b AdminBed) string {
	switch {
	case b.Feed == "":
		return b.Label + " has no device feed"
	case b.Device == "":
		return "feed " + b.Feed + " stays with " + b.Label + " (no device bound: any device on the feed)"
	}
	return "device " + b.Device + " stays bound to " + b.Label
}

// deviceOf names what monitors a patient in bed b.
func deviceOf(b AdminBed) string {
	switch {
	case b.Feed == "":
		return "no device: " + b.Label + " has no device feed"
	case b.Device == "":
		return "whatever device sends on " + b.Label + "'s feed " + b.Feed + " (none bound)"
	}
	return b.Label + "'s device " + b.Device
}

// sentence is s with its first letter upper case.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
