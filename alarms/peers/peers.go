// Package peers gives the stations of a ward identities and signs what they
// share: alarm states and presence (docs/feed-protocol.md, "Between
// stations", protocol version 2).
//
// Each station has an Ed25519 key pair, made at first start and kept in a
// file only its user may read. The ward's trusted stations are a list an
// admin manages (enrol, revoke, fingerprints). A message between stations is
// an Envelope: the station's name, a sequence number that only grows, the
// time it was signed, the body, and a signature over all of these and the
// topic it was published on. A receiving station opens it with a Verifier,
// which refuses anything unsigned, from a station not on the list or
// revoked, with a bad signature, replayed (a sequence number below the
// last one seen from that station on that topic, or equal to it with
// another signature), or signed too far from now; the last message itself
// again is a duplicate (ErrDuplicate), dropped without a refusal:
//
//	signed               decision
//	-------------------  -----------------------------------------------------------------
//	up to now+Window     checked for replay (sequence per topic and station), accepted
//	after now+Window     refused: ErrStale
//
// An old message is accepted when its sequence number is above the last
// seen from its station on its topic: a retained state may be hours old (a
// restart's recovery), and a station that was away gets the messages queued
// for its session, as old as its absence. It can only ever be one a trusted
// station signed for that very topic (docs/security.md, residual risks).
package peers

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Version is the protocol version of signed station messages.
const Version = 2

// Refusals, each wrapped by Verifier.Open with the detail.
var (
	ErrUnsigned  = errors.New("unsigned (a version 1 message, or not a station message)")
	ErrMalformed = errors.New("malformed signed message")
	ErrUnknown   = errors.New("station not on the ward's trust list")
	ErrRevoked   = errors.New("station revoked")
	ErrSignature = errors.New("signature does not verify")
	ErrReplay    = errors.New("replayed (sequence number below the last seen)")
	// ErrDuplicate is the last message seen again, byte for byte in effect
	// (a QoS 1 redelivery, a retained copy at resubscription): not a
	// refusal, but nothing new to apply.
	ErrDuplicate = errors.New("duplicate of the last message")
	ErrStale     = errors.New("signed too far from now")
)

// Reason is a refusal's short name, for counters: "unsigned", "unknown",
// "revoked", "signature", "replay", "stale", "malformed" or "other".
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{{ErrUnsigned, "unsigned"}, {ErrUnknown, "unknown"}, {ErrRevoked, "revoked"}, {ErrSignature, "signature"},
		{ErrReplay, "replay"}, {ErrStale, "stale"}, {ErrMalformed, "malformed"}} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// Identity is this station's name and key pair.
type Identity struct {
	Name string
	Pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	seq  atomic.Uint64
}

const keyHeader = "vigil-station-key v1"

// LoadOrCreateIdentity reads the station key at path, or makes one there
// (mode 0600) when there is none; created says which. A key file that
// others may read is refused: the station cannot prove who it is once its
// key may have been copied.
func LoadOrCreateIdentity(path, name string) (id *Identity, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		text := keyHeader + "\n" + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("station key: %w", err)
		}
		_, werr := f.WriteString(text)
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return nil, false, fmt.Errorf("station key: %w", err)
		}
		return newIdentity(name, priv), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("station key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, fmt.Errorf("station key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("station key %s may be read by others (mode %04o): run chmod 600 on it, "+
			"or make a new key and enrol it again if it may have been copied", path, st.Mode().Perm())
	}
	head, rest, _ := strings.Cut(string(b), "\n")
	seed, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if strings.TrimSpace(head) != keyHeader || derr != nil || len(seed) != ed25519.SeedSize {
		return nil, false, fmt.Errorf("station key %s: not a Vigil station key", path)
	}
	return newIdentity(name, ed25519.NewKeyFromSeed(seed)), false, nil
}

// NewIdentity makes an identity with a fresh key that is kept nowhere (tests).
func NewIdentity(name string) *Identity {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return newIdentity(name, priv)
}

