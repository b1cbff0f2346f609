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

// ShowAbout opens the About box over w.
func ShowAbout(w fyne.Window, version string) {
	dialog.ShowInformation("About Vigil", AboutText(version), w)
}
