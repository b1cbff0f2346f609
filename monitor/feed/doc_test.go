package feed

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// These tests keep docs/feed-protocol.md true: every example in it decodes,
// every command line in it publishes a valid message, and its code tables
// match codes.go.

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "feed-protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type docExample struct{ label, body string }

// docExamples finds the JSON code blocks marked <!-- example: <stream> ... -->.
func docExamples(t *testing.T, doc string) []docExample {
	t.Helper()
	re := regexp.MustCompile("(?s)<!-- example: ([^>]*?) -->\\s*```json\\n(.*?)```")
	var out []docExample
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		out = append(out, docExample{label: m[1], body: m[2]})
	}
	return out
}

// decodeStream decodes a payload as the stream it is published on.
func decodeStream(s Stream, b []byte) error {
	var err error
	switch s {
	case StreamWave:
		var f WaveFrame
		err = DecodeWaveAny(b, &f)
	case StreamNum:
		_, err = DecodeNum(b)
	case StreamStatus:
		_, err = DecodeStatus(b)
	case StreamAlarm:
		_, err = DecodeAlarm(b)
	case StreamEvent:
		_, err = DecodeEvent(b)
	default:
		err = fmt.Errorf("no stream %q", s)
	}
	return err
}

func TestDocumentedJSONExamples(t *testing.T) {
	ex := docExamples(t, readDoc(t))
	seen := map[Stream]bool{}
	for i, e := range ex {
		if strings.HasPrefix(e.label, "station-") {
			continue // station-to-station messages: checked by the alarms package
		}
		s := Stream(strings.Fields(e.label)[0])
		seen[s] = true
		if err := decodeStream(s, []byte(e.body)); err != nil {
			t.Errorf("example %d (%s): %v\n%s", i, e.label, err, e.body)
		}
	}
	for _, s := range []Stream{StreamWave, StreamNum, StreamStatus, StreamAlarm, StreamEvent} {
		if !seen[s] {
			t.Errorf("no checked example for stream %s", s)
		}
	}
	// Every ```json block is a checked example.
	if n := strings.Count(readDoc(t), "```json"); n != len(ex) {
		t.Errorf("%d JSON blocks, %d of them marked as examples", n, len(ex))
	}
}

// TestDocumentedCommands decodes the payload of every mosquitto_pub line, with
// $T (the time now, in ms) replaced by a time.
func TestDocumentedCommands(t *testing.T) {
	lines := 0
	for _, line := range strings.Split(readDoc(t), "\n") {
		if !strings.HasPrefix(line, "mosquitto_pub ") {
			continue
		}
		lines++
		f := strings.Fields(line)
		var topic string
		for i := range f[:len(f)-1] {
			if f[i] == "-t" {
				topic = f[i+1]
			}
		}
		_, _, stream, err := ParseTopic(topic)
		if err != nil {
			t.Errorf("%s: topic: %v", line, err)
			continue
		}
		if strings.HasSuffix(line, " -n") {
			continue // clears a retained message
		}
		_, payload, ok := strings.Cut(line, " -m '")
		if !ok || !strings.HasSuffix(payload, "'") {
			t.Errorf("%s: want -m '<payload>' last", line)
			continue
		}
		payload = strings.ReplaceAll(strings.TrimSuffix(payload, "'"), "'$T'", strconv.Itoa(1732400000000))
		if strings.Contains(payload, "'") {
			t.Errorf("%s: stray quote in the payload", line)
		}
		if err := decodeStream(stream, []byte(payload)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
		if stream == StreamStatus && (!strings.Contains(line, " -q 1 ") || !strings.Contains(line, " -r ")) {
			t.Errorf("%s: a status is published retained at QoS 1", line)
		}
	}
	if lines < 3 {
		t.Errorf("%d mosquitto_pub lines; want the quick start's status, wave and num", lines)
	}
}

// TestDocumentedCodes: each alias of codes.go is in a table row with its code.
func TestDocumentedCodes(t *testing.T) {
	rows := map[string]string{} // code -> lower-cased table row
	for _, line := range strings.Split(readDoc(t), "\n") {
		if f := strings.Split(line, "|"); len(f) > 3 && strings.HasPrefix(line, "| 1") {
			rows[strings.TrimSpace(f[1])] += strings.ToLower(line)
		}
	}
	for name, table := range map[string]map[string]uint32{"numerics": aliases, "waveform": waveAliases} {
		for alias, code := range table {
			row, ok := rows[strconv.Itoa(int(code))]
			if !ok || !strings.Contains(row, "`"+alias+"`") {
				t.Errorf("%s alias %s (%d) is not in the document's code tables", name, alias, code)
			}
		}
	}
}
