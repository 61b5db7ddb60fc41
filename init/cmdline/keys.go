package cmdline

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"tprouter/init/config"
)

// key is one tprouter.* key: how to set it and what to do when its value
// is bad.
type key struct {
	name string
	want string                             // the expected form, for Problem.Want
	set  func(*config.Config, string) error // parses the value into the config
	bad  func(*config.Config) string        // applies the safe state, says which
}

// keys is the command-line reference. Each bad func documents the choice
// made for a value that does not parse. Parse applies them in this order.
var keys = []key{
	{"tprouter.hostname", "a host name: letters, digits and '-' in dot-separated labels, at most 64 bytes",
		func(c *config.Config, v string) error { return hostname(&c.Hostname, v) },
		func(c *config.Config) string { c.Hostname = "tprouter"; return "using tprouter" }},

	{"tprouter.wan", "an interface name (eth0) or MAC (02:00:00:00:02:01)",
		func(c *config.Config, v string) error { return link(&c.Network.WAN, v) },
		// There is no "WAN off"; the default is what the board documents.
		func(c *config.Config) string { c.Network.WAN = config.Default().Network.WAN; return "using eth0" }},

	{"tprouter.lan", "comma-separated interface names or MACs (eth1 or eth1,eth2)",
		func(c *config.Config, v string) error { return links(&c.Network.LAN, v) },
		func(c *config.Config) string { c.Network.LAN = config.Default().Network.LAN; return "using eth1" }},

	{"tprouter.wan.addr", "dhcp, or comma-separated addresses with prefix length (198.51.100.2/24,2001:db8:2::2/64)",
		func(c *config.Config, v string) error {
			if v == "dhcp" {
				c.Network.WANAddrs = nil
				return nil
			}
			return prefixes(&c.Network.WANAddrs, v, false)
		},
		// DHCP configures the WAN from what the network offers; a guessed
		// static address could take someone else's.
		func(c *config.Config) string { c.Network.WANAddrs = nil; return "using dhcp" }},

	{"tprouter.wan.gw", "comma-separated gateway addresses, at most one IPv4 and one IPv6 (198.51.100.1,fe80::1)",
		func(c *config.Config, v string) error { return gateways(&c.Network.Gateways, v) },
		// No static default route: a wrong one sends everything astray,
		// none leaves the default route to DHCP and RA.
		func(c *config.Config) string { c.Network.Gateways = nil; return "no static gateway" }},

	{"tprouter.dns", "comma-separated DNS server addresses (198.51.100.53,2001:db8:2::53)",
		func(c *config.Config, v string) error { return addrs(&c.Network.DNS, v) },
		func(c *config.Config) string { c.Network.DNS = nil; return "no static DNS servers" }},

	{"tprouter.lan.addr", "comma-separated addresses with prefix length, at most one per family (192.168.1.1/24,2001:db8:1::1/64)",
		func(c *config.Config, v string) error { return prefixes(&c.Network.LANAddrs, v, true) },
		func(c *config.Config) string {
			c.Network.LANAddrs = config.Default().Network.LANAddrs
			return "using 192.168.1.1/24"
		}},

	{"tprouter.nat", "on or off",
		func(c *config.Config, v string) error { return boolean(&c.Network.NAT, v) },
		// On: without NAT, private LAN addresses leak onto the uplink.
		func(c *config.Config) string { c.Network.NAT = true; return "NAT on" }},

	{"tprouter.intercept", "off, or comma-separated TCP ports (80 or 80,8080)",
		func(c *config.Config, v string) error { return ports(&c.Network.Intercept, v) },
		func(c *config.Config) string {
			c.Network.Intercept = config.Default().Network.Intercept
			return "intercepting port 80"
		}},

	{"tprouter.proxy.port", "a TCP port, 1-65535",
		func(c *config.Config, v string) error { return port(&c.Network.ProxyPort, v, false) },
		func(c *config.Config) string {
			c.Network.ProxyPort = config.Default().Network.ProxyPort
			return "using 3129"
		}},

	{"tprouter.failmode", "open or closed",
		func(c *config.Config, v string) error {
			switch v {
			case "open":
				c.Network.FailMode = config.FailOpen
			case "closed":
				c.Network.FailMode = config.FailClosed
			default:
				return errors.New("not open or closed")
			}
			return nil
		},
		// Closed: only an operator who wants closed sets this key (open is
		// the default), and a closed router shows its failure (reset
		// connections while the proxy is down) where an open one would
		// silently let traffic bypass the proxy.
		func(c *config.Config) string { c.Network.FailMode = config.FailClosed; return "using closed" }},

	{"tprouter.spoof", "on or off",
		func(c *config.Config, v string) error { return boolean(&c.Spoof, v) },
		// Off: the upstream then sees the router's address, which always
		// routes back; only an operator who wants it off sets this key.
		func(c *config.Config) string { c.Spoof = false; return "spoofing off" }},

	{"tprouter.exempt", "comma-separated addresses or prefixes (192.0.2.10,198.51.100.0/24)",
		func(c *config.Config, v string) error { return exempt(&c.Network.Exempt, v) },
		// Interception off: what the operator exempted must never be
		// intercepted, and without the list there is no knowing what it is.
		func(c *config.Config) string { c.Network.Exempt = nil; return "interception off" }},

	{"tprouter.dhcpd", "on or off",
		func(c *config.Config, v string) error { return boolean(&c.DHCPD, v) },
		// Off: a second DHCP server on a LAN breaks it; a missing one is
		// noticed and harmless.
		func(c *config.Config) string { c.DHCPD = false; return "DHCP server off" }},

	{"tprouter.ra", "on or off",
		func(c *config.Config, v string) error { return boolean(&c.RA, v) },
		// Off, for the same reason as tprouter.dhcpd.
		func(c *config.Config) string { c.RA = false; return "router advertisements off" }},

	{"tprouter.status.port", "off, or a TCP port 1-65535",
		func(c *config.Config, v string) error { return port(&c.StatusPort, v, true) },
		// Off: the endpoint shows client addresses and URLs; a typo in an
		// attempt to move or close it must not leave it open.
		func(c *config.Config) string { c.StatusPort = 0; return "status endpoint off" }},

	{"tprouter.shell", "on or off",
		func(c *config.Config, v string) error { return boolean(&c.Shell, v) },
		// Off: it is a root shell on the console.
		func(c *config.Config) string { c.Shell = false; return "no rescue shell" }},
}

