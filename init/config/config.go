// Package config is the router's configuration as one typed value. It owns
// the defaults, every rule between keys (Check) and the one-line summary;
// the parser (init/cmdline) only fills it in, at the edge, and the packages
// below take the parts they apply: netconf and the firewall the Network,
// init/router the rest. Nothing below re-parses strings.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// FailMode says what happens to an intercepted connection when no proxy
// socket takes it.
type FailMode int

const (
	// FailOpen forwards it untouched, as the kernel does when the tproxy
	// rule finds no socket.
	FailOpen FailMode = iota
	// FailClosed rejects it with a TCP reset.
	FailClosed
)

func (m FailMode) String() string {
	if m == FailClosed {
		return "closed"
	}
	return "open"
}

// Link names a network interface by name or, when MAC is set, by hardware
// address; then Name, if set, is what netconf renames the link to.
type Link struct {
	Name string
	MAC  net.HardwareAddr
}

// Same reports whether l and o name the same link: by MAC when either
// has one, else by name.
func (l Link) Same(o Link) bool {
	if len(l.MAC) > 0 || len(o.MAC) > 0 {
		return slices.Equal(l.MAC, o.MAC)
	}
	return l.Name == o.Name
}

// SameName reports whether l and o end up with the same name: two links
// cannot, the kernel refuses the second rename.
func (l Link) SameName(o Link) bool { return l.Name != "" && l.Name == o.Name }

// String writes l as the command line gives it: name, MAC, or name@MAC.
func (l Link) String() string {
	switch {
	case len(l.MAC) == 0:
		return l.Name
	case l.Name == "":
		return l.MAC.String()
	}
	return l.Name + "@" + l.MAC.String()
}

// Config is everything the router is configured with.
type Config struct {
	// Network is what netconf and the firewall apply.
	Network Network

	// Hostname is the router's host name, also the proxy's name in Via.
	Hostname string
	// Spoof makes the proxy connect upstream from the client's address.
	Spoof bool
	// DHCPD runs the DHCPv4 server on the LAN (when it has IPv4).
	DHCPD bool
	// RA sends router advertisements on the LAN (when it has an IPv6 /64).
	RA bool
	// StatusPort is the status endpoint's TCP port on the LAN addresses;
	// 0 turns it off.
	StatusPort uint16
	// Shell runs a rescue shell on the console.
	Shell bool
	// Syslog are the remote collectors that get every console line and
	// the access log; none by default.
	Syslog []Collector

	// Proxy is what the proxy is told beyond where to listen.
	Proxy Proxy

	// Sources says where each key given was given, by key name
	// (tprouter.hostname); a key not in it has its default. A key whose
	// value did not parse is in it too: the Problem says what it got
	// instead.
	Sources map[string]Source
}

// Source is where a key was given: on the kernel command line, or on a
// line of a file (cmdline.txt on the boot partition).
type Source struct {
	File string // "" for the kernel command line
	Line int
}

// String says where: "kernel command line" or "cmdline.txt:7".
func (s Source) String() string {
	if s.File == "" {
		return "kernel command line"
	}
	return fmt.Sprintf("%s:%d", s.File, s.Line)
}

// SourceOf says where key's value came from: "default" or its Source.
func (c Config) SourceOf(key string) string {
	if s, ok := c.Sources[key]; ok {
		return s.String()
	}
	return "default"
}

// Network is the network configuration of the box.
type Network struct {
	WAN Link
	LAN []Link

	// WANAddrs are static WAN addresses; empty means the address comes
	// from DHCP.
	WANAddrs []netip.Prefix
	// Gateways are default routes, at most one per family.
	Gateways []netip.Addr
	DNS      []netip.Addr
	// LANAddrs are the router's addresses on the (first) LAN link.
	LANAddrs []netip.Prefix
	// PD is DHCPv6 prefix delegation on a DHCP WAN (pd.go).
	PD PD

	NAT       bool     // IPv4 masquerade on the WAN
	Intercept []uint16 // TCP ports intercepted on the LAN
	// BlockQUIC answers UDP to port 443 from the LAN with port
	// unreachable, so that browsers fall back to TCP, which the proxy
	// sees; it applies only while 443 is intercepted (QUICBlocked).
	BlockQUIC bool
	ProxyPort uint16 // where the proxy listens (transparent)
	FailMode  FailMode
	Exempt    []netip.Prefix // sources and destinations never intercepted

	// Mark and Table tie TPROXY to policy routing: packets with
	// mark&Mark != 0 are looked up in Table, which delivers them locally.
	Mark  uint32
	Table int
}

// Default returns the configuration of a router with nothing on its
// command line.
func Default() Config {
	return Config{
		Network:    defaultNetwork(),
		Hostname:   "tprouter",
		Spoof:      true,
		DHCPD:      true,
		RA:         true,
		StatusPort: 9090,
	}
}

func defaultNetwork() Network {
	return Network{
		WAN:       Link{Name: "eth0"},
		LAN:       []Link{{Name: "eth1"}},
		LANAddrs:  []netip.Prefix{netip.MustParsePrefix("192.168.1.1/24")},
		PD:        PD{Len: DefaultPDLen},
		NAT:       true,
		Intercept: []uint16{80, 443},
		BlockQUIC: true,
		ProxyPort: 3129,
		FailMode:  FailOpen,
		Mark:      0x1,
		Table:     100,
	}
}

// QUICBlocked reports whether the firewall blocks QUIC: asked to, and
// TCP 443 is intercepted. Without interception of 443, HTTPS over TCP
// passes the proxy by as QUIC does, and blocking QUIC would only cost
// the clients a fallback.
func (n Network) QUICBlocked() bool { return n.BlockQUIC && slices.Contains(n.Intercept, 443) }

// WANDHCP reports whether the WAN address comes from DHCP.
func (n Network) WANDHCP() bool { return len(n.WANAddrs) == 0 }

// ProxyStatusPort is where the proxy serves its /metrics and /access.log,
// on 127.0.0.1, for the status endpoint to fetch: 9091, or 9092 when the
// proxy listens on 9091 (its wildcard listener covers 127.0.0.1 too).
func (c Config) ProxyStatusPort() uint16 {
	if c.Network.ProxyPort == 9091 {
		return 9092
	}
	return 9091
}

// LastAddr returns the highest address of p: for IPv4, the broadcast
// address of the prefix.
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
