package netconf_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"tprouter/init/config"
	"tprouter/init/netconf"
	"tprouter/qemu/lab"
)

// TestApply applies the lab's configuration twice and checks links,
// addresses, default routes, policy routing and sysctls for both families.
func TestApply(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	c := labConfig()
	apply(t, r, c)
	apply(t, r, c) // idempotent: no duplicate rules, no errors

	got := addrs(t, r)
	want := []string{
		"lan0 192.0.2.1/24 global",
		"lan0 2001:db8:1::1/64 global",
		"lo 127.0.0.1/8 host",
		"lo ::1/128 host",
		"wan0 198.51.100.1/24 global",
		"wan0 2001:db8:2::1/64 global",
	}
	if !slices.Equal(got, want) {
		t.Errorf("addresses:\ngot:  %q\nwant: %q", got, want)
	}
	for _, link := range []string{lab.RouterLAN, lab.RouterWAN} {
		if out := r.IP(t, "link", "show", link); !strings.Contains(out, ",UP") {
			t.Errorf("%s is not up:\n%s", link, out)
		}
	}

	checkLines(t, "ip rule", r.IP(t, "rule"),
		"0:	from all lookup local",
		"100:	from all fwmark 0x1/0x1 lookup 100 proto static",
		"32766:	from all lookup main",
		"32767:	from all lookup default")
	checkLines(t, "ip -6 rule", r.IP(t, "-6", "rule"),
		"0:	from all lookup local",
		"100:	from all fwmark 0x1/0x1 lookup 100 proto static",
		"32766:	from all lookup main")
	checkLines(t, "ip route show table 100", r.IP(t, "route", "show", "table", "100"),
		"local default dev lo proto static scope host")
	checkLines(t, "ip -6 route show table 100", r.IP(t, "-6", "route", "show", "table", "100"),
		"local default dev lo proto static metric 1024 pref medium")
	checkLines(t, "ip route show default", r.IP(t, "route", "show", "default"),
		"default via 198.51.100.2 dev wan0 proto static")
	checkLines(t, "ip -6 route show default", r.IP(t, "-6", "route", "show", "default"),
		"default via 2001:db8:2::2 dev wan0 proto static metric 1024 pref medium")

	for key, want := range map[string]string{
		"net/ipv4/ip_forward":                  "1",
		"net/ipv6/conf/all/forwarding":         "1",
		"net/ipv4/conf/all/rp_filter":          "0",
		"net/ipv4/conf/lan0/rp_filter":         "0",
		"net/ipv4/conf/wan0/rp_filter":         "2",
		"net/ipv6/conf/wan0/accept_ra":         "2",
		"net/ipv6/conf/lan0/keep_addr_on_down": "1",
		"net/ipv4/icmp_ratelimit":              "0",
		"net/ipv6/icmp/ratelimit":              "0",
		"net/ipv6/conf/lan0/forwarding":        "1",
		"net/ipv6/conf/wan0/forwarding":        "1",
		"net/ipv4/conf/wan0/forwarding":        "1",
		"net/ipv4/conf/lan0/forwarding":        "1",
		"net/ipv6/conf/lan0/disable_ipv6":      "0",
		"net/ipv6/conf/wan0/disable_ipv6":      "0",
		"net/ipv4/conf/default/rp_filter":      sysctl(t, r, "net/ipv4/conf/default/rp_filter"), // untouched
		"net/ipv6/conf/default/forwarding":     "1",
	} {
		if got := sysctl(t, r, key); got != want {
			t.Errorf("sysctl %s = %s, want %s", key, got, want)
		}
	}

	var wan string
	var lan []string
	err := r.Do(func() (err error) {
		wan, lan, err = netconf.Resolve(c)
		return err
	})
	if err != nil || wan != lab.RouterWAN || !slices.Equal(lan, []string{lab.RouterLAN}) {
		t.Errorf("Resolve = %q, %q, %v; want %q, [%q], nil", wan, lan, err, lab.RouterWAN, lab.RouterLAN)
	}
}

