package intercept

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/services/proxy/internal/badreq"
)

func TestKeepAliveAndVia(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "via=%s path=%s", r.Header.Get("Via"), r.URL.Path)
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n", i, o.addr)
		resp, body := get(t, br, "GET")
		want := fmt.Sprintf("via=1.1 test-proxy (tprouter) path=/%d", i)
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("response %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
		}
		if v := resp.Header.Get("Via"); v != "1.1 test-proxy (tprouter)" {
			t.Errorf("response Via = %q", v)
		}
	}
	if n := o.conns.Load(); n != 1 {
		t.Errorf("origin saw %d connections for 3 keep-alive requests, want 1", n)
	}
	es := h.waitLines(t, 3)
	if len(es) != 3 {
		t.Fatalf("%d log lines, want 3", len(es))
	}
	e := es[2]
	if e.Code != "TCP_MISS" || e.Status != 200 || string(e.Method) != "GET" ||
		string(e.URL) != "http://"+o.addr+"/2" || e.Hier != "ORIGINAL_DST" ||
		e.Server != netip.MustParseAddr("127.0.0.1") || string(e.MIME) != "text/plain" ||
		e.Client != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("log entry: %+v", e)
	}
}

func TestPipelined(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	var reqs strings.Builder
	for i := 0; i < 5; i++ {
		if i == 2 {
			fmt.Fprintf(&reqs, "POST /%d HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", i)
			continue
		}
		fmt.Fprintf(&reqs, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	io.WriteString(c, reqs.String())
	br := bufio.NewReader(c)
	for i := 0; i < 5; i++ {
		_, body := get(t, br, "GET")
		want := fmt.Sprintf("GET /%d ", i)
		if i == 2 {
			want = "POST /2 body"
		}
		if body != want {
			t.Errorf("response %d: %q, want %q", i, body, want)
		}
	}
}

func TestChunkedBothWaysWithTrailers(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("origin read: %v", err)
		}
		w.Header().Set("Trailer", "X-Sum")
		w.WriteHeader(200)
		io.WriteString(w, "got:")
		w.(http.Flusher).Flush()
		fmt.Fprintf(w, "%s te=%v trailer=%s", body, r.TransferEncoding, r.Trailer.Get("X-Check"))
		w.Header().Set("X-Sum", "42")
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Check\r\n\r\n"+
		"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Check: ok\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := get(t, br, "POST")
	if want := "got:hello world te=[chunked] trailer=ok"; body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if len(resp.TransferEncoding) != 1 || resp.Trailer.Get("X-Sum") != "42" {
		t.Errorf("response TE %v trailer %v, want chunked with X-Sum: 42", resp.TransferEncoding, resp.Trailer)
	}
	// The connection is still good.
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := get(t, br, "GET"); resp.StatusCode != 200 {
		t.Errorf("after chunked: %v", resp.Status)
	}
}

func TestExpectContinue(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/deny" {
			w.WriteHeader(http.StatusExpectationFailed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s", body)
	})
	h := newProxy(t, o.addr)

	c := h.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, "PUT /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	start := time.Now()
	if head := readHead(t, br); !strings.HasPrefix(head, "HTTP/1.1 100 ") {
		t.Fatalf("first response %q, want 100 Continue", head)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("100 Continue took %v: the proxy waited instead of forwarding the expectation", d)
	}
	io.WriteString(c, "hello")
	if resp, body := get(t, br, "PUT"); resp.StatusCode != 200 || body != "got hello" {
		t.Errorf("final: %v %q", resp.Status, body)
	}

	// A final status instead of 100: relayed, and the connection closes
	// because the body's fate is unknown.
	c = h.dial(t)
	br = bufio.NewReader(c)
	io.WriteString(c, "PUT /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	if resp, _ := get(t, br, "PUT"); resp.StatusCode != 417 {
		t.Errorf("deny: %v, want 417", resp.Status)
	}
	if !closed(c, br) {
		t.Errorf("connection not closed after a final response to an unsent body")
	}
}

