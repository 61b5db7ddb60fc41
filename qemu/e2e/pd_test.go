package e2e

import (
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"tprouter/qemu"
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
// (no NAT66), through the proxy. With tprouter.wan.na the WAN takes an
// address by DHCPv6 too, and dnsfwd asks the reply's DNS server. Then the
// ISP delegates another prefix at renewal, and the client moves to it.
func TestPD(t *testing.T) {
	bins := labproc.Build(t, "tprouter/services/dhcp4d", "tprouter/services/radvd")
	l := lab.New(t, lab.Options{Unaddressed: true})
	l.Server.IP(t, "addr", "add", "198.51.100.2/24", "dev", lab.ServerIf)
	l.Server.ServeHTTP(t, ":80", echoAddrVia)
	dir := t.TempDir()
	labproc.Start(t, l.Server, bins["dhcp4d"], "-iface", lab.ServerIf, "-leases", dir+"/wan-leases.json", "-lease", "10m")
	l.Client.IP(t, "addr", "add", lab.ClientV4.String()+"/24", "dev", lab.ClientIf) // for the access log on 192.0.2.1:9090
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/accept_ra", "1")
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/autoconf", "1")

	vm := boot(t, l, "tprouter.lan.addr=192.0.2.1/24 tprouter.wan.na=on")
	start := time.Now()
	k := pdISP(t, l, bins["radvd"])
	// tprouter.wan.na: a WAN address of kea's IA_NA pool as well.
	vm.Expect(t, "addresses [2001:db8:2::1", waitTimeout)
	lan := delegatedLAN(t, vm)
	if !pdNetA.Contains(lan.Addr()) {
		t.Fatalf("the LAN took %s, not a /64 of kea's pool %s", lan, pdNetA)
	}
	t.Logf("pd: the delegated prefix on the LAN %.1f s after kea started", time.Since(start).Seconds())
	client, body := pdFetch(t, l, pdNetA, "/first-prefix")
	pdServerSaw(t, client, body)
	// The DNS server of kea's reply is dnsfwd's upstream too.
	vm.Expect(t, "["+lab.ServerV6.String()+"]:53 (lease)", waitTimeout)

	k.Restart(t, pdPoolB)
	start = time.Now()
	vm.Expect(t, "pd: LAN 2001:db8:200:", waitTimeout)
	t.Logf("pd: the new prefix on the LAN %.1f s after kea moved", time.Since(start).Seconds())
	client, body = pdFetch(t, l, pdNetB, "/second-prefix")
	pdServerSaw(t, client, body)
	if con := vm.Console(); !strings.Contains(con, "pd: 2001:db8:100:") || !strings.Contains(con, " withdrawn from ") {
		t.Errorf("the console does not say the old /64 was withdrawn:\n%s", con)
	}
}

// pdISP makes the server's namespace the ISP's IPv6, after the router
// booted: kea delegates from pdPoolA (it binds the server's link-local
// address, which exists only once the link has a carrier, the VM's end of
// it), radvd advertises the WAN link, and the delegated nets are routed
// to the router.
func pdISP(t *testing.T, l *lab.Lab, radvd string) *labproc.Kea {
	t.Helper()
	k := labproc.StartKea(t, l, pdPoolA) // and the server's 2001:db8:2::2/64
	labproc.Start(t, l.Server, radvd, "-iface", lab.ServerIf)
	for _, p := range []netip.Prefix{pdNetA, pdNetB} {
		l.Server.IP(t, "-6", "route", "add", p.String(), "via", routerWANLinkLocal, "dev", lab.ServerIf)
	}
	return k
}

// pdLine is the console line of netconf.PD putting a /64 on the LAN.
var pdLine = regexp.MustCompile(`pd: LAN (\S+) on `)

// delegatedLAN waits for the LAN's /64 of a delegated prefix on vm's
// console and returns it. The serial console may show the start of the
// line before its end, so it waits for the whole line.
func delegatedLAN(t *testing.T, vm *qemu.VM) netip.Prefix {
	t.Helper()
	vm.Expect(t, "pd: LAN ", waitTimeout)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if m := pdLine.FindStringSubmatch(vm.Console()); m != nil {
			p, err := netip.ParsePrefix(m[1])
			if err != nil {
				t.Fatalf("console line %q: %v", m[0], err)
			}
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console's pd: LAN line did not end within 5 s:\n%s", vm.Console())
		}
	}
}

// pdFetch waits for the client's SLAAC address in the delegated net, GETs
// path from the server's IPv6 address, checks that the proxy logged the
// request from that address (routed, no NAT66), and returns the address
// and the server's answer.
func pdFetch(t *testing.T, l *lab.Lab, net netip.Prefix, path string) (netip.Addr, string) {
	t.Helper()
	client := slaacIn(t, l.Client, net)
	url := "http://[" + lab.ServerV6.String() + "]" + path
	body := getRetry(t, l.Client, url)
	if log := accessLog(t, l.Client, " GET "+url+" "); !hasLine(log, " "+client.String()+" ", " GET "+url+" ") {
		t.Errorf("no access log line has the request from %s:\n%s", client, log)
	}
	return client, body
}

// echoAddrVia answers with the client's address as the server sees it and
// the request's Via: "ip:port via".
var echoAddrVia = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %s", r.RemoteAddr, r.Header.Get("Via"))
})

// pdServerSaw checks that the server of pdFetch (echoAddrVia) saw the
// client's own address and the proxy's Via.
func pdServerSaw(t *testing.T, client netip.Addr, body string) {
	t.Helper()
	addr, via, _ := strings.Cut(body, " ")
	if ap, err := netip.ParseAddrPort(addr); err != nil || ap.Addr() != client || via != "1.1 tprouter (tprouter)" {
		t.Errorf("the server answered %q, want the client's delegated address %s with a port, and Via %q", body, client, "1.1 tprouter (tprouter)")
	}
}
