package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/vigil-station/vigil/alarms"
)

// User is a person who may log in at a station.
type User struct {
	Name     string // log-in name, case-insensitive
	Display  string
	Role     alarms.Role
	HasPIN   bool
	Disabled bool
	Failures int
	Locked   time.Time // locked out until (zero when not)
	Demo     bool
	Created  time.Time
	Changed  time.Time
}

// Login errors. The window shows them as they are; none says whether the
// name exists.
var (
	ErrBadLogin  = errors.New("wrong user name, password or PIN")
	ErrLockedOut = errors.New("too many failed attempts: this account is locked for a while; ask another user or an admin")
	ErrDisabled  = errors.New("this account is disabled; ask an admin")
)

// argon2id parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane): about
// 40 ms a check on a modest machine; lockout makes guessing a PIN useless.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashSecret makes the PHC-style argon2id string kept for a password or PIN.
func HashSecret(secret string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b.EncodeToString(salt), b.EncodeToString(key))
}

// checkSecret compares secret with a HashSecret string in constant time.
func checkSecret(encoded, secret string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// dummyHash is checked for unknown users so a wrong name takes as long as
// a wrong password.
var dummyHash = HashSecret("no such user")

// The secrets' rules. A PIN is the quick secret of the ward's nurses and
// charge nurses; a password (an admin's passphrase) is the long one. An
// admin has no PIN: an admin changes users, beds and the trust list, so
// the admin's secret is the passphrase alone. With five tries before an
// escalating lockout, a 6-digit PIN (10^6 combinations) is guessed online
// with a chance of about 5e-6 per lockout cycle.
const (
	MinPINDigits      = 6
	MaxPINDigits      = 12
	MinPasswordLength = 12 // characters, for every role
)

// ErrAdminPIN refuses a PIN for an admin account.
var ErrAdminPIN = errors.New("an admin logs in with a passphrase, not a PIN")

// CheckPassword says what is wrong with a password (an admin's
// passphrase) for an account of role, or nil.
func CheckPassword(role alarms.Role, pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		if role == alarms.Admin {
			return fmt.Errorf("an admin's passphrase needs at least %d characters (a few words with spaces will do)", MinPasswordLength)
		}
		return fmt.Errorf("a password needs at least %d characters", MinPasswordLength)
	}
	if strings.TrimSpace(pw) != pw {
		return errors.New("a password must not start or end with a space")
	}
	return nil
}

// CheckPIN says what is wrong with a PIN ("" = no PIN) for an account of
// role, or nil. Admins have none.
func CheckPIN(role alarms.Role, pin string) error {
	if pin == "" {
		return nil
	}
	if role == alarms.Admin {
		return ErrAdminPIN
	}
	if len(pin) < MinPINDigits || len(pin) > MaxPINDigits || !isDigits(pin) {
		return fmt.Errorf("a PIN is %d to %d digits", MinPINDigits, MaxPINDigits)
	}
	return nil
}

// isDigits says s is digits only, and not empty.
func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// weakSecret says how a secret that logged in falls short of today's
// rules ("" when it does not): accounts made before them still log in, so
// that no nurse is locked out in an emergency, and the login's journal
// row says it.
func weakSecret(isPIN bool, secret string) string {
	switch {
	case isPIN && len(secret) < MinPINDigits:
		return fmt.Sprintf("PIN shorter than %d digits", MinPINDigits)
	case !isPIN && len([]rune(secret)) < MinPasswordLength:
		return fmt.Sprintf("password shorter than %d characters", MinPasswordLength)
	}
	return ""
}

// weakNote ends a login's journal detail for a weak secret.
const weakNote = ": an admin should reset it"

// CheckUserName says what is wrong with a log-in name, or nil.
func CheckUserName(name string) error {
	if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_')
	}) >= 0 {
		return errors.New("a user name is 1 to 64 letters, digits, '.', '-' or '_'")
	}
	return nil
}

const userCols = "name, display, role, pin != '', disabled, failures, locked_ms, demo, created_ms, changed_ms"

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var role string
	var locked, created, changed int64
	err := sc.Scan(&u.Name, &u.Display, &role, &u.HasPIN, &u.Disabled, &u.Failures, &locked, &u.Demo, &created, &changed)
	if err != nil {
		return u, err
	}
	u.Role, err = alarms.ParseRole(role)
	if locked > 0 {
		u.Locked = time.UnixMilli(locked)
	}
	u.Created, u.Changed = time.UnixMilli(created), time.UnixMilli(changed)
	return u, err
}

