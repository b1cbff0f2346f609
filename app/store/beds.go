package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-station/vigil/alarms"
)

// Bed states.
const (
	BedEmpty    = "empty"
	BedAdmitted = "admitted"
	BedStandby  = "standby" // a patient stays but is not monitored (off the ward for a scan): no alarms
)

// Patient is who is in a bed.
type Patient struct {
	Name string
	MRN  string // medical record number
	DOB  string // YYYY-MM-DD
}

// Bed is one bed of the ward as the admin configured it.
type Bed struct {
	ID        string
	Label     string
	Feed      string // bound device feed "<ward>/<bed>", "" = none
	Device    string // the device bound to the feed (its serial), "" = any
	State     string
	Patient   Patient
	Profile   string
	Overrides map[string][2]float64 // param -> low, high (NaN = off)
	Nurse     string                // care assignment
	Demo      bool
	Changed   time.Time
}

// Limits is the bed's alarm limits for the engine.
func (b Bed) Limits() alarms.BedLimits {
	l := alarms.BedLimits{Profile: b.Profile}
	for _, p := range slices.Sorted(maps.Keys(b.Overrides)) {
		lo, hi := b.Overrides[p][0], b.Overrides[p][1]
		if next, err := l.WithLimit(p, lo, hi); err == nil {
			l = next
		}
	}
	return l
}

const bedCols = "id, label, feed, state, patient, mrn, dob, profile, overrides, nurse, demo, changed_ms, device"

func scanBed(sc interface{ Scan(...any) error }) (Bed, error) {
	var b Bed
	var ov string
	var changed int64
	err := sc.Scan(&b.ID, &b.Label, &b.Feed, &b.State, &b.Patient.Name, &b.Patient.MRN, &b.Patient.DOB, &b.Profile,
		&ov, &b.Nurse, &b.Demo, &changed, &b.Device)
	if err != nil {
		return b, err
	}
	b.Changed = time.UnixMilli(changed)
	if b.Overrides, err = decodeOverrides(ov); err != nil {
		return b, fmt.Errorf("bed %s: overrides: %w", b.ID, err)
	}
	return b, nil
}