func TestNoBodyResponses(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/head":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
			case "/204":
				io.WriteString(c, "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n")
			case "/304":
				io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n")
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	for _, p := range []struct{ method, path string }{{"HEAD", "/head"}, {"GET", "/204"}, {"GET", "/304"}, {"GET", "/"}} {
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", p.method, p.path)
		resp, body := get(t, br, p.method)
		if p.path == "/" && body != "ok" || p.path != "/" && body != "" {
			t.Errorf("%s %s: %v body %q", p.method, p.path, resp.Status, body)
		}
	}
}

func TestUpgradeTunnel(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "websocket" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi!")
		io.Copy(c, br) // echo
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	head := readHead(t, br)
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "Upgrade: websocket") {
		t.Fatalf("head %q", head)
	}
	buf := make([]byte, 3)
	io.ReadFull(br, buf)
	if string(buf) != "hi!" {
		t.Errorf("early server bytes %q", buf)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("frame %d", i)
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo %q: %q %v", msg, got, err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("after close: %q", rest)
	}
	es := h.waitLines(t, 1)
	if len(es) != 1 || es[0].Status != 101 || es[0].Code != "TCP_MISS" {
		t.Errorf("log %+v", es)
	}
}

func TestNonHTTPTunnel(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) { io.Copy(c, c) })
	h := newProxy(t, o.addr)
	const more = 1 << 20 // after the first bytes, through splice
	// The first is a handshake record but no ClientHello (a ServerHello's
	// type): a TLS parse failure, relayed untouched without a policy.
	for _, first := range []string{"\x16\x03\x01\x00\x04\x02\x00\x00\x00", "SSH-2.0-OpenSSH_9.6\r\n", "HELLO\r\n"} {
		c := h.dial(t)
		io.WriteString(c, first)
		got := make([]byte, len(first))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != first {
			t.Errorf("tunnel echo of %q: %q %v", first, got, err)
		}
		go c.Write(bytes.Repeat([]byte{'x'}, more))
		if n, err := io.CopyN(io.Discard, c, more); err != nil {
			t.Errorf("tunnel echo of %d more bytes: %d, %v", more, n, err)
		}
		c.Close()
	}
	es := h.waitLines(t, 3) // each after its tunnel ended
	if n := h.s.Stats.Spliced.Value(); n < 3*2*more {
		t.Errorf("%d bytes spliced, want the %d after the first ones", n, 3*2*more)
	}
	for _, e := range es {
		if e.Code != "TCP_TUNNEL" || string(e.Method) != "CONNECT" || string(e.URL) != o.addr {
			t.Errorf("tunnel log: %+v", e)
		}
	}
}

func TestMalformedNotForwarded(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {})
	h := newProxy(t, o.addr)
	for _, tc := range badreq.Cases {
		c := h.dial(t)
		io.WriteString(c, tc.Request)
		br := bufio.NewReader(c)
		resp, body := get(t, br, "GET")
		if resp.StatusCode != tc.Status || !strings.Contains(body, o.addr) {
			t.Errorf("%s: %v, want %d and a page naming the destination", tc.Name, resp.Status, tc.Status)
		}
		c.Close()
	}
	if n := o.conns.Load(); n != 0 {
		t.Errorf("origin saw %d connections, want none", n)
	}
	if n := h.s.Stats.Errors[errBadRequest].Value(); n != uint64(len(badreq.Cases)) {
		t.Errorf("bad_request count %d, want %d", n, len(badreq.Cases))
	}
}

func TestHeadTooLarge(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {})
	h := newProxy(t, o.addr, func(s *Server) { s.MaxHeaderSize = 4096 })
	c := h.dial(t)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 5000))
	resp, _ := get(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 431 {
		t.Errorf("status %v, want 431", resp.Status)
	}
	es := h.waitLines(t, 1)
	if len(es) != 1 || es[0].Code != "TAG_NONE" || es[0].Status != 431 || es[0].Hier != "HIER_NONE" {
		t.Errorf("log %+v", es)
	}
}

func TestBadResponses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, resp string }{
		{"garbage", "garbage\r\n\r\n"},
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"empty", ""},
		{"unasked 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := rawOrigin(t, func(c net.Conn) {
				http.ReadRequest(bufio.NewReader(c))
				io.WriteString(c, tc.resp)
			})
			h := newProxy(t, o.addr)
			c := h.dial(t)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, _ := get(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != 502 {
				t.Errorf("status %v, want 502", resp.Status)
			}
		})
	}
}

