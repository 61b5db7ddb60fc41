// Package lab builds throwaway network namespaces for tests: a LAN client, a
// router and a WAN server joined by veth pairs, with IPv4 and IPv6 on
// documentation prefixes only.
//
//	client eth0 ── lan0 router wan0 ── eth0 server
//	192.0.2.2/24    192.0.2.1/24   198.51.100.1/24   198.51.100.2/24
//	2001:db8:1::2   2001:db8:1::1  2001:db8:2::1     2001:db8:2::2
//
// The client and the server are configured completely (addresses and routes
// towards the router). The router's links are created with fixed MACs and
// left down and unaddressed, because configuring them is what tprouter's own
// packages do; tests that only need a working router ask for
// Options.ConfigureRouter.
//
// Namespace names carry the test process's PID, so tests run in parallel and
// a namespace left over by a killed run never collides with a new one; New
// removes such leftovers of dead processes. Everything a Lab creates is
// removed when the test ends, also on failure.
package lab

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Interface names inside the namespaces.
const (
	ClientIf  = "eth0"
	RouterLAN = "lan0"
	RouterWAN = "wan0"
	ServerIf  = "eth0"
)

// Addresses of the lab's hosts.
var (
	ClientV4    = netip.MustParseAddr("192.0.2.2")
	ClientV6    = netip.MustParseAddr("2001:db8:1::2")
	RouterLANv4 = netip.MustParsePrefix("192.0.2.1/24")
	RouterLANv6 = netip.MustParsePrefix("2001:db8:1::1/64")
	RouterWANv4 = netip.MustParsePrefix("198.51.100.1/24")
	RouterWANv6 = netip.MustParsePrefix("2001:db8:2::1/64")
	ServerV4    = netip.MustParseAddr("198.51.100.2")
	ServerV6    = netip.MustParseAddr("2001:db8:2::2")

	LANv4 = netip.MustParsePrefix("192.0.2.0/24")
	LANv6 = netip.MustParsePrefix("2001:db8:1::/64")
	WANv4 = netip.MustParsePrefix("198.51.100.0/24")
	WANv6 = netip.MustParsePrefix("2001:db8:2::/64")
)

// Fixed MACs of the router's links, so tests can match links by MAC.
const (
	RouterLANMAC = "02:00:00:00:01:01"
	RouterWANMAC = "02:00:00:00:02:01"
)

// Options change the default topology.
type Options struct {
	// ConfigureRouter gives the router its LAN and WAN addresses, brings
	// its links up and turns on forwarding, using ip(8) and /proc/sys.
	ConfigureRouter bool
	// NoReturnRoute leaves the server without routes to the LAN, as a
	// server on the internet has none to a NATed home network.
	NoReturnRoute bool
	// Unaddressed leaves the client and server links up but without
	// addresses or routes, for DHCP and router advertisement tests.
	Unaddressed bool
}

// Lab is one set of namespaces.
type Lab struct {
	Client, Router, Server *NS
}

// NS is one network namespace, named as ip-netns(8) knows it.
type NS struct {
	Name string
}

var seq atomic.Int64

// prefix starts every namespace name a lab creates; the PID that follows
// tells New whether its creator is still alive.
const prefix = "tpl"

// New builds a lab for t and removes it when t ends. It fails t (under
// CI=true) or skips it (elsewhere) when the machine cannot run it.
func New(t testing.TB, o Options) *Lab {
	t.Helper()
	Require(t)
	sweep()
	id := fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1))
	l := &Lab{
		Client: &NS{Name: id + "-c"},
		Router: &NS{Name: id + "-r"},
		Server: &NS{Name: id + "-s"},
	}
	for _, ns := range []*NS{l.Client, l.Router, l.Server} {
		ns.create(t)
	}
	ip(t, "link", "add", ClientIf, "netns", l.Client.Name, "type", "veth",
		"peer", "name", RouterLAN, "netns", l.Router.Name, "address", RouterLANMAC)
	ip(t, "link", "add", ServerIf, "netns", l.Server.Name, "type", "veth",
		"peer", "name", RouterWAN, "netns", l.Router.Name, "address", RouterWANMAC)

	for _, ns := range []*NS{l.Client, l.Server} {
		ns.IP(t, "link", "set", "eth0", "up")
	}
	if !o.Unaddressed {
		l.Client.IP(t, "addr", "add", "192.0.2.2/24", "dev", ClientIf)
		l.Client.IP(t, "addr", "add", "2001:db8:1::2/64", "dev", ClientIf, "nodad")
		l.Client.IP(t, "route", "add", "default", "via", "192.0.2.1")
		l.Client.IP(t, "-6", "route", "add", "default", "via", "2001:db8:1::1")
		l.Server.IP(t, "addr", "add", "198.51.100.2/24", "dev", ServerIf)
		l.Server.IP(t, "addr", "add", "2001:db8:2::2/64", "dev", ServerIf, "nodad")
		if !o.NoReturnRoute {
			l.Server.IP(t, "route", "add", "192.0.2.0/24", "via", "198.51.100.1")
			l.Server.IP(t, "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:2::1")
		}
	}
	if o.ConfigureRouter {
		r := l.Router
		r.IP(t, "link", "set", RouterLAN, "up")
		r.IP(t, "link", "set", RouterWAN, "up")
		r.IP(t, "addr", "add", RouterLANv4.String(), "dev", RouterLAN)
		r.IP(t, "addr", "add", RouterLANv6.String(), "dev", RouterLAN, "nodad")
		r.IP(t, "addr", "add", RouterWANv4.String(), "dev", RouterWAN)
		r.IP(t, "addr", "add", RouterWANv6.String(), "dev", RouterWAN, "nodad")
		r.Sysctl(t, "net/ipv4/ip_forward", "1")
		r.Sysctl(t, "net/ipv6/conf/all/forwarding", "1")
	}
	return l
}

