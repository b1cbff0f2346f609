package peers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

const topic = "vigil/v1/icu/alarms/03/03.spo2-desat.1"

func verifier(ids ...*Identity) *Verifier {
	tr := NewTrust()
	for _, id := range ids {
		tr.byN[id.Name] = Entry{Name: id.Name, Key: id.Pub}
	}
	return &Verifier{Trust: tr}
}

func TestSignAndOpen(t *testing.T) {
	a := NewIdentity("st-a")
	v := verifier(a)
	body := []byte(`{"id":"x"}`)
	msg := a.Sign(topic, body, t0)
	st, got, err := v.Open(topic, msg, t0.Add(time.Second))
	if err != nil || st != "st-a" || !bytes.Equal(got, body) {
		t.Fatalf("Open = %q %q %v", st, got, err)
	}
}

// Every way of forging, replaying or mangling a message is refused, each
// with its own reason.
func TestOpenRefuses(t *testing.T) {
	a, b, rogue := NewIdentity("st-a"), NewIdentity("st-b"), NewIdentity("rogue")
	v := verifier(a, b)
	body := []byte(`{"id":"x","inactivation":"acknowledged"}`)
	early := a.Sign(topic, body, t0) // signed first, received after good: a replay
	good := a.Sign(topic, body, t0)
	if _, _, err := v.Open(topic, good, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Open(topic, good, t0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("the same message again (a QoS 1 redelivery): %v, want ErrDuplicate", err)
	}
	mutate := func(f func(*Envelope)) []byte {
		var e Envelope
		_ = json.Unmarshal(a.Sign(topic, body, t0), &e)
		f(&e)
		out, _ := json.Marshal(e)
		return out
	}
	revokedTrust := verifier(a, b)
	ea := revokedTrust.Trust.byN["st-a"]
	ea.Revoked = true
	revokedTrust.Trust.byN["st-a"] = ea

	cases := []struct {
		name  string
		v     *Verifier
		topic string
		msg   []byte
		now   time.Time
		want  error
	}{
		{"version 1 message", v, topic, body, t0, ErrUnsigned},
		{"empty", v, topic, nil, t0, ErrUnsigned},
		{"garbage", v, topic, []byte(`{"sig":`), t0, ErrMalformed},
		{"unknown field", v, topic, []byte(`{"v":2,"sig":"","x":1}`), t0, ErrMalformed},
		{"oversize", v, topic, append([]byte(`{"sig":"`), bytes.Repeat([]byte("a"), MaxMessage)...), t0, ErrMalformed},
		{"unknown station", v, topic, rogue.Sign(topic, body, t0), t0, ErrUnknown},
		{"revoked station", revokedTrust, topic, a.Sign(topic, body, t0), t0, ErrRevoked},
		{"another topic", v, topic + "9", a.Sign(topic, body, t0), t0, ErrSignature},
		{"body changed", v, topic, mutate(func(e *Envelope) {
			e.Body = base64.StdEncoding.EncodeToString([]byte(`{"id":"y","inactivation":"acknowledged"}`))
		}), t0, ErrSignature},
		{"claims another station", v, topic, mutate(func(e *Envelope) { e.Station = "st-b" }), t0, ErrSignature},
		{"seq changed", v, topic, mutate(func(e *Envelope) { e.Seq++ }), t0, ErrSignature},
		{"time changed", v, topic, mutate(func(e *Envelope) { e.Ts -= 1000 }), t0, ErrSignature},
		{"short signature", v, topic, mutate(func(e *Envelope) { e.Sig = "AAAA" }), t0, ErrMalformed},
		{"wrong version", v, topic, mutate(func(e *Envelope) { e.V = 3 }), t0, ErrMalformed},
		{"replayed", v, topic, early, t0, ErrReplay},
		{"from the future", v, topic, a.Sign(topic, body, t0.Add(10*time.Minute)), t0, ErrStale},
	}
	for _, c := range cases {
		_, _, err := c.v.Open(c.topic, c.msg, c.now)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if Reason(err) == "other" {
			t.Errorf("%s: no reason for %v", c.name, err)
		}
	}
	// An old message may be genuine: a retained state (the ward's active
	// alarms after a restart), or one queued for a station that was away.
	for i := range 2 {
		tp := fmt.Sprintf("vigil/v1/icu/alarms/04/x%d", i)
		older := a.Sign(tp, body, t0.Add(-4*time.Hour))
		old := a.Sign(tp, body, t0.Add(-3*time.Hour))
		if _, _, err := v.Open(tp, old, t0); err != nil {
			t.Fatalf("an old state (%d) was refused: %v", i, err)
		}
		if _, _, err := v.Open(tp, older, t0); !errors.Is(err, ErrReplay) {
			t.Fatalf("an older one after it: %v, want a replay", err)
		}
	}
}

// Sequence numbers grow across restarts of the signing station (a new
// Identity from the same key) and under a clock that stands still.
func TestSeqGrows(t *testing.T) {
	a := NewIdentity("st-a")
	v := verifier(a)
	for i := range 5 {
		if _, _, err := v.Open(topic, a.Sign(topic, []byte("{}"), t0), t0); err != nil {
			t.Fatalf("message %d at one instant: %v", i, err)
		}
	}
	restarted := newIdentity("st-a", a.priv)
	if _, _, err := v.Open(topic, restarted.Sign(topic, []byte("{}"), t0.Add(time.Second)), t0.Add(time.Second)); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}

func TestIdentityFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "station.key")
	a, created, err := LoadOrCreateIdentity(path, "st-a")
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", st.Mode().Perm())
	}
	b, created, err := LoadOrCreateIdentity(path, "st-a")
	if err != nil || created || !bytes.Equal(a.Pub, b.Pub) {
		t.Fatalf("reload: %v %v", created, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateIdentity(path, "st-a"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key others can read was taken: %v", err)
	}
	_ = os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateIdentity(path, "st-a"); err == nil {
		t.Fatal("garbage taken as a key")
	}
}

func TestTrustFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trusted-stations")
	tr, err := LoadTrust(path)
	if err != nil || len(tr.Entries()) != 0 {
		t.Fatalf("missing file: %v %v", tr.Entries(), err)
	}
	a, b := NewIdentity("st-a"), NewIdentity("st-b")
	if err := tr.Enrol("st-a", a.Pub); err != nil {
		t.Fatal(err)
	}
	if err := tr.Enrol("st-b", b.Pub); err != nil {
		t.Fatal(err)
	}
	if err := tr.Enrol("st-c", a.Pub); err == nil {
		t.Fatal("one key enrolled under two names")
	}
	if err := tr.Enrol("bad name", b.Pub); err == nil {
		t.Fatal("a name with a space enrolled")
	}
	if err := tr.Revoke("st-b"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Revoke("st-x"); err == nil {
		t.Fatal("revoked a station that is not there")
	}
	again, err := LoadTrust(path)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Entries()
	if len(got) != 2 || got[0].Name != "st-a" || got[0].Revoked || got[1].Name != "st-b" || !got[1].Revoked {
		t.Fatalf("reloaded %+v", got)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("trust file mode %o", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrust(path); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Fatalf("a trust list others may change was taken: %v", err)
	}
	_ = os.Chmod(path, 0o644) // readable by others is fine: public keys
	for _, bad := range []string{"station st-a\n", "station st-a ed25519:AAAA\n", "node st-a " + FormatKey(a.Pub) + "\n",
		"station st-a " + FormatKey(a.Pub) + " trusted\n"} {
		if _, err := parseTrust([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzOpen(f *testing.F) {
	a := NewIdentity("st-a")
	f.Add(a.Sign(topic, []byte(`{"id":"x"}`), t0))
	f.Add([]byte(`{"v":2,"station":"st-a","seq":1,"ts":1,"body":"","sig":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := verifier(a)
		if _, body, err := v.Open(topic, b, t0); err == nil && body == nil {
			t.Fatal("accepted with no body")
		}
	})
}

func BenchmarkSign(b *testing.B) {
	a := NewIdentity("st-a")
	body := bytes.Repeat([]byte("x"), 700)
	b.ReportAllocs()
	for b.Loop() {
		a.Sign(topic, body, t0)
	}
}

func BenchmarkOpen(b *testing.B) {
	a := NewIdentity("st-a")
	v := verifier(a)
	body := bytes.Repeat([]byte("x"), 700)
	msgs := make([][]byte, 1024)
	for i := range msgs {
		msgs[i] = a.Sign(topic, body, t0)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v.last = nil // each message once: measure the verification, not the replay refusal
		if _, _, err := v.Open(topic, msgs[i%len(msgs)], t0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// The signed example in docs/feed-protocol.md verifies with the key it names.
func TestDocumentedEnvelope(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "feed-protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- example: station-envelope \\(topic (\\S+), key (\\S+)\\) -->\\s*```json\\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no station-envelope example in docs/feed-protocol.md")
	}
	key, err := ParseKey(string(m[2]))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Trust: NewTrust(Entry{Name: "icu1-central", Key: key})}
	msg := bytes.Join(bytes.Fields(m[3]), nil) // the example is wrapped for reading
	st, body, err := v.Open(string(m[1]), msg, time.UnixMilli(1732400000123))
	if err != nil || st != "icu1-central" || !bytes.Contains(body, []byte(`"station":"icu1-central"`)) {
		t.Fatalf("the documented envelope: %q %s %v", st, body, err)
	}
}
