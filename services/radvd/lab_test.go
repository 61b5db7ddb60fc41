package main

import (
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

// TestSLAAC runs radvd on the router's LAN link and checks that the client
// forms an address in the LAN /64, routes through the router, learns the
// router as DNS server, and drops the route when radvd stops.
func TestSLAAC(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{Unaddressed: true})
	radvd := labproc.Build(t, "tprouter/services/radvd")["radvd"]
	r, c := l.Router, l.Client
	r.IP(t, "link", "set", lab.RouterLAN, "up")
	r.IP(t, "addr", "add", lab.RouterLANv6.String(), "dev", lab.RouterLAN, "nodad")
	c.Sysctl(t, "net/ipv6/conf/all/forwarding", "0")
	c.Sysctl(t, "net/ipv6/conf/eth0/accept_ra", "1")
	c.Sysctl(t, "net/ipv6/conf/eth0/autoconf", "1")

	// The router's link-local address is the advertisements' source and
	// the client's next hop.
	ll := waitIP(t, r, 5*time.Second, `inet6 (fe80::[0-9a-f:]+)/64`, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "link")

	p := labproc.Start(t, r, radvd, "-iface", lab.RouterLAN)
	p.WaitLog(t, "advertising on lan0", 5*time.Second)

	addr := waitIP(t, c, 10*time.Second, `inet6 (2001:db8:1:0:[0-9a-f:]+)/64 scope global`, "-6", "addr", "show", "dev", lab.ClientIf)
	if a := netip.MustParseAddr(addr); !lab.LANv6.Contains(a) {
		t.Errorf("client formed %s, want an address in %s", a, lab.LANv6)
	}
	waitIP(t, c, 5*time.Second, `default via `+regexp.QuoteMeta(ll)+` dev eth0 proto ra`, "-6", "route", "show", "default")

	// Solicit an advertisement and read its options, as a host does.
	conn := listenNDP(t, c)
	solicit(t, c)
	ra := readRA(t, conn, 5*time.Second)
	if ra.RouterLifetime != 1800*time.Second {
		t.Errorf("router lifetime %v, want 30m", ra.RouterLifetime)
	}
	var rdnss []netip.Addr
	var prefixes []string
	for _, o := range ra.Options {
		switch o := o.(type) {
		case *ndp.RecursiveDNSServer:
			rdnss = o.Servers
		case *ndp.PrefixInformation:
			prefixes = append(prefixes, netip.PrefixFrom(o.Prefix, int(o.PrefixLength)).String())
		}
	}
	if len(rdnss) != 1 || rdnss[0] != lab.RouterLANv6.Addr() {
		t.Errorf("RDNSS %v, want [%s]", rdnss, lab.RouterLANv6.Addr())
	}
	if len(prefixes) != 1 || prefixes[0] != lab.LANv6.String() {
		t.Errorf("prefixes %v, want [%s]", prefixes, lab.LANv6)
	}
	// Multicast loopback is off: the router, which does not forward in
	// this lab, must not configure itself from its own advertisements.
	if out := r.IP(t, "-6", "route", "show", "default"); strings.TrimSpace(out) != "" {
		t.Errorf("the router took its own advertisement: %s", out)
	}
	if out := r.IP(t, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "global"); strings.Count(out, "inet6 ") != 1 {
		t.Errorf("the router formed an address from its own advertisement:\n%s", out)
	}

	// Stopping sends a last advertisement with router lifetime 0, and
	// the client drops its default route at once.
	p.Stop(t)
	if ra := readRA(t, conn, 3*time.Second); ra.RouterLifetime != 0 {
		t.Errorf("final advertisement: router lifetime %v, want 0", ra.RouterLifetime)
	}
	waitIP(t, c, 3*time.Second, `^$`, "-6", "route", "show", "default")
}

// TestUsage checks the command line; it needs no root.
func TestUsage(t *testing.T) {
	radvd := labproc.Build(t, "tprouter/services/radvd")["radvd"]
	labproc.CheckUsage(t, radvd, []string{"-bogus"}, []string{"-rdnss", "192.0.2.1"}, []string{"-rdnss", "fe80::1%eth0"}, []string{"extra"})
}

// readRA returns the next router advertisement conn receives within d.
func readRA(t *testing.T, conn *ndp.Conn, d time.Duration) *ndp.RouterAdvertisement {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	for {
		m, _, _, err := conn.ReadFrom()
		if err != nil {
			t.Fatalf("no router advertisement within %v: %v", d, err)
		}
		if ra, ok := m.(*ndp.RouterAdvertisement); ok {
			return ra
		}
	}
}

// waitIP polls `ip args` in ns for up to within until re matches its output,
// and returns the first submatch (or the whole match).
func waitIP(t *testing.T, ns *lab.NS, within time.Duration, re string, args ...string) string {
	t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	deadline := time.Now().Add(within)
	for {
		out := ns.IP(t, args...)
		if m := rx.FindStringSubmatch(strings.TrimSpace(out)); m != nil {
			return m[len(m)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("in %s: ip %s: no match for %q within %v; got:\n%s", ns.Name, strings.Join(args, " "), re, within, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