// encodeOverrides is the overrides as the beds table keeps them: JSON
// {"spo2":[88,null]}, a side that is off (NaN, which JSON has not) as null.
func encodeOverrides(o map[string][2]float64) (string, error) {
	out := make(map[string][2]*float64, len(o))
	for p, lh := range o {
		var v [2]*float64
		for i := range lh {
			if !math.IsNaN(lh[i]) {
				v[i] = &lh[i]
			}
		}
		out[p] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeOverrides(s string) (map[string][2]float64, error) {
	var in map[string][2]*float64
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make(map[string][2]float64, len(in))
	for p, v := range in {
		lh := [2]float64{math.NaN(), math.NaN()}
		for i := range v {
			if v[i] != nil {
				lh[i] = *v[i]
			}
		}
		out[p] = lh
	}
	return out, nil
}

// limitText is one side of a limit as the journal says it.
func limitText(v float64) string {
	if math.IsNaN(v) {
		return "off"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Beds lists the ward's beds (demo beds only in demo mode).
func (s *Store) Beds(ctx context.Context) ([]Bed, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+bedCols+" FROM beds WHERE demo = 0 OR ? ORDER BY id", s.opt.Demo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bed
	for rows.Next() {
		b, err := scanBed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Stay is one patient's time in a bed.
type Stay struct {
	Bed           string
	Patient       Patient
	Admitted, End time.Time // End zero while in the bed
	How           string
}

// Stays lists the stays of a bed, newest first (the history a discharge keeps).
func (s *Store) Stays(ctx context.Context, bed string) ([]Stay, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT bed, patient, mrn, dob, admitted_ms, ended_ms, ended_how FROM stays WHERE bed = ? ORDER BY admitted_ms DESC, id DESC", bed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stay
	for rows.Next() {
		var st Stay
		var a, e int64
		if err := rows.Scan(&st.Bed, &st.Patient.Name, &st.Patient.MRN, &st.Patient.DOB, &a, &e, &st.How); err != nil {
			return nil, err
		}
		st.Admitted = time.UnixMilli(a)
		if e > 0 {
			st.End = time.UnixMilli(e)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func getBed(ctx context.Context, tx *sql.Tx, id string) (Bed, error) {
	b, err := scanBed(tx.QueryRowContext(ctx, "SELECT "+bedCols+" FROM beds WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, invalidf("no bed %s", id)
	}
	return b, err
}

func putBed(ctx context.Context, tx *sql.Tx, b Bed, now time.Time) error {
	ov, err := encodeOverrides(b.Overrides)
	if err != nil {
		return invalid(err)
	}
	if b.Feed != "" {
		var other string
		err := tx.QueryRowContext(ctx, "SELECT id FROM beds WHERE feed = ? AND id != ?", b.Feed, b.ID).Scan(&other)
		if err == nil {
			return invalidf("feed %s is already bound to bed %s", b.Feed, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO beds(`+bedCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET label=excluded.label, feed=excluded.feed, state=excluded.state,
		patient=excluded.patient, mrn=excluded.mrn, dob=excluded.dob, profile=excluded.profile,
		overrides=excluded.overrides, nurse=excluded.nurse, changed_ms=excluded.changed_ms, device=excluded.device`,
		b.ID, b.Label, b.Feed, b.State, b.Patient.Name, b.Patient.MRN, b.Patient.DOB, b.Profile, ov, b.Nurse, b.Demo, now.UnixMilli(), b.Device)
	return err
}

// describe is the bed's configuration as the journal shows it, one
// "field: value" per line, so old -> new reads as a diff.
func (b Bed) describe() map[string]string {
	ov := make([]string, 0, len(b.Overrides))
	for _, p := range slices.Sorted(maps.Keys(b.Overrides)) {
		ov = append(ov, p+" "+limitText(b.Overrides[p][0])+".."+limitText(b.Overrides[p][1]))
	}
	return map[string]string{"label": b.Label, "feed": b.Feed, "device": b.Device, "state": b.State, "patient": b.Patient.Name,
		"mrn": b.Patient.MRN, "dob": b.Patient.DOB, "profile": b.Profile, "limits": strings.Join(ov, ", "), "nurse": b.Nurse}
}

// diff is the changed fields of old and new as two "field=value; ..." strings.
func diff(old, new Bed) (o, n string) {
	a, b := old.describe(), new.describe()
	var os, ns []string
	for _, k := range []string{"label", "feed", "device", "state", "patient", "mrn", "dob", "profile", "limits", "nurse"} {
		if a[k] != b[k] {
			os, ns = append(os, k+"="+a[k]), append(ns, k+"="+b[k])
		}
	}
	return strings.Join(os, "; "), strings.Join(ns, "; ")
}

// changeBed runs change on bed id (or a new bed with create) and journals
// old -> new as event, by whom and from where.
func (s *Store) changeBed(ctx context.Context, by alarms.Actor, act alarms.Action, event, id string, create bool,
	change func(ctx context.Context, tx *sql.Tx, b *Bed) error) error {
	if err := s.allow(ctx, by, act, event+" "+id); err != nil {
		return err
	}
	err := s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		old, err := getBed(ctx, tx, id)
		if err != nil && !(create && isInvalid(err)) {
			return nil, err
		}
		if err != nil {
			old = Bed{ID: id, State: BedEmpty, Profile: "adult", Overrides: map[string][2]float64{}, Demo: s.opt.Demo}
		}
		nb := old
		nb.Overrides = maps.Clone(old.Overrides)
		if err := change(ctx, tx, &nb); err != nil {
			return nil, err
		}
		if err := putBed(ctx, tx, nb, now); err != nil {
			return nil, err
		}
		o, n := diff(old, nb)
		return []Event{{Kind: KindConfig, Event: event, Bed: id, Who: by.Who, Role: by.Role.String(), Station: by.Where,
			Old: o, New: n}}, nil
	})
	if err == nil && s.opt.OnBeds != nil {
		s.opt.OnBeds()
	}
	return err
}

func isInvalid(err error) bool { var ie invalidError; return errors.As(err, &ie) }

// CheckFeed says what is wrong with a device binding "<ward>/<bed>".
func CheckFeed(feed string) error {
	if feed == "" {
		return nil
	}
	w, b, ok := strings.Cut(feed, "/")
	if !ok || w == "" || b == "" || strings.ContainsAny(feed, "+#") || strings.Count(feed, "/") != 1 {
		return invalidf("device feed %q: use <ward>/<bed>, as the device publishes it", feed)
	}
	return nil
}

// SaveBed creates a bed or changes its label, device binding and limit
// profile (admins).
func (s *Store) SaveBed(ctx context.Context, by alarms.Actor, id, label, feed, profile string) error {
	if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/+#") {
		return errors.New("a bed id is needed, without '/', '+' or '#'")
	}
	if err := CheckFeed(feed); err != nil {
		return err
	}
	if _, ok := alarms.Profiles[profile]; !ok {
		return fmt.Errorf("profile %q: use one of %s", profile, strings.Join(alarms.ProfileNames(), ", "))
	}
	return s.changeBed(ctx, by, alarms.ActBeds, "bed-configured", id, true, func(_ context.Context, _ *sql.Tx, b *Bed) error {
		b.Label, b.Feed = strings.TrimSpace(label), feed
		if b.Label == "" {
			b.Label = id
		}
		if b.Profile != profile {
			b.Profile, b.Overrides = profile, map[string][2]float64{} // overrides were within the old profile's bounds
		}
		return nil
	})
}

// CheckDevice says what is wrong with a device serial.
func CheckDevice(device string) error {
	if len(device) > 128 || strings.ContainsFunc(device, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return invalidf("device %q: up to 128 printable characters without spaces, as the device's status names it", device)
	}
	return nil
}

// BindDevice binds a bed's feed to one device (its serial, as its status
// names it), or to any device with "" (admins). Data from another device
// on the feed are then not used; the change is journalled.
func (s *Store) BindDevice(ctx context.Context, by alarms.Actor, id, device string) error {
	device = strings.TrimSpace(device)
	if err := CheckDevice(device); err != nil {
		return err
	}
	return s.changeBed(ctx, by, alarms.ActBeds, "device-bound", id, false, func(_ context.Context, _ *sql.Tx, b *Bed) error {
		if device != "" && b.Feed == "" {
			return invalidf("bed %s has no feed: bind its feed first", id)
		}
		b.Device = device
		return nil
	})
}

// CheckPatient says what is missing or wrong.
func CheckPatient(p Patient, now time.Time) error {
	if strings.TrimSpace(p.Name) == "" || strings.TrimSpace(p.MRN) == "" {
		return errors.New("a patient needs a name and an MRN")
	}
	d, err := time.Parse("2006-01-02", p.DOB)
	if err != nil {
		return errors.New("date of birth: use YYYY-MM-DD")
	}
	if d.After(now) || d.Year() < 1900 {
		return fmt.Errorf("date of birth %s is not plausible", p.DOB)
	}
	return nil
}

// Admit puts a patient into an empty bed (admins).
func (s *Store) Admit(ctx context.Context, by alarms.Actor, id string, p Patient) error {
	p.Name, p.MRN = strings.TrimSpace(p.Name), strings.TrimSpace(p.MRN)
	if err := CheckPatient(p, s.opt.Now()); err != nil {
		return err
	}
	return s.changeBed(ctx, by, alarms.ActBeds, "bed-admitted", id, false, func(ctx context.Context, tx *sql.Tx, b *Bed) error {
		if b.State != BedEmpty {
			return invalidf("bed %s is occupied by %s: discharge or transfer first", id, b.Patient.Name)
		}
		var other string
		err := tx.QueryRowContext(ctx, "SELECT id FROM beds WHERE mrn = ? AND state != 'empty'", p.MRN).Scan(&other)
		if err == nil {
			return invalidf("MRN %s is already in bed %s", p.MRN, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b.State, b.Patient = BedAdmitted, p
		_, err = tx.ExecContext(ctx, "INSERT INTO stays(bed, patient, mrn, dob, admitted_ms) VALUES (?,?,?,?,?)",
			id, p.Name, p.MRN, p.DOB, s.opt.Now().UnixMilli())
		return err
	})
}

func endStay(ctx context.Context, tx *sql.Tx, bed, how string, now time.Time) error {
	_, err := tx.ExecContext(ctx, "UPDATE stays SET ended_ms = ?, ended_how = ? WHERE bed = ? AND ended_ms = 0", now.UnixMilli(), how, bed)
	return err
}

// Discharge ends the stay: the patient, the per-bed limits and the care
// assignment leave the bed; the bed stays configured as it was, with its
// feed and its bound device (the next patient is monitored by the same
// device, and the tile stays the bed's, not a stray feed's); the history
// stays (admins).
func (s *Store) Discharge(ctx context.Context, by alarms.Actor, id string) error {
	return s.changeBed(ctx, by, alarms.ActBeds, "bed-discharged", id, false, func(ctx context.Context, tx *sql.Tx, b *Bed) error {
		if b.State == BedEmpty {
			return invalidf("bed %s is empty", id)
		}
		b.State, b.Patient, b.Overrides, b.Nurse = BedEmpty, Patient{}, map[string][2]float64{}, ""
		return endStay(ctx, tx, id, "discharged", s.opt.Now())
	})
}

// Transfer moves a patient, with the limit profile, overrides and nurse,
// from one bed to an empty one. Feeds and device bindings stay with the
// beds: the patient is monitored by the new bed's device from then on, and
// the old bed's device stays bound to the old bed (admins).
func (s *Store) Transfer(ctx context.Context, by alarms.Actor, from, to string) error {
	if from == to {
		return errors.New("transfer to the same bed")
	}
	if err := s.allow(ctx, by, alarms.ActBeds, "transfer "+from+" to "+to); err != nil {
		return err
	}
	err := s.op(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) ([]Event, error) {
		a, err := getBed(ctx, tx, from)
		if err != nil {
			return nil, err
		}
		b, err := getBed(ctx, tx, to)
		if err != nil {
			return nil, err
		}
		if a.State == BedEmpty {
			return nil, invalidf("bed %s is empty", from)
		}
		if b.State != BedEmpty {
			return nil, invalidf("bed %s is occupied by %s", to, b.Patient.Name)
		}
		na, nb := a, b
		nb.State, nb.Patient, nb.Profile, nb.Overrides, nb.Nurse = a.State, a.Patient, a.Profile, a.Overrides, a.Nurse
		na.State, na.Patient, na.Overrides, na.Nurse = BedEmpty, Patient{}, map[string][2]float64{}, ""
		if err := endStay(ctx, tx, from, "transferred to "+to, now); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO stays(bed, patient, mrn, dob, admitted_ms) VALUES (?,?,?,?,?)",
			to, a.Patient.Name, a.Patient.MRN, a.Patient.DOB, now.UnixMilli()); err != nil {
			return nil, err
		}
		if err := putBed(ctx, tx, na, now); err != nil {
			return nil, err
		}
		if err := putBed(ctx, tx, nb, now); err != nil {
			return nil, err
		}
		o1, n1 := diff(a, na)
		o2, n2 := diff(b, nb)
		ev := func(bed, o, n string) Event {
			return Event{Kind: KindConfig, Event: "bed-transferred", Bed: bed, Who: by.Who, Role: by.Role.String(),
				Station: by.Where, Detail: from + " -> " + to, Old: o, New: n}
		}
		return []Event{ev(from, o1, n1), ev(to, o2, n2)}, nil
	})
	if err == nil && s.opt.OnBeds != nil {
		s.opt.OnBeds()
	}
	return err
}

// Standby pauses or resumes monitoring of an occupied bed (admins): a bed
// on standby raises no physiological alarms.
func (s *Store) Standby(ctx context.Context, by alarms.Actor, id string, on bool) error {
	ev := map[bool]string{true: "bed-standby", false: "bed-resumed"}[on]
	return s.changeBed(ctx, by, alarms.ActBeds, ev, id, false, func(_ context.Context, _ *sql.Tx, b *Bed) error {
		switch {
		case b.State == BedEmpty:
			return invalidf("bed %s is empty", id)
		case on:
			b.State = BedStandby
		default:
			b.State = BedAdmitted
		}
		return nil
	})
}

// Assign puts a bed in a nurse's care ("" clears it) (charge nurses, admins).
func (s *Store) Assign(ctx context.Context, by alarms.Actor, id, nurse string) error {
	return s.changeBed(ctx, by, alarms.ActAssign, "bed-assigned", id, false, func(ctx context.Context, tx *sql.Tx, b *Bed) error {
		if nurse != "" {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE name = ? AND disabled = 0", nurse).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return invalidf("no active user %s", nurse)
			}
		}
		b.Nurse = nurse
		return nil
	})
}

// SetLimit sets a per-bed limit override within the profile's bounds: a
// nurse on the beds in her care, a charge nurse or admin on any bed.
func (s *Store) SetLimit(ctx context.Context, by alarms.Actor, id, param string, lo, hi float64) error {
	var nurse string
	if err := s.db.QueryRowContext(ctx, "SELECT nurse FROM beds WHERE id = ?", id).Scan(&nurse); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := alarms.CheckLimits(by, id, nurse != "" && nurse == by.Who); err != nil {
		return s.refuse(ctx, by, fmt.Sprintf("limit %s %s %g..%g", id, param, lo, hi), err)
	}
	return s.changeBed(ctx, by, alarms.ActLimitsOwnBeds, "limit-changed", id, false, func(_ context.Context, _ *sql.Tx, b *Bed) error {
		if _, err := b.Limits().WithLimit(param, lo, hi); err != nil {
			return invalid(err)
		}
		b.Overrides[param] = [2]float64{lo, hi}
		return nil
	})
}
