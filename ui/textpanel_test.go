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
