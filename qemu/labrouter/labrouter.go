// Package labrouter makes a lab's router namespace an intercepting
// tprouter with tprouter's own packages: init/netconf for addresses,
// sysctls and policy routing, init/firewall for the nftables table. Tests
// of the proxy and the benchmark use it, so they run against exactly the
// rules the firmware installs.
package labrouter

import (
	"net"
	"net/netip"
	"testing"

	"tprouter/init/config"
	"tprouter/init/firewall"
	"tprouter/init/netconf"
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

// Install applies c in l's router namespace, or fails t.
func Install(t testing.TB, l *lab.Lab, c config.Network) {
	t.Helper()
	err := l.Router.Do(func() error {
		if err := netconf.Apply(c); err != nil {
			return err
		}
		wan, lan, err := netconf.Resolve(c)
		if err != nil {
			return err
		}
		return firewall.Apply(c, wan, lan)
	})
	if err != nil {
		t.Fatalf("in %s: configuring the router: %v", l.Router.Name, err)
	}
}
