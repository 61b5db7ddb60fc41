package intercept

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"tprouter/services/proxy/domains"
)

func policyOf(t *testing.T, deny ...string) *domains.Policy {
	t.Helper()
	var b domains.Builder
	for _, d := range deny {
		if err := b.Add(d); err != nil {
			t.Fatalf("Add(%q): %v", d, err)
		}
	}
	return &domains.Policy{Deny: b.List()}
}

// TestDeniedHost: a request whose Host (any case, with a port, bracketed,
// or the absolute-form authority; the destination address without a
// Host) the policy denies gets the 403 page naming the domain and the
// router, is logged TCP_DENIED/403 and counted, and opens no upstream
// connection; an allowed one goes through.
func TestDeniedHost(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "origin") })
	h := newProxy(t, o.addr)
	h.s.SetPolicy(policyOf(t, ".denied.example", "2001:db8::7"))
	for _, tc := range []struct{ req, name string }{
		{"GET / HTTP/1.1\r\nHost: WWW.Denied.Example:8080\r\n\r\n", "www.denied.example"},
		{"GET / HTTP/1.1\r\nHost: denied.example.\r\n\r\n", "denied.example."},
		{"GET http://denied.example/x HTTP/1.1\r\nHost: ok.example\r\n\r\n", "denied.example"},
		{"GET / HTTP/1.1\r\nHost: [2001:db8::7]:80\r\n\r\n", "2001:db8::7"},
	} {
		c := h.dial(t)
		io.WriteString(c, tc.req)
		resp, body := get(t, bufio.NewReader(c), "GET")
		if resp.StatusCode != 403 || !strings.Contains(body, tc.name) || !strings.Contains(body, "test-proxy") {
			t.Errorf("%q: %v %q, want 403 naming %s and the router", tc.req, resp.Status, body, tc.name)
		}
		if !closed(c, bufio.NewReader(c)) {
			t.Errorf("%q: connection left open after the 403", tc.req)
		}
	}
	c := h.dial(t)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: ok.example\r\n\r\n")
	if resp, body := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "origin" {
		t.Errorf("allowed: %v %q", resp.Status, body)
	}
	if n := o.conns.Load(); n != 1 {
		t.Errorf("origin saw %d connections, want 1 (the allowed request's)", n)
	}
	if n := h.s.Stats.Denied[0].Value(); n != 4 {
		t.Errorf("Denied[http] = %d, want 4", n)
	}
	es := h.waitLines(t, 5)
	if len(es) != 5 {
		t.Fatalf("%d log lines, want 5", len(es))
	}
	for _, e := range es[:4] {
		if e.Code != "TCP_DENIED" || e.Status != 403 || e.Hier != "HIER_NONE" || string(e.MIME) != "text/html" ||
			string(e.Method) != "GET" || e.Bytes == 0 {
			t.Errorf("denied log: %+v", e)
		}
	}
	if u := string(es[2].URL); u != "http://denied.example/x" {
		t.Errorf("absolute-form logged as %q", u)
	}
}

// TestDeniedNoHost: an HTTP/1.0 request without Host is checked by the
// destination's address.
func TestDeniedNoHost(t *testing.T) {
	t.Parallel()
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	h := newProxy(t, o.addr)
	h.s.SetPolicy(policyOf(t, "127.0.0.1"))
	c := h.dial(t)
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	resp, body := get(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 403 || !strings.Contains(body, "127.0.0.1") {
		t.Errorf("%v %q, want 403 naming 127.0.0.1", resp.Status, body)
	}
	c = h.dial(t)
	io.WriteString(c, "GET / HTTP/1.0\r\nHost: ok.example\r\n\r\n")
	if resp, _ := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 {
		t.Errorf("with a Host that is not denied: %v", resp.Status)
	}
	if n := o.conns.Load(); n != 1 {
		t.Errorf("origin saw %d connections, want 1", n)
	}
	h.s.SetPolicy(nil)
	c = h.dial(t)
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	if resp, _ := get(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 {
		t.Errorf("after SetPolicy(nil): %v", resp.Status)
	}
}
