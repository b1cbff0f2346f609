package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// fakeSession is a station's logins: nina's PIN is 111111, carl's
// 222222, ada (an admin, no PIN) logs in with a passphrase.
type fakeSession struct {
	op      alarms.Actor
	logins  []string
	locks   []string
	touches int
	demo    string
	onLogin func()
	// firstAdmin: the journal is empty; created: what CreateFirstAdmin got.
	firstAdmin bool
	created    []string
}

var sessionUsers = map[string]struct {
	pin  string
	role alarms.Role
}{"nina": {"111111", alarms.Nurse}, "carl": {"222222", alarms.ChargeNurse}, "ada": {"a quiet admin passphrase", alarms.Admin}}

func (f *fakeSession) Operator() alarms.Actor { return f.op }
func (f *fakeSession) Login(name, secret string) error {
	f.logins = append(f.logins, name+":"+secret)
	u, ok := sessionUsers[name]
	if !ok || u.pin != secret {
		return errors.New("wrong user name, password or PIN")
	}
	f.op = alarms.Actor{Who: name, Role: u.role, Where: "st-1"}
	if f.onLogin != nil {
		f.onLogin()
	}
	return nil
}
func (f *fakeSession) Lock(why string) { f.locks = append(f.locks, why); f.op = alarms.Actor{} }
func (f *fakeSession) Touch()          { f.touches++ }
func (f *fakeSession) Choices() []UserChoice {
	return []UserChoice{{"nina", "Nina N.", alarms.Nurse}, {"carl", "Carl C.", alarms.ChargeNurse}, {"ada", "Ada A.", alarms.Admin}}
}
func (f *fakeSession) NeedsFirstAdmin() bool { return f.firstAdmin }
func (f *fakeSession) CreateFirstAdmin(name, display, pw string) error {
	f.created = append(f.created, name+"|"+display+"|"+pw)
	f.firstAdmin = false
	return nil
}
func (f *fakeSession) Demo() string { return f.demo }

// objects walks what o shows, depth first, through containers and the
// renderers of widgets.
func objects(o fyne.CanvasObject) []fyne.CanvasObject {
	out := []fyne.CanvasObject{o}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, objects(c)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, objects(c)...)
		}
		if tl, ok := x.(*Tile); ok {
			// drawn into the tile's panels, not objects of their own
			for _, tx := range tl.Texts() {
				out = append(out, tx)
			}
		}
	}
	return out
}

func button(t *testing.T, root fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	for _, o := range objects(root) {
		if b, ok := o.(*widget.Button); ok && b.Text == label && b.Visible() {
			return b
		}
	}
	t.Fatalf("no visible button %q", label)
	return nil
}

// formEntry is the entry of the form row named label.
func formEntry(t *testing.T, root fyne.CanvasObject, label string) *widget.Entry {
	t.Helper()
	for _, o := range objects(root) {
		if f, ok := o.(*widget.Form); ok {
			for _, it := range f.Items {
				if e, ok := it.Widget.(*widget.Entry); ok && it.Text == label {
					return e
				}
			}
		}
	}
	t.Fatalf("no form row %q", label)
	return nil
}

func labels(root fyne.CanvasObject) string {
	var b strings.Builder
	for _, o := range objects(root) {
		switch x := o.(type) {
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *canvas.Text:
			b.WriteString(x.Text + "\n")
		}
	}
	return b.String()
}

func enter(e *widget.Entry, s string) {
	e.SetText("")
	test.Type(e, s)
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
}