func TestUpstreamRefused(t *testing.T) {
	t.Parallel()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	h := newProxy(t, addr)
	c := h.dial(t)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := get(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 502 || !strings.Contains(body, addr) || !strings.Contains(body, "refused") {
		t.Errorf("%v %q", resp.Status, body)
	}
	es := h.waitLines(t, 1)
	if len(es) != 1 || es[0].Code != "TCP_MISS" || es[0].Status != 502 || es[0].Hier != "HIER_NONE" || es[0].Server.IsValid() {
		t.Errorf("log %+v", es)
	}
}

func TestViaLoop(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {})
	h := newProxy(t, o.addr)
	for _, via := range []string{"1.1 test-proxy (tprouter)", "1.0 other, HTTP/1.1 TEST-PROXY", "1.1 a (x, y), 1.1 test-proxy"} {
		c := h.dial(t)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nVia: %s\r\n\r\n", via)
		if resp, _ := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 403 {
			t.Errorf("Via %q: %v, want 403", via, resp.Status)
		}
	}
	if o.conns.Load() != 0 {
		t.Errorf("a looping request reached the origin")
	}
}

func TestHostMismatchGoesToOriginalDestination(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: 203.0.113.9\r\n\r\n")
	if _, body := get(t, br, "GET"); body != "203.0.113.9" {
		t.Errorf("origin got Host %q", body)
	}
	fmt.Fprintf(c, "GET /b HTTP/1.1\r\nHost: %s\r\n\r\n", o.addr)
	get(t, br, "GET")
	es := h.waitLines(t, 2)
	if len(es) != 2 || es[0].Hier != "HOST_MISMATCH_ORIGINAL_DST" || string(es[0].URL) != "http://203.0.113.9/a" ||
		es[0].Server != netip.MustParseAddr("127.0.0.1") || es[1].Hier != "ORIGINAL_DST" {
		t.Errorf("log %+v", es)
	}
}

func TestPerClientLimit(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	h := newProxy(t, o.addr, func(s *Server) { s.MaxConnsPerClient = 2 })
	a, b := h.dial(t), h.dial(t)
	_, _ = a, b
	deadline := time.Now().Add(5 * time.Second)
	for h.s.Active() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	c := h.dial(t)
	if !closed(c, bufio.NewReader(c)) {
		t.Errorf("third connection from one client was not closed")
	}
	if n := h.s.Stats.Errors[errClientLimit].Value(); n != 1 {
		t.Errorf("client_conn_limit = %d, want 1", n)
	}
	a.Close()
	for h.s.Active() > 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	d := h.dial(t)
	io.WriteString(d, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := get(t, bufio.NewReader(d), "GET"); resp.StatusCode != 200 {
		t.Errorf("after one closed: %v", resp.Status)
	}
}

func TestHeaderTimeout(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {})
	h := newProxy(t, o.addr, func(s *Server) { s.HeaderTimeout = 300 * time.Millisecond })
	c := h.dial(t)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	if resp, _ := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 408 {
		t.Errorf("status %v, want 408", resp.Status)
	}
}