// TestConverge applies a configuration, adds foreign state, applies a
// changed configuration and checks that what tprouter owned converged and
// what it did not own survived.
func TestConverge(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	c := labConfig()
	c.LANAddrs = append(c.LANAddrs, netip.MustParsePrefix("10.9.0.1/24"))
	c.WANAddrs = append(c.WANAddrs, netip.MustParsePrefix("2001:db8:2::99/64"))
	apply(t, r, c)
	lanLL := waitLinkLocal(t, r, "lan0")
	wanLL := waitLinkLocal(t, r, "wan0")

	// Not tprouter's: a route of another protocol, an address with a
	// lifetime (as SLAAC or a DHCP client adds them).
	r.IP(t, "route", "add", "203.0.113.0/24", "via", "198.51.100.2")
	r.IP(t, "addr", "add", "198.51.100.77/24", "dev", "wan0", "valid_lft", "300", "preferred_lft", "300")
	// A permanent global address on a managed link is the configuration's
	// business: it goes.
	r.IP(t, "addr", "add", "192.0.2.99/24", "dev", "lan0")

	c = labConfig()
	c.Gateways = []netip.Addr{lab.ServerV6} // IPv4 default route removed
	c.Mark = 0x2
	c.Table = 200
	apply(t, r, c)
	apply(t, r, c)

	got := addrs(t, r)
	want := []string{
		"lan0 192.0.2.1/24 global",
		"lan0 2001:db8:1::1/64 global",
		"lo 127.0.0.1/8 host",
		"lo ::1/128 host",
		"wan0 198.51.100.1/24 global",
		"wan0 198.51.100.77/24 global dynamic",
		"wan0 2001:db8:2::1/64 global",
	}
	if !slices.Equal(got, want) {
		t.Errorf("addresses:\ngot:  %q\nwant: %q", got, want)
	}
	for link, ll := range map[string]string{"lan0": lanLL, "wan0": wanLL} {
		if got := waitLinkLocal(t, r, link); got != ll {
			t.Errorf("%s: link-local address %s, want %s kept", link, got, ll)
		}
	}
	checkLines(t, "ip rule", r.IP(t, "rule"),
		"0:	from all lookup local",
		"100:	from all fwmark 0x2/0x2 lookup 200 proto static",
		"32766:	from all lookup main",
		"32767:	from all lookup default")
	checkLines(t, "ip -6 rule", r.IP(t, "-6", "rule"),
		"0:	from all lookup local",
		"100:	from all fwmark 0x2/0x2 lookup 200 proto static",
		"32766:	from all lookup main")
	if out := output(r, "ip", "route", "show", "table", "100"); strings.Contains(out, "local") {
		t.Errorf("table 100 still has routes:\n%s", out)
	}
	if out := output(r, "ip", "-6", "route", "show", "table", "100"); strings.Contains(out, "local") {
		t.Errorf("IPv6 table 100 still has routes:\n%s", out)
	}
	checkLines(t, "ip route show table 200", r.IP(t, "route", "show", "table", "200"),
		"local default dev lo proto static scope host")
	checkLines(t, "ip -6 route show table 200", r.IP(t, "-6", "route", "show", "table", "200"),
		"local default dev lo proto static metric 1024 pref medium")
	checkLines(t, "ip route show default", r.IP(t, "route", "show", "default"))
	checkLines(t, "ip -6 route show default", r.IP(t, "-6", "route", "show", "default"),
		"default via 2001:db8:2::2 dev wan0 proto static metric 1024 pref medium")
	checkLines(t, "ip route show 203.0.113.0/24", r.IP(t, "route", "show", "203.0.113.0/24"),
		"203.0.113.0/24 via 198.51.100.2 dev wan0")
}

// TestRename matches the LAN by MAC and renames it.
func TestRename(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	c := labConfig()
	c.LAN[0].Name = "inside0"
	apply(t, r, c)
	apply(t, r, c)

	if out := r.IP(t, "link", "show", "inside0"); !strings.Contains(out, lab.RouterLANMAC) || !strings.Contains(out, ",UP") {
		t.Errorf("inside0: want up with MAC %s, got:\n%s", lab.RouterLANMAC, out)
	}
	if got := sysctl(t, r, "net/ipv4/conf/inside0/rp_filter"); got != "0" {
		t.Errorf("inside0 rp_filter = %s, want 0", got)
	}
	var lan []string
	err := r.Do(func() (err error) {
		_, lan, err = netconf.Resolve(c)
		return err
	})
	if err != nil || !slices.Equal(lan, []string{"inside0"}) {
		t.Errorf("Resolve: LAN %q, %v; want [inside0]", lan, err)
	}
}

// TestApplyCollectsErrors checks that missing links are reported with
// their names, on one line, and do not stop the configuration of the
// others.
func TestApplyCollectsErrors(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	c := labConfig()
	c.LAN = append(c.LAN, config.Link{Name: "nope0"}, config.Link{Name: "nope1"})
	err := r.Do(func() error { return netconf.Apply(c) })
	if err == nil || !strings.Contains(err.Error(), `no link named "nope0"; no link named "nope1"`) {
		t.Fatalf("Apply with two missing links: err = %q, want both named on one line", err)
	}
	if got := addrs(t, r); !slices.Contains(got, "wan0 198.51.100.1/24 global") {
		t.Errorf("WAN not configured after a LAN error: %q", got)
	}
	checkLines(t, "ip rule", r.IP(t, "rule"),
		"0:	from all lookup local",
		"100:	from all fwmark 0x1/0x1 lookup 100 proto static",
		"32766:	from all lookup main",
		"32767:	from all lookup default")

	var wan string
	var lan []string
	err = r.Do(func() (err error) {
		wan, lan, err = netconf.Resolve(c)
		return err
	})
	if err == nil || wan != "wan0" || !slices.Equal(lan, []string{"lan0", "nope0", "nope1"}) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Resolve = %q, %q, %q; want wan0, [lan0 nope0 nope1] and an error on one line", wan, lan, err)
	}
}

// TestApplyForwardOff turns forwarding off on a router that forwards:
// every link stops forwarding, and the rest of the configuration stays.
func TestApplyForwardOff(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	c := labConfig()
	apply(t, r, c)
	if err := r.Do(func() error { return netconf.ApplyForward(c, false) }); err != nil {
		t.Fatalf("ApplyForward(off): %v", err)
	}
	for _, key := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
		"net/ipv4/conf/lan0/forwarding", "net/ipv6/conf/wan0/forwarding"} {
		if got := sysctl(t, r, key); got != "0" {
			t.Errorf("sysctl %s = %s, want 0", key, got)
		}
	}
	checkLines(t, "ip route show default", r.IP(t, "route", "show", "default"),
		"default via 198.51.100.2 dev wan0 proto static")
}
