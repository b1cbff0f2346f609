package ui

import (
	"bytes"
	"hash/maphash"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"github.com/go-text/render"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
)

// textPanel draws a group of texts on a plain background into one raster.
//
// Why: under a software GL (Mesa llvmpipe, what a station without a GPU
// runs), every object the window draws costs tens of microseconds a frame
// whatever its size, and the window repaints every object in every frame
// while the waveforms sweep. A tile has some twenty texts; as single
// objects they were most of the cost of a frame. In a panel they are one
// texture, redrawn only when one of them changes (a value once a second, a
// header on an alarm's flash).
//
// The texts stay ordinary canvas.Text values that the tile sets as before
// (text, colour, size, style, alignment, position in the tile, visibility);
// they are not in the canvas tree. Sync, once a frame, notices a change and
// repaints. A text with a character the theme's font does not have (a
// patient's name in another script) is drawn by Fyne instead, through a
// proxy object in the tree that mirrors it, so Fyne's font fallback still
// applies.
type textPanel struct {
	raster *canvas.Raster
	bg     color.NRGBA
	items  []panelItem
	rules  []panelRule
	origin fyne.Position // the panel's place in its parent (where the texts' positions count from)

	img  *image.RGBA
	sum  uint64 // of what the raster shows
	seed maphash.Seed

	// Cropped (cropToInk): the raster is not in the tree; the panel is
	// drawn when it changes and shown through windows over its inked parts.
	crop bool
	host fyne.CanvasObject // the panel's owner, in the tree: tells the canvas
	wins []*panelWindow    // one per item, then one per rule
	ink  []image.Rectangle
}

// panelWindow shows one rectangle of a cropped panel's image.
type panelWindow struct {
	p      *textPanel
	raster *canvas.Raster
	rect   image.Rectangle // of the panel's image; empty: hidden
	img    *image.RGBA
}

// maxPanelRules is how many rules a cropped panel can show.
const maxPanelRules = 2

type panelItem struct {
	src   *canvas.Text // the model
	proxy *canvas.Text // in the tree; empty unless src needs Fyne's own drawing
}

// panelRule is a filled band in the panel, in its coordinates.
type panelRule struct {
	x, y, w, h float32
	c          color.NRGBA
}

func newTextPanel(bg color.NRGBA, texts ...*canvas.Text) *textPanel {
	p := &textPanel{bg: bg, seed: maphash.MakeSeed()}
	p.raster = canvas.NewRaster(p.draw)
	p.raster.ScaleMode = canvas.ImageScalePixels
	for _, t := range texts {
		p.items = append(p.items, panelItem{src: t, proxy: canvas.NewText("", nil)})
	}
	return p
}

// cropToInk makes the panel show only its inked parts: each text's ink
// and each rule, through a raster of its own, and nothing of its
// background. Under a software GL every pixel a texture covers costs a
// fetch and a blend in every frame, and a numerics panel is mostly
// background. Only for a panel whose background is what lies under it (the
// window's black). host is the panel's owner (on a canvas when the panel
// is). Call before objects.
func (p *textPanel) cropToInk(host fyne.CanvasObject) {
	p.crop, p.host = true, host
	for range len(p.items) + maxPanelRules {
		w := &panelWindow{p: p}
		w.raster = canvas.NewRaster(w.draw)
		w.raster.ScaleMode = canvas.ImageScalePixels
		w.raster.Hide()
		p.wins = append(p.wins, w)
	}
}

// objects are what the panel puts in the canvas tree: the raster (or its
// windows), then the proxies.
func (p *textPanel) objects() []fyne.CanvasObject {
	out := []fyne.CanvasObject{p.raster}
	if p.crop {
		out = out[:0]
		for _, w := range p.wins {
			out = append(out, w.raster)
		}
	}
	for _, it := range p.items {
		out = append(out, it.proxy)
	}
	return out
}

// place puts the panel at pos with size, in the coordinates its texts use.
func (p *textPanel) place(pos fyne.Position, size fyne.Size) {
	p.origin = pos
	p.raster.Move(pos)
	p.raster.Resize(size)
}

