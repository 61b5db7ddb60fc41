package intercept

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// notHTTPShapes are first bytes that the proxy once took for "not HTTP" and
// relayed unparsed: each could start an HTTP request under some reading,
// so each must get 400 with nothing forwarded.
var notHTTPShapes = []struct{ name, req string }{
	{"control byte in the method", "GE\x01T / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"DEL in the method", "GE\x7fT / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"non-token byte in the method", "GE(T / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"non-ASCII byte in the method", "G\xc3\x89T / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"a NUL as the method", "\x00 / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"control byte between method and target", "GET\x01/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"control byte before the target", "GET \x01/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"control byte before the method", "\x01GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"NUL before the method", "\x00GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"space before the method", " GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"bare LF after the method", "GET\n/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"bare LF after the target", "GET /x\nHost: example.com\r\n\r\n"},
	{"bare LF ending the request line", "GET / HTTP/1.1\nHost: example.com\r\n\r\n"},
	{"bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"bare CR after the method", "GET\r/ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"HTTP/0.9", "GET /x\r\n"},
	{"HTTP/0.9 after empty lines", "\r\n\r\nGET /x\r\n"},
	{"another method, no version", "FOO bar\r\n"},
}

// TestNotHTTPShapesGet400: each shape gets 400 and a log line, and the
// origin sees no connection.
func TestNotHTTPShapesGet400(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	h := newProxy(t, o.addr)
	for _, tc := range notHTTPShapes {
		c := h.dial(t)
		io.WriteString(c, tc.req)
		resp, _ := get(t, bufio.NewReader(c), "GET")
		if resp.StatusCode != 400 {
			t.Errorf("%s: %v, want 400", tc.name, resp.Status)
		}
		c.Close()
	}
	es := h.waitLines(t, len(notHTTPShapes))
	if n := o.conns.Load(); n != 0 {
		t.Errorf("origin saw %d connections, want none", n)
	}
	if len(es) != len(notHTTPShapes) {
		t.Fatalf("%d log lines, want %d", len(es), len(notHTTPShapes))
	}
	for _, e := range es {
		if e.Code != "TAG_NONE" || e.Status != 400 || string(e.URL) != "error:invalid-request" || e.Hier != "HIER_NONE" {
			t.Errorf("log: %+v", e)
		}
	}
	if n := h.s.Stats.Tunnels.Value(); n != 0 {
		t.Errorf("%d tunnels, want none", n)
	}
}

// recordingOrigin answers each request head with a 200 and sends what it
// read of each connection on got.
func recordingOrigin(t *testing.T) (*origin, chan string) {
	got := make(chan string, 16)
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var b strings.Builder
			for {
				l, err := br.ReadString('\n')
				b.WriteString(l)
				if err != nil {
					return
				}
				if l == "\r\n" {
					break
				}
			}
			got <- b.String()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	return o, got
}

// TestLeadingEmptyLinesSkipped: any number of empty lines before a request
// line (RFC 9112 §2.2), in one write or many, before the first request or
// between two, are skipped and the request is forwarded without them.
func TestLeadingEmptyLinesSkipped(t *testing.T) {
	t.Parallel()
	o, got := recordingOrigin(t)
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, strings.Repeat("\r\n", 1000))
	io.WriteString(c, "\r")
	time.Sleep(20 * time.Millisecond)
	io.WriteString(c, "\n\r\nGET /a HTTP/1.1\r\nHost: example.com\r\n\r\n")
	if resp, body := get(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("first request: %v %q", resp.Status, body)
	}
	for i := 0; i < 20; i++ {
		io.WriteString(c, "\r\n") // one segment each
	}
	io.WriteString(c, "GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n")
	if resp, body := get(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("second request: %v %q", resp.Status, body)
	}
	for _, path := range []string{"/a", "/b"} {
		head := <-got
		if !strings.HasPrefix(head, "GET "+path+" HTTP/1.1\r\n") {
			t.Errorf("origin got %q, want the request for %s without empty lines", head, path)
		}
	}
	if n := o.conns.Load(); n != 1 {
		t.Errorf("origin saw %d connections, want 1", n)
	}
}

// TestLeadingEmptyLinesBounded: empty lines count toward MaxHeaderSize.
func TestLeadingEmptyLinesBounded(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {})
	h := newProxy(t, o.addr, func(s *Server) { s.MaxHeaderSize = 4096 })
	c := h.dial(t)
	io.WriteString(c, strings.Repeat("\r\n", 2040)+"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c2 := h.dial(t)
	io.WriteString(c2, strings.Repeat("\r\n", 3000))
	if resp, _ := get(t, bufio.NewReader(c2), "GET"); resp.StatusCode != 431 {
		t.Errorf("empty lines alone: status %v, want 431", resp.Status)
	}
	resp, _ := get(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 431 {
		t.Errorf("status %v, want 431", resp.Status)
	}
	if n := o.conns.Load(); n != 0 {
		t.Errorf("origin saw %d connections, want none", n)
	}
}

// TestUnknownPolicy: bytes that could not start an HTTP request are
// tunnelled untouched under UnknownTunnel and closed at once, without a
// connection to the origin, under UnknownReject; both are logged and
// counted.
func TestUnknownPolicy(t *testing.T) {
	t.Parallel()
	for _, u := range []Unknown{UnknownTunnel, UnknownReject} {
		o := rawOrigin(t, func(c net.Conn) { io.Copy(c, c) })
		h := newProxy(t, o.addr, func(s *Server) { s.Unknown = u })
		for _, first := range []string{"HELLO\r\n", "\r\n\r\nHELLO\r\n", "\r\n\x16\x03\x01\x00\x05hello", "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n", "\x00\x00\x00\x2a\x01\x02\x03\x04" + strings.Repeat("\x05", 30)} {
			c := h.dial(t)
			io.WriteString(c, first)
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			echo, err := io.ReadAll(c)
			switch {
			case u == UnknownTunnel && string(echo) != first:
				t.Errorf("tunnel %q: echo %q, %v", first, echo, err)
			case u == UnknownReject && len(echo) != 0:
				t.Errorf("reject %q: got %q", first, echo)
			case u == UnknownReject && err != nil && !isReset(err):
				t.Errorf("reject %q: %v, want EOF or a reset", first, err)
			}
			c.Close()
		}
		es := h.waitLines(t, 5)
		want, line := uint64(5), "TCP_TUNNEL"
		if u == UnknownReject {
			line = "TAG_NONE"
			if n := o.conns.Load(); n != 0 {
				t.Errorf("reject: origin saw %d connections, want none", n)
			}
		}
		if got := h.s.Stats.Unknown[u].Value(); got != want {
			t.Errorf("Unknown[%d] = %d, want %d", u, got, want)
		}
		for _, e := range es {
			if e.Code != line || u == UnknownReject && (string(e.URL) != "error:unsupported-protocol" ||
				string(e.Method) != "NONE" || e.Status != 0 || e.Bytes != 0 || e.Hier != "HIER_NONE") {
				t.Errorf("Unknown %d log: %+v", u, e)
			}
		}
	}
}

func isReset(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("reset"))
}
