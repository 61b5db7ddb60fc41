package firewall_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"tprouter/init/config"
	"tprouter/qemu/lab"
)

// End-to-end tests: netconf and the firewall configure the lab's router,
// the client talks to the server through it, and a small spoofing proxy in
// the router stands in for Squid's "http_port 3129 tproxy".

// urls are the server's port 80 over both families, with the client
// address the server sees when nothing translates it.
var urls = []struct {
	url    string
	client netip.Addr
	dst    netip.AddrPort
}{
	{"http://198.51.100.2/", lab.ClientV4, netip.AddrPortFrom(lab.ServerV4, 80)},
	{"http://[2001:db8:2::2]/", lab.ClientV6, netip.AddrPortFrom(lab.ServerV6, 80)},
}

// TestIntercept: a client's HTTP request to the server is diverted to the
// proxy, which sees the original destination as its local address, dials
// the server from the client's address, and relays the answer; the server
// sees the client. Both families.
func TestIntercept(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	applyRouter(t, l, labConfig())
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	seen := spoofingProxy(t, l.Router)

	for _, u := range urls {
		body, err := get(l.Client, u.url)
		if err != nil {
			t.Errorf("GET %s: %v", u.url, err)
			continue
		}
		if got := seenBy(body); got != u.client.String() {
			t.Errorf("GET %s: server saw %s, want the client %s", u.url, got, u.client)
		}
		c := next(t, seen, time.Second, "intercepted connection for "+u.url)
		if c.client.Addr() != u.client || c.dst != u.dst {
			t.Errorf("GET %s: proxy saw %s -> %s, want %s -> %s", u.url, c.client, c.dst, u.client, u.dst)
		}
	}
}

// TestInterceptNAT: with masquerade and a server that has no route back to
// the LAN, both a direct connection (port 8080, not intercepted) and an
// intercepted one with a spoofed upstream connection reach the server from
// the router's WAN address. The replies to the proxy's connection arrive
// addressed to the WAN address, before the NAT is undone: the socket rule
// finds the proxy's socket anyway.
func TestInterceptNAT(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{NoReturnRoute: true})
	c := labConfig()
	c.NAT = true
	applyRouter(t, l, c)
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	l.Server.ServeHTTP(t, ":8080", lab.EchoAddr)
	seen := spoofingProxy(t, l.Router)
	wan := lab.RouterWANv4.Addr().String()

	body, err := get(l.Client, "http://198.51.100.2:8080/")
	if err != nil {
		t.Fatalf("GET :8080 (direct): %v", err)
	}
	if got := seenBy(body); got != wan {
		t.Errorf("GET :8080 (direct): server saw %s, want the WAN address %s", got, wan)
	}
	expectNone(t, seen, 0, "port 8080 was intercepted")

	body, err = get(l.Client, urls[0].url)
	if err != nil {
		t.Fatalf("GET %s (intercepted): %v", urls[0].url, err)
	}
	if got := seenBy(body); got != wan {
		t.Errorf("GET %s (intercepted): server saw %s, want the WAN address %s", urls[0].url, got, wan)
	}
	ic := next(t, seen, time.Second, "intercepted connection")
	if ic.client.Addr() != lab.ClientV4 || ic.dst != urls[0].dst {
		t.Errorf("proxy saw %s -> %s, want %s -> %s", ic.client, ic.dst, lab.ClientV4, urls[0].dst)
	}
}

// TestFailOpen: with nothing on the proxy port, intercepted connections go
// to the server untouched.
func TestFailOpen(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	applyRouter(t, l, labConfig())
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)

	for _, u := range urls {
		body, err := get(l.Client, u.url)
		if err != nil {
			t.Errorf("GET %s: %v", u.url, err)
			continue
		}
		if got := seenBy(body); got != u.client.String() {
			t.Errorf("GET %s: server saw %s, want the client %s", u.url, got, u.client)
		}
	}
}

// TestFailClosed: with nothing on the proxy port, intercepted connections
// are reset and never reach the server; other ports still do, and once a
// proxy listens, interception works.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	c := labConfig()
	c.FailMode = config.FailClosed
	applyRouter(t, l, c)
	accepted := acceptAll(t, l.Server.Listen(t, "tcp", ":80"))
	l.Server.ServeHTTP(t, ":8080", lab.EchoAddr)

	for _, u := range urls {
		err := dial(l.Client, u.dst.String(), 2*time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s with no proxy: %v, want connection refused (reset)", u.dst, err)
		}
		url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(u.dst.Addr(), 8080))
		if body, err := get(l.Client, url); err != nil || seenBy(body) != u.client.String() {
			t.Errorf("GET %s (not intercepted): %q, %v; want the client %s", url, body, err, u.client)
		}
	}
	expectNone(t, accepted, 100*time.Millisecond, "the server accepted a connection")

	seen := spoofingProxy(t, l.Router)
	for _, u := range urls {
		if err := dial(l.Client, u.dst.String(), 2*time.Second); err != nil {
			t.Errorf("dial %s with a proxy: %v", u.dst, err)
		}
		next(t, seen, time.Second, "intercepted connection to "+u.dst.String())
	}
}

