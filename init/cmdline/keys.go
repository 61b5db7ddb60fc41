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

// key is one tprouter.* key: how to read it, how to write it, and what to
// do when its value is bad.
type key struct {
	name string
	// example is a value that is not the default, for cmdline.txt's
	// template and README.md's table (TestReadme).
	example string
	want    string                             // the expected form, for Problem.Want
	set     func(*config.Config, string) error // parses the value into the config
	// value writes the key's value in c as the command line would give it
	// ("" for an empty list, which only the key's absence gives); the
	// README's table shows value(config.Default()) as the default.
	value func(config.Config) string
	// safe applies the safe state for a bad value and says what it is.
	// nil means the default (see fallback).
	safe func(*config.Config) string
}

// fallback applies k's safe state to c and says what it is, for
// Problem.Using. A key without a safe func of its own falls back to its
// default, and the text names the default as value writes it, so the
// console cannot tell of a default the code no longer has.
func (k *key) fallback(c *config.Config) string {
	if k.safe != nil {
		return k.safe(c)
	}
	v := k.value(config.Default())
	k.set(c, v) // the default's own value parses (TestDefaultValues)
	return "using " + v
}

// keys is the command-line reference. Each safe func documents the
// choice made for a value that does not parse. Parse applies the keys in
// this order.
var keys = []key{
	{name: "tprouter.hostname", example: "gw.lan", want: "a host name: letters, digits and '-' in dot-separated labels, at most 64 bytes",
		set:   func(c *config.Config, v string) error { return hostname(&c.Hostname, v) },
		value: func(c config.Config) string { return c.Hostname }},

	// There is no "WAN off"; the default is what the board documents.
	{name: "tprouter.wan", example: "02:00:00:00:02:01", want: "an interface name (eth0), a MAC (02:00:00:00:02:01), or name@MAC to rename the link with that MAC (wan0@02:00:00:00:02:01)",
		set:   func(c *config.Config, v string) error { return link(&c.Network.WAN, v) },
		value: func(c config.Config) string { return c.Network.WAN.String() }},

	{name: "tprouter.lan", example: "eth1,eth2", want: "comma-separated interface names, MACs or name@MAC (eth1 or eth1,eth2 or lan0@02:00:00:00:01:01)",
		set:   func(c *config.Config, v string) error { return links(&c.Network.LAN, v) },
		value: func(c config.Config) string { return config.Commas(c.Network.LAN) }},

	{name: "tprouter.wan.addr", example: "198.51.100.2/24,2001:db8:2::2/64", want: "dhcp, or comma-separated addresses with prefix length (198.51.100.2/24,2001:db8:2::2/64)",
		set: func(c *config.Config, v string) error {
			if v == "dhcp" {
				c.Network.WANAddrs = nil
				return nil
			}
			return prefixes(&c.Network.WANAddrs, v, false)
		},
		value: func(c config.Config) string {
			if c.Network.WANDHCP() {
				return "dhcp"
			}
			return config.Commas(c.Network.WANAddrs)
		},
		// DHCP configures the WAN from what the network offers; a guessed
		// static address could take someone else's.
		safe: func(c *config.Config) string { c.Network.WANAddrs = nil; return "using dhcp" }},

	{name: "tprouter.wan.gw", example: "198.51.100.1,fe80::1", want: "comma-separated gateway addresses, at most one IPv4 and one IPv6 (198.51.100.1,fe80::1)",
		set:   func(c *config.Config, v string) error { return gateways(&c.Network.Gateways, v) },
		value: func(c config.Config) string { return config.Commas(c.Network.Gateways) },
		// No static default route: a wrong one sends everything astray,
		// none leaves the default route to DHCP and RA.
		safe: func(c *config.Config) string { c.Network.Gateways = nil; return "no static gateway" }},

	{name: "tprouter.wan.pd", example: "60", want: "off, or the length of the IPv6 prefix to ask the ISP to delegate by DHCPv6, 1-64 (56 or /60)",
		set:   func(c *config.Config, v string) error { return pdLen(&c.Network.PD.Len, v) },
		value: func(c config.Config) string { return pdLenValue(c.Network.PD.Len) }},

	{name: "tprouter.wan.na", example: "on", want: "on or off",
		set:   func(c *config.Config, v string) error { return boolean(&c.Network.PD.NA, v) },
		value: func(c config.Config) string { return config.OnOff(c.Network.PD.NA) }},

	{name: "tprouter.dns", example: "198.51.100.53", want: "comma-separated DNS server addresses (198.51.100.53,2001:db8:2::53)",
		set:   func(c *config.Config, v string) error { return addrs(&c.Network.DNS, v) },
		value: func(c config.Config) string { return config.Commas(c.Network.DNS) },
		safe:  func(c *config.Config) string { c.Network.DNS = nil; return "no static DNS servers" }},

	{name: "tprouter.lan.addr", example: "192.168.1.1/24,2001:db8:1::1/64", want: "comma-separated addresses with prefix length, at most one per family (192.168.1.1/24,2001:db8:1::1/64)",
		set:   func(c *config.Config, v string) error { return prefixes(&c.Network.LANAddrs, v, true) },
		value: func(c config.Config) string { return config.Commas(c.Network.LANAddrs) }},

	{name: "tprouter.lan.pd", example: "1", want: "which /64 of the delegated prefix the LAN takes: 0 (the first), 1, ... or 0x1f",
		set:   func(c *config.Config, v string) error { return subnetID(&c.Network.PD.LAN, v) },
		value: func(c config.Config) string { return strconv.FormatUint(c.Network.PD.LAN, 10) }},

	{name: "tprouter.nat", example: "off", want: "on or off",
		set:   func(c *config.Config, v string) error { return boolean(&c.Network.NAT, v) },
		value: func(c config.Config) string { return config.OnOff(c.Network.NAT) },
		// On: without NAT, private LAN addresses leak onto the uplink.
		safe: func(c *config.Config) string { c.Network.NAT = true; return "NAT on" }},

	{name: "tprouter.intercept", example: "80,443,8080", want: "off, or comma-separated TCP ports (80,443 or 80,443,8080)",
		set: func(c *config.Config, v string) error { return ports(&c.Network.Intercept, v) },
		value: func(c config.Config) string {
			if len(c.Network.Intercept) == 0 {
				return "off"
			}
			return config.Commas(c.Network.Intercept)
		}},

	{name: "tprouter.proxy.port", example: "3130", want: "a TCP port, 1-65535",
		set:   func(c *config.Config, v string) error { return port(&c.Network.ProxyPort, v, false) },
		value: func(c config.Config) string { return strconv.Itoa(int(c.Network.ProxyPort)) }},

	{name: "tprouter.failmode", example: "closed", want: "open or closed",
		set: func(c *config.Config, v string) error {
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
		value: func(c config.Config) string { return c.Network.FailMode.String() },
		// Closed: only an operator who wants closed sets this key (open is
		// the default), and a closed router shows its failure (reset
		// connections while the proxy is down) where an open one would
		// silently let traffic bypass the proxy.
		safe: func(c *config.Config) string { c.Network.FailMode = config.FailClosed; return "using closed" }},

	{name: "tprouter.spoof", example: "off", want: "on or off",
		set:   func(c *config.Config, v string) error { return boolean(&c.Spoof, v) },
		value: func(c config.Config) string { return config.OnOff(c.Spoof) },
		// Off: the upstream then sees the router's address, which always
		// routes back; only an operator who wants it off sets this key.
		safe: func(c *config.Config) string { c.Spoof = false; return "spoofing off" }},

	// After tprouter.intercept, so that nothing turns interception back on.
	{name: "tprouter.exempt", example: "192.0.2.10,198.51.100.0/24", want: "none, or comma-separated addresses or prefixes (192.0.2.10,198.51.100.0/24)",
		set: func(c *config.Config, v string) error { return exempt(&c.Network.Exempt, v) },
		value: func(c config.Config) string {
			if len(c.Network.Exempt) == 0 {
				return "none"
			}
			return config.Commas(c.Network.Exempt)
		},
		// Interception off: what the operator exempted must never be
		// intercepted, and without the list there is no knowing what it is.
		safe: func(c *config.Config) string {
			c.Network.Exempt, c.Network.Intercept = nil, nil
			return "interception off"
		}},

	{name: "tprouter.unknown", example: "reject", want: "tunnel or reject",
		set: func(c *config.Config, v string) error {
			return choice(&c.Proxy.Unknown, v, config.UnknownTunnel, config.UnknownReject)
		},
		value: func(c config.Config) string { return c.Proxy.Unknown.String() },
		// Reject: only an operator who wants reject sets this key (tunnel
		// is the default), and a rejected connection shows itself where a
		// tunnel silently passes the lists by.
		safe: func(c *config.Config) string { c.Proxy.Unknown = config.UnknownReject; return "using reject" }},

	// Bad values fall back to block: the clients then use TCP, which the
	// proxy sees.
	{name: "tprouter.quic", example: "pass", want: "block or pass",
		set: func(c *config.Config, v string) error {
			switch v {
			case "block", "pass":
				c.Network.BlockQUIC = v == "block"
				return nil
			}
			return errors.New("not block or pass")
		},
		value: func(c config.Config) string {
			if c.Network.BlockQUIC {
				return "block"
			}
			return "pass"
		}},

	{name: "tprouter.deny", example: ".ads.example,tracker.example", want: "comma-separated domains in dstdomain syntax: .example.com (the domain and every name under it) or example.com (that name alone)",
		set:   func(c *config.Config, v string) error { return domains(&c.Proxy.Deny, v) },
		value: func(c config.Config) string { return strings.Join(c.Proxy.Deny, ",") },
		// The good entries: a typo in one must not drop the others.
		safe: func(c *config.Config) string {
			return fmt.Sprintf("ignoring the bad entries, denying the other %d", len(c.Proxy.Deny))
		}},

	{name: "tprouter.allow", example: ".school.example,198.51.100.7", want: "comma-separated domains in dstdomain syntax: .example.com (the domain and every name under it) or example.com (that name alone)",
		set:   func(c *config.Config, v string) error { return domains(&c.Proxy.Allow, v) },
		value: func(c config.Config) string { return strings.Join(c.Proxy.Allow, ",") },
		// The good entries, and with none left the reserved name invalid
		// (RFC 6761) alone: an allow list whose entries are all typos
		// must not allow everything.
		safe: func(c *config.Config) string {
			if len(c.Proxy.Allow) == 0 {
				c.Proxy.Allow = []string{"invalid"}
				return "no good entry: allowing only the reserved name invalid, so denying every name"
			}
			return fmt.Sprintf("ignoring the bad entries, allowing only the other %d", len(c.Proxy.Allow))
		}},

	// After tprouter.deny and tprouter.allow in the README's reading
	// order; its default (auto) depends on them, resolved when used
	// (config.Proxy.StripECH).
	{name: "tprouter.ech", example: "pass", want: "strip or pass (auto: strip when a deny or allow list is set, else pass)",
		set: func(c *config.Config, v string) error {
			return choice(&c.Proxy.ECH, v, config.ECHAuto, config.ECHStrip, config.ECHPass)
		},
		value: func(c config.Config) string { return c.Proxy.ECH.String() }},

	{name: "tprouter.logformat", example: "tls", want: "squid or tls",
		set: func(c *config.Config, v string) error {
			return choice(&c.Proxy.LogFormat, v, config.LogSquid, config.LogTLS)
		},
		value: func(c config.Config) string { return c.Proxy.LogFormat.String() }},

	{name: "tprouter.dhcpd", example: "off", want: "on or off",
		set:   func(c *config.Config, v string) error { return boolean(&c.DHCPD, v) },
		value: func(c config.Config) string { return config.OnOff(c.DHCPD) },
		// Off: a second DHCP server on a LAN breaks it; a missing one is
		// noticed and harmless.
		safe: func(c *config.Config) string { c.DHCPD = false; return "DHCP server off" }},

	{name: "tprouter.ra", example: "off", want: "on or off",
		set:   func(c *config.Config, v string) error { return boolean(&c.RA, v) },
		value: func(c config.Config) string { return config.OnOff(c.RA) },
		// Off, for the same reason as tprouter.dhcpd.
		safe: func(c *config.Config) string { c.RA = false; return "router advertisements off" }},

	{name: "tprouter.status.port", example: "8080", want: "off, or a TCP port 1-65535",
		set: func(c *config.Config, v string) error { return port(&c.StatusPort, v, true) },
		value: func(c config.Config) string {
			if c.StatusPort == 0 {
				return "off"
			}
			return strconv.Itoa(int(c.StatusPort))
		},
		// Off: the endpoint shows client addresses and URLs; a typo in an
		// attempt to move or close it must not leave it open.
		safe: func(c *config.Config) string { c.StatusPort = 0; return "status endpoint off" }},

	{name: "tprouter.shell", example: "on", want: "on or off",
		set:   func(c *config.Config, v string) error { return boolean(&c.Shell, v) },
		value: func(c config.Config) string { return config.OnOff(c.Shell) },
		// Off: it is a root shell on the console.
		safe: func(c *config.Config) string { c.Shell = false; return "no rescue shell" }},

	{name: "tprouter.syslog", example: "udp://198.51.100.2:514,tcp://[2001:db8:2::2]:514",
		want: "none, or comma-separated collectors udp://host[:port] or tcp://host[:port], host an address or a host name, port 514 unless given (udp://198.51.100.2,tcp://logs.example:6514)",
		set:  func(c *config.Config, v string) error { return collectors(&c.Syslog, v) },
		value: func(c config.Config) string {
			if len(c.Syslog) == 0 {
				return "none"
			}
			return config.Commas(c.Syslog)
		},
		// The good entries: a typo in one collector must not cut the
		// others off.
		safe: func(c *config.Config) string {
			return fmt.Sprintf("ignoring the bad entries, sending to the other %d", len(c.Syslog))
		}},
}

func findKey(name string) *key {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i]
		}
	}
	return nil
}

