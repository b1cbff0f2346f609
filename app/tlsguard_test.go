package app

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"
)

// The broker link is TLS where it matters: TLS settings with a plaintext
// URL, a plaintext broker on another host, and a password in the URL are
// refused at start, plainly and without repeating the password.
func TestBrokerLinkChecks(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"--broker", "tcp://127.0.0.1:1883"}, ""},
		{[]string{"--broker", "tcp://localhost:1883"}, ""},
		{[]string{"--broker", "ssl://broker.example.org:8883"}, ""},
		{[]string{"--broker", "tcp://10.1.2.3:1883"}, "--insecure-plaintext"},
		{[]string{"--broker", "tcp://broker.example.org:1883"}, "ssl://broker.example.org:1883"},
		{[]string{"--broker", "tcp://10.1.2.3:1883", "--insecure-plaintext"}, ""},
		{[]string{"--broker", "tcp://127.0.0.1:1883", "--tls-ca", "ca.pem"}, "plaintext but TLS settings"},
		{[]string{"--broker", "ssl://nurse:s3cret-pw@broker.example.org:8883"}, "--user"},
		{[]string{"--broker", "tcp://nurse:s3cret-pw@127.0.0.1:1883"}, "--user"},
		// Alarm reports out: TLS to another host, or the admin says plaintext.
		{[]string{"--alarm-hl7", "pager.example.org:2575"}, "--alarm-hl7-ca"},
		{[]string{"--alarm-hl7", "pager.example.org:2575", "--alarm-hl7-ca", "ca.pem"}, ""},
		{[]string{"--alarm-hl7", "pager.example.org:2575", "--insecure-plaintext"}, ""},
		{[]string{"--alarm-hl7", "127.0.0.1:2575"}, ""},
		// The station's own MLLP listener takes TLS as vigil hl7 does.
		{[]string{"--hl7-listen", "127.0.0.1:2575", "--mllp-cert", "c.pem"}, "go together"},
		{[]string{"--hl7-listen", "127.0.0.1:2575", "--mllp-cert", "c.pem", "--mllp-key", "k.pem", "--mllp-client-ca", "ca.pem"}, ""},
	}
	for _, c := range cases {
		_, err := Parse(append(c.args, "--data", t.TempDir()), io.Discard)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v refused: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: err %v, want it to say %q", c.args, err, c.want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%v: the error repeats the password: %v", c.args, err)
		}
	}
}

// The MLLP listener binds where it is told, explicitly; its allow-list
// closes other senders' connections; with a client CA only senders with a
// certificate it signed get through the handshake.
func TestMLLPGuards(t *testing.T) {
	if err := checkMLLPListen(":2575"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:2575") {
		t.Fatalf("listening on every interface by default: %v", err)
	}
	if err := checkMLLPListen("127.0.0.1:2575"); err != nil {
		t.Fatal(err)
	}
	if DefaultHL7Listen != "127.0.0.1:2575" {
		t.Fatalf("default MLLP listener %s, want loopback", DefaultHL7Listen)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	accepts := func(allow []netip.Prefix) (bool, uint64) {
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var refused atomic.Uint64
		ln := allowList{Listener: raw, allow: allow, refused: &refused, log: log}
		defer ln.Close()
		got := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				got <- c
			}
		}()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		select {
		case s := <-got:
			s.Close()
			return true, refused.Load()
		case <-time.After(500 * time.Millisecond):
			return false, refused.Load()
		}
	}
	if ok, n := accepts([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); ok || n != 1 {
		t.Fatalf("a sender outside the allow-list: accepted %v, refused %d", ok, n)
	}
	if ok, _ := accepts([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}); !ok {
		t.Fatal("a sender on the allow-list was refused")
	}

	// Mutual TLS.
	pki := newPKI(t, t.TempDir(), "mllp-mtls")
	cfg := Config{Ward: "W"}
	cfg.HL7 = hl7Flags{Listen: "127.0.0.1:0", CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCA: pki.CA}
	ln, _, err := listenHL7(cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Read(make([]byte, 1))
				c.Close()
			}()
		}
	}()
	caPEM, _ := os.ReadFile(pki.CA)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	dial := func(withCert bool) error {
		tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		if withCert {
			cert, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), tc)
		if err != nil {
			return err
		}
		defer c.Close()
		// TLS 1.3: the server's verdict on the client certificate arrives
		// after the client's handshake; a read shows it.
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return nil
		}
		return err
	}
	if err := dial(false); err == nil {
		t.Fatal("a sender without a client certificate got through")
	}
	if err := dial(true); err != nil {
		t.Fatalf("a sender with a certificate the CA signed: %v", err)
	}
	cfg.HL7.CertFile, cfg.HL7.KeyFile = "", ""
	if _, _, err := listenHL7(cfg, nil, log); err == nil {
		t.Fatal("a client CA without a server certificate was accepted")
	}
}
