package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

// The proxy connects upstream from the client's address with a port the
// router's kernel picks. When it picks the client's own port, the upstream
// connection client:port -> server:80 has the very tuple of the client's
// intercepted connection, which conntrack already tracks. These tests make
// that happen every time: the router's ephemeral port range is one port,
// and a client connects from that port. The firewall keeps the two
// connections apart in different conntrack zones; in one zone, conntrack
// takes both for one connection.

// clashPort is the router's only ephemeral port in these tests.
const clashPort = 40000

// clashModes are the router configurations: routed (the lab's default)
// and with IPv4 masquerade towards a server that has no route back to the
// LAN, as on the internet.
var clashModes = []struct {
	name string
	nat  bool
	seed bool // the seed's ruleset: one conntrack zone
}{{"routed", false, false}, {"nat", true, false}, {"seed", false, true}}

// startClash starts the proxy in a lab router, with IPv4 masquerade if nat
// (and then no route from the server back to the LAN's IPv4 prefix), and
// with clashPort as the router's only ephemeral port (the IPv4 range
// applies to IPv6 too; equal bounds are one port).
func startClash(t *testing.T, nat, seed bool) *rig {
	t.Helper()
	var r *rig
	if seed {
		r = startSeed(t, "-connect-timeout", "2s")
	} else {
		r = start(t, "-connect-timeout", "2s")
	}
	if nat {
		c := labrouter.Config(3129)
		c.NAT = true
		labrouter.Install(t, r.Lab, c)
		r.Server.IP(t, "route", "del", lab.LANv4.String())
	}
	r.Router.Sysctl(t, "net/ipv4/ip_local_port_range", fmt.Sprintf("%d %d", clashPort, clashPort))
	return r
}

// checkSeen checks the address the server saw for a connection of client
// (a lab.EchoAddr body): the client's address with port want, or with any
// port but not (a port the proxy must not take); with masquerade, for
// IPv4, the router's WAN address (with whatever port NAT chose).
func checkSeen(seen string, client netip.Addr, want, not uint16, nat bool) error {
	ap, err := netip.ParseAddrPort(seen)
	switch {
	case err != nil:
		return fmt.Errorf("the server saw %q: %v", seen, err)
	case nat && client.Is4():
		if ap.Addr() != lab.RouterWANv4.Addr() {
			return fmt.Errorf("the server saw %s, want the router's WAN address %s", ap, lab.RouterWANv4.Addr())
		}
	case ap.Addr() != client:
		return fmt.Errorf("the server saw %s, want the client's address %s", ap, client)
	case want != 0 && ap.Port() != want:
		return fmt.Errorf("the server saw %s, want the router's only port, %d", ap, want)
	case ap.Port() == not:
		return fmt.Errorf("the server saw %s: the upstream connection took the client's own port", ap)
	}
	return nil
}

// TestUpstreamPortClash: a client connects from clashPort, the router's
// only ephemeral port, so the kernel's choice for the proxy's upstream
// connection would give it the client's own tuple. The proxy must take
// another port (outside the range, chosen by itself), also under the
// seed's ruleset, which has one conntrack zone; the server sees the
// client's address with another port (routed) or the WAN address
// (masquerade), and conntrack holds two entries. Had the proxy taken the
// client's port, in one zone, conntrack takes the upstream SYN for a packet of
// the client's connection: with masquerade it is never translated (it
// leaves with the client's LAN address, and the proxy answers 504 after
// -connect-timeout); routed, the two connections share one entry (which
// TestClientReusesUpstreamPort shows going wrong).
func TestUpstreamPortClash(t *testing.T) {
	t.Parallel()
	for _, mode := range clashModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			r := startClash(t, mode.nat, mode.seed)
			r.serveHTTP(t, lab.EchoAddr)
			for _, tc := range []struct {
				dst    netip.AddrPort
				client netip.Addr
			}{
				{netip.AddrPortFrom(lab.ServerV4, 80), lab.ClientV4},
				{netip.AddrPortFrom(lab.ServerV6, 80), lab.ClientV6},
			} {
				src := netip.AddrPortFrom(tc.client, clashPort)
				failed := insertFailed(t, r.Router)
				t0 := time.Now()
				c, err := clashDial(r.Client, src, tc.dst)
				if err != nil {
					t.Errorf("dial %s from %s: %v", tc.dst, src, err)
					continue
				}
				status, body, err := clashGet(c, "/")
				c.Close()
				if err != nil || status != 200 {
					t.Errorf("GET %s from %s: status %d, %v after %v: %.80q (conntrack insert_failed +%d)",
						tc.dst, src, status, err, time.Since(t0).Round(time.Millisecond), body, insertFailed(t, r.Router)-failed)
				} else if err := checkSeen(body, tc.client, 0, clashPort, mode.nat); err != nil {
					t.Errorf("GET %s from %s: %v", tc.dst, src, err)
				}
				// Only the client's connection has its tuple (a closed
				// connection's entry lingers in TIME_WAIT for two minutes).
				if n := r.Router.ConntrackEntries(t, src, tc.dst); n != 1 {
					t.Errorf("conntrack holds %d entries for %s -> %s, want 1 (the client's connection alone):\n%s",
						n, src, tc.dst, r.Router.Run(t, "cat", "/proc/net/nf_conntrack"))
				}
				if n := insertFailed(t, r.Router) - failed; n != 0 {
					t.Errorf("conntrack insert_failed +%d", n)
				}
			}
		})
	}
}

