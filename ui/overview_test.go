package ui

import (
	"fmt"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/vigil-station/vigil/alarms"
)

// wardStation is a station of n beds (01, 02, ...) in a window of size,
// each bed fed 1 s of signals except those in silent.
func wardStation(t *testing.T, n int, size fyne.Size, desk AlarmDesk, silent ...string) (*Station, *clock) {
	t.Helper()
	test.NewTempApp(t)
	test.ApplyTheme(t, Theme{})
	clk := &clock{time.UnixMilli(t0)}
	var beds, fed []string
	for i := range n {
		b := fmt.Sprintf("%02d", i+1)
		beds = append(beds, b)
		if !slices.Contains(silent, b) {
			fed = append(fed, b)
		}
	}
	h := newHub(clk, beds...)
	st := NewStation(h, nil, clk.now)
	st.sendCmd = func(f func()) { f() } // commands answer at once (the worker: TestCommandsNeverWaitOnTheUI)
	if desk != nil {
		st.SetAlarmDesk(desk)
	}
	w := test.NewTempWindow(t, st.Content())
	w.SetPadded(false)
	w.Resize(size)
	st.spawn = func(f func()) { f() }
	feedBeds(h, clk, 1, st.Tick, fed...)
	st.Tick()
	return st, clk
}

// tileRects are the screen rectangles of the tiles showing a bed.
func tileRects(st *Station) []image.Rectangle {
	var out []image.Rectangle
	for _, tl := range st.Tiles() {
		if tl.Bed() == nil {
			continue
		}
		p := fyne.CurrentApp().Driver().AbsolutePositionForObject(tl)
		s := tl.Size()
		out = append(out, image.Rect(int(p.X), int(p.Y), int(p.X+s.Width), int(p.Y+s.Height)))
	}
	return out
}

// Every bed count gets the smallest layout that holds it (pages past 32),
// every tile on the screen, none overlapping, none below the readable
// minimum; a chosen layout pages; a small window falls back to a layout
// whose tiles are still readable.
func TestLayoutForEveryBedCount(t *testing.T) {
	for _, n := range []int{1, 3, 4, 5, 8, 9, 12, 16, 17, 24, 32, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			st, _ := wardStation(t, n, fyne.NewSize(1920, 1080), nil)
			want := 32
			for _, l := range Layouts {
				if n <= l.Beds {
					want = l.Beds
					break
				}
			}
			l := st.Layout()
			if l.Beds != want {
				t.Fatalf("%d beds: layout of %d, want %d", n, l.Beds, want)
			}
			if _, pages := st.Page(); pages != (n+want-1)/want {
				t.Fatalf("%d beds: %d pages", n, pages)
			}
			rects := tileRects(st)
			if len(rects) != min(n, want) {
				t.Fatalf("%d beds: %d tiles show a bed", n, len(rects))
			}
			screen := image.Rect(0, 0, 1920, 1080)
			for i, r := range rects {
				if !r.In(screen) {
					t.Errorf("tile %d at %v leaves the screen", i, r)
				}
				if r.Dx() < minTileW || r.Dy() < minTileH {
					t.Errorf("tile %d is %v, below the readable minimum", i, r.Size())
				}
				for j := range i {
					if r.Overlaps(rects[j]) {
						t.Errorf("tile %d %v overlaps tile %d %v", i, r, j, rects[j])
					}
				}
			}
			if shown := st.Shown(); len(shown) > 0 && shown[0] != "01" {
				t.Fatalf("first tile shows %s", shown[0])
			}
		})
	}

	st, _ := wardStation(t, 16, fyne.NewSize(1920, 1080), nil)
	st.SetLayout(4)
	if l, p := st.Layout(), st.Shown(); l.Beds != 4 || len(p) != 4 {
		t.Fatalf("chosen layout of 4: %v shows %v", l, p)
	}
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyPageDown})
	if page, pages := st.Page(); page != 1 || pages != 4 || st.Shown()[0] != "05" {
		t.Fatalf("PgDn: page %d/%d shows %v", page, pages, st.Shown())
	}
	st.SetLayout(0)
	if st.Layout().Beds != 16 {
		t.Fatalf("back to auto: layout %v", st.Layout())
	}

	small, _ := wardStation(t, 32, fyne.NewSize(1280, 720), nil)
	if l := small.Layout(); l.Beds != 16 {
		t.Fatalf("32 beds on 1280×720: layout %v, want 16 with pages", l)
	}
	if _, pages := small.Page(); pages != 2 {
		t.Fatalf("32 beds on 1280×720: %d pages", pages)
	}
}

