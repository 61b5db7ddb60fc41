package intercept

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	pm "tprouter/services/proxy/metrics"
)

func withPool(max int, timeout time.Duration) func(*Server) {
	return func(s *Server) {
		s.MaxIdleUpstream = max
		s.UpstreamIdleTimeout = timeout
	}
}

// dialFrom connects to the proxy from a chosen loopback address, which
// the pool sees as the client's.
func (h *harness) dialFrom(t testing.TB, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends one request on a new connection from ip and returns the
// response's status and body.
func (h *harness) exchange(t testing.TB, ip, req string) (int, string) {
	t.Helper()
	c := h.dialFrom(t, ip)
	defer c.Close()
	io.WriteString(c, req)
	resp, body := get(t, bufio.NewReader(c), "GET")
	return resp.StatusCode, body
}

// connHeaders is an origin that answers with the path and the request's
// Connection field, and records each connection's requests.
type connHeaders struct {
	mu   sync.Mutex
	seen []string // "conn#: Connection value"
}

func (o *connHeaders) origin(t *testing.T, extra string) *origin {
	var n int
	return rawOrigin(t, func(c net.Conn) {
		o.mu.Lock()
		n++
		id := n
		o.mu.Unlock()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			o.mu.Lock()
			o.seen = append(o.seen, fmt.Sprintf("%d:%s", id, req.Header.Get("Connection")))
			o.mu.Unlock()
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s", extra, len(req.URL.Path), req.URL.Path)
		}
	})
}

func (o *connHeaders) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

// TestPoolReusesForSameClient: a client that opens a connection per
// request (Connection: close) gets the upstream connection its previous
// one left, the server never sees "close", and another client address
// never gets it.
func TestPoolReusesForSameClient(t *testing.T) {
	t.Parallel()
	var rec connHeaders
	o := rec.origin(t, "")
	h := newProxy(t, o.addr, withPool(16, time.Minute))
	for i := range 3 {
		st, body := h.exchange(t, "127.0.0.1", fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", i))
		if st != 200 || body != fmt.Sprintf("/%d", i) {
			t.Fatalf("request %d: %d %q", i, st, body)
		}
		waitIdleUpstream(t, h, 1)
	}
	// Another client address: its own upstream connection.
	if st, _ := h.exchange(t, "127.0.0.2", "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); st != 200 {
		t.Fatalf("other client: %d", st)
	}
	waitIdleUpstream(t, h, 2)
	want := []string{"1:", "1:", "1:", "2:"}
	if got := rec.get(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("origin saw (connection:Connection field) %q, want %q", got, want)
	}
	if n := h.s.Stats.UpstreamReused.Value(); n != 2 {
		t.Errorf("upstream_reused = %d, want 2", n)
	}
}

func waitIdleUpstream(t *testing.T, h *harness, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d idle upstream connections", n), func() bool { return h.s.Stats.UpstreamIdle.Value() == n })
}

// TestPoolOnlyForRetriable: a request that could not be sent again (a
// POST, a body) never goes on a pooled connection, which the server may
// be closing at that moment; it gets a new one.
func TestPoolOnlyForRetriable(t *testing.T) {
	t.Parallel()
	var rec connHeaders
	o := rec.origin(t, "")
	h := newProxy(t, o.addr, withPool(16, time.Minute))
	h.exchange(t, "127.0.0.1", "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	waitIdleUpstream(t, h, 1)
	st, body := h.exchange(t, "127.0.0.1", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
	if st != 200 || body != "/b" {
		t.Fatalf("POST: %d %q", st, body)
	}
	waitIdleUpstream(t, h, 2)
	if got := strings.Join(rec.get(), " "); got != "1: 2:" {
		t.Errorf("origin saw %q, want the POST on a second connection", got)
	}
}

// TestPoolPinsConnectionAuth: a connection that carried NTLM or
// Negotiate is authenticated as a whole, so it closes with its client
// connection instead of serving the next one.
func TestPoolPinsConnectionAuth(t *testing.T) {
	t.Parallel()
	// The request's field is seen before the request goes out, so the
	// server is told to close; the response's only after.
	for _, tc := range []struct{ name, req, resp, want string }{
		{"request", "Authorization: NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=\r\n", "", "1:close 2:close"},
		{"response", "", "WWW-Authenticate: Basic realm=\"x\", Negotiate\r\n", "1: 2:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec connHeaders
			o := rec.origin(t, tc.resp)
			h := newProxy(t, o.addr, withPool(16, time.Minute))
			for range 2 {
				if st, _ := h.exchange(t, "127.0.0.1", "GET / HTTP/1.1\r\nHost: x\r\n"+tc.req+"Connection: close\r\n\r\n"); st != 200 {
					t.Fatalf("status %d", st)
				}
			}
			if got := strings.Join(rec.get(), " "); got != tc.want {
				t.Errorf("origin saw %q, want %q: a connection each", got, tc.want)
			}
			if n := h.s.Stats.UpstreamIdle.Value(); n != 0 {
				t.Errorf("%d idle upstream connections, want 0", n)
			}
		})
	}
}

// TestPoolStale: a pooled connection the server has closed is noticed
// (by a peek, or for a request sent again, by the failed exchange) and
// the request goes on a new connection; expired ones are closed.
func TestPoolStale(t *testing.T) {
	t.Parallel()
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(20 * time.Millisecond) // then close, unannounced
	})
	h := newProxy(t, o.addr, withPool(16, time.Minute))
	for i, pause := range []time.Duration{0, 100 * time.Millisecond, 1200 * time.Millisecond} {
		time.Sleep(pause) // 100 ms: trusted and retried; 1.2 s: peeked
		if st, body := h.exchange(t, "127.0.0.1", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); st != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, st, body)
		}
	}
	if n := o.conns.Load(); n != 3 {
		t.Errorf("origin saw %d connections, want 3", n)
	}

	// Expiry: the pooled connection is closed after the timeout.
	var rec connHeaders
	o2 := rec.origin(t, "")
	h2 := newProxy(t, o2.addr, withPool(16, 200*time.Millisecond))
	h2.exchange(t, "127.0.0.1", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	waitIdleUpstream(t, h2, 1)
	waitIdleUpstream(t, h2, 0)
}

