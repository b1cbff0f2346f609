package mqttfeed

import (
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func TestDescribe(t *testing.T) {
	b := "tcp://mqtt:1883"
	cases := []struct {
		err     error
		want    string
		refused bool
	}{
		{packets.ErrorRefusedBadUsernameOrPassword, `refused the login (user "st"): wrong user name or password`, true},
		{packets.ErrorRefusedNotAuthorised, `refused the login (user "st"): not authorised`, true},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, x509.UnknownAuthorityError{}), "not signed by a trusted CA", true},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, io.EOF), "TLS-only port", true},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "connection refused (is it running?)", false},
		{fmt.Errorf("odd"), "cannot connect to broker tcp://mqtt:1883: odd", false},
	}
	for _, c := range cases {
		msg, refused := Describe(c.err, b, "st")
		if !strings.Contains(msg, c.want) || refused != c.refused || strings.Contains(msg, "\n") {
			t.Errorf("%v: %q refused=%v; want %q refused=%v", c.err, msg, refused, c.want, c.refused)
		}
	}
}

func TestValidateURL(t *testing.T) {
	for _, ok := range []string{"tcp://10.0.0.1:1883", "ssl://mqtt.example:8883", "mqtts://h:8883", "ws://h:80"} {
		if err := ValidateURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"mqtt.example:1883", "tcp://host", "http://h:80", "tcp://:1883", "::"} {
		if ValidateURL(bad) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestTLSConfigFileErrors(t *testing.T) {
	if _, err := (TLS{CAFile: "/nonexistent/ca.pem"}).Config(); err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Errorf("missing CA: %v", err)
	}
	if _, err := (TLS{CertFile: "c.pem"}).Config(); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("cert without key: %v", err)
	}
	if !IsTLSURL("ssl://h:1") || IsTLSURL("tcp://h:1") {
		t.Error("IsTLSURL")
	}
}

func TestTopicMatch(t *testing.T) {
	for _, c := range []struct {
		f, t string
		want bool
	}{
		{"vigil/v1/W/alarms/+/+", "vigil/v1/W/alarms/05/05.hr-high.1", true},
		{"vigil/v1/W/alarms/+/+", "vigil/v1/W/alarms/05", false},
		{"vigil/v1/W/alarms/+/+", "vigil/v1/W/05/num", false},
		{"vigil/v1/W/stations/#", "vigil/v1/W/stations/a", true},
		{"vigil/v1/W/stations/+", "vigil/v1/X/stations/a", false},
	} {
		if got := topicMatch(c.f, c.t); got != c.want {
			t.Errorf("topicMatch(%q, %q) = %v", c.f, c.t, got)
		}
	}
}
