package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Parameter colours by monitoring convention: ECG/HR green, SpO2/pleth cyan,
// respiration yellow, NIBP and temperature white.
var (
	ColorECG   = color.NRGBA{R: 0x30, G: 0xFF, B: 0x50, A: 0xFF}
	ColorSpO2  = color.NRGBA{R: 0x20, G: 0xE8, B: 0xFF, A: 0xFF}
	ColorResp  = color.NRGBA{R: 0xFF, G: 0xE6, B: 0x30, A: 0xFF}
	ColorWhite = color.NRGBA{R: 0xF0, G: 0xF0, B: 0xF0, A: 0xFF}
	ColorDim   = color.NRGBA{R: 0x90, G: 0x98, B: 0xA0, A: 0xFF}

	// Alarm colours (IEC 60601-1-8): high red, medium yellow, low cyan.
	ColorAlarmHigh   = color.NRGBA{R: 0xE0, G: 0x10, B: 0x10, A: 0xFF}
	ColorAlarmMedium = color.NRGBA{R: 0xF0, G: 0xC8, B: 0x00, A: 0xFF}
	ColorAlarmLow    = color.NRGBA{R: 0x00, G: 0xC0, B: 0xE0, A: 0xFF}

	// ColorEscalation marks an alarm escalated to this station: a colour of
	// its own, so the banner is never mistaken for one priority's signal.
	ColorEscalation = color.NRGBA{R: 0xB0, G: 0x10, B: 0x90, A: 0xFF}
	// ColorAudioInactive is the band of AUDIO PAUSED and the box of AUDIO
	// OFF: the station is silent, and that must be seen across the room.
	ColorAudioInactive = color.NRGBA{R: 0xF0, G: 0xC8, B: 0x00, A: 0xFF}
	// ColorBlack is text on a yellow or cyan ground.
	ColorBlack = color.NRGBA{A: 0xFF}

	colorBackground = color.NRGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xFF}
	colorTile       = color.NRGBA{R: 0x0B, G: 0x0E, B: 0x12, A: 0xFF}
	colorHeader     = color.NRGBA{R: 0x1A, G: 0x22, B: 0x2C, A: 0xFF}
	colorTechnical  = color.NRGBA{R: 0x3A, G: 0x3F, B: 0x48, A: 0xFF}
	colorBar        = color.NRGBA{R: 0x10, G: 0x14, B: 0x1A, A: 0xFF}
	// ColorAdvisory marks what Vigil advises rather than alarms (NEWS2): a
	// colour of no alarm priority.
	ColorAdvisory = color.NRGBA{R: 0x5B, G: 0x3F, B: 0xD9, A: 0xFF}
	// colorHolding is the header of a holding tile (a feed bound to no
	// bed): slate blue, unlike any alarm or state colour.
	colorHolding = color.NRGBA{R: 0x2A, G: 0x3A, B: 0x6A, A: 0xFF}
)

// Theme is the station's dark theme: black background so waveforms and
// numerics stand out, whatever the desktop's preference.
type Theme struct{}

var _ fyne.Theme = Theme{}

// Color forces the dark variant with a black background.
func (Theme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNameBackground:
		return colorBackground
	case theme.ColorNameForeground:
		return ColorWhite
	}
	return theme.DefaultTheme().Color(n, theme.VariantDark)
}

// Font is the default font.
func (Theme) Font(s fyne.TextStyle) fyne.Resource { return theme.DefaultTheme().Font(s) }

// Icon is the default icon set.
func (Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// Size uses tighter padding than the default so 16 tiles fit a 1080p screen.
func (Theme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNamePadding:
		return 2
	case theme.SizeNameInnerPadding:
		return 4
	}
	return theme.DefaultTheme().Size(n)
}