func newIdentity(name string, priv ed25519.PrivateKey) *Identity {
	return &Identity{Name: name, Pub: priv.Public().(ed25519.PublicKey), priv: priv}
}

// Fingerprint is what an admin compares when enrolling a station:
// "SHA256:" and the unpadded base64 of the key's SHA-256.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// PublicKey is the identity's public key as enrolled elsewhere ("ed25519:"
// and base64).
func (id *Identity) PublicKey() string { return FormatKey(id.Pub) }

// FormatKey writes a public key as "ed25519:<base64>".
func FormatKey(pub ed25519.PublicKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(pub)
}

// ParseKey reads "ed25519:<base64>" (the prefix may be left out).
func ParseKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: want ed25519:<base64 of 32 bytes> (vigil stations id shows it)", s)
	}
	return ed25519.PublicKey(b), nil
}

// Envelope is the wire form of a signed station message.
type Envelope struct {
	V       int    `json:"v"`
	Station string `json:"station"`
	Seq     uint64 `json:"seq"`
	Ts      int64  `json:"ts"`   // Unix ms when signed
	Body    string `json:"body"` // base64 of the signed body (a version 1 message)
	Sig     string `json:"sig"`  // base64 Ed25519 signature of signedBytes
}

// MaxMessage bounds a signed message before it is decoded.
const MaxMessage = 16 << 10

func signedBytes(topic, station string, seq uint64, ts int64, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(topic) + len(station) + len(body) + 48)
	b.WriteString("vigil-station-message v2\x00")
	b.WriteString(topic)
	b.WriteByte(0)
	b.WriteString(station)
	b.WriteByte(0)
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(ts, 10))
	b.WriteByte(0)
	b.Write(body)
	return b.Bytes()
}

// Sign wraps body, to be published on topic, in a signed envelope. Its
// sequence number is above every earlier one, across restarts too (it is at
// least the time in microseconds).
func (id *Identity) Sign(topic string, body []byte, now time.Time) []byte {
	seq := uint64(now.UnixMicro())
	for {
		last := id.seq.Load()
		if seq <= last {
			seq = last + 1
		}
		if id.seq.CompareAndSwap(last, seq) {
			break
		}
	}
	ts := now.UnixMilli()
	sig := ed25519.Sign(id.priv, signedBytes(topic, id.Name, seq, ts, body))
	out, _ := json.Marshal(Envelope{V: Version, Station: id.Name, Seq: seq, Ts: ts,
		Body: base64.StdEncoding.EncodeToString(body), Sig: base64.StdEncoding.EncodeToString(sig)})
	return out
}

// Entry is one station of the trust list.
type Entry struct {
	Name    string
	Key     ed25519.PublicKey
	Revoked bool
}

// Trust is the ward's list of trusted stations, kept in a text file:
//
//	# comment
//	station st-a ed25519:<base64>
//	station st-b ed25519:<base64> revoked
//
// Safe for concurrent use; Reload reads the file again (an admin's change
// from the command line reaches a running station).
type Trust struct {
	path string
	mu   sync.RWMutex
	byN  map[string]Entry
	mod  time.Time
}

// LoadTrust reads the trust list at path; a missing file is an empty list.
func LoadTrust(path string) (*Trust, error) {
	t := &Trust{path: path, byN: map[string]Entry{}}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// NewTrust is a trust list kept in memory only (tests).
func NewTrust(entries ...Entry) *Trust {
	t := &Trust{byN: map[string]Entry{}}
	for _, e := range entries {
		t.byN[e.Name] = e
	}
	return t
}

// Path is the file behind the list ("" in memory).
func (t *Trust) Path() string { return t.path }

// Reload reads the file again if it changed.
func (t *Trust) Reload() error {
	if t.path == "" {
		return nil
	}
	st, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		t.mu.Lock()
		t.byN, t.mod = map[string]Entry{}, time.Time{}
		t.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("trusted stations: %w", err)
	}
	t.mu.RLock()
	same := st.ModTime().Equal(t.mod) && !t.mod.IsZero()
	t.mu.RUnlock()
	if same {
		return nil
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("trusted stations %s may be changed by others (mode %04o): run chmod go-w on it", t.path, st.Mode().Perm())
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("trusted stations: %w", err)
	}
	m, err := parseTrust(b)
	if err != nil {
		return fmt.Errorf("trusted stations %s: %w", t.path, err)
	}
	t.mu.Lock()
	t.byN, t.mod = m, st.ModTime()
	t.mu.Unlock()
	return nil
}