// A locked station: an action asks for a login (two taps: a name, then the
// PIN), a wrong PIN is said and cleared, the right one logs in and the
// action then runs; Lock logs out again and the ward stays.
func TestLoginDialogAndLock(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000)), err: alarms.ErrLoggedOut}
	st, w, clk := alarmStation(t, desk)
	clk.t = clk.t.Add(time.Second)
	sess := &fakeSession{demo: "DEMO — demo-nurse PIN 111111"}
	sess.onLogin = func() { desk.err = nil }
	st.SetSession(sess, w)
	st.Tick()
	u := &st.sess
	if !strings.Contains(u.who.Text, "LOCKED") || u.switchB.Text != "Log in" || u.lockBtn.Visible() || u.adminB.Visible() {
		t.Fatalf("locked station shows %q, %q, lock %v, admin %v", u.who.Text, u.switchB.Text, u.lockBtn.Visible(), u.adminB.Visible())
	}
	if !strings.Contains(labels(st.Content()), "DEMO — demo-nurse PIN 111111") {
		t.Error("no DEMO band")
	}

	test.Tap(st.al.rows[1].ack)
	if !slices.Equal(desk.calls, []string{"ack " + idDesat}) {
		t.Fatalf("desk calls %q", desk.calls)
	}
	dlg := w.Canvas().Overlays().Top()
	if dlg == nil {
		t.Fatal("a refused action on a locked station asked for no login")
	}
	test.Tap(button(t, dlg, "Nina N.\nnurse")) // tap 1: the name
	var name, secret *widget.Entry
	for _, o := range objects(dlg) {
		if e, ok := o.(*widget.Entry); ok {
			name = e
		}
	}
	secret = st.LoginSecret()
	if name == nil || secret == nil || name.Text != "nina" {
		t.Fatalf("the name tap did not fill the user name (%v)", name)
	}
	enter(secret, "0000") // tap 2 with the wrong PIN
	if w.Canvas().Overlays().Top() == nil || secret.Text != "" || !strings.Contains(st.LoginMessage(), "wrong user name") {
		t.Fatalf("a wrong PIN: dialog open %v, secret %q, says %q", w.Canvas().Overlays().Top() != nil, secret.Text, labels(dlg))
	}
	if len(desk.calls) != 1 {
		t.Fatal("the action ran without a login")
	}
	enter(secret, "111111")
	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("the login dialog stayed open after a good PIN")
	}
	if !slices.Equal(sess.logins, []string{"nina:0000", "nina:111111"}) {
		t.Fatalf("logins %q", sess.logins)
	}
	if !slices.Equal(desk.calls, []string{"ack " + idDesat, "ack " + idDesat}) {
		t.Fatalf("the acknowledgement did not run after the login: %q", desk.calls)
	}
	st.Tick()
	if u.who.Text != "nina (nurse)" || u.switchB.Text != "Switch user" || !u.lockBtn.Visible() || u.adminB.Visible() {
		t.Fatalf("after login: %q, %q, lock %v, admin %v (a nurse has no admin)", u.who.Text, u.switchB.Text, u.lockBtn.Visible(), u.adminB.Visible())
	}

	// Switch to the charge nurse in two taps: the Admin button appears.
	test.Tap(u.switchB)
	dlg = w.Canvas().Overlays().Top()
	test.Tap(button(t, dlg, "Carl C.\ncharge nurse"))
	enter(st.LoginSecret(), "222222")
	st.Tick()
	if u.who.Text != "carl (charge nurse)" || !u.adminB.Visible() {
		t.Fatalf("after switching: %q, admin %v", u.who.Text, u.adminB.Visible())
	}

	test.Tap(u.lockBtn)
	st.Tick()
	if !slices.Equal(sess.locks, []string{"locked by hand"}) || !strings.Contains(u.who.Text, "LOCKED") {
		t.Fatalf("lock: %q, label %q", sess.locks, u.who.Text)
	}
	if st.InPanel() || len(st.Tiles()) != 16 {
		t.Fatal("the ward is not on the screen while locked")
	}
	if sess.touches == 0 {
		t.Error("taps did not count as input for the idle lock")
	}
}

// fakeAdmin is the administration behind the screens.
type fakeAdmin struct {
	beds  []AdminBed
	calls []string
	err   error
	rows  []AuditRow
}

