// Package lab builds throwaway network namespaces: a LAN client, a router
// and a WAN server joined by veth pairs, with IPv4 and IPv6 on
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
// The core returns errors: Make builds a lab and Lab.Close removes it, and
// each helper of a namespace that can fail has a form ending in Err
// (NS.IPErr, NS.SysctlErr, NS.RunErr, ...). Programs (make demo, make
// bench) use those. Tests use the thin testing.TB wrappers of testing.go,
// named without the suffix (New, NS.IP, NS.Sysctl, NS.Run, ...): they fail
// the test on error and remove what they made when it ends.
//
// Namespace names carry the creating process's PID, so labs of parallel
// tests and programs never collide, and Make removes the leftovers of
// processes that no longer run (killed before they could clean up).
package lab

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	mu   sync.Mutex
	made []*NS // what Close removes, in the order of creation
}

var seq atomic.Int64

// prefix starts every namespace name a lab creates; the PID that follows
// tells Make whether its creator is still alive.
const prefix = "tpl"

// Make builds a lab. The caller removes it with Close; when Make fails, it
// has removed what it made already.
func Make(o Options) (l *Lab, err error) {
	if msg := missing(); msg != "" {
		return nil, errors.New(msg)
	}
	sweep()
	id := fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1))
	l = &Lab{
		Client: &NS{Name: id + "-c"},
		Router: &NS{Name: id + "-r"},
		Server: &NS{Name: id + "-s"},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Close())
			l = nil
		}
	}()
	for _, ns := range []*NS{l.Client, l.Router, l.Server} {
		if err := l.add(ns); err != nil {
			return l, err
		}
	}
	var s steps
	s.ip(l.Client, "link", "add", ClientIf, "type", "veth",
		"peer", "name", RouterLAN, "netns", l.Router.Name, "address", RouterLANMAC)
	s.ip(l.Server, "link", "add", ServerIf, "type", "veth",
		"peer", "name", RouterWAN, "netns", l.Router.Name, "address", RouterWANMAC)
	s.ip(l.Client, "link", "set", ClientIf, "up")
	s.ip(l.Server, "link", "set", ServerIf, "up")
	if !o.Unaddressed {
		l.addressHosts(&s, !o.NoReturnRoute)
	}
	if o.ConfigureRouter {
		l.addressRouter(&s)
	}
	return l, s.err
}

// addressHosts gives the client and the server their addresses and routes
// towards the router; returnRoute adds the server's routes to the LAN.
func (l *Lab) addressHosts(s *steps, returnRoute bool) {
	c, srv := l.Client, l.Server
	s.ip(c, "addr", "add", ClientV4.String()+"/24", "dev", ClientIf)
	s.ip(c, "addr", "add", ClientV6.String()+"/64", "dev", ClientIf, "nodad")
	s.ip(c, "route", "add", "default", "via", RouterLANv4.Addr().String())
	s.ip(c, "-6", "route", "add", "default", "via", RouterLANv6.Addr().String())
	s.ip(srv, "addr", "add", ServerV4.String()+"/24", "dev", ServerIf)
	s.ip(srv, "addr", "add", ServerV6.String()+"/64", "dev", ServerIf, "nodad")
	if returnRoute {
		s.ip(srv, "route", "add", LANv4.String(), "via", RouterWANv4.Addr().String())
		s.ip(srv, "-6", "route", "add", LANv6.String(), "via", RouterWANv6.Addr().String())
	}
}

// addressRouter is Options.ConfigureRouter.
func (l *Lab) addressRouter(s *steps) {
	r := l.Router
	s.ip(r, "link", "set", RouterLAN, "up")
	s.ip(r, "link", "set", RouterWAN, "up")
	s.ip(r, "addr", "add", RouterLANv4.String(), "dev", RouterLAN)
	s.ip(r, "addr", "add", RouterLANv6.String(), "dev", RouterLAN, "nodad")
	s.ip(r, "addr", "add", RouterWANv4.String(), "dev", RouterWAN)
	s.ip(r, "addr", "add", RouterWANv6.String(), "dev", RouterWAN, "nodad")
	s.sysctl(r, "net/ipv4/ip_forward", "1")
	s.sysctl(r, "net/ipv6/conf/all/forwarding", "1")
}

