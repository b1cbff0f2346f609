package alarms

import "testing"

func TestPriorityMarkers(t *testing.T) {
	cases := []struct {
		p      Priority
		prefix string
		flash  float64
	}{{High, "***", 2}, {Medium, "**", 0.5}, {Low, "*", 0}, {None, "", 0}}
	for _, c := range cases {
		if c.p.Prefix() != c.prefix || c.p.FlashHz() != c.flash {
			t.Errorf("%v: prefix %q flash %v", c.p, c.p.Prefix(), c.p.FlashHz())
		}
	}
	if !(High > Medium && Medium > Low && Low > None) {
		t.Fatal("priorities out of order")
	}
}
