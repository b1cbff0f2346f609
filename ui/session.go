package ui

import (
	"errors"
	"fmt"
	"image/color"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// UserChoice is an account offered for the two-tap user switch.
type UserChoice struct {
	Name, Display string
	Role          alarms.Role
}

// Session is who is logged in at the station. While nobody is (locked),
// the ward stays on the screen and the alarms keep sounding; any action
// asks for a login first.
type Session interface {
	Operator() alarms.Actor
	Login(name, secret string) error
	Lock(why string)
	Touch() // user input: the idle lock counts from the last
	Choices() []UserChoice
	NeedsFirstAdmin() bool
	CreateFirstAdmin(name, display, passphrase string) error // an admin has no PIN
	// Demo is the DEMO banner's text ("" outside demo mode).
	Demo() string
}

// colorDemo is the DEMO band: loud, unlike anything clinical.
var colorDemo = color.NRGBA{R: 0x6a, G: 0x1b, B: 0x9a, A: 0xff}

// sessionUI is the operator's corner of the station bar and the DEMO band.
type sessionUI struct {
	sess     Session
	win      fyne.Window
	who      *canvas.Text
	lockBtn  *widget.Button
	switchB  *widget.Button
	adminB   *widget.Button
	journalB *widget.Button
	box      *fyne.Container
	demo     fyne.CanvasObject
	shown    alarms.Actor
	asking   bool
	secret   *pinEntry    // the open login's secret field
	loginMsg *canvas.Text // and its message
}

// SetSession connects the station to logins; w hosts the dialogs.
func (s *Station) SetSession(sess Session, w fyne.Window) {
	u := &s.sess
	u.sess, u.win = sess, w
	u.who = text("", ColorWhite, true)
	u.who.TextSize = 16
	u.switchB = widget.NewButton("Switch user", func() { s.AskLogin(nil) })
	u.lockBtn = widget.NewButton("Lock", func() { sess.Lock("locked by hand"); s.updateSession() })
	u.adminB = widget.NewButton("Admin", func() { s.requireLogin(s.ShowAdmin) })
	u.journalB = widget.NewButton("Journal", func() { s.requireLogin(s.ShowJournal) })
	for _, b := range []*widget.Button{u.switchB, u.lockBtn, u.adminB, u.journalB} {
		b.Importance = widget.LowImportance
	}
	u.box = container.NewHBox(u.who, u.switchB, u.lockBtn, u.journalB, u.adminB)
	s.barRight.Objects = append([]fyne.CanvasObject{u.box, gap(20)}, s.barRight.Objects...)
	if banner := sess.Demo(); banner != "" {
		t := text(banner, ColorWhite, true)
		t.TextSize = 17
		t.Alignment = fyne.TextAlignCenter
		u.demo = container.NewStack(canvas.NewRectangle(colorDemo), t)
		s.top.Objects = append([]fyne.CanvasObject{s.top.Objects[0], u.demo}, s.top.Objects[1:]...)
	}
	s.updateSession()
	s.relayout()
	if sess.NeedsFirstAdmin() {
		s.askFirstAdmin()
	}
}

// updateSession shows who is logged in; called a few times a second.
func (s *Station) updateSession() {
	u := &s.sess
	if u.sess == nil {
		return
	}
	op := u.sess.Operator()
	if op == u.shown && u.who.Text != "" {
		return
	}
	if u.shown.Who != "" && op.Who == "" && s.InPanel() {
		// Locked (by hand or idle): no screen of patient data, admin or
		// journal stays open; the ward stays, with its alarms.
		s.ShowWard()
	}
	u.shown = op
	if op.Who == "" {
		u.who.Text, u.who.Color = "🔒 LOCKED — log in to act", ColorAlarmMedium
		u.switchB.SetText("Log in")
		u.lockBtn.Hide()
	} else {
		u.who.Text, u.who.Color = fmt.Sprintf("%s (%s)", op.Who, roleName(op.Role)), ColorWhite
		u.switchB.SetText("Switch user")
		u.lockBtn.Show()
	}
	showIf(u.adminB, op.Who != "" && alarms.Allowed(op.Role, alarms.ActAssign)) // charge nurses assign, admins more
	u.who.Refresh()
	s.relayout()
}

func roleName(r alarms.Role) string {
	switch r {
	case alarms.ChargeNurse:
		return "charge nurse"
	}
	return r.String()
}

// requireLogin runs then now, or after a login when the station is locked.
func (s *Station) requireLogin(then func()) {
	s.Touched() // a command is input, for the idle lock
	if s.sess.sess == nil || s.sess.sess.Operator().Who != "" {
		then()
		return
	}
	s.AskLogin(then)
}

// pinEntry is the login's secret field: a PIN, a password or an admin's
// passphrase, so any character (letters, spaces) goes in. The key that opened the login (A
// on a locked station) has its character still to come when the field takes
// the focus; that character is dropped, so it never counts as a wrong PIN.
// Only that one character, only before any key of the user's own, and only
// just after opening.
type pinEntry struct {
	widget.Entry
	swallow rune      // the opening key's character (either case); 0: none
	until   time.Time // dropped only before then
	now     func() time.Time
}

func newPINEntry(now func() time.Time) *pinEntry {
	e := &pinEntry{now: now}
	e.Password = true
	e.ExtendBaseWidget(e)
	return e
}

// KeyDown implements desktop.Keyable: a key of the user's own in the field.
func (e *pinEntry) KeyDown(k *fyne.KeyEvent) {
	e.swallow = 0
	e.Entry.KeyDown(k)
}

// TypedRune implements fyne.Focusable.
func (e *pinEntry) TypedRune(r rune) {
	if e.swallow != 0 && unicode.ToLower(r) == e.swallow && e.now().Before(e.until) {
		e.swallow = 0
		return
	}
	e.swallow = 0
	e.Entry.TypedRune(r)
}

// LoginSecret is the open login's secret field, nil when none is open (for
// tests).
func (s *Station) LoginSecret() *widget.Entry {
	if s.sess.secret == nil {
		return nil
	}
	return &s.sess.secret.Entry
}

// LoginMessage is what the open login says (a refusal), for tests.
func (s *Station) LoginMessage() string {
	if s.sess.loginMsg == nil {
		return ""
	}
	return s.sess.loginMsg.Text
}

// AskLogin is the two-tap switch: tap a name, type the PIN or password
// (Enter logs in). then runs after a successful login.
func (s *Station) AskLogin(then func()) {
	u := &s.sess
	if u.sess == nil || u.win == nil || u.asking {
		return
	}
	u.asking = true
	var d dialog.Dialog
	secret := newPINEntry(s.now)
	secret.SetPlaceHolder("PIN or password")
	u.secret = secret
	name := widget.NewEntry()
	name.SetPlaceHolder("user name")
	// A refusal is said large, in the warning colour, with the tries left.
	msg := canvas.NewText("", ColorAlarmMedium)
	msg.TextStyle.Bold = true
	msg.TextSize = 18
	u.loginMsg = msg
	// The login waits for the journal's commit (every try is recorded):
	// it goes through the command worker, so the ward goes on drawing, and
	// a command asked for before the login follows it in order.
	pending := false
	login := func() {
		if pending {
			return
		}
		pending = true
		who, sec := strings.TrimSpace(name.Text), secret.Text
		msg.Text = "Logging in…"
		msg.Refresh()
		s.sendCmd(func() {
			err := u.sess.Login(who, sec)
			fyne.Do(func() {
				pending = false
				if err != nil {
					msg.Text = "✗ " + err.Error()
					msg.Refresh()
					secret.SetText("")
					return
				}
				d.Hide()
				s.updateSession()
				if then != nil {
					then()
				}
			})
		})
	}
	secret.OnSubmitted = func(string) { login() }
	name.OnSubmitted = func(string) { u.win.Canvas().Focus(secret) }
	var names []fyne.CanvasObject
	for _, c := range u.sess.Choices() {
		c := c
		b := widget.NewButton(fmt.Sprintf("%s\n%s", c.Display, roleName(c.Role)), func() {
			name.SetText(c.Name)
			secret.SetPlaceHolder(secretHint(c.Role))
			u.win.Canvas().Focus(secret)
		})
		names = append(names, b)
	}
	grid := container.NewGridWithColumns(3, names...)
	scroll := container.NewVScroll(grid)
	scroll.SetMinSize(fyne.NewSize(600, min(float32(len(names)+2)/3, 4)*64))
	body := container.NewVBox(widget.NewLabel("Tap your name, then type your PIN or password (an admin: the passphrase)."),
		scroll, name, secret, msg)
	d = dialog.NewCustomConfirm("Log in", "Log in", "Cancel", body, func(ok bool) {
		u.asking = false
		if ok {
			if u.sess.Operator().Who == "" || name.Text != "" {
				login()
			}
		}
	}, u.win)
	d.SetOnClosed(func() { u.asking, u.secret, u.loginMsg = false, nil, nil })
	d.Resize(fyne.NewSize(640, 420))
	d.Show()
	u.win.Canvas().Focus(secret)
	if k := s.keyNow; len(k) == 1 {
		// Opened by a key on the ward: its character, still on its way,
		// is kept out of the PIN.
		secret.swallow = unicode.ToLower(rune(k[0]))
		secret.until = s.now().Add(500 * time.Millisecond)
	}
}

// secretHint is the secret field's placeholder once a name is tapped: an
// admin has no PIN.
func secretHint(r alarms.Role) string {
	if r == alarms.Admin {
		return "passphrase"
	}
	return "PIN or password"
}

// askFirstAdmin is the first start of an empty journal: make the admin.
func (s *Station) askFirstAdmin() {
	u := &s.sess
	// An admin logs in with a passphrase (12 characters or more) and has
	// no PIN.
	name, display, pw, pw2 := widget.NewEntry(), widget.NewEntry(), widget.NewPasswordEntry(), widget.NewPasswordEntry()
	pw.SetPlaceHolder("12 characters or more; a few words will do")
	items := []*widget.FormItem{
		widget.NewFormItem("User name", name), widget.NewFormItem("Full name", display),
		widget.NewFormItem("Passphrase", pw), widget.NewFormItem("Passphrase again", pw2),
	}
	ask := func() {
		dialog.ShowForm("First start: create the admin account", "Create", "Later", items, func(ok bool) {
			if !ok {
				return
			}
			err := errors.New("the passphrases differ")
			if pw.Text == pw2.Text {
				err = u.sess.CreateFirstAdmin(strings.TrimSpace(name.Text), display.Text, pw.Text)
			}
			if err != nil {
				dialog.ShowError(err, u.win)
				return
			}
			s.updateSession()
		}, u.win)
	}
	ask()
}

// Touched tells the session of user input (the window's key and mouse).
func (s *Station) Touched() {
	if s.sess.sess != nil {
		s.sess.sess.Touch()
	}
}
