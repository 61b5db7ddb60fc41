package intercept

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/services/proxy/accesslog"
	"tprouter/services/proxy/domains"
	"tprouter/services/proxy/internal/tlsconn"
	"tprouter/services/proxy/tlshello"
)

// tlsSite is a TLS origin on loopback with a certificate made for the
// test. Each connection's handshake is answered and one line echoed back
// as "<sni> <client address> <line>".
type tlsSite struct {
	*origin
	pool *x509.CertPool
}

func newTLSSite(t testing.TB, names ...string) *tlsSite {
	t.Helper()
	o := lab.NewOrigin(t, names...)
	site := &tlsSite{pool: o.Pool}
	site.origin = rawOrigin(t, func(c net.Conn) { tlsconn.Echo(c, o.Config) })
	return site
}

// client returns a TLS client configuration trusting the site, sending sni.
func (s *tlsSite) client(sni string, alpn ...string) *tls.Config {
	return &tls.Config{RootCAs: s.pool, ServerName: sni, NextProtos: alpn}
}

func tlsLog(s *Server) { s.Log.SetFormat(accesslog.FormatTLS) }

func policy(deny ...string) *domains.Policy {
	var b domains.Builder
	for _, d := range deny {
		b.Add(d)
	}
	return &domains.Policy{Deny: b.List()}
}