// TestPoolFull: a full pool keeps the newest connection, retiring the
// oldest of another client, so that one client's burst cannot keep every
// other client from the pool until its connections expire.
func TestPoolFull(t *testing.T) {
	t.Parallel()
	var rec connHeaders
	o := rec.origin(t, "")
	h := newProxy(t, o.addr, withPool(1, time.Minute))
	a, b := h.dialFrom(t, "127.0.0.1"), h.dialFrom(t, "127.0.0.2")
	for _, c := range []net.Conn{a, b} {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, _ := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	a.Close()
	waitIdleUpstream(t, h, 1)
	b.Close()
	time.Sleep(100 * time.Millisecond)
	if n := h.s.Stats.UpstreamIdle.Value(); n != 1 {
		t.Errorf("%d idle upstream connections, want 1 (the maximum)", n)
	}
	// b's, the newer, was kept: its client's next connection takes it.
	if st, _ := h.exchange(t, "127.0.0.2", "GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); st != 200 {
		t.Fatalf("127.0.0.2 again: %d", st)
	}
	if got, want := rec.get(), "1: 2: 2:"; strings.Join(got, " ") != want {
		t.Errorf("origin saw (connection:Connection field) %q, want %q", got, want)
	}
}

// TestPoolPerKey: one client and destination keep at most perKey idle
// connections, the newest.
func TestPoolPerKey(t *testing.T) {
	t.Parallel()
	var g pm.Gauge
	p := newPool(1024, time.Minute, &g)
	defer p.closeAll()
	k := poolKey{client: netip.MustParseAddr("192.0.2.2"), dst: netip.MustParseAddrPort("198.51.100.2:80")}
	var conns []net.Conn
	for i := range perKey + 3 {
		c1, c2 := net.Pipe()
		defer c2.Close()
		conns = append(conns, c1)
		if !p.put(k, upstream{end: end{nc: c1}, last: time.Now().Add(time.Duration(i) * time.Millisecond)}) {
			t.Fatalf("put %d refused", i)
		}
	}
	if g.Value() != perKey || len(p.idle[k]) != perKey {
		t.Errorf("%d idle (gauge %d), want perKey = %d", len(p.idle[k]), g.Value(), perKey)
	}
	if e, _ := p.get(k, time.Now()); e.nc != conns[len(conns)-1] {
		t.Errorf("get did not return the newest connection")
	}
}

// TestPoolRetiresWithReset: an expired idle connection is closed with a
// reset, so that the router keeps no TIME_WAIT socket for a client's
// address and port.
func TestPoolRetiresWithReset(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	o := rawOrigin(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_, err := br.ReadByte() // blocks until the proxy retires the connection
		ended <- err
	})
	h := newProxy(t, o.addr, withPool(16, 200*time.Millisecond))
	h.exchange(t, "127.0.0.1", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	select {
	case err := <-ended:
		if err == nil || !strings.Contains(err.Error(), "reset") {
			t.Errorf("origin's read ended with %v, want a reset", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the idle connection was not closed")
	}
}