func TestIdleTimeoutAndShutdown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "done")
	})
	h := newProxy(t, o.addr)

	idle := h.dial(t)
	ib := bufio.NewReader(idle)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	get(t, ib, "GET")

	busy := h.dial(t)
	bb := bufio.NewReader(busy)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // let it reach the origin

	done := make(chan error)
	go func() { done <- h.s.Shutdown(t.Context()) }()
	if !closed(idle, ib) {
		t.Errorf("idle connection not closed at once on shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		t.Errorf("still accepting after Shutdown")
	}
	close(release)
	resp, body := get(t, bb, "GET")
	if body != "done" || !resp.Close {
		t.Errorf("in-flight request: %v %q close=%v", resp.Status, body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestLargeBodiesSplice(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			hsh := sha256.New()
			n, _ := io.Copy(hsh, r.Body)
			fmt.Fprintf(w, "%d %x", n, hsh.Sum(nil))
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(size))
		io.Copy(w, io.LimitReader(newPattern(), size))
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	want := sha256.New()
	io.Copy(want, io.LimitReader(newPattern(), size))
	sum := fmt.Sprintf("%x", want.Sum(nil))

	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	io.Copy(c, io.LimitReader(newPattern(), size))
	if _, body := get(t, br, "POST"); body != fmt.Sprintf("%d %s", size, sum) {
		t.Errorf("upload: origin says %q", body)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, _ := io.Copy(got, resp.Body)
	if n != size || fmt.Sprintf("%x", got.Sum(nil)) != sum {
		t.Errorf("download: %d bytes, sum %x", n, got.Sum(nil))
	}
	// All but what came with the heads went socket to socket (counted
	// when each copy ends, before its transaction is logged).
	h.waitLines(t, 2)
	if n := h.s.Stats.Spliced.Value(); n < 2*size-64<<10 {
		t.Errorf("%d of %d body bytes spliced", n, 2*size)
	}
}

// pattern is an endless reader of non-trivial bytes that do not depend
// on how reads are split.
type pattern struct{ off *int64 }

func newPattern() pattern { return pattern{new(int64)} }

func (r pattern) Read(p []byte) (int, error) {
	for i := range p {
		o := *r.off + int64(i)
		p[i] = byte(o*7 + o>>12)
	}
	*r.off += int64(len(p))
	return len(p), nil
}

func TestParkedConnections(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	h := newProxy(t, o.addr, func(s *Server) { s.IdleTimeout = 1500 * time.Millisecond })
	parked := func() int {
		h.s.parker.mu.Lock()
		defer h.s.parker.mu.Unlock()
		return len(h.s.parker.idle)
	}
	a, b := h.dial(t), h.dial(t)
	ab, bb := bufio.NewReader(a), bufio.NewReader(b)
	for _, c := range []net.Conn{a, b} {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	get(t, ab, "GET")
	get(t, bb, "GET")
	time.Sleep(parkAfter + 300*time.Millisecond)
	if n := parked(); n != 2 {
		t.Fatalf("%d connections parked, want 2", n)
	}
	// A parked connection serves its next request.
	io.WriteString(a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := get(t, ab, "GET"); body != "ok" {
		t.Errorf("after parking: %q", body)
	}
	if o.conns.Load() != 2 {
		t.Errorf("origin saw %d connections, want 2: parking must keep the upstream", o.conns.Load())
	}
	// The idle timeout still applies to parked connections.
	t0 := time.Now()
	if !closed(b, bb) {
		t.Errorf("parked connection not closed after the idle timeout")
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("closed after %v", d)
	}
	// Shutdown closes parked connections at once.
	io.WriteString(a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	get(t, ab, "GET")
	time.Sleep(parkAfter + 300*time.Millisecond)
	if n := parked(); n != 1 {
		t.Fatalf("%d connections parked, want 1", n)
	}
	go h.s.Shutdown(t.Context())
	a.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := ab.ReadByte(); err != io.EOF {
		t.Errorf("parked connection on shutdown: %v, want EOF", err)
	}
}

// flakyListener fails its first Accepts as a listener out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestAcceptErrorsDoNotStopServe(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newProxy(t, o.addr)
	go h.s.Serve(&flakyListener{Listener: ln, fails: 5})
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := get(t, bufio.NewReader(c), "GET"); body != "ok" {
		t.Errorf("after accept errors: %q", body)
	}
	if n := h.s.Stats.Errors[errAccept].Value(); n != 5 {
		t.Errorf("accept errors counted: %d, want 5", n)
	}
}

// TestNoBytesAcrossConnections: bytes a closing connection left unread
// must not reach the next connection that reuses its pooled buffers (the
// fuzzer found this).
func TestNoBytesAcrossConnections(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	h := newProxy(t, o.addr)
	for i := 0; i < 20; i++ {
		a := h.dial(t)
		io.WriteString(a, "GET / HTTP/1.1\r\nHost: x\r\nBad\x01: y\r\n\r\nGET /leaked HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, _ := get(t, bufio.NewReader(a), "GET"); resp.StatusCode != 400 {
			t.Fatalf("bad request: %v", resp.Status)
		}
		a.Close()
		b := h.dial(t)
		io.WriteString(b, "GET /mine HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := get(t, bufio.NewReader(b), "GET"); body != "/mine" {
			t.Fatalf("second connection got %q", body)
		}
		b.Close()
	}
}

// TestStaleUpstream: the origin closes each connection after one response
// without saying so, as servers do with idle keep-alive connections. The
// next request must still succeed: a GET is retried on a new connection, a
// POST is sent on a new connection because the old one is checked first.
func TestStaleUpstream(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path)+len(body), req.URL.Path+string(body))
		time.Sleep(20 * time.Millisecond)
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	for i, req := range []string{
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
		"GET /d HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		if i > 0 {
			time.Sleep(100 * time.Millisecond) // the origin has closed by now
		}
		io.WriteString(c, req)
		resp, body := get(t, br, "GET")
		want := []string{"/a", "/b", "/chi", "/d"}[i]
		if resp.StatusCode != 200 || body != want {
			t.Errorf("request %d: %v %q, want 200 %q", i, resp.Status, body, want)
		}
	}
	if n := o.conns.Load(); n != 4 {
		t.Errorf("origin saw %d connections, want 4", n)
	}
}

// TestEarlyResponse: the server answers 413 as soon as it has the head of
// a large upload and stops reading. The client gets the answer at once,
// not after the read timeout, and the connection closes after it; an
// interim 100 in the middle of a body, though, lets the body go on.
func TestEarlyResponse(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/interim" {
			io.CopyN(io.Discard, req.Body, 1<<20)
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			n, _ := io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d", len(fmt.Sprint(n+1<<20)), n+1<<20)
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")
		time.Sleep(15 * time.Second) // reads nothing more
	})
	h := newProxy(t, o.addr, func(s *Server) { s.ReadTimeout = 30 * time.Second })
	const size = 16 << 20
	for _, tc := range []struct {
		path   string
		status int
		within time.Duration
	}{{"/", 413, 3 * time.Second}, {"/interim", 200, 10 * time.Second}} {
		c := h.dial(t)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", tc.path, size)
		go io.Copy(c, io.LimitReader(newPattern(), size))
		t0 := time.Now()
		c.SetReadDeadline(t0.Add(tc.within))
		br := bufio.NewReader(c)
		resp, body := get(t, br, "POST")
		for resp.StatusCode == 100 { // relayed, as the server sent it
			resp, body = get(t, br, "POST")
		}
		if resp.StatusCode != tc.status {
			t.Errorf("POST %s: %s %q, want %d", tc.path, resp.Status, body, tc.status)
		}
		if tc.status == 200 && body != fmt.Sprint(size) {
			t.Errorf("POST %s: the server read %s bytes, want %d", tc.path, body, size)
		}
		t.Logf("POST %s: %s after %v", tc.path, resp.Status, time.Since(t0).Round(time.Millisecond))
		c.Close()
	}
}

