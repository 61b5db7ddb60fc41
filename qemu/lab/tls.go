package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"
)

// Origin is a TLS certificate for a test's HTTPS origin, made at run time
// (nothing is kept): Config serves with it, Pool trusts it.
type Origin struct {
	Config *tls.Config
	Pool   *x509.CertPool
}

// NewOriginErr makes a self-signed ECDSA P-256 certificate for names,
// valid for a day. Session tickets are off, so that every connection is
// a full handshake.
func NewOriginErr(names ...string) (*Origin, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ecdsa.GenerateKey: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("x509.CreateCertificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("x509.ParseCertificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &Origin{
		Config: &tls.Config{
			Certificates:           []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
			SessionTicketsDisabled: true,
			NextProtos:             []string{"http/1.1"},
		},
		Pool: pool,
	}, nil
}

// Client returns a TLS client configuration that trusts o and sends
// serverName as the SNI.
func (o *Origin) Client(serverName string) *tls.Config {
	return &tls.Config{RootCAs: o.Pool, ServerName: serverName, NextProtos: []string{"http/1.1"}}
}

// ServeHTTPSErr serves h over TLS with o on addr inside ns until the
// returned server is closed.
func (ns *NS) ServeHTTPSErr(addr string, o *Origin, h http.Handler) (*http.Server, net.Addr, error) {
	ln, err := ns.ListenErr("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, TLSConfig: o.Config}
	go srv.Serve(tls.NewListener(ln, o.Config))
	return srv, ln.Addr(), nil
}
