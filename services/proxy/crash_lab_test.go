package main

import (
	"bufio"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// TestRestartClearsTimeWait: a proxy killed with SIGKILL while it holds a
// client connection and its upstream one leaves the router two TIME_WAIT
// sockets with the client's tuples (the intercepted one, local address the
// server's, and the spoofed upstream one, local address the client's).
// With interception off and only the DIVERT rule left (as when failing
// open), the "socket transparent" rule steers new connections with those
// tuples to the TIME_WAITs, which answer the SYN with an ACK; the client
// resets the TIME_WAIT and connects with its next SYN, a second later. A
// restarted proxy destroys them: both tuples connect at once, forwarded.
func TestRestartClearsTimeWait(t *testing.T) {
	r := startSeed(t)
	r.serveHTTP(t, lab.EchoAddr)
	dst := netip.AddrPortFrom(lab.ServerV4, 80)
	client := netip.AddrPortFrom(lab.ClientV4, 41000)
	c, err := clashDial(r.Client, client, dst)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	up, err := netip.ParseAddrPort(string(b))
	if err != nil {
		t.Fatalf("the server saw %q: %v", b, err)
	}

	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.exited <- nil
	io.Copy(io.Discard, br) // the dead proxy's FIN
	c.Close()
	waitTimeWait(t, r.Router, 2)
	// Interception off, the DIVERT rule kept.
	r.Router.Run(t, "nft", "flush", "chain", "ip", "seed", "divert")
	r.Router.Run(t, "nft", "add", "rule", "ip", "seed", "divert", "meta", "l4proto", "tcp", "socket", "transparent", "1", "meta", "mark", "set", "1", "accept")

	r2 := launch(t, r.Lab)
	if !r2.stderr.wait("destroyed 2 TIME_WAIT sockets", 5*time.Second) {
		t.Errorf("the restarted proxy did not say it destroyed the 2 TIME_WAIT sockets:\n%s", r2.stderr)
	}
	retrans := netstat(t, r.Client, "TcpExt", "TCPSynRetrans")
	for _, src := range []netip.AddrPort{client, up} {
		t0 := time.Now()
		c, err := clashDial(r.Client, src, dst)
		t.Logf("connect from %s: %v", src, time.Since(t0).Round(time.Millisecond))
		if err != nil {
			t.Errorf("dial %s from %s after the restart, interception off: %v\nrouter sockets:\n%s",
				dst, src, err, r.Router.Run(t, "ss", "-tano"))
			continue
		}
		status, body, err := clashGet(c, "/")
		c.Close()
		if err != nil || status != 200 || body != src.String() {
			t.Errorf("GET from %s, forwarded: %d %q, %v; want the server to see %s", src, status, body, err, src)
		}
	}
	// A TIME_WAIT answers the SYN with an ACK, the client resets it
	// and sends its SYN again a second later.
	if n := netstat(t, r.Client, "TcpExt", "TCPSynRetrans") - retrans; n != 0 {
		t.Errorf("the client retransmitted %d SYNs: a TIME_WAIT of the killed proxy took them", n)
	}
}

// waitTimeWait waits up to a few seconds for ns to hold n TIME_WAIT
// sockets.
func waitTimeWait(t *testing.T, ns *lab.NS, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := strings.TrimSpace(ns.Run(t, "ss", "-Htan", "state", "time-wait"))
		got := 0
		if out != "" {
			got = len(strings.Split(out, "\n"))
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router holds %d TIME_WAIT sockets, want %d:\n%s", got, n, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