// choice sets dst to the one of values whose String is v.
func choice[T fmt.Stringer](dst *T, v string, values ...T) error {
	var names []string
	for _, x := range values {
		if x.String() == v {
			*dst = x
			return nil
		}
		names = append(names, x.String())
	}
	return fmt.Errorf("not %s", strings.Join(names, " or "))
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

// link parses an interface name, a MAC, or name@MAC: the link with that
// MAC, renamed to name (netconf renames it). Colons cannot appear in
// interface names, so a value with a colon and no '@' is a MAC; a link
// given by MAC alone keeps its kernel name.
func link(dst *config.Link, v string) error {
	name, mac, rename := strings.Cut(v, "@")
	if !rename && strings.Contains(v, ":") {
		name, mac = "", v
	}
	var l config.Link
	if rename || mac == "" {
		if err := ifname(name); err != nil {
			return err
		}
		l.Name = name
	}
	if rename || mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return fmt.Errorf("%q is not an Ethernet MAC", mac)
		}
		l.MAC = hw
	}
	*dst = l
	return nil
}

// ifname checks an interface name as the kernel's dev_valid_name does: 1
// to 15 bytes, not . or .., no '/', ':' or white space.
func ifname(v string) error {
	if v == "" || v == bare || len(v) > 15 || v == "." || v == ".." {
		return fmt.Errorf("%q is not an interface name (1 to 15 bytes)", v)
	}
	for _, r := range v {
		if r == '/' || r == ':' || r <= ' ' || r >= 0x7f {
			return fmt.Errorf("%q is not allowed in an interface name", r)
		}
	}
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
			if o.Same(l) || o.SameName(l) {
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
		if host && p.Addr().Is4() && p.Addr() == config.LastAddr(p) {
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