// setBackground sets the panel's colour.
func (p *textPanel) setBackground(c color.NRGBA) { p.bg = c }

// setRules replaces the panel's filled bands.
func (p *textPanel) setRules(r ...panelRule) { p.rules = append(p.rules[:0], r...) }

// Texts are the texts the panel shows (visible and not empty), in order.
func (p *textPanel) Texts() []*canvas.Text {
	var out []*canvas.Text
	for _, it := range p.items {
		if it.src.Visible() && it.src.Text != "" {
			out = append(out, it.src)
		}
	}
	return out
}

// sync repaints the panel if anything in it changed since it was drawn, and
// keeps the proxies in step. Call once a frame; it allocates nothing when
// nothing changed.
func (p *textPanel) sync() {
	var h maphash.Hash
	h.SetSeed(p.seed)
	writeNRGBA(&h, p.bg)
	sz := p.raster.Size()
	writeF(&h, sz.Width, sz.Height, p.origin.X, p.origin.Y)
	for _, r := range p.rules {
		writeF(&h, r.x, r.y, r.w, r.h)
		writeNRGBA(&h, r.c)
	}
	for i := range p.items {
		t := p.items[i].src
		if !t.Visible() || t.Text == "" {
			h.WriteByte(0)
		} else {
			h.WriteByte(1)
			h.WriteString(t.Text)
			writeColor(&h, t.Color)
			pos, s := t.Position(), t.Size()
			writeF(&h, t.TextSize, pos.X, pos.Y, s.Width, s.Height)
			h.WriteByte(byte(t.Alignment))
			h.WriteByte(styleBits(t.TextStyle))
		}
	}
	sum := h.Sum64()
	if sum == p.sum {
		return
	}
	for i := range p.items {
		p.syncProxy(&p.items[i])
	}
	if p.crop {
		if !p.drawWindows() {
			return // not on a canvas yet: again next frame
		}
	} else {
		p.raster.Refresh()
	}
	p.sum = sum
}

// drawWindows draws a cropped panel at its canvas's scale and places its
// windows over what is inked; false if the panel is on no canvas.
func (p *textPanel) drawWindows() bool {
	c := fyne.CurrentApp().Driver().CanvasForObject(p.host)
	if c == nil {
		return false
	}
	scale := c.Scale()
	sz := p.raster.Size()
	w := int(math.Round(float64(sz.Width * scale)))
	h := int(math.Round(float64(sz.Height * scale)))
	p.draw(w, h)
	n := len(p.items)
	for i, win := range p.wins {
		r := image.Rectangle{}
		switch {
		case i < n:
			if i < len(p.ink) { // none when the panel has no size
				r = p.ink[i]
			}
		case i-n < len(p.rules):
			r = p.ruleRect(p.rules[i-n], scale)
		}
		win.show(r, scale)
	}
	return true
}

// show places the window over r of the panel's image (empty: hides it)
// and repaints it.
func (w *panelWindow) show(r image.Rectangle, scale float32) {
	if r.Empty() {
		w.rect = image.Rectangle{}
		if w.raster.Visible() {
			w.raster.Hide()
		}
		return
	}
	w.rect = r
	o := w.p.origin
	w.raster.Move(fyne.NewPos(o.X+float32(r.Min.X)/scale, o.Y+float32(r.Min.Y)/scale))
	w.raster.Resize(fyne.NewSize(float32(r.Dx())/scale, float32(r.Dy())/scale))
	w.raster.Show()
	w.raster.Refresh()
}

// draw is a window's generator: its rectangle of the panel's image, in an
// image of exactly the size asked for (a pixel of rounding is background).
func (w *panelWindow) draw(pw, ph int) image.Image {
	pw, ph = max(pw, 1), max(ph, 1)
	if w.img == nil || w.img.Bounds().Dx() != pw || w.img.Bounds().Dy() != ph {
		w.img = image.NewRGBA(image.Rect(0, 0, pw, ph))
	}
	draw.Draw(w.img, w.img.Bounds(), image.NewUniform(w.p.bg), image.Point{}, draw.Src)
	if src := w.p.img; src != nil {
		draw.Draw(w.img, w.img.Bounds(), src, w.rect.Min, draw.Src)
	}
	return w.img
}

