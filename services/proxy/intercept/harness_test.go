package intercept

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/tproxy"
)

// The unit tests run the proxy on loopback without TPROXY: the test seam
// Server.dst names the "original destination" of every connection, and
// Dial is a plain dialer.

type harness struct {
	s    *Server
	addr string // where clients connect
	log  *accesslog.Log
}

func newProxy(t testing.TB, dst string, opts ...func(*Server)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := netip.MustParseAddrPort(dst)
	h := &harness{addr: ln.Addr().String(), log: accesslog.New(nil, 1000)}
	dialer := &tproxy.Dialer{} // production's, without spoofing: no privileges
	h.s = &Server{
		Name:           "test-proxy",
		Dial:           dialer.Dial,
		Log:            h.log,
		HeaderTimeout:  5 * time.Second,
		IdleTimeout:    10 * time.Second,
		ConnectTimeout: 5 * time.Second,
		ReadTimeout:    10 * time.Second,
		Logf:           t.Logf,
		dst:            func(net.Conn) netip.AddrPort { return d },
	}
	for _, o := range opts {
		o(h.s)
	}
	h.s.init()
	go h.s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.s.Shutdown(ctx)
		h.log.Close()
	})
	return h
}

// lines returns the access log lines so far, parsed.
func (h *harness) lines(t testing.TB) []accesslog.Entry {
	t.Helper()
	var b bytes.Buffer
	h.log.WriteRecent(&b)
	var es []accesslog.Entry
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		if l == "" {
			continue
		}
		e, err := accesslog.Parse(l)
		if err != nil {
			t.Fatalf("access log: %v", err)
		}
		es = append(es, e)
	}
	return es
}

// waitLines waits until the log has n lines: a transaction is logged
// after its last byte went out, so a client can see it before the log.
func (h *harness) waitLines(t testing.TB, n int) []accesslog.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		es := h.lines(t)
		if len(es) >= n || time.Now().After(deadline) {
			return es
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// origin is an upstream server that counts its connections.
type origin struct {
	addr  string
	conns atomic.Int32
}

func httpOrigin(t testing.TB, h http.HandlerFunc) *origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{addr: ln.Addr().String()}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				o.conns.Add(1)
			}
		}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return o
}

func rawOrigin(t testing.TB, serve func(net.Conn)) *origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return o
}

// readHead reads a head through br and returns it.
func readHead(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		l, err := br.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			t.Fatalf("reading head: %v after %q", err, b.String())
		}
		if l == "\r\n" {
			return b.String()
		}
	}
}

func get(t testing.TB, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(body)
}

// closed reports whether the proxy closed c within a few seconds.
func closed(c net.Conn, br *bufio.Reader) bool {
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := br.ReadByte()
	return err == io.EOF
}

// waitFor polls cond for up to 5 s and fails the test naming what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
