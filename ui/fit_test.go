package ui

import (
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
)

// The screen sizes a ward's central station is used at.
var screenSizes = []fyne.Size{{Width: 1280, Height: 800}, {Width: 1366, Height: 768},
	{Width: 1920, Height: 1080}, {Width: 2560, Height: 1440}}

// manyAlarms is alarmView with a long station alarm and more beds in alarm:
// more alarms than any bar lists.
func manyAlarms(seq uint64, now time.Time) *alarms.View {
	v := alarmView(seq, now)
	for i, b := range []string{"13", "14", "15", "16"} {
		a := alarms.Alarm{ID: b + ".nibp-limit", Condition: alarms.Condition{Bed: b, Code: "nibp-limit",
			Priority: alarms.Medium, Message: "NIBP 186/112 (137)  sys > 160, dia > 90, mean > 110"},
			Onset: now.Add(-time.Duration(i+1) * time.Minute)}
		v.Alarms = append(v.Alarms, a)
		v.Beds[b] = alarms.BedView{Priority: alarms.Medium, Unacked: true, Text: a.Text(), Count: 1}
	}
	return v
}

// clip is one text that does not fit where it is drawn.
type clip struct {
	what string
	text string
	box  image.Rectangle
}

// clipped walks what the window shows and lists every text that leaves
// the window, is wider than its box, or (for the clinical texts: values,
// alarm lines) was cut short with "…".
func clipped(w fyne.Window, st *Station) []clip {
	screen := image.Rect(0, 0, int(w.Canvas().Size().Width)+1, int(w.Canvas().Size().Height)+1)
	clinical := map[*canvas.Text]string{}
	for _, r := range st.al.rows {
		clinical[r.msg] = "alarm row"
	}
	var out []clip
	type inked struct {
		what, text string
		r          image.Rectangle
	}
	var inks []inked
	check := func(what string, t *canvas.Text, at fyne.Position) {
		if !t.Visible() || t.Text == "" {
			return
		}
		sz := t.Size()
		box := image.Rect(int(at.X), int(at.Y), int(at.X+sz.Width), int(at.Y+sz.Height))
		need := fyne.MeasureText(t.Text, t.TextSize, t.TextStyle).Width
		// Where the letters are: from the left, the right or the middle.
		x0 := at.X
		switch t.Alignment {
		case fyne.TextAlignTrailing:
			x0 = at.X + sz.Width - need
		case fyne.TextAlignCenter:
			x0 = at.X + (sz.Width-need)/2
		}
		// The letters' band: about the cap height, in the middle of the
		// line (the line's own height counts its leading).
		lh := fyne.MeasureText("Mg", t.TextSize, t.TextStyle).Height
		th := 0.66 * t.TextSize
		y0 := at.Y + max(0, (sz.Height-lh)/2) + (lh-th)/2
		inks = append(inks, inked{what, t.Text, image.Rect(int(x0)+1, int(y0), int(x0+need)-1, int(y0+th))})
		switch {
		case !box.In(screen):
			out = append(out, clip{what + " off the window", t.Text, box})
		case need > sz.Width+2 && t.Alignment == fyne.TextAlignLeading:
			out = append(out, clip{fmt.Sprintf("%s %0.f px in a box of %0.f", what, need, sz.Width), t.Text, box})
		case clinical[t] != "" && strings.HasSuffix(t.Text, "…"):
			out = append(out, clip{clinical[t] + " cut", t.Text, box})
		}
	}
	d := fyne.CurrentApp().Driver()
	for _, o := range shownObjects(w.Content()) {
		switch x := o.(type) {
		case *Tile:
			if x.Bed() == nil || x.Size().Width == 0 {
				continue
			}
			at := d.AbsolutePositionForObject(x)
			for _, t := range []*canvas.Text{x.hrValue, x.spo2Value, x.rrValue, x.tempValue, x.nibpValue, x.alarmText} {
				clinical[t] = "tile value"
			}
			for _, t := range x.Texts() {
				check("tile "+x.Bed().Name, t, at.Add(t.Position()))
			}
		case *canvas.Text:
			if _, inTile := clinical[x]; inTile && clinical[x] == "tile value" {
				continue
			}
			check("text", x, d.AbsolutePositionForObject(x))
		case *widget.Button:
			p, sz := d.AbsolutePositionForObject(x), x.Size()
			box := image.Rect(int(p.X), int(p.Y), int(p.X+sz.Width), int(p.Y+sz.Height))
			if x.Text != "" && !box.In(screen) {
				out = append(out, clip{"button off the window", x.Text, box})
			}
		}
	}
	// No two texts' letters overlap.
	for i := range inks {
		for j := range i {
			if inks[i].r.Overlaps(inks[j].r) {
				out = append(out, clip{inks[i].what + " overlaps " + inks[j].what + " " + fmt.Sprintf("%q", inks[j].text), inks[i].text, inks[i].r})
			}
		}
	}
	return out
}

// shownObjects walks what o shows, as objects does, leaving out what is
// hidden and everything under it.
func shownObjects(o fyne.CanvasObject) []fyne.CanvasObject {
	if !o.Visible() {
		return nil
	}
	out := []fyne.CanvasObject{o}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, shownObjects(c)...)
		}
	case fyne.Widget:
		if _, ok := x.(*Tile); ok {
			return out // its texts are checked from the tile
		}
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, shownObjects(c)...)
		}
	}
	return out
}

func reportClips(t *testing.T, where string, cs []clip) {
	t.Helper()
	for i, c := range cs {
		if i == 8 {
			t.Errorf("%s: and %d more", where, len(cs)-i)
			break
		}
		t.Errorf("%s: %s: %q at %v", where, c.what, c.text, c.box)
	}
}