func parseTrust(b []byte) (map[string]Entry, error) {
	m := map[string]Entry{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || len(f) > 4 || f[0] != "station" || (len(f) == 4 && f[3] != "revoked") || !ValidName(f[1]) {
			return nil, fmt.Errorf("line %d: want \"station NAME ed25519:KEY [revoked]\"", n)
		}
		k, err := ParseKey(f[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		m[f[1]] = Entry{Name: f[1], Key: k, Revoked: len(f) == 4}
	}
	return m, sc.Err()
}

// ValidName: 1–64 letters, digits, '-', '_' or '.' (a station id).
func ValidName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Lookup finds a station.
func (t *Trust) Lookup(name string) (Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.byN[name]
	return e, ok
}

// Entries lists the stations by name.
func (t *Trust) Entries() []Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Entry, 0, len(t.byN))
	for _, e := range t.byN {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Enrol adds a station (or replaces its key, un-revoking it) and saves the
// list.
func (t *Trust) Enrol(name string, key ed25519.PublicKey) error {
	if !ValidName(name) {
		return fmt.Errorf("station name %q: 1-64 letters, digits, '-', '_' or '.'", name)
	}
	if len(key) != ed25519.PublicKeySize {
		return errors.New("not an Ed25519 public key")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.byN {
		if e.Name != name && bytes.Equal(e.Key, key) {
			return fmt.Errorf("that key is already enrolled as station %s", e.Name)
		}
	}
	t.byN[name] = Entry{Name: name, Key: key}
	return t.saveLocked()
}

// Revoke marks a station revoked and saves the list: its messages are
// refused from then on, at every station that reads the list.
func (t *Trust) Revoke(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byN[name]
	if !ok {
		return fmt.Errorf("station %s is not on the trust list", name)
	}
	e.Revoked = true
	t.byN[name] = e
	return t.saveLocked()
}

func (t *Trust) saveLocked() error {
	if t.path == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("# Vigil: the stations this ward trusts (vigil stations list | enrol | revoke).\n")
	b.WriteString("# station NAME ed25519:KEY [revoked]\n")
	names := make([]string, 0, len(t.byN))
	for n := range t.byN {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		e := t.byN[n]
		fmt.Fprintf(&b, "station %s %s", e.Name, FormatKey(e.Key))
		if e.Revoked {
			b.WriteString(" revoked")
		}
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return err
	}
	tmp := t.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("trusted stations: %w", err)
	}
	if err := os.Rename(tmp, t.path); err != nil {
		return fmt.Errorf("trusted stations: %w", err)
	}
	if st, err := os.Stat(t.path); err == nil {
		t.mod = st.ModTime()
	}
	return nil
}

// DefaultWindow is how far from now a live message may have been signed.
const DefaultWindow = 2 * time.Minute

// maxReplayKeys bounds the replay table (topic and station pairs); beyond
// it the oldest half is forgotten, which only weakens the replay check of
// live messages whose timestamps are still inside the window.
const maxReplayKeys = 1 << 14

// Verifier opens signed messages against a trust list. Safe for concurrent use.
type Verifier struct {
	Trust  *Trust
	Window time.Duration // zero: DefaultWindow

	mu   sync.Mutex
	last map[string]seen // topic + "\x00" + station
}

type seen struct {
	seq uint64
	at  time.Time
	sig string
}

// Open checks a message received on topic, retained or live (the same
// rules: see the package comment), and returns the signing station and
// the body.
func (v *Verifier) Open(topic string, payload []byte, now time.Time) (station string, body []byte, err error) {
	if len(payload) > MaxMessage {
		return "", nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(payload), MaxMessage)
	}
	if len(payload) == 0 || payload[0] != '{' || !bytes.Contains(payload, []byte(`"sig"`)) {
		return "", nil, ErrUnsigned
	}
	var env Envelope
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&env); err != nil || d.More() {
		return "", nil, fmt.Errorf("%w: %v", ErrMalformed, cmpErr(err))
	}
	if env.V != Version {
		return "", nil, fmt.Errorf("%w: version %d, this station speaks %d", ErrMalformed, env.V, Version)
	}
	if !ValidName(env.Station) {
		return "", nil, fmt.Errorf("%w: station name", ErrMalformed)
	}
	body, err = base64.StdEncoding.DecodeString(env.Body)
	if err != nil {
		return env.Station, nil, fmt.Errorf("%w: body", ErrMalformed)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return env.Station, nil, fmt.Errorf("%w: signature", ErrMalformed)
	}
	e, ok := v.Trust.Lookup(env.Station)
	switch {
	case !ok:
		return env.Station, nil, fmt.Errorf("%w: %s", ErrUnknown, env.Station)
	case e.Revoked:
		return env.Station, nil, fmt.Errorf("%w: %s", ErrRevoked, env.Station)
	}
	if !ed25519.Verify(e.Key, signedBytes(topic, env.Station, env.Seq, env.Ts, body), sig) {
		return env.Station, nil, fmt.Errorf("%w: station %s on %s", ErrSignature, env.Station, topic)
	}
	w := v.Window
	if w <= 0 {
		w = DefaultWindow
	}
	signed := time.UnixMilli(env.Ts)
	// A message from the future is refused. An old one is not: a station
	// that was away gets the messages queued for its persistent session,
	// as old as its absence, and a retained state may be hours old. What
	// stops a replay is the sequence number (below); an old message a
	// station never saw newer of can only be one a trusted station signed
	// for that very topic, and merges only move forward.
	if signed.After(now.Add(w)) {
		return env.Station, nil, fmt.Errorf("%w: signed %s, now %s", ErrStale,
			signed.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if err := v.note(topic, &env, now); err != nil {
		return env.Station, nil, err
	}
	return env.Station, body, nil
}

// OpenOwn opens a message this station published itself, byte for byte
// (the caller knows it by a hash of what it sent): no signature to check,
// but its sequence number is noted, so that an older copy replayed later
// is refused as it would be from any station.
func (v *Verifier) OpenOwn(topic string, payload []byte, now time.Time) (body []byte, err error) {
	var env Envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if body, err = base64.StdEncoding.DecodeString(env.Body); err != nil {
		return nil, fmt.Errorf("%w: body", ErrMalformed)
	}
	if err := v.note(topic, &env, now); err != nil {
		return nil, ErrDuplicate // our own older message again: nothing new
	}
	return body, nil
}

// note checks env's sequence number against the last one seen from its
// station on topic and records it: ErrDuplicate for the last message
// again, ErrReplay for an older one.
func (v *Verifier) note(topic string, env *Envelope, now time.Time) error {
	key := topic + "\x00" + env.Station
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last == nil {
		v.last = map[string]seen{}
	}
	if s, ok := v.last[key]; ok && env.Seq <= s.seq {
		if env.Seq == s.seq && s.sig == env.Sig {
			return ErrDuplicate
		}
		return fmt.Errorf("%w: seq %d, last %d", ErrReplay, env.Seq, s.seq)
	}
	if len(v.last) >= maxReplayKeys {
		v.forgetOldest()
	}
	v.last[key] = seen{env.Seq, now, env.Sig}
	return nil
}

func (v *Verifier) forgetOldest() {
	ats := make([]time.Time, 0, len(v.last))
	for _, s := range v.last {
		ats = append(ats, s.at)
	}
	slices.SortFunc(ats, func(a, b time.Time) int { return a.Compare(b) })
	cut := ats[len(ats)/2]
	for k, s := range v.last {
		if !s.at.After(cut) {
			delete(v.last, k)
		}
	}
}

func cmpErr(err error) error {
	if err == nil {
		return errors.New("trailing data")
	}
	return err
}
