package main

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

// startSLAAC is TestSLAAC's set-up: radvd on the router's LAN link with
// 2001:db8:1::1/64, a SLAAC client with an address in it, and an NDP
// socket on the client that hears the advertisements.
func startSLAAC(t *testing.T) (*lab.Lab, *labproc.Proc, *ndp.Conn, netip.Addr) {
	t.Helper()
	l := lab.New(t, lab.Options{Unaddressed: true})
	radvd := labproc.Build(t, "tprouter/services/radvd")["radvd"]
	r, c := l.Router, l.Client
	r.IP(t, "link", "set", lab.RouterLAN, "up")
	r.IP(t, "addr", "add", lab.RouterLANv6.String(), "dev", lab.RouterLAN, "nodad")
	c.Sysctl(t, "net/ipv6/conf/all/forwarding", "0")
	c.Sysctl(t, "net/ipv6/conf/eth0/accept_ra", "1")
	c.Sysctl(t, "net/ipv6/conf/eth0/autoconf", "1")
	waitIP(t, r, 5*time.Second, `inet6 (fe80::[0-9a-f:]+)/64 scope link\s*$`, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "link")
	p := labproc.Start(t, r, radvd, "-iface", lab.RouterLAN)
	p.WaitLog(t, "advertising on lan0", 5*time.Second)
	addr := waitIP(t, c, 10*time.Second, `inet6 (2001:db8:1:0:[0-9a-f:]+)/64 scope global`, "-6", "addr", "show", "dev", lab.ClientIf)
	return l, p, listenNDP(t, c), netip.MustParseAddr(addr)
}

