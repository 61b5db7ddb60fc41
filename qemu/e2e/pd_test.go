package e2e

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

// The ISP of TestPD: kea delegates /56s of a /40, first from poolA, then
// from poolB. Lifetimes are long enough that the router's advertisements
// need not be repeated during the test, T1 short so a renewal comes soon.
var (
	pdPoolA = labproc.KeaPool{Prefix: "2001:db8:100::", Valid: 300, T1: 5, T2: 8, AddrPool: "2001:db8:2::100-2001:db8:2::1ff"}
	pdPoolB = labproc.KeaPool{Prefix: "2001:db8:200::", Valid: 300, T1: 5, T2: 8, AddrPool: "2001:db8:2::200-2001:db8:2::2ff"}
	pdNetA  = netip.MustParsePrefix("2001:db8:100::/40")
	pdNetB  = netip.MustParsePrefix("2001:db8:200::/40")
)

// routerWANLinkLocal is the VM's WAN link-local address (EUI-64 of the
// MAC qemu.Boot gives its first NIC), the next hop of the ISP's routes
// for the prefixes it delegates to the router.
const routerWANLinkLocal = "fe80::5054:ff:fe12:3456"

// TestPD is the home case with IPv6 (issue 15): the ISP hands out IPv4 by
// DHCP and IPv6 by router advertisements on the WAN and a prefix by
// DHCPv6-PD (kea); the router puts the first /64 of the delegated prefix
// on the LAN and advertises it; the client takes an address in it by
// SLAAC, and its request reaches the server from that address, routed
// (no NAT66), through the proxy. Then the ISP delegates another prefix at
// renewal, and the client moves to it.
func TestPD(t *testing.T) {
	bins := labproc.Build(t, "tprouter/services/dhcp4d", "tprouter/services/radvd")
	l := lab.New(t, lab.Options{Unaddressed: true})
	l.Server.IP(t, "addr", "add", "198.51.100.2/24", "dev", lab.ServerIf)
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	dir := t.TempDir()
	labproc.Start(t, l.Server, bins["dhcp4d"], "-iface", lab.ServerIf, "-leases", dir+"/wan-leases.json", "-lease", "10m")
	l.Client.IP(t, "addr", "add", lab.ClientV4.String()+"/24", "dev", lab.ClientIf) // for the access log on 192.0.2.1:9090
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/accept_ra", "1")
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/autoconf", "1")

	vm := boot(t, l, "tprouter.lan.addr=192.0.2.1/24")
	// kea binds the server's link-local address, which exists only once
	// the link has a carrier: the VM's end of it.
	start := time.Now()
	k := labproc.StartKea(t, l, pdPoolA) // and the server's 2001:db8:2::2/64
	labproc.Start(t, l.Server, bins["radvd"], "-iface", lab.ServerIf)
	for _, p := range []netip.Prefix{pdNetA, pdNetB} {
		l.Server.IP(t, "-6", "route", "add", p.String(), "via", routerWANLinkLocal, "dev", lab.ServerIf)
	}
	vm.Expect(t, "pd: LAN 2001:db8:100:", waitTimeout)
	t.Logf("pd: the delegated prefix on the LAN %.1f s after kea started", time.Since(start).Seconds())
	pdFetch(t, l, pdNetA)

	k.Restart(t, pdPoolB)
	start = time.Now()
	vm.Expect(t, "pd: LAN 2001:db8:200:", waitTimeout)
	t.Logf("pd: the new prefix on the LAN %.1f s after kea moved", time.Since(start).Seconds())
	pdFetch(t, l, pdNetB)
	if con := vm.Console(); !strings.Contains(con, "pd: 2001:db8:100:") || !strings.Contains(con, " withdrawn from ") {
		t.Errorf("the console does not say the old /64 was withdrawn:\n%s", con)
	}
}

// pdFetch waits for the client's SLAAC address in the delegated net and
// checks that a request from it reaches the server with that address
// (routed, no NAT66) and went through the proxy.
func pdFetch(t *testing.T, l *lab.Lab, net netip.Prefix) {
	t.Helper()
	client := slaacIn(t, l.Client, net)
	url := "http://[" + lab.ServerV6.String() + "]/"
	if got := fetch(t, l.Client, url); got != client {
		t.Errorf("server saw %s, want the client's delegated address %s", got, client)
	}
	want := " " + client.String() + " "
	if log := accessLog(t, l.Client, " GET "+url+" "); !strings.Contains(log, " GET "+url+" ") {
		t.Errorf("the request from %s did not go through the proxy; access log:\n%s", client, log)
	} else if !strings.Contains(log, want) {
		t.Errorf("no access log line names %s:\n%s", client, log)
	}
}
