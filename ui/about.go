package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// AboutText is the About box's text; it states that Vigil is a secondary display.
func AboutText(version string) string {
	return "Vigil " + version + "\n\n" +
		"Central station for hospital wards: live waveforms, vitals and alarms\n" +
		"of every bed, from any vendor's devices over MQTT.\n\n" +
		"Vigil is a SECONDARY DISPLAY. It does not replace the bedside monitor\n" +
		"or its alarms: confirm every alarm and every value at the bedside.\n" +
		"Waveforms and numerics may be delayed; gaps in data are shown as breaks."
}

// ShowAbout opens the About box over w; identity, if not empty, says which
// station this is and its key's fingerprint (what an admin compares when
// enrolling it).
func ShowAbout(w fyne.Window, version, identity string) {
	text := AboutText(version)
	if identity != "" {
		text += "\n\n" + identity
	}
	dialog.ShowInformation("About Vigil", text, w)
}
