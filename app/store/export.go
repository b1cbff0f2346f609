package store

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// exportRow is one row as the hospital's records get it.
type exportRow struct {
	Seq     int64  `json:"seq"`
	At      string `json:"at"`
	Kind    string `json:"kind"`
	Event   string `json:"event"`
	AlarmID string `json:"alarm_id,omitempty"`
	Bed     string `json:"bed,omitempty"`
	Who     string `json:"who,omitempty"`
	Role    string `json:"role,omitempty"`
	Station string `json:"station,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Old     string `json:"old,omitempty"`
	New     string `json:"new,omitempty"`
	Hash    string `json:"hash"`
}

var exportHeader = []string{"seq", "at", "kind", "event", "alarm_id", "bed", "who", "role", "station", "detail", "old", "new", "hash"}

// Export writes the rows with from <= at < to (zero = open) as "csv" or
// "json" (an array), oldest first, with each row's chain hash so a copy
// can be checked against the journal. It returns the number of rows.
func (s *Store) Export(ctx context.Context, w io.Writer, from, to time.Time, format string) (int, error) {
	if format != "csv" && format != "json" {
		return 0, fmt.Errorf("format %q: use csv or json", format)
	}
	var cw *csv.Writer
	var enc *json.Encoder
	if format == "csv" {
		cw = csv.NewWriter(w)
		if err := cw.Write(exportHeader); err != nil {
			return 0, err
		}
	} else {
		if _, err := io.WriteString(w, "["); err != nil {
			return 0, err
		}
		enc = json.NewEncoder(w)
	}
	n := 0
	var after int64
	for { // in pages, so a year of journal does not sit in memory
		evs, err := s.Events(ctx, Filter{From: from, To: to, AfterSeq: after, Limit: 5000})
		if err != nil {
			return n, err
		}
		for _, e := range evs {
			r := exportRow{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Kind: e.Kind, Event: e.Event, AlarmID: e.AlarmID,
				Bed: e.Bed, Who: e.Who, Role: e.Role, Station: e.Station, Detail: e.Detail, Old: e.Old, New: e.New,
				Hash: hex.EncodeToString(e.Hash)}
			if cw != nil {
				err = cw.Write([]string{strconv.FormatInt(r.Seq, 10), r.At, r.Kind, r.Event, r.AlarmID, r.Bed, r.Who, r.Role,
					r.Station, r.Detail, r.Old, r.New, r.Hash})
			} else {
				if n > 0 {
					if _, err := io.WriteString(w, ","); err != nil {
						return n, err
					}
				}
				err = enc.Encode(r)
			}
			if err != nil {
				return n, err
			}
			n++
			after = e.Seq
		}
		if len(evs) < 5000 {
			break
		}
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	_, err := io.WriteString(w, "]\n")
	return n, err
}
