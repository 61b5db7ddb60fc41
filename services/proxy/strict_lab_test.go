package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

// startBoth is start with the router intercepting ports 80 and 443, as
// the firmware does by default (tprouter.intercept=80,443): every
// intercepted port serves HTTP, TLS and the rest alike.
func startBoth(t *testing.T, flags ...string) *rig {
	t.Helper()
	r := start(t, flags...)
	c := labrouter.Config(3129)
	c.Intercept = []uint16{80, 443}
	labrouter.Install(t, r.Lab, c)
	return r
}

// recorder is a server in the server namespace on one port that counts
// the connections it accepts and keeps what reached it.
type recorder struct {
	server
	mu  sync.Mutex
	got []string // one entry per request head, or per connection's bytes
}

func (s *recorder) add(b string) {
	s.mu.Lock()
	s.got = append(s.got, b)
	s.mu.Unlock()
}

func (s *recorder) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// serveOn runs fn for each connection to port of the server (both
// families), counting and recording.
func (r *rig) serveOn(t *testing.T, port string, fn func(*recorder, net.Conn)) *recorder {
	t.Helper()
	s := &recorder{}
	r.acceptEach(t, port, &s.server, 30*time.Second, func(c net.Conn) { fn(s, c) })
	return s
}

// answerHeads records each request as the server read it (its request
// line and Via; a request that does not parse, for instance after empty
// lines, as an error) and answers it 200 "ok".
func answerHeads(s *recorder, c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err == io.EOF {
			return
		}
		if err != nil {
			s.add("error: " + err.Error())
			return
		}
		s.add(req.Method + " " + req.RequestURI + " " + req.Proto + " Via: " + req.Header.Get("Via"))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

// echo records what the connection sent, echoing it back, until EOF.
func echo(s *recorder, c net.Conn) {
	var b strings.Builder
	io.Copy(io.MultiWriter(c, &b), c)
	s.add(b.String())
}

// strictShapes are first bytes once relayed unparsed as tunnels: each
// could start an HTTP request under some reading and must get 400 with
// nothing at the server.
var strictShapes = []struct{ name, req string }{
	{"control byte in the method", "GE\x01T / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"non-token byte in the method", "GE(T / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"non-ASCII byte in the method", "G\xc3\x89T / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"a NUL as the method", "\x00 / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"control byte between method and target", "GET\x01/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"control byte before the target", "GET \x01/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"control byte before the method", "\x01GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"bare LF after the method", "GET\n/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"bare LF in the request line", "GET /x\nHost: example.com\r\n\r\n"},
	{"bare LF ending the request line", "GET / HTTP/1.1\nHost: example.com\r\n\r\n"},
	{"HTTP/0.9", "GET /x\r\n"},
}

func dstFor(port uint16, i int) string {
	return netip.AddrPortFrom([]netip.Addr{lab.ServerV4, lab.ServerV6}[i%2], port).String()
}

// TestStrictShapesLab sends each shape on port 80 and on port 443, over
// both families: each gets 400 and the servers accept no connection; a
// request after 500 empty lines reaches the server without them.
func TestStrictShapesLab(t *testing.T) {
	t.Parallel()
	r := startBoth(t)
	srvs := map[uint16]*recorder{80: r.serveOn(t, "80", answerHeads), 443: r.serveOn(t, "443", answerHeads)}
	n := 0
	for _, port := range []uint16{80, 443} {
		for i, tc := range strictShapes {
			c := r.dial(t, dstFor(port, i))
			io.WriteString(c, tc.req)
			resp, body := readResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != 400 || !strings.Contains(body, "destination") {
				t.Errorf("port %d, %s: %v, want 400 from the proxy", port, tc.name, resp.Status)
			}
			c.Close()
			n++
		}
	}
	time.Sleep(100 * time.Millisecond)
	for port, s := range srvs {
		if k := s.conns.get(); k != 0 {
			t.Errorf("server on %d accepted %d connections for the malformed shapes, want none: %q", port, k, s.all())
		}
	}
	for _, e := range r.logLines(t, n) {
		if e.Status != 400 || e.Code != "TAG_NONE" || e.Hier != "HIER_NONE" {
			t.Errorf("log %+v", e)
		}
	}

	for _, port := range []uint16{80, 443} {
		for i := 0; i < 2; i++ {
			c := r.dial(t, dstFor(port, i))
			io.WriteString(c, strings.Repeat("\r\n", 500))
			io.WriteString(c, "GET /after-empty-lines HTTP/1.1\r\nHost: example.com\r\n\r\n")
			resp, body := readResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != 200 || body != "ok" {
				t.Errorf("port %d: after empty lines: %v %q, want 200 from the server", port, resp.Status, body)
			}
			c.Close()
		}
		got := srvs[port].all()
		if len(got) != 2 {
			t.Fatalf("server on %d got %q, want 2 requests", port, got)
		}
		for _, g := range got {
			if g != "GET /after-empty-lines HTTP/1.1 Via: 1.1 lab-proxy (tprouter)" {
				t.Errorf("server on %d got %q, want the request without the empty lines, with Via", port, g)
			}
		}
	}
}

// unknownBytes are neither HTTP nor TLS: no reading makes them an HTTP
// request.
var unknownBytes = []string{
	"HELLO\r\n",
	"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n",
	"\x00\x00\x00\x2a\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f\x80\xff binary",
}

// TestUnknownLab: under -unknown tunnel the bytes reach the server on 80
// and 443 untouched and come back; under reject nothing reaches the server
// and the connection is closed at once, logged error:unsupported-protocol.
func TestUnknownLab(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"tunnel", "reject"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			r := startBoth(t, "-unknown", policy)
			srvs := map[uint16]*recorder{80: r.serveOn(t, "80", echo), 443: r.serveOn(t, "443", echo)}
			n := 0
			for _, port := range []uint16{80, 443} {
				for i, msg := range unknownBytes {
					c := r.dial(t, dstFor(port, i))
					io.WriteString(c, msg)
					c.(*net.TCPConn).CloseWrite()
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					back, err := io.ReadAll(c)
					if policy == "tunnel" && string(back) != msg {
						t.Errorf("port %d, %q: echo %q, %v", port, msg, back, err)
					}
					if policy == "reject" && (len(back) != 0 || err != nil && !strings.Contains(err.Error(), "reset")) {
						t.Errorf("port %d, %q: got %q, %v; want the connection closed", port, msg, back, err)
					}
					c.Close()
					n++
				}
			}
			es := r.logLines(t, n)
			time.Sleep(100 * time.Millisecond)
			for port, s := range srvs {
				got, k := s.all(), s.conns.get()
				switch {
				case policy == "reject" && k != 0:
					t.Errorf("server on %d accepted %d connections, want none", port, k)
				case policy == "tunnel" && (k != len(unknownBytes) || strings.Join(got, "|") == ""):
					t.Errorf("server on %d: %d connections, got %q", port, k, got)
				}
				for _, g := range got {
					if policy == "tunnel" && !contains(unknownBytes, g) {
						t.Errorf("server on %d got %q, not one of the messages untouched", port, g)
					}
				}
			}
			if len(es) != n {
				t.Fatalf("%d log lines, want %d", len(es), n)
			}
			for _, e := range es {
				bad := e.Code != "TCP_TUNNEL" || e.Hier != "ORIGINAL_DST"
				if policy == "reject" {
					bad = e.Code != "TAG_NONE" || e.Status != 0 || string(e.Method) != "NONE" ||
						string(e.URL) != "error:unsupported-protocol" || e.Hier != "HIER_NONE" || e.Bytes != 0
				}
				if bad {
					t.Errorf("log %+v", e)
				}
			}
			if v := r.metric(t, `tprouter_proxy_unknown_total{action="`+policy+`"}`); v != "6" {
				t.Errorf("unknown_total{%s} = %s, want 6", policy, v)
			}
		})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