// listenNDP opens an NDP socket on the client's link.
func listenNDP(t *testing.T, c *lab.NS) *ndp.Conn {
	t.Helper()
	var conn *ndp.Conn
	err := c.Do(func() error {
		ifi, err := net.InterfaceByName(lab.ClientIf)
		if err != nil {
			return err
		}
		conn, _, err = ndp.Listen(ifi, ndp.LinkLocal)
		return err
	})
	if err != nil {
		t.Fatalf("in %s: ndp.Listen: %v", c.Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// solicit sends a Router Solicitation from the client, on a socket of
// its own that names the link by index: ndp.Conn names it by name, which
// Go resolves through a process-wide cache that may hold another
// namespace's "eth0" (sendmsg then fails with EINVAL). The client's own
// link-local address is tentative for a while after the carrier
// returns, so sending is retried for up to 3 s.
func solicit(t *testing.T, c *lab.NS) {
	t.Helper()
	b, err := ndp.MarshalMessage(&ndp.RouterSolicitation{})
	if err != nil {
		t.Fatal(err)
	}
	send := func() error {
		ifi, err := net.InterfaceByName(lab.ClientIf)
		if err != nil {
			return err
		}
		ic, err := icmp.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return err
		}
		defer ic.Close()
		pc := ic.IPv6PacketConn()
		if err := pc.SetMulticastHopLimit(ndp.HopLimit); err != nil {
			return err
		}
		dst := &net.IPAddr{IP: net.ParseIP("ff02::2"), Zone: strconv.Itoa(ifi.Index)}
		_, err = pc.WriteTo(b, &ipv6.ControlMessage{HopLimit: ndp.HopLimit, IfIndex: ifi.Index}, dst)
		return err
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		err := c.Do(send)
		if err == nil {
			return
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("sending RS: %v; client:\n%s", err, c.IP(t, "-6", "addr", "show", "dev", lab.ClientIf))
		}
	}
}

// drain discards what conn has received so far.
func drain(conn *ndp.Conn) {
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	for {
		if _, _, _, err := conn.ReadFrom(); err != nil {
			return
		}
	}
}

// TestLinkFlap: after the router's LAN link goes down and up, radvd
// advertises again at once without a restart, and answers solicitations.
// In round 1 the kernel flushes the link's address (its default) and it
// is added again while the link is down; in round 2 the link keeps it
// (keep_addr_on_down=1, as init/netconf sets on the LAN), and the prefix
// is never deprecated.
func TestLinkFlap(t *testing.T) {
	t.Parallel()
	l, p, conn, _ := startSLAAC(t)
	r, c := l.Router, l.Client
	for round := 1; round <= 2; round++ {
		if round == 2 {
			r.Sysctl(t, "net/ipv6/conf/lan0/keep_addr_on_down", "1")
		}
		logged := len(p.Log())
		r.IP(t, "link", "set", lab.RouterLAN, "down")
		for down := time.Now(); !strings.Contains(p.Log()[logged:], "lan0 went down"); time.Sleep(10 * time.Millisecond) {
			if time.Since(down) > 5*time.Second {
				t.Fatalf("round %d: radvd did not notice lan0 going down:\n%s", round, p.Log())
			}
		}
		time.Sleep(500 * time.Millisecond)
		drain(conn)
		if round == 1 {
			// Back before the link is up: added after it, the address
			// could come later than radvd's first advertisement, which
			// then rightly has router lifetime 0.
			r.IP(t, "addr", "replace", lab.RouterLANv6.String(), "dev", lab.RouterLAN, "nodad")
		}
		r.IP(t, "link", "set", lab.RouterLAN, "up")
		up := time.Now()
		// Unsolicited: the first advertisement of the reopened socket,
		// once the new link-local address has passed DAD (~1 s).
		for strings.Count(p.Log(), "advertising on lan0") <= round {
			if time.Since(up) > 16*time.Second {
				t.Fatalf("round %d: radvd did not reopen lan0:\n%s", round, p.Log())
			}
			time.Sleep(10 * time.Millisecond)
		}
		reopened := time.Since(up)
		ra := readRA(t, conn, 16*time.Second)
		t.Logf("round %d: socket reopened %v after link up, unsolicited RA after %v", round,
			reopened.Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
		if ra.RouterLifetime != 1800*time.Second {
			t.Errorf("round %d: router lifetime %v after link up, want 30m", round, ra.RouterLifetime)
		}
		// Solicited: within MIN_DELAY_BETWEEN_RAS (3 s) + 0.5 s.
		drain(conn)
		sent := time.Now()
		solicit(t, c)
		readRA(t, conn, 5*time.Second)
		if time.Since(sent) < 100*time.Millisecond {
			t.Errorf("round %d: RA %v after the RS, before any answer could come", round, time.Since(sent))
		}
		t.Logf("round %d: solicited RA after %v", round, time.Since(sent).Round(time.Millisecond))
		if round == 2 {
			if strings.Contains(p.Log()[logged:], "deprecating") {
				t.Errorf("round 2: the kept prefix was deprecated:\n%s", p.Log()[logged:])
			}
			for _, o := range ra.Options {
				if pi, ok := o.(*ndp.PrefixInformation); ok && pi.PreferredLifetime == 0 {
					t.Errorf("round 2: prefix %s advertised with preferred lifetime 0", pi.Prefix)
				}
			}
		}
	}
	if n := strings.Count(p.Log(), "advertising on lan0"); n != 3 {
		t.Errorf("radvd opened lan0 %d times, want 3 (start and two flaps):\n%s", n, p.Log())
	}
}

// TestPrefixChange: the LAN's /64 changes (the delegated prefix did).
// radvd advertises the new prefix with normal lifetimes and the old one
// with lifetimes 0, and the SLAAC client forms an address in the new
// prefix while its address in the old one becomes deprecated.
func TestPrefixChange(t *testing.T) {
	t.Parallel()
	l, p, conn, oldAddr := startSLAAC(t)
	r, c := l.Router, l.Client
	oldP, newP := lab.LANv6, netip.MustParsePrefix("2001:db8:7::/64")
	drain(conn)
	r.IP(t, "addr", "add", "2001:db8:7::1/64", "dev", lab.RouterLAN, "nodad")
	r.IP(t, "addr", "del", lab.RouterLANv6.String(), "dev", lab.RouterLAN)
	changed := time.Now()
	p.WaitLog(t, "deprecating [2001:db8:1::/64]", 5*time.Second)

	// The advertisement that follows at once carries both prefixes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ra := readRA(t, conn, time.Until(deadline))
		got := map[netip.Prefix][2]time.Duration{}
		for _, o := range ra.Options {
			if pi, ok := o.(*ndp.PrefixInformation); ok {
				got[netip.PrefixFrom(pi.Prefix, int(pi.PrefixLength))] = [2]time.Duration{pi.ValidLifetime, pi.PreferredLifetime}
			}
		}
		if _, ok := got[newP]; !ok {
			continue // sent before the change
		}
		t.Logf("RA with the new prefix %v after the change: %v", time.Since(changed).Round(time.Millisecond), got)
		if v := got[newP]; v[0] != 24*time.Hour || v[1] != 4*time.Hour {
			t.Errorf("new prefix lifetimes %v, want 24h/4h", v)
		}
		if v, ok := got[oldP]; !ok || v != [2]time.Duration{} {
			t.Errorf("old prefix: %v (present %v), want lifetimes 0/0", v, ok)
		}
		break
	}
	waitIP(t, c, 5*time.Second, `inet6 (2001:db8:7:0:[0-9a-f:]+)/64 scope global`, "-6", "addr", "show", "dev", lab.ClientIf)
	// Linux keeps the old address valid for at most 2 h more (RFC 4862
	// 5.5.3 e) but deprecates it at once.
	old := waitIP(t, c, 5*time.Second, `inet6 `+oldAddr.String()+`/64 scope global[^\n]*deprecated[^\n]*\n\s*valid_lft \S+ preferred_lft 0sec`,
		"-6", "addr", "show", "dev", lab.ClientIf)
	t.Logf("client: %s deprecated", old)
}