// The fourth bullet of the usability report: values clipped in the bed
// detail, the alarm text cut while state words kept their width, the top
// bar's texts overlapping, layouts 4 and 8 clipping their bottom row (and
// staying clipped after Auto), 32 beds drawing empty tiles. At every screen
// size, in every layout, after every layout change, nothing clinical is
// cut or off the window.
func TestNothingClinicalClipped(t *testing.T) {
	for _, size := range screenSizes {
		t.Run(fmt.Sprintf("%vx%v", size.Width, size.Height), func(t *testing.T) {
			desk := &fakeDesk{view: manyAlarms(1, time.UnixMilli(t0+4000))}
			st, w, clk, h := sizedAlarmStation(t, desk, size)
			beds := bedNames()
			for _, layout := range []int{0, 4, 8, 16, 32, 0} {
				st.SetLayout(layout)
				st.Tick()
				reportClips(t, fmt.Sprintf("ward, layout %d", layout), clipped(w, st))
				// Every tile of the layout is on the window, none empty
				// while beds are left to show.
				rows := 0
				for _, tl := range st.Tiles() {
					if tl.Bed() == nil {
						continue
					}
					rows++
					p, sz := fyne.CurrentApp().Driver().AbsolutePositionForObject(tl), tl.Size()
					if p.Y+sz.Height > size.Height+1 || p.X+sz.Width > size.Width+1 {
						t.Errorf("layout %d: bed %s's tile %v+%v leaves the window", layout, tl.Bed().Name, p, sz)
					}
				}
				if l := st.Layout(); rows < min(16, l.Beds) {
					t.Errorf("layout %d shows %d of 16 beds on a page", layout, rows)
				}
				if empty := len(st.ov.tilesBox.Objects) - rows; empty >= st.Layout().Cols {
					t.Errorf("layout %d draws %d empty tiles", layout, empty)
				}
			}
			// The alarm bar lists what it has room for, its texts whole.
			for i, r := range st.al.rows[:st.al.nRows] {
				if !r.Visible() || strings.HasSuffix(r.msg.Text, "…") {
					t.Errorf("row %d (visible %v) reads %q", i, r.Visible(), r.msg.Text)
				}
			}
			// The bed detail: values and limit buttons in the window and
			// clear of the side panel's scroll bar.
			st.ShowBed("05")
			st.Tick()
			st.update(clk.t)
			reportClips(t, "detail", clipped(w, st))
			for _, o := range objects(st.Content()) {
				if b, ok := o.(*widget.Button); ok && b.Visible() && strings.HasPrefix(b.Text, "high") {
					p := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
					if right := p.X + b.Size().Width; right > size.Width-10 {
						t.Errorf("detail: %q ends at x %v, under the scroll bar of a %v-wide window", b.Text, right, size.Width)
					}
				}
			}
			for name, v := range st.detail.values {
				p := fyne.CurrentApp().Driver().AbsolutePositionForObject(v)
				if need := fyne.MeasureText(v.Text, v.TextSize, v.TextStyle).Width; p.X+max(need, v.Size().Width) > size.Width-10 {
					t.Errorf("detail: %s value %q reaches x %v of %v", name, v.Text, p.X+need, size.Width)
				}
			}
			// Golden images at each size: the ward with its alarm bar full,
			// and the bed detail.
			name := fmt.Sprintf("%vx%v.png", size.Width, size.Height)
			st.ShowWard()
			st.SetLayout(0)
			feedFrames(h, clk, 4, 2, st.Tick, true, beds...)
			st.update(clk.t)
			st.Tick()
			assertGolden(t, "ward-"+name, w.Canvas().Capture())
			st.ShowBed("05")
			feedFrames(h, clk, 6, 2, st.Tick, true, beds...)
			st.update(clk.t)
			st.Tick()
			assertGolden(t, "detail-"+name, w.Canvas().Capture())
		})
	}
}

// The station bar at 1280×800 with everything on it (the operator and her
// buttons, NO SOUND, AUDIO PAUSED, the link): the words shorten before the
// title is cut, and the title keeps the ward and the beds online.
func TestStationBarFullAt1280(t *testing.T) {
	desk := &fakeDesk{view: manyAlarms(1, time.UnixMilli(t0+4000))}
	st, w, _, _ := sizedAlarmStation(t, desk, fyne.NewSize(1280, 800))
	st.SetSession(&fakeSession{op: alarms.Actor{Who: "demo-nurse", Role: alarms.Nurse}, demo: "DEMO"}, w)
	st.SetSoundNote("NO SOUND (--audio off)")
	st.Tick()
	st.update(st.now())
	if txt := st.title.Text; strings.HasSuffix(txt, "…") || !strings.Contains(txt, "Ward ICU1") || !strings.Contains(txt, "16/16") {
		t.Errorf("the title reads %q", txt)
	}
	if st.al.soundTxt.Text == "" || !st.al.soundBox.Visible() {
		t.Error("the sound note is gone")
	}
	reportClips(t, "bar at 1280", clipped(w, st))
	// With room, everything in full.
	w.Resize(fyne.NewSize(2560, 1440))
	st.Tick()
	if st.title.Text != st.titleFull || st.al.soundTxt.Text != "NO SOUND (--audio off)" || st.linkText.Text != st.linkFull {
		t.Errorf("at 2560: title %q, sound %q, link %q", st.title.Text, st.al.soundTxt.Text, st.linkText.Text)
	}
}
