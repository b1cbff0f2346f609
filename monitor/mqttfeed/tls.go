package mqttfeed

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// TLS configures an encrypted connection. It is used when the broker URL's
// scheme is ssl://, tls://, mqtts:// or wss://, or when any field is set.
type TLS struct {
	CAFile     string // PEM bundle of the CAs that may sign the broker's certificate; empty: the system's
	CertFile   string // client certificate (PEM), for brokers that require one
	KeyFile    string // its private key (PEM)
	ServerName string // expected name in the broker's certificate; default: the URL's host
}

// Enabled reports whether any TLS setting was given.
func (t TLS) Enabled() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != ""
}

// IsTLSURL reports whether a broker URL asks for TLS.
func IsTLSURL(u string) bool {
	scheme, _, _ := strings.Cut(u, "://")
	switch strings.ToLower(scheme) {
	case "ssl", "tls", "mqtts", "tcps", "wss":
		return true
	}
	return false
}

// ValidateURL checks a broker URL the way the connection will use it.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("broker URL %q: %v", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
	default:
		return fmt.Errorf("broker URL %q: scheme must be tcp://, ssl:// (TLS), ws:// or wss://", raw)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("broker URL %q: give host and port, such as tcp://10.1.2.3:1883 or ssl://broker:8883", raw)
	}
	return nil
}

// Config builds the tls.Config, reading the files now so that a missing or
// broken file is reported at start, with its name, rather than at connect.
func (t TLS) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s: no PEM certificate in it", t.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate %s / key %s: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{pair}
	case t.CertFile != "" || t.KeyFile != "":
		return nil, errors.New("TLS: a client certificate needs both a certificate file and a key file")
	}
	return c, nil
}
