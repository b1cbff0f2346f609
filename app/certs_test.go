package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a throw-away certificate authority with a broker certificate
// for 127.0.0.1 and a client certificate, written as PEM files in dir.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func issue(t testing.TB, tmpl *x509.Certificate, parent *keyPair) (*keyPair, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keyPair{cert, key}, der
}

var serial int64 = 100

func template(cn string) *x509.Certificate {
	serial++
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Vigil test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
}

// newPKI makes a CA (prefix names the files) and its broker and client certificates.
func newPKI(t testing.TB, dir, prefix string) testPKI {
	t.Helper()
	caT := template(prefix + " CA")
	caT.IsCA, caT.BasicConstraintsValid = true, true
	caT.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	ca, caDER := issue(t, caT, nil)

	srvT := template("127.0.0.1")
	srvT.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	srvT.DNSNames = []string{"localhost"}
	srvT.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	srvT.KeyUsage = x509.KeyUsageDigitalSignature
	srv, srvDER := issue(t, srvT, ca)

	cliT := template("station-test")
	cliT.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	cliT.KeyUsage = x509.KeyUsageDigitalSignature
	cli, cliDER := issue(t, cliT, ca)

	p := testPKI{
		CA:         filepath.Join(dir, prefix+"-ca.pem"),
		ServerCert: filepath.Join(dir, prefix+"-server.pem"),
		ServerKey:  filepath.Join(dir, prefix+"-server.key"),
		ClientCert: filepath.Join(dir, prefix+"-client.pem"),
		ClientKey:  filepath.Join(dir, prefix+"-client.key"),
	}
	writePEM(t, p.CA, "CERTIFICATE", caDER)
	writePEM(t, p.ServerCert, "CERTIFICATE", srvDER)
	writePEM(t, p.ClientCert, "CERTIFICATE", cliDER)
	for path, k := range map[string]*ecdsa.PrivateKey{p.ServerKey: srv.key, p.ClientKey: cli.key} {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, path, "EC PRIVATE KEY", der)
	}
	return p
}