// Acuity order: the highest priority first (unacknowledged before
// acknowledged), then the NEWS2 score, then beds whose data stopped, then
// the ward's order.
func TestSortByAcuity(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+1000))}
	st, _ := wardStation(t, 16, fyne.NewSize(1920, 1080), desk, "14")
	if got := st.Shown(); got[0] != "01" || got[15] != "16" {
		t.Fatalf("by bed: %v", got)
	}
	st.SetScore(func(bed string) (float64, bool) { return 7, bed == "12" })
	st.SetSort(SortAcuity)
	want := []string{"05", "07", "03", "09", "12", "14", "01", "02", "04", "06", "08", "10", "11", "13", "15", "16"}
	if got := st.Shown(); !slices.Equal(got, want) {
		t.Fatalf("by acuity:\n got %v\nwant %v", got, want)
	}
	// The tiles carry their own bed's alarm after the move.
	st.Tick()
	if tl := st.Tiles()[0]; tl.Alarm().Priority != alarms.High || st.Tiles()[6].Alarm().Priority != alarms.None {
		t.Fatalf("after sorting the first tile shows %+v, the seventh %+v", tl.Alarm(), st.Tiles()[6].Alarm())
	}
	// A new alarm view re-sorts at once.
	v := alarmView(2, time.UnixMilli(t0+1000))
	v.Beds["16"] = alarms.BedView{Priority: alarms.High, Unacked: true, Text: "*** HR 30 < 50"}
	delete(v.Beds, "05")
	desk.view = v
	st.Tick()
	st.update(st.now())
	if got := st.Shown(); got[0] != "16" || got[1] != "07" {
		t.Fatalf("after bed 16's alarm: %v", got)
	}
}

// "Alerting only" keeps the beds with an alarm; with none it says so and
// how many it hides.
func TestAlertingOnly(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+1000))}
	st, _ := wardStation(t, 16, fyne.NewSize(1920, 1080), desk)
	st.SetAlertingOnly(true)
	if got := st.Shown(); !slices.Equal(got, []string{"03", "05", "07", "09"}) {
		t.Fatalf("alerting only: %v", got)
	}
	if st.Layout().Beds != 4 {
		t.Fatalf("4 alerting beds: layout %v", st.Layout())
	}
	if !strings.Contains(st.ov.pageText.Text, "12 hidden") {
		t.Fatalf("page text %q", st.ov.pageText.Text)
	}
	desk.view = &alarms.View{Seq: 2, Beds: map[string]alarms.BedView{}}
	st.Tick()
	st.update(st.now())
	if len(st.Shown()) != 0 || !st.ov.empty.Visible() || !strings.Contains(st.ov.empty.Text, "16 beds hidden") {
		t.Fatalf("no alarms: shown %v, message %q", st.Shown(), st.ov.empty.Text)
	}
	st.SetAlertingOnly(false)
	if len(st.Shown()) != 16 || st.ov.empty.Visible() {
		t.Fatal("the filter off did not bring the beds back")
	}
}

// A feed bound to no configured bed gets a holding tile, last in the
// ward's order, marked as such.
func TestHoldingTile(t *testing.T) {
	st, _ := wardStation(t, 5, fyne.NewSize(1920, 1080), nil)
	st.SetBedInfo(func(bed string) (BedLabel, bool) {
		if bed == "02" {
			return BedLabel{}, false
		}
		return BedLabel{Label: "Bed " + bed, Patient: "P" + bed}, true
	})
	st.ov.dirty = true
	st.update(st.now())
	st.update(st.now().Add(time.Second))
	if got := st.Shown(); !slices.Equal(got, []string{"01", "03", "04", "05", "02"}) {
		t.Fatalf("order %v, want the holding feed last", got)
	}
	tl := st.Tiles()[4]
	if !tl.Holding() || tl.bedText.Text != "Feed 02" || !strings.Contains(tl.patient, "HOLDING") {
		t.Fatalf("holding tile: holding %v, %q, %q", tl.Holding(), tl.bedText.Text, tl.patient)
	}
	if st.Tiles()[0].Holding() {
		t.Fatal("a bound bed is shown as holding")
	}
	if tl.head.bg != colorHolding {
		t.Fatalf("holding header colour %v", tl.head.bg)
	}
}

