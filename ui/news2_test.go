package ui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vigil-station/vigil/alarms"
	"github.com/vigil-station/vigil/monitor/news2"
)

// fakeNEWS2 scores fixed device values with a real chart; the core's
// journal and role checks are what it stands in for.
type fakeNEWS2 struct {
	now    func() time.Time
	dev    news2.Device
	charts map[string]*news2.Chart
	may    error
	calls  []string
}

func (f *fakeNEWS2) chart(bed string) *news2.Chart {
	if f.charts[bed] == nil {
		f.charts[bed] = &news2.Chart{}
	}
	return f.charts[bed]
}

func (f *fakeNEWS2) Assess(bed string) (news2.Assessment, bool) {
	if bed != "05" {
		return news2.Assessment{}, false
	}
	return news2.Assess(f.now(), f.dev, f.chart(bed), news2.DefaultFreshness), true
}

func (f *fakeNEWS2) MayChart(string) error { return f.may }

func (f *fakeNEWS2) Chart(bed string, k news2.Kind, v float64) error {
	f.calls = append(f.calls, fmt.Sprintf("%s %v %g", bed, k, v))
	return f.chart(bed).Add(news2.Entry{Kind: k, Value: v, At: f.now(), By: "nurse.kim"})
}

func hasColour(t *testing.T, w fyne.Window, o fyne.CanvasObject, c color.NRGBA) bool {
	t.Helper()
	img := w.Canvas().Capture()
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	sz := o.Size()
	for y := int(p.Y); y < int(p.Y+sz.Height); y++ {
		for x := int(p.X); x < int(p.X+sz.Width); x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == c {
				return true
			}
		}
	}
	return false
}

// The tile shows the bed's NEWS2 (a lower bound while parameters are
// missing), on an advisory chip from 5 or a single 3; the detail view
// lists every parameter with its source and subscore, and the chart form
// charts what the nurse sets.
func TestNEWS2TileAndDetail(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+4000))}
	st, w, clk := alarmStation(t, desk)
	st.spawn = func(f func()) { f() }
	st.sess.win = w
	now := clk.now()
	at := func(v float64) news2.Reading { return news2.Reading{Value: v, At: now, OK: true} }
	fake := &fakeNEWS2{now: clk.now, charts: map[string]*news2.Chart{},
		dev: news2.Device{RespRate: at(18), SpO2: at(97), SysBP: at(124), HeartRate: at(80)}}
	st.SetEarlyWarning(fake)
	st.update(now)
	tile := tileOf(t, st, "05")
	if sum, urgent := tile.NEWS2(); sum != "NEWS2 ≥ 0" || urgent {
		t.Fatalf("tile shows %q urgent %v, want a lower bound of 0", sum, urgent)
	}
	if sum, _ := tileOf(t, st, "06").NEWS2(); sum != "" {
		t.Fatalf("a bed with nothing scored shows %q", sum)
	}
	if hasColour(t, w, tile, ColorAdvisory) {
		t.Fatal("an advisory chip on a low score")
	}

	st.ShowBed("05")
	d := st.detail
	if d.news == nil {
		t.Fatal("no NEWS2 section in the detail view")
	}
	l := labels(st.Content())
	for _, want := range []string{"NEWS2 ≥ 0 — incomplete: chart or measure Air or O₂, ACVPU, Temperature",
		"Resp. rate   18       0  device now", "ACVPU        —           missing — not scored"} {
		if !strings.Contains(l, want) {
			t.Fatalf("detail lacks %q:\n%s", want, l)
		}
	}

	// Chart: voice (3) and oxygen (2), 38.4 °C (1): a complete 6.
	test.Tap(button(t, st.Content(), "Chart observations (O)"))
	over := w.Canvas().Overlays().Top()
	if over == nil {
		t.Fatal("no chart form")
	}
	for _, o := range objects(over) {
		if r, ok := o.(*widget.RadioGroup); ok {
			switch {
			case len(r.Options) == 5:
				r.SetSelected("V — voice")
			case r.Options[0] == "Air":
				r.SetSelected("Oxygen")
			}
		}
	}
	enter(formEntry(t, over, "Temperature"), "38,4")
	test.Tap(button(t, over, "Chart"))
	want := []string{"05 consciousness 2", "05 oxygen 1", "05 temperature 38.4"}
	if strings.Join(fake.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("charted %q, want %q", fake.calls, want)
	}
	a, _ := fake.Assess("05")
	if !a.Complete || a.Total != 6 {
		t.Fatalf("after charting: complete %v total %d", a.Complete, a.Total)
	}
	l = labels(st.Content())
	for _, want := range []string{"NEWS2 6 — urgent response", "ACVPU        V        3  charted by nurse.kim now",
		"Charted (journalled): V, oxygen, 38.4 °C."} {
		if !strings.Contains(l, want) {
			t.Fatalf("detail lacks %q:\n%s", want, l)
		}
	}
	// The core's advisory for the bed is listed in the section.
	desk.view.Advisories = []alarms.Advisory{{Bed: "05", Kind: "news2", Text: "NEWS2 6 (reached 5): urgent response", At: clk.now()}}
	d.news.update(clk.now())
	if l := labels(st.Content()); !strings.Contains(l, "ADVISORY NEWS2 6 (reached 5): urgent response (since ") {
		t.Fatalf("the advisory is not listed:\n%s", l)
	}
	st.Back()
	st.update(clk.now())
	if sum, urgent := tile.NEWS2(); sum != "NEWS2 6" || !urgent {
		t.Fatalf("tile shows %q urgent %v", sum, urgent)
	}
	if !hasColour(t, w, tile, ColorAdvisory) {
		t.Fatal("no advisory chip on a score of 6")
	}

	// Logged out: the form is not offered, the section says why.
	fake.may = alarms.ErrLoggedOut
	st.ShowBed("05")
	if l := labels(st.Content()); !strings.Contains(l, "Log in to chart observations.") {
		t.Fatalf("logged out, the section says:\n%s", l)
	}
	if b := button(t, st.Content(), "Chart observations (O)"); !b.Disabled() {
		t.Fatal("the chart button is enabled for nobody")
	}
}