// ruleRect is a rule's rectangle in the panel's pixels.
func (p *textPanel) ruleRect(r panelRule, scale float32) image.Rectangle {
	px := func(v float32) int { return int(math.Round(float64(v * scale))) }
	return image.Rect(px(r.x), px(r.y), px(r.x+r.w), px(r.y+r.h))
}

// syncProxy lets Fyne draw a text the panel's font cannot.
func (p *textPanel) syncProxy(it *panelItem) {
	src, px := it.src, it.proxy
	want := ""
	if src.Visible() && src.Text != "" && !panelFonts.covers(src.TextStyle, src.Text) {
		want = src.Text
	}
	if want == "" {
		if px.Text != "" {
			px.Text = ""
			px.Refresh()
		}
		return
	}
	px.Text, px.Color, px.TextSize = want, src.Color, src.TextSize
	px.TextStyle, px.Alignment = src.TextStyle, src.Alignment
	px.Move(src.Position())
	px.Resize(src.Size())
	px.Refresh()
}

// draw is the raster's generator: the background, the rules and every
// text the panel's font can draw, at the raster's pixel scale.
func (p *textPanel) draw(w, h int) image.Image {
	if p.img == nil || p.img.Bounds().Dx() != w || p.img.Bounds().Dy() != h {
		p.img = image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	}
	draw.Draw(p.img, p.img.Bounds(), image.NewUniform(p.bg), image.Point{}, draw.Src)
	p.ink = p.ink[:0]
	sz := p.raster.Size()
	if sz.Width <= 0 {
		return p.img
	}
	scale := float32(w) / sz.Width
	for _, r := range p.rules {
		draw.Draw(p.img, p.ruleRect(r, scale), image.NewUniform(r.c), image.Point{}, draw.Src)
	}
	for _, it := range p.items {
		t := it.src
		var ink image.Rectangle
		if t.Visible() && t.Text != "" && it.proxy.Text == "" {
			pos := t.Position().Subtract(p.origin)
			ink = inkBounds(p.img, panelFonts.draw(p.img, t, pos, scale), p.bg)
		}
		p.ink = append(p.ink, ink)
	}
	return p.img
}

// inkBounds is the smallest rectangle of img within r holding every pixel
// that is not bg (empty if none).
func inkBounds(img *image.RGBA, r image.Rectangle, bg color.NRGBA) image.Rectangle {
	r = r.Intersect(img.Bounds())
	x0, y0, x1, y1 := r.Max.X, r.Max.Y, r.Min.X, r.Min.Y
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			if row[i] != bg.R || row[i+1] != bg.G || row[i+2] != bg.B || row[i+3] != bg.A {
				x := r.Min.X + i/4
				x0, x1 = min(x0, x), max(x1, x+1)
				y0, y1 = min(y0, y), max(y1, y+1)
			}
		}
	}
	if x0 >= x1 {
		return image.Rectangle{}
	}
	return image.Rect(x0, y0, x1, y1)
}

