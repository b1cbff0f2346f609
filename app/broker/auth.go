package broker

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// Auth turns authentication on: every client must give a username and
// password from Passwords, and may then publish and subscribe as ACL allows
// (nil ACL: anywhere, as mosquitto does without an acl_file).
type Auth struct {
	Passwords *Passwords
	ACL       *ACL
}

// LoadAuth reads a password file and, unless aclFile is empty, an ACL file.
func LoadAuth(passwordFile, aclFile string) (*Auth, error) {
	pw, err := LoadPasswords(passwordFile)
	if err != nil {
		return nil, err
	}
	a := &Auth{Passwords: pw}
	if aclFile != "" {
		if a.ACL, err = LoadACL(aclFile); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Passwords holds the bcrypt hashes of a password file.
type Passwords struct {
	hash map[string][]byte

	mu    sync.Mutex
	valid map[string][sha256.Size]byte // user -> SHA-256 of a password bcrypt accepted

	// dummy is compared against for an unknown user, so that a wrong
	// username takes as long to refuse as a wrong password: a hash of the
	// file's highest cost, made when first needed.
	dummy func() []byte
}

// bcryptSlots bounds the bcrypt comparisons that run at once (each takes
// tens of milliseconds of a core), so a flood of CONNECTs with wrong
// passwords queues behind them instead of taking every core.
var bcryptSlots = make(chan struct{}, 2)

// HashPassword returns the bcrypt hash (cost bcrypt.DefaultCost) of a
// password, for a password file line "user:HASH".
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// ParsePasswords reads a password file from r; name prefixes its errors.
func ParsePasswords(r io.Reader, name string) (*Passwords, error) {
	p := &Passwords{hash: map[string][]byte{}, valid: map[string][sha256.Size]byte{}}
	cost := bcrypt.MinCost
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want user:bcrypt-hash", name, n)
		}
		if !validUsername(user) {
			return nil, fmt.Errorf("%s:%d: user %q: a name is not empty and has no ':', spaces or control characters", name, n, user)
		}
		if _, dup := p.hash[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %s appears twice", name, n, user)
		}
		c, err := bcrypt.Cost([]byte(hash))
		if err != nil || !strings.HasPrefix(hash, "$2") {
			return nil, fmt.Errorf("%s:%d: user %s: not a bcrypt hash ($2a$, $2b$ or $2y$)", name, n, user)
		}
		p.hash[user] = []byte(hash)
		cost = max(cost, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(p.hash) == 0 {
		return nil, fmt.Errorf("%s: no users", name)
	}
	p.dummy = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("not anyone's password"), cost)
		return h
	})
	return p, nil
}

// LoadPasswords reads a password file.
func LoadPasswords(path string) (*Passwords, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	return ParsePasswords(f, path)
}

func validUsername(u string) bool {
	if u == "" || len(u) > 256 {
		return false
	}
	for _, r := range u {
		if r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Check reports whether password is user's. A password bcrypt accepted once
// is remembered (as its SHA-256) so that a ward's devices reconnecting at
// once after a network fault do not queue behind bcrypt.
func (p *Passwords) Check(user string, password []byte) bool {
	sum := sha256.Sum256(password)
	p.mu.Lock()
	v, ok := p.valid[user]
	p.mu.Unlock()
	if ok && subtle.ConstantTimeCompare(v[:], sum[:]) == 1 {
		return true
	}
	hash, known := p.hash[user]
	if !known {
		hash = p.dummy()
	}
	bcryptSlots <- struct{}{}
	err := bcrypt.CompareHashAndPassword(hash, password)
	<-bcryptSlots
	if err != nil || !known {
		return false
	}
	p.mu.Lock()
	p.valid[user] = sum
	p.mu.Unlock()
	return true
}
