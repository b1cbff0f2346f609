package alarms

import (
	"errors"
	"fmt"
)

// Action is something a person at a station may ask for. Which role may do
// which action is decided here, in the core, for every path (window, CLI,
// another station's command), not only by which buttons the window shows.
type Action string

// Actions.
const (
	ActView          Action = "view"
	ActAcknowledge   Action = "acknowledge"
	ActAudioPause    Action = "audio-pause"     // station AUDIO PAUSED and one alarm's sound
	ActObservation   Action = "observation"     // enter observations (NEWS2 inputs)
	ActLimitsOwnBeds Action = "limits-own-beds" // a bed's limits, within the profile's bounds, on a bed assigned to you
	ActLimitsAnyBed  Action = "limits-any-bed"  // the same on any bed
	ActRespond       Action = "respond"         // accept or reject an escalated alarm
	ActBedPause      Action = "bed-alarm-pause" // ALARM PAUSED on one bed
	ActAssign        Action = "assign-beds"     // care assignment of beds to nurses
	ActUsers         Action = "users"           // add, disable, reset users
	ActBeds          Action = "beds"            // label, device binding, admit, discharge, transfer, standby
	ActProfiles      Action = "profiles"        // a bed's limit profile
	ActPolicy        Action = "policy"          // latching and escalation policy
	ActAudioOff      Action = "audio-off"       // AUDIO OFF for the station
	ActAlarmOff      Action = "alarm-off"       // ALARM OFF for a bed
)

// Actions lists every action, for tables and tests.
var Actions = []Action{ActView, ActAcknowledge, ActAudioPause, ActObservation, ActLimitsOwnBeds, ActLimitsAnyBed,
	ActRespond, ActBedPause, ActAssign, ActUsers, ActBeds, ActProfiles, ActPolicy, ActAudioOff, ActAlarmOff}

// Roles lists every role, lowest first.
var Roles = []Role{Nurse, ChargeNurse, Admin}

// minRole is the lowest role allowed each action; each role has the rights
// of those below it (issue 5: nurse; charge nurse = nurse +; admin = charge +).
var minRole = map[Action]Role{
	ActView: Nurse, ActAcknowledge: Nurse, ActAudioPause: Nurse, ActObservation: Nurse, ActLimitsOwnBeds: Nurse,
	ActLimitsAnyBed: ChargeNurse, ActRespond: ChargeNurse, ActBedPause: ChargeNurse, ActAssign: ChargeNurse,
	ActUsers: Admin, ActBeds: Admin, ActProfiles: Admin, ActPolicy: Admin, ActAudioOff: Admin, ActAlarmOff: Admin,
}

// Allowed reports whether role r may do a. Unknown actions are refused.
func Allowed(r Role, a Action) bool {
	min, ok := minRole[a]
	return ok && r >= min
}

// ErrLoggedOut is returned for a command at a locked station (nobody
// logged in): the window asks for a login first.
var ErrLoggedOut = errors.New("the station is locked: log in first")

// Check returns nil when actor may do a, ErrLoggedOut when nobody is
// logged in, and ErrNotAllowed otherwise.
func (a Actor) Check(act Action) error {
	switch {
	case a.Who == "":
		return ErrLoggedOut
	case !Allowed(a.Role, act):
		return ErrNotAllowed
	}
	return nil
}

// Refusal is the trail line of a refused command: who asked for what, and why not.
func Refusal(by Actor, what string, err error) Record {
	who := by.Who
	if who == "" {
		who = "(locked station)"
	}
	return Record{Event: "refused", Who: who, Role: by.Role.String(), Where: by.Where, Detail: what + ": " + err.Error()}
}

// CheckLimits decides whether by may adjust a bed's limits: a charge nurse
// or admin any bed, a nurse the beds in her care (assigned).
func CheckLimits(by Actor, bed string, assigned bool) error {
	if err := by.Check(ActLimitsAnyBed); err == nil || err == ErrLoggedOut {
		return err
	}
	if err := by.Check(ActLimitsOwnBeds); err != nil {
		return err
	}
	if !assigned {
		return fmt.Errorf("%w: bed %s is not in your care assignment", ErrNotAllowed, bed)
	}
	return nil
}
