package mqttfeed

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// LinkState is the station's connection to the broker as the UI and the
// alarm engine see it: a technical condition when not connected.
type LinkState struct {
	Connected bool
	// Refused is true when the broker or the TLS handshake turned the station
	// away (credentials, certificate, authorisation, wrong protocol on the
	// port): retrying alone will not fix it, the configuration must change.
	Refused  bool
	Problem  string    // one line for the screen and the log; empty when connected
	Since    time.Time // when the current state began
	Attempts uint64    // failed connection attempts since the last success
}

// Describe turns a connection error into one line a nurse can read out to IT
// and IT can act on, and says whether it is a refusal (configuration) rather
// than an outage.
func Describe(err error, broker, user string) (msg string, refused bool) {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recErr    tls.RecordHeaderError
		alert     tls.AlertError
		netOp     *net.OpError
	)
	who := "no user name"
	if user != "" {
		who = fmt.Sprintf("user %q", user)
	}
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fmt.Sprintf("broker %s refused the login (%s): wrong user name or password", broker, who), true
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		// MQTT 3.1.1 brokers (mosquitto among them) answer a wrong password with this code too.
		return fmt.Sprintf("broker %s refused the login (%s): not authorised — wrong user name or password, or no access for this user", broker, who), true
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return fmt.Sprintf("broker %s rejected the station's client id", broker), true
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return fmt.Sprintf("broker %s does not accept MQTT 3.1.1", broker), true
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("TLS: the certificate of broker %s is not signed by a trusted CA (check the CA file)", broker), true
	case errors.As(err, &hostErr):
		return fmt.Sprintf("TLS: the certificate of broker %s is not valid for this host name (%v)", broker, hostErr.Error()), true
	case errors.As(err, &invalid):
		return fmt.Sprintf("TLS: the certificate of broker %s is not valid: %v", broker, invalid.Error()), true
	case errors.As(err, &recErr):
		return fmt.Sprintf("broker %s does not speak TLS on this port: use tcp:// or the TLS port", broker), true
	case errors.As(err, &alert) || strings.Contains(err.Error(), "remote error: tls"):
		return fmt.Sprintf("TLS: broker %s refused the handshake (%v): check the client certificate", broker, err), true
	case (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) && IsTLSURL(broker):
		return fmt.Sprintf("broker %s closed the TLS connection during the handshake: it requires a client certificate, or refused the one given", broker), true
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("broker %s closed the connection during the MQTT handshake: is it a TLS-only port? use ssl://", broker), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach broker %s: connection refused (is it running?)", broker), false
	case errors.As(err, &netOp) && netOp.Timeout():
		return fmt.Sprintf("no answer from broker %s (timeout)", broker), false
	}
	return fmt.Sprintf("cannot connect to broker %s: %v", broker, err), false
}
