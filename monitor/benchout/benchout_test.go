package benchout

import (
	"strings"
	"testing"
)

func TestFprintOrderAndFormat(t *testing.T) {
	Record("b_fig", 2, "ns")
	Record("a_fig", 0.4567891, "ratio")
	Record("b_fig", 3.5, "ns") // last value wins, first order kept
	var sb strings.Builder
	Fprint(&sb)
	want := "BENCH b_fig 3.5 ns\nBENCH a_fig 0.4568 ratio\n"
	if sb.String() != want {
		t.Fatalf("got %q, want %q", sb.String(), want)
	}
}