// add creates ns and records it for Close.
func (l *Lab) add(ns *NS) error {
	if _, err := ip("netns", "add", ns.Name); err != nil {
		return err
	}
	l.mu.Lock()
	l.made = append(l.made, ns)
	l.mu.Unlock()
	var s steps
	s.ip(ns, "link", "set", "lo", "up")
	// No IPv6 duplicate address detection: addresses are usable at once.
	s.sysctl(ns, "net/ipv6/conf/all/accept_dad", "0")
	s.sysctl(ns, "net/ipv6/conf/default/accept_dad", "0")
	return s.err
}

// Close removes every namespace of the lab, with the links and sockets
// in them; processes still running inside keep theirs until they exit.
// Calling it again does nothing.
func (l *Lab) Close() error {
	l.mu.Lock()
	made := l.made
	l.made = nil
	l.mu.Unlock()
	var errs []error
	for _, ns := range slices.Backward(made) {
		if _, err := ip("netns", "del", ns.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// steps runs setup steps in order until one fails and keeps that error,
// so that a sequence of them reads as a list.
type steps struct{ err error }

func (s *steps) ip(ns *NS, args ...string) {
	if s.err == nil {
		_, s.err = ns.IPErr(args...)
	}
}

func (s *steps) sysctl(ns *NS, key, value string) {
	if s.err == nil {
		s.err = ns.SysctlErr(key, value)
	}
}

// missing says what the machine lacks to build labs, or "".
func missing() string {
	if os.Geteuid() != 0 {
		return "needs root for network namespaces (run as root: sudo make test)"
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " not found: install iproute2 and nftables (make deps)"
		}
	}
	return ""
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

// AddFarErr adds a namespace behind the server, reached through a link of
// the given MTU: the server forwards between the router and it, and the
// router routes 203.0.113.0/24 and 2001:db8:3::/64 to the server. The far
// host claims the usual MSS (1460) whatever the MTU, so that only path
// MTU discovery through the server's ICMP errors keeps segments small.
// Close removes it with the rest of the lab.
func (l *Lab) AddFarErr(mtu int) (*NS, error) {
	far := &NS{Name: strings.TrimSuffix(l.Server.Name, "-s") + "-f"}
	if err := l.add(far); err != nil {
		return nil, err
	}
	m := strconv.Itoa(mtu)
	s, srv := steps{}, l.Server
	s.ip(srv, "link", "add", "far0", "mtu", m, "type", "veth", "peer", "name", "eth0", "netns", far.Name, "mtu", m)
	s.ip(srv, "link", "set", "far0", "up")
	s.ip(srv, "addr", "add", "203.0.113.1/24", "dev", "far0")
	s.ip(srv, "addr", "add", "2001:db8:3::1/64", "dev", "far0", "nodad")
	s.sysctl(srv, "net/ipv4/ip_forward", "1")
	s.sysctl(srv, "net/ipv6/conf/all/forwarding", "1")
	s.ip(far, "link", "set", "eth0", "up")
	s.ip(far, "addr", "add", FarV4.String()+"/24", "dev", "eth0")
	s.ip(far, "addr", "add", FarV6.String()+"/64", "dev", "eth0", "nodad")
	s.ip(far, "route", "add", "default", "via", "203.0.113.1", "advmss", "1460")
	s.ip(far, "-6", "route", "add", "default", "via", "2001:db8:3::1", "advmss", "1440")
	s.ip(l.Router, "route", "add", "203.0.113.0/24", "via", ServerV4.String())
	s.ip(l.Router, "-6", "route", "add", "2001:db8:3::/64", "via", ServerV6.String())
	return far, s.err
}