// TestTLSSplice: a ClientHello with an SNI is spliced to the original
// destination (not to the name), logged with the SNI, ALPN and ECH, and
// counted.
func TestTLSSplice(t *testing.T) {
	t.Parallel()
	site := newTLSSite(t, "www.example.com")
	h := newProxy(t, site.addr, tlsLog)
	got, err := tlsconn.Ping(h.dial(t), site.client("www.example.com", "h2", "http/1.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "www.example.com 127.0.0.1:") || !strings.HasSuffix(got, " ping\n") {
		t.Errorf("the origin says %q", got)
	}
	es := h.waitLines(t, 1)
	if len(es) != 1 {
		t.Fatalf("%d log lines, want 1", len(es))
	}
	e := es[0]
	_, port, _ := net.SplitHostPort(site.addr)
	if e.Code != "TCP_TUNNEL" || e.Status != 200 || string(e.Method) != "CONNECT" || string(e.URL) != "www.example.com:"+port ||
		e.Hier != "ORIGINAL_DST" || e.Server.String() != "127.0.0.1" || e.Bytes == 0 {
		t.Errorf("log line: %+v", e)
	}
	if e.SNI != "www.example.com" || strings.Join(e.ALPN, ",") != "h2,http/1.1" || e.ECH != accesslog.ECHAbsent {
		t.Errorf("tls fields: SNI %q ALPN %q ECH %v", e.SNI, e.ALPN, e.ECH)
	}
	st := h.s.Stats
	if st.TLSConns.Value() != 1 || st.TLSToClient.Value() != uint64(e.Bytes) || st.TLSToServer.Value() == 0 {
		t.Errorf("tls counters: conns %d to_client %d (logged %d) to_server %d", st.TLSConns.Value(), st.TLSToClient.Value(), e.Bytes, st.TLSToServer.Value())
	}
	var text strings.Builder
	st.WritePrometheus(&text)
	if !strings.Contains(text.String(), "# TYPE tprouter_proxy_tls_hello_seconds histogram\n") ||
		!strings.Contains(text.String(), "\ntprouter_proxy_tls_hello_seconds_count 1\n") {
		t.Errorf("no hello histogram with one observation:\n%s", text.String())
	}
	if n := sample(t, st, "tprouter_proxy_tls_connections_total", "counter"); n != 1 {
		t.Errorf("tprouter_proxy_tls_connections_total %v, want 1", n)
	}
	sample(t, st, `tprouter_proxy_tls_bytes_total{direction="to_server"}`, "counter")
	sample(t, st, `tprouter_proxy_tls_parse_failures_total{kind="malformed"}`, "counter")
	sample(t, st, `tprouter_proxy_denied_total{proto="tls"}`, "counter")
}

// TestTLSNoSNI: without an SNI the log names the destination address.
func TestTLSNoSNI(t *testing.T) {
	t.Parallel()
	site := newTLSSite(t, "www.example.com")
	h := newProxy(t, site.addr, tlsLog)
	cfg := site.client("")
	cfg.InsecureSkipVerify = true // no name to verify; the test's own site
	if got, err := tlsconn.Ping(h.dial(t), cfg); err != nil || !strings.HasPrefix(got, " 127.0.0.1:") {
		t.Fatalf("exchange: %q, %v", got, err)
	}
	es := h.waitLines(t, 1)
	if len(es) != 1 || string(es[0].URL) != site.addr || es[0].SNI != "" || es[0].Code != "TCP_TUNNEL" {
		t.Errorf("log: %+v", es)
	}
}

// TestTLSHelloShapes: a ClientHello a byte per segment, and one of over
// 2,000 bytes in ~300-byte records, are read whole and spliced.
func TestTLSHelloShapes(t *testing.T) {
	t.Parallel()
	site := newTLSSite(t, "www.example.com", "big.example.com")
	h := newProxy(t, site.addr, tlsLog)

	slow := &tlsconn.Slow{Conn: h.dial(t), N: 600}
	if got, err := tlsconn.Ping(slow, site.client("www.example.com")); err != nil || !strings.HasPrefix(got, "www.example.com ") {
		t.Errorf("a byte per segment: %q, %v", got, err)
	}

	frag := &tlsconn.Frag{Conn: h.dial(t), Size: 300}
	if got, err := tlsconn.Ping(frag, tlsconn.Big(site.client("big.example.com"))); err != nil || !strings.HasPrefix(got, "big.example.com ") {
		t.Errorf("a large hello in records of 300 bytes: %q, %v", got, err)
	}
	if frag.Hello < 2000 || frag.Records < 7 {
		t.Errorf("the large ClientHello was %d bytes in %d records, want 2,000+ in 7+", frag.Hello, frag.Records)
	}
	es := h.waitLines(t, 2)
	if len(es) != 2 {
		t.Fatalf("%d log lines, want 2", len(es))
	}
	if es[0].SNI == "big.example.com" {
		es[0], es[1] = es[1], es[0] // each is logged when its tunnel ends
	}
	if es[0].SNI != "www.example.com" || es[1].SNI != "big.example.com" || len(es[1].ALPN) != 13 {
		t.Errorf("log: %+v", es)
	}
}

// TestTLSDenied: a denied SNI, or without one a denied address, gets an
// access_denied alert, nothing reaches the origin, and the line is
// Squid's for a denied CONNECT.
func TestTLSDenied(t *testing.T) {
	t.Parallel()
	site := newTLSSite(t, "www.example.com", "ads.example.com")
	h := newProxy(t, site.addr, tlsLog, func(s *Server) { s.SetPolicy(policy(".ads.example.com", "127.0.0.1")) })
	_, port, _ := net.SplitHostPort(site.addr)
	noSNI := site.client("")
	noSNI.InsecureSkipVerify = true
	for i, cfg := range []*tls.Config{site.client("ads.example.com"), site.client("x.ADS.example.com"), noSNI} {
		_, err := tlsconn.Ping(h.dial(t), cfg)
		if err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("client %d: error %v, want the access_denied alert", i, err)
		}
		h.waitLines(t, i+1) // logged just after the alert went
	}
	es := h.waitLines(t, 3)
	want := []string{"ads.example.com:" + port, "x.ads.example.com:" + port, site.addr}
	for i, e := range es {
		if e.Code != "TCP_DENIED" || e.Status != 200 || e.Bytes != 0 || string(e.Method) != "CONNECT" ||
			string(e.URL) != want[i] || e.Hier != "HIER_NONE" || e.Server.IsValid() {
			t.Errorf("line %d: %+v, want TCP_DENIED/200 0 CONNECT %s - HIER_NONE/- -", i, e, want[i])
		}
	}
	if n := site.conns.Load(); n != 0 {
		t.Errorf("%d connections reached the origin, want 0", n)
	}
	if n := h.s.Stats.Denied[1].Value(); n != 3 {
		t.Errorf("denied tls %d, want 3", n)
	}
	if _, err := tlsconn.Ping(h.dial(t), site.client("www.example.com")); err != nil {
		t.Errorf("an allowed name: %v", err)
	}
}

// badHello is a handshake record whose message is not a ClientHello.
var badHello = []byte{22, 3, 1, 0, 8, 2, 0, 0, 4, 1, 2, 3, 4}

