package netconf

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tprouter/init/internal/oneline"
)

// addrs makes want the permanent global addresses of link. Stale addresses
// go first: deleting an IPv4 primary address also deletes the secondaries
// of its subnet, which could be wanted ones.
func (a *applier) addrs(link netlink.Link, want []netip.Prefix) error {
	name := link.Attrs().Name
	have, err := a.nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("AddrList(%s): %w", name, err)
	}
	var errs []error
	for _, ad := range have {
		if !stale(ad, want) {
			continue
		}
		if err := a.nl.AddrDel(link, &ad); err != nil {
			errs = append(errs, fmt.Errorf("AddrDel(%s, %s): %w", name, ad.IPNet, err))
		}
	}
	for _, p := range want {
		if err := a.nl.AddrReplace(link, toAddr(p)); err != nil {
			errs = append(errs, fmt.Errorf("AddrReplace(%s, %s): %w", name, p, err))
		}
	}
	return oneline.Join(errs...)
}

// stale says whether ad is an address Apply owns but the configuration no
// longer lists: permanent (no lifetime, as Apply adds them), global scope,
// not link-local.
func stale(ad netlink.Addr, want []netip.Prefix) bool {
	if ad.Scope != unix.RT_SCOPE_UNIVERSE || ad.Flags&unix.IFA_F_PERMANENT == 0 {
		return false
	}
	p, ok := prefix(ad.IPNet)
	if !ok || p.Addr().IsLinkLocalUnicast() {
		return false
	}
	return !slices.Contains(want, p)
}

// toAddr converts p for AddrReplace. IPv6 addresses skip duplicate address
// detection: the router's own configured addresses are authoritative, and
// a tentative address could not be used as a route's source for a second.
func toAddr(p netip.Prefix) *netlink.Addr {
	ad := p.Addr().Unmap()
	a := &netlink.Addr{IPNet: &net.IPNet{
		IP:   ad.AsSlice(),
		Mask: net.CIDRMask(p.Bits(), ad.BitLen()),
	}}
	if ad.Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// prefix converts an address as netlink reports it.
func prefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ad, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ad = ad.Unmap()
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(ad, bits), true
}
