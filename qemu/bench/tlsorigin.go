package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"tprouter/qemu/lab"
)

// The TLS workloads' origin: this executable in another mode (as the
// relay is), started in the server namespace. It serves originFiles over
// HTTPS on port 443 with a certificate it makes at start (lab.NewOriginErr:
// ECDSA P-256, session tickets off, so every connection is a full
// handshake) and TLS 1.3 only, one request per connection. It writes the
// certificate, not the key, to originCert in its directory for the load
// generator to trust; nothing outlives the run's scratch directory.
//
// It is a separate process, with every CPU, so that its handshakes do not
// share a Go scheduler with the harness, and its CPU time is measured
// apart from the proxy's (results.json: e_origin_cpu_us).
const tlsOriginEnv = "TPROUTER_BENCH_TLS_ORIGIN"

// tlsName is the SNI the load generator sends and the name in the
// origin's certificate: a reserved name (RFC 2606 .example).
const tlsName = "origin.bench.example"

// originCert is the certificate's file name in the origin's directory.
const originCert = "origin.pem"

// tlsOriginMain serves until killed; it never returns.
func tlsOriginMain(dir string) {
	o, err := lab.NewOriginErr(tlsName)
	if err != nil {
		log.Fatalf("tls origin: %v", err)
	}
	o.Config.MinVersion = tls.VersionTLS13
	// Listen before the certificate appears: its file says "ready".
	ln, err := net.Listen("tcp", ":443")
	if err != nil {
		log.Fatalf("tls origin: listen tcp :443: %v", err)
	}
	leaf := o.Config.Certificates[0].Leaf
	path := filepath.Join(dir, originCert)
	tmp := path + ".tmp"
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	if err := os.WriteFile(tmp, pemBytes, 0o644); err != nil {
		log.Fatalf("tls origin: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		log.Fatalf("tls origin: %v", err)
	}
	bodies := map[string][]byte{}
	for name, size := range originFiles {
		bodies["/"+name] = bytes.Repeat([]byte("x"), size)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, ok := bodies[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// A silent client must not pile up connections.
		IdleTimeout: 10 * time.Second,
		// The default logger would write one line per reset connection.
		ErrorLog: log.New(discardNewlines{}, "", 0),
	}
	srv.SetKeepAlivesEnabled(false)
	log.Fatalf("tls origin: %v", srv.Serve(tls.NewListener(ln, o.Config)))
}

// discardNewlines drops net/http's per-connection error lines.
type discardNewlines struct{}

func (discardNewlines) Write(p []byte) (int, error) { return len(p), nil }

// startTLSOrigin starts the TLS origin in the server namespace and sets
// e.tlsOrigin, e.tlsPool and e.tlsCAFile.
func (e *env) startTLSOrigin() error {
	p, pool, err := runTLSOrigin(e.lab.Server, filepath.Join(e.dir, "tls-origin"))
	if err != nil {
		return err
	}
	e.tlsOrigin, e.tlsPool = p, pool
	e.tlsCAFile = filepath.Join(e.dir, "tls-origin", originCert)
	return nil
}

// originsFailed describes the first of the origins (nil: not started)
// that has exited.
func originsFailed(ps ...*proc) error {
	for _, p := range ps {
		if p != nil && p.exited() {
			return p.failure()
		}
	}
	return nil
}

// runTLSOrigin starts the TLS origin in server with dir as its directory
// and waits until it listens; it returns the process and a pool that
// trusts its certificate. Each candidate's path check (checkTLSPath) is
// its first request.
func runTLSOrigin(server *lab.NS, dir string) (*proc, *x509.CertPool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("mkdir %s: %w", dir, err)
	}
	// An earlier pass's certificate must not pass for this origin's.
	if err := os.Remove(filepath.Join(dir, originCert)); err != nil && !os.IsNotExist(err) {
		return nil, nil, fmt.Errorf("remove the old %s: %w", originCert, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("os.Executable: %w", err)
	}
	p, err := startProc(server, dir, "tls-origin", []string{tlsOriginEnv + "=" + dir}, exe)
	if err != nil {
		return nil, nil, err
	}
	var pool *x509.CertPool
	err = waitFor(10*time.Second, p, func() error {
		b, err := os.ReadFile(filepath.Join(dir, originCert))
		if err != nil {
			return err
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s: no certificate", originCert)
		}
		return nil
	})
	if err != nil {
		p.stop(time.Second)
		return nil, nil, fmt.Errorf("TLS origin in %s did not start: %w", server.Name, err)
	}
	return p, pool, nil
}
