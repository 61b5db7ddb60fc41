package main

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
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

// TestNoTimeWaitAtEitherEnd: after Connection: close requests without
// upstream reuse, neither the router nor the server holds a TIME_WAIT:
// the proxy resets an upstream connection that carried a whole response
// instead of answering the server's FIN with its own (which left the
// server one TIME_WAIT per connection), and the client, which closes
// first, holds its own.
func TestNoTimeWaitAtEitherEnd(t *testing.T) {
	t.Parallel()
	r := start(t, "-max-idle-upstream", "0")
	r.serve1K(t)
	const n = 50
	res := runLoad(t, r.Client, []netip.Addr{lab.ClientV4}, netip.AddrPortFrom(lab.ServerV4, 80), 5, n)
	if res.failed != 0 {
		t.Fatalf("load: %v: %q", res, res.firstErrors)
	}
	for _, ns := range []*lab.NS{r.Router, r.Server} {
		if out := ns.Run(t, "ss", "-Htan", "state", "time-wait"); out != "" {
			t.Errorf("%s holds %d TIME_WAIT sockets after %d connections:\n%s", ns.Name, strings.Count(out, "\n")+1, n, out)
		}
	}
	if out := r.Client.Run(t, "ss", "-Htan", "state", "time-wait"); strings.Count(out, "\n")+1 < n {
		t.Errorf("the client holds fewer than %d TIME_WAIT sockets: did it close first?\n%s", n, out)
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

// TestClientWaitsForClose: a client that, after a complete response to
// its "Connection: close" request, reads on until the server closes (as
// one reading to the end of the stream does) gets the proxy's close soon
// after it has acknowledged the response, not after the whole lingerTime
// (500 ms) that the proxy gives a client to close first.
func TestClientWaitsForClose(t *testing.T) {
	t.Parallel()
	r := start(t)
	r.serveHTTP(t, lab.EchoAddr)
	for i := range 3 {
		c := r.dial(t, srv4)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		br := bufio.NewReader(c)
		if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
			t.Fatalf("round %d: %s", i, resp.Status)
		}
		read := time.Now()
		n, err := io.Copy(io.Discard, br)
		waited := time.Since(read)
		c.Close()
		if n != 0 || err != nil {
			t.Errorf("round %d: after the response %d more bytes, then %v; want the proxy's close", i, n, err)
		}
		t.Logf("round %d: the proxy closed %v after the response", i, waited.Round(time.Millisecond))
		if waited >= 450*time.Millisecond {
			t.Errorf("round %d: the proxy closed %v after the response, want well before lingerTime (500 ms)", i, waited)
		}
	}
}