// Users lists the accounts (demo accounts only in demo mode).
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+userCols+" FROM users WHERE demo = 0 OR ? ORDER BY name", s.opt.Demo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// NeedsFirstAdmin reports an empty journal: no admin account yet.
func (s *Store) NeedsFirstAdmin(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND (demo = 0 OR ?)", s.opt.Demo).Scan(&n)
	return n == 0, err
}

// wait waits for a queued operation.
func wait(ctx context.Context, ch <-chan error) error {
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// op runs fn in the writer's transaction and waits for the commit.
func (s *Store) op(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error)) error {
	return wait(ctx, s.w.submit(item{op: fn}))
}

// refuse journals a refused command and returns err.
func (s *Store) refuse(ctx context.Context, by alarms.Actor, what string, err error) error {
	_ = wait(ctx, s.Record(alarms.Refusal(by, what, err)))
	return err
}

// allow checks by may do act, journalling a refusal.
func (s *Store) allow(ctx context.Context, by alarms.Actor, act alarms.Action, what string) error {
	if err := by.Check(act); err != nil {
		return s.refuse(ctx, by, what, err)
	}
	return nil
}

// NewUser is what AddUser needs.
type NewUser struct {
	Name, Display string
	Role          alarms.Role
	Password, PIN string
	Demo          bool
}