func writeF(h *maphash.Hash, vs ...float32) {
	var b [4]byte
	for _, v := range vs {
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
}

func writeNRGBA(h *maphash.Hash, c color.NRGBA) {
	h.Write([]byte{c.R, c.G, c.B, c.A})
}

func writeColor(h *maphash.Hash, c color.Color) {
	if c == nil {
		h.WriteByte(0)
		return
	}
	if n, ok := c.(color.NRGBA); ok {
		writeNRGBA(h, n)
		return
	}
	r, g, b, a := c.RGBA()
	writeF(h, float32(r), float32(g), float32(b), float32(a))
}

func styleBits(s fyne.TextStyle) byte {
	var b byte
	for i, on := range []bool{s.Bold, s.Italic, s.Monospace, s.Symbol, s.Underline, s.Strikethrough} {
		if on {
			b |= 1 << i
		}
	}
	return b
}

// panelFonts are the theme's faces, parsed once per style, and the shaper;
// used on the UI goroutine (the lock is for tests that render elsewhere).
var panelFonts = &fontSet{faces: map[fyne.TextStyle]*font.Face{}}

type fontSet struct {
	mu     sync.Mutex
	faces  map[fyne.TextStyle]*font.Face
	shaper shaping.HarfbuzzShaper
	runes  []rune
}

func (f *fontSet) face(style fyne.TextStyle) *font.Face {
	key := fyne.TextStyle{Bold: style.Bold, Italic: style.Italic, Monospace: style.Monospace, Symbol: style.Symbol}
	if fc, ok := f.faces[key]; ok {
		return fc
	}
	var fc *font.Face
	if a := fyne.CurrentApp(); a != nil {
		if res := a.Settings().Theme().Font(key); res != nil {
			fc, _ = font.ParseTTF(bytes.NewReader(res.Content()))
		}
	}
	f.faces[key] = fc // nil: not drawable here, the proxy draws
	return fc
}

// covers reports whether the style's face has a glyph for every character of
// s.
func (f *fontSet) covers(style fyne.TextStyle, s string) bool {
	if style.Underline || style.Strikethrough {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := f.face(style)
	if fc == nil {
		return false
	}
	for _, r := range s {
		if _, ok := fc.NominalGlyph(r); !ok && r != ' ' {
			return false
		}
	}
	return true
}

// draw renders t into img with its box at pos (in device-independent units,
// relative to img's origin), placed as Fyne places a canvas.Text: aligned in
// its box horizontally, centred vertically when the box is taller than the
// text. It returns the part of img it may have drawn on.
func (f *fontSet) draw(img draw.Image, t *canvas.Text, pos fyne.Position, scale float32) image.Rectangle {
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := f.face(t.TextStyle)
	if fc == nil {
		return image.Rectangle{}
	}
	f.runes = append(f.runes[:0], []rune(t.Text)...)
	out := f.shaper.Shape(shaping.Input{
		Text: f.runes, RunStart: 0, RunEnd: len(f.runes),
		Direction: di.DirectionLTR, Face: fc, Size: fixed.Int26_6(t.TextSize * 64),
	})
	minSize := t.MinSize()
	box := t.Size()
	x, y := pos.X, pos.Y
	switch t.Alignment {
	case fyne.TextAlignTrailing:
		x += box.Width - minSize.Width
	case fyne.TextAlignCenter:
		x += (box.Width - minSize.Width) / 2
	}
	if box.Height > minSize.Height {
		y += (box.Height - minSize.Height) / 2
	}
	ascent := float32(out.LineBounds.Ascent) / 64
	c := t.Color
	if c == nil {
		c = ColorWhite
	}
	r := render.Renderer{FontSize: t.TextSize, PixScale: scale, Color: c}
	px, py := int(math.Round(float64(x*scale))), int(math.Round(float64(y*scale)))
	// The renderer's rasterizer covers the whole image it is given, and is
	// allocated afresh for every run: hand it only the text's own box (plus
	// a margin for overhangs), not the panel.
	margin := int(math.Ceil(float64(4 * scale)))
	clip := image.Rect(px, py, px+int(math.Ceil(float64(minSize.Width*scale))), py+int(math.Ceil(float64(minSize.Height*scale)))).
		Inset(-margin).Intersect(img.Bounds())
	if clip.Empty() {
		return clip
	}
	if sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		if d, ok := sub.SubImage(clip).(draw.Image); ok {
			img = d
			px, py = px-clip.Min.X, py-clip.Min.Y
		}
	}
	r.DrawShapedRunAt(out, img, px, py+int(math.Ceil(float64(ascent*scale))))
	return clip
}