func (a *fakeAdmin) call(s string) error                { a.calls = append(a.calls, s); return a.err }
func (a *fakeAdmin) Beds() ([]AdminBed, error)          { return a.beds, nil }
func (a *fakeAdmin) BindDevice(id, device string) error { return nil }

func (a *fakeAdmin) SaveBed(id, label, feed, profile string) error {
	return a.call("save " + id + "|" + label + "|" + feed + "|" + profile)
}
func (a *fakeAdmin) Admit(id, name, mrn, dob string) error {
	return a.call("admit " + id + "|" + name + "|" + mrn + "|" + dob)
}
func (a *fakeAdmin) Discharge(id string) error        { return a.call("discharge " + id) }
func (a *fakeAdmin) Transfer(from, to string) error   { return a.call("transfer " + from + ">" + to) }
func (a *fakeAdmin) Standby(id string, on bool) error { return a.call("standby " + id) }
func (a *fakeAdmin) Assign(id, nurse string) error    { return a.call("assign " + id + "|" + nurse) }
func (a *fakeAdmin) SetLimit(id, p string, lo, hi float64) error {
	return a.call("limit " + id + "|" + p)
}
func (a *fakeAdmin) Journal(kinds []string, bed string, limit int) ([]AuditRow, error) {
	a.calls = append(a.calls, "journal "+strings.Join(kinds, ",")+"|"+bed)
	return a.rows[:min(limit, len(a.rows))], nil
}
func (a *fakeAdmin) Nurses() []string { return []string{"nina"} }

// The bed administration replaces the grid under the alarm bar: the first
// bed is filled in, an edit is saved through the core, a refusal is said,
// a bad number never reaches the core, and Back returns to the ward.
func TestAdminScreen(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	sess := &fakeSession{op: alarms.Actor{Who: "ada", Role: alarms.Admin}}
	st.SetSession(sess, w)
	adm := &fakeAdmin{beds: []AdminBed{
		{ID: "01", Label: "Bed 01", Feed: "W/01", State: "admitted", Patient: "Ada Lovelace", MRN: "M1", DOB: "1815-12-10", Profile: "adult", Nurse: "nina"},
		{ID: "02", Label: "Bed 02", Feed: "W/02", State: "empty", Profile: "adult"},
	}}
	st.SetAdmin(adm)
	st.Tick()
	test.Tap(st.sess.adminB)
	if !st.InPanel() {
		t.Fatal("Admin did not open the bed administration")
	}
	root := st.Content()
	if len(st.al.rows) == 0 || !st.al.rows[0].ack.Visible() {
		t.Error("the alarm bar is hidden by the administration")
	}
	if id, name := formEntry(t, root, "Bed id"), formEntry(t, root, "Name"); id.Text != "01" || name.Text != "Ada Lovelace" {
		t.Fatalf("the first bed is not filled in: id %q name %q", id.Text, name.Text)
	}
	formEntry(t, root, "Label").SetText("Bed 1A")
	test.Tap(button(t, root, "Save bed"))
	if !slices.Equal(adm.calls, []string{"save 01|Bed 1A|W/01|adult"}) {
		t.Fatalf("admin calls %q", adm.calls)
	}
	if !strings.Contains(labels(root), "Save bed: done, recorded in the journal") {
		t.Error("no confirmation of the save")
	}

	adm.err = alarms.ErrNotAllowed
	test.Tap(button(t, root, "Discharge"))
	test.Tap(button(t, w.Canvas().Overlays().Top(), "Discharge")) // confirmed
	if !strings.Contains(labels(root), "Discharge: "+alarms.ErrNotAllowed.Error()) {
		t.Errorf("a refusal is not said: %q", labels(root))
	}
	adm.err, adm.calls = nil, nil
	test.Tap(button(t, root, "Set limit")) // low and high empty
	if len(adm.calls) != 0 || !strings.Contains(labels(root), "low and high must be numbers") {
		t.Errorf("a bad limit: calls %q", adm.calls)
	}

	test.Tap(button(t, root, "Back to the ward (Esc)"))
	if st.InPanel() {
		t.Fatal("Back did not return to the ward")
	}

	// The journal view lists the rows, newest first, and filters by kind.
	adm.rows = []AuditRow{{Seq: 2, Kind: "alarm", Event: "acknowledged", Bed: "05", Who: "nina", Role: "nurse", Station: "st-1", Detail: "Desat SpO2 80"},
		{Seq: 1, Kind: "login", Event: "login", Who: "nina", Station: "st-1"}}
	test.Tap(button(t, st.Content(), "Journal"))
	if !st.InPanel() || !strings.Contains(labels(st.Content()), "2 newest rows") {
		t.Fatalf("journal view: %q", labels(st.Content()))
	}
	var kind *widget.Select
	for _, o := range objects(st.Content()) {
		if s, ok := o.(*widget.Select); ok && slices.Contains(s.Options, "Alarms") {
			kind = s
		}
	}
	kind.SetSelected("Alarms")
	if last := adm.calls[len(adm.calls)-1]; last != "journal alarm|" {
		t.Errorf("filter by kind asked %q", last)
	}
}

