package server

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// LinkAddr returns the first global IPv4 address configured on the link
// named iface, with its prefix length: the router's LAN address, from
// which the pool, the gateway and the netmask follow.
func LinkAddr(iface string) (netip.Prefix, error) {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("LinkByName(%q): %w", iface, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("AddrList(%s, v4): %w", iface, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok || !ip.IsGlobalUnicast() {
			continue
		}
		bits, _ := a.Mask.Size()
		return netip.PrefixFrom(ip, bits), nil
	}
	return netip.Prefix{}, fmt.Errorf("no IPv4 address on %s", iface)
}
