package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// A tile that loses its bed (the last page of the ward has fewer beds)
// shows no values, not the last bed's.
func TestTileEmptiedShowsNoValues(t *testing.T) {
	test.NewTempApp(t)
	clk := &clock{time.UnixMilli(t0)}
	h := newHub(clk, "05")
	feedFrames(h, clk, 0, 2, func() {}, true, "05")
	tile := NewTile(h.Bed("05"))
	tile.SetNEWS2("NEWS2 3", false)
	tile.Update(clk.now())
	if !strings.Contains(texts(tile), "80") {
		t.Fatalf("the bed's heart rate not shown: %q", texts(tile))
	}
	tile.SetBed(nil)
	tile.Update(clk.now())
	for _, c := range tile.Texts() {
		if strings.ContainsAny(c.Text, "0123456789") {
			t.Fatalf("an empty tile shows %q (all: %q)", c.Text, texts(tile))
		}
	}
}

func texts(tile *Tile) string {
	var s []string
	for _, c := range tile.Texts() {
		s = append(s, c.Text)
	}
	return strings.Join(s, " ")
}