func findKey(name string) *key {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i]
		}
	}
	return nil
}

func boolean(dst *bool, v string) error {
	switch strings.ToLower(v) {
	case "on", "1", "yes", "true", bare:
		*dst = true
	case "off", "0", "no", "false":
		*dst = false
	default:
		return errors.New("not on or off")
	}
	return nil
}

func port(dst *uint16, v string, offOK bool) error {
	if offOK && (v == "off" || v == "0") {
		*dst = 0
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("%q is not a port", v)
	}
	*dst = uint16(n)
	return nil
}

func ports(dst *[]uint16, v string) error {
	if v == "off" {
		*dst = nil
		return nil
	}
	var ps []uint16
	for _, f := range list(v) {
		var p uint16
		if err := port(&p, f, false); err != nil {
			return err
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return errors.New("no ports")
	}
	*dst = ps
	return nil
}

// list splits a comma-separated value. An empty value is an empty list;
// empty elements are kept, so that they are reported.
func list(v string) []string {
	if v == "" || v == bare {
		return nil
	}
	return strings.Split(v, ",")
}

func hostname(dst *string, v string) error {
	if v == "" || v == bare || len(v) > 64 {
		return errors.New("not 1 to 64 bytes")
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q is empty, too long or starts or ends with '-'", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not allowed in a host name", r)
			}
		}
	}
	*dst = v
	return nil
}