// create adds the namespace, brings up its loopback and turns off IPv6
// duplicate address detection, so addresses are usable at once.
func (ns *NS) create(t testing.TB) {
	t.Helper()
	ip(t, "netns", "add", ns.Name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.IP(t, "link", "set", "lo", "up")
	ns.Sysctl(t, "net/ipv6/conf/all/accept_dad", "0")
	ns.Sysctl(t, "net/ipv6/conf/default/accept_dad", "0")
}

// IP runs ip(8) with args inside ns and returns its output; it fails t on error.
func (ns *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	return ip(t, append([]string{"-n", ns.Name}, args...)...)
}

// Command returns a command that runs name inside ns.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs a command inside ns and returns its combined output; it fails t on
// error.
func (ns *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Sysctl writes value to /proc/sys/key inside ns; key uses slashes.
func (ns *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	err := ns.Do(func() error {
		return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644)
	})
	if err != nil {
		t.Fatalf("in %s: sysctl %s=%s: %v", ns.Name, key, value, err)
	}
}

func ip(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sweep deletes the namespaces of lab processes that no longer run.
func sweep() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		name, _, _ := strings.Cut(string(line), " ")
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + pidStr); err == nil || pid == os.Getpid() {
			continue
		}
		exec.Command("ip", "netns", "del", name).Run()
	}
}

// Far addresses: a network behind the server, which routes to it.
var (
	FarV4 = netip.MustParseAddr("203.0.113.2")
	FarV6 = netip.MustParseAddr("2001:db8:3::2")
)

// AddFar adds a namespace behind the server, reached through a link of
// the given MTU: the server forwards between the router and it, and the
// router routes 203.0.113.0/24 and 2001:db8:3::/64 to the server. The far
// host claims the usual MSS (1460) whatever the MTU, so that only path
// MTU discovery through the server's ICMP errors keeps segments small.
func (l *Lab) AddFar(t testing.TB, mtu int) *NS {
	t.Helper()
	far := &NS{Name: strings.TrimSuffix(l.Server.Name, "-s") + "-f"}
	far.create(t)
	ip(t, "link", "add", "far0", "netns", l.Server.Name, "mtu", strconv.Itoa(mtu), "type", "veth",
		"peer", "name", "eth0", "netns", far.Name, "mtu", strconv.Itoa(mtu))
	s := l.Server
	s.IP(t, "link", "set", "far0", "up")
	s.IP(t, "addr", "add", "203.0.113.1/24", "dev", "far0")
	s.IP(t, "addr", "add", "2001:db8:3::1/64", "dev", "far0", "nodad")
	s.Sysctl(t, "net/ipv4/ip_forward", "1")
	s.Sysctl(t, "net/ipv6/conf/all/forwarding", "1")
	far.IP(t, "link", "set", "eth0", "up")
	far.IP(t, "addr", "add", FarV4.String()+"/24", "dev", "eth0")
	far.IP(t, "addr", "add", FarV6.String()+"/64", "dev", "eth0", "nodad")
	far.IP(t, "route", "add", "default", "via", "203.0.113.1", "advmss", "1460")
	far.IP(t, "-6", "route", "add", "default", "via", "2001:db8:3::1", "advmss", "1440")
	l.Router.IP(t, "route", "add", "203.0.113.0/24", "via", "198.51.100.2")
	l.Router.IP(t, "-6", "route", "add", "2001:db8:3::/64", "via", "2001:db8:2::2")
	return far
}
