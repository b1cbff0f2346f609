// Package assets embeds the station's static files: the application icon.
package assets

import _ "embed"

// IconPNG is the application icon, 256x256 PNG.
//
//go:embed icon.png
var IconPNG []byte
