package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestACLAllowed(t *testing.T) {
	acl, err := ParseACL(strings.NewReader(`
# comment
user station
topic read vigil/v1/#
topic vigil/v1/+/+/ack
topic write $SYS/broker/x

user logger
topic read #

pattern write vigil/v1/+/%u/#
pattern read devices/%c/cmd
pattern readwrite dev-%u-%c/x
`), "acl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, id, topic string
		acc             Access
		want            bool
	}{
		// user rules
		{"station", "s", "vigil/v1/ICU1/bed1/num", Read, true},
		{"station", "s", "vigil/v1/ICU1/bed1/num", Write, false},
		{"station", "s", "vigil/v1/#", Read, true},
		{"station", "s", "vigil/v1", Read, true}, // '#' matches its parent level
		{"station", "s", "vigil/#", Read, false},
		{"station", "s", "#", Read, false},
		{"station", "s", "vigil/v1/ICU1/bed1/ack", Write, true}, // readwrite by default
		{"station", "s", "vigil/v1/ICU1/bed1/ack", Read, true},
		{"station", "s", "vigil/v1/ICU1/+/ack", Read, true},
		{"station", "s", "vigil/v1/ICU1/bed1/ack/x", Write, false},
		{"station", "s", "vigil/v1/ICU1/ack", Write, false},
		{"station", "s", "$SYS/broker/x", Write, true},
		{"station", "s", "$share/g/vigil/v1/+/+/num", Read, true}, // a shared subscription's filter
		{"station", "s", "$share/g/other/#", Read, false},
		{"logger", "l", "anything/at/all", Read, true},
		{"logger", "l", "#", Read, true},
		{"logger", "l", "$SYS/broker/load", Read, false}, // '#' does not match '$' topics
		{"logger", "l", "anything", Write, false},
		{"nobody", "n", "vigil/v1/ICU1/bed1/num", Read, false},
		// patterns
		{"bed1", "d1", "vigil/v1/ICU1/bed1/num", Write, true},
		{"bed1", "d1", "vigil/v1/ICU2/bed1/wave", Write, true},
		{"bed1", "d1", "vigil/v1/ICU1/bed1", Write, true},
		{"bed1", "d1", "vigil/v1/ICU1/bed2/num", Write, false},
		{"bed1", "d1", "vigil/v1/ICU1/bed10/num", Write, false},
		{"bed1", "d1", "vigil/v1/ICU1/bed/num", Write, false},
		{"bed1", "d1", "vigil/v1/ICU1/bed1/num", Read, false},
		{"bed1", "d1", "vigil/v1/ICU1/+/num", Write, false},
		{"bed1", "d1", "devices/d1/cmd", Read, true},
		{"bed1", "d1", "devices/d2/cmd", Read, false},
		{"bed1", "d1", "devices/+/cmd", Read, false},
		{"bed1", "d1", "dev-bed1-d1/x", Write, true},
		{"bed1", "d1", "dev-bed1-d2/x", Write, false},
		{"bed1", "d1", "dev-bed1d1/x", Write, false},
		// a name that would widen a pattern does not substitute
		{"bed+1", "b", "vigil/v1/ICU1/bed+1/x", Write, false},
		{"+", "d", "vigil/v1/ICU1/+/num", Write, false},
		{"#", "d", "vigil/v1/ICU1/#", Write, false},
		{"a/b", "d", "vigil/v1/ICU1/a/b/num", Write, false},
		{"bed1", "+", "devices/+/cmd", Read, false},
		{"bed1", "", "devices//cmd", Read, false},
	} {
		if got := acl.Allowed(tc.user, tc.id, tc.topic, tc.acc); got != tc.want {
			t.Errorf("Allowed(%q, %q, %q, %d) = %v, want %v", tc.user, tc.id, tc.topic, tc.acc, got, tc.want)
		}
	}
	var none *ACL
	if none.Allowed("u", "c", "t", Read) {
		t.Error("a nil ACL allowed")
	}
}

func TestParseACLErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"topic read a/b", "acl:1: a topic rule belongs to a user"},
		{"user", "acl:1: want \"user NAME\""},
		{"user a b", "acl:1: want \"user NAME\""},
		{"user a\ntopic peek a/b", "acl:2: topic: access \"peek\""},
		{"user a\ntopic read a/b c", "acl:2: topic: want [read|write|readwrite] FILTER"},
		{"user a\ntopic", "acl:2: topic: want"},
		{"user a\n\n# x\ntopic read a/#/b", "acl:4: topic a/#/b: '#' must be the last level"},
		{"pattern read a/b+", "acl:1: pattern a/b+: '+' and '#' must stand alone"},
		{"pattern read a/%x", "acl:1: pattern a/%x: '%' must be followed by u"},
		{"pattern read a/%", "acl:1: pattern a/%: '%' must be followed by u"},
		{"allow all", "acl:1: unknown keyword \"allow\""},
	} {
		_, err := ParseACL(strings.NewReader(tc.in), "acl")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseACL(%q): %v, want %q...", tc.in, err, tc.want)
		}
	}
}

func TestPasswords(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := bcrypt.Cost([]byte(h)); c != bcrypt.DefaultCost {
		t.Errorf("HashPassword cost %d", c)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")) != nil {
		t.Error("HashPassword's hash does not match")
	}
	// Cheap hashes for the rest (bcrypt at its default cost is slow under
	// the race detector).
	h1, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	h = string(h1)
	low, _ := bcrypt.GenerateFromPassword([]byte("other"), bcrypt.MinCost)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	aclFile := filepath.Join(dir, "acl")
	os.WriteFile(pwFile, []byte("# ward devices\n\nbed1:"+h+"\n  bed2:"+string(low)+"  \n"+
		"bed4:"+strings.Replace(string(low), "$2a$", "$2y$", 1)+"\n"), 0o600) // htpasswd -B's prefix
	os.WriteFile(aclFile, []byte(wardACL), 0o600)
	a, err := LoadAuth(pwFile, aclFile)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ACL.Allowed("bed1", "x", "vigil/v1/ICU1/bed1/num", Write) {
		t.Error("the ACL file was not read")
	}
	p := a.Passwords
	for _, tc := range []struct {
		user, pass string
		want       bool
	}{
		{"bed1", "s3cret", true},
		{"bed1", "s3cret", true}, // remembered
		{"bed1", "S3cret", false},
		{"bed1", "", false},
		{"bed2", "other", true},
		{"bed2", "s3cret", false},
		{"bed3", "s3cret", false},
		{"bed4", "other", true},
		{"", "", false},
	} {
		if got := p.Check(tc.user, []byte(tc.pass)); got != tc.want {
			t.Errorf("Check(%q, %q) = %v", tc.user, tc.pass, got)
		}
	}
	if a, err := LoadAuth(pwFile, ""); err != nil || a.ACL != nil {
		t.Errorf("LoadAuth without an ACL: %v, %v", a, err)
	}
	if _, err := LoadAuth(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("a missing password file was accepted")
	}
	if _, err := LoadAuth(pwFile, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing ACL file was accepted")
	}

	for _, tc := range []struct{ in, want string }{
		{"bed1", "pw:1: want user:bcrypt-hash"},
		{"bed1:plain", "pw:1: user bed1: not a bcrypt hash"},
		{"bed 1:" + h, "pw:1: user \"bed 1\""},
		{":" + h, "pw:1: user \"\""},
		{"a:" + h + "\na:" + h, "pw:2: user a appears twice"},
		{"# nobody\n", "pw: no users"},
	} {
		_, err := ParsePasswords(strings.NewReader(tc.in), "pw")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParsePasswords(%q): %v, want %q...", tc.in, err, tc.want)
		}
	}
}