// AddUser creates an account (admins; or anyone for the first admin of an
// empty journal, which is how a station is set up).
func (s *Store) AddUser(ctx context.Context, by alarms.Actor, u NewUser) error {
	what := "add user " + u.Name
	first, err := s.NeedsFirstAdmin(ctx)
	if err != nil {
		return err
	}
	if !(first && u.Role == alarms.Admin) {
		if err := s.allow(ctx, by, alarms.ActUsers, what); err != nil {
			return err
		}
	}
	u.Demo = u.Demo || s.opt.Demo // in demo mode everything is demo
	if u.Demo && !s.opt.Demo {
		return errors.New("demo accounts exist only in demo mode")
	}
	for _, err := range []error{CheckUserName(u.Name), CheckPassword(u.Role, u.Password), CheckPIN(u.Role, u.PIN)} {
		if err != nil {
			return err
		}
	}
	u.Display = strings.TrimSpace(u.Display)
	if u.Display == "" {
		u.Display = u.Name
	}
	pw, pin := HashSecret(u.Password), ""
	if u.PIN != "" {
		pin = HashSecret(u.PIN)
	}
	return s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE name = ?", u.Name).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, invalidf("user %s already exists", u.Name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users(name, display, role, password, pin, demo, created_ms, changed_ms)
			VALUES (?,?,?,?,?,?,?,?)`, u.Name, u.Display, u.Role.String(), pw, pin, u.Demo, now.UnixMilli(), now.UnixMilli()); err != nil {
			return nil, err
		}
		return []Event{{Kind: KindConfig, Event: "user-added", Who: by.Who, Role: by.Role.String(), Station: by.Where,
			Detail: u.Name, New: fmt.Sprintf("%s (%s), role %s, PIN %t", u.Name, u.Display, u.Role, u.PIN != "")}}, nil
	})
}

// SetDisabled disables or enables an account (admins). An admin cannot
// disable the last admin.
func (s *Store) SetDisabled(ctx context.Context, by alarms.Actor, name string, disabled bool) error {
	if err := s.allow(ctx, by, alarms.ActUsers, fmt.Sprintf("disable=%t user %s", disabled, name)); err != nil {
		return err
	}
	return s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, invalidf("no user %s", name)
		}
		if err != nil {
			return nil, err
		}
		if disabled && u.Role == alarms.Admin {
			var admins int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0").Scan(&admins); err != nil {
				return nil, err
			}
			if admins <= 1 && !u.Disabled {
				return nil, invalidf("%s is the last admin: add another admin first", name)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = ?, changed_ms = ? WHERE name = ?", disabled, now.UnixMilli(), name); err != nil {
			return nil, err
		}
		ev := map[bool]string{true: "user-disabled", false: "user-enabled"}[disabled]
		return []Event{{Kind: KindConfig, Event: ev, Who: by.Who, Role: by.Role.String(), Station: by.Where, Detail: u.Name,
			Old: fmt.Sprintf("disabled=%t", u.Disabled), New: fmt.Sprintf("disabled=%t", disabled)}}, nil
	})
}

// Reset sets a new password (and PIN, "" = none; an admin has none) and
// clears a lockout (admins). An admin's PIN from before the rules is
// removed.
func (s *Store) Reset(ctx context.Context, by alarms.Actor, name, password, pin string) error {
	if err := s.allow(ctx, by, alarms.ActUsers, "reset user "+name); err != nil {
		return err
	}
	var role string
	err := s.db.QueryRowContext(ctx, "SELECT role FROM users WHERE name = ?", name).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return invalidf("no user %s", name)
	}
	if err != nil {
		return err
	}
	r, err := alarms.ParseRole(role)
	if err != nil {
		return err
	}
	if err := CheckPassword(r, password); err != nil {
		return err
	}
	if err := CheckPIN(r, pin); err != nil {
		return err
	}
	pw, ph := HashSecret(password), ""
	if pin != "" {
		ph = HashSecret(pin)
	}
	return s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password = ?, pin = ?, failures = 0, locked_ms = 0, changed_ms = ? WHERE name = ?",
			pw, ph, now.UnixMilli(), name)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, invalidf("no user %s", name)
		}
		return []Event{{Kind: KindConfig, Event: "user-reset", Who: by.Who, Role: by.Role.String(), Station: by.Where,
			Detail: name + ": new password" + map[bool]string{true: " and PIN", false: ""}[pin != ""] + "; lockout cleared"}}, nil
	})
}

// Login checks a user name with a password or PIN at station and returns
// who is now logged in. Every attempt is journalled; LockAfter failures in
// a row lock the account for LockFor. An admin logs in with the passphrase
// only: an admin's PIN from before the rules counts as a wrong secret. A
// secret shorter than the rules ask (an account made before them) still
// logs in, and the login's journal row says so (see WeakSecrets).
func (s *Store) Login(ctx context.Context, name, secret, station string) (alarms.Actor, error) {
	var password, pin string
	err := s.db.QueryRowContext(ctx, "SELECT password, pin FROM users WHERE name = ? AND (demo = 0 OR ?)", name, s.opt.Demo).
		Scan(&password, &pin)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return alarms.Actor{}, err
	}
	var u User
	if found {
		if u, err = scanUser(s.db.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name)); err != nil {
			return alarms.Actor{}, err
		}
	}
	now := s.opt.Now()
	ok, weak, adminPIN := false, "", false
	if found {
		switch {
		case checkSecret(password, secret):
			ok, weak = true, weakSecret(false, secret)
		case pin != "" && checkSecret(pin, secret):
			// An admin's PIN (made before admins had none) is not a
			// secret that logs in: it counts as a wrong one.
			adminPIN = u.Role == alarms.Admin
			ok, weak = !adminPIN, weakSecret(true, secret)
		}
	} else {
		checkSecret(dummyHash, secret)
	}
	var result error
	var event, detail string
	switch {
	case !found:
		result, event, detail = ErrBadLogin, "login-failed", "unknown user "+name
	case u.Disabled:
		result, event, detail = ErrDisabled, "login-refused", "account disabled"
	case now.Before(u.Locked):
		result, event, detail = ErrLockedOut, "login-refused", "locked out until "+u.Locked.UTC().Format(time.RFC3339)
	case adminPIN:
		result, event, detail = ErrBadLogin, "login-failed", "an admin's PIN, not accepted: an admin logs in with the passphrase; an admin should reset the account to remove the PIN"
	case !ok:
		result, event, detail = ErrBadLogin, "login-failed", "wrong password or PIN"
	case weak != "":
		event, detail = "login", "login; "+weak+weakNote
	default:
		event = "login"
	}
	who := u.Name
	if !found {
		who = ""
	}
	left := -1 // attempts left before the account locks; -1: not counted
	err = s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		evs := []Event{{Kind: KindLogin, Event: event, Who: who, Role: roleIf(found, u.Role), Station: station, Detail: detail}}
		if !found || u.Disabled || now.Before(u.Locked) {
			return evs, nil
		}
		if ok {
			_, err := tx.ExecContext(ctx, "UPDATE users SET failures = 0, locked_ms = 0 WHERE name = ?", u.Name)
			return evs, err
		}
		var failures int
		if err := tx.QueryRowContext(ctx, "UPDATE users SET failures = failures + 1 WHERE name = ? RETURNING failures", u.Name).Scan(&failures); err != nil {
			return nil, err
		}
		// The count runs on through lockouts (only a good login or an
		// admin's reset clears it), and each lockout in a row is longer:
		// LockFor, twice it, then three times it at most. A lockout never
		// lasts longer than that, and another account, or an admin's
		// reset, is there for the emergency.
		left = s.opt.LockAfter - failures%s.opt.LockAfter
		if failures%s.opt.LockAfter == 0 {
			result = ErrLockedOut
			n := failures / s.opt.LockAfter
			until := now.Add(min(time.Duration(n)*s.opt.LockFor, 3*s.opt.LockFor))
			if _, err := tx.ExecContext(ctx, "UPDATE users SET locked_ms = ? WHERE name = ?", until.UnixMilli(), u.Name); err != nil {
				return nil, err
			}
			evs = append(evs, Event{Kind: KindLogin, Event: "locked-out", Who: u.Name, Role: u.Role.String(), Station: station,
				Detail: fmt.Sprintf("%d failed logins in a row; locked until %s", failures, until.UTC().Format(time.RFC3339))})
		}
		return evs, nil
	})
	if err != nil {
		return alarms.Actor{}, err
	}
	if result == ErrBadLogin && left > 0 {
		// Said to whoever typed it, so that a nurse who mistyped knows
		// how many tries remain before the account locks; and an admin
		// who typed a PIN, that it is the passphrase that logs in (said
		// for any digits typed, so it tells nothing of an old PIN).
		hint := ""
		if u.Role == alarms.Admin && isDigits(secret) {
			hint = "; " + ErrAdminPIN.Error()
		}
		return alarms.Actor{}, fmt.Errorf("%w: %d %s left before the account locks%s", ErrBadLogin, left,
			map[bool]string{true: "try", false: "tries"}[left == 1], hint)
	}
	if result != nil {
		return alarms.Actor{}, result
	}
	return alarms.Actor{Who: u.Name, Where: station, Role: u.Role}, nil
}

func roleIf(ok bool, r alarms.Role) string {
	if !ok {
		return ""
	}
	return r.String()
}

// WeakSecrets names the accounts whose secret falls short of today's rules,
// with how ("PIN shorter than 6 digits"): those that logged in with such a
// secret since their account last changed (a reset clears it). A stored
// secret is a hash, so only a login tells; this reads the journal's logins
// since the oldest account change, for `vigil users list`, not for every
// frame.
func (s *Store) WeakSecrets(ctx context.Context) (map[string]string, error) {
	changed := map[string]int64{}
	rows, err := s.db.QueryContext(ctx, "SELECT name, changed_ms FROM users WHERE demo = 0 OR ?", s.opt.Demo)
	if err != nil {
		return nil, err
	}
	since := int64(-1)
	for rows.Next() {
		var name string
		var ms int64
		if err := rows.Scan(&name, &ms); err != nil {
			rows.Close()
			return nil, err
		}
		changed[strings.ToLower(name)] = ms
		if since < 0 || ms < since {
			since = ms
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(changed) == 0 {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT who, detail, at_ms FROM events
		WHERE at_ms >= ? AND kind = ? AND event = 'login' AND detail LIKE 'login; %'`, since, KindLogin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var who, detail string
		var at int64
		if err := rows.Scan(&who, &detail, &at); err != nil {
			return nil, err
		}
		ms, ok := changed[strings.ToLower(who)]
		weak, cut := strings.CutSuffix(strings.TrimPrefix(detail, "login; "), weakNote)
		if !ok || at < ms || !cut {
			continue
		}
		if prev := out[who]; prev == "" {
			out[who] = weak
		} else if !strings.Contains(prev, weak) {
			out[who] = prev + "; " + weak
		}
	}
	return out, rows.Err()
}

// RenewDemoUsers makes the demo accounts us, or gives those a demo journal
// already has the secrets of us where theirs differ (a demo journal made
// before the PIN rules kept the short PINs the DEMO band no longer shows).
// Demo mode only; by is the demo's setup (an admin).
func (s *Store) RenewDemoUsers(ctx context.Context, by alarms.Actor, us []NewUser) error {
	if !s.opt.Demo {
		return errors.New("demo accounts exist only in demo mode")
	}
	for _, u := range us {
		var password, pin string
		var demo bool
		err := s.db.QueryRowContext(ctx, "SELECT password, pin, demo FROM users WHERE name = ?", u.Name).Scan(&password, &pin, &demo)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			u.Demo = true
			if err := s.AddUser(ctx, by, u); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		case !demo:
			continue // not ours to change
		}
		samePIN := pin == "" && u.PIN == "" || pin != "" && u.PIN != "" && checkSecret(pin, u.PIN)
		if checkSecret(password, u.Password) && samePIN {
			continue
		}
		if err := s.Reset(ctx, by, u.Name, u.Password, u.PIN); err != nil {
			return err
		}
	}
	return nil
}