// TestExempt: exempt destinations are never intercepted, not even by a
// running proxy, and not rejected when failing closed.
func TestExempt(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	c := labConfig()
	c.FailMode = config.FailClosed
	c.Exempt = []netip.Prefix{netip.PrefixFrom(lab.ServerV4, 32), netip.PrefixFrom(lab.ServerV6, 128)}
	applyRouter(t, l, c)
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	seen := spoofingProxy(t, l.Router)

	for _, u := range urls {
		body, err := get(l.Client, u.url)
		if err != nil {
			t.Errorf("GET %s: %v", u.url, err)
			continue
		}
		if got := seenBy(body); got != u.client.String() {
			t.Errorf("GET %s: server saw %s, want the client %s", u.url, got, u.client)
		}
	}
	expectNone(t, seen, 0, "an exempt destination was intercepted")
}

// TestWANClosed: with the transparent listener and two plain services
// bound to the wildcard address, nothing on the router accepts a
// connection from the WAN: not to its WAN or LAN addresses, and not to a
// LAN address on the proxy port, which the socket rule diverts to the
// transparent listener (the input chain drops it). From the LAN, the
// services are reachable.
func TestWANClosed(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	applyRouter(t, l, labConfig())
	var accepted []<-chan net.Addr
	accepted = append(accepted, acceptAll(t, transparentListener(t, l.Router, proxyPort)))
	for _, port := range []string{":9090", ":22"} {
		accepted = append(accepted, acceptAll(t, l.Router.Listen(t, "tcp", port)))
	}

	var targets []string
	for _, host := range []string{"198.51.100.1", "2001:db8:2::1", "192.0.2.1", "2001:db8:1::1"} {
		for _, port := range []string{"3129", "9090", "22"} {
			targets = append(targets, net.JoinHostPort(host, port))
		}
	}
	targets = append(targets, "192.0.2.2:3129", "[2001:db8:1::2]:3129")
	var wg sync.WaitGroup
	for _, addr := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dial(l.Server, addr, time.Second); err == nil {
				t.Errorf("from the WAN: %s accepted a connection", addr)
			}
		}()
	}
	wg.Wait()
	for _, a := range accepted {
		expectNone(t, a, 0, "a router listener accepted a connection from the WAN")
	}

	for _, addr := range []string{"192.0.2.1:9090", "192.0.2.1:22", "[2001:db8:1::1]:22", "[2001:db8:1::1]:3129"} {
		if err := dial(l.Client, addr, 2*time.Second); err != nil {
			t.Errorf("from the LAN: %s: %v", addr, err)
		}
	}
}

// acceptAll accepts and closes every connection on ln, reporting the peer.
func acceptAll(t *testing.T, ln net.Listener) <-chan net.Addr {
	c := make(chan net.Addr, 64)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case c <- conn.RemoteAddr():
			default:
			}
			conn.Close()
		}
	}()
	return c
}

// TestProxyPortNotDiverted: a LAN client's connection to another host's
// port 3129 is forwarded to that host, not taken by the proxy's
// wildcard-bound transparent listener (the DIVERT rule's socket wildcard 0).
func TestProxyPortNotDiverted(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	applyRouter(t, l, labConfig())
	l.Server.ServeHTTP(t, fmt.Sprintf(":%d", proxyPort), lab.EchoAddr)
	seen := spoofingProxy(t, l.Router)
	for _, u := range urls {
		url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(u.dst.Addr(), proxyPort))
		body, err := get(l.Client, url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			continue
		}
		if got := seenBy(body); got != u.client.String() {
			t.Errorf("GET %s: server saw %s, want the client %s", url, got, u.client)
		}
	}
	expectNone(t, seen, 300*time.Millisecond, "a connection to port 3129 of another host")
}

// TestPortClash: the proxy's upstream connection gets the very tuple of
// the client's intercepted connection, since the client connects from the
// router's only ephemeral port (the IPv4 range applies to IPv6 too). The
// request still goes through, from the client's address (or, masqueraded,
// the WAN address), and conntrack tracks the two connections apart, the
// intercepted one in InterceptZone. In one zone, the upstream SYN would be
// taken for a packet of the client's connection: never masqueraded, it
// would leave with the client's LAN address; routed, the two connections
// would share one entry.
func TestPortClash(t *testing.T) {
	t.Parallel()
	for _, nat := range []bool{false, true} {
		t.Run(fmt.Sprintf("nat=%t", nat), func(t *testing.T) {
			t.Parallel()
			l := lab.New(t, lab.Options{})
			c := labConfig()
			c.NAT = nat
			applyRouter(t, l, c)
			if nat {
				// The internet has no route to a NATed LAN.
				l.Server.IP(t, "route", "del", lab.LANv4.String())
			}
			const port = 40000
			l.Router.Sysctl(t, "net/ipv4/ip_local_port_range", fmt.Sprintf("%d %d", port, port))
			l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
			seen := spoofingProxy(t, l.Router)

			for _, u := range urls {
				src := netip.AddrPortFrom(u.client, port)
				want := netip.AddrPortFrom(u.client, port).String()
				if nat && u.client.Is4() {
					want = netip.AddrPortFrom(lab.RouterWANv4.Addr(), port).String()
				}
				body, err := getFrom(l.Client, src, u.url)
				if err != nil {
					t.Errorf("GET %s from %s: %v", u.url, src, err)
				} else if body != want {
					t.Errorf("GET %s from %s: server saw %s, want %s", u.url, src, body, want)
				}
				next(t, seen, time.Second, "intercepted connection for "+u.url)
				if n := l.Router.ConntrackEntries(t, src, u.dst); n != 2 {
					t.Errorf("conntrack holds %d entries for %s -> %s, want 2 (client and upstream connection):\n%s",
						n, src, u.dst, l.Router.Run(t, "cat", "/proc/net/nf_conntrack"))
				}
			}
		})
	}
}
