package feed

import (
	"strconv"
)

// numEntry is one member of a numerics message's "values" object.
type numEntry struct {
	key string
	w   numValueWire
}

// decodeNumFast reads the plain shape of a numerics message without
// reflection: exact lower-case member names, each once, ASCII strings
// without escapes, numbers, true/false. ok is false for anything else —
// escapes, repeated or differently cased members, nulls where encoding/json
// would keep a default, trailing data, any syntax error — and the caller
// then decodes with encoding/json, which decides. When ok is true the result
// is what encoding/json would have produced (a differential fuzz target
// holds the two to that).
func decodeNumFast(b []byte, entries []numEntry) (ts int64, seq uint32, out []numEntry, ok bool) {
	d := &waveJSONDecoder{b: b}
	var name [16]byte
	if d.expect('{') != nil || d.next() == '}' {
		return 0, 0, nil, false
	}
	var haveTs, haveSeq, haveValues bool
	for {
		key, long, err := d.str(name[:])
		if err != nil || long || d.expect(':') != nil {
			return 0, 0, nil, false
		}
		switch string(key) {
		case "ts":
			text, integer, err := d.number()
			if haveTs || err != nil || !integer {
				return 0, 0, nil, false
			}
			if ts, err = strconv.ParseInt(string(text), 10, 64); err != nil {
				return 0, 0, nil, false
			}
			haveTs = true
		case "seq":
			text, integer, err := d.number()
			if haveSeq || err != nil || !integer {
				return 0, 0, nil, false
			}
			v, err := strconv.ParseUint(string(text), 10, 32)
			if err != nil {
				return 0, 0, nil, false
			}
			seq, haveSeq = uint32(v), true
		case "values":
			if haveValues {
				return 0, 0, nil, false
			}
			if entries, ok = d.numValues(entries[:0]); !ok {
				return 0, 0, nil, false
			}
			haveValues = true
		default:
			return 0, 0, nil, false
		}
		more, err := d.more('}')
		if err != nil {
			return 0, 0, nil, false
		}
		if !more {
			break
		}
	}
	if d.ws(); d.i != len(d.b) || !haveTs || !haveValues {
		return 0, 0, nil, false
	}
	return ts, seq, entries, true
}

// numValues reads the "values" object: key -> {"v":..., "unit":..., "valid":...}.
func (d *waveJSONDecoder) numValues(entries []numEntry) ([]numEntry, bool) {
	var kbuf, nbuf [24]byte
	if d.expect('{') != nil || d.next() == '}' {
		return nil, false
	}
	for {
		key, long, err := d.str(kbuf[:])
		if err != nil || long || d.expect(':') != nil || d.expect('{') != nil {
			return nil, false
		}
		for _, e := range entries {
			if e.key == string(key) {
				return nil, false // repeated parameter: let encoding/json decide
			}
		}
		e := numEntry{key: string(key)}
		var haveV, haveUnit, haveValid bool
		if d.next() != '}' {
			for {
				name, long, err := d.str(nbuf[:])
				if err != nil || long || d.expect(':') != nil {
					return nil, false
				}
				switch string(name) {
				case "v":
					if haveV {
						return nil, false
					}
					start := skipSpace(d.b, d.i)
					switch d.next() {
					case 'n':
						if !d.literal("null") {
							return nil, false
						}
					case '"':
						if _, long, err := d.str(nbuf[:]); err != nil || long {
							return nil, false
						}
					default:
						if _, _, err := d.number(); err != nil {
							return nil, false
						}
					}
					e.w.V = d.b[start:d.i]
					haveV = true
				case "unit":
					var ubuf [32]byte
					u, long, err := d.str(ubuf[:])
					if haveUnit || err != nil || long {
						return nil, false
					}
					e.w.Unit, haveUnit = string(u), true
				case "valid":
					if haveValid {
						return nil, false
					}
					var v bool
					switch {
					case d.literal("true"):
						v = true
					case d.literal("false"):
					default:
						return nil, false
					}
					e.w.Valid, haveValid = &v, true
				default:
					return nil, false
				}
				more, err := d.more('}')
				if err != nil {
					return nil, false
				}
				if !more {
					break
				}
			}
		} else {
			d.i++
		}
		entries = append(entries, e)
		more, err := d.more('}')
		if err != nil {
			return nil, false
		}
		if !more {
			return entries, true
		}
	}
}

// literal consumes lit (after whitespace) if it is next.
func (d *waveJSONDecoder) literal(lit string) bool {
	d.ws()
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}
