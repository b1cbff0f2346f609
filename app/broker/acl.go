package broker

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Access is what an ACL rule grants.
type Access uint8

// The accesses of an ACL rule.
const (
	Read      Access = 1 << iota // subscribe, and receive
	Write                        // publish
	ReadWrite = Read | Write
)

// ACL says who may publish and subscribe where (format in the package
// comment). The zero ACL allows nothing. It is safe for concurrent use once
// parsed.
type ACL struct {
	users    map[string][]rule // "user" sections
	patterns []rule            // "pattern" rules, for every user
}

// rule is one compiled topic or pattern rule.
type rule struct {
	access Access
	filter string  // as written, for messages
	levels []level // filter split at '/'
}

// level is one level of a rule's filter: a literal, '+', '#', or a
// template of literal parts and %u / %c substitutions.
type level struct {
	kind  byte // 'l' literal, '+', '#', 't' template
	lit   string
	parts []part // kind 't'
}

type part struct {
	sub byte // 0 literal, 'u' username, 'c' client id
	lit string
}

// ParseACL reads an ACL from r; name prefixes its errors ("acl:3: ...").
func ParseACL(r io.Reader, name string) (*ACL, error) {
	a := &ACL{users: map[string][]rule{}}
	user, inUser := "", false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(format string, args ...any) (*ACL, error) {
			return nil, fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		f := strings.Fields(line)
		switch f[0] {
		case "user":
			if len(f) != 2 {
				return fail("want \"user NAME\"")
			}
			if !validUsername(f[1]) {
				return fail("user %q: a name has no ':', spaces or control characters", f[1])
			}
			user, inUser = f[1], true
			if _, ok := a.users[user]; !ok {
				a.users[user] = nil
			}
		case "topic", "pattern":
			acc, filter, err := parseRuleFields(f[1:])
			if err != nil {
				return fail("%s: %v", f[0], err)
			}
			rl, err := compileRule(acc, filter, f[0] == "pattern")
			if err != nil {
				return fail("%s %s: %v", f[0], filter, err)
			}
			if f[0] == "pattern" {
				a.patterns = append(a.patterns, rl)
				continue
			}
			if !inUser {
				return fail("a topic rule belongs to a user: put a \"user NAME\" line before it")
			}
			a.users[user] = append(a.users[user], rl)
		default:
			return fail("unknown keyword %q (want user, topic or pattern)", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// LoadACL reads an ACL file.
func LoadACL(path string) (*ACL, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	defer f.Close()
	return ParseACL(f, path)
}

func parseRuleFields(f []string) (Access, string, error) {
	switch len(f) {
	case 1:
		return ReadWrite, f[0], nil
	case 2:
		switch f[0] {
		case "read":
			return Read, f[1], nil
		case "write":
			return Write, f[1], nil
		case "readwrite":
			return ReadWrite, f[1], nil
		}
		return 0, "", fmt.Errorf("access %q: want read, write or readwrite", f[0])
	}
	return 0, "", fmt.Errorf("want [read|write|readwrite] FILTER (a filter has no spaces)")
}

func compileRule(acc Access, filter string, pattern bool) (rule, error) {
	if filter == "" {
		return rule{}, fmt.Errorf("empty filter")
	}
	rl := rule{access: acc, filter: filter}
	ls := strings.Split(filter, "/")
	for i, s := range ls {
		switch {
		case s == "#":
			if i != len(ls)-1 {
				return rule{}, fmt.Errorf("'#' must be the last level")
			}
			rl.levels = append(rl.levels, level{kind: '#'})
		case s == "+":
			rl.levels = append(rl.levels, level{kind: '+'})
		case strings.ContainsAny(s, "+#"):
			return rule{}, fmt.Errorf("'+' and '#' must stand alone in a level")
		case pattern && strings.Contains(s, "%"):
			lv, err := compileTemplate(s)
			if err != nil {
				return rule{}, err
			}
			rl.levels = append(rl.levels, lv)
		default:
			rl.levels = append(rl.levels, level{kind: 'l', lit: s})
		}
	}
	return rl, nil
}

func compileTemplate(s string) (level, error) {
	lv := level{kind: 't'}
	for s != "" {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			lv.parts = append(lv.parts, part{lit: s})
			break
		}
		if i > 0 {
			lv.parts = append(lv.parts, part{lit: s[:i]})
		}
		if i+1 >= len(s) || (s[i+1] != 'u' && s[i+1] != 'c') {
			return level{}, fmt.Errorf("'%%' must be followed by u (username) or c (client id)")
		}
		lv.parts = append(lv.parts, part{sub: s[i+1]})
		s = s[i+2:]
	}
	return lv, nil
}

// Allowed reports whether user, connected as clientID, may publish on topic
// (acc Write) or subscribe to the filter / receive a message on the topic
// (acc Read). A shared subscription "$share/GROUP/FILTER" is checked as
// FILTER.
func (a *ACL) Allowed(user, clientID, topic string, acc Access) bool {
	if a == nil {
		return false
	}
	if acc == Read {
		topic = unshare(topic)
	}
	for _, r := range a.users[user] {
		if r.access&acc == acc && r.covers(topic, user, clientID) {
			return true
		}
	}
	for _, r := range a.patterns {
		if r.access&acc == acc && r.covers(topic, user, clientID) {
			return true
		}
	}
	return false
}

// unshare strips the "$share/GROUP/" of a shared subscription's filter.
func unshare(f string) string {
	rest, ok := strings.CutPrefix(f, "$share/")
	if !ok {
		return f
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i+1:]
	}
	return f
}

// substitutable reports whether a username or client id can stand in a
// topic level: not empty, and no '/', '+' or '#' that would widen a
// pattern.
func substitutable(s string) bool {
	return s != "" && !strings.ContainsAny(s, "/+#")
}

// covers reports whether every topic that s matches (s a topic name or a
// filter) is matched by the rule, with %u and %c replaced by user and id.
func (r *rule) covers(s, user, id string) bool {
	// Wildcards at the first level never match a '$' topic [MQTT-4.7.2-1].
	dollar := strings.HasPrefix(s, "$")
	rest, more := s, true
	for i, lv := range r.levels {
		if lv.kind == '#' {
			return !(dollar && i == 0)
		}
		if !more {
			return false // s has fewer levels than the rule
		}
		var sl string
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			sl, rest = rest[:j], rest[j+1:]
		} else {
			sl, more = rest, false
		}
		switch {
		case sl == "#":
			return false // only a '#' of the rule covers a '#' of s
		case lv.kind == '+':
			if dollar && i == 0 {
				return false
			}
		case sl == "+":
			return false // a literal or a name does not cover every level
		case lv.kind == 'l':
			if sl != lv.lit {
				return false
			}
		case lv.kind == 't':
			if !lv.matchTemplate(sl, user, id) {
				return false
			}
		}
	}
	return !more
}

func (lv *level) matchTemplate(sl, user, id string) bool {
	for _, p := range lv.parts {
		v := p.lit
		switch p.sub {
		case 'u':
			v = user
		case 'c':
			v = id
		}
		if p.sub != 0 && !substitutable(v) {
			return false
		}
		var ok bool
		if sl, ok = strings.CutPrefix(sl, v); !ok {
			return false
		}
	}
	return sl == ""
}