// TestClientReusesUpstreamPort: the other way round. The proxy's upstream
// connection for a client connection from another port uses clashPort
// while the server takes its time to answer; then the same client
// connects from clashPort and resets that connection at once. The
// upstream connection must not notice: the rest of the answer arrives.
// In one conntrack entry, the client's connection takes the upstream's
// entry over, which its reset closes (the close timeout is shortened to
// one second here, from ten): the rest of the answer then arrives as a
// new connection from the WAN, which the firewall drops. With masquerade,
// the client's SYN gets the upstream entry's NAT, and its connection is
// reset.
func TestClientReusesUpstreamPort(t *testing.T) {
	t.Parallel()
	for _, mode := range clashModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			if mode.seed {
				t.Skip("in one conntrack zone a client that takes an upstream connection's tuple clashes; only zones prevent it")
			}
			r := startClash(t, mode.nat, mode.seed)
			r.Router.Sysctl(t, "net/netfilter/nf_conntrack_tcp_timeout_close", "1")
			const pause = 2500 * time.Millisecond
			r.serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				fmt.Fprintf(w, "%s|", req.RemoteAddr)
				w.(http.Flusher).Flush()
				time.Sleep(pause)
				io.WriteString(w, "end")
			}))
			for _, tc := range []struct {
				dst    netip.AddrPort
				client netip.Addr
			}{
				{netip.AddrPortFrom(lab.ServerV4, 80), lab.ClientV4},
				{netip.AddrPortFrom(lab.ServerV6, 80), lab.ClientV6},
			} {
				first := netip.AddrPortFrom(tc.client, clashPort+1)
				c, err := clashDial(r.Client, first, tc.dst)
				if err != nil {
					t.Fatalf("dial %s from %s: %v", tc.dst, first, err)
				}
				c.SetDeadline(time.Now().Add(pause + 3*time.Second))
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
				if err != nil {
					c.Close()
					t.Fatalf("GET %s from %s: %v", tc.dst, first, err)
				}
				body := bufio.NewReader(resp.Body)
				seen, err := body.ReadString('|')
				if err != nil {
					t.Errorf("GET %s from %s: %q, %v", tc.dst, first, seen, err)
				} else if err := checkSeen(strings.TrimSuffix(seen, "|"), tc.client, clashPort, 0, mode.nat); err != nil {
					t.Errorf("GET %s from %s: %v", tc.dst, first, err)
				}

				second := netip.AddrPortFrom(tc.client, clashPort)
				t0 := time.Now()
				c2, err := clashDial(r.Client, second, tc.dst)
				if err != nil {
					t.Errorf("dial %s from %s, the upstream connection's port: %v", tc.dst, second, err)
				} else {
					c2.(*net.TCPConn).SetLinger(0) // close with a reset
					c2.Close()
				}

				rest, err := io.ReadAll(body)
				if err != nil || string(rest) != "end" {
					t.Errorf("GET %s from %s: after the client reset its connection from %s, the rest of the answer: %q, %v after %v",
						tc.dst, first, second, rest, err, time.Since(t0).Round(time.Millisecond))
				}
				c.Close()
			}
		})
	}
}

// clashDial connects from src to dst inside ns, within a few seconds.
// SO_REUSEADDR lets a test bind a port whose last connection is in
// TIME_WAIT.
func clashDial(ns *lab.NS, src, dst netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   3 * time.Second,
		LocalAddr: net.TCPAddrFromAddrPort(src),
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = d.Dial("tcp", dst.String())
		return err
	})
	return c, err
}

// clashGet sends one GET for path on c, with Connection: close, and
// returns the status and body, within a few seconds.
func clashGet(c net.Conn, path string) (int, string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", path); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// insertFailed returns the sum over CPUs of conntrack's insert_failed
// counter in ns (/proc/net/stat/nf_conntrack).
func insertFailed(t *testing.T, ns *lab.NS) int64 {
	t.Helper()
	n := conntrackStat(t, ns, "insert_failed")
	if n < 0 {
		t.Fatalf("no insert_failed column in /proc/net/stat/nf_conntrack in %s", ns.Name)
	}
	return n
}