// The third bullet of the usability report: on a locked station the key A
// opened the login with "a" already in the PIN, so the right PIN was
// refused and counted; and the deferred "acknowledge" after the login also
// acknowledged an alarm raised after the key was pressed.
func TestLoginKeyStaysOutOfThePIN(t *testing.T) {
	st, w, sess, desk, clk := lockedStation(t)

	// A on the ward: the key event, then (as GLFW sends it) its character
	// to whatever has the focus by then: the login's PIN field.
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyA})
	pin := st.sess.secret
	if pin == nil || w.Canvas().Focused() != pin {
		t.Fatalf("A on a locked station opened no login with the PIN focused (%v)", w.Canvas().Focused())
	}
	pin.TypedRune('a')
	if pin.Text != "" {
		t.Fatalf("the key's character landed in the PIN: %q", pin.Text)
	}
	// Only that one character: the nurse's own keys come through, a
	// second a as well.
	for _, r := range "1a" {
		pin.KeyDown(&fyne.KeyEvent{Name: fyne.KeyName(string(r))})
		pin.TypedRune(r)
	}
	if pin.Text != "1a" {
		t.Fatalf("typed keys read %q, want %q", pin.Text, "1a")
	}
	pin.SetText("")

	// Meanwhile a new alarm is raised on bed 08; the deferred command
	// covers only what was on screen when A was pressed.
	v := alarmView(2, clk.t)
	late := alarms.Alarm{ID: "08.hr-high.late", Condition: alarms.Condition{Bed: "08", Code: "hr-high",
		Priority: alarms.Medium, Message: "HR 149 > 120"}, Onset: clk.t}
	v.Alarms = append(v.Alarms, late)
	desk.view = v
	clk.t = clk.t.Add(6 * time.Second)
	st.Tick()
	test.Tap(button(t, w.Canvas().Overlays().Top(), "Nina N.\nnurse"))
	desk.calls = nil
	enter(st.LoginSecret(), "111111")
	if !slices.Equal(sess.logins, []string{"nina:111111"}) {
		t.Fatalf("logins %q: the right PIN must go through first time", sess.logins)
	}
	for _, c := range desk.calls {
		if strings.Contains(c, "late") {
			t.Fatalf("the deferred acknowledge also acknowledged the alarm raised after the key: %q", desk.calls)
		}
	}
	if !slices.Contains(desk.calls, "ack "+idDesat) {
		t.Fatalf("the deferred acknowledge did not run: %q", desk.calls)
	}
}

// A wrong PIN is said large, in the warning colour, with the tries left.
func TestWrongPINSaidPlainly(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	sess := &fakeSession{}
	st.SetSession(sess, w)
	st.AskLogin(nil)
	test.Tap(button(t, w.Canvas().Overlays().Top(), "Nina N.\nnurse"))
	enter(st.LoginSecret(), "0000")
	m := st.sess.loginMsg
	if m == nil || !strings.Contains(m.Text, "wrong user name") || m.Color != ColorAlarmMedium || m.TextSize < 18 {
		t.Fatalf("the refusal reads %+v", m)
	}
}

