// Package config holds the router's configuration as typed values. It is
// parsed once, at the edge (the kernel command line), validated there, and
// passed down to the packages that apply it; nothing below re-parses
// strings.
package config

import (
	"net"
	"net/netip"
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
// address (then Name is what the link is renamed to, if it differs).
type Link struct {
	Name string
	MAC  net.HardwareAddr
}

// Router is the whole network configuration of the box.
type Router struct {
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

	NAT       bool     // IPv4 masquerade on the WAN
	Intercept []uint16 // TCP ports intercepted on the LAN
	ProxyPort uint16   // where the proxy listens (transparent)
	FailMode  FailMode
	Exempt    []netip.Prefix // sources and destinations never intercepted

	// Mark and Table tie TPROXY to policy routing: packets with
	// mark&Mark != 0 are looked up in Table, which delivers them locally.
	Mark  uint32
	Table int
}

// Default returns the configuration of a router with nothing on its
// command line.
func Default() Router {
	return Router{
		WAN:       Link{Name: "eth0"},
		LAN:       []Link{{Name: "eth1"}},
		LANAddrs:  []netip.Prefix{netip.MustParsePrefix("192.168.1.1/24")},
		NAT:       true,
		Intercept: []uint16{80},
		ProxyPort: 3129,
		FailMode:  FailOpen,
		Mark:      0x1,
		Table:     100,
	}
}
