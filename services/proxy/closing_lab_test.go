package main

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// TestNoCloseWaitAfterLoad: after many Connection: close requests under
// the seed's ruleset, without upstream reuse, no router socket stays in
// CLOSE-WAIT (the client closed, the proxy not) beyond a short bound.
func TestNoCloseWaitAfterLoad(t *testing.T) {
	t.Parallel()
	r := startSeed(t, "-max-idle-upstream", "0")
	r.serve1K(t)
	srcs := append([]netip.Addr{lab.ClientV4}, clientAddrs(t, r.Client, 7)...)
	res := runLoad(t, r.Client, srcs, netip.AddrPortFrom(lab.ServerV4, 80), 20, 1000)
	if res.failed != 0 {
		t.Errorf("load: %v: %q", res, res.firstErrors)
	}
	if n := waitNoCloseWait(t, r.Router, 3*time.Second); n != 0 {
		t.Errorf("%d router sockets still in CLOSE-WAIT 3 s after the load:\n%s", n, r.Router.Run(t, "ss", "-tanpo", "state", "close-wait"))
	}
}

// TestClientClosesBeforeAnswer: a client that closes while the server
// has not answered yet gets its socket on the router closed at once (the
// server would answer only after 30 s), and the upstream connection is
// reset, leaving the router no TIME_WAIT with the client's tuple.
func TestClientClosesBeforeAnswer(t *testing.T) {
	t.Parallel()
	r := startSeed(t, "-max-idle-upstream", "0")
	got := make(chan struct{}, 1)
	r.serveRaw(t, func(c net.Conn) {
		b := make([]byte, 4096)
		c.Read(b)
		got <- struct{}{}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		io.Copy(io.Discard, c) // until the proxy resets it
	})
	c := r.dial(t, "198.51.100.2:80")
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the server")
	}
	c.Close()
	if n := waitNoCloseWait(t, r.Router, 5*time.Second); n != 0 {
		t.Errorf("%d router sockets in CLOSE-WAIT 5 s after the client closed (the server answers after 30 s):\n%s",
			n, r.Router.Run(t, "ss", "-tanpo", "state", "close-wait"))
	}
	if out := r.Router.Run(t, "ss", "-Htan", "state", "time-wait"); out != "" {
		t.Errorf("the router holds TIME_WAIT sockets:\n%s", out)
	}
	es := r.logLines(t, 1)
	if len(es) != 1 || es[0].Code != "TCP_MISS_ABORTED" {
		t.Errorf("access log: %+v, want one TCP_MISS_ABORTED line", es)
	}
}