// TestTLSMalformed: bytes that begin like a handshake record but are no
// ClientHello are relayed untouched without a policy and refused with a
// decode_error alert under one, nothing reaching the origin; counted by
// kind either way.
func TestTLSMalformed(t *testing.T) {
	t.Parallel()
	for _, withPolicy := range []bool{false, true} {
		got := make(chan []byte, 1)
		o := rawOrigin(t, func(c net.Conn) {
			b := make([]byte, len(badHello))
			io.ReadFull(c, b)
			got <- b
			c.Write([]byte("raw reply"))
		})
		h := newProxy(t, o.addr, func(s *Server) {
			if withPolicy {
				s.SetPolicy(policy(".denied.example"))
			}
		})
		c := h.dial(t)
		c.Write(badHello)
		reply, _ := io.ReadAll(c)
		c.Close() // the tunnel ends, and is logged, when both sides have
		es := h.waitLines(t, 1)
		if len(es) != 1 {
			t.Fatalf("policy %v: %d lines", withPolicy, len(es))
		}
		e := es[0]
		if withPolicy {
			if string(reply) != string(alertDecodeError) || o.conns.Load() != 0 ||
				e.Code != "TAG_NONE" || string(e.URL) != "error:invalid-tls-hello" || e.Hier != "HIER_NONE" {
				t.Errorf("refused: reply %q, %d origin conns, line %+v", reply, o.conns.Load(), e)
			}
		} else {
			if string(reply) != "raw reply" || string(<-got) != string(badHello) || e.Code != "TCP_TUNNEL" || string(e.URL) != o.addr {
				t.Errorf("tunnelled: reply %q, line %+v", reply, e)
			}
		}
		if n := h.s.Stats.TLSParseFailures[tlshello.KindNotClientHello].Value(); n != 1 {
			t.Errorf("policy %v: not_client_hello failures %d, want 1", withPolicy, n)
		}
	}
}

// TestTLSHelloTimeout: a ClientHello not complete within HeaderTimeout of
// its first byte ends the connection, logged as Squid's request-too-slow,
// with nothing dialled.
func TestTLSHelloTimeout(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(net.Conn) {})
	h := newProxy(t, o.addr, func(s *Server) { s.HeaderTimeout = 300 * time.Millisecond })
	c := h.dial(t)
	c.Write([]byte{22, 3, 1, 1, 0, 1}) // a 256-byte record, one byte of it
	t0 := time.Now()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
	es := h.waitLines(t, 1)
	if len(es) != 1 || es[0].Code != "TAG_NONE" || string(es[0].URL) != "error:request-too-slow" || o.conns.Load() != 0 {
		t.Errorf("log %+v, %d origin conns", es, o.conns.Load())
	}
	if n := h.s.Stats.Errors[errHeaderTimeout].Value(); n != 1 {
		t.Errorf("header_timeout errors %d, want 1", n)
	}
}

// TestTLSTruncated: a record start followed by the client's half-close is
// no ClientHello and never will be: relayed untouched without a policy
// (as before the peek), refused with nothing dialled under one.
func TestTLSTruncated(t *testing.T) {
	t.Parallel()
	msg := "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03not-tls"
	for _, withPolicy := range []bool{false, true} {
		o := rawOrigin(t, func(c net.Conn) { io.Copy(c, c) })
		h := newProxy(t, o.addr, func(s *Server) {
			if withPolicy {
				s.SetPolicy(policy(".denied.example"))
			}
		})
		c := h.dial(t)
		io.WriteString(c, msg)
		c.(*net.TCPConn).CloseWrite()
		got, _ := io.ReadAll(c)
		es := h.waitLines(t, 1)
		switch {
		case len(es) != 1:
			t.Errorf("policy %v: %d lines", withPolicy, len(es))
		case !withPolicy && (string(got) != msg || es[0].Code != "TCP_TUNNEL"):
			t.Errorf("no policy: echo %q, line %+v; want the bytes tunnelled", got, es[0])
		case withPolicy && (len(got) != 0 || o.conns.Load() != 0 || es[0].Code != "TAG_NONE_ABORTED"):
			t.Errorf("policy: echo %q, %d origin conns, line %+v; want nothing dialled", got, o.conns.Load(), es[0])
		}
	}
}

// BenchmarkTLSSplice: a new TLS connection per op (a full handshake, a
// line each way), through the proxy and straight to the origin; the
// difference is what peek and splice costs a connection on loopback.
func BenchmarkTLSSplice(b *testing.B) {
	site := newTLSSite(b, "www.example.com")
	h := newProxy(b, site.addr)
	h.s.Logf = func(string, ...any) {}
	cfg := site.client("www.example.com")
	for _, tc := range []struct{ name, addr string }{{"proxy", h.addr}, {"direct", site.addr}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				c, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := tlsconn.Ping(c, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