// Keyboard: arrows move the selection on the grid, Enter opens the bed,
// Esc goes back, A acknowledges the selected bed (all without one), P
// pauses the audio.
func TestOverviewKeys(t *testing.T) {
	desk := &fakeDesk{view: alarmView(1, time.UnixMilli(t0+1000))}
	st, _ := wardStation(t, 16, fyne.NewSize(1920, 1080), desk)
	key := func(k fyne.KeyName) { st.HandleKey(&fyne.KeyEvent{Name: k}) }
	key(fyne.KeyA)
	// A acknowledges, one by one, the unacknowledged alarms on screen.
	if got := strings.Join(desk.calls, ","); got != "ack "+idDesat+",ack "+idBroker+",ack "+idHR+",ack "+idTemp {
		t.Fatalf("A without a selection: %q", got)
	}
	key(fyne.KeyRight) // selects the first tile
	key(fyne.KeyRight)
	key(fyne.KeyDown)
	if st.Selected() != "06" || !st.Tiles()[5].Selected() {
		t.Fatalf("selected %q", st.Selected())
	}
	key(fyne.KeyLeft)
	key(fyne.KeyUp)
	key(fyne.KeyUp) // stays in the grid
	if st.Selected() != "01" {
		t.Fatalf("selected %q after left, up, up", st.Selected())
	}
	key(fyne.KeyRight)
	desk.calls = nil
	key(fyne.KeyA)
	key(fyne.KeyP)
	if got := strings.Join(desk.calls, ","); got != "pause-audio" {
		t.Fatalf("A, P with bed 02 selected: %q", got)
	}
	key(fyne.KeyReturn)
	if bed, _ := st.Detail(); bed != "02" {
		t.Fatalf("Enter opened %q", bed)
	}
	key(fyne.KeyRight) // the next bed's detail
	if bed, _ := st.Detail(); bed != "03" {
		t.Fatalf("Right on the detail opened %q", bed)
	}
	desk.calls = nil
	key(fyne.KeyA)
	if got := strings.Join(desk.calls, ","); got != "" || st.Message() != "Acknowledge bed 03: nothing to acknowledge" {
		t.Fatalf("A on bed 03's detail (no alarm): %q, the bar says %q", got, st.Message())
	}
	key(fyne.KeyEscape)
	if st.InPanel() || st.Selected() != "03" {
		t.Fatalf("Esc: in panel %v, selected %q", st.InPanel(), st.Selected())
	}
	key(fyne.KeyEscape)
	if st.Selected() != "" {
		t.Fatal("Esc on the grid kept the selection")
	}
}

func TestNaturalOrder(t *testing.T) {
	in := []string{"Bed 10", "Bed 2", "bed 1", "ICU 3", "Bed 02a", "Bed 2b"}
	slices.SortFunc(in, naturalCompare)
	want := []string{"bed 1", "Bed 2", "Bed 02a", "Bed 2b", "Bed 10", "ICU 3"}
	if !slices.Equal(in, want) {
		t.Fatalf("got %v, want %v", in, want)
	}
}

// The overview's "Alarm burden" opens the ward's burden under the alarm
// bar; Esc returns.
func TestBurdenFromOverview(t *testing.T) {
	st, _ := wardStation(t, 4, fyne.NewSize(1920, 1080), nil)
	src := newFakeBurden()
	st.SetBurden(src)
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyB})
	if !st.InPanel() {
		t.Fatal("B did not open the burden")
	}
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	test.Tap(button(t, st.Content(), "Alarm burden (B)"))
	if !st.InPanel() || len(src.asks()) != 2 || src.asks()[1].bed != "" {
		t.Fatalf("in panel %v, asked %v", st.InPanel(), src.asks())
	}
	if l := labels(st.Content()); !strings.Contains(l, "Alarm burden") {
		t.Fatalf("panel says %q", l)
	}
	st.HandleKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if st.InPanel() {
		t.Fatal("Esc did not close the burden")
	}
}
