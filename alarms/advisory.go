package alarms

import (
	"cmp"
	"slices"
	"time"
)

// Advisory is something Vigil derives rather than measures (later: a NEWS2
// band crossed, a suspected artefact), shown apart from alarms and labelled
// advisory. It never sounds and never silences, acknowledges, delays or
// replaces a device or limit alarm: the engine does not see it.
type Advisory struct {
	Bed  string
	Kind string // "news2", "artefact" ...
	Text string
	At   time.Time
}

// Label is how an advisory reads on screen.
func (a Advisory) Label() string { return "ADVISORY " + a.Text }

// Advise shows an advisory for a bed, replacing the bed's advisory of the
// same kind. It never blocks.
func (s *Service) Advise(a Advisory) {
	if a.At.IsZero() {
		a.At = s.cfg.Clock()
	}
	s.push(input{kind: inCmd, cmd: func(*Engine) error {
		s.advisories[a.Bed+"/"+a.Kind] = a
		return nil
	}})
}

// Withdraw removes a bed's advisory of a kind.
func (s *Service) Withdraw(bed, kind string) {
	s.push(input{kind: inCmd, cmd: func(*Engine) error {
		delete(s.advisories, bed+"/"+kind)
		return nil
	}})
}

func (s *Service) advisoryList() []Advisory {
	out := make([]Advisory, 0, len(s.advisories))
	for _, a := range s.advisories {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Advisory) int {
		return cmp.Or(cmp.Compare(x.Bed, y.Bed), cmp.Compare(x.Kind, y.Kind))
	})
	return out
}
