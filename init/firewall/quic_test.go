package firewall_test

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"tprouter/init/firewall"
	"tprouter/qemu/lab"
)

// servers are the server's addresses, one per family.
var servers = []netip.Addr{lab.ServerV4, lab.ServerV6}

// TestQUICBlock: with the defaults (QUIC blocked, 443 intercepted), a LAN
// client's UDP to port 443 of a WAN host is answered with port
// unreachable (ECONNREFUSED on a connected socket) over IPv4 and IPv6,
// never reaches the server, and is counted; UDP to 8443 passes, and so
// does UDP 443 to an exempt destination.
func TestQUICBlock(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	c := labConfig()
	if !c.QUICBlocked() {
		t.Fatalf("the default configuration does not block QUIC: %+v", c)
	}
	applyRouter(t, l, c)
	seen443 := udpEcho(t, l.Server, 443)
	udpEcho(t, l.Server, 8443)

	// A page's worth of QUIC attempts from one client, each answered:
	// netconf lifts the kernel's per-client ICMP rate limit, which would
	// answer the first six and then one a second.
	const attempts = 12
	for _, s := range servers {
		dst := netip.AddrPortFrom(s, 443)
		refused := 0
		for range attempts {
			err := udpRoundTrip(t, l.Client, dst)
			if errors.Is(err, syscall.ECONNREFUSED) {
				refused++
			} else {
				t.Logf("UDP to %s: %v", dst, err)
			}
		}
		if refused != attempts {
			t.Errorf("UDP to %s: %d of %d attempts refused (port unreachable), want all", dst, refused, attempts)
		}
		if err := udpRoundTrip(t, l.Client, netip.AddrPortFrom(s, 8443)); err != nil {
			t.Errorf("UDP to %s:8443: %v, want the echo", s, err)
		}
	}
	expectNone(t, seen443, 100*time.Millisecond, "UDP 443 reached the server")
	if n := quicBlocked(t, l.Router); n != 2*attempts {
		t.Errorf("counter quic = %d packets, want %d", n, 2*attempts)
	}

	c.Exempt = []netip.Prefix{netip.PrefixFrom(lab.ServerV4, 32), netip.PrefixFrom(lab.ServerV6, 128)}
	applyRouter(t, l, c)
	for _, s := range servers {
		if err := udpRoundTrip(t, l.Client, netip.AddrPortFrom(s, 443)); err != nil {
			t.Errorf("UDP to exempt %s:443: %v, want the echo", s, err)
		}
	}
	if n := quicBlocked(t, l.Router); n != 0 {
		t.Errorf("counter quic = %d packets after exempt traffic, want 0 (a fresh ruleset)", n)
	}
}

// TestQUICPass: with quic=pass, UDP 443 reaches the server; blocking it
// then cuts off the flow already established in conntrack too, on the
// same socket.
func TestQUICPass(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	c := labConfig()
	c.BlockQUIC = false
	applyRouter(t, l, c)
	udpEcho(t, l.Server, 443)

	var conns []*net.UDPConn
	for _, s := range servers {
		dst := netip.AddrPortFrom(s, 443)
		conn := udpDial(t, l.Client, dst)
		if err := roundTrip(conn); err != nil {
			t.Errorf("quic=pass: UDP to %s: %v, want the echo", dst, err)
		}
		conns = append(conns, conn)
	}
	if n := quicBlocked(t, l.Router); n != 0 {
		t.Errorf("quic=pass: counter quic = %d packets, want 0", n)
	}

	c.BlockQUIC = true
	applyRouter(t, l, c)
	for i, conn := range conns {
		if err := roundTrip(conn); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("established flow to %s:443 after quic=block: %v, want connection refused", servers[i], err)
		}
	}
	if n := quicBlocked(t, l.Router); n != 2 {
		t.Errorf("counter quic = %d packets, want 2", n)
	}
}

// TestQUICBlockedNoTable: without the table, QUICBlocked says so (the
// status endpoint then leaves the metric out).
func TestQUICBlockedNoTable(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	err := l.Router.Do(func() error { _, err := firewall.QUICBlocked(); return err })
	if !errors.Is(err, firewall.ErrNoTable) {
		t.Errorf("QUICBlocked without the table: %v, want ErrNoTable", err)
	}
	applyFirewall(t, l.Router, labConfig())
	if n := quicBlocked(t, l.Router); n != 0 {
		t.Errorf("a fresh table: %d packets, want 0", n)
	}
}

func quicBlocked(t *testing.T, ns *lab.NS) uint64 {
	t.Helper()
	var n uint64
	err := ns.Do(func() (err error) { n, err = firewall.QUICBlocked(); return err })
	if err != nil {
		t.Fatalf("in %s: QUICBlocked: %v", ns.Name, err)
	}
	return n
}

// udpEcho answers each datagram to port inside ns (both families) with
// itself, and reports its sender.
func udpEcho(t *testing.T, ns *lab.NS, port int) <-chan net.Addr {
	t.Helper()
	var pc net.PacketConn
	err := ns.Do(func() (err error) {
		pc, err = net.ListenUDP("udp", &net.UDPAddr{Port: port})
		return err
	})
	if err != nil {
		t.Fatalf("in %s: listen udp :%d: %v", ns.Name, port, err)
	}
	seen := make(chan net.Addr, 16)
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		b := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			select {
			case seen <- from:
			default:
			}
			pc.WriteTo(b[:n], from)
		}
	}()
	return seen
}

// udpDial connects a UDP socket inside ns to dst.
func udpDial(t *testing.T, ns *lab.NS, dst netip.AddrPort) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := ns.Do(func() (err error) {
		conn, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		t.Fatalf("in %s: dial udp %s: %v", ns.Name, dst, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// udpRoundTrip sends one datagram from a new socket in ns to dst and
// waits for the echo.
func udpRoundTrip(t *testing.T, ns *lab.NS, dst netip.AddrPort) error {
	return roundTrip(udpDial(t, ns, dst))
}

// roundTrip sends one datagram on conn and reads the answer: nil for the
// echo, ECONNREFUSED for port unreachable, a timeout for nothing.
func roundTrip(conn *net.UDPConn) error {
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("quic initial")); err != nil {
		return err
	}
	b := make([]byte, 64)
	n, err := conn.Read(b)
	if err == nil && string(b[:n]) != "quic initial" {
		return errors.New("the answer is not the echo: " + string(b[:n]))
	}
	return err
}
