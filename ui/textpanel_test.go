package ui

import (
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

// inked counts the pixels of img in r that differ from bg.
func inked(img image.Image, r image.Rectangle, bg color.NRGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c != bg {
				n++
			}
		}
	}
	return n
}

// A panel draws its texts where Fyne would put them, repaints only when one
// changes, and hands a text its font cannot draw to Fyne.
func TestTextPanel(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	bg := color.NRGBA{R: 0x20, G: 0x20, B: 0x20, A: 0xFF}
	left := canvas.NewText("HR", ColorECG)
	left.TextSize = 14
	right := canvas.NewText("80", ColorECG)
	right.TextSize = 40
	right.Alignment = fyne.TextAlignTrailing
	p := newTextPanel(bg, left, right)
	root := container.NewWithoutLayout(p.objects()...)
	w := test.NewTempWindow(t, root)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(200, 100))
	origin := fyne.NewPos(10, 10)
	p.place(origin, fyne.NewSize(180, 80))
	left.Move(fyne.NewPos(12, 12))
	left.Resize(fyne.NewSize(60, 20))
	right.Move(fyne.NewPos(20, 30))
	right.Resize(fyne.NewSize(160, 50))
	p.sync()
	first := p.sum

	img := p.draw(180, 80)
	// "HR" at the top left, "80" at the right end of its box; nothing in
	// the empty middle.
	if n := inked(img, image.Rect(2, 2, 40, 22), bg); n < 20 {
		t.Fatalf("label: %d inked pixels", n)
	}
	if n := inked(img, image.Rect(120, 20, 170, 70), bg); n < 200 {
		t.Fatalf("trailing value: %d inked pixels at the right", n)
	}
	if n := inked(img, image.Rect(40, 25, 100, 70), bg); n != 0 {
		t.Fatalf("%d inked pixels where no text is", n)
	}

	p.sync()
	if p.sum != first {
		t.Fatal("an unchanged panel was marked for repainting")
	}
	right.Text = "120"
	p.sync()
	if p.sum == first {
		t.Fatal("a changed value did not repaint the panel")
	}
	if got := p.Texts(); len(got) != 2 || got[1].Text != "120" {
		t.Fatalf("texts %v", got)
	}

	// A name in a script the theme font lacks is drawn by Fyne through the
	// proxy; the panel leaves it out.
	left.Text = "王小明"
	p.sync()
	if px := p.items[0].proxy; px.Text != "王小明" || px.Position() != left.Position() || px.TextSize != left.TextSize {
		t.Fatalf("proxy %q at %v size %v", px.Text, px.Position(), px.TextSize)
	}
	img = p.draw(180, 80)
	if n := inked(img, image.Rect(2, 2, 40, 22), bg); n != 0 {
		t.Fatalf("the panel drew %d pixels of a text it cannot draw", n)
	}
	left.Text = "HR"
	p.sync()
	if p.items[0].proxy.Text != "" {
		t.Fatal("the proxy kept a text the panel draws again")
	}

	// Hidden texts are not drawn.
	right.Hide()
	p.sync()
	img = p.draw(180, 80)
	if n := inked(img, image.Rect(100, 20, 180, 80), bg); n != 0 {
		t.Fatalf("a hidden text left %d pixels", n)
	}
}

// A cropped panel shows the same picture as a whole one on its own
// background, through windows over its texts' ink and its rules only.
func TestTextPanelCrop(t *testing.T) {
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	build := func(crop bool) (*textPanel, fyne.Window, []*canvas.Text) {
		label := canvas.NewText("HR", ColorECG)
		label.TextSize = 12
		value := canvas.NewText("118", ColorECG)
		value.TextSize = 52
		value.TextStyle.Bold = true
		value.Alignment = fyne.TextAlignTrailing
		note := canvas.NewText("(93)", ColorWhite)
		note.TextSize = 12
		p := newTextPanel(colorBackground, label, value, note)
		root := container.NewWithoutLayout()
		if crop {
			p.cropToInk(root)
		}
		root.Objects = p.objects()
		w := test.NewTempWindow(t, root)
		w.SetPadded(false)
		w.Resize(fyne.NewSize(200, 240))
		p.place(fyne.NewPos(10, 10), fyne.NewSize(180, 220))
		p.setRules(panelRule{x: 176, y: 0, w: 2, h: 220, c: colorHeader})
		label.Move(fyne.NewPos(14, 12))
		label.Resize(fyne.NewSize(150, 14))
		value.Move(fyne.NewPos(14, 14))
		value.Resize(fyne.NewSize(150, 60))
		note.Move(fyne.NewPos(20, 150))
		note.Resize(fyne.NewSize(60, 14))
		p.sync()
		return p, w, []*canvas.Text{label, value, note}
	}
	cp, cw, texts := build(true)
	_, ww, _ := build(false)
	same := func() {
		t.Helper()
		a, b := cw.Canvas().Capture(), ww.Canvas().Capture()
		diff := 0
		for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
			for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
				if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
					diff++
				}
			}
		}
		if diff != 0 {
			t.Fatalf("the cropped panel differs from the whole one in %d pixels", diff)
		}
	}
	same()
	shown := func() (n int, area float32) {
		for _, w := range cp.wins {
			if w.raster.Visible() {
				n++
				area += w.raster.Size().Width * w.raster.Size().Height
			}
		}
		return n, area
	}
	n, area := shown()
	if n != 4 { // three texts and the rule
		t.Fatalf("%d windows shown, want 4", n)
	}
	// Big digits, two small labels and a rule: under a third of the panel.
	if full := float32(180 * 220); area*3 > full {
		t.Fatalf("windows cover %.0f of the panel's %.0f", area, full)
	}
	for _, o := range cp.objects() {
		if o == fyne.CanvasObject(cp.raster) {
			t.Fatal("a cropped panel put its whole raster in the tree")
		}
	}

	// A changed value moves its window; a hidden text closes its own.
	before := cp.wins[1].raster.Position()
	texts[1].Text = "62"
	texts[2].Hide()
	cp.sync()
	if cp.wins[1].raster.Position() == before {
		t.Fatal("the value's window did not follow the shorter value")
	}
	if cp.wins[2].raster.Visible() {
		t.Fatal("a hidden text's window is still shown")
	}
	if n, _ := shown(); n != 3 {
		t.Fatalf("%d windows shown, want 3", n)
	}
}