// link parses an interface name or MAC. Colons cannot appear in interface
// names, so a value with a colon is a MAC. A link given by MAC keeps its
// kernel name (Name is empty: netconf does not rename it).
func link(dst *config.Link, v string) error {
	if strings.Contains(v, ":") {
		mac, err := net.ParseMAC(v)
		if err != nil || len(mac) != 6 {
			return fmt.Errorf("%q is not an Ethernet MAC", v)
		}
		*dst = config.Link{MAC: mac}
		return nil
	}
	// The kernel's dev_valid_name: 1 to 15 bytes, not . or .., no '/',
	// ':' or white space.
	if v == "" || v == bare || len(v) > 15 || v == "." || v == ".." {
		return fmt.Errorf("%q is not an interface name (1 to 15 bytes)", v)
	}
	for _, r := range v {
		if r == '/' || r <= ' ' || r >= 0x7f {
			return fmt.Errorf("%q is not allowed in an interface name", r)
		}
	}
	*dst = config.Link{Name: v}
	return nil
}

func links(dst *[]config.Link, v string) error {
	var ls []config.Link
	for _, f := range list(v) {
		var l config.Link
		if err := link(&l, f); err != nil {
			return err
		}
		for _, o := range ls {
			if o.Same(l) {
				return fmt.Errorf("%s given twice", f)
			}
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return errors.New("no interfaces")
	}
	*dst = ls
	return nil
}

// addr parses a unicast address for a host, a gateway or a DNS server.
func addr(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	switch {
	case err != nil:
		return a, fmt.Errorf("%q is not an IP address", v)
	case a.Zone() != "":
		return a, fmt.Errorf("%s: no zone (%%) here", v)
	case a.Is4In6():
		return a, fmt.Errorf("%s: write IPv4 addresses in IPv4 form", v)
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, fmt.Errorf("%s is not a unicast address", v)
	}
	return a, nil
}

func addrs(dst *[]netip.Addr, v string) error {
	var as []netip.Addr
	for _, f := range list(v) {
		a, err := addr(f)
		if err != nil {
			return err
		}
		if !slices.Contains(as, a) {
			as = append(as, a)
		}
	}
	if len(as) == 0 {
		return errors.New("no addresses")
	}
	*dst = as
	return nil
}

func gateways(dst *[]netip.Addr, v string) error {
	var gs []netip.Addr
	if err := addrs(&gs, v); err != nil {
		return err
	}
	if len(gs) == 2 && gs[0].Is4() == gs[1].Is4() || len(gs) > 2 {
		return errors.New("more than one gateway for a family")
	}
	*dst = gs
	return nil
}

// prefixes parses interface addresses with their prefix length, such as
// 192.168.1.1/24: an address on the prefix, not the prefix itself.
func prefixes(dst *[]netip.Prefix, v string, onePerFamily bool) error {
	var ps []netip.Prefix
	for _, f := range list(v) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return fmt.Errorf("%q is not an address with prefix length", f)
		}
		if _, err := addr(p.Addr().String()); err != nil {
			return err
		}
		host := p.Bits() < p.Addr().BitLen()-1 // /31, /32, /127, /128 have no network address
		if host && p.Addr() == p.Masked().Addr() {
			return fmt.Errorf("%s is the network, not an address on it (e.g. %s/%d)", f, p.Addr().Next(), p.Bits())
		}
		if host && p.Addr().Is4() && p.Addr() == broadcast(p) {
			return fmt.Errorf("%s is the broadcast address of its prefix", f)
		}
		for _, o := range ps {
			if o.Addr() == p.Addr() {
				return fmt.Errorf("%s given twice", p.Addr())
			}
			if onePerFamily && o.Addr().Is4() == p.Addr().Is4() {
				return errors.New("more than one address for a family")
			}
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return errors.New("no addresses")
	}
	*dst = ps
	return nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}

// exempt parses prefixes to exempt from interception. A bare address means
// that one host; host bits of a prefix are dropped.
func exempt(dst *[]netip.Prefix, v string) error {
	if v == "none" {
		*dst = nil
		return nil
	}
	var ps []netip.Prefix
	for _, f := range list(v) {
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return fmt.Errorf("%q is not an address or prefix", f)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return fmt.Errorf("%q is not an address or prefix", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			return fmt.Errorf("%s: write IPv4 addresses in IPv4 form", f)
		}
		if p = p.Masked(); !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return errors.New("no prefixes")
	}
	*dst = ps
	return nil
}