// TestNoBytesAcrossUpstreams: bytes a server sent after its response are
// dropped with its connection, whether they came with the response or a
// moment after it; the next request, sent on a new upstream connection,
// gets that connection's own response, not those bytes read as one. (The
// late case failed while a connection used within the last second was
// trusted without a peek.)
func TestNoBytesAcrossUpstreams(t *testing.T) {
	t.Parallel()
	// The origin answers /first with a second response nobody asked for:
	// in the same write, or a moment later (late), before the next
	// request comes.
	late := make(chan struct{})
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body := req.URL.Path
			resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			const stray = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nunwanted!"
			switch req.URL.Path {
			case "/first":
				io.WriteString(c, resp+stray)
			case "/late":
				io.WriteString(c, resp)
				time.Sleep(50 * time.Millisecond)
				io.WriteString(c, stray)
				close(late)
			default:
				io.WriteString(c, resp)
			}
		}
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	// Both at once, so that the second is waiting when the first ends.
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/first", "/second"} {
		if resp, body := get(t, br, "GET"); resp.StatusCode != 200 || body != want {
			t.Errorf("got %v %q, want 200 %q", resp.Status, body, want)
		}
	}
	// A stray response that came after the last one, within a second.
	io.WriteString(c, "GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := get(t, br, "GET"); body != "/late" {
		t.Fatalf("got %q, want %q", body, "/late")
	}
	<-late
	time.Sleep(50 * time.Millisecond) // the stray bytes are at the proxy
	io.WriteString(c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := get(t, br, "GET"); resp.StatusCode != 200 || body != "/after" {
		t.Errorf("after a late stray response: got %v %q, want 200 %q", resp.Status, body, "/after")
	}
}