// Locking (by hand or idle) closes every screen of patient data, admin or
// journal and returns to the ward, which stays with its alarms.
func TestLockClosesPanels(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	sess := &fakeSession{op: alarms.Actor{Who: "ada", Role: alarms.Admin}}
	st.SetSession(sess, w)
	st.SetAdmin(&fakeAdmin{beds: []AdminBed{{ID: "01", Label: "Bed 01", State: "empty", Profile: "adult"}}})
	st.Tick()
	for name, open := range map[string]func(){"detail": func() { st.ShowBed("05") }, "admin": st.ShowAdmin,
		"journal": st.ShowJournal, "all alarms": st.ShowAllAlarms} {
		sess.op = alarms.Actor{Who: "ada", Role: alarms.Admin}
		st.updateSession()
		open()
		if !st.InPanel() {
			t.Fatalf("%s did not open", name)
		}
		sess.Lock("idle")
		st.updateSession()
		if st.InPanel() {
			t.Errorf("the %s stays open after the lock", name)
		}
		if !st.al.rows[0].Visible() {
			t.Errorf("after locking from the %s the alarms are not shown", name)
		}
	}
}

// Every move of the pointer over the window counts as input (the desktop
// driver asks the watch over the window for its cursor on each move), and
// typing in a text field, a turn of the wheel and a tap with the pointer
// still do too.
func TestIdleLockSeesEveryInput(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	sess := &fakeSession{op: alarms.Actor{Who: "ada", Role: alarms.Admin}}
	st.SetSession(sess, w)
	var watch *inputWatch
	for _, o := range objects(st.Content()) {
		if x, ok := o.(*inputWatch); ok {
			watch = x
		}
	}
	if watch == nil || watch.Size() != st.Content().Size() {
		t.Fatalf("no input watch over the whole window (%v)", watch)
	}
	n := sess.touches
	watch.Cursor()
	if sess.touches != n+1 {
		t.Fatal("a pointer move did not count as input")
	}
	st.SetAdmin(&fakeAdmin{beds: []AdminBed{{ID: "01", Label: "Bed 01", State: "empty", Profile: "adult"}}})
	st.ShowAdmin()
	n = sess.touches
	test.Type(formEntry(t, st.Content(), "Name"), "Ada")
	if sess.touches < n+3 {
		t.Fatalf("typing 3 letters in the admin form counted %d inputs", sess.touches-n)
	}
	// The wheel over a panel's scroll, the pointer still: input too.
	var sc *container.Scroll
	for _, o := range objects(st.Content()) {
		if x, ok := o.(*container.Scroll); ok {
			if _, box := x.Content.(*fyne.Container); box {
				sc = x // the bed form's, not the list's own
			}
		}
	}
	if sc == nil {
		t.Fatal("the admin panel has no scroll")
	}
	n = sess.touches
	sc.Resize(fyne.NewSize(sc.Size().Width, 40)) // shorter than its content, so it can move
	sc.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.Delta{DY: -30}})
	if sess.touches != n+1 {
		t.Fatalf("a turn of the wheel over the admin panel counted %d inputs", sess.touches-n)
	}
	// A tap where the pointer already is (no move, no cursor asked).
	n = sess.touches
	test.Tap(button(t, st.Content(), "New bed"))
	if sess.touches <= n {
		t.Fatal("a tap on a panel's button did not count as input")
	}
	// The watch takes no event from the widgets under it.
	if _, ok := any(watch).(fyne.Tappable); ok {
		t.Fatal("the watch is tappable")
	}
	if _, ok := any(watch).(desktop.Hoverable); ok {
		t.Fatal("the watch is hoverable")
	}
}

