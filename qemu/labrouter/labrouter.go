// Package labrouter makes a lab's router namespace an intercepting
// tprouter by running the firmware's own network bring-up in it,
// router.Configure: the firewall, then netconf (addresses, sysctls, policy
// routing), then the firewall again if links were renamed, with
// forwarding held off while the ruleset is missing. Config is the one
// configuration of a lab router; the tests of the firewall, netconf and
// the proxy and the benchmark (qemu/bench) all use it, so they run against
// exactly what the firmware installs, in the firmware's order.
package labrouter

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"tprouter/init/config"
	"tprouter/init/router"
	"tprouter/qemu/lab"
)

// Config is the router configuration for a lab: the LAN link matched by
// its MAC, the WAN by name, the lab's documentation addresses, the server
// as default gateway, no NAT, port 80 intercepted to proxyPort, fail open.
func Config(proxyPort uint16) config.Network {
	mac, err := net.ParseMAC(lab.RouterLANMAC)
	if err != nil {
		panic(err)
	}
	c := config.Default().Network
	c.WAN = config.Link{Name: lab.RouterWAN}
	c.LAN = []config.Link{{Name: lab.RouterLAN, MAC: mac}}
	c.WANAddrs = []netip.Prefix{lab.RouterWANv4, lab.RouterWANv6}
	c.Gateways = []netip.Addr{lab.ServerV4, lab.ServerV6}
	c.LANAddrs = []netip.Prefix{lab.RouterLANv4, lab.RouterLANv6}
	c.NAT = false
	c.ProxyPort = proxyPort
	return c
}

// InstallErr runs router.Configure(c) in l's router namespace. Like the
// firmware's, it may be called again with the same or another
// configuration: the result is that of the last call.
func InstallErr(l *lab.Lab, c config.Network) error {
	err := l.Router.Do(func() error {
		_, _, err := router.Configure(c)
		return err
	})
	if err != nil {
		return fmt.Errorf("in %s: router.Configure: %w", l.Router.Name, err)
	}
	return nil
}

// Install is InstallErr for t: it fails t on error.
func Install(t testing.TB, l *lab.Lab, c config.Network) {
	t.Helper()
	if err := InstallErr(l, c); err != nil {
		t.Fatal(err)
	}
}