// An admin logs in with a passphrase: the login's secret field takes
// letters and spaces, and says "passphrase" once an admin's name is tapped.
// Opened by A on a locked ward, the key's own "a" stays out, but the
// admin's own a, first of the passphrase, goes in.
func TestAdminPassphraseInTheLogin(t *testing.T) {
	st, w, sess, _, _ := lockedStation(t)

	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyA})
	secret := st.sess.secret
	if secret == nil || w.Canvas().Focused() != secret {
		t.Fatalf("A on a locked station opened no login with the secret focused (%v)", w.Canvas().Focused())
	}
	secret.TypedRune('a') // the opening key's character, on its way
	test.Tap(button(t, w.Canvas().Overlays().Top(), "Ada A.\nadmin"))
	if secret.PlaceHolder != "passphrase" {
		t.Errorf("an admin's secret field says %q", secret.PlaceHolder)
	}
	const phrase = "a quiet admin passphrase"
	for _, r := range phrase {
		name := fyne.KeyName(strings.ToUpper(string(r)))
		if r == ' ' {
			name = fyne.KeySpace
		}
		secret.KeyDown(&fyne.KeyEvent{Name: name})
		secret.TypedRune(r)
	}
	if secret.Text != phrase {
		t.Fatalf("the secret field reads %q, want %q", secret.Text, phrase)
	}
	secret.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !slices.Equal(sess.logins, []string{"ada:" + phrase}) {
		t.Fatalf("logins %q: the passphrase must go through whole, first time", sess.logins)
	}
	if op := sess.Operator(); op.Role != alarms.Admin || w.Canvas().Overlays().Top() != nil {
		t.Fatalf("after the passphrase: %+v, dialog open %v", op, w.Canvas().Overlays().Top() != nil)
	}

	// A nurse's name keeps the PIN hint.
	sess.Lock("locked by hand")
	st.updateSession()
	st.AskLogin(nil)
	test.Tap(button(t, w.Canvas().Overlays().Top(), "Nina N.\nnurse"))
	if st.sess.secret.PlaceHolder != "PIN or password" {
		t.Errorf("a nurse's secret field says %q", st.sess.secret.PlaceHolder)
	}
}

// The first start asks for the admin's passphrase, twice, and no PIN: an
// admin has none.
func TestFirstAdminAsksAPassphraseNoPIN(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, _ := alarmStation(t, desk)
	sess := &fakeSession{firstAdmin: true}
	st.SetSession(sess, w)
	dlg := w.Canvas().Overlays().Top()
	if dlg == nil {
		t.Fatal("an empty journal asked for no first admin")
	}
	var rows []string
	for _, o := range objects(dlg) {
		if f, ok := o.(*widget.Form); ok {
			for _, it := range f.Items {
				rows = append(rows, it.Text)
			}
		}
	}
	if got := strings.Join(rows, ", "); got != "User name, Full name, Passphrase, Passphrase again" {
		t.Fatalf("the first admin's form asks %q", got)
	}
	formEntry(t, dlg, "User name").SetText("ada")
	formEntry(t, dlg, "Full name").SetText("Ada A.")
	formEntry(t, dlg, "Passphrase").SetText("a quiet admin passphrase")
	formEntry(t, dlg, "Passphrase again").SetText("a quiet admin passphrase")
	test.Tap(button(t, dlg, "Create"))
	if !slices.Equal(sess.created, []string{"ada|Ada A.|a quiet admin passphrase"}) {
		t.Fatalf("created %q", sess.created)
	}
}

// lockedStation is a station with nobody logged in and one alarm, a
// second after its first frame; a login unlocks its desk.
func lockedStation(t *testing.T) (*Station, fyne.Window, *fakeSession, *fakeDesk, *clock) {
	t.Helper()
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000)), err: alarms.ErrLoggedOut}
	st, w, clk := alarmStation(t, desk)
	sess := &fakeSession{}
	sess.onLogin = func() { desk.err = nil }
	st.SetSession(sess, w)
	st.Tick()
	clk.t = clk.t.Add(time.Second)
	return st, w, sess, desk, clk
}
